"""The stepper-fallback test: a Stepper's static copy teaches without a click.

Where no kernel runs the notebook (GitHub, nbviewer, nbconvert's HTML, JupyterLab before the cell
runs) a reader sees the ``text/html`` copy in the Stepper's display bundle. It must show the whole
run: a collapsed step-by-step transcript (one line per step, worded as the status line words it)
and the final state and timeline, not step 0. A steppable that cannot be replayed (real I/O) shows
its state as it is and says why there is no transcript.

Checked on the Stepper itself, and on every Stepper output stored in ``notebooks/``,
``solutions/`` and the browser fixtures, which must also have dropped the dead widget view
(``tools/build.py``'s ``static_copies``).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "browser" / "fixtures"))
from fakeloop import FakeLoop  # noqa: E402

from course_lib import steppable  # noqa: E402
from course_lib.loop import Loop  # noqa: E402
from course_lib.widgets import Stepper  # noqa: E402

STEP_LINE = re.compile(r"<div class='edp-stepper-step'>step (\d+): ([^<]*)</div>")


def _three_callbacks():
    loop = Loop()
    loop.call_later(2.0, print, "goodbye")
    loop.call_soon(print, "hello")
    loop.call_later(0.5, print, "reminder")
    return loop


def test_the_copy_is_the_whole_run_not_step_0(capsys):
    stepper = Stepper(_three_callbacks, title="three callbacks")
    page = stepper._repr_mimebundle_()["text/html"]
    assert capsys.readouterr().out == ""  # the replay's prints do not land in the notebook
    run = steppable.replay(_three_callbacks, 100)
    lines = STEP_LINE.findall(page)
    assert [int(n) for n, _ in lines] == list(range(1, len(run.lines) + 1)) and len(lines) == 6
    assert [html.unescape(text) for _, text in lines] == run.lines
    assert "<details class='edp-stepper-transcript'>" in page and "<summary>" in page
    assert "after step 6 · done" in page and "clock = 2 s" in page and "<svg" in page
    assert stepper.history == [] and not stepper.done  # the live widget still starts at step 0
    assert Stepper(_three_callbacks, title="three callbacks")._repr_mimebundle_()["text/html"] == page


def test_the_status_line_words_a_step_as_the_transcript_does():
    stepper = Stepper(_three_callbacks)
    stepper.step()
    stepper.step()
    line = re.sub(r"<[^>]+>", "", stepper.last_line.value)
    assert f"<div class='edp-stepper-step'>{line}</div>" in stepper.static_html().replace("&gt;", ">")


def test_a_run_longer_than_max_steps_says_where_it_stopped():
    def forever():
        loop = Loop()

        def tick():
            loop.call_later(1.0, tick)
        loop.call_soon(tick)
        return loop

    page = Stepper(forever, max_steps=7).static_html()
    assert len(STEP_LINE.findall(page)) == 7 and "stopped after 7 steps (max_steps)" in page
    assert "after step 7<" in page  # not "done"


def test_a_step_that_raises_ends_the_copy_with_the_reason():
    class Breaks(FakeLoop):
        def step(self):
            if self.snapshot()["clock"] > 1:
                raise RuntimeError("boom")
            return super().step()

    page = Stepper(Breaks).static_html()
    assert "raised RuntimeError: boom" in page and STEP_LINE.findall(page)


def test_a_real_loop_keeps_its_state_and_says_why_there_is_no_transcript():
    class Real(FakeLoop):
        simulated = False

    stepper = Stepper(Real)
    page = stepper.static_html()
    assert "No transcript of the whole run: it waits for real I/O" in page
    assert "<details" not in page and "after step 0" in page
    stepper.step()
    assert "after step 1" in stepper.static_html()  # not cached: it is the state as it is now
    given = Stepper(FakeLoop())  # a steppable, not a factory: nothing to replay
    assert "cannot be replayed" in given.static_html()


# -- every Stepper stored in the course's notebooks --------------------------------------------------
STORED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")) + \
    sorted((ROOT / "tests" / "browser" / "fixtures").glob("*.ipynb"))


def _stepper_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("data", {}).get("text/plain", "").startswith("Stepper("):
                yield i, out["data"]


@pytest.mark.parametrize("path", [p for p in STORED if any(_stepper_outputs(p))], ids=lambda p: p.name)
def test_every_stored_stepper_shows_its_whole_run(path):
    problems = []
    for cell, data in _stepper_outputs(path):
        page = data.get("text/html", "")
        where = f"{path.relative_to(ROOT)} cell {cell}"
        if "application/vnd.jupyter.widget-view+json" in data:
            problems.append(f"{where}: keeps a widget view (rebuild with python -m tools.build)")
        if "edp-stepper-static" not in page:
            problems.append(f"{where}: no static copy")
            continue
        if "No transcript of the whole run: it waits for real I/O" in page:
            continue  # a real loop: its state, and why there is no transcript
        lines = STEP_LINE.findall(page)
        n = int(re.search(r"data-steps='(\d+)'", page).group(1))
        if "<details class='edp-stepper-transcript'>" not in page or not lines:
            problems.append(f"{where}: no step-by-step transcript")
        elif [int(k) for k, _ in lines] != list(range(1, n + 1)) or n == 0:
            problems.append(f"{where}: the transcript is not steps 1 to {n}")
        elif f"after step {n}" not in page or "edp-stepper-final" not in page or "<svg" not in page:
            problems.append(f"{where}: no final state and timeline after step {n}")
    assert not problems, "\n".join(problems)


def test_some_stored_steppers_exist():
    assert sum(1 for p in STORED for _ in _stepper_outputs(p)) >= 7


def test_the_build_keeps_only_the_static_copy_of_a_widget_that_has_one():
    sys.path.insert(0, str(ROOT))
    from tools.build import WIDGET_VIEW, static_copies

    nb = nbformat.v4.new_notebook()
    view = {"model_id": "x", "version_major": 2, "version_minor": 0}
    with_copy = nbformat.v4.new_output("execute_result", data={WIDGET_VIEW: view, "text/html": "<p>copy</p>",
                                                               "text/plain": "Stepper(Loop, step 0)"})
    alone = nbformat.v4.new_output("display_data", data={WIDGET_VIEW: view, "text/plain": "Button()"})
    nb.cells = [nbformat.v4.new_code_cell("s", outputs=[with_copy]), nbformat.v4.new_code_cell("b", outputs=[alone])]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    assert static_copies(nb) == 1
    assert WIDGET_VIEW not in nb.cells[0].outputs[0]["data"] and WIDGET_VIEW in nb.cells[1].outputs[0]["data"]
    assert "widgets" in nb.metadata  # a widget without a copy still needs its state
    nb.cells.pop()
    static_copies(nb)
    assert "widgets" not in nb.metadata
