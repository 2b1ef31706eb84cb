"""What every lecture notebook promises besides running (nbval runs them): slides, a pointer to its exercises."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_is_marked_for_slides_and_points_to_its_exercises(path):
    nb = nbformat.read(path, as_version=4)
    slides = [c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") == "slide"]
    assert len(slides) >= 3, "the build marks slides: `python -m tools.build NN`"
    exercise = ROOT / "exercises" / path.name
    if exercise.exists():
        assert any(f"exercises/{path.name}" in c.source for c in nb.cells if c.cell_type == "markdown"), \
            "a lecture ends by pointing to its exercises"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_stores_outputs_and_no_errors(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code), "stored notebooks are executed (`python -m tools.build NN`)"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_slides_export(tmp_path):
    path = LECTURES[1] if len(LECTURES) > 1 else LECTURES[0]
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", str(path), "--output-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    html = next(tmp_path.glob("*.slides.html")).read_text()
    assert len(re.findall(r"<section", html)) >= 3
