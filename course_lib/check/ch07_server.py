"""Checks of chapter 07 that run on a loop: keys that expire, and the connection handler.

- ``07.expiry``    ``Store(loop)``: random commands on a clock the check moves
  (``expiry_model.VirtualLoop``), replies compared with ``expiry_model.Model``; expired keys
  must be gone once their timers ran, and no timer may outlive its key's deadline.
- ``07.handler``   ``Handler(state)`` on the course reactor: redis-py, a long pipeline, raw
  streams in random pieces, QUIT, a broken stream, end of file, a client that reads nothing
  (backpressure: its buffer may hold at most HIGH_WATER plus one reply, measured at its
  fullest over a slow link), clients that vanish (``kv_clients`` has the clients).

``course_lib.check.ch07`` imports this module, so ``check("07.handler", ...)`` finds it.

What it is not: the checks of the protocol alone (``07.parser``, ``07.getrange``:
``ch07_protocol``), or a timing test. Time limits only keep a broken answer from hanging.
"""

from __future__ import annotations

import socket
import time

from course_lib.check import CheckFailed, exercise, expect, expiry_model, kv_clients
from course_lib.check.guard import own_work
from course_lib.check.timeout import run_in_thread
from course_lib.kv.db import Database
from course_lib.kv.protocol import HIGH_WATER, KVProtocol
from course_lib.resp import Error, encode

__all__ = ["check_expiry", "check_handler"]


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
    own_work(store, Database, "the keyspace", "course_lib.kv.db.Database")
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
    own_work(handler_class, KVProtocol, "the handler", "course_lib.kv.protocol.KVProtocol")
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
