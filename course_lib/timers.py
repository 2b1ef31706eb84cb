"""The timer heap: callbacks waiting for a moment on the loop's clock.

What it is: asyncio's ``_scheduled`` heap, as a small class. A ``TimerHeap`` is a
list kept in heap order by ``heapq``: entries are ``(when, seq, TimerHandle)``, so the
earliest deadline is always ``timers[0]``, and ``seq`` (a counter) puts timers with
the same deadline in the order they were scheduled. (asyncio compares deadlines
only, so it leaves that order undefined; the course's loop promises first
scheduled, first run.)

Cancelling is lazy, as in asyncio: ``TimerHandle.cancel()`` only marks the handle and
tells the loop (``loop._timer_handle_cancelled``), which counts it here. A cancelled
timer leaves the heap when it reaches the top, or all at once when more than half
of a heap of over 100 timers is dead, so a program that keeps cancelling its
timeouts cannot fill the heap.

What it is not: a timer wheel (the Linux kernel's, Netty's ``HashedWheelTimer``),
which trades exact order for O(1) scheduling.
"""

from __future__ import annotations

import heapq

__all__ = ["TimerHeap"]


class TimerHeap(list):
    """A heap of ``(when, seq, TimerHandle)``; being a list, ``if timers:`` costs nothing."""

    def __init__(self):
        super().__init__()
        self._seq = 0
        self._cancelled = 0  # how many timers in the heap are cancelled (asyncio's _timer_cancelled_count)

    def push(self, handle) -> None:
        self._seq += 1
        heapq.heappush(self, (handle._when, self._seq, handle))

    def cancelled(self, handle) -> None:
        """``handle`` was just cancelled: count it if it is still in the heap."""
        if handle._scheduled:
            self._cancelled += 1

    def next_deadline(self):
        """The earliest deadline of a live timer, or None; cancelled timers leave the top first."""
        if len(self) > 100 and self._cancelled > len(self) // 2:  # mostly dead: rebuild
            for _, _, handle in self:
                handle._scheduled = not handle._cancelled
            self[:] = [entry for entry in self if entry[2]._scheduled]
            heapq.heapify(self)
            self._cancelled = 0
        while self and self[0][2]._cancelled:
            heapq.heappop(self)[2]._scheduled = False
            self._cancelled -= 1
        return self[0][0] if self else None

    def pop_due(self, end_time: float, ready) -> int:
        """Move the timers due before ``end_time`` to ``ready``, by deadline then scheduling
        order; return how many of them are live (a cancelled one is skipped when its turn comes)."""
        due = 0
        while self and self[0][0] < end_time:
            handle = heapq.heappop(self)[2]
            handle._scheduled = False
            ready.append(handle)
            if handle._cancelled:
                self._cancelled -= 1  # it leaves the heap, so it is no longer counted
            else:
                due += 1
        return due

    def pending(self) -> list:
        """``[(when, handle)]`` of the live timers, earliest first (for the loop's snapshot)."""
        return [(when, handle) for when, _, handle in sorted(self) if not handle._cancelled]
