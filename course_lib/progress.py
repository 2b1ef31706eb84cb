"""Progress: which exercises you have passed, kept in a small JSON file.

What it is: ``record(id)`` (called by ``check`` on every pass) and ``show()``, a table
of every exercise of the course (the list is ``course_lib.registry``'s) with a tick for
those passed.

Where the file lives: ``$EDP_PROGRESS_FILE`` if set (an empty value switches
recording off, as the grader and the tests do), else
``~/.event-driven-python/progress.json``.

Solutions do not count: a check that passes in a notebook of the ``solutions/`` folder is not
recorded (``solution_notebook()``), so running a worked solution ticks nothing. The notebook is
the one the kernel was started for: JupyterLab and Notebook 7 (jupyter_server 2) put its path in
the kernel's environment as ``JPY_SESSION_NAME``; VS Code names it in ``__vsc_ipynb_file__``.

What it is not: a grade. Grading runs the checks afresh (``python -m course_lib.grade``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from course_lib import registry

__all__ = ["record", "passed", "show", "reset", "notebook", "solution_notebook"]


def _path() -> Path | None:
    value = os.environ.get("EDP_PROGRESS_FILE")
    if value is None:
        return Path.home() / ".event-driven-python" / "progress.json"
    return Path(value) if value else None


def notebook() -> str | None:
    """The path of the notebook this kernel runs, when the front end says (else None)."""
    name = os.environ.get("JPY_SESSION_NAME")
    if name:
        return name
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    name = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    return name if isinstance(name, str) and name else None


def solution_notebook() -> bool:
    """True when this kernel runs a notebook of a ``solutions/`` folder: its passes are not yours."""
    name = notebook()
    return name is not None and Path(name.replace("\\", "/")).parent.name == "solutions"


def passed() -> dict[str, str]:
    """Exercise id -> when it was first passed (ISO date)."""
    path = _path()
    if path is None or not path.exists():
        return {}
    try:
        return dict(json.loads(path.read_text()))
    except (ValueError, OSError):
        return {}


def record(exercise_id: str) -> bool:
    """Note that ``exercise_id`` passed; False when nothing was recorded (recording off, a solution)."""
    path = _path()
    if path is None or solution_notebook():
        return False
    done = passed()
    if exercise_id in done:
        return True
    done[exercise_id] = time.strftime("%Y-%m-%d %H:%M")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(done, indent=1, sort_keys=True))
    return True


def reset() -> None:
    """Forget every pass (the file is removed)."""
    path = _path()
    if path is not None and path.exists():
        path.unlink()


class _ProgressTable:
    def __init__(self, rows):
        self.rows = rows

    def __repr__(self):
        done = sum(1 for _, when in self.rows if when)
        lines = [f"{done} of {len(self.rows)} exercises passed"]
        lines += [f"  {'✔' if when else '·'} {eid:<28} {when or ''}" for eid, when in self.rows]
        return "\n".join(lines)

    def _repr_html_(self):
        done = sum(1 for _, when in self.rows if when)
        body = "".join(
            f"<tr><td>{'✔' if when else '·'}</td><td><code>{eid}</code></td><td>{when or ''}</td></tr>"
            for eid, when in self.rows
        )
        return f"<p><b>{done} of {len(self.rows)} exercises passed</b></p><table>{body}</table>"


def show() -> _ProgressTable:
    """A table of every exercise of the course, ticked where you have passed it."""
    done = passed()
    return _ProgressTable([(eid, done.get(eid, "")) for eid in registry.exercise_ids()])
