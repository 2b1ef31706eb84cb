"""The grader's fixture course, built where it is needed: ``build(folder)``.

A tiny course for the grader's tests: ``folder/solutions/99_fixture.ipynb``, built from its
source ``99_fixture.md`` (a setup cell, two exercises worth 1 and 3 points, a demo cell between
them, nbgrader metadata as docs/DEVELOPING.md prescribes) and ``folder/edp_fixture_checks.py``
(the checks of 99.add and 99.order, registered when the setup cell imports it; the grader puts
the course folder on the kernel's sys.path). It is built into a temporary folder rather than stored, so nbval, which
collects every notebook under tests/, never runs it. ``python tests/grade_fixtures/build_fixture.py
DIR`` builds it in DIR, to try the grader by hand.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def build(folder: Path) -> Path:
    """Write the fixture course into ``folder``; returns the solution notebook's path."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools.build import read_source

    nb = read_source(HERE / "99_fixture.md")
    (folder / "solutions").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "edp_fixture_checks.py", folder / "edp_fixture_checks.py")
    path = folder / "solutions" / "99_fixture.ipynb"
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
