"""Progress: passes are recorded, except from a notebook of solutions/ (running a worked solution
ticks nothing), and jupyter_server still tells the kernel which notebook it runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from course_lib import progress
from course_lib.check import check


def _ok(steps):
    return sum(seconds for kind, seconds in steps if kind == "io")


@pytest.fixture
def progress_file(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    monkeypatch.setenv("EDP_PROGRESS_FILE", str(path))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return path


def test_a_pass_is_recorded(progress_file, capsys):
    check("00.warmup", _ok)
    assert "not counted" not in capsys.readouterr().out
    assert "00.warmup" in json.loads(progress_file.read_text())
    assert "00.warmup" in progress.passed()


@pytest.mark.parametrize("session", ["/home/ann/course/solutions/01_three_models.ipynb",
                                     "solutions/01_three_models.ipynb",
                                     "C:\\Users\\ann\\course\\solutions\\01_three_models.ipynb"])
def test_a_pass_in_a_solution_notebook_is_not_recorded(progress_file, monkeypatch, capsys, session):
    monkeypatch.setenv("JPY_SESSION_NAME", session)
    assert progress.solution_notebook()
    check("00.warmup", _ok)
    assert "(a solution notebook: not counted in your progress)" in capsys.readouterr().out
    assert not progress_file.exists()
    assert progress.record("00.warmup") is False and not progress_file.exists()


@pytest.mark.parametrize("session", ["/home/ann/course/exercises/01_three_models.ipynb",
                                     "notebooks/00_start_here.ipynb", "my_solutions/01.ipynb", "solutions.ipynb"])
def test_other_notebooks_are_recorded(progress_file, monkeypatch, session):
    monkeypatch.setenv("JPY_SESSION_NAME", session)
    assert not progress.solution_notebook()
    assert progress.record("00.warmup") is True
    assert "00.warmup" in progress.passed()


def test_recording_off_records_nothing(monkeypatch):
    monkeypatch.setenv("EDP_PROGRESS_FILE", "")
    assert progress.record("00.warmup") is False


def test_jupyter_server_names_the_notebook_in_the_kernels_environment(tmp_path):
    """What solution_notebook() relies on: jupyter_server 2 sets JPY_SESSION_NAME for a session's kernel."""
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
    from jupyter_server.services.sessions.sessionmanager import SessionManager

    (tmp_path / "solutions").mkdir()
    sessions = SessionManager(kernel_manager=MappingKernelManager(root_dir=str(tmp_path)),
                              contents_manager=FileContentsManager(root_dir=str(tmp_path)))
    for env in (sessions.get_kernel_env("solutions/01_three_models.ipynb", "01_three_models.ipynb"),
                sessions.get_kernel_env("solutions/01_three_models.ipynb")):
        name = env["JPY_SESSION_NAME"]
        assert name.replace("\\", "/").endswith("solutions/01_three_models.ipynb")


@pytest.mark.slow
def test_a_real_kernel_started_for_a_solution_records_nothing(tmp_path):
    """End to end in an ipykernel whose environment names a solution notebook, as JupyterLab's does."""
    from jupyter_client.manager import start_new_kernel

    path = tmp_path / "progress.json"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, EDP_PROGRESS_FILE=str(path), JPY_SESSION_NAME=str(tmp_path / "solutions" / "00.ipynb"),
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        out = []
        code = ("from course_lib.check import check\n"
                "check('00.warmup', lambda steps: sum(s for k, s in steps if k == 'io'))")
        reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "not counted in your progress" in "".join(out)
    assert not path.exists()


def test_chapter_00_stored_progress_shows_the_warmup_that_passed_above_it():
    """The build runs notebooks with a throw-away progress file, not with recording off: the stored
    table under 'The warm-up above ... is ticked already' must show it ticked, as a student's run does."""
    import nbformat

    nb = nbformat.read(Path(__file__).parent.parent / "notebooks" / "00_start_here.ipynb", as_version=4)
    shown = [out for cell in nb.cells if cell.cell_type == "code" and cell.source.strip() == "progress.show()"
             for out in cell.outputs]
    text = "".join(out.get("data", {}).get("text/plain", "") for out in shown)
    assert "✔ 00.warmup" in text, text[:200]
