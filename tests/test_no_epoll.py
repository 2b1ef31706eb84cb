"""Chapter 05 runs where epoll does not exist (macOS, Windows): the lecture and the solutions, top to
bottom, in a kernel whose ``select`` module has no ``epoll``, without a single error.

The kernel is started with a ``sitecustomize`` module (Python imports it at start-up, before
anything else) that deletes ``select.epoll``, so ``selectors.DefaultSelector``, the course
pollers, the reactor, the scaling lab and the checks all see a platform without it.
"""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [ROOT / "notebooks" / "05_select_poll_epoll.ipynb", ROOT / "solutions" / "05_select_poll_epoll.ipynb"]

SITECUSTOMIZE = '''
import select, sys
if hasattr(select, "epoll"):
    del select.epoll
if "selectors" in sys.modules:  # imported already: make its default forget epoll too
    import selectors
    selectors.DefaultSelector = selectors.PollSelector if hasattr(select, "poll") else selectors.SelectSelector
'''


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_chapter_05_runs_without_epoll(path, tmp_path, monkeypatch):
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("EDP_PROGRESS_FILE", "")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, new_code_cell(
        "import select, selectors\n"
        "assert not hasattr(select, 'epoll'), 'the kernel still has epoll'\n"
        "print('no epoll; DefaultSelector is', selectors.DefaultSelector.__name__)"
    ))
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    assert "no epoll; DefaultSelector is PollSelector" in nb.cells[0].outputs[0]["text"] or \
        "SelectSelector" in nb.cells[0].outputs[0]["text"]
    errors = [(i, o.get("ename"), o.get("evalue", "")[:200]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    if path.parent.name == "notebooks":
        assert "no epoll here" in text and "skipped" in text  # it says what it skipped
    else:
        assert text.count("passed") == 3
