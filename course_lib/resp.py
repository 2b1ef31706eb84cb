"""RESP, the Redis protocol: an incremental parser of requests and an encoder of replies.

What it is: the two halves of the wire format a Redis server speaks (RESP2, and the
few RESP3 types a reply needs after ``HELLO 3``):

- ``Parser().feed(data)`` takes bytes as they come off a socket, in any split (one
  byte at a time, or a hundred pipelined commands in one read), and returns the
  commands that are now complete: ``[[b"SET", b"k", b"v"], [b"GET", b"k"]]``. What
  is incomplete waits inside the parser for the next ``feed``. Two request forms
  exist: *multibulk* ``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n`` (what client libraries
  send) and *inline* ``GET k\\r\\n`` (what you type in telnet; ``redis-benchmark``'s
  ``PING_INLINE``), whose line ``course_lib.inline.split_inline`` cuts into words.
- A broken stream raises ``ProtocolError``: its ``reply`` is the exact error line
  redis-server sends before closing such a connection, and its ``commands`` are the
  complete commands that came before the fault (they still get their replies).
- ``encode(value, protocol=2)`` turns a Python value into reply bytes: ``str`` is a
  simple string (``+OK``), ``bytes`` a bulk string, ``int`` an integer, ``None`` a
  null, a list an array, a dict a map, an ``Error`` an error line. A list of bytes
  is also how a client sends a command: ``encode([b"PING"])``.

The rules are redis-server 7.0's (``networking.c``), checked byte for byte against it
by the tests: the same limits (a bulk string of at most 512 MB, a line of at most
64 KB), the same error texts, the same tolerance (the two bytes after a bulk string
are skipped, not checked). One deliberate difference: redis-server reads 16 KB at a
time, so whether an over-long line is refused depends on how its bytes arrive; here
a line longer than 64 KB is refused however it is split, so every split of a stream
gives the same commands. Nothing is buffered without bound: a command being read
may hold at most ``max_query`` bytes (redis-server's client-query-buffer-limit).

What it is not: a client, or a full RESP3 implementation (no streaming types,
no attributes, no push messages), or fast C (``hiredis``). It is plain Python
written to be read; ``_fast_commands`` is the one place that trades a few lines
of clarity for speed, and the tests check that it agrees with the plain path.
"""

from __future__ import annotations

import re
from itertools import chain

from course_lib.inline import split_inline

__all__ = ["Parser", "ProtocolError", "Error", "encode", "parse_int",
           "MAX_BULK", "MAX_INLINE", "MAX_QUERY"]

MAX_BULK = 512 * 1024 * 1024  # proto-max-bulk-len: the longest bulk string accepted
MAX_INLINE = 64 * 1024  # PROTO_INLINE_MAX_SIZE: the longest line (inline command, length line)
MAX_QUERY = 1024 * 1024 * 1024  # client-query-buffer-limit: the most one command may hold
MAX_COUNT = 2**31 - 1  # INT_MAX: the most arguments a multibulk may announce
LLONG_MIN, LLONG_MAX = -2**63, 2**63 - 1

_INTEGER = re.compile(rb"0|-?[1-9][0-9]{0,19}")


def parse_int(text: bytes) -> int | None:
    """``text`` as a 64-bit integer, or None: Redis's ``string2ll``, strict on purpose.

    No sign ``+``, no spaces, no leading zeros, no ``-0``, nothing outside
    [-2**63, 2**63 - 1]. Redis uses this one rule for lengths in the protocol and for
    every integer argument (``INCRBY k 05`` is "not an integer").
    """
    if len(text) < 21 and _INTEGER.fullmatch(text):
        value = int(text)
        if LLONG_MIN <= value <= LLONG_MAX:
            return value
    return None


class Error(Exception):
    """An error reply, such as ``Error("ERR syntax error")``: ``encode`` writes ``-ERR syntax error``."""

    def __init__(self, message):
        self.message = message.encode() if isinstance(message, str) else bytes(message)
        super().__init__(self.message.decode("utf-8", "replace"))


class ProtocolError(Error):
    """The byte stream broke the protocol: reply with ``reply``, then close the connection."""

    def __init__(self, what: str, commands=(), reply: bool = True):
        # ``what`` quotes raw bytes as chr(byte): back to those same bytes, as Redis sends them
        super().__init__(b"ERR Protocol error: " + what.encode("latin-1", "replace"))
        self.commands = list(commands)  # complete commands that came before the fault
        self.reply = b"-" + self.message + b"\r\n" if reply else b""


