"""Checks of chapter 06 where the student's coroutine talks over sockets: a client, and a server's handler.

What it is: two checks whose harnesses (``coroservers.py``) run in a helper thread, so a stuck
coroutine cannot hang the check. A failing case of 06.client is shrunk (``course_lib.check.shrink``)
to the fewest requests that still fail.

- ``06.client``  chapter 04's client as a coroutine on the simulated ``LineServer``; it must
  return as soon as its last reply has arrived (so no polling).
- ``06.unblock`` a server handler without its blocking call, on the course loop with a real
  clock: no step may freeze the loop (the loop's slow-callback report).

``course_lib.check.ch06`` imports this module, so ``check("06.client", ...)`` finds it.

What it is not: a comparison with asyncio event by event (that is ``ch06_tasks``), or a timing
test: the 5 s limits only keep a broken answer from hanging.
"""

from __future__ import annotations

import inspect
from functools import partial

from course_lib.check import CheckFailed, exercise, expect
from course_lib.check import coroprograms as cp
from course_lib.check.coroservers import run_clients, serve
from course_lib.check.timeout import run_in_thread

__all__ = ["check_client", "check_unblock"]


# ---------------------------------------------------------------- 06.client: chapter 04's client as a coroutine
_WORDS = ["loop", "await", "task", "future", "yield", "socket", "event", "queue", "sleep", "step"]


def _fewer_requests(job):
    """The client with one request fewer (at least one left): what shrinking tries."""
    for k in range(len(job) if len(job) > 1 else 0):
        yield job[:k] + job[k + 1:]


def _client_case(fetch_all, seed, jobs) -> None:
    sockets = []
    outcome = run_in_thread(run_clients, fetch_all, seed, jobs, sockets, timeout=5, name="client",
                            on_timeout=lambda: [s.close() for s in sockets])
    if not outcome.finished:
        raise cp.Hung("the clients did not finish within 5 s: a task never gave the loop back. "
                    "Don't loop around sock.recv: await loop.sock_recv(sock, n).")
    try:
        results, server, _, arrived, finished = outcome.result("")
    except BlockingIOError:
        raise CheckFailed("sock.recv raised BlockingIOError (nothing had arrived yet): "
                          "await loop.sock_recv(sock, n) waits until something has.") from None
    example = f"{len(jobs)} client(s) sending {cp.short(repr(jobs[0]), 60)}"
    expect(len(sockets) == len(jobs), f"{len(jobs)} calls of fetch_all opened {len(sockets)} connections")
    expect(not server.overlapped, f"with {example}: send the next request only after the whole reply to the "
                                  "previous one has arrived")
    for c, (job, got) in enumerate(zip(jobs, results)):
        want = [b"ECHO " + request.upper() for request in job]
        expect(isinstance(got, list), f"fetch_all should return the list of replies, got {cp.short(repr(got), 40)}")
        for i, (g, w) in enumerate(zip(got, want)):
            expect(g == w, f"with {example}: reply {i + 1} was {cp.short(repr(g), 40)}, "
                           f"expected {cp.short(repr(w), 40)}"
                           + (": a reply comes in pieces, read until b'\\n'." if w.startswith(bytes(g)) else "."))
        expect(len(got) == len(want), f"{len(job)} requests but fetch_all returned {len(got)} replies")
        expect(abs(finished[c] - arrived[c]) < 1e-9,
               f"with {example}: the last reply was complete at t={arrived[c]:.3f} but fetch_all returned at "
               f"t={finished[c]:.3f}: await loop.sock_recv, which wakes the task as soon as data arrives.")
    expect(all(s.closed for s in sockets), "close the socket once the last reply has arrived")


@exercise("06.client", "Chapter 04's client as a coroutine")
def check_client(fetch_all, *, rng, extra):
    expect(inspect.iscoroutinefunction(fetch_all),
           "fetch_all must be a coroutine function: async def fetch_all(loop, net, address, requests)")
    for case in range(12 if extra else 6):
        clients = 1 if case < 2 else rng.randint(2, 3)
        jobs = [[(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3))) + f" {c}.{i}\n").encode()
                 for i in range(1 if case == 0 else rng.randint(2, 3))] for c in range(clients)]
        seed = rng.getrandbits(32)  # the network of this case, the same for every shrunk version of it
        cp.shrunk(partial(_client_case, fetch_all, seed), jobs, simpler=_fewer_requests, minimum=1)
    return "several clients at once, replies read across pieces, done as soon as the last byte arrived"



# ---------------------------------------------------------------- 06.unblock: no step may freeze the loop
@exercise("06.unblock", "Find and fix the blocking call")
def check_unblock(handle, *, rng, extra):
    expect(inspect.iscoroutinefunction(handle),
           "handle must be a coroutine function: async def handle(loop, conn, lookup)")
    for size in [3, 4] + ([6] if extra else []):
        keys = [rng.choice(_WORDS) + str(i) for i in range(size)]
        served = cp.run_student(serve, handle, keys, what=f"serving {size} connections")
        if served.slow:  # first: a freeze says more than what it led to
            step = served.slow[0]
            raise CheckFailed(f"one step of {step.handle.name} froze the loop for {step.waited:.2f} s: lookup "
                              "still runs in the loop's thread. await asyncio.to_thread(lookup, key) runs it "
                              "in another.")
        if served.error is not None:
            raise served.error
        expect(sorted(served.calls) == sorted(keys), f"{size} connections called lookup {len(served.calls)} times: "
                                                     "call lookup(key) once per connection (it is the real work), "
                                                     "in a thread")
        for key, reply in zip(keys, served.replies):
            want = key.upper().encode() + b"\n"
            expect(reply == want, f"for the key {key!r} the client read {reply!r}, expected {want!r}")
        expect(all(served.closed), "close each connection once its answer is sent")
    return "every lookup ran in a thread; no step froze the loop"

