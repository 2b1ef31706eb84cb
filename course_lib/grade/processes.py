"""The processes a grading starts: finding every one of them, and killing them all.

What it is: the grader's one way to end what a student's kernel started, used at every
place a grading can end (the worker after each notebook, the watchdog when a limit is hit,
the batch when a worker hangs, the command when it exits or is interrupted)::

    clean_up(root, cgroups="edp-grade-123-*")   # every descendant of root, every member of
                                                # those pids cgroups, then the cgroups

- Finding them (Linux): ``descendants(root)`` walks ``/proc`` from a parent to its children;
  a grader process is a *child subreaper* (``set_subreaper``), so a process that
  double-forks to escape is re-parented to the grader and stays in its tree. A
  ``PidsCgroup`` lists its members even when they did leave the tree, and caps how many
  there may be (``pids.max``), which Linux enforces even for root.
- Killing them: ``kill_all(find)`` sends SIGKILL to what ``find()`` returns, reaps, and asks
  again until nothing is left: a process may fork once more while its siblings die.
- ``stat(pid)`` and ``pss(pids)`` are what the watchdog (``limits.py``) measures.

What it is not: portable. Without ``/proc`` (macOS, Windows) nothing is found, and only the
kernel manager's own kill of the kernel remains.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

__all__ = ["ProcStat", "stat", "pss", "all_pids", "descendants", "kill", "kill_all", "reap", "set_subreaper",
           "PidsCgroup", "clean_up"]

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class ProcStat(NamedTuple):
    """A process as ``/proc/<pid>/stat`` describes it."""

    ppid: int
    state: str  # R running, S sleeping, ..., Z zombie (dead, not yet reaped), X dead
    cpu: float  # seconds of CPU, user + system
    rss: int  # resident bytes

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def stat(pid: int) -> ProcStat | None:
    """The process ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = data[data.rfind(")") + 2 :].split()  # after "pid (command name)", which may hold spaces
    return ProcStat(int(fields[1]), fields[0], (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE)


def pss(pids: Iterable[int]) -> int:
    """Proportional resident memory of ``pids`` in bytes: pages shared after a fork count once in total.
    (RSS counts them in every process; reading smaps_rollup costs more, so it only confirms an RSS alarm.)"""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            pass
    return total


def descendants(root: int, exclude: Iterable[int] = ()) -> dict[int, ProcStat]:
    """Every process below ``root`` (not root itself, nor the ``exclude``d, though theirs are), zombies too."""
    table = {pid: st for pid in all_pids() if (st := stat(pid)) is not None}
    children: dict[int, list[int]] = {}
    for pid, st in table.items():
        children.setdefault(st.ppid, []).append(pid)
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = table[child]
                todo.append(child)
    for pid in exclude:
        found.pop(pid, None)
    return found


def kill(pid: int) -> None:
    """SIGKILL ``pid``, if it still exists."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def reap() -> None:
    """Collect our exited children (orphans re-parented to a subreaper become its zombies)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_all(find: Callable[[], Iterable[int]], *, rounds: int = 200, pause: float = 0.01) -> None:
    """Kill every live process ``find()`` returns, reap, and ask again until it returns none."""
    for _ in range(rounds):
        reap()  # our dead children leave the tables only once reaped
        alive = [pid for pid in find() if (st := stat(pid)) is not None and st.alive]
        if not alive:
            return
        for pid in alive:
            kill(pid)
        time.sleep(pause)
    reap()


def set_subreaper() -> bool:
    """Make orphaned descendants of this process re-parent to it (Linux), not to init."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


class PidsCgroup:
    """A pids cgroup (v1, or v2 with the controller delegated to us) that a kernel joins."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @staticmethod
    def parents() -> list[Path]:
        """The folders where this process may make pids cgroups (none where it may not)."""
        parents = []
        v1 = Path("/sys/fs/cgroup/pids")
        if (v1 / "cgroup.procs").exists():
            parents.append(v1)
        try:  # v2: our own cgroup, if the pids controller is delegated below it
            line = next(x for x in Path("/proc/self/cgroup").read_text().splitlines() if x.startswith("0::"))
            for mount in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
                here = mount / line[3:].lstrip("/")
                if "pids" in (here / "cgroup.subtree_control").read_text().split():
                    parents.append(here)
        except (OSError, StopIteration):
            pass
        return parents

    @classmethod
    def create(cls, name: str, max_tasks: int) -> PidsCgroup | None:
        """A new cgroup allowing ``max_tasks`` threads and processes, or None if none can be made here."""
        for parent in cls.parents():
            path = parent / name
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(max_tasks))
                return cls(path)
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
        return None

    @classmethod
    def matching(cls, pattern: str) -> list[PidsCgroup]:
        """The existing cgroups whose name matches ``pattern`` (a glob such as ``edp-grade-42-*``)."""
        return [cls(path) for parent in cls.parents() for path in sorted(parent.glob(pattern)) if path.is_dir()]

    @property
    def name(self) -> str:
        return self.path.name

    def join(self, pid: int = 0) -> None:
        (self.path / "cgroup.procs").write_text(str(pid or os.getpid()))

    def members(self) -> list[int]:
        try:
            return [int(x) for x in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def destroy(self) -> None:
        """Kill every member, then remove the cgroup."""
        kill_all(self.members, rounds=500, pause=0.02)
        try:
            self.path.rmdir()
        except OSError:
            pass


def clean_up(root: int, *, cgroups: str = "", include_root: bool = False, exclude: Iterable[int] = ()) -> None:
    """End everything a grading started: the members of the pids cgroups named like ``cgroups``
    (which are then removed), and every process below ``root`` (and ``root`` itself with
    ``include_root``) apart from the ``exclude``d ones (their descendants still go)."""
    exclude = frozenset(exclude)
    kill_all(lambda: [*descendants(root, exclude), *([root] if include_root else [])])
    for cgroup in PidsCgroup.matching(cgroups) if cgroups else ():
        cgroup.destroy()
