"""Unit tests of course_lib.widgets.Stepper, driven programmatically (no browser, no kernel)."""

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "browser" / "fixtures"))
from fakeloop import FakeLoop, forty_event_loop  # noqa: E402

from course_lib.stepview import render_state  # noqa: E402
from course_lib.timeline import render_timeline_svg  # noqa: E402
from course_lib.widgets import Stepper  # noqa: E402


def fresh_states(n):
    """The snapshots after 0..n steps of an independent run."""
    loop, states = FakeLoop(), []
    states.append(loop.snapshot())
    for _ in range(n):
        loop.step()
        states.append(loop.snapshot())
    return states


def test_buttons_are_labelled_and_start_state():
    s = Stepper(FakeLoop)
    buttons = (s.reset_button, s.back_button, s.step_button, s.run_button)
    assert [b.description for b in buttons] == ["Reset", "Back", "Step", "Run"]
    assert s.state == FakeLoop().snapshot()
    assert s.history == []
    assert s.back_button.disabled and not s.step_button.disabled


def test_step_changes_state_and_records_history():
    s = Stepper(lambda: FakeLoop())
    before = s.state
    line = s.step()
    assert isinstance(line, str) and "\n" not in line
    assert s.state != before
    assert s.history == [line]
    assert line in s.last_line.value
    s.step_button.click()
    assert len(s.history) == 2 and s.state == fresh_states(2)[2]
    assert not s.back_button.disabled


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_back_replays_to_the_previous_state_exactly(k):
    s = Stepper(FakeLoop)
    for _ in range(k):
        s.step()
    lines = s.history
    old = s.steppable
    s.back_button.click()
    assert s.steppable is not old                     # a fresh replay, not an undo
    assert s.history == lines[:-1]
    assert s.state == fresh_states(k - 1)[k - 1]
    assert s.state == s.steppable.snapshot()
    assert "back to step" in s.last_line.value
    t = Stepper(FakeLoop)                              # the same picture as stepping there directly
    for _ in range(k - 1):
        t.step()
    assert (s.state_view.value, s.timeline_view.value) == (t.state_view.value, t.timeline_view.value)
    s.step()                                           # and it carries on exactly as before
    assert s.history == lines and s.state == fresh_states(k)[k]


def test_back_warns_when_the_replay_differs():
    counter = iter(range(100))

    def factory():
        loop = FakeLoop(wait=0.35 + next(counter))    # every build a different run
        return loop

    s = Stepper(factory)
    for _ in range(8):
        s.step()
    s.back()
    assert "warning" in s.last_line.value


def test_reset_goes_back_to_the_start():
    s = Stepper(FakeLoop)
    s.run_to_end()
    s.reset_button.click()
    assert s.history == [] and s.state == FakeLoop().snapshot() and not s.done
    assert not s.step_button.disabled and s.back_button.disabled


def test_run_to_end_and_done_disables_step():
    s = Stepper(forty_event_loop)
    assert s.run_to_end() == 40
    assert s.done and s.step_button.disabled and s.run_button.disabled
    assert s.step() is None and len(s.history) == 40
    assert "done" in s.status.value
    s.back()
    assert not s.done and not s.step_button.disabled and len(s.history) == 39


def test_run_to_end_respects_max_steps():
    s = Stepper(FakeLoop, max_steps=5)
    assert s.run_to_end() == 5 and not s.done


def test_run_button_without_an_event_loop_runs_to_the_end():
    s = Stepper(FakeLoop)
    s.run_button.click()
    assert s.done and s.run_button.description == "Run"


def test_run_animates_on_the_running_loop_and_pauses():
    async def scenario():
        s = Stepper(FakeLoop, interval=0.001)
        s.run_button.click()
        assert s.run_button.description == "Pause" and s.running
        for _ in range(200):
            await asyncio.sleep(0.002)
            if len(s.history) >= 3:
                break
        s.run_button.click()                            # pause
        assert s.run_button.description == "Run" and not s.running
        n = len(s.history)
        assert 3 <= n < 33
        await asyncio.sleep(0.02)
        assert len(s.history) == n                      # really paused
        s.run_button.click()
        for _ in range(2000):
            await asyncio.sleep(0.002)
            if s.done:
                break
        await asyncio.sleep(0.005)
        assert s.done and not s.running and s.run_button.description == "Run" and s.run_button.disabled

    asyncio.run(scenario())


