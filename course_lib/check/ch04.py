"""Checks of chapter 04, "The event loop and callbacks".

What it is: the checks behind ``exercises/04_event_loop_callbacks.ipynb``.

- ``04.timers``  the student's ``call_later`` and the timer part of one iteration, on the
  minimal loop of the notebook. Random programs of callbacks (``programs.py``; many timers
  share a deadline) run on the student's loop and on **real asyncio driven by a virtual
  clock** (``course_lib.virtualclock``); the order and time of every callback must agree.
- ``04.predict`` the student's written prediction of the order in which a given program's
  callbacks run, compared with what asyncio (on a virtual clock) actually does.
- ``04.chunks``  a long computation split into chunks with ``call_soon`` so that timers stay
  on time; measured on the course loop's virtual clock (``loop.spend`` models CPU work).
- ``04.client``  a callback-chained client for the simulated ``LineServer`` (``course_lib.simnet``):
  connect, then for each request send it and read the reply across partial reads, then close;
  on the virtual clock with random latencies and chunking, several clients at once, and one
  client whose server hangs up early (``recv`` returns ``b""``).

The runs behind the last two are in ``loopbench.py``. A failing random case (a program, a
list of numbers, a set of clients) is shrunk (``shrink.py``) before its hint is shown.

What it is not: a copy of the answers. The expected behaviour is computed by running the same
program on asyncio, so the check agrees with the real thing, not with one solution.
"""

from __future__ import annotations

import asyncio
import random

from course_lib import loop as course_loop
from course_lib import virtualclock
from course_lib.check import CheckFailed, exercise, expect, programs
from course_lib.check.guard import Refuse
from course_lib.check.loopbench import WORK_COST, run_chunked, run_clients
from course_lib.check.programs import describe, predict_program, program_from_plan, random_program, show_plan
from course_lib.check.shrink import smallest_failure
from course_lib.check.timeout import run_in_thread
from course_lib.loop import TooManySteps

__all__ = ["check_timers", "check_predict", "check_chunks", "check_client"]

ENDLESS = "look for a `while` loop that never ends."  # the hint when the student's code does not return


# ---------------------------------------------------------------- 04.timers: the student's loop against asyncio
def _drive_mini_loop(loop_class, program, max_iterations: int = 500) -> list:
    """Run ``program`` on a fresh student loop, one ``run_once`` at a time (so a stuck loop cannot hang)."""
    loop = loop_class()
    events = []
    program(loop, lambda label: events.append((label, loop.time())))
    for _ in range(max_iterations):
        if not loop._ready and loop._next_timer() is None:
            break
        loop.run_once()
    else:
        raise CheckFailed(
            f"the loop was still busy after {max_iterations} iterations: does _move_due_timers move (and remove) "
            "every timer whose deadline is <= self.now?"
        )
    return events


