"""Make the student notebooks from the solution notebooks: ``python -m course_lib.exercises``.

What it is: the one command that derives ``exercises/NN_*.ipynb`` from
``solutions/NN_*.ipynb``, the single source of every exercise. In a solution,
student code sits between two marker lines::

    def makespan(timeline):
        ### BEGIN SOLUTION
        return max(s.end for s in timeline.segments)
        ### END SOLUTION

and the exercise gets, at the same indentation::

    def makespan(timeline):
        # YOUR CODE HERE
        raise NotImplementedError()

(nbgrader's own stub, so an instructor who uses nbgrader sees what it would make).
Markdown answers use the same markers and become ``YOUR ANSWER HERE``. Outputs and
execution counts are cleared. ``--check`` compares instead of writing and exits 1
when a committed exercise differs from what this command makes. Name solution
notebooks to regenerate only those: ``python -m course_lib.exercises solutions/01_three_models.ipynb``.

What it is not: nbgrader. It keeps nbgrader's cell metadata as it is, so
``nbgrader generate_assignment`` accepts the solutions too.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
MARKDOWN_STUB = ["YOUR ANSWER HERE"]


def strip_solutions(source: str, cell_type: str = "code") -> str:
    """Replace every BEGIN/END SOLUTION region of ``source`` by the stub."""
    out: list[str] = []
    inside = False
    stub = CODE_STUB if cell_type == "code" else MARKDOWN_STUB
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"nested {BEGIN!r} in:\n{source}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub)
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r} in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r} in:\n{source}")
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of one solution notebook (a new object)."""
    exercise = copy.deepcopy(solution)
    for cell in exercise.cells:
        if BEGIN in cell.source:
            cell.source = strip_solutions(cell.source, cell.cell_type)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    return exercise


def pairs(root: Path = ROOT) -> list[tuple[Path, Path]]:
    """(solution, exercise) paths of the course."""
    return [(s, root / "exercises" / s.name) for s in sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))]


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.exercises", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if exercises/ is out of date")
    parser.add_argument("solutions", nargs="*", type=Path, help="only these solution notebooks (default: all)")
    args = parser.parse_args(argv)
    chosen = {p.resolve() for p in args.solutions}
    stale = []
    for solution_path, exercise_path in pairs():
        if chosen and solution_path.resolve() not in chosen:
            continue
        wanted = render(make_exercise(nbformat.read(solution_path, as_version=4)))
        current = exercise_path.read_text() if exercise_path.exists() else None
        if current == wanted:
            continue
        if args.check:
            stale.append(exercise_path)
        else:
            exercise_path.parent.mkdir(exist_ok=True)
            exercise_path.write_text(wanted)
            print(f"wrote {exercise_path.relative_to(ROOT)}")
    if stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"out of date: {names}. Run `python -m course_lib.exercises`.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
