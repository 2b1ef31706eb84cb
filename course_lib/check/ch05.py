"""Checks of chapter 05 (select, poll, epoll).

- ``05.wait_readable``  ``wait_readable(socks, timeout)`` with select(): real socket pairs,
  some with data, some closed by the peer, none at all, data arriving later.
- ``05.drain``          ``on_readable(sock)`` for an edge-triggered wait: random arrivals on
  the simulated kernel buffer (``course_lib.triggers.SimSocket``); every byte must come
  out, in order, and each call must stop at the first EAGAIN.
- ``05.echo``           an ``EchoServer`` protocol on the course reactor that does its own
  writing: hundreds of real clients on 127.0.0.1 at once, payloads far larger than the
  socket buffers, slow readers, clients that vanish mid-message (``echo_bench.py`` runs
  them); every echo must be byte-exact and the server must still serve afterwards.

What it is not: a timing test. Time limits only keep a broken answer from hanging.
"""

from __future__ import annotations

import select
import socket
import threading
import time

from course_lib.check import CheckFailed, exercise, expect
from course_lib.check.echo_bench import Client, RawTransport, SpyLoop, rude_clients, run_clients
from course_lib.check.timeout import run_in_thread
from course_lib.loop import Loop
from course_lib.reactor import LoopThread, Server
from course_lib.scaling import raised_fd_limit
from course_lib.triggers import SimSocket

__all__ = ["check_wait_readable", "check_drain", "check_echo"]


# --- 05.wait_readable --------------------------------------------------------------------
@exercise("05.wait_readable", "Wait for several sockets with select()")
def check_wait_readable(wait_readable, *, rng, extra):
    pairs = []
    try:
        for case in range(12 if extra else 6):
            for a, b in pairs:
                a.close()
                b.close()
            pairs = [socket.socketpair() for _ in range(rng.randint(2, 8))]
            socks = [a for a, _ in pairs]
            chosen = sorted(rng.sample(range(len(socks)), rng.randint(1, len(socks))))
            closed = chosen[-1] if case % 3 == 2 else None  # a closed peer counts as readable (recv gives b"")
            for i in chosen:
                if i == closed:
                    pairs[i][1].close()
                else:
                    pairs[i][1].send(b"x" * rng.randint(1, 100))
            got = run_in_thread(wait_readable, list(socks), 0.5, timeout=3.0).result(
                "wait_readable(socks, 0.5) did not return within 3 s")
            expect(isinstance(got, list), f"wait_readable must return a list of sockets, got {type(got).__name__}")
            want = [socks[i] for i in chosen]
            why = (" (a socket whose peer closed is readable too: recv would return b'' at once)"
                   if closed is not None else "")
            expect(
                got == want,
                f"with data waiting on sockets {chosen} of {len(socks)} you returned positions "
                f"{[socks.index(s) if s in socks else s for s in got]}; "
                f"return the readable ones, in the order given{why}",
            )
            still = select.select([socks[i] for i in chosen], [], [], 0)[0]
            expect(len(still) == len(chosen), "wait_readable must only wait, not read: the data was gone afterwards")
        # nothing readable: must wait about `timeout`, then return []
        for a, b in pairs:
            a.close()
            b.close()
        pairs = [socket.socketpair() for _ in range(3)]
        outcome = run_in_thread(wait_readable, [a for a, _ in pairs], 0.2, timeout=3.0)
        got = outcome.result("wait_readable(socks, 0.2) with nothing to read did not return within 3 s")
        took = outcome.wall
        expect(got == [],
               f"with nothing to read wait_readable(socks, 0.2) must return [] after the timeout, got {got!r}")
        expect(took >= 0.15,
               f"with nothing to read wait_readable(socks, 0.2) returned after {took:.3f} s: wait for the timeout")
        # data arriving later: must wake up at once, not at the timeout
        a, b = pairs[0]
        timer = threading.Timer(0.1, b.send, (b"late",))
        timer.start()
        try:
            outcome = run_in_thread(wait_readable, [a for a, _ in pairs], 3.0, timeout=4.0)
            got, took = outcome.result("wait_readable(socks, 3.0) did not return within 4 s"), outcome.wall
        finally:
            timer.cancel()
            timer.join()
        expect(got == [a],
               f"data arrived on socket 0 while waiting; you returned {len(got)} sockets, expected only socket 0")
        expect(took < 1.0, f"data arrived after 0.1 s but wait_readable returned after {took:.1f} s: "
                           "return as soon as one is ready")
    finally:
        for a, b in pairs:
            a.close()
            b.close()
    return "readable sets, closed peers, timeouts and late data"


# --- 05.drain ----------------------------------------------------------------------------
class _Runaway(BaseException):
    """Raised into a student's endless recv loop (a BaseException: ``except Exception`` cannot swallow it)."""


class _CountingSimSocket:
    """A SimSocket that gives up after too many recv calls."""

    def __init__(self, limit: int):
        self.sim = SimSocket()
        self.limit = limit
        self.runaway = False

    def recv(self, n):
        if self.sim.recv_calls >= self.limit:
            self.runaway = True
            raise _Runaway()
        return self.sim.recv(n)

    def __getattr__(self, name):
        return getattr(self.sim, name)


@exercise("05.drain", "An edge-triggered reader that drains to EAGAIN")
def check_drain(on_readable, *, rng, extra):
    for run in range(30 if extra else 12):
        sock = _CountingSimSocket(limit=100_000)
        sent, got = bytearray(), bytearray()
        arrivals = rng.randint(1, 8)
        for k in range(arrivals):
            chunk = bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 10, 500, 4096, 5000, 20_000])))
            sock.sim.arrive(chunk)
            sent += chunk
            if run % 4 == 3 and k == arrivals - 1:
                sock.sim.close_peer()  # end of file after the last chunk
            if not sock.sim.readable("edge"):
                continue
            before = sock.sim.eagain_calls
            try:
                outcome = run_in_thread(on_readable, sock, timeout=5.0)
                data = outcome.result("on_readable(sock) did not return within 5 s")
            except _Runaway:
                data = None
            expect(not sock.runaway,
                   "on_readable kept calling recv without end: stop at the first BlockingIOError (or b'')")
            expect(isinstance(data, (bytes, bytearray)),
                   f"on_readable must return the bytes it read, got {type(data).__name__}")
            got += data
            left = len(sock.sim.buffer)
            expect(
                left == 0,
                f"after the edge-triggered report for arrival {k + 1}, {left} bytes were left in the kernel buffer: "
                "no new report will come for them; call recv until it raises BlockingIOError",
            )
            extra_eagain = sock.sim.eagain_calls - before - (0 if sock.sim.eof else 1)
            expect(extra_eagain <= 0,
                   "on_readable called recv again after it raised BlockingIOError: stop at the first EAGAIN")
        expect(bytes(got) == bytes(sent), f"the bytes you returned differ from those that arrived "
                                          f"({len(got)} vs {len(sent)} bytes): return every chunk, in order")
    return f"{30 if extra else 12} random runs of arrivals"


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
            if getattr(server, "made_blocking", False):
                raise CheckFailed(
                    "your code switched a socket to blocking mode: one slow client would then stop the whole "
                    "loop. Keep sockets non-blocking and wait for add_writer instead"
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