def _compare_runs(plan, got, want, name) -> None:
    """Fail with a hint at the first difference; ``name(callback)`` says which callback is meant."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g == w:
            continue
        due = dict(want)
        early = g[0] in due and g[1] < due[g[0]] - 1e-12
        if early:
            raise CheckFailed(
                f"{name(g[0])} ran at t={g[1]:g}, before it was due at t={due[g[0]]:g}: a deadline is the time of "
                "scheduling plus the delay, and only timers whose deadline is <= the clock may move.")
        if g[0] == w[0]:
            raise CheckFailed(
                f"{name(w[0])} ran at t={g[1]:g} instead of t={w[1]:g}: a timer runs in the first iteration at or "
                "after its deadline, and the clock jumps only to the earliest deadline (_next_timer).")
        timers = all(kind == "later" for _, kind, _, child in plan if child in (g[0], w[0]))
        if timers and g[0] in due and due[g[0]] == w[1]:
            raise CheckFailed(
                f"{name(w[0])} should run before {name(g[0])}: timers with the same deadline run in the order "
                "they were scheduled (that is what the tie-break counter is for).")
        raise CheckFailed(
            f"callback number {i + 1} should be {name(w[0])} at t={w[1]:g}, yours ran {g[0]!r} at t={g[1]:g}. "
            "Order in one iteration: callbacks already queued first, then the timers that are due, by deadline.")
    if len(got) < len(want):
        raise CheckFailed(f"{name(want[len(got)][0])} never ran: does _next_timer return the earliest deadline "
                          "while timers are left?")
    if len(got) > len(want):
        raise CheckFailed(
            f"{got[len(want)][0]!r} ran twice: a timer must leave the heap when it moves to the ready queue.")


def _timers_case(loop_class, plan) -> None:
    """Run ``plan`` on the student's loop and on asyncio; fail with a hint naming the (shrunk) program."""
    want = virtualclock.record(program_from_plan(plan), fifo_ties=True).events
    shown = show_plan(plan)
    try:
        got = _drive_mini_loop(loop_class, program_from_plan(plan))
        if len(shown) <= 90:  # a small (shrunk) program is shown whole, and callbacks by name
            _compare_runs(plan, got, want, repr)
        else:
            _compare_runs(plan, got, want, lambda name: describe(plan, name))
    except TypeError as error:
        if "'<' not supported" not in str(error):
            raise
        raise CheckFailed(
            "the heap had to compare two callbacks (two timers with the same deadline): put a tie-break "
            "between the deadline and the callback, e.g. (when, next(self._seq), fn, args).") from None
    except CheckFailed as failure:
        if len(shown) > 90:
            raise
        raise CheckFailed(f"with the program [{shown}]: {failure.hint}") from None


@exercise("04.timers", "Timers on a heap with a tie-break")
def check_timers(loop_class, *, rng, extra):
    expect(isinstance(loop_class, type), f"pass the class itself (TimerLoop), not {type(loop_class).__name__}")
    cases = [random_program(rng, rng.randint(4, 12)) for _ in range(60 if extra else 25)]
    # a hand-made case first: equal deadlines, scheduled in a known order
    cases.insert(0, [(None, "later", 1, "a"), (None, "later", 1, "b"), (None, "soon", None, "c"),
                     ("c", "later", 0, "d")])

    def student():
        for plan in cases:  # a failing program is shrunk to the fewest callbacks that still fail
            smallest_failure(lambda p: _timers_case(loop_class, p), plan, minimum=1)

    run_in_thread(student, timeout=10, name="timers").result(f"your loop did not finish within 10 s: {ENDLESS}")
    return f"{len(cases)} random programs ran in asyncio's order at asyncio's times"


# ---------------------------------------------------------------- predict an order
def _predict_hint(early: str, due: str) -> str:
    """Why ``early`` cannot run where ``due`` runs."""
    if early in "GE" and due not in "GE":
        return "G and E are timers due at t=1; the clock moves on only when no callback is ready"
    if early == "E":
        return "timers with the same deadline run in the order they were scheduled"
    if early == "D":
        return "call_later(0, ...) is a timer: it joins the ready queue after the callbacks already waiting there"
    return "a callback queued by a running callback waits for the next iteration"


def _one_string_hint(answer: str) -> str:
    """A prediction written as one string ("A B C" or "ABC") instead of a list of names."""
    return (f"predicted_order() returned a str, {answer[:40]!r}, not a list: return one name per callback, "
            'in the order you predict, as a list like ["A", "B", ...]')


_LOOP_METHODS = ("call_soon", "call_later", "call_at", "run_once", "run_until_complete", "run_forever")


@exercise("04.predict", "Predict the order of callbacks")
def check_predict(predicted_order, *, rng, extra):
    expect(callable(predicted_order), "pass the function predicted_order itself (no parentheses)")
    with Refuse(course_loop, virtualclock, asyncio, programs, names=_LOOP_METHODS,
                hint="predict the order on paper: predicted_order must not run the program on a loop"):
        answer = predicted_order()
    if isinstance(answer, str):
        raise CheckFailed(_one_string_hint(answer))
    expect(
        isinstance(answer, (list, tuple)) and all(isinstance(x, str) for x in answer),
        f'predicted_order() should return a list of names like ["A", "B", ...], got {answer!r}',
    )
    answer = [x.strip().upper() for x in answer]
    want = [label for label, _ in virtualclock.record(predict_program).events]
    expect(sorted(answer) == sorted(want), f"list each of the {len(want)} callbacks {sorted(want)} exactly once")
    for i, (a, w) in enumerate(zip(answer, want)):
        if a != w:
            raise CheckFailed(f"position {i + 1}: {a!r} runs later than that. Hint: {_predict_hint(a, w)}.")
    return "your order is the order asyncio runs them: " + " ".join(want)


