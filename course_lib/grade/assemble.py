"""Build the notebook that is actually run: the student's answers inside the pristine course notebook.

What it is: ``assemble(solution, submission, runner)`` walks the course's solution notebook
(the single source of every exercise) cell by cell, by nbgrader ``grade_id``:

- a locked cell (setup, demo, check) is always the pristine one: edited cells are overwritten,
  deleted ones put back in their place;
- an answer cell (``solution: true``) is the student's; if the student deleted it, the blank
  exercise stub (never the solution) takes its place;
- cells the student added (no known ``grade_id``, or a duplicate) stay where the student put
  them, after the pristine cell that precedes them, with any nbgrader metadata stripped;
- every ``check(...)`` call in a pristine graded cell becomes ``<runner>.run("<grade_id>#<n>#<token>", ...)``
  (the same arguments); a graded cell without a ``check`` call runs through ``<runner>.cell``.

The grader's own cells frame it: ``install`` first, ``seal`` right after the pristine setup cell
(student cells that came before setup are moved after it), ``done`` last.

What it is not: nbgrader's ``OverwriteCells``; the ideas are the same, with the checks rewritten
so their results travel on the grader's own channel.
"""

from __future__ import annotations

import ast
import copy
import secrets
from dataclasses import dataclass, field

import nbformat
from nbformat.v4 import new_code_cell

from course_lib.exercises import make_exercise


@dataclass
class GradedCell:
    grade_id: str
    points: float
    keys: list[str]  # one per check() call (each reports 1 + hidden runs); a "#cell#" key: the cell itself is the test
    exercise_ids: list[str | None] = field(default_factory=list)  # per key: the exercise its check call names

    @property
    def whole_cell(self) -> bool:
        return len(self.keys) == 1 and "#cell#" in self.keys[0]


@dataclass
class Assembled:
    notebook: nbformat.NotebookNode
    graded: list[GradedCell]
    labels: list[str]  # one per cell of ``notebook``: where it came from, for details and feedback
    notes: list[str]  # what was restored, in words


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


class _RewriteChecks(ast.NodeTransformer):
    def __init__(self, runner: str, grade_id: str):
        self.runner, self.grade_id, self.calls, self.exercise_ids, self.keys = runner, grade_id, 0, [], []

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "check":
            first = node.args[0] if node.args else None
            constant = isinstance(first, ast.Constant) and isinstance(first.value, str)
            self.exercise_ids.append(first.value if constant else None)
            key = ast.Constant(f"{self.grade_id}#{self.calls}#{secrets.token_hex(4)}")
            self.keys.append(key.value)
            self.calls += 1
            func = ast.Attribute(value=ast.Name(self.runner, ast.Load()), attr="run", ctx=ast.Load())
            return ast.copy_location(ast.Call(func=func, args=[key, *node.args], keywords=node.keywords), node)
        return node


def rewrite_graded(source: str, runner: str, grade_id: str) -> tuple[str, list[str], list[str]]:
    """(new source, report keys, exercise ids) of a pristine graded cell: one key per check call,
    or one key for the whole cell when it has none. A key carries a random token, so a student's
    cell cannot call the runner for a check before the check cell itself does."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is not None:
        rewriter = _RewriteChecks(runner, grade_id)
        tree = ast.fix_missing_locations(rewriter.visit(tree))
        if rewriter.calls:
            return ast.unparse(tree), rewriter.keys, rewriter.exercise_ids
    key = f"{grade_id}#cell#{secrets.token_hex(4)}"
    return f"{runner}.cell({key!r}, {source!r})", [key], []


def _student_cell(cell) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell)
    cell.get("metadata", {}).pop("nbgrader", None)
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def assemble(solution, submission, runner: str, secret_path: str, report_path: str) -> Assembled:
    pristine_cells = solution.cells
    stubs = {_meta(c).get("grade_id"): c for c in make_exercise(solution).cells if _meta(c).get("grade_id")}
    by_id = {_meta(c)["grade_id"]: c for c in pristine_cells if _meta(c).get("grade_id")}
    answer_ids = {gid for gid, c in by_id.items() if _meta(c).get("solution") and not _meta(c).get("grade")}

    student_known: dict[str, object] = {}
    extras_after: dict[str | None, list] = {}
    last = None
    for number, cell in enumerate(submission.cells, 1):
        gid = _meta(cell).get("grade_id")
        if gid in by_id and gid not in student_known:
            student_known[gid] = cell
            last = gid
        elif cell.get("cell_type") in ("code", "markdown", "raw"):
            extras_after.setdefault(last, []).append((number, cell))

    notes = []
    restored = [gid for gid in by_id if gid not in answer_ids and gid in student_known
                and student_known[gid].get("source", "") != by_id[gid].source]
    deleted = [gid for gid in by_id if gid not in student_known and gid not in answer_ids]
    if restored:
        notes.append("restored edited cells: " + ", ".join(restored))
    if deleted:
        notes.append("put back deleted cells: " + ", ".join(deleted))
    missing_answers = [gid for gid in answer_ids if gid not in student_known]
    if missing_answers:
        notes.append("answer cells missing (blank stub used): " + ", ".join(missing_answers))

    body: list[tuple[object, str]] = []
    graded: list[GradedCell] = []

    def add_extras(key):
        for number, cell in extras_after.get(key, []):
            body.append((_student_cell(cell), f"your cell {number}"))

    add_extras(None)
    for cell in pristine_cells:
        gid = _meta(cell).get("grade_id")
        if gid is None:
            body.append((copy.deepcopy(cell), "course cell"))
            continue
        if gid in answer_ids:
            chosen = copy.deepcopy(student_known.get(gid, stubs.get(gid, cell)))
            chosen["metadata"]["nbgrader"] = copy.deepcopy(_meta(cell))
            if chosen.get("cell_type") == "code":
                chosen["outputs"], chosen["execution_count"] = [], None
            body.append((chosen, f"answer {gid}"))
        else:
            chosen = copy.deepcopy(cell)
            if chosen.cell_type == "code":
                chosen.outputs, chosen.execution_count = [], None
            if _meta(cell).get("grade") and cell.cell_type == "code":
                chosen.source, keys, eids = rewrite_graded(cell.source, runner, gid)
                graded.append(GradedCell(gid, float(_meta(cell).get("points", 0) or 0), keys, eids))
            body.append((chosen, f"cell {gid}"))
        add_extras(gid)

    # the seal goes right after the pristine setup cell; student cells never run before it
    setup_at = next((i for i, (c, label) in enumerate(body) if label == "cell setup"), None)
    if setup_at is None:
        setup_at = next((i for i, (c, label) in enumerate(body) if label.startswith("cell ")), -1)
    early_student = [(c, label) for c, label in body[: setup_at + 1] if label.startswith("your cell")]
    checked = sorted({e for g in graded for e in g.exercise_ids if e})
    seal = (new_code_cell(f"{runner}.seal({checked!r})"), "grader seal")
    body = [x for x in body[: setup_at + 1] if not x[1].startswith("your cell")] + [seal] + early_student + \
        body[setup_at + 1 :]

    install = new_code_cell(
        f"from course_lib.grade.harness import install as _edp_install\n"
        f"{runner} = _edp_install({secret_path!r}, {report_path!r})\n"
        f"del _edp_install"
    )
    body = [(install, "grader install")] + body + [(new_code_cell(f"{runner}.done()"), "grader done")]
    nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(solution.metadata))
    nb.cells = [c for c, _ in body]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"g{i:04d}"
    return Assembled(nb, graded, [label for _, label in body], notes)