def _c_find(buf: bytes, char: bytes, start: int) -> int:
    """``buf.find(char, start)`` as C's ``strchr`` does it: a zero byte ends the search."""
    at = buf.find(char, start)
    if at >= 0 and buf.find(b"\0", start, at) >= 0:
        return -1
    return at


def _c_char(byte: int) -> str:
    return " " if byte in b"\r\n" else chr(byte)  # Redis maps CR and LF to spaces in errors


# Canonical short length lines, so the fast path checks lengths with C-level lookups.
_COUNTS = {b"*%d" % n: n for n in range(1, 1025)}
_HEADERS = [b"$%d" % n for n in range(4096)]  # _HEADERS[n]: the length line of an n-byte argument


def _fast_commands(buf: bytes):
    """Complete multibulk commands at the start of ``buf``, if no argument holds CR LF.

    One ``split(b"\\r\\n")`` in C instead of a search per line; the loop only walks from
    one command's count line (``*3``) to the next. Then one comparison checks every
    length line against the length of the line after it: if an argument held CR LF (or
    was 4 KB or more) they differ, and nothing is taken here. So the result is exactly
    what the plain path gives (the tests check it). Returns (commands, bytes used); the
    plain path goes on from there.
    """
    lines = buf.split(b"\r\n")
    last, i, out, heads = len(lines) - 1, 0, [], []  # lines[last] is what follows the final CRLF
    count_of = _COUNTS.get
    while i < last:
        count = count_of(lines[i])
        if count is None or i + 2 * count >= last:
            break
        end = i + 2 * count
        heads += lines[i + 1:end:2]  # its length lines...
        out.append(lines[i + 2:end + 1:2])  # ...and its arguments
        i = end + 1
    try:
        if heads != [*map(_HEADERS.__getitem__, map(len, chain.from_iterable(out)))]:
            return [], 0
    except IndexError:  # an argument of 4 KB or more
        return [], 0
    return out, len(buf) - sum(map(len, lines[i:])) - 2 * (last - i)