# ---------------------------------------------------------------- chunks: keep the timers on time
MAX_LATE = 0.1  # the loop's slow_callback_duration: a heartbeat later than this fails the check


def _cube(x):
    return x * x * x


def _chunks_case(function, numbers, result_of=None) -> None:
    """One list; ``result_of=_cube`` gives a ``work`` that cubes, so a total computed without it shows."""
    size, result_of = len(numbers), result_of or (lambda x: x * x)
    try:
        calls, results, late, longest = run_chunked(function, list(numbers), result_of)
    except TooManySteps:
        raise CheckFailed("the loop never ran out of work: does your last chunk stop scheduling new ones?") from None
    want = sum(map(result_of, numbers))
    expect(results, f"done(total) was never called for a list of {size} numbers")
    expect(len(results) == 1, f"done was called {len(results)} times for {size} numbers; call it once, at the end")
    expect(sorted(calls) == sorted(numbers),
           f"call work(x) exactly once for each number: {len(calls)} calls for {size} numbers")
    expect(not (result_of is _cube and results[0][0] == sum(x * x for x in numbers) != want),
           f"this time work(x) returned x**3, and done got the sum of squares: add up what work returns "
           f"(total += work(x)), do not compute the square again. Expected {want}")
    expect(results[0][0] == want, f"for {size} numbers done got {results[0][0]!r}, expected the sum of what work "
                                  f"returned, {want}")
    expect(late <= MAX_LATE + 1e-9,
           f"with {size} numbers the heartbeat was {late:.3f} s late: one callback ran {longest:.3f} s. "
           "Keep each chunk under the 50 ms heartbeat period and call_soon the next chunk from the end of the "
           "current one (chunks queued together run in one batch).")
    need = size * WORK_COST
    expect(results[0][1] <= need * 1.1 + 0.05, f"{size} numbers need {need:.2f} s of work but done came at "
                                               f"t={results[0][1]:.2f} s: between chunks use call_soon, "
                                               "not call_later.")


@exercise("04.chunks", "Split a long computation so timers stay on time")
def check_chunks(function, *, rng, extra):
    expect(callable(function), "pass your function itself, e.g. check('04.chunks', chunked_sum_of_squares)")
    sizes = [0, 1, 7, 50, 500] + [rng.randint(2, 900) for _ in range(8 if extra else 3)]
    for size in sizes:  # a failing list is shrunk to the fewest numbers that still fail
        numbers = [rng.randint(-99, 99) for _ in range(size)]
        run_in_thread(smallest_failure, lambda ns: _chunks_case(function, ns), numbers, timeout=10,
                      name="chunks").result(f"your function did not finish within 10 s: {ENDLESS}")
    numbers = [rng.randint(-99, 99) for _ in range(rng.randint(30, 90))]  # a work that cubes: its results count
    run_in_thread(smallest_failure, lambda ns: _chunks_case(function, ns, _cube), numbers, timeout=10,
                  name="chunks").result(f"your function did not finish within 10 s: {ENDLESS}")
    return f"{len(sizes) + 1} lists, heartbeat never more than {MAX_LATE:g} s late, the total made of work's results"


# ---------------------------------------------------------------- a callback client
def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_WORDS = ["loop", "callback", "timer", "heap", "ready", "socket", "select", "event", "queue", "tick"]


class _Hung(CheckFailed):
    """The loop did not finish: raised at once, not shrunk (each try would wait for the time-out)."""


def _fewer_requests(job):
    for i in range(len(job) if len(job) > 1 else 0):
        yield job[:i] + job[i + 1:]