def test_step_click_pauses_a_run():
    async def scenario():
        s = Stepper(FakeLoop, interval=10)
        s.run_button.click()
        await asyncio.sleep(0.01)
        s.step_button.click()
        assert not s.running and s.run_button.description == "Run"

    asyncio.run(scenario())


def test_a_steppable_object_disables_reset_and_back():
    loop = FakeLoop()
    s = Stepper(loop)
    assert s.steppable is loop
    s.step()
    assert s.back_button.disabled and s.reset_button.disabled
    with pytest.raises(RuntimeError, match="factory"):
        s.back()
    with pytest.raises(RuntimeError, match="factory"):
        s.reset()


def test_real_io_disables_back():
    class RealLoop(FakeLoop):
        simulated = False

    s = Stepper(RealLoop)
    s.step()
    assert s.back_button.disabled and not s.reset_button.disabled and not s.replayable


class NoSnapshot:
    done = False

    def step(self):
        return "x"


@pytest.mark.parametrize(
    "arg, error, words",
    [
        (42, TypeError, ["int", "step", "done", "snapshot"]),
        (NoSnapshot(), TypeError, ["NoSnapshot", "snapshot"]),
        (lambda: 42, TypeError, ["factory", "int", "step", "done", "snapshot"]),
        (lambda n: FakeLoop(), TypeError, ["no arguments"]),
    ],
)
def test_bad_input_gives_clear_errors(arg, error, words):
    with pytest.raises(error) as info:
        Stepper(arg)
    for word in words:
        assert word in str(info.value)
    if isinstance(arg, NoSnapshot):
        assert "step()" not in str(info.value).split("no ")[-1]


def test_done_must_be_a_property_and_factory_errors_are_not_masked():
    class DoneMethod(FakeLoop):
        def done(self):
            return False

    with pytest.raises(TypeError, match="done must be a property"):
        Stepper(DoneMethod)
    with pytest.raises(TypeError, match="done must be a property"):
        Stepper(DoneMethod())

    def buggy():
        return len(3)  # a TypeError inside the factory is the factory's own, shown as it is

    with pytest.raises(TypeError, match="has no len"):
        Stepper(buggy)


def test_factory_must_build_fresh_objects():
    loop = FakeLoop()
    s = Stepper(lambda: loop)
    s.step()
    with pytest.raises(ValueError, match="fresh"):
        s.reset()


def test_bad_options_and_bad_snapshot():
    with pytest.raises(ValueError, match="interval"):
        Stepper(FakeLoop, interval=-1)
    with pytest.raises(ValueError, match="max_steps"):
        Stepper(FakeLoop, max_steps=0)

    class ListSnapshot(FakeLoop):
        def snapshot(self):
            return [1, 2]

    with pytest.raises(TypeError, match="snapshot"):
        Stepper(ListSnapshot)


def test_an_exception_in_step_is_shown_by_the_button_and_raised_by_the_method():
    class Broken(FakeLoop):
        def step(self):
            raise ZeroDivisionError("boom")

    s = Stepper(Broken)
    s.step_button.click()
    assert "ZeroDivisionError" in s.last_line.value and "boom" in s.last_line.value
    with pytest.raises(ZeroDivisionError):
        s.step()


def test_timeline_grows_as_you_step():
    s = Stepper(FakeLoop)
    counts = []
    for _ in range(6):
        s.step()
        counts.append(s.timeline_view.value.count("<rect"))
    assert "<svg" in s.timeline_view.value
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert "#d00" in s.timeline_view.value              # the last step is outlined


def test_without_timeline_method_steps_are_drawn_as_points():
    class NoTimeline:
        def __init__(self):
            self.n = 0

        done = property(lambda self: self.n >= 3)

        def step(self):
            self.n += 1
            return f"event {self.n}"

        def snapshot(self):
            return {"clock": self.n * 0.5, "mood": "fine", "queue": [self.n]}

    s = Stepper(NoTimeline)
    s.run_to_end()
    assert s.timeline_view.value.count("<circle") == 3
    assert "mood" in s.state_view.value and "fine" in s.state_view.value


