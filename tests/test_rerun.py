"""Any cell can be run twice: every lecture and solution, with each code cell run twice in a row.

Catches cells that only work once: a server that cannot bind again, a socket closed twice,
a name deleted and used again, a list appended to twice and then compared.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")
)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS])
def test_every_cell_runs_twice_in_a_row(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    doubled = []
    for cell in nb.cells:
        doubled.append(cell)
        if cell.cell_type == "code":
            twin = nbformat.from_dict(dict(cell))
            twin["id"] = cell.get("id", "c") + "-again"
            doubled.append(twin)
    nb.cells = doubled
    NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [(c.source.splitlines()[0] if c.source else "", o.ename, o.evalue)
              for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells that fail when run twice: {errors[:3]}"
