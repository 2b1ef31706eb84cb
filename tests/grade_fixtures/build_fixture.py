"""The grader's fixture course, built where it is needed: ``build(folder)``.

A tiny course for the grader's tests: ``folder/solutions/99_fixture.ipynb`` (a setup cell, two
exercises worth 1 and 3 points, a demo cell between them, nbgrader metadata as
docs/DEVELOPING.md prescribes) and ``folder/edp_fixture_checks.py`` (the checks of 99.add and
99.order, registered when the setup cell imports it; the grader puts the course folder on the
kernel's sys.path). It is built into a temporary folder rather than stored, so nbval, which
collects every notebook under tests/, never runs it. ``python tests/grade_fixtures/build_fixture.py
DIR`` builds it in DIR, to try the grader by hand.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def build(folder: Path) -> Path:
    """Write the fixture course into ``folder``; returns the solution notebook's path."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools.nb import Notebook

    nb = Notebook()
    nb.md("# 99 · Fixture\nA two-exercise notebook the grader's tests grade.")
    nb.code("from course_lib.check import check\nimport edp_fixture_checks  # registers 99.add and 99.order",
            kind="setup")
    nb.md("## Exercise 1\nWrite `add(a, b)`.")
    nb.code("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION", kind="answer", name="add")
    nb.code('check("99.add", add)', kind="check", name="add", points=1)
    nb.code("events = [(2, 'x'), (1, 'y')]\nevents", kind="demo", name="demo_events")
    nb.md("## Exercise 2\nWrite `order(events)`: the names of `(time, name)` events by time, ties in arrival order.")
    nb.code("def order(events):\n    ### BEGIN SOLUTION\n    return [name for _, name in sorted(events, key=lambda e: e[0])]"
            "\n    ### END SOLUTION", kind="answer", name="order")
    nb.code('check("99.order", order)', kind="check", name="order", points=3)
    (folder / "solutions").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "edp_fixture_checks.py", folder / "edp_fixture_checks.py")
    path = folder / "solutions" / "99_fixture.ipynb"
    nb.write(str(path))
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
