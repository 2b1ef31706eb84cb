"""Checks of chapter 07 on the protocol: the parser of RESP, and a command of the student's own.

- ``07.parser``    ``RespParser().feed(data)``: random streams of commands cut every way
  (all at once, one byte at a time, at random places, between CR and LF), compared after
  every piece with ``course_lib.resp.Parser``; then broken streams must raise ProtocolError.
- ``07.getrange``  ``getrange(c, args)``: hundreds of GETRANGEs compared byte for byte with
  redis-server 7.0, live where one is installed, else as recorded in ``getrange_cases``.

Both feed bytes or words in and compare what comes out with a reference, byte for byte; no
loop and no socket of the student's is involved. ``course_lib.check.ch07`` imports this module,
so ``check("07.parser", ...)`` finds it.

What it is not: the checks that run on a loop (``07.expiry``, ``07.handler``: ``ch07_server``),
or a timing test. Time limits only keep a broken answer from hanging.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from course_lib.check import CheckFailed, exercise, expect, getrange_cases
from course_lib.check.guard import own_work
from course_lib.check.timeout import run_in_thread
from course_lib.kv.client import Client, ServerState
from course_lib.kv.db import Database
from course_lib.resp import Error, Parser, ProtocolError, encode

__all__ = ["check_parser", "check_getrange"]


def _short(value, limit: int = 90) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + "...)"


# --- 07.parser -----------------------------------------------------------------------------
def _word(rng) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice([b"SET", b"GET", b"PING", b"INCR", b"k"])
    if kind == 1:
        return b""
    if kind == 2:
        return bytes(rng.choice(b"ab\r\n\x00*$") for _ in range(rng.randint(1, 6)))  # looks like the protocol
    if kind == 3:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 30)))
    if kind == 4:
        return b"x" * rng.randint(10, 120)
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(1000, 3000)))


def _streams(rng, n: int) -> list:
    """Random streams of commands, smallest first (so the first failure shown is a small one)."""
    streams = [[[b"PING"]], [[b"SET", b"k", b"a\r\nb"]], [[b"GET", b"k"], [b"PING"]]]
    for _ in range(n):
        streams.append([[_word(rng) for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(1, 5))])
    return sorted(streams, key=lambda cmds: len(b"".join(map(encode, cmds))))


def _splits(rng, data: bytes) -> list:
    """(name, pieces) ways to cut ``data``."""
    ways = [("all at once", [data])]
    if len(data) <= 400:
        ways.append(("one byte at a time", [data[i:i + 1] for i in range(len(data))]))
    crs = [i + 1 for i in range(len(data) - 1) if data[i] == 13]
    edges = [0, *crs, len(data)]
    ways.append(("cut between every CR and LF", [data[a:b] for a, b in zip(edges, edges[1:]) if b > a]))
    cuts = sorted({rng.randrange(1, len(data)) for _ in range(rng.randint(1, 8))})
    edges = [0, *cuts, len(data)]
    ways.append(("cut at random places", [data[a:b] for a, b in zip(edges, edges[1:]) if b > a]))
    return ways


def _feed_all(parser_class, pieces) -> list:
    """Feed ``pieces`` to a fresh parser; what each feed returned (up to a ProtocolError, which ends the list)."""
    parser, returned = parser_class(), []
    for piece in pieces:
        try:
            returned.append(parser.feed(piece))
        except ProtocolError as error:
            returned.append(error)
            break
    return returned


def _bad_input(parser_class, stream: bytes, what: str) -> None:
    for name, pieces in [
        ("all at once", [stream]),
        ("one byte at a time", [stream[i : i + 1] for i in range(len(stream))]),
    ]:
        outcome = run_in_thread(_feed_all, parser_class, pieces, timeout=5.0)
        expect(outcome.finished, f"feed() did not return within 5 s for the broken stream {stream!r}")
        error = outcome.error or next((r for r in outcome.value if isinstance(r, ProtocolError)), None)
        expect(error is not None, f"the broken stream {stream!r} ({name}) was accepted: raise ProtocolError "
                                  "for a count or length that is not a whole number >= 0, or a word without '$'")
        expect(isinstance(error, ProtocolError),
               f"the broken stream {stream!r} raised {type(error).__name__}: {str(error)[:60]}; raise ProtocolError "
               "(imported in the setup cell) so the server can answer with an error and close")
        said = str(error).removeprefix("ERR Protocol error: ")
        expect(said.startswith(what), f"the broken stream {stream!r} raised ProtocolError({said[:40]!r}); Redis "
                                      f"names this fault ProtocolError({what!r}), and a client sees that text")


@exercise("07.parser", "An incremental RESP parser")
def check_parser(parser_class, *, rng, extra):
    own_work(parser_class, Parser, "the parser", "course_lib.resp.Parser")
    sample = parser_class()
    run_in_thread(sample.feed, encode([b"PING"]), timeout=5.0)  # only to see what it keeps; the rest is below
    own_work(sample, Parser, "the parser", "course_lib.resp.Parser")
    cases = 0
    for commands in _streams(rng, 40 if extra else 16):
        data = b"".join(map(encode, commands))
        for name, pieces in _splits(rng, data):
            outcome = run_in_thread(_feed_all, parser_class, pieces, timeout=5.0)
            shown = _short(data, 70)
            got = outcome.result(f"feed() did not return within 5 s for {shown} {name}: return what is "
                                 "complete and keep the rest in self.buffer for the next call")
            reference, done, want_so_far = Parser(), [], []
            for i, (piece, returned) in enumerate(zip(pieces, got)):
                want = reference.feed(piece)
                expect(not isinstance(returned, ProtocolError),
                       f"the stream {shown} ({name}) is valid, yet piece {i + 1} of {len(pieces)} made you raise "
                       f"ProtocolError({str(returned)[:50]!r}): were bytes lost between calls? Keep what is "
                       "incomplete in self.buffer")
                expect(
                    isinstance(returned, list), f"feed() must return a list of commands, got {type(returned).__name__}"
                )
                for command in returned:
                    expect(isinstance(command, list) and all(type(w) is bytes for w in command),
                           f"each command must be a list of bytes, like [b'GET', b'k']; got {_short(command)}")
                done += returned
                want_so_far += want
                if done != want_so_far:
                    if len(done) < len(want_so_far) and done == want_so_far[:len(done)]:
                        hint = (f"after piece {i + 1} of {len(pieces)} ({name}) of {shown} you had returned "
                                f"{len(done)} command(s), expected {len(want_so_far)}: return every command as soon "
                                "as its last byte has arrived, all of them when several came at once")
                    else:
                        hint = (f"for {shown} {name}, after piece {i + 1} of {len(pieces)} you had returned "
                                f"{_short(done, 100)}, expected {_short(want_so_far, 100)}")
                        if any(b"\r\n" in w for c in want_so_far for w in c):
                            hint += " (a word may contain \\r\\n: count its length, never search for its end)"
                    raise CheckFailed(hint)
            cases += 1
    for broken, what in [
        (b"*1\r\n$x\r\nab\r\n", "invalid bulk length"),
        (b"*2\r\n$3\r\nGET\r\n$-3\r\n", "invalid bulk length"),
        (b"*z\r\n", "invalid multibulk length"),
        (b"*1\r\n:3\r\nabc\r\n", "expected '$'"),
        (b"*1\r\n$ 3\r\nabc\r\n", "invalid bulk length"),
    ]:
        _bad_input(parser_class, broken, what)
    return f"{cases} streams cut every way, and broken streams refused"


# --- 07.getrange -----------------------------------------------------------------------------
def _live_server():
    """A redis-server 7.0 in a child process, or None (not installed, or another version)."""
    if shutil.which("redis-server") is None:
        return None
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, timeout=10).stdout
    found = re.search(r"v=(\d+\.\d+)", version)
    if not found or found.group(1) != getrange_cases.REDIS_VERSION:
        return None
    from course_lib.kv.lab import ServerProcess

    return ServerProcess("redis-server")


def _ask(getrange, c, args) -> bytes:
    if len(args) != 4:
        return b"-ERR wrong number of arguments for 'getrange' command\r\n"
    try:
        return encode(getrange(c, list(args)))
    except Error as error:
        return b"-%b\r\n" % error.message


@exercise("07.getrange", "Your own command: GETRANGE, byte for byte as redis-server")
def check_getrange(getrange, *, rng, extra):
    cases = [(k, a, b) for k, a, b, _ in getrange_cases.CASES]
    stored = [r for *_, r in getrange_cases.CASES]
    live = _live_server()
    if live is not None:
        with live:
            more = [(rng.choice(getrange_cases.KEYS), b"%d" % rng.randint(-30, 30), b"%d" % rng.randint(-30, 30))
                    for _ in range(200 if extra else 50)]
            cases += more
            stored = getrange_cases.live_replies(live.address, cases)
    c = Client(ServerState(Database()))
    for command in getrange_cases.SETUP:
        c.execute(command)
    for (key, start, end), want in zip(cases, stored):
        args = [b"GETRANGE", key, start, end]
        outcome = run_in_thread(_ask, getrange, c, args, timeout=5.0)
        expect(not isinstance(outcome.error, ValueError),
               f"getrange(c, {args!r}) raised ValueError ({str(outcome.error)[:50]}): read the numbers with "
               "integer(...), which raises Redis's own 'not an integer' error")
        got = outcome.result(f"getrange(c, {args!r}) did not return within 5 s")
        if got != want:
            value = c.db.lookup(key)
            about = "a missing key" if value is None else f"{value!r}" if isinstance(value, bytes) else "a list"
            hint = (f"GETRANGE {key.decode()} {start.decode('latin-1')!r} {end.decode('latin-1')!r} on {about}: "
                    f"you replied {got!r}, redis-server replies {want!r}")
            if got.startswith(b"+"):
                hint += " (return bytes, not str: a str is sent as a simple string)"
            elif want == b"$0\r\n\r\n" and got == b"$-1\r\n":
                hint += " (GETRANGE answers an empty range, or a missing key, with an empty string, not null)"
            elif want.startswith(b"-ERR value") and got.startswith(b"-WRONGTYPE"):
                hint += " (read the two numbers before the value: their error comes first)"
            raise CheckFailed(hint)
    return f"hundreds of GETRANGEs, byte-identical to redis-server {getrange_cases.REDIS_VERSION}'s replies"