def test_render_state_known_and_unknown_keys():
    html = render_state({
        "clock": 1.5, "ready": ["<lambda>()"], "timers": [{"when": 2.0, "callback": "f()"}],
        "readers": {3: "on_read()"}, "threads": {"T1": {"pc": 2, "next": "x = x + 1"}},
        "memory": {"x": 1}, "locks": {"L": None}, "weird": 7, "custom": [1, 2],
    })
    for text in ["clock = 1.5 s", "ready queue", "&lt;lambda&gt;()", "timers", "when", "readers", "on_read()",
                 "threads", "pc", "x = x + 1", "shared memory", "locks", "weird = 7", "custom"]:
        assert text in html, text
    assert "<lambda>" not in html
    with pytest.raises(TypeError):
        render_state([1])


def test_render_timeline_svg_without_segments():
    from course_lib.timeline import Timeline

    assert "appears as you step" in render_timeline_svg(Timeline([]))


def test_display_bundle_has_widget_view_and_static_html():
    s = Stepper(FakeLoop)
    s.step()
    data = s._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == "Stepper(FakeLoop, step 1)"
    assert "<svg" in data["text/html"] and "ready queue" in data["text/html"] and "step 1:" in data["text/html"]
    assert "model_id" not in data["text/html"] and "0x" not in data["text/html"]
    # deterministic: the same run gives the same picture
    t = Stepper(FakeLoop)
    t.step()
    assert t._repr_mimebundle_()["text/html"] == data["text/html"]


def test_exported_html_shows_the_static_copy():
    """nbconvert without widget state falls back to the text/html copy: state table and timeline."""
    import nbformat
    from nbconvert import HTMLExporter

    s = Stepper(FakeLoop, title="exported")
    s.run_to_end()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("s")
    cell.outputs = [nbformat.v4.new_output("execute_result", data=s._repr_mimebundle_(), execution_count=1)]
    nb.cells.append(cell)
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert "edp-stepper-static" in body and "exported" in body and "<svg" in body and "ready queue" in body


def test_reset_and_back_close_the_steppable_they_replace():
    closed = []

    class Closable(FakeLoop):
        def close(self):
            closed.append(self)

    s = Stepper(Closable)
    first = s.steppable
    s.step()
    s.step()
    s.back()
    assert closed == [first]
    s.reset()
    assert len(closed) == 2 and s.steppable not in closed


def test_a_real_clock_is_drawn_from_the_start_of_the_run():
    class RealClock(FakeLoop):
        simulated = False

        def snapshot(self):
            return dict(super().snapshot(), clock=1000.0 + self.clock)

    s = Stepper(RealClock)
    for _ in range(6):
        s.step()
    t = Stepper(FakeLoop)
    for _ in range(6):
        t.step()
    assert s.state["clock"] == 1000.0 + t.state["clock"]
    assert s.timeline_view.value == t.timeline_view.value  # same picture: the dashed clock line at the same place


def _printing_loop():
    """Chapter 00's kind of program: callbacks that print."""
    from course_lib.loop import Loop
    loop = Loop()
    loop.call_soon(print, "hello")
    loop.call_later(1.0, print, "later")
    return loop


def _printed(stepper):
    return "".join(out["text"] for out in stepper.printed.outputs)


def test_what_the_steps_print_shows_under_the_stepper_and_follows_back_and_reset(capsys):
    # Printed from a button's click handler, the text would reach no cell (JupyterLab's log
    # console gets it), so the Stepper catches it and shows it in its own Output widget.
    s = Stepper(_printing_loop)
    s.run_to_end()
    assert _printed(s) == "hello\nlater\n"
    s.back()                      # back to before "later" was printed: the replay prints nothing new
    assert _printed(s) == "hello\n"
    s.reset()
    assert _printed(s) == ""
    s.step_button.click(), s.step_button.click()
    assert _printed(s) == "hello\n"
    assert capsys.readouterr().out == ""   # nothing escaped to the cell (or the kernel's log)
