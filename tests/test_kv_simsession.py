"""The simulated session: the real protocol on simulated sockets, stepped, deterministic."""

import pytest

from course_lib.kv.protocol import HIGH_WATER
from course_lib.kv.simsession import BIG, SCENARIOS, SimSession
from course_lib.steppable import check as check_steppable


def story(scenario):
    session = SimSession(scenario)
    lines = []
    while not session.done:
        lines.append(session.step())
    return session, lines


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_ends_with_every_reply_and_a_closed_connection(scenario):
    session, lines = story(scenario)
    assert len(session.replies) == session.expected
    assert session.sock.closed and session.transport.is_closing()
    assert session.state.connected == 0 and not session.loop.errors
    assert story(scenario)[1] == lines  # every run the same: Back can replay it
    check_steppable(session)
    snap = session.snapshot()
    assert {"clock", "client", "server connection", "keyspace"} <= set(snap)


def test_partial_frames_wait_in_the_parser():
    _, lines = story("partial")
    held = [line for line in lines if "parser:" in line]
    assert "10 bytes wait" in held[0] and "30 bytes wait" in held[1] and "1 command(s) complete" in held[2]


def test_pipelined_commands_are_one_read_and_one_write():
    session, lines = story("pipelined")
    assert sum("server read" in line for line in lines) == 1
    assert sum("server wrote" in line for line in lines) == 1
    assert session.replies == ["OK", 2, 3, b"3", 1]


def test_a_slow_reader_pauses_the_server_and_its_buffer_stays_bounded():
    session, lines = story("slow_reader")
    assert any("stop running commands and stop reading" in line for line in lines)
    assert any("read again" in line for line in lines)
    assert max(size for _, size in session.trace) <= HIGH_WATER + BIG + 100
    assert session.replies[1:] == [b"v" * BIG] * 12


def test_a_key_expires_on_the_loops_timer():
    session, lines = story("expiry")
    assert any("'session' expired on its timer" in line for line in lines)
    assert session.replies == ["OK", b"abc", 100, None] and session.db.expired == 1


def test_a_wrong_scenario_is_named():
    with pytest.raises(ValueError, match="scenario must be one of"):
        SimSession("nope")


def test_the_stepper_steps_and_goes_back():
    pytest.importorskip("ipywidgets")
    from course_lib.widgets import Stepper

    stepper = Stepper(lambda: SimSession("partial"))
    stepper.step()
    stepper.step()
    after_two = stepper.state
    stepper.step()
    stepper.back()
    assert stepper.state == after_two
