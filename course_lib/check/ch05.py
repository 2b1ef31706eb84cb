"""Checks of chapter 05 (select, poll, epoll).

- ``05.wait_readable``  ``wait_readable(socks, timeout)`` with select(): real socket pairs,
  some with data, some closed by the peer, none at all, data arriving later. Every byte sent
  must still be there afterwards (the function only waits; the caller reads).
- ``05.drain``          ``on_readable(sock)`` for an edge-triggered wait: random arrivals on
  the simulated kernel buffer (``course_lib.triggers.KernelBuffer``, behind a socket that has
  ``recv`` only); every byte must come out of ``recv``, in order, and each call must stop at
  the first EAGAIN.
- ``05.echo``           an ``EchoServer`` protocol on the course reactor that does its own
  writing: hundreds of real clients on 127.0.0.1 at once, payloads far larger than the
  socket buffers, slow readers, clients that vanish mid-message (``echo_bench.py`` runs
  them); every echo must be byte-exact and the server must still serve afterwards.

What it is not: a timing test. Time limits only keep a broken answer from hanging.
"""

from __future__ import annotations

import socket
import threading
import time

from course_lib.check import CheckFailed, exercise, expect
from course_lib.check.echo_bench import TRANSPORT_WRITE_OFF, Client, RawTransport, SpyLoop, rude_clients, run_clients
from course_lib.check.shrink import smallest_failure
from course_lib.check.spysockets import RecvOnlySocket, Runaway, counting_select
from course_lib.check.timeout import run_in_thread
from course_lib.loop import Loop
from course_lib.reactor import LoopThread, Server
from course_lib.scaling import raised_fd_limit

__all__ = ["check_wait_readable", "check_drain", "check_echo"]


# --- 05.wait_readable --------------------------------------------------------------------
class _Hung(CheckFailed):
    """The student's function did not return: raised at once, never shrunk (each try would wait again)."""


def _call_wait_readable(wait_readable, socks, timeout):
    outcome = run_in_thread(wait_readable, list(socks), timeout, timeout=timeout + 2.5, name="wait_readable")
    if not outcome.finished:
        raise _Hung(f"wait_readable(socks, {timeout:g}) did not return within {timeout + 2.5:g} s: give select the "
                    "timeout, so that it returns [] when nothing becomes readable in time")
    return outcome.result(""), outcome


def _readable_case(wait_readable, specs) -> None:
    """One call on fresh socket pairs: ``specs[i]`` is the bytes sent into pair i, None (idle) or "closed"."""
    pairs = [socket.socketpair() for _ in specs]
    try:
        socks = [a for a, _ in pairs]
        for (_, b), spec in zip(pairs, specs):
            if spec == "closed":
                b.close()
            elif spec:
                b.sendall(spec)
        got, outcome = _call_wait_readable(wait_readable, socks, 0.5)
        expect(isinstance(got, list), f"wait_readable must return a list of sockets, got {type(got).__name__}")
        want = [s for s, spec in zip(socks, specs) if spec]
        ready = [i for i, spec in enumerate(specs) if spec]
        closed = any(spec == "closed" for spec in specs)
        why = " (a socket whose peer closed is readable too: recv would return b'' at once)" if closed else ""
        expect(got == want, f"with data waiting on sockets {ready} of {len(socks)} you returned positions "
                            f"{[socks.index(s) if s in socks else s for s in got]}; "
                            f"return the readable ones, in the order given{why}")
        expect(all(s.gettimeout() is None for s in socks),
               "wait_readable changed the sockets' blocking mode: only wait, and leave the sockets as they were")
        for i, (sock, spec) in enumerate(zip(socks, specs)):
            if spec and spec != "closed":
                sock.setblocking(False)
                left = bytearray()
                try:
                    while chunk := sock.recv(65536):
                        left += chunk
                except BlockingIOError:
                    pass
                expect(left == spec, f"socket {i} had {len(spec)} byte{'s'[:len(spec) != 1]} waiting, and after "
                                     f"wait_readable {len(left)} were left: only wait, never recv (it takes "
                                     "the caller's data)")
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def _simpler_spec(spec):
    if isinstance(spec, bytes) and len(spec) > 1:
        yield spec[:1]


