"""Exercises come from one source and behave: solutions pass (nbval runs them), blanks fail with hints.

- the committed exercises/ equal what `python -m course_lib.exercises` makes;
- every code cell of a solution carries nbgrader's schema-3 metadata;
- every blank exercise, run top to bottom, fails in each check cell with CheckFailed
  (one short hint) and errors nowhere else.
"""

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib import exercises

PAIRS = exercises.pairs()
IDS = [s.stem for s, _ in PAIRS]


def test_there_are_exercises():
    assert PAIRS, "no solutions/NN_*.ipynb found"


def test_committed_exercises_are_what_the_command_makes():
    assert exercises.main(["--check"]) == 0


def test_strip_solutions_keeps_indentation_and_rejects_broken_markers():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert exercises.strip_solutions(source) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    with pytest.raises(ValueError, match="without"):
        exercises.strip_solutions("### BEGIN SOLUTION\nx = 1\n")


@pytest.mark.parametrize("solution", [s for s, _ in PAIRS], ids=IDS)
def test_solution_cells_carry_nbgrader_metadata(solution):
    nb = nbformat.read(solution, as_version=4)
    ids = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader")
        assert meta, f"a code cell without nbgrader metadata: {cell.source[:60]!r}"
        assert meta["schema_version"] == 3 and {"grade_id", "grade", "solution", "locked"} <= set(meta)
        ids.append(meta["grade_id"])
        if meta["solution"]:
            assert exercises.BEGIN in cell.source, f"{meta['grade_id']}: an answer cell without a solution region"
        if meta["grade"]:
            assert meta.get("points", 0) > 0 and "check(" in cell.source
    assert len(ids) == len(set(ids)), "grade_id values must be unique"
    assert any(nbformat.read(solution, as_version=4).cells[i].metadata.get("nbgrader", {}).get("grade")
               for i in range(len(nb.cells))), "no graded check cell"


@pytest.mark.parametrize("exercise", [e for _, e in PAIRS], ids=IDS)
def test_blank_exercise_fails_every_check_with_a_hint_and_nothing_else(exercise, tmp_path):
    copy = tmp_path / exercise.name
    shutil.copy(exercise, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        graded = cell.metadata.get("nbgrader", {}).get("grade", False)
        if graded:
            checks += 1
            assert errors, f"check cell passed on a blank exercise: {cell.source!r}"
            assert errors[0].ename == "CheckFailed", f"{cell.source!r} raised {errors[0].ename}: {errors[0].evalue}"
            assert "\n" not in errors[0].evalue and len(errors[0].evalue) < 300
        else:
            assert (
                not errors
            ), f"a non-check cell errors on the blank exercise: {cell.source[:80]!r}: {errors[0].evalue}"
    assert checks >= 3, "each chapter has at least three checked exercises"


@pytest.mark.parametrize("solution", [s for s, _ in PAIRS], ids=IDS)
def test_every_cell_that_runs_the_students_code_does_it_under_try_it(solution):
    """A wrong answer in a "try it" cell says what went wrong in one line; it never hangs the notebook."""
    import ast

    nb = nbformat.read(solution, as_version=4)
    answers: set = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        tree = ast.parse("\n".join("" if line.startswith("%") else line for line in cell.source.splitlines()))
        if meta.get("solution"):
            answers |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        elif not meta.get("grade"):
            used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} & answers
            assert not used or "try_it(" in cell.source, f"{meta.get('grade_id')} runs {sorted(used)} without try_it"


@pytest.mark.parametrize("solution", [s for s, _ in PAIRS], ids=IDS)
def test_the_intro_says_that_a_failing_check_stops_run_all(solution):
    nb = nbformat.read(solution, as_version=4)
    intro = "\n".join(c.source for c in nb.cells[: next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")])
    assert "Run All" in intro and "Run Selected Cell and All Below" in intro
