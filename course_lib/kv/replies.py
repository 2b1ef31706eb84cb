"""Reading replies: the client's half of RESP2, for the course's own small clients.

What it is: ``read_reply(buf, pos)`` decodes the one reply that starts at ``buf[pos]``
and says where it ends, or returns None while it is still incomplete::

    read_reply(b"+OK\\r\\n")                  # -> ("OK", 5)
    read_reply(b"$5\\r\\nhello\\r\\n:3\\r\\n")     # -> (b"hello", 11); the integer 3 starts at 11
    read_reply(b"$5\\r\\nhel")                 # -> None: wait for more bytes

A simple string is a ``str``, an error an ``Error`` (``course_lib.resp``), an integer an
``int``, a bulk string ``bytes``, a null ``None``, an array a ``list``.
``Replies().feed(data)`` keeps what is incomplete between reads and returns the
replies that ``data`` completed, in order: what the simulated session, the load
generator and the checks of chapter 07 use to read a server's answers.

What it is not: a client library (``redis-py`` is one), a strict validator (a
broken reply is not diagnosed, it just never completes), or RESP3.
"""

from __future__ import annotations

from course_lib.resp import Error

__all__ = ["read_reply", "Replies"]


def read_reply(buf: bytes, pos: int = 0):
    """``(value, end)`` for the reply at ``buf[pos:]``, or None if it is not complete yet."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line = buf[pos:pos + 1], buf[pos + 1:end]
    if kind == b"+":
        return line.decode("utf-8", "replace"), end + 2
    if kind == b"-":
        return Error(line), end + 2
    if kind == b":":
        return int(line), end + 2
    if kind == b"$":
        length = int(line)
        if length < 0:
            return None, end + 2
        stop = end + 2 + length
        if len(buf) < stop + 2:
            return None
        return buf[end + 2:stop], stop + 2
    if kind == b"*":
        count, pos, items = int(line), end + 2, []
        if count < 0:
            return None, pos
        for _ in range(count):
            found = read_reply(buf, pos)
            if found is None:
                return None
            item, pos = found
            items.append(item)
        return items, pos
    raise ValueError(f"not a RESP2 reply: {buf[pos:pos + 20]!r}")


class Replies:
    """Collects a server's replies from a byte stream read in any pieces."""

    def __init__(self):
        self.buffer = b""

    def feed(self, data: bytes) -> list:
        """Take the next bytes; return the replies they complete (maybe none)."""
        buf, pos, out = self.buffer + bytes(data), 0, []
        while pos < len(buf):
            found = read_reply(buf, pos)
            if found is None:
                break
            value, pos = found
            out.append(value)
        self.buffer = buf[pos:]
        return out
