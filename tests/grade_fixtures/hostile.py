"""A class of plain and hostile submissions of the fixture notebook, with the row each must get.

``make_class(folder)`` writes ``folder/<student>/99_fixture.ipynb`` for every case below
and returns ``{student: (status, score)}``. The fixture course (``build_fixture.py``, built
into a temporary folder: ``COURSE``) has ``add`` (1 point) and ``order`` (3 points); cases are
built by replacing answer cells, editing, deleting or adding cells of the solution.
"""

from __future__ import annotations

import atexit
import copy
import shutil
import tempfile
from pathlib import Path

import nbformat
from build_fixture import build
from nbformat.v4 import new_code_cell

from course_lib.exercises import make_exercise

COURSE = Path(tempfile.mkdtemp(prefix="edp-grade-fixture-"))  # built once per test process
atexit.register(shutil.rmtree, COURSE, True)
SOLUTION = build(COURSE)
NAME = SOLUTION.name

GOOD_ADD = "def add(a, b):\n    return a + b"
GOOD_ORDER = "def order(events):\n    return [name for _, name in sorted(events, key=lambda e: e[0])]"
WRONG_ADD = "def add(a, b):\n    return a - b"
WRONG_ORDER = "def order(events):\n    return [name for _, name in events]"


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTION, as_version=4)


def variant(add=None, order=None, drop=(), edit=None, insert_after=None) -> nbformat.NotebookNode:
    """The solution with answer sources replaced, cells dropped/edited, or cells added."""
    nb = solution()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if _gid(cell) == "add_answer" and add is not None:
            cell.source = add
        if _gid(cell) == "order_answer" and order is not None:
            cell.source = order
        if edit and _gid(cell) in edit:
            cell.source = edit[_gid(cell)]
    nb.cells = [c for c in nb.cells if _gid(c) not in drop]
    for gid, source in (insert_after or {}).items():
        at = next(i for i, c in enumerate(nb.cells) if _gid(c) == gid)
        nb.cells.insert(at + 1, new_code_cell(source))
    return nb


FORGE = """
import os
for name in os.listdir("/proc/self/fd"):
    fd = int(name)
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if "report" not in target:
        continue
    for key in ("add_check#0", "order_check#0"):
        for run in range(3):
            try:
                os.write(fd, (repr(("0" * 32, "run", key, run, True, "")) + "\\n").encode())
            except OSError:
                pass
"""

PATCH_CHECK = """
import builtins, sys
import course_lib.check as c
def check(*args, **kwargs):
    print("✔ passed")
c.check = check
builtins.check = check
c.CheckFailed = type("CheckFailed", (Exception,), {})
import course_lib.registry as r
r.lookup("99.add").function.__code__ = (lambda *a, **k: None).__code__
r.register("99.order", "", lambda *a, **k: None)
c.expect = lambda *a, **k: None
sys.modules["course_lib.check"] = type(sys)("course_lib.check")
builtins.print = lambda *a, **k: None
"""


CALL_RUNNER = """
# a student who read the grader: call its runner with a right answer for keys guessed from the pattern
for name, value in list(globals().items()):
    if name.startswith("_edp_") and hasattr(value, "run"):
        for n in range(3):
            value.run(f"add_check#{n}", "99.add", lambda a, b: a + b)
"""

RIG_RANDOM = """
import random
random.Random.randint = lambda self, a, b: 1  # every "random" case becomes add(1, 1)
random.Random.choice = lambda self, seq: seq[0]
def add(a, b):
    return 2
"""


FORGE_RESULT = """
import json, os
row = json.dumps({"status": "ok", "detail": "forged", "score": 4, "max_score": 4}) + "\\n"
for name in os.listdir("/proc/self/fd"):
    try:
        os.write(int(name), row.encode())
    except OSError:
        pass
os._exit(0)
"""

DAEMON_MARKER = "edp-grade-daemon-probe"
DAEMON = f"""
import os, subprocess, sys
if os.fork() == 0:  # double fork + new session: the classic way to outlive whoever started you
    os.setsid()
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{DAEMON_MARKER}"])
    os._exit(0)
"""

