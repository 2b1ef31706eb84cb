"""Clients and servers for chapter 06's checks: the student's coroutine on a network.

What it is: two harnesses, each run by ``course_lib.check.ch06_sockets`` in a helper thread
(``run_in_thread``), so a stuck student coroutine cannot hang the check:

- ``run_clients(fetch_all, seed, jobs, sockets)`` runs the student's client coroutine once per
  list of requests, as tasks on one ``Loop()`` with a simulated ``LineServer`` (random latency,
  pieces and pauses), and notes when each client's last reply byte arrived, so the check can
  tell a client that waits for data from one that polls;
- ``serve(handle, keys)`` runs the student's handler for one real connection per key
  (a ``socket.socketpair()``: connected inside the process, no port) on
  ``Loop(poller="default")``, a real clock, with a lookup that blocks, and keeps the loop's
  slow-callback report: every step that held the loop for ``FROZEN`` seconds or more.

What it is not: a check. It reports what happened; ``ch06_sockets`` decides what that means.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass, field

from course_lib.check import CheckFailed
from course_lib.check.coroprograms import quiet_loop
from course_lib.loop import TooManySteps
from course_lib.simnet import LineServer, SimNetwork

__all__ = ["run_clients", "serve", "Served", "LOOKUP_SECONDS", "FROZEN"]


def run_clients(fetch_all, seed, jobs, sockets):
    """``fetch_all`` once per list of requests in ``jobs``, as tasks on one simulated network whose
    latency, pieces and pauses come from ``seed`` (the same network for every shrunk ``jobs``)."""
    rng, loop = random.Random(seed), quiet_loop()
    net = SimNetwork(loop, latency=rng.choice([0.001, 0.01, 0.05, 0.2]))
    server = LineServer(net, "server:80", rng=rng, think=rng.uniform(0, 0.3), max_chunk=rng.randint(1, 8))
    connect, send, arrived, finished = net.connect, server._send, {}, {}

    def recording_connect(address):
        sockets.append(connect(address))
        return sockets[-1]

    def recording_send(conn, rest):  # note when a reply's last piece will arrive at the client
        send(conn, rest)
        if conn not in server._busy:
            arrived[conn.peer] = loop.time() + net.latency

    async def client(i, job):
        replies = await fetch_all(loop, net, "server:80", list(job))
        finished[i] = loop.time()
        return replies

    net.connect, server._send = recording_connect, recording_send
    tasks = [loop.create_task(client(i, job)) for i, job in enumerate(jobs)]
    try:
        loop.run_until_complete(_in_turn(tasks), max_steps=100_000)
    except TooManySteps:
        raise CheckFailed("the loop never ran out of work: are you polling? await loop.sock_recv(sock, n) waits "
                          "for data without any work.") from None
    return [task.result() for task in tasks], server, loop, [arrived.get(s) for s in sockets], finished


async def _in_turn(tasks):
    for task in tasks:
        await task


LOOKUP_SECONDS, FROZEN = 0.25, 0.2  # the blocking lookup, and a step this long counts as freezing the loop


@dataclass
class Served:
    """What ``serve`` saw."""

    calls: list = field(default_factory=list)  # the keys lookup was called with
    slow: list = field(default_factory=list)  # the CallbackSteps that took FROZEN seconds or more
    error: Exception | None = None  # the first exception a handler raised
    replies: list = field(default_factory=list)  # what each client read, in the order of the keys
    closed: list = field(default_factory=list)  # whether the handler closed each server end


def serve(handle, keys) -> Served:
    """Run ``handle(loop, conn, lookup)`` for one connection per key on a real-clock course loop."""
    loop, served = quiet_loop("default"), Served()
    calls, slow = served.calls, served.slow
    loop.slow_callback_duration = FROZEN
    pairs = [socket.socketpair() for _ in keys]

    def lookup(key):
        calls.append(key)
        time.sleep(LOOKUP_SECONDS)
        return key.upper()

    class Report:  # the loop's slow-callback report, as chapter 04 shows it
        def after_callback(self, handle_, step):
            if step.slow:
                slow.append(step)

    loop.add_instrument(Report())
    try:
        for (server_end, client_end), key in zip(pairs, keys):
            server_end.setblocking(False)
            client_end.sendall(key.encode() + b"\n")
        tasks = [loop.create_task(handle(loop, server_end, lookup), name=f"conn-{i}")
                 for i, (server_end, _) in enumerate(pairs)]
        for task in tasks:  # each in turn, so every exception is retrieved
            try:
                loop.run_until_complete(task)
            except Exception as error:
                served.error = served.error or error
        if served.error is None:
            for _server_end, client_end in pairs:
                client_end.settimeout(1)
                data = b""
                while not data.endswith(b"\n") and (chunk := client_end.recv(1024)):
                    data += chunk
                served.replies.append(data)
            served.closed = [server_end.fileno() == -1 for server_end, _ in pairs]
        return served
    finally:
        for pair in pairs:
            for end in pair:
                end.close()
        loop.close()
