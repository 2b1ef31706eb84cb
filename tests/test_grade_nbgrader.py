"""nbgrader round trip: the course's cell metadata is what real nbgrader expects.

In a temporary course folder (HOME, JUPYTER_* and IPYTHONDIR point inside it, so nothing
lands in the home folder): ``nbgrader generate_assignment`` makes the student version of a
solution notebook, whose answer cells must equal what ``python -m course_lib.exercises``
makes; ``nbgrader autograde`` then grades the solution itself (full marks) and, for the fixture,
the released blank version (zero). Runs the fixture notebook, and ``solutions/01_three_models.ipynb`` when
it exists (all chapters with ``EDP_NBGRADER_ALL=1``).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.exercises import make_exercise

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent / "grade_fixtures"))

import hostile  # noqa: E402  (builds the fixture course in a temporary folder)

FIXTURE_COURSE = hostile.COURSE

if shutil.which("nbgrader") is None:
    pytest.skip("nbgrader is not installed", allow_module_level=True)


def _notebooks():
    found = [pytest.param(FIXTURE_COURSE / "solutions" / "99_fixture.ipynb", id="fixture")]
    chapters = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if not os.environ.get("EDP_NBGRADER_ALL"):
        chapters = [p for p in chapters if p.name.startswith("01_")]
    return found + [pytest.param(p, id=p.stem) for p in chapters]


def _nbgrader(course: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(["nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


@pytest.mark.slow
@pytest.mark.parametrize("solution", _notebooks())
def test_nbgrader_generates_and_autogrades_with_full_marks(tmp_path, solution):
    course, home = tmp_path / "course", tmp_path / "home"
    (course / "source" / "ps1").mkdir(parents=True)
    home.mkdir()
    shutil.copy(solution, course / "source" / "ps1" / solution.name)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'edp'\n"
        "c.ExecutePreprocessor.timeout = 180\n"
    )
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "IPYTHONDIR": str(home / "ipython"), "MPLCONFIGDIR": str(home / "mpl"), "MPLBACKEND": "Agg",
           "EDP_PROGRESS_FILE": "", "PYTHONPATH": os.pathsep.join([str(solution.parent.parent), str(ROOT)])}

    _nbgrader(course, env, "generate_assignment", "ps1", "--force")
    released = nbformat.read(course / "release" / "ps1" / solution.name, as_version=4)
    ours = make_exercise(nbformat.read(solution, as_version=4))
    def answers(nb):
        return {_gid(c): c.source for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}

    assert answers(released) == answers(ours)  # nbgrader's stubs are exactly course_lib.exercises' stubs

    students = [("solver", solution), ("blank", course / "release" / "ps1" / solution.name)]
    if solution.parent.parent != FIXTURE_COURSE:
        students = students[:1]  # the blank version of the chapters is graded by tests/test_grade.py
    for student, source in students:
        (course / "submitted" / student / "ps1").mkdir(parents=True)
        shutil.copy(source, course / "submitted" / student / "ps1" / solution.name)
    _nbgrader(course, env, "autograde", "ps1", "--create")
    _nbgrader(course, env, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    max_score = float(rows["solver"]["max_score"])
    assert max_score > 0
    assert float(rows["solver"]["score"]) == max_score
    if "blank" in rows:
        assert float(rows["blank"]["score"]) == 0
    assert not any(home.glob("**/*.ipynb"))
    assert not (Path.home() / ".local" / "share" / "jupyter" / "nbgrader_cache" / "edp").exists()
