"""Sockets and servers that watch a student's code, for the checks of chapters 02 and 05.

What it is: small instruments a check hands to the student's function instead of a plain
socket, so the check can see *how* the function used it:

- ``CountingSocket``: a real socket that counts the ``recv`` calls that found nothing (EAGAIN):
  how a poll shows itself (02.wait_for_data).
- ``TimedServer``: the slow server (``course_lib.slowserver``), noting when its answer (or its
  close) went out, so a check can measure how late after the data a function returned.
- ``RecvOnlySocket``: the simulated kernel buffer of chapter 05 (``course_lib.triggers``)
  behind a socket that has ``recv`` and nothing else; it counts the bytes ``recv`` handed out
  and, after too many calls, raises ``Runaway`` into an endless loop (05.drain).

What it is not: a sandbox. A determined student can reach behind them; the checks compare
what came back with what went through them, so that shows.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time

from course_lib.slowserver import SlowServer
from course_lib.triggers import KernelBuffer

__all__ = ["CountingSocket", "TimedServer", "RecvOnlySocket", "Runaway"]


class CountingSocket(socket.socket):
    """A real socket that counts the ``recv`` calls that found nothing to read (EAGAIN)."""

    eagain = 0

    def recv(self, *args, **kwargs):
        try:
            return super().recv(*args, **kwargs)
        except BlockingIOError:
            self.eagain += 1
            raise

    def recv_into(self, *args, **kwargs):
        try:
            return super().recv_into(*args, **kwargs)
        except BlockingIOError:
            self.eagain += 1
            raise


class TimedServer(SlowServer):
    """The slow server, noting when its answer (or its close) went out: ``sent_at`` (perf_counter)."""

    sent_at = None

    def _send(self, conn):
        if self.sent_at is None:
            self.sent_at = time.perf_counter()
        super()._send(conn)


class Runaway(BaseException):
    """Raised into a student's endless recv loop (a BaseException: ``except Exception`` cannot swallow it)."""


class RecvOnlySocket:
    """What ``on_readable`` gets: a simulated non-blocking socket with ``recv`` and nothing else.

    It counts what ``recv`` handed out (every returned byte must come from it) and gives up
    after too many calls. The kernel buffer behind it is private, as a real one is."""

    __slots__ = ("_sim", "_limit", "_handed", "runaway")

    def __init__(self, limit: int):
        self._sim, self._limit, self._handed, self.runaway = KernelBuffer(), limit, bytearray(), False

    def recv(self, n):
        if self._sim.recv_calls >= self._limit:
            self.runaway = True
            raise Runaway()
        data = self._sim.recv(n)
        self._handed += data
        return data

    def fileno(self):
        return 7  # any small number: a socket has one; this one is simulated

    def __getattr__(self, name):
        raise AttributeError(f"the check's socket has recv() only, not .{name}: read with sock.recv(4096)")


class _SelectCalls(list):
    """The hurried timeouts counted by ``counting_select``, and whether it made one timeout run out."""
    expired = False


@contextlib.contextmanager
def counting_select(expire_once=False):
    """While it lasts, count the calls to ``select.select`` that were not allowed to wait
    (timeout 0 or almost): a thread that asks again and again is polling, however little
    CPU a crowded machine happens to give it. Yields the list of those timeouts.

    With ``expire_once``, the first call with a real timeout returns ``([], [], [])`` at once,
    as if that timeout had run out (the list's ``expired`` says so): code that calls ``recv``
    without looking at what ``select`` returned then shows its bug without a long wait."""
    real, hurried = select.select, _SelectCalls()

    def spy(rlist, wlist, xlist, timeout=None):
        if timeout is not None and timeout < 0.01:
            hurried.append(timeout)
        elif timeout is not None and expire_once and not hurried.expired:
            hurried.expired = True
            return [], [], []
        return real(rlist, wlist, xlist, timeout)

    select.select = spy
    try:
        yield hurried
    finally:
        select.select = real
