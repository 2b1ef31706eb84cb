"""In front of a class: the Stepper from the keyboard and for axe-core in JupyterLab, and RISE slides.

- **Keyboard.** In JupyterLab, Tab moves from Reset to Step (Back is skipped while disabled), and
  Enter and Space on the focused Step each take one step.
- **axe-core** scans the course's own widgets as JupyterLab draws them (``.edp-stepper``, and
  ``.edp-quiz`` where a notebook has quizzes), not JupyterLab's chrome; no serious or critical
  violation; the report goes to ``test-output/browser/axe/jupyterlab.json``.
- **RISE** (``jupyterlab-rise``) presents a lecture at 1280 x 720: slides cut by the build's marks,
  ``notebooks/rise.css`` loaded. Clicking a Stepper inside RISE is expected to fail for now:
  jupyterlab-rise 0.43.1 cannot open ipywidgets 8's comms ("Exception opening new comm"; upstream
  jupyterlab-contrib/rise issues 119 and 126). The test is a strict xfail, so it fails the day
  RISE is fixed, and the marker can go.
"""

from __future__ import annotations

import re

import pytest
from test_notebooks_in_browser import _button, _open, _run_all, _state_text, _wait, _wait_finished

pytestmark = pytest.mark.browser

WIDGETS = [".edp-stepper", ".edp-quiz"]  # the course's own widgets, as JupyterLab draws them
LECTURE = "notebooks/00_start_here.ipynb"


@pytest.fixture(scope="module")
def demo_page(lab, browser):
    """The Stepper fixture notebook, run in JupyterLab, its widgets drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    _open(page, lab, "fixtures/stepper_demo.ipynb", workspace="-lecturing")
    _run_all(page)
    _wait_finished(page, lab, 240)
    _wait(lambda: page.get_by_text("Loading widget...").count() == 0, 30, "the widgets to render")
    yield page
    page.close()
    context.close()
    lab.shutdown_kernels()


def test_stepper_steps_from_the_keyboard(demo_page, output_dir):
    stepper = demo_page.locator(".edp-stepper").first
    stepper.scroll_into_view_if_needed()
    if _button(stepper, "Back").is_enabled():  # start from step 0, where Back is disabled
        _button(stepper, "Reset").click()
        _wait(lambda: _button(stepper, "Back").is_disabled(), 15, "Reset")
    _button(stepper, "Reset").focus()
    demo_page.keyboard.press("Tab")
    focused = demo_page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Step", f"Tab from Reset reached {focused!r}, not Step"
    for key in ("Enter", " "):
        before = _state_text(stepper)
        demo_page.keyboard.press(key)
        _wait(lambda before=before: _state_text(stepper) != before, 15, f"{key!r} on the focused Step to take a step")
    assert re.search(r"step 2\b", stepper.text_content()), "two key presses, two steps"
    demo_page.screenshot(path=str(output_dir / "stepper-keyboard.png"))


def test_course_widgets_in_jupyterlab_have_no_serious_violation(demo_page, output_dir):
    from a11y import blocking, save, scan

    present = [s for s in WIDGETS if demo_page.locator(s).count()]
    assert ".edp-stepper" in present
    result = scan(demo_page, include=present)
    report = save({"fixtures/stepper_demo.ipynb": result}, "jupyterlab", output_dir)
    found = blocking(result)
    assert not found, f"serious or critical violations in the course's widgets (report: {report}):\n" + "\n".join(found)


def _open_rise(page, lab, path: str):
    page.goto(f"{lab.base}/rise/{path}?token={lab.token}", wait_until="domcontentloaded", timeout=90_000)
    page.locator(".reveal .slides section").first.wait_for(state="attached", timeout=90_000)
    _wait(lambda: page.locator(".reveal .slides section").count() > 5, 60, "RISE to cut the notebook into slides")


def test_rise_presents_a_lecture(lab, browser, output_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        _open_rise(page, lab, LECTURE)
        assert page.locator("#rise-custom-css").count() == 1, "RISE did not load notebooks/rise.css"
        _wait(lambda: page.evaluate(
            "() => [...document.querySelectorAll('.reveal .jp-OutputArea')]"
            ".some((el) => getComputedStyle(el).maxHeight === '330px')"), 20, "rise.css to style the outputs")
        page.screenshot(path=str(output_dir / "rise-00_start_here.png"))
    finally:
        page.close()
        context.close()
        lab.shutdown_kernels()


@pytest.mark.xfail(strict=True, reason="jupyterlab-rise 0.43.1 does not render ipywidgets 8 widgets "
                                       "(jupyterlab-contrib/rise issues 119, 126)")
def test_stepper_steps_inside_rise(lab, browser, output_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        _open_rise(page, lab, LECTURE)
        page.locator(".reveal section.present .jp-Cell").first.click()
        for _ in range(12):  # Shift+Enter runs a cell and moves on: the Stepper is the tenth cell of 00
            page.keyboard.press("Shift+Enter")
            page.wait_for_timeout(600)
            if page.locator(".edp-stepper").count():
                break
        stepper = page.locator(".edp-stepper").first
        stepper.wait_for(timeout=10_000)
        before = _state_text(stepper)
        _button(stepper, "Step").click()
        _wait(lambda: _state_text(stepper) != before, 15, "Step inside RISE to take a step")
        page.screenshot(path=str(output_dir / "rise-stepper.png"))
    finally:
        page.close()
        context.close()
        lab.shutdown_kernels()
