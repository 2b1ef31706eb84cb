"""Resource limits for one graded kernel: the numbers, the rlimits, and a watchdog.

What it is: the parts of the grader that keep a student's kernel inside its box.

- ``Limits``: the numbers (wall time per cell and in total, CPU seconds, memory, processes,
  output bytes), passed from the command line to the worker and to the kernel launcher.
- ``apply_rlimits``: run in the kernel process before any student code (``sandbox.py``):
  ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (a backstop above the watchdog's CPU limit),
  ``RLIMIT_FSIZE`` (no huge files), ``RLIMIT_CORE`` = 0 and, when not root, ``RLIMIT_NPROC``.
  Linux does not enforce ``RLIMIT_NPROC`` for root; a pids cgroup (``processes.PidsCgroup``)
  does, when one can be made.
- ``Watchdog``: a thread in the worker that polls the kernel's processes (the cgroup's
  members, else every descendant of the worker) every 50 ms, and kills them all when they
  are too many, hold too much resident memory in total (RSS, confirmed with PSS so forked
  copies count once), used too much CPU time, printed too much, or ran too long.

Finding and killing the processes is ``processes.py``'s job; this module only measures.

What it is not: a container. Without a pids cgroup, a root grader's process limit is
only the watchdog's polling (a fork flood is killed within ~50 ms, not prevented).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass

from course_lib import validate
from course_lib.grade.processes import PidsCgroup, ProcStat, all_pids, descendants, kill_all, pss, stat

MiB = 1024 * 1024


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

    def __post_init__(self):
        for name in ("cell_timeout", "total_timeout", "cpu_time"):
            setattr(self, name, validate.seconds(getattr(self, name), name, above=0))
        for name in ("memory_mib", "max_procs", "max_tasks", "max_output", "max_file_mib"):
            setattr(self, name, validate.count(getattr(self, name), name, minimum=1))

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
    for pid in all_pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                n += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return n


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

    def processes(self, full: bool = True) -> dict[int, ProcStat]:
        """The kernel's live processes: the cgroup's members, else the worker's descendants.

        A full scan of /proc costs ~10 ms on a busy machine, so without a cgroup the polling
        loop rescans only every 5th tick and otherwise re-reads the processes it already knows.
        """
        if self.cgroup is not None:
            pids = self.cgroup.members()
            tree = {pid: st for pid in pids if (st := stat(pid)) is not None}
        elif full or not self._known:
            tree = descendants(os.getpid(), self.exclude)
        else:
            tree = {pid: st for pid in self._known if (st := stat(pid)) is not None}
        self._known = set(tree)
        return {pid: st for pid, st in tree.items() if st.alive}

    def trip(self, status: str, detail: str) -> None:
        if self.reason is None:
            self.reason = (status, detail)
        self.kill_all()

    def kill_all(self) -> None:
        kill_all(self.processes)

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
                self._cpu_seen[pid] = st.cpu
            cpu = self._cpu_gone + sum(self._cpu_seen.values())
            rss = sum(st.rss for st in procs.values())
            elapsed = time.monotonic() - self.started_at
            if len(procs) > lim.max_procs:
                self.trip("killed", f"process limit: more than {lim.max_procs} processes (fork flood?)")
            elif rss > lim.memory_mib * MiB and pss(procs) > lim.memory_mib * MiB:
                self.trip("killed", f"memory limit: more than {lim.memory_mib} MiB resident in total")
            elif cpu > lim.cpu_time:
                self.trip("timeout", f"CPU time limit: more than {lim.cpu_time:g} s of CPU")
            elif elapsed > lim.total_timeout:
                self.trip("timeout", f"time limit: more than {lim.total_timeout:g} s for the whole notebook")

    def stop(self) -> None:
        self._halt.set()
