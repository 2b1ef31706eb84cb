"""Checks of chapter 07 (the capstone server).

- ``07.parser``    ``RespParser().feed(data)``: random streams of commands cut every way
  (all at once, one byte at a time, at random places, between CR and LF), compared after
  every piece with ``course_lib.resp.Parser``; then broken streams must raise ProtocolError.
- ``07.expiry``    ``Store(loop)``: random commands on a clock the check moves
  (``expiry_model.VirtualLoop``), replies compared with ``expiry_model.Model``; expired keys
  must be gone once their timers ran, and no timer may outlive its key's deadline.
- ``07.handler``   ``Handler(state)`` on the course reactor: redis-py, a long pipeline, raw
  streams in random pieces, QUIT, a broken stream, end of file, a client that reads nothing
  (backpressure: its buffer may hold at most HIGH_WATER plus one reply, measured at its
  fullest over a slow link), clients that vanish (``kv_clients`` has the clients).
- ``07.getrange``  ``getrange(c, args)``: hundreds of GETRANGEs compared byte for byte with
  redis-server 7.0, live where one is installed, else as recorded in ``getrange_cases``.

What it is not: a timing test. Time limits only keep a broken answer from hanging.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time

from course_lib.check import CheckFailed, exercise, expect, expiry_model, getrange_cases, kv_clients
from course_lib.check.timeout import run_in_thread
from course_lib.kv.client import Client, ServerState
from course_lib.kv.db import Database
from course_lib.kv.protocol import HIGH_WATER, KVProtocol
from course_lib.resp import Error, Parser, ProtocolError, encode

__all__ = ["check_parser", "check_expiry", "check_handler", "check_getrange"]


def _own_work(cls_or_obj, course_class, what: str, where: str) -> None:
    """Fail if the answer is, extends or holds the course's own ``course_class``: the exercise asks for it."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    held = [] if isinstance(cls_or_obj, type) else list(getattr(cls_or_obj, "__dict__", {}).values())
    expect(not (issubclass(cls, course_class) or any(isinstance(v, course_class) for v in held)),
           f"this exercise asks you to write {what} yourself: don't reuse {where}")


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
    _own_work(parser_class, Parser, "the parser", "course_lib.resp.Parser")
    sample = parser_class()
    run_in_thread(sample.feed, encode([b"PING"]), timeout=5.0)  # only to see what it keeps; the rest is below
    _own_work(sample, Parser, "the parser", "course_lib.resp.Parser")
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


# --- 07.expiry ------------------------------------------------------------------------------
def _result(fn, *args):
    """("ok", value) or ("error", message)."""
    try:
        return "ok", fn(*args)
    except Error as error:
        return "error", error.message.decode("utf-8", "replace")


def _run_script(store_class, steps) -> None:
    loop = expiry_model.VirtualLoop()
    store, model = store_class(loop), expiry_model.Model(loop)
    _own_work(store, Database, "the keyspace", "course_lib.kv.db.Database")
    story = []
    for step, arg in steps:
        if step == "run":
            words = arg
            got, want = _result(store.execute, list(words)), _result(model.execute, list(words))
            story.append(b" ".join(words).decode("latin-1"))
            if got != want:
                shown = "; ".join(story[-4:])
                g = got[1] if got[0] == "ok" else f"Error({got[1]!r})"
                w = want[1] if want[0] == "ok" else f"Error({want[1]!r})"
                hint = f"at t={loop.time():g} s, for {shown}: you replied {g!r} to the last, expected {w!r}"
                expect(False, hint + _why(words, got, want))
        else:
            loop.advance(arg, run_timers=step == "tick")
            if step == "tick":
                model.expire_due()
            story.append(f"[clock -> {arg:g} s{'' if step == 'tick' else ', timers not run yet'}]")
            if step == "tick":
                left = set(getattr(store, "data", {})) - model.alive()
                expect(
                    not left,
                    f"at t={arg:g} s, after the due timers ran, expired key(s) {sorted(left)} are still in "
                    f"self.data (after: {'; '.join(story[-5:-1])}): schedule the deletion with "
                    "self.loop.call_at(deadline, ...) (active expiry)",
                )
        extra_keys = set(getattr(store, "data", {})) - set(model.data)
        expect(not extra_keys, f"at t={loop.time():g} s, after {'; '.join(story[-3:])}: key(s) {sorted(extra_keys)} "
                               "should be gone from self.data")
        stale = set(getattr(store, "deadline", {})) - set(model.deadline)
        expect(not stale, f"at t={loop.time():g} s, after {'; '.join(story[-3:])}: key(s) {sorted(stale)} still have a "
                          "deadline in self.deadline: a plain SET, PERSIST or deleting a key removes its deadline")
        live, deadlines = loop.live_timers(), len(model.deadline)  # alive, or due and not yet ticked
        expect(live <= deadlines,
               f"at t={loop.time():g} s, after {'; '.join(story[-3:])}: {live} timer(s) still scheduled for "
               f"{deadlines} key(s) with a deadline: cancel a key's timer when its deadline changes or goes away")


