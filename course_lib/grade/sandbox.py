"""The graded kernel's launcher: ``python -m course_lib.grade.sandbox LIMITS.json -f CONNECTION_FILE``.

What it is: the command in the grader's private kernelspec. Before a single line of
student code can run it joins the submission's pids cgroup (if the worker made one),
sets the rlimits (memory, CPU, file size, core dumps, processes when not root), puts
the kernel's home, IPython and matplotlib folders in the submission's temporary folder,
switches progress recording off, and only then starts an ordinary ipykernel in this
same process (so the limits hold for the kernel and everything it starts).

What it is not: a privilege drop. The kernel runs as the grader's user; see the
threat model in ``course_lib/grade/__init__.py``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from course_lib.grade.limits import Limits, apply_rlimits
from course_lib.grade.processes import PidsCgroup


def main(argv: list[str]) -> None:
    config = json.loads(Path(argv[0]).read_text())
    if config.get("cgroup"):
        PidsCgroup(Path(config["cgroup"])).join()
    for key, value in config.get("env", {}).items():
        os.environ[key] = value
    apply_rlimits(Limits(**config["limits"]))
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    for entry in reversed(config.get("sys_path", [])):
        sys.path.insert(0, entry)
    sys.argv = [sys.argv[0], *argv[1:], "--HistoryManager.enabled=False"]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main(sys.argv[1:])