class Parser:
    """Turns a byte stream into commands; keep one per connection. See the module docstring."""

    def __init__(self, max_bulk: int = MAX_BULK, max_inline: int = MAX_INLINE, max_query: int = MAX_QUERY):
        self.max_bulk, self.max_inline, self.max_query = max_bulk, max_inline, max_query
        self._chunks: list[bytes] = []  # bytes received and not parsed yet
        self._size = 0  # their total length
        self._args: list[bytes] | None = None  # the multibulk command being read
        self._args_size = 0  # input bytes already turned into _args
        self._left = 0  # arguments it still misses
        self._bulk = -1  # length of the bulk string being read, -1 between arguments
        self._need = 0  # parse again once this many bytes are buffered...
        self._until = None  # ...or once this byte arrives (the end of a line)
        self._too_long = ""  # the error for a line that grows past max_inline
        self.error: ProtocolError | None = None  # once set, the stream is finished
        self.use_fast_path = True  # False: only the plain path (same results, slower; tests compare)

    @property
    def buffered(self) -> int:
        """Bytes held for commands not yet complete (what ``max_query`` bounds)."""
        return self._size + self._args_size

    def feed(self, data) -> list[list[bytes]]:
        """Take the next bytes of the stream; return the commands they complete."""
        if self.error is not None:  # the stream is finished: nothing more is parsed
            self.error.commands = []
            raise self.error
        data = bytes(data)
        self._chunks.append(data)
        self._size += len(data)
        if self._size < self._need or (self._until is not None and self._until not in data):
            self._check_limits([])  # nothing new can complete: do not even look
            return []
        buf = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        fast = self.use_fast_path and self._args is None and self.max_bulk >= len(_HEADERS)
        commands, pos = _fast_commands(buf) if fast else ([], 0)
        pos = self._parse(buf, pos, commands)
        rest = buf[pos:]
        self._chunks, self._size = ([rest] if rest else []), len(rest)
        self._check_limits(commands)
        return commands

    def _check_limits(self, commands) -> None:
        if self._too_long and self._size > self.max_inline:  # waiting for the end of a line
            self._fail(self._too_long, commands)
        if self._size + self._args_size > self.max_query:
            self._fail("too big request", commands, reply=False)  # redis-server closes without a word

    def _fail(self, what: str, commands, reply: bool = True):
        self.error = ProtocolError(what, commands, reply)
        self._chunks, self._size, self._args, self._args_size = [], 0, None, 0
        raise self.error

    def _line(self, buf: bytes, pos: int, char: bytes, too_long: str) -> int:
        """Where the line starting at ``pos`` ends (the index of ``char``), or -1: wait for more."""
        end = _c_find(buf, char, pos)
        if end - pos > self.max_inline or (end < 0 and len(buf) - pos > self.max_inline):
            self._fail(too_long, [])  # refused whether or not its end has come
        if end >= 0 and (char == b"\n" or end + 1 < len(buf)):  # after CR one more byte must be there
            return end
        self._too_long = too_long
        if end >= 0:  # a CR at the very end: any next byte completes the line
            self._until = None
        elif b"\0" in buf[pos:]:  # C's strchr stops at a zero byte: the line can only grow to its limit
            self._need = self.max_inline + 1
        else:
            self._until = char
        return -1

    def _parse(self, buf: bytes, pos: int, commands: list) -> int:
        """Parse from ``pos`` as far as the bytes go; append complete commands; return the new position."""
        self._need, self._until, self._too_long = 0, None, ""
        n = len(buf)
        try:
            while pos < n or (self._args is not None and self._left == 0):
                if self._args is None:  # at the start of a command
                    if buf[pos] != 42:  # not "*": an inline command
                        end = self._line(buf, pos, b"\n", "too big inline request")
                        if end < 0:
                            return pos
                        line = buf[pos:end - 1 if end > pos and buf[end - 1] == 13 else end]
                        args = split_inline(line)
                        if args is None:
                            self._fail("unbalanced quotes in request", commands)
                        pos = end + 1
                        if args:
                            commands.append(args)
                        continue
                    end = self._line(buf, pos, b"\r", "too big mbulk count string")
                    if end < 0:
                        return pos
                    count = parse_int(buf[pos + 1:end])
                    if count is None or count > MAX_COUNT:
                        self._fail("invalid multibulk length", commands)
                    if count > 0:
                        self._args, self._left, self._args_size = [], count, end + 2 - pos
                    pos = end + 2
                    continue
                if self._left == 0:  # the command is complete
                    commands.append(self._args)
                    self._args, self._args_size = None, 0
                    continue
                if self._bulk < 0:  # read the length line of the next argument
                    end = self._line(buf, pos, b"\r", "too big bulk count string")
                    if end < 0:
                        return pos
                    if buf[pos] != 36:  # "$"
                        self._fail(f"expected '$', got '{_c_char(buf[pos])}'", commands)
                    length = parse_int(buf[pos + 1:end])
                    if length is None or length < 0 or length > self.max_bulk:
                        self._fail("invalid bulk length", commands)
                    self._args_size += end + 2 - pos
                    self._bulk, pos = length, end + 2
                if n - pos < self._bulk + 2:  # the argument and the two bytes after it
                    self._need = self._bulk + 2
                    return pos
                self._args.append(buf[pos:pos + self._bulk])
                self._args_size += self._bulk + 2
                pos += self._bulk + 2  # like Redis, the two bytes are skipped, not checked
                self._bulk, self._left = -1, self._left - 1
            return pos
        except ProtocolError as error:  # before the stream is dropped: what it completed
            error.commands = commands
            raise


_SIMPLE = {"OK": b"+OK\r\n", "PONG": b"+PONG\r\n", "QUEUED": b"+QUEUED\r\n"}
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}
_BULK = [b"$%d\r\n" % n for n in range(1024)]  # ready-made headers: half the time of formatting one


def encode(value, protocol: int = 2) -> bytes:
    """The reply bytes for ``value`` (see the module docstring); ``protocol`` is 2 or 3."""
    kind = type(value)
    if kind is bytes:
        n = len(value)
        return (_BULK[n] if n < 1024 else b"$%d\r\n" % n) + value + b"\r\n"
    if kind is str:
        return _SIMPLE.get(value) or b"+%b\r\n" % value.encode()
    if kind is int:
        return b":%d\r\n" % value
    if value is None:
        return _NULL[protocol]
    if kind is list or kind is tuple:
        return b"*%d\r\n%b" % (len(value), b"".join([encode(item, protocol) for item in value]))
    if isinstance(value, Error):
        return b"-%b\r\n" % value.message
    if isinstance(value, dict):  # RESP3 has maps; RESP2 sends the pairs as one flat array
        items = [encode(part, protocol) for pair in value.items() for part in pair]
        return (b"%%%d\r\n" % len(value) if protocol == 3 else b"*%d\r\n" % len(items)) + b"".join(items)
    raise TypeError(f"encode: cannot send {type(value).__name__} {value!r:.40} in RESP "
                    "(use bytes, str, int, None, a list, a dict or an Error)")
