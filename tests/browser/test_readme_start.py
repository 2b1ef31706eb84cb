"""Start JupyterLab exactly as the README says, and follow a chapter's link to its exercises.

The command is read from the README's "Two commands" section (the ``python -m jupyter lab ...``
half of its first line) and run in a temporary copy of the repository (the files git knows), as a
student runs it in a fresh clone. The test adds only flags a test needs (no browser, 127.0.0.1, a
free port, a random token; see conftest.Lab), with HOME and every Jupyter folder in the temporary
folder. In Chromium: the start page is chapter 00; its last link opens chapter 01; chapter 01's
"exercises/01_..." link opens the exercise notebook. Screenshots: test-output/browser/readme-*.png.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_start_command() -> list[str]:
    """The README's start command: the ``jupyter lab`` part of the first code line under "Two commands"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    line = next(line for line in block.splitlines() if "jupyter lab" in line)
    part = next(p for p in line.split("&&") if "jupyter lab" in p)
    argv = shlex.split(part)
    assert argv[:4] == ["python", "-m", "jupyter", "lab"], f"the README's start command changed shape: {part!r}"
    return [sys.executable] + argv[1:]  # the test's own interpreter plays the student's venv `python`


def test_the_readme_command_serves_the_course_folder():
    argv = readme_start_command()
    assert not any(a.endswith(".ipynb") and not a.startswith("--") for a in argv), \
        "a notebook path as argument makes its folder the server's root: the exercises vanish"
    assert any(a.startswith("--LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb") for a in argv)


def _copy_of_the_repository(dest: Path) -> Path:
    try:
        files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                               capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"git ls-files failed, so the repository cannot be copied as a clone: {exc}", pytrace=False)
    for name in filter(None, files):  # in git's order, with fresh times, as a clone writes them: with jupytext
        if (ROOT / name).is_file():       # installed, a notebook newer than its paired source does not open
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def readme_lab(browser, lab_class):
    tmp = Path(tempfile.mkdtemp(prefix="edp-readme-"))
    clone = _copy_of_the_repository(tmp / "event-driven-python")
    server = lab_class(tmp, command=readme_start_command(), root=clone)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _heading(page, text: str):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h1", has_text=text).first


@pytest.mark.browser
def test_started_as_the_readme_says_the_exercises_open_from_the_chapter(readme_lab, browser, output_dir):
    top = {item["name"] for item in readme_lab.api("GET", "/api/contents")["content"]}
    assert {"notebooks", "exercises", "solutions"} <= top, f"the server's root is not the course folder: {sorted(top)}"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{readme_lab.base}/?token={readme_lab.token}", wait_until="domcontentloaded", timeout=90_000)
        _heading(page, "00 · Start here").wait_for(timeout=90_000)
        assert "/lab/tree/notebooks/00_start_here.ipynb" in page.url
        page.screenshot(path=str(output_dir / "readme-1-chapter-00.png"))

        page.locator(".jp-RenderedMarkdown a", has_text="chapter 01").last.click()
        _heading(page, "01 · Three ways to wait").wait_for(timeout=60_000)
        link = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown a",
                            has_text="exercises/01_three_models.ipynb").first
        link.scroll_into_view_if_needed()
        page.screenshot(path=str(output_dir / "readme-2-chapter-01.png"))
        link.click()
        _heading(page, "Exercises 01 · Three ways to wait").wait_for(timeout=60_000)
        assert page.locator(".lm-TabBar-tab.lm-mod-current", has_text="01_three_models.ipynb").count() >= 1
        page.wait_for_timeout(500)
        page.screenshot(path=str(output_dir / "readme-3-exercises-01.png"))
    except Exception:
        page.screenshot(path=str(output_dir / "readme-FAILED.png"))
        print(readme_lab.log_tail())
        raise
    finally:
        page.close()
        context.close()
        readme_lab.shutdown_kernels()
