"""Resource limits for one graded kernel: rlimits, a pids cgroup, and a watchdog.

What it is: the parts of the grader that keep a student's kernel inside its box.

- ``Limits``: the numbers (wall time per cell and in total, CPU seconds, memory, processes,
  output bytes), passed from the command line to the worker and to the kernel launcher.
- ``apply_rlimits``: run in the kernel process before any student code (``sandbox.py``):
  ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (a backstop above the watchdog's CPU limit),
  ``RLIMIT_FSIZE`` (no huge files), ``RLIMIT_CORE`` = 0 and, when not root, ``RLIMIT_NPROC``.
- ``PidsCgroup``: Linux does not enforce ``RLIMIT_NPROC`` for root, so when a pids cgroup
  can be created (cgroup v1 ``/sys/fs/cgroup/pids`` or a cgroup v2 tree where the ``pids``
  controller is delegated to us) the kernel joins one with ``pids.max`` set: a fork flood
  then fails with ``EAGAIN`` inside the kernel, enforced by Linux itself. The cgroup also
  lists every process the kernel started, even ones that double-forked away.
- ``Watchdog``: a thread in the worker that polls the kernel's process tree (the cgroup's
  members, else every descendant of the worker, which is a child subreaper so orphans stay
  in its tree) every 50 ms, and kills the whole tree when it has too many processes, too
  much resident memory in total (RSS, confirmed with PSS so forked copies count once), too much CPU time, too much output, or ran too long.
  ``kill_tree`` is also how every grading ends: nothing the kernel started survives it.

What it is not: a container. Without a pids cgroup, a root grader's process limit is
only the watchdog's polling (a fork flood is killed within ~50 ms, not prevented).
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

MiB = 1024 * 1024
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Limits:
    cell_timeout: float = 30.0  # wall seconds per cell (then the kernel is interrupted)
    total_timeout: float = 300.0  # wall seconds for the whole notebook (then killed)
    cpu_time: float = 300.0  # CPU seconds of the kernel and its children (then killed)
    memory_mib: int = 2048  # address space per process (RLIMIT_AS) and total resident memory
    max_procs: int = 32  # processes (not threads) in the kernel's tree
    max_tasks: int = 512  # threads + processes (pids cgroup pids.max / RLIMIT_NPROC)
    max_output: int = 2_000_000  # bytes the notebook may print (rich output such as pictures: 20 times that)
    max_file_mib: int = 256  # largest file the kernel may write (RLIMIT_FSIZE)

    def to_dict(self) -> dict:
        return asdict(self)


def apply_rlimits(limits: Limits) -> None:
    """Set this process's rlimits (inherited by everything it starts)."""
    import resource

    def cap(which, value):
        value = int(value)
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, limits.memory_mib * MiB)
    cap(resource.RLIMIT_CPU, limits.cpu_time + 5)  # the watchdog acts first; this is the backstop
    cap(resource.RLIMIT_FSIZE, limits.max_file_mib * MiB)
    cap(resource.RLIMIT_CORE, 0)
    if os.geteuid() != 0:  # per user, and not enforced for root at all: count what the user already runs
        cap(resource.RLIMIT_NPROC, _user_tasks() + limits.max_tasks)


def _user_tasks() -> int:
    uid, n = os.getuid(), 0
    for pid in _pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                n += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return n


