"""The level/edge-triggered simulation: what each mode reports, the stall, the steppable protocol."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.timeline import Timeline
from course_lib.triggers import KernelBuffer, TriggerDemo


def test_simsocket_recv_and_eagain_and_eof():
    s = KernelBuffer()
    with pytest.raises(BlockingIOError):
        s.recv(10)
    s.arrive(b"hello")
    assert s.recv(3) == b"hel" and s.recv(10) == b"lo"
    s.close_peer()
    assert s.recv(10) == b""
    assert s.eagain_calls == 1 and s.recv_calls == 4
    with pytest.raises(ValueError, match="n must be"):
        s.recv(0)


def test_edge_reports_only_new_arrivals_level_reports_while_buffered():
    s = KernelBuffer()
    s.arrive(b"x" * 10)
    assert s.readable("edge") and not s.readable("edge")
    assert s.readable("level") and s.readable("level")


def test_edge_triggered_one_read_per_report_stalls():
    demo = TriggerDemo("edge", drain=False).run()
    assert demo.done and demo.stalled and demo.received < demo.total
    assert "STALLED" in demo.snapshot()["program"]
    assert any(seg.kind == "stalled" for seg in demo.timeline().segments)


@pytest.mark.parametrize("mode,drain", [("level", False), ("level", True), ("edge", True)])
def test_other_combinations_read_everything(mode, drain):
    demo = TriggerDemo(mode, drain=drain).run()
    assert demo.done and not demo.stalled and demo.received == demo.total


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.lists(st.tuples(st.integers(0, 50), st.integers(1, 500)), min_size=1, max_size=6),
    read_size=st.integers(1, 300),
    mode=st.sampled_from(["level", "edge"]),
    drain=st.booleans(),
)
def test_property_only_edge_without_drain_can_strand_bytes(arrivals, read_size, mode, drain):
    demo = TriggerDemo(mode, arrivals=arrivals, read_size=read_size, drain=drain)
    for _ in range(10_000):
        if demo.done:
            break
        assert str(demo.step())
    assert demo.done
    assert demo.received + len(demo.sock) == demo.total
    if mode == "level" or drain:
        assert demo.received == demo.total
    snap = demo.snapshot()
    assert isinstance(snap["clock"], (int, float)) and isinstance(demo.timeline(), Timeline)


def test_steps_are_deterministic_for_the_stepper_replay():
    a = [str(TriggerDemo("edge").step()) for _ in range(1)]
    b = [str(TriggerDemo("edge").step()) for _ in range(1)]
    assert a == b
    d1, d2 = TriggerDemo("edge", drain=True), TriggerDemo("edge", drain=True)
    assert [str(d1.step()) for _ in range(8)] == [str(d2.step()) for _ in range(8)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        TriggerDemo("middle")
    with pytest.raises(ValueError, match="read_size"):
        TriggerDemo(read_size=0)
    with pytest.raises(ValueError, match="arrivals"):
        TriggerDemo(arrivals=[(0, -1)])
