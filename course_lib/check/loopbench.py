"""The runs behind two checks of chapter 04, on the course loop's virtual clock.

What it is: the two experiments, kept apart from the checks' verdicts (``ch04.py``).

- ``run_chunked(function, numbers)``: a fresh ``Loop()`` runs the student's
  ``function(loop, numbers, work, done)`` next to a heartbeat timer due every 50 ms; each
  ``work(x)`` costs 2 ms of virtual CPU (``loop.spend``). It reports the calls of ``work``, the
  calls of ``done``, how late the heartbeat got and the longest callback.
- ``run_clients(fetch_all, rng, jobs, sockets)``: a simulated network (``course_lib.simnet``)
  with a ``LineServer`` of random pace; one student client per list of requests, all at once.

What it is not: a check. Nothing here decides pass or fail; a run that never ends raises the
loop's ``TooManySteps``, and an exception of the student's code is raised again.
"""

from __future__ import annotations

from course_lib.loop import Loop
from course_lib.simnet import LineServer, SimNetwork

__all__ = ["WORK_COST", "HEARTBEAT", "run_chunked", "run_clients"]

WORK_COST = 0.002  # virtual seconds of CPU per call of work(x), as the notebook says
HEARTBEAT = 0.05  # the heartbeat timer's period


def run_chunked(function, numbers, result_of=lambda x: x * x):
    """Run ``function(loop, numbers, work, done)`` from a callback of a fresh ``Loop()`` with a heartbeat.

    ``work(x)`` costs ``WORK_COST`` on the virtual clock and returns ``result_of(x)`` (a square).

    Returns (the numbers work() was called with, [(total, time) per done() call], the heartbeat's
    worst lateness, the longest callback). A callback's exception is raised again here."""
    loop = Loop()
    calls, results, lateness, longest = [], [], [], [0.0]

    def work(x):
        calls.append(x)
        loop.spend(WORK_COST)
        return result_of(x)

    def done(total):
        results.append((total, loop.time()))

    give_up = len(numbers) * WORK_COST * 3 + 2.0  # the heartbeat stops then, so a lost done() ends the run

    def heartbeat(due):
        lateness.append(loop.time() - due)
        if not results and due < give_up:
            loop.call_at(due + HEARTBEAT, heartbeat, due + HEARTBEAT)

    class Longest:
        def after_callback(self, handle, step):
            longest[0] = max(longest[0], step.end - step.start)

    loop.add_instrument(Longest())
    loop.call_soon(function, loop, numbers, work, done)
    loop.call_at(HEARTBEAT, heartbeat, HEARTBEAT)
    loop.run(max_steps=50_000)  # TooManySteps if the chunks never stop
    if loop.errors:
        raise loop.errors[0].error
    return calls, results, max(lateness, default=0.0), longest[0]


def run_clients(fetch_all, rng, jobs, sockets, close_after=None):
    """Run ``fetch_all`` once per list of requests in ``jobs``, all at once, on a fresh simulated network.

    The network's latency and the server's pace come from ``rng``; every socket the clients open
    is appended to ``sockets``. With ``close_after=n`` the server hangs up when a connection sends
    a request after its first ``n``. Returns (each job's on_done calls, the server, the loop)."""
    loop = Loop()
    net = SimNetwork(loop, latency=rng.choice([0.001, 0.01, 0.05, 0.2]))
    server = LineServer(net, "server:80", rng=rng, think=rng.uniform(0, 0.3), max_chunk=rng.randint(1, 8),
                        close_after=close_after)
    results = [[] for _ in jobs]
    connect = net.connect

    def recording_connect(address):
        sock = connect(address)
        sockets.append(sock)
        return sock

    net.connect = recording_connect
    for job, result in zip(jobs, results):
        loop.call_soon(fetch_all, loop, net, "server:80", list(job), result.append)
    loop.run(max_steps=100_000)  # TooManySteps if the clients never stop
    if loop.errors:
        raise loop.errors[0].error
    return results, server, loop