def set_subreaper() -> bool:
    """Make orphaned descendants of this process reparent to it (Linux), not to init."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


# ---------------------------------------------------------------- processes

def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _stat(pid: int):
    """(ppid, state, cpu seconds, rss bytes) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = data[data.rfind(")") + 2 :].split()
    return int(fields[1]), fields[0], (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE


def _pss(pids) -> int:
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


def descendants(root: int, exclude: frozenset = frozenset()) -> dict[int, tuple]:
    """Every live descendant of ``root`` (not root itself, nor ``exclude``d pids, though their
    descendants are): pid -> (ppid, state, cpu, rss)."""
    table = {pid: st for pid in _pids() if (st := _stat(pid)) is not None}
    children: dict[int, list[int]] = {}
    for pid, st in table.items():
        children.setdefault(st[0], []).append(pid)
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = table[child]
                todo.append(child)
    for pid in exclude:
        found.pop(pid, None)
    return found


def reap() -> None:
    """Collect exited children (orphans reparented to a subreaper become our zombies)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ---------------------------------------------------------------- cgroup

class PidsCgroup:
    """A pids cgroup (v1 or delegated v2) that the kernel joins; ``None`` from ``create`` if unavailable."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, name: str, max_tasks: int) -> "PidsCgroup | None":
        for parent in _cgroup_parents():
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

    def join(self, pid: int = 0) -> None:
        (self.path / "cgroup.procs").write_text(str(pid or os.getpid()))

    def members(self) -> list[int]:
        try:
            return [int(x) for x in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def destroy(self) -> None:
        """Kill every member, then remove the cgroup."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            members = self.members()
            if not members:
                break
            for pid in members:
                _kill(pid)
            reap()
            time.sleep(0.02)
        try:
            self.path.rmdir()
        except OSError:
            pass


def _cgroup_parents() -> list[Path]:
    parents = []
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists():
        parents.append(v1)
    try:  # v2: our own cgroup, if the pids controller is delegated below it
        line = next(l for l in Path("/proc/self/cgroup").read_text().splitlines() if l.startswith("0::"))
        for mount in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
            here = mount / line[3:].lstrip("/")
            if "pids" in (here / "cgroup.subtree_control").read_text().split():
                parents.append(here)
    except (OSError, StopIteration):
        pass
    return parents


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


# ---------------------------------------------------------------- watchdog

class Watchdog(threading.Thread):
    """Polls the kernel's processes; on the first limit crossed, records why and kills them all."""

    def __init__(self, limits: Limits, cgroup: PidsCgroup | None, interval: float = 0.05, exclude=frozenset()):
        self.exclude = frozenset(exclude)  # the worker's zygote: a descendant, but not the kernel's
        super().__init__(daemon=True, name="edp-grade-watchdog")
        self.limits, self.cgroup, self.interval = limits, cgroup, interval
        self.reason: tuple[str, str] | None = None  # (status, detail) of the limit that was hit
        self.output_bytes = 0  # printed text and tracebacks
        self.rich_output_bytes = 0  # everything, pictures included
        self.peak_procs = 0
        self.started_at = time.monotonic()
        self._halt = threading.Event()
        self._cpu_seen: dict[int, float] = {}
        self._cpu_gone = 0.0
        self._known: set[int] = set()

    def processes(self, full: bool = True) -> dict[int, tuple]:
        """The kernel's live processes: the cgroup's members, else the worker's descendants.

        A full scan of /proc costs ~10 ms on a busy machine, so without a cgroup the polling
        loop rescans only every 5th tick and otherwise re-reads the processes it already knows.
        """
        if self.cgroup is not None:
            pids = self.cgroup.members()
            tree = {pid: st for pid in pids if (st := _stat(pid)) is not None}
        elif full or not self._known:
            tree = descendants(os.getpid(), self.exclude)
        else:
            tree = {pid: st for pid in self._known if (st := _stat(pid)) is not None}
        self._known = set(tree)
        return {pid: st for pid, st in tree.items() if st[1] not in ("Z", "X")}

    def trip(self, status: str, detail: str) -> None:
        if self.reason is None:
            self.reason = (status, detail)
        self.kill_all()

    def kill_all(self) -> None:
        for _ in range(200):
            procs = self.processes()
            if not procs:
                break
            for pid in procs:
                _kill(pid)
            reap()
            time.sleep(0.01)

    def run(self) -> None:
        lim = self.limits
        tick = 0
        while not self._halt.wait(self.interval):
            tick += 1
            procs = self.processes(full=tick % 5 == 0)
            self.peak_procs = max(self.peak_procs, len(procs))
            for pid in list(self._cpu_seen):  # CPU of processes that ended still counts
                if pid not in procs:
                    self._cpu_gone += self._cpu_seen.pop(pid)
            for pid, st in procs.items():
                self._cpu_seen[pid] = st[2]
            cpu = self._cpu_gone + sum(self._cpu_seen.values())
            rss = sum(st[3] for st in procs.values())
            elapsed = time.monotonic() - self.started_at
            if len(procs) > lim.max_procs:
                self.trip("killed", f"process limit: more than {lim.max_procs} processes (fork flood?)")
            elif rss > lim.memory_mib * MiB and _pss(procs) > lim.memory_mib * MiB:
                self.trip("killed", f"memory limit: more than {lim.memory_mib} MiB resident in total")
            elif cpu > lim.cpu_time:
                self.trip("timeout", f"CPU time limit: more than {lim.cpu_time:g} s of CPU")
            elif elapsed > lim.total_timeout:
                self.trip("timeout", f"time limit: more than {lim.total_timeout:g} s for the whole notebook")

    def stop(self) -> None:
        self._halt.set()