def _why(words, got, want) -> str:
    name = words[0].upper()
    if got[0] == "ok" and want[0] == "ok" and ((want[1] is None and got[1] is not None)
                                               or (name in (b"EXPIRE", b"PERSIST") and want[1] == 0 != got[1])):
        return " (the deadline has come: lookup() must treat the key as gone, even before its timer ran)"
    if name == b"PTTL" and got[0] == want[0] == "ok" and isinstance(want[1], int) and want[1] >= 0:
        return " (PTTL is the milliseconds left, rounded)"
    return ""


@exercise("07.expiry", "Keys that expire, lazily and on the loop's timers")
def check_expiry(store_class, *, rng, extra):
    fixed = [  # the classic mistakes, first: each one a short script
        [("run", [b"SET", b"a", b"1", b"EX", b"1"]), ("peek", 1.0), ("run", [b"GET", b"a"])],
        [("run", [b"SET", b"a", b"1", b"PX", b"500"]), ("tick", 1.0)],
        [
            ("run", [b"SET", b"a", b"1", b"EX", b"1"]),
            ("run", [b"SET", b"a", b"2"]),
            ("tick", 2.0),
            ("run", [b"GET", b"a"]),
        ],
        [
            ("run", [b"SET", b"a", b"1", b"EX", b"1"]),
            ("run", [b"EXPIRE", b"a", b"3"]),
            ("tick", 1.5),
            ("run", [b"GET", b"a"]),
        ],
        [
            ("run", [b"PTTL", b"a"]),
            ("run", [b"SET", b"a", b"1"]),
            ("run", [b"PTTL", b"a"]),
            ("run", [b"SET", b"a", b"1", b"PX", b"1250"]),
            ("tick", 0.5),
            ("run", [b"PTTL", b"a"]),
        ],
        [
            ("run", [b"EXPIRE", b"a", b"5"]),
            ("run", [b"SET", b"a", b"1"]),
            ("run", [b"PERSIST", b"a"]),
            ("run", [b"EXPIRE", b"a", b"5"]),
            ("run", [b"PERSIST", b"a"]),
            ("tick", 9.0),
            ("run", [b"GET", b"a"]),
        ],
        [
            ("run", [b"SET", b"a", b"1", b"EX", b"1"]),
            ("peek", 1.0),
            ("run", [b"EXPIRE", b"a", b"5"]),
            ("run", [b"GET", b"a"]),
        ],
        [
            ("run", [b"SET", b"a", b"1", b"EX", b"0"]),
            ("run", [b"SET", b"a", b"1", b"PX", b"-5"]),
            ("run", [b"GET", b"a"]),
        ],
        [("peek", 0.1), ("run", [b"SET", b"a", b"1", b"PX", b"700"]), ("peek", 0.5), ("run", [b"PTTL", b"a"])],
    ]
    scripts = fixed + [expiry_model.script(rng, rng.randint(5, 40)) for _ in range(60 if extra else 25)]
    for steps in scripts:
        outcome = run_in_thread(_run_script, store_class, steps, timeout=5.0)
        outcome.result("a command did not return within 5 s (an endless loop?)")
    return f"{len(scripts)} scripts on a virtual clock: lazy and active expiry, timers cancelled"


# --- 07.handler -----------------------------------------------------------------------------
def _redis_py(server) -> None:
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is in requirements.txt
        return
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: redis-py 6+ retries a timed-out command three times, resending it, so a stalled
    # handler would take a minute to fail instead of 5 s.
    r = redis.Redis(*server.address, socket_timeout=5, retry=Retry(NoBackoff(), 0))
    try:
        try:
            said = [r.set("h:a", "1"), r.get("h:a"), r.incr("h:a"), r.delete("h:a"), r.ping()]
        except redis.RedisError as error:
            _no_errors(server)
            raise CheckFailed(f"redis-py's SET, GET, INCR, DEL and PING failed ({type(error).__name__}: "
                              f"{str(error)[:80]}): data_received must feed the client, then serve()") from None
        expect(said == [True, b"1", 2, 1, True], f"redis-py's SET, GET, INCR, DEL, PING gave {said!r}")
        pipe = r.pipeline(transaction=False)
        for _ in range(3000):
            pipe.incr("h:hits")
        try:
            last = pipe.execute()[-1]
        except redis.RedisError as error:
            raise CheckFailed(f"a redis-py pipeline of 3,000 INCR failed ({type(error).__name__}): run every command "
                              "a read brings, not only the first (pipelining)") from None
        expect(last == 3000, f"after a pipeline of 3,000 INCR the counter was {last!r}, expected 3000")
    finally:
        r.close()


def _raw_streams(server, rng, runs: int) -> None:
    for run in range(runs):
        stream = kv_clients.command_stream(rng, b"raw%d:" % run, rng.randint(20, 120))
        want = kv_clients.reference(stream)
        got, _ = kv_clients.converse(server.address, kv_clients.cut(rng, stream), len(want))
        if got != want:
            at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            expect(False, f"a stream of commands sent in random pieces: the replies differ from byte {at:,} on "
                          f"(got {got[at:at + 40]!r}, expected {want[at:at + 40]!r}; {len(got):,} of {len(want):,} "
                          "bytes came): keep every command the pieces complete, and answer them all, in order")


