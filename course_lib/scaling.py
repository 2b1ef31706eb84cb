"""The scaling lab: what one wait costs when thousands of sockets sit idle.

What it is: ``wait_cost(backend, idle)`` opens ``idle`` idle sockets plus one
socket that already has a byte to read, asks ``backend`` once (many times, in
fact) "which of these are ready?", and returns the median time of one such call
in seconds. The answer is always the same single ready socket; only the number
of idle sockets the kernel has to consider changes.

- ``select``  the whole interest set is rebuilt as a bit mask, copied into the
  kernel and scanned on every call; refuses descriptor numbers >= FD_SETSIZE.
- ``poll``    an array of (fd, events) is copied into the kernel and scanned on
  every call; no FD_SETSIZE limit, still a cost per watched socket per call.
- ``epoll`` / ``kqueue``  the interest set lives in the kernel (registered once);
  a wait only collects the sockets that became ready.

``IdleSockets(n)`` is the pool of socket pairs; pass one to several calls with
``pool=`` to measure every backend on the same sockets without reopening them.
``sweep(...)`` measures a grid of backends and idle counts.
``available_backends()`` names what this platform has.

The file-descriptor limit (RLIMIT_NOFILE) is raised as needed, up to the hard
limit, and restored when the pool closes.

What it is not: a benchmark of a server. A wait with nothing to do isolates the
cost of asking; a real server also reads, parses and writes.
"""

from __future__ import annotations

import os
import select
import socket
import statistics
import sys
import time

__all__ = ["wait_cost", "sweep", "IdleSockets", "available_backends", "BACKENDS", "FD_SETSIZE", "raised_fd_limit"]

BACKENDS = ("select", "poll", "epoll", "kqueue")
FD_SETSIZE = 1024  # the size of select()'s fixed bit mask on Linux and macOS (C's FD_SETSIZE)
WINDOWS = sys.platform == "win32"  # there, select's limit is a *count* of sockets (512 in CPython)


def select_can_watch(fds) -> bool:
    """Can ``select`` watch all of ``fds``? (Numbers below FD_SETSIZE; on Windows, at most 512 of them.)"""
    return len(fds) <= 512 if WINDOWS else max(fds, default=0) < FD_SETSIZE

try:
    import resource
except ImportError:  # Windows
    resource = None


def available_backends() -> list[str]:
    """The backends this Python on this platform has (looked up now, not at import)."""
    return [name for name in BACKENDS if hasattr(select, name)]


def _open_fds_estimate() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 64


class raised_fd_limit:
    """Context manager: make room for ``extra`` more open descriptors, restore afterwards."""

    def __init__(self, extra: int):
        self.extra = extra
        self.saved = None

    def __enter__(self):
        if resource is None:
            return self
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = _open_fds_estimate() + self.extra + 32
        if soft != resource.RLIM_INFINITY and soft < wanted:
            if hard != resource.RLIM_INFINITY and hard < wanted:
                raise ValueError(
                    f"need about {wanted} open files but the hard limit (ulimit -Hn) is {hard}: use fewer idle sockets"
                )
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            except (ValueError, OSError) as exc:  # e.g. macOS caps it at kern.maxfilesperproc
                raise ValueError(
                    f"could not raise the open-file limit to {wanted} ({exc}): use fewer idle sockets"
                ) from None
            self.saved = (soft, hard)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, self.saved)
            self.saved = None
        return False


