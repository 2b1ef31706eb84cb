"""Build tests/grade_fixtures/course/solutions/99_fixture.ipynb: ``python tests/grade_fixtures/build_fixture.py``.

A tiny course notebook for the grader's tests: a setup cell, two exercises (1 and 3 points)
with nbgrader metadata as docs/DEVELOPING.md prescribes, and a demo cell between them.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.nb import Notebook  # noqa: E402

nb = Notebook()
nb.md("# 99 · Fixture\nA two-exercise notebook the grader's tests grade.")
nb.code("from course_lib.check import check\nimport edp_fixture_checks  # registers 99.add and 99.order", kind="setup")
nb.md("## Exercise 1\nWrite `add(a, b)`.")
nb.code("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION", kind="answer", name="add")
nb.code('check("99.add", add)', kind="check", name="add", points=1)
nb.code("events = [(2, 'x'), (1, 'y')]\nevents", kind="demo", name="demo_events")
nb.md("## Exercise 2\nWrite `order(events)`: the names of `(time, name)` events by time, ties in arrival order.")
nb.code("def order(events):\n    ### BEGIN SOLUTION\n    return [name for _, name in sorted(events, key=lambda e: e[0])]\n    ### END SOLUTION",
        kind="answer", name="order")
nb.code('check("99.order", order)', kind="check", name="order", points=3)
nb.write(str(Path(__file__).parent / "course" / "solutions" / "99_fixture.ipynb"))
