"""The keyspace of the key-value server: one dict of values, one dict of deadlines.

What it is: ``Database(clock, call_at)`` holds ``data`` (key -> value: ``bytes`` for a
string, a ``collections.deque`` for a list) and ``expires`` (key -> deadline, in
Unix milliseconds, as Redis keeps them). A key disappears at its deadline in two
ways, as in Redis:

- **lazily**: every lookup checks the deadline first, so an expired key is never
  seen, even if nothing has removed it yet;
- **actively**: each deadline is a timer on the event loop (``call_at``), whose
  callback deletes the key, so expired keys do not sit in memory until someone
  asks for them. Setting a new deadline or removing it cancels the old timer.

``clock`` and ``call_at`` come from whatever runs the server: ``loop.time`` and
``loop.call_at`` of the course loop or of asyncio (a simulated course ``Loop`` gives
virtual time, so expiry is tested without waiting), or a timer thread for the
threads model. ``epoch`` turns the clock into Unix time (``time.time() - clock()``
unless given), so ``EXPIREAT``-style absolute times mean what they mean in Redis.

``match(pattern, key)`` is Redis's glob (``KEYS user:*``, ``h?llo``, ``[a-c]``).

What it is not: thread-safe (the threads model holds a lock around every use), or
Redis's sampling expiry cycle: one timer per expiring key is simpler to read, and
the loops drop cancelled timers, so memory stays bounded.
"""

from __future__ import annotations

import time

__all__ = ["Database", "match"]


class Database:
    """Keys, values and deadlines, with lazy and active expiry. See the module docstring."""

    def __init__(self, clock=time.monotonic, call_at=None, epoch: float | None = None):
        self.data: dict = {}
        self.expires: dict = {}  # key -> deadline in Unix milliseconds
        self._timers: dict = {}  # key -> the loop's timer handle that will expire it
        self.clock, self.call_at = clock, call_at
        self.epoch = time.time() - clock() if epoch is None else epoch
        self.expired = 0  # keys removed because their time was up (lazily or actively)

    def now_ms(self) -> int:
        """The current time in Unix milliseconds (Redis's ``mstime()``)."""
        return int((self.clock() + self.epoch) * 1000)

    # -- reading ---------------------------------------------------------------------
    def lookup(self, key):
        """The value of ``key``, or None if it is missing or past its deadline (then it is deleted)."""
        when = self.expires.get(key)
        if when is not None and self.now_ms() > when:
            self._expire(key)
            return None
        return self.data.get(key)

    def alive(self, key) -> bool:
        """Is ``key`` there and not expired? (Does not delete it: what ``KEYS`` needs.)"""
        when = self.expires.get(key)
        return key in self.data and (when is None or self.now_ms() <= when)

    def ttl_ms(self, key) -> int | None:
        """Milliseconds left before ``key`` expires (0 if due), or None if it has no deadline."""
        when = self.expires.get(key)
        return None if when is None else max(0, when - self.now_ms())

    def __len__(self) -> int:
        return len(self.data)

    # -- writing ---------------------------------------------------------------------
    def set(self, key, value, keep_ttl: bool = False) -> None:
        """Store ``value`` under ``key``; a new value forgets the old deadline unless ``keep_ttl``."""
        self.data[key] = value
        if not keep_ttl and key in self.expires:
            self.persist(key)

    def delete(self, key) -> bool:
        """Remove ``key``; True if it was there (and not expired)."""
        if self.lookup(key) is None:
            return False
        self._remove(key)
        return True

    def set_expire(self, key, when_ms: int) -> None:
        """Make ``key`` expire at ``when_ms`` (Unix milliseconds), replacing its old deadline."""
        self.expires[key] = when_ms
        self._schedule(key, when_ms)

    def persist(self, key) -> bool:
        """Remove the deadline of ``key``; True if it had one."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        return self.expires.pop(key, None) is not None

    def flush(self) -> None:
        """Remove every key (``FLUSHDB``)."""
        for timer in self._timers.values():
            timer.cancel()
        self.data.clear()
        self.expires.clear()
        self._timers.clear()

    # -- expiry ----------------------------------------------------------------------
    def _schedule(self, key, when_ms: int) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        if self.call_at is not None:  # a key is expired once now > deadline: 1 ms after it
            self._timers[key] = self.call_at((when_ms + 1) / 1000 - self.epoch, self._on_timer, key, when_ms)

    def _on_timer(self, key, when_ms: int) -> None:
        """Active expiry: the loop's timer for ``key`` is due."""
        if self.expires.get(key) != when_ms:
            return  # the deadline changed since (a cancelled timer should not even get here)
        self._timers.pop(key, None)
        if self.now_ms() > when_ms:
            self._expire(key)
        else:  # the clock is a hair behind the timer: look again a millisecond later
            self._schedule(key, when_ms)

    def _expire(self, key) -> None:
        self.expired += 1
        self._remove(key)

    def _remove(self, key) -> None:
        del self.data[key]
        if key in self.expires:
            self.persist(key)

    def keys(self):
        """The keys that are alive now (expired ones are skipped, not deleted)."""
        now = self.now_ms()
        expires = self.expires
        return [key for key in self.data if expires.get(key, now) >= now]

    def __repr__(self) -> str:
        return f"<Database {len(self.data)} keys, {len(self.expires)} with a deadline>"


def match(pattern: bytes, string: bytes) -> bool:
    """Does ``string`` match the glob ``pattern``? Redis's ``stringmatchlen``, case-sensitive.

    ``*`` any run of bytes, ``?`` one byte, ``[abc]`` ``[^abc]`` ``[a-z]`` one byte of a
    set, ``\\x`` the byte x itself. (Redis's quirks are kept: an unclosed ``[`` closes
    at the end of the pattern, a range may be written backwards.)
    """
    return _match(pattern, 0, string, 0, [False])


def _match(p: bytes, i: int, s: bytes, j: int, give_up: list) -> bool:
    np, ns = len(p), len(s)
    while i < np and j < ns:
        c = p[i]
        if c == 42:  # "*"
            while i + 1 < np and p[i + 1] == 42:
                i += 1
            if i + 1 == np:
                return True
            while j < ns:
                if _match(p, i + 1, s, j, give_up):
                    return True
                if give_up[0]:  # the rest cannot match anywhere further on: stop early
                    return False
                j += 1
            give_up[0] = True
            return False
        if c == 63:  # "?"
            j += 1
        elif c == 91:  # "["
            i += 1
            negate = i < np and p[i] == 94  # "^"
            if negate:
                i += 1
            found = False
            while True:
                if i < np and p[i] == 92 and np - i >= 2:  # "\\": the next byte itself
                    i += 1
                    found |= p[i] == s[j]
                elif i < np and p[i] == 93:  # "]"
                    break
                elif i >= np:  # unclosed: the set ends with the pattern
                    i -= 1
                    break
                elif np - i >= 3 and p[i + 1] == 45:  # "a-z"
                    low, high = sorted((p[i], p[i + 2]))
                    found |= low <= s[j] <= high
                    i += 2
                else:
                    found |= p[i] == s[j]
                i += 1
            if found == negate:
                return False
            j += 1
        else:
            if c == 92 and np - i >= 2:  # "\\"
                i += 1
            if p[i] != s[j]:
                return False
            j += 1
        i += 1
        if j == ns:
            while i < np and p[i] == 42:
                i += 1
            break
    return i == np and j == ns