@exercise("05.wait_readable", "Wait for several sockets with select()")
def check_wait_readable(wait_readable, *, rng, extra):
    expect(callable(wait_readable), "pass your function itself: check('05.wait_readable', wait_readable)")
    for case in range(12 if extra else 6):
        n = rng.randint(2, 8)
        chosen = sorted(rng.sample(range(n), rng.randint(1, n)))
        closed = chosen[-1] if case % 3 == 2 else None  # a closed peer counts as readable (recv gives b"")
        specs = [None] * n
        for i in chosen:
            specs[i] = "closed" if i == closed else rng.randbytes(rng.choice([1, 1, rng.randint(2, 100)]))
        # a failing case is shrunk to the fewest sockets that still fail (and one idle one is an idle one)
        smallest_failure(lambda sp: any(sp) and _readable_case(wait_readable, sp), specs, simpler=_simpler_spec,
                         minimum=1, at_once=(_Hung,), budget=60)
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        socks = [a for a, _ in pairs]
        with counting_select() as hurried:
            got, outcome = _call_wait_readable(wait_readable, socks, 0.5)  # nothing readable: wait, then []
        expect(got == [],
               f"with nothing to read wait_readable(socks, 0.5) must return [] after the timeout, got {got!r}")
        expect(outcome.wall >= 0.4, f"with nothing to read wait_readable(socks, 0.5) returned after "
                                    f"{outcome.wall:.3f} s: wait for the timeout (select's timeout is in seconds)")
        expect(len(hurried) <= 2, f"wait_readable asked select {len(hurried)} times not to wait (timeout 0): "
                                  "that is polling, and it keeps a CPU busy; give select the timeout and let it wait")
        # a thread asleep in select uses no CPU; one that asks again and again gets some even on a crowded machine
        expect(outcome.cpu <= max(0.05, 0.25 * outcome.wall),
               f"wait_readable used {outcome.cpu:.2f} s of CPU in {outcome.wall:.2f} s of waiting: don't ask again "
               "and again, give select the timeout and let it wait")
        a, b = pairs[0]
        sent = []  # data arriving later: wake up at once, not at the timeout
        timer = threading.Timer(0.1, lambda: (sent.append(time.perf_counter()), b.send(b"late")))
        timer.start()
        try:
            got, outcome = _call_wait_readable(wait_readable, socks, 3.0)
            returned = time.perf_counter()
        finally:
            timer.cancel()
            timer.join()
        expect(got == [a],
               f"data arrived on socket 0 while waiting; you returned {len(got)} sockets, expected only socket 0")
        lag = returned - sent[0]
        expect(lag < 0.3, f"data arrived after 0.1 s but wait_readable returned {lag:.2f} s later: "
                          "return as soon as one is ready")
    finally:
        for a, b in pairs:
            a.close()
            b.close()
    return "readable sets, closed peers, timeouts and late data; the caller's data left in place"


# --- 05.drain ----------------------------------------------------------------------------
def _drain_case(on_readable, arrivals) -> None:
    """``arrivals``: chunks of bytes (b"": the peer closes), each followed by one edge-triggered report."""
    sock = RecvOnlySocket(limit=100_000)
    sim = object.__getattribute__(sock, "_sim")
    sent, got = bytearray(), bytearray()
    for k, chunk in enumerate(arrivals):
        if chunk:
            sim.arrive(chunk)
            sent += chunk
        else:
            sim.close_peer()
        if not sim.readable("edge"):
            continue
        before = sim.eagain_calls
        outcome = run_in_thread(on_readable, sock, timeout=5.0, name="on_readable")
        if not outcome.finished:
            raise _Hung("on_readable(sock) did not return within 5 s: stop at the first BlockingIOError (or b'')")
        try:
            data = outcome.result("")
        except Runaway:
            data = None
        expect(not sock.runaway,
               "on_readable kept calling recv without end: stop at the first BlockingIOError (or b'')")
        expect(isinstance(data, (bytes, bytearray)),
               f"on_readable must return the bytes it read, got {type(data).__name__}")
        got += data
        sizes = [f"{len(c)}" if c else "EOF" for c in arrivals[:k + 1]]
        arrived = ("the arrival of " if len(sizes) == 1 else "arrivals of ") + ", ".join(sizes) + \
            (" byte" if sizes == ["1"] else " bytes")
        left = len(sim.buffer)
        expect(left == 0, f"after {arrived}, {left} bytes were left in the kernel buffer: no new report will come "
                          "for them; call recv until it raises BlockingIOError")
        extra_eagain = sim.eagain_calls - before - (0 if sim.eof else 1)
        expect(extra_eagain <= 0,
               "on_readable called recv again after it raised BlockingIOError: stop at the first EAGAIN")
        expect(bytes(got) == bytes(sock._handed),
               f"after {arrived}, you returned {len(got)} bytes while recv gave you {len(sock._handed)}: "
               "return exactly what recv returned, every chunk, in order")
    expect(bytes(got) == bytes(sent), f"the bytes you returned differ from those that arrived "
                                      f"({len(got)} vs {len(sent)} bytes): return every chunk, in order")


@exercise("05.drain", "An edge-triggered reader that drains to EAGAIN")
def check_drain(on_readable, *, rng, extra):
    expect(callable(on_readable), "pass your function itself: check('05.drain', on_readable)")
    runs = 30 if extra else 12
    for run in range(runs):
        arrivals = [rng.randbytes(rng.choice([1, 10, 500, 4096, 5000, 20_000])) for _ in range(rng.randint(1, 8))]
        if run % 4 == 3:
            arrivals.append(b"")  # the peer closes after the last chunk
        # a failing run is shrunk to the fewest and smallest arrivals that still fail
        smallest_failure(lambda a: _drain_case(on_readable, a), arrivals, minimum=1, budget=100, at_once=(_Hung,),
                         simpler=lambda c: [c[:1], c[:4096], c[:4097]] if len(c) > 1 else [])
    return f"{runs} random runs of arrivals"