def _endings(server) -> None:
    got, closed = kv_clients.converse(server.address, [encode([b"PING"]) + encode([b"QUIT"]) + encode([b"PING"])], 12)
    expect(got == b"+PONG\r\n+OK\r\n" and closed,
           f"PING, QUIT, PING sent together: got {got!r} and the connection was {'closed' if closed else 'left open'}; "
           "expected b'+PONG\\r\\n+OK\\r\\n' and a close: when client.closing, close the transport after the replies")
    got, closed = kv_clients.converse(server.address, [b"*1\r\n$x\r\n"], 60)
    expect(got == b"-ERR Protocol error: invalid bulk length\r\n" and closed,
           f"a broken stream got {got!r} and the connection was {'closed' if closed else 'left open'}: write what "
           "client.run() returns (the error), then close since client.closing is true")
    pings = encode([b"PING"]) * 3
    got, closed = kv_clients.converse(server.address, [pings], 21, shut=True)
    expect(got == b"+PONG\r\n" * 3 and closed,
           f"three PINGs, then the client closed its sending side: got {got!r}, connection "
           f"{'closed' if closed else 'left open'}; answer what was sent, then close (eof_received)")


def _backpressure(server) -> None:
    found = kv_clients.pressure(server)
    expect("error" not in found, found.get("error", ""))
    expect(found["ping"], "while one client read nothing, another client's PING got no answer: did a blocking call "
                          "(sendall, a blocking socket) hold up the loop? Write only with transport.write")
    expect(found["ran"] < found["count"] // 2,
           f"a client asked for {found['count']} replies of {found['reply']:,} bytes and read none, yet "
           f"{found['ran']} commands ran: stop running commands while writing is paused")
    _bounded(found)
    expect(not found["reading"],
           "while writing was paused, the transport kept reading the client that reads nothing: call "
           "transport.pause_reading() while commands are still waiting")
    expect(found["received"] == found["expected"] and found["in_order"],
           f"the client then read: {found['received']:,} of {found['expected']:,} bytes came"
           + ("" if found["in_order"] else ", not in order")
           + ": after resume_writing(), run the waiting commands again, and read again once all are answered")


def _bounded(found) -> None:
    """The never-reading client's buffer held at most HIGH_WATER plus one reply, at its fullest."""
    peak, limit = found["peak"], HIGH_WATER + found["reply"]
    if peak.held <= limit:
        return
    asked = (f"a client asked for {found['count']} replies of {found['reply']:,} bytes and read none: your server "
             f"held up to {peak.held:,} bytes for it (HIGH_WATER plus one reply is {limit:,})")
    expect(not peak.paused, f"{asked}, written after pause_writing(): stop running commands until resume_writing()")
    expect(False, f"{asked}: with {peak.before:,} bytes buffered, one write added {peak.wrote:,}; the room left was "
                  f"HIGH_WATER - transport.get_write_buffer_size() = {HIGH_WATER - peak.before:,}: "
                  "pass that room to client.run")


@exercise("07.handler", "A connection handler with pipelining and backpressure")
def check_handler(handler_class, *, rng, extra):
    _own_work(handler_class, KVProtocol, "the handler", "course_lib.kv.protocol.KVProtocol")
    with kv_clients.HandlerServer(handler_class) as server:
        for scenario in (lambda: _redis_py(server), lambda: _raw_streams(server, rng, 6 if extra else 3),
                         lambda: _endings(server), lambda: _backpressure(server)):
            try:
                scenario()
            except CheckFailed:
                _no_errors(server)  # an exception in the handler explains the failure better
                raise
            _no_errors(server)
        for _ in range(10):  # clients that vanish mid-command
            s = socket.create_connection(server.address, timeout=5)
            s.sendall(encode([b"SET", b"gone", b"x" * 5000])[:2000])
            kv_clients.reset(s)
        from course_lib.kv.faults import ping

        expect(ping(server.address), "after clients vanished mid-command, a new client's PING got no answer")
        _no_errors(server)
        deadline = time.monotonic() + 3
        while server.transports() and time.monotonic() < deadline:
            time.sleep(0.02)
        expect(not server.transports(), f"{len(server.transports())} connection(s) stayed open after their clients "
                                        "left: when the peer has closed and nothing is waiting, close the transport")
    return "redis-py, pipelines, streams in pieces, QUIT, errors, end of file, backpressure, vanishing clients"


def _no_errors(server) -> None:
    if server.server.errors:
        error = server.server.errors[0]
        if isinstance(error, NotImplementedError):
            raise error  # check() says "not written yet"
        raise CheckFailed(f"your Handler raised {type(error).__name__}: {str(error)[:120]} (the reactor closed that "
                          "connection)")


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
