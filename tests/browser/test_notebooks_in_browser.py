"""Open every notebook in JupyterLab in headless Chromium, Run All, and check what a student sees.

For each notebook of ``notebooks/`` (and the Stepper demo in ``tests/browser/fixtures/``): no
cell ends in an error (read from the saved notebook, where errors are ``output_type: error``;
in the page an error and a stderr stream render alike), no "Error displaying widget", and every
Stepper on the page changes its state view when Step is clicked. A screenshot of each notebook
goes to ``test-output/browser/<notebook>.png``. Run with ``pytest -m browser tests/browser``.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser fixture then skips, or fails under CI, and says why
    PlaywrightTimeout = TimeoutError

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 240  # seconds for Run All; the house rule is <= 20 s a notebook on 2 cores
ROOT = Path(__file__).resolve().parents[2]


def notebooks_to_test() -> list[str]:
    """Paths, as served (see conftest), of every notebook to open: notebooks/ and the fixtures."""
    found = [f"notebooks/{p.name}" for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
             if '"cell_type": "code"' in p.read_text()]  # the glossary has nothing to run
    found += [f"fixtures/{p.name}" for p in sorted((ROOT / "tests" / "browser" / "fixtures").glob("*.ipynb"))]
    return found


# Click Step in the page and time it until the state view shows new text: the whole round trip
# (browser -> kernel -> comm messages -> redrawn HTML), without Playwright's own overhead.
ROUND_TRIP_JS = """
(el) => new Promise((resolve) => {
  const text = () => (el.querySelector('.edp-stepper-state') || {}).textContent;
  const before = text(), t0 = performance.now();
  const obs = new MutationObserver(() => {
    if (text() !== before) { obs.disconnect(); resolve(performance.now() - t0); }
  });
  obs.observe(el, {subtree: true, childList: true, characterData: true});
  [...el.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Step').click();
  setTimeout(() => { obs.disconnect(); resolve(-1); }, 15000);
})
"""


def _wait(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _open(page, lab, path: str, workspace: str = ""):
    workspace = re.sub(r"\W", "-", path) + workspace  # a fresh workspace: nothing restored from an earlier test
    page.goto(lab.url(path, workspace), wait_until="domcontentloaded", timeout=90_000)
    try:
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    except PlaywrightTimeout:  # seen once on a crowded machine: the page never showed the notebook; load it again
        page.reload(wait_until="domcontentloaded", timeout=90_000)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle"))
    idle.first.wait_for(timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^View$")).click()   # more room: hide the file browser
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Appearance$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Show Left Sidebar$")).click()


def _prompts(page) -> list[str]:
    return page.locator(
        ".jp-CodeCell .jp-InputPrompt"
    ).all_text_contents()  # not inner_text: off-screen cells are not laid out


def _run_all(page):
    for attempt in range(2):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            _wait(lambda: _prompts(page) and _prompts(page)[0].strip() != "[ ]:", 10, "the first cell to start")
            return
        except AssertionError:
            if attempt:
                raise


def _wait_finished(page, lab, timeout: float):
    def finished():
        prompts = [p.strip() for p in _prompts(page)]
        if any("*" in p for p in prompts):
            return False
        kernels = lab.api("GET", "/api/kernels")
        return all(k["execution_state"] == "idle" for k in kernels)

    _wait(finished, timeout, "Run All to finish", interval=0.5)
    time.sleep(0.5)
    _wait(finished, 30, "the kernel to stay idle")


def _saved_errors(page, lab, path: str) -> list[str]:
    """Save the notebook, read it back through the contents API, list its error outputs."""
    before = lab.api("GET", f"/api/contents/{urllib.parse.quote(path)}?content=0")["last_modified"]
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    _wait(lambda: lab.api("GET", f"/api/contents/{urllib.parse.quote(path)}?content=0")["last_modified"] != before,
          30, "the notebook to be saved")
    nb = lab.api("GET", f"/api/contents/{urllib.parse.quote(path)}")["content"]
    errors = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                errors.append(f"cell {i}: {out['ename']}: {out['evalue']}")
    return errors


def _state_text(stepper) -> str:
    return stepper.locator(".edp-stepper-state").text_content()


def _button(stepper, label: str):
    return stepper.get_by_role("button", name=label, exact=True)


def _click_step_and_check(stepper, n: int):
    stepper.scroll_into_view_if_needed()
    step = _button(stepper, "Step")
    if step.is_disabled():  # a Stepper the notebook already ran to the end: start it again
        assert not _button(stepper, "Reset").is_disabled(), f"Stepper {n}: Step and Reset are both disabled"
        before_reset = _state_text(stepper)
        _button(stepper, "Reset").click()
        _wait(lambda: _state_text(stepper) != before_reset and not step.is_disabled(), 15, f"Stepper {n} to reset")
    before = _state_text(stepper)
    step.click()
    _wait(lambda: _state_text(stepper) != before, 15, f"Stepper {n}'s state view to change after Step")


@pytest.mark.parametrize("path", notebooks_to_test())
def test_notebook_runs_and_steppers_step(path, lab, browser, output_dir):
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _open(page, lab, path)
        _run_all(page)
        _wait_finished(page, lab, RUN_TIMEOUT)
        assert _saved_errors(page, lab, path) == [], "cells ended in an error"
        _wait(lambda: page.get_by_text("Loading widget...").count() == 0, 30, "the widgets to render")
        assert page.get_by_text("Error displaying widget").count() == 0, "a widget failed to display"
        steppers = page.locator(".edp-stepper")
        for n in range(steppers.count()):
            _click_step_and_check(steppers.nth(n), n)
        if steppers.count():  # a few more steps, so the screenshot shows a timeline
            for _ in range(6):
                if _button(steppers.first, "Step").is_enabled():
                    _button(steppers.first, "Step").click()
                    page.wait_for_timeout(150)
            steppers.first.scroll_into_view_if_needed()
            if path.endswith("00_start_here.ipynb"):  # its loop's callbacks print: the text shows under the Stepper
                _wait(lambda: "hello at" in steppers.first.text_content(), 15,
                      "what the clicked steps printed to show under the Stepper")
        else:
            page.locator(".jp-Notebook .jp-Cell").last.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(output_dir / (path.split("/")[-1].removesuffix(".ipynb") + ".png")))
    except Exception:
        page.screenshot(path=str(output_dir / (path.split("/")[-1].removesuffix(".ipynb") + "-FAILED.png")))
        raise
    finally:
        page.close()
        context.close()
        lab.shutdown_kernels()
    print(f"{path}: {time.monotonic() - started:.1f} s in the browser")


def test_run_animates_and_pauses_without_blocking_the_kernel(lab, browser, output_dir):
    """In a real kernel, Run steps on a timer, reads Pause, and a second click stops it."""
    path = "fixtures/stepper_demo.ipynb"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _open(page, lab, path, workspace="-run")
        _run_all(page)
        _wait_finished(page, lab, RUN_TIMEOUT)
        stepper = page.locator(".edp-stepper").first
        stepper.scroll_into_view_if_needed()

        def steps() -> int:
            return int(re.search(r"step (\d+)", stepper.text_content()).group(1))

        start = steps()
        _button(stepper, "Run").click()
        _wait(lambda: _button(stepper, "Pause").count() == 1, 15, "Run to read Pause")
        _wait(lambda: steps() >= start + 2, 30, "the animation to take two steps")
        _button(stepper, "Pause").click()
        _wait(lambda: _button(stepper, "Run").count() == 1, 15, "Pause to read Run again")
        paused_at = steps()
        page.wait_for_timeout(1500)
        assert steps() == paused_at, "the Stepper kept stepping after Pause"
        page.screenshot(path=str(output_dir / "stepper_demo-after-run.png"))
        round_trips = [stepper.evaluate(ROUND_TRIP_JS) for _ in range(10)]  # printed, never asserted
        print(
            f"Step click round trip in the browser: median {sorted(round_trips)[5]:.0f} ms, "
            f"max {max(round_trips):.0f} ms"
        )
    finally:
        page.close()
        context.close()
        lab.shutdown_kernels()


def _feedback(question) -> str:
    return (question.locator(".edp-quiz-feedback").text_content() or "") if question.locator(
        ".edp-quiz-feedback").count() else ""


def test_the_self_check_answers_from_the_keyboard(lab, browser, output_dir):
    """Chapter 00's quiz: one question answered right and one wrong, with the keyboard only."""
    path = "notebooks/00_start_here.ipynb"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _open(page, lab, path, workspace="-quiz")
        _run_all(page)
        _wait_finished(page, lab, RUN_TIMEOUT)
        quiz = page.locator(".edp-quiz").first
        quiz.wait_for(timeout=30_000)
        first, last = quiz.locator(".edp-quiz-q").first, quiz.locator(".edp-quiz-q").last
        # Question 1, radio buttons. JupyterLab takes the arrow keys (they move between cells), so:
        # Tab from choice A to choice B, Space to pick it, Tab on to the Check button, Enter.
        first.scroll_into_view_if_needed()
        first.locator("input[type=radio]").first.focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        for _ in range(8):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Check":
                break
        assert first.locator("input[type=radio]").nth(1).is_checked(), "Space did not pick choice B"
        page.keyboard.press("Enter")
        _wait(lambda: _feedback(first), 15, "feedback on question 1")
        assert _feedback(first).startswith("✔ Right. B and D are due at once"), _feedback(first)
        # The last question, a text box: type a wrong answer and press Enter.
        last.scroll_into_view_if_needed()
        last.locator("input[type=text]").focus()
        page.keyboard.type("call_later")
        page.keyboard.press("Enter")
        _wait(lambda: _feedback(last), 15, "feedback on the last question")
        assert _feedback(last) == "✘ Not quite. call_later waits a delay first.", _feedback(last)
        page.wait_for_timeout(300)
        page.screenshot(path=str(output_dir / "00_start_here-quiz.png"))
    except Exception:
        page.screenshot(path=str(output_dir / "00_start_here-quiz-FAILED.png"))
        raise
    finally:
        page.close()
        context.close()
        lab.shutdown_kernels()


def _tasks_text(stepper) -> str:
    """The text of a Stepper's task table (the "tasks" box of its state view), or "" if it has none."""
    box = stepper.locator(".edp-stepper-state div[style*='inline-block']",
                          has=stepper.page.locator("b", has_text=re.compile(r"^tasks$")))
    return box.first.text_content() if box.count() else ""


def test_chapter_06_steppers_show_each_task_changing(lab, browser, output_dir):
    """Chapter 06: every Stepper shows a task table, and clicking Step changes what it says
    (a task's state, the line it is paused at, what it awaits)."""
    path = "notebooks/06_coroutines_asyncio.ipynb"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _open(page, lab, path, workspace="-tasks")
        _run_all(page)
        _wait_finished(page, lab, RUN_TIMEOUT)
        steppers = page.locator(".edp-stepper")
        _wait(lambda: steppers.count() >= 3, 30, "chapter 06's three steppers")
        for n in range(steppers.count()):
            stepper = steppers.nth(n)
            stepper.scroll_into_view_if_needed()
            step = _button(stepper, "Step")
            clicks, first = 0, None
            while clicks < 12:  # a poll step changes no task; a task's step does
                before = _state_text(stepper)
                step.click()
                clicks += 1
                _wait(lambda stepper=stepper, before=before: _state_text(stepper) != before, 15,
                      f"Stepper {n}'s state view to change")
                tasks = _tasks_text(stepper)
                assert tasks, f"Stepper {n} shows no task table after {clicks} steps"
                if first is None:
                    first = tasks
                elif tasks != first:
                    break
            else:
                raise AssertionError(f"Stepper {n}'s task table did not change in {clicks} steps: {first!r}")
            assert re.search(r"pending|done|cancelled", tasks), tasks
            page.screenshot(path=str(output_dir / f"06_coroutines_asyncio-stepper-{n}.png"))
    except Exception:
        page.screenshot(path=str(output_dir / "06_coroutines_asyncio-tasks-FAILED.png"))
        raise
    finally:
        page.close()
        context.close()
        lab.shutdown_kernels()