def _client_case(fetch_all, seed, jobs, close_after=None) -> None:
    """Run the clients of ``jobs`` (one list of requests each) at once; the network is seeded by ``seed``.

    With ``close_after=n`` the server hangs up instead of answering request n + 1: each client must
    then stop at ``b""`` with the first n replies."""
    sockets = []

    def unstick():  # a busy `while` around recv stops once its socket is closed
        for sock in sockets:
            sock.close()

    outcome = run_in_thread(run_clients, fetch_all, random.Random(seed), jobs, sockets, close_after, timeout=5,
                            on_timeout=unstick, name="client")
    if not outcome.finished:
        raise _Hung("the loop did not finish within 5 s: a callback never returned. "
                    "Don't wait in a loop for data: return, and add_reader calls you again.")
    try:
        results, server, loop = outcome.result("")
    except TooManySteps:
        if close_after is not None and any(len(job) > close_after for job in jobs):
            replies = "reply" if close_after == 1 else "replies"
            raise CheckFailed(f"the server hung up after {close_after} {replies} and your "
                              "reader was called for ever: a closed socket stays readable and recv returns b''. "
                              "On b'', remove the reader, close, and call on_done with the replies so far.") from None
        raise CheckFailed("the loop never ran out of work: are you polling with call_soon? "
                          "Let add_reader call you when data is there.") from None
    expect(len(sockets) == len(jobs),
           f"{len(jobs)} calls of fetch_all opened {len(sockets)} connections; connect once per call")
    expect(not server.overlapped, "send the next request only after the whole reply to the previous one has arrived")
    for job, result in zip(jobs, results):
        want = [b"ECHO " + request.upper() for request in job][:close_after]
        expect(result, f"on_done was never called for a list of {len(job)} request{'s'[:len(job) != 1]}: "
                       "read until each reply ends with b'\\n'")
        expect(len(result) == 1,
               f"on_done was called {len(result)} times for one list of requests; call it once, at the end")
        got = result[0]
        expect(isinstance(got, list), f"call on_done with a list of replies (bytes), got {_short(got)}")
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w and isinstance(g, (bytes, bytearray)) and w.startswith(g):
                raise CheckFailed(f"reply {i + 1} was {_short(bytes(g))}, only the start of {_short(w)}: "
                                  "a reply comes in pieces, keep reading until b'\\n'")
            if g != w:
                mixed = (" Several clients run at once: keep each one's state in its own closure or object, "
                         "not in globals.") if len(jobs) > 1 else ""
                raise CheckFailed(f"reply {i + 1} was {_short(g)}, expected {_short(w)}.{mixed}")
        expect(len(got) == len(want), f"{len(job)} requests but on_done got {len(got)} replies"
                                      + (f" (the server hung up after {close_after})" if len(want) < len(job) else ""))
    requests = sum(len(job[:close_after]) for job in jobs)
    expect(server.served == requests, f"the server got {server.served} request lines, expected {requests}")
    expect(all(s.closed for s in sockets), "close the socket once the last reply is complete")
    expect(not [k for k in loop.snapshot()["readers"] if k.startswith("client")],
           "remove your reader before closing the socket")


@exercise("04.client", "A callback-chained client")
def check_client(fetch_all, *, rng, extra):
    expect(callable(fetch_all), "pass your function itself, e.g. check('04.client', fetch_all)")
    for case in range(12 if extra else 6):
        clients = 1 if case < 2 else rng.randint(2, 3)
        jobs = [[(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3))) + f" {c}.{i}\n").encode()
                 for i in range(1 if case == 0 else rng.randint(2, 4))] for c in range(clients)]
        seed = rng.getrandbits(32)  # the network of this case: the same for every shrunk version of it
        smallest_failure(lambda js, seed=seed: _client_case(fetch_all, seed, js), jobs, simpler=_fewer_requests,
                         minimum=1, at_once=(_Hung,), budget=40)
    # a server that hangs up early: the client must stop at b"" instead of waiting for ever
    jobs = [[f"{rng.choice(_WORDS)} {i}\n".encode() for i in range(rng.randint(2, 4))]]
    close_after, seed = rng.randint(1, len(jobs[0]) - 1), rng.getrandbits(32)
    smallest_failure(lambda js: _client_case(fetch_all, seed, js, close_after), jobs, simpler=_fewer_requests,
                     minimum=1, at_once=(_Hung,), budget=40)
    return "several clients at once, replies read across partial reads, requests one at a time, sockets closed"
