"""Build a notebook from a Python script: the authoring aid for notebooks/ and solutions/.

    from tools.nb import Notebook
    nb = Notebook()
    nb.md("# 01 · Three models")
    nb.code("from course_lib.workload import Task, cpu, io", kind="setup")
    nb.code("def makespan(tl):\\n    ### BEGIN SOLUTION\\n    ...\\n    ### END SOLUTION", kind="answer", name="makespan")
    nb.code('check("01.makespan", makespan)', kind="check", name="makespan", points=2)
    nb.code("measured = ...", tags=["nbval-ignore-output"])
    nb.write("solutions/01_three_models.ipynb")

``kind`` sets nbgrader's cell metadata (schema 3): ``setup``, ``answer``, ``check``,
``demo`` (locked, not graded) or None (no nbgrader metadata: lecture notebooks).
Builder scripts live in ``tools/build/NN_name.py``; then execute the notebook with
``python tools/run_notebook.py PATH`` and, for solutions, ``python -m course_lib.exercises``.
"""

from __future__ import annotations

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


class Notebook:
    def __init__(self):
        self.nb = new_notebook()
        self.nb.metadata.update(
            {
                "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            }
        )
        self._ids: set[str] = set()
        self._n = 0

    def _grade_id(self, name: str) -> str:
        if name in self._ids:
            raise ValueError(f"duplicate grade_id {name!r}")
        self._ids.add(name)
        return name

    def md(self, text: str) -> None:
        self.nb.cells.append(new_markdown_cell(textwrap.dedent(text).strip("\n")))

    def code(self, source: str, kind: str | None = None, name: str | None = None, points: int = 1, tags=()) -> None:
        cell = new_code_cell(textwrap.dedent(source).strip("\n"))
        if tags:
            cell.metadata["tags"] = list(tags)
        if kind is not None:
            self._n += 1
            meta = {"grade": False, "solution": False, "locked": True, "schema_version": 3}
            if kind == "setup":
                meta["grade_id"] = self._grade_id(name or "setup")
            elif kind == "answer":
                meta.update(solution=True, locked=False, grade_id=self._grade_id(f"{name}_answer"))
            elif kind == "check":
                meta.update(grade=True, points=points, grade_id=self._grade_id(f"{name}_check"))
            elif kind == "demo":
                meta["grade_id"] = self._grade_id(name or f"cell_{self._n}")
            else:
                raise ValueError(f"kind must be setup, answer, check, demo or None, got {kind!r}")
            cell.metadata["nbgrader"] = meta
        self.nb.cells.append(cell)

    def write(self, path: str) -> None:
        # stable cell ids keep diffs small when a notebook is rebuilt
        for i, cell in enumerate(self.nb.cells):
            cell["id"] = f"c{i:03d}"
        from tools.slides import mark

        mark(self.nb)  # section headings start slides, for lecturers
        nbformat.validate(self.nb)
        nbformat.write(self.nb, path)
