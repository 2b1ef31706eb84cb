"""Readers and writers: which callback waits for which file, kept in step with the poller.

What it is: the table behind ``Loop.add_reader``, ``add_writer``, ``remove_reader``
and ``remove_writer``. For each key the poller watches (a file descriptor, or a
simulated socket) it holds at most one reader and one writer, each a ``Handle``;
whenever that changes it tells the poller what to watch (``register``, ``modify``,
``unregister``), as Redis's ``aeCreateFileEvent``/``aeDeleteFileEvent`` do with
their table of file events. After a poll, ``handles(events)`` turns what the poller
reported back into the handles to queue, the reader before the writer.

It asks the poller which key stands for a file (``poller.key_for(f)``) and remembers
the file object too, so a socket closed while still watched can still be removed: its
``fileno()`` is -1 by then (``selectors`` searches the same way).

What it is not: a selector. It holds no data besides the handles, and calls nothing:
the loop queues the handles and runs them.
"""

from __future__ import annotations

from course_lib.handles import describe
from course_lib.pollers import EVENT_READ, EVENT_WRITE

__all__ = ["Waiters"]


class Waiters:
    """``readers`` and ``writers``: {key: Handle}, mirrored in the poller's interest list."""

    def __init__(self, poller):
        self._poller = poller
        self.readers: dict = {}
        self.writers: dict = {}
        self._tables = {EVENT_READ: self.readers, EVENT_WRITE: self.writers}
        self._files: dict = {}  # key -> the object it was given as

    def add(self, event: int, f, handle) -> None:
        """``handle`` waits for ``event`` on ``f``, replacing (and cancelling) an earlier one."""
        key, table = self._key(f), self._tables[event]
        old = table.get(key)
        table[key] = handle
        try:
            self._watch(key)
        except BaseException:  # the poller refused the key: leave the table as it was
            if old is None:
                del table[key]
            else:
                table[key] = old
            raise
        self._files[key] = f
        if old is not None:
            old.cancel()

    def remove(self, event: int, f) -> bool:
        """Nothing waits for ``event`` on ``f`` any more; True if something did (its call is cancelled)."""
        key = self._key(f)
        handle = self._tables[event].pop(key, None)
        if handle is None:
            return False
        handle.cancel()
        self._watch(key)
        return True

    def handles(self, events) -> list:
        """The handles waiting for what a poll reported: [(key, EVENT_READ | EVENT_WRITE), ...]."""
        found = []
        for key, mask in events:
            if mask & EVENT_READ and key in self.readers:
                found.append(self.readers[key])
            if mask & EVENT_WRITE and key in self.writers:
                found.append(self.writers[key])
        return found

    def describe(self, event: int) -> dict:
        """{"fd 5" or "client:1": "on_data(client:1)"}: plain data for the loop's snapshot."""
        return {f"fd {key}" if isinstance(key, int) else describe(key): handle.label
                for key, handle in self._tables[event].items()}

    def clear(self) -> None:
        self.readers.clear()
        self.writers.clear()
        self._files.clear()

    def _key(self, f):
        try:
            return self._poller.key_for(f)
        except ValueError:  # a closed file: find it by the object it was registered as
            for key, obj in self._files.items():
                if obj is f:
                    return key
            raise

    def _watch(self, key) -> None:
        """Tell the poller what we now wait for on ``key``."""
        new = (EVENT_READ if key in self.readers else 0) | (EVENT_WRITE if key in self.writers else 0)
        old = self._poller.events_for(key)
        if not new:
            self._files.pop(key, None)
            if old:
                self._poller.unregister(key)
        elif not old:
            self._poller.register(key, new)
        elif old != new:
            self._poller.modify(key, new)
