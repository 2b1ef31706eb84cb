"""Timers without an event loop: ``call_at`` for the threads model of the key-value server.

What it is: ``TimerThread(lock)`` gives the threads model what a loop gives the others,
``clock`` and ``call_at(when, fn, *args)`` returning a handle with ``cancel()``, so the
database (``course_lib.kv.db``) expires keys actively on every model. One thread sleeps
on a condition variable until the earliest deadline, then runs that callback while
holding ``lock`` (the database lock: callbacks touch the keyspace). ``call_at`` is
called by code that already holds the lock, and wakes the thread when the earliest
deadline changes. Cancelled timers stay in the heap until they reach its top, or all
at once when the heap has doubled since it was last cleaned, as the loops do.

What it is not: an event loop. It runs timers and nothing else, one at a time.
"""

from __future__ import annotations

import heapq
import threading
import time

__all__ = ["TimerThread"]


class TimerThread:
    """One thread that runs ``fn(*args)`` at ``when`` on ``clock`` (``time.monotonic``), holding ``lock``."""

    def __init__(self, lock):
        self.clock, self._heap = time.monotonic, []
        self._cond, self._running, self._seq, self._compact_at = threading.Condition(lock), True, 0, 1024
        self._thread = threading.Thread(target=self._main, name="kv-timers", daemon=True)

    def call_at(self, when: float, fn, *args):
        """Call ``fn(*args)`` once ``clock()`` reaches ``when``; the caller holds the lock."""
        handle = _Cancellable()
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, handle, fn, args))
        if len(self._heap) >= self._compact_at:  # forget cancelled timers, as the loops do
            self._heap[:] = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._compact_at = max(1024, 2 * len(self._heap))
        self._cond.notify()
        return handle

    def _main(self) -> None:
        with self._cond:
            while self._running:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if self._heap and self._heap[0][0] <= self.clock():
                    _, _, _, fn, args = heapq.heappop(self._heap)
                    fn(*args)
                else:
                    self._cond.wait(self._heap[0][0] - self.clock() if self._heap else None)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify()
        self._thread.join()


class _Cancellable:
    __slots__ = ("cancelled",)

    def __init__(self):
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