class IdleSockets:
    """``n`` idle connected sockets and one ready socket.

    The idle sockets are both ends of ``ceil(n/2)`` socket pairs (nobody writes to
    either end, so neither is ever readable). The ready socket is opened first, so
    it gets a low descriptor number. Use as a context manager; everything it
    opened is closed on exit.
    """

    def __init__(self, n: int):
        _check_idle(n)
        self.n = n
        self._limit = raised_fd_limit(n + 3)
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.ready_pair = None

    def __enter__(self) -> "IdleSockets":
        self._limit.__enter__()
        try:
            self.ready_pair = socket.socketpair()
            self.ready_pair[1].send(b"!")  # one byte waiting: this socket is readable
            for _ in range((self.n + 1) // 2):
                self.pairs.append(socket.socketpair())
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def ready(self) -> socket.socket:
        return self.ready_pair[0]

    def fds(self, idle: int) -> list[int]:
        """The descriptors to watch: ``idle`` idle ones, then the ready one last."""
        if idle > self.n:
            raise ValueError(f"idle must be <= {self.n}, the size of this pool, got {idle}")
        ends = [s.fileno() for pair in self.pairs for s in pair]
        return ends[:idle] + [self.ready.fileno()]

    def close(self) -> None:
        for a, b in self.pairs:
            a.close()
            b.close()
        self.pairs = []
        if self.ready_pair:
            for s in self.ready_pair:
                s.close()
            self.ready_pair = None
        self._limit.__exit__()


def _check_idle(idle) -> None:
    if isinstance(idle, bool) or not isinstance(idle, int) or idle < 0:
        raise ValueError(f"idle must be a whole number of sockets >= 0, got {idle!r}")


def _check_backend(backend) -> None:
    have = available_backends()
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    if backend not in have:
        raise ValueError(f"{backend!r} does not exist on this platform; available: {', '.join(have)}")


def _one_wait(backend: str, fds: list[int]):
    """A zero-argument function doing one wait over ``fds``, and a cleanup function."""
    ready = fds[-1]
    if backend == "select":
        if not select_can_watch(fds):
            raise ValueError(
                f"select cannot watch descriptor {max(fds)}: "
                f"its bit mask holds only numbers below FD_SETSIZE={FD_SETSIZE}"
            )

        def wait():  # the interest set is passed (and copied, and scanned) on every call
            r, _, _ = select.select(fds, [], [], 0)
            assert r == [ready]

        return wait, lambda: None
    if backend == "poll":
        p = select.poll()
        for fd in fds:
            p.register(fd, select.POLLIN)

        def wait():
            assert p.poll(0)[0][0] == ready

        return wait, lambda: None
    if backend == "epoll":
        ep = select.epoll(len(fds))
        for fd in fds:
            ep.register(fd, select.EPOLLIN)

        def wait():
            assert ep.poll(0)[0][0] == ready

        return wait, ep.close
    kq = select.kqueue()
    kq.control([select.kevent(fd, select.KQ_FILTER_READ, select.KQ_EV_ADD) for fd in fds], 0, 0)

    def wait():
        assert kq.control(None, 1, 0)[0].ident == ready

    return wait, kq.close


def wait_cost(backend: str, idle: int, repeat: int = 25, pool: IdleSockets | None = None) -> float:
    """Median seconds of one wait by ``backend`` over ``idle`` idle sockets plus one ready socket.

    Each of the ``repeat`` samples times a batch of waits (one long wait, or enough short
    ones to last ~0.1 ms) on the thread's processor clock and divides by the batch size.

    ``backend``: "select", "poll", "epoll" or "kqueue" (what the platform has).
    ``repeat``: how many waits are timed (the median is returned).
    ``pool``: an open ``IdleSockets`` with at least ``idle`` sockets to reuse.
    """
    _check_backend(backend)
    _check_idle(idle)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a whole number >= 1, got {repeat!r}")
    if backend == "select" and idle + 1 > (512 if WINDOWS else FD_SETSIZE):
        raise ValueError(
            f"select watches at most FD_SETSIZE={FD_SETSIZE} descriptors (numbered below {FD_SETSIZE}); "
            f"idle={idle} is too many: use poll, epoll or kqueue"
        )
    if pool is None:
        with IdleSockets(idle) as own:
            return wait_cost(backend, idle, repeat, pool=own)
    wait, cleanup = _one_wait(backend, pool.fds(idle))
    try:
        clock = _clock()
        start = time.perf_counter()
        wait()  # warm up, and see roughly how long one wait takes
        first = time.perf_counter() - start
        batch = max(1, min(1000, int(BATCH_SECONDS / max(first, 1e-7))))  # short waits are timed in batches
        times = []
        for _ in range(repeat):
            start = clock()
            for _ in range(batch):
                wait()
            times.append((clock() - start) / batch)
        return max(statistics.median(times), 1e-9)
    finally:
        cleanup()


BATCH_SECONDS = 100e-6  # a timed batch lasts about this long, so the clock's own cost is negligible


def _clock():
    """The calling thread's processor time (user + kernel) when the platform measures it finely.

    Processor time, not wall-clock time: on a busy machine another program may take the
    processor in the middle of a wait, which would add its time to ours.
    """
    try:
        if time.get_clock_info("thread_time").resolution <= 1e-6:
            return time.thread_time
    except (AttributeError, ValueError, OSError):
        pass
    return time.perf_counter


def sweep(backends=None, idles=(10, 100, 1000, 5000), repeat: int = 25, progress=None) -> dict:
    """Measure ``wait_cost`` for every backend and idle count on one pool of sockets.

    Returns ``{backend: {idle: seconds}}``; select skips idle counts whose descriptor
    numbers would reach FD_SETSIZE. ``progress(done, total, text)`` is called after
    each measurement, if given.
    """
    backends = list(backends) if backends is not None else available_backends()
    for b in backends:
        _check_backend(b)
    idles = sorted(idles)
    for n in idles:
        _check_idle(n)
    results = {b: {} for b in backends}
    total = len(backends) * len(idles)
    done = 0
    with IdleSockets(max(idles, default=0)) as pool:
        for n in idles:
            for b in backends:
                done += 1
                if b == "select" and not select_can_watch(pool.fds(n)):
                    text = f"select: skipped {n} idle (descriptors beyond FD_SETSIZE)"
                else:
                    results[b][n] = wait_cost(b, n, repeat, pool=pool)
                    text = f"{b}: {n} idle -> {results[b][n] * 1e6:.1f} µs"
                if progress is not None:
                    progress(done, total, text)
    return results