SABOTAGE = """
import builtins, sys, threading
builtins.vars = lambda *a: {}            # the runner's own tools, patched before it restores anything
builtins.setattr = lambda *a: None
sys.settrace = threading.settrace = None
sys.setrecursionlimit(60)
"""


def cases() -> dict[str, tuple[object, tuple[str, float]]]:
    """student -> (notebook or raw bytes, (status, score)); the first twenty are the issue's list."""
    blank = make_exercise(solution())
    return {
        "solved": (solution(), ("ok", 4)),
        "blank": (blank, ("ok", 0)),
        "infinite_loop": (variant(add="while True:\n    pass\n" + GOOD_ADD), ("timeout", 3)),
        "sys_exit": (variant(add="import sys\nsys.exit(1)\n" + GOOD_ADD), ("ok", 3)),
        "os_exit": (variant(order="import os\nos._exit(3)\n" + GOOD_ORDER), ("error", 1)),
        "big_alloc": (variant(add="block = bytearray(6 * 1024**3)\n" + GOOD_ADD), ("killed", 3)),
        "fork_flood": (variant(order="import os\nwhile True:\n    os.fork()"), ("killed", 1)),
        "output_flood": (variant(order="while True:\n    print('x' * 10000)"), ("killed", 1)),
        "tampered_checks": (variant(add=WRONG_ADD, order=WRONG_ORDER,
                                    edit={"add_check": "print('✔ 99.add passed')", "order_check": "pass"}), ("ok", 0)),
        "deleted_checks": (variant(drop=("add_check", "order_check", "setup")), ("ok", 4)),
        "deleted_answer": (variant(drop=("order_answer",)), ("ok", 1)),
        "patched_check": (variant(add=WRONG_ADD + "\n" + PATCH_CHECK, order=WRONG_ORDER), ("ok", 0)),
        "forged_reports": (variant(add=WRONG_ADD + "\n" + FORGE, order=WRONG_ORDER), ("ok", 0)),
        "garbage": (b"\x89PNG\r\n\x1a\n not a notebook \x00\xff", ("invalid", 0)),
        "empty": (b"", ("invalid", 0)),
        "stderr_noise": (variant(add="import sys, warnings\nprint('debug', file=sys.stderr)\n"
                                     "warnings.warn('careful')\n" + GOOD_ADD), ("ok", 4)),
        "slow_correct": (variant(order="import time\ntime.sleep(2)\n" + GOOD_ORDER), ("ok", 4)),
        "partial": (variant(add="def add(a, b):\n    return a + b if abs(a) < 1000 else 0",
                            order="def order(events):\n    return [] if len(events) > 6 else "
                                  "[n for _, n in sorted(events, key=lambda e: e[0])]"), ("ok", 1)),
        "system_exit_in_check": (variant(add="def add(a, b):\n    raise SystemExit(0)"), ("ok", 3)),
        "calls_the_runner": (variant(add=WRONG_ADD + "\n" + CALL_RUNNER, order=WRONG_ORDER), ("ok", 0)),
        "rigs_random": (variant(add=RIG_RANDOM, order=WRONG_ORDER), ("ok", 0)),
        "hangs_in_check": (variant(add="def add(a, b):\n    while True:\n        pass"), ("timeout", 3)),
        "forges_result_row": (variant(add=WRONG_ADD + "\n" + FORGE_RESULT), ("error", 0)),
        "leaves_a_daemon": (variant(add=DAEMON + GOOD_ADD), ("ok", 4)),
        "sabotages_the_runner": (variant(add=WRONG_ADD + "\n" + SABOTAGE, order=WRONG_ORDER), ("ok", 0)),
        "added_cells": (variant(insert_after={"add_check": "scratch = add(2, 3)\nprint(scratch)",
                                              "order_check": "def add(a, b):\n    return 0"}), ("ok", 4)),
    }


def make_class(folder: Path) -> dict[str, tuple[str, float]]:
    expected = {}
    for student, (content, row) in cases().items():
        target = folder / student / NAME
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            nbformat.write(copy.deepcopy(content), target)
        expected[student] = row
    return expected