# --- 05.echo -----------------------------------------------------------------------------
@exercise("05.echo", "An echo server that survives partial writes")
def check_echo(EchoServer, *, rng, extra):
    kinds = ["small"] * (400 if extra else 200) + ["big"] * 4 + ["slow"] * 6 + ["vanish"] * 8
    with raised_fd_limit(2 * len(kinds) + 64):  # macOS allows only 256 open files by default
        return _run_echo(EchoServer, rng, kinds, extra)


def _run_echo(EchoServer, rng, kinds, extra):
    """Serve a crowd of clients (``echo_bench``) with the student's protocol; fail with the first hint."""
    loop = Loop(poller="default")
    spy = SpyLoop(loop)
    server = Server(spy, EchoServer, transport_class=RawTransport)
    spy.server = server
    rude_clients(server.address, 3)
    runner = LoopThread(loop).start()
    clients = []
    final = None
    try:
        def blob(size):
            return rng.randbytes(size)

        for n, kind in enumerate(kinds):
            size = {"small": rng.randint(1, 20_000), "big": 3_000_000, "slow": 400_000, "vanish": 1_000_000}[kind]
            clients.append(Client(n, kind, blob(size), 16384 if kind in ("slow", "vanish") else 65536))
        run_clients(server.address, clients, time.monotonic() + (40 if extra else 20))

        def server_failed():
            if getattr(server, "used_transport_write", False):
                raise CheckFailed(f"your server sent with the reactor's own send path: {TRANSPORT_WRITE_OFF}; "
                                  "send with self.sock.send and keep the rest in self.pending")
            if getattr(server, "made_blocking", False):
                raise CheckFailed(
                    "your code switched a socket to blocking mode: one slow client would then stop the whole "
                    "loop. Keep sockets non-blocking and wait for add_writer instead"
                )
            if getattr(server, "aborted_when_full", False):
                raise CheckFailed(
                    "your server closed a connection when send raised BlockingIOError, which only means the send "
                    "buffer is full. BlockingIOError is an OSError too: catch it first, keep the bytes, add_writer"
                )
            stuck = spy.stuck()
            if stuck:
                raise CheckFailed(
                    f"the server is stuck inside {stuck}: a callback must return quickly "
                    "(no sleep, no loop that waits, no blocking call)"
                )
            errors = ([runner.error] if runner.error else []) + list(server.errors)
            where = "" if runner.alive else " and the server loop stopped"
            for error in errors:  # a bug that is not about the network comes first
                if not isinstance(error, OSError):
                    raise error
            for error in errors:
                if isinstance(error, BlockingIOError):
                    raise CheckFailed(
                        f"send() raised BlockingIOError{where}: the socket's send buffer was full. Catch it, keep "
                        "the bytes, and send them when the socket is writable (loop.add_writer)"
                    )
            for error in errors:
                raise CheckFailed(
                    f"send() raised {type(error).__name__} when a client vanished{where}: catch OSError around "
                    "send and close the connection (self.transport.abort())"
                )

        for c in clients:
            if c.kind == "vanish":
                continue
            if c.got != c.payload[: len(c.got)]:
                server_failed()
                raise CheckFailed(f"client {c.n} got bytes back that it never sent, or in the wrong order: "
                                  "echo every byte, in order, once")
            if len(c.got) < len(c.payload):
                server_failed()
                stuck = sum(1 for x in clients if x.kind != "vanish" and len(x.got) < len(x.payload))
                why = f" ({c.error})" if c.error else ""
                raise CheckFailed(
                    f"{stuck} clients did not get their whole echo; client {c.n} ({c.kind}) got {len(c.got)} of "
                    f"{len(c.payload)} bytes{why}. send() may take only part: keep the rest and send it when "
                    "the socket is writable (loop.add_writer)"
                )
        server_failed()
        # still serving? one more client, then stay connected and idle for a moment
        final = socket.create_connection(server.address, timeout=5)
        message = blob(200_000)
        final.sendall(message)
        echoed = bytearray()
        while len(echoed) < len(message):
            chunk = final.recv(65536)
            expect(chunk, "after the crowd left, a new client's connection was closed before its echo came back")
            echoed += chunk
        expect(echoed == message, "after the crowd left, a new client got a wrong echo")
        before = spy.writer_calls
        time.sleep(0.2)
        busy = spy.writer_calls - before
        expect(
            busy < 20,
            f"with nothing to send, your writer callback ran {busy} times in 0.2 s: the loop spins. "
            "Call loop.remove_writer once the buffer is empty",
        )
        server_failed()
    except TimeoutError:
        raise CheckFailed(
            "a new client waited 5 s for its echo: is the server still serving after the crowd?") from None
    finally:
        if final is not None:
            final.close()
        for c in clients:
            c.sock.close()
        runner.stop(timeout=1.0)
        server.close()
        closer = getattr(loop, "close", None)
        if closer is not None:
            closer()
    sizes = sum(len(c.payload) for c in clients)
    return f"{len(clients)} clients at once, {sizes / 1e6:.0f} MB sent, slow readers and vanishing clients"
