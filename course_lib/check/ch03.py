"""Checks of chapter 03, "Threads".

What it is: the checks behind ``exercises/03_threads.ipynb``.

- ``03.transfer``       ``transfer(src, dst, amount)`` returns a program for the interleaving
  explorer (``course_lib.threadsim``) that moves money between two shared variables under the
  lock ``bank``. Checked over *every* interleaving of two and three transfers and an auditor
  that adds up the balances under ``bank``: the balances at the end must be exactly right, the
  auditor must always see the full total, and no schedule may deadlock.
- ``03.atomic_counter`` a real-thread class ``Counter`` with ``value`` and ``update(fn)``, which
  sets ``value = fn(value)`` as one indivisible step and returns the new value. Stressed by eight
  real threads whose ``fn`` sleeps between reading and returning (an invitation to switch), and
  by an ``fn`` that raises (the lock must still be released).
- ``03.lock_order``     ``transfer_locked(src, dst, amount)``: a transfer that takes the two locks
  ``lock_<src>`` and ``lock_<dst>``, checked over every interleaving of opposite transfers and of a
  cycle of three: no deadlock, right balances.
- ``03.pool_fetch``     ``fetch_all(address, lines, max_workers)`` fetches one response per line
  from the slow server on a pool of threads; the server counts how many requests were in flight,
  and every thread the function started must have ended when it returns.

What it is not: a timing benchmark. The only time limits are generous time-outs that stop a
student's function that would never return.
"""

from __future__ import annotations

import threading
import time

from course_lib.check import CheckFailed, exercise, expect
from course_lib.check.timeout import run_in_thread
from course_lib.slowserver import SlowServer
from course_lib.threadsim import ProgramError, Scheduler, search

__all__ = ["check_transfer", "check_lock_order", "check_atomic_counter", "check_pool_fetch"]

TIMEOUT = 20.0  # seconds a student's function may take before the check gives up on it


def _program(function, *args) -> list:
    call = f"{function.__name__}({', '.join(map(repr, args))})"
    program = function(*args)
    expect(isinstance(program, (list, tuple)) and all(isinstance(line, str) for line in program),
           f"{call} should return a list of instruction strings like 'load r, a', got {program!r:.80}")
    try:
        Scheduler({"T1": program}, {name: 100 for name in args[:2]})
    except ProgramError as error:
        raise CheckFailed(f"{call} does not run: {error}") from None
    return list(program)


def _runs(schedule) -> str:
    """A schedule in short: T1 x10, T2 x5, audit x6."""
    runs = []
    for name in schedule:
        if runs and runs[-1][0] == name:
            runs[-1][1] += 1
        else:
            runs.append([name, 1])
    return ", ".join(f"{n} x{k}" if k > 1 else n for n, k in runs)


def _lingering(cls):
    """A subclass of the student's class whose ``value`` lingers 1 ms when a thread reads it right
    after writing it. Inside the lock that costs only time; after the lock is released it gives
    the other threads the moment they need to change ``value`` under the reader's feet."""
    wrote = threading.local()

    def get(self):
        if getattr(wrote, "flag", False):
            wrote.flag = False
            time.sleep(0.001)
        return self.__dict__["_checked_value"]

    def set_(self, value):
        wrote.flag = True
        self.__dict__["_checked_value"] = value

    return type(cls.__name__, (cls,), {"value": property(get, set_)})


def _auditor(accounts, lock: str) -> list:
    """A thread that adds up every balance under ``lock`` and stores the sum in ``seen``."""
    lines = [f"acquire {lock}", f"load s, {accounts[0]}"]
    for account in accounts[1:]:
        lines += [f"load t, {account}", "add s, t"]
    return lines + ["store seen, s", f"release {lock}"]


def _transfers_hold(function, transfers, accounts, lock_hint: str, audit_lock: str | None = None) -> int:
    """Every interleaving of ``transfers`` [(src, dst, amount)] ends with the right balances.

    With ``audit_lock``, an auditor thread also adds up the balances under that lock, and
    must always see the full total: no other thread may ever see money missing."""
    memory = {a: 100 for a in accounts}
    want = dict(memory)
    for src, dst, amount in transfers:
        want[src] -= amount
        want[dst] += amount
    programs = {f"T{i + 1}": _program(function, *t) for i, t in enumerate(transfers)}
    calls = ", ".join(f"{t} = {function.__name__}{args}" for t, args in zip(programs, transfers))
    total = 100 * len(accounts)
    for t, args in zip(programs, transfers):
        alone = Scheduler({t: programs[t]}, memory).run()
        expect(not alone.deadlocked, f"run alone, {function.__name__}{args} never finishes: "
                                     f"{alone.last.split('DEADLOCK: ')[-1]} (a lock is not re-entrant)")
        one = {a: 100 for a in accounts}
        one[args[0]] -= args[2]
        one[args[1]] += args[2]
        expect(alone.finished and alone.memory == one,
               f"run alone, {function.__name__}{args} leaves {alone.memory}; expected {one}")
    if audit_lock is not None:
        programs["audit"] = _auditor(list(accounts), audit_lock)
        memory["seen"] = want["seen"] = total
    try:
        result = search(programs, memory, lambda m: m == want, limit=50_000)
    except ProgramError:
        raise CheckFailed(f"{calls} have more than 50,000 interleavings, so no lock covers a whole transfer: "
                          f"{lock_hint}") from None
    if result.problem == "deadlock":
        sim = Scheduler(programs, memory, schedule=result.schedule).run()
        raise CheckFailed(f"with {calls} the schedule {', '.join(result.schedule)} deadlocks: "
                          f"{sim.last.split('DEADLOCK: ')[-1]}. {lock_hint}")
    balances = {a: v for a, v in (result.memory or {}).items() if a != "seen"}
    right = {a: v for a, v in want.items() if a != "seen"}
    if result.schedule is not None and balances == right and result.memory.get("seen", total) != total:
        raise CheckFailed(f"with {calls}, an auditor holding '{audit_lock}' saw a total of {result.memory['seen']} "
                          f"instead of {total} (schedule {_runs(result.schedule)}): money was missing in the "
                          f"middle of a transfer. {lock_hint}")
    expect(result.schedule is None, f"with {calls} the schedule {', '.join(result.schedule or [])} ends with "
                                    f"{result.memory}, expected {want}. {lock_hint}")
    return result.explored


# ------------------------------------------------------------------------------ transfer (one lock)
@exercise("03.transfer", "Fix the race in a bank transfer with one lock")
def check_transfer(transfer, *, rng, extra):
    expect(callable(transfer), f"pass your function transfer, got {type(transfer).__name__}")
    hint = "hold the lock 'bank' from before the first load until after the last store"
    explored = 0
    for _ in range(4 if extra else 2):
        x, y = rng.randint(1, 30), rng.randint(1, 30)
        explored += _transfers_hold(transfer, [("a", "b", x), ("b", "a", y)], "ab", hint, audit_lock="bank")
        explored += _transfers_hold(transfer, [("a", "b", x), ("b", "c", y), ("c", "a", x + y)], "abc", hint,
                                    audit_lock="bank")
    return f"every interleaving ends with the right balances ({explored:,} schedules explored)"


# ------------------------------------------------------------------------------ lock order (two locks)
def _unguarded(program, accounts):
    """The first load or store of an account made while not holding every account's lock, or None."""
    held, needed = set(), {f"lock_{a}" for a in accounts}
    for line in program:
        op, _, rest = line.strip().partition(" ")
        args = [a.strip() for a in rest.split(",")]
        if op == "acquire":
            held.add(args[0])
        elif op == "release":
            held.discard(args[0])
        elif (op == "load" and args[-1] in accounts) or (op == "store" and args[0] in accounts):
            if not needed <= held:
                return line
    return None


# Pairs of names that tie under a plausible key that is not a total order: the same first letter and
# length ("bob", "ben"), the same length and last letter ("alice", "grace"), the same letters ("amy",
# "may"), the same first three letters ("carol", "caroline"). A total order (e.g. the names themselves,
# sorted) puts every pair in one order; a key that ties keeps the given order, and deadlocks.
_TIES = [("bob", "ben"), ("alice", "grace"), ("amy", "may"), ("carol", "caroline")]


@exercise("03.lock_order", "Take two locks without deadlock")
def check_lock_order(transfer_locked, *, rng, extra):
    expect(callable(transfer_locked), f"pass your function transfer_locked, got {type(transfer_locked).__name__}")
    for src, dst in [("alice", "bob"), ("dave", "carol")]:
        program = _program(transfer_locked, src, dst, 5)
        locks = {line.split()[1] for line in program if line.split() and line.split()[0] == "acquire"}
        expect(locks == {f"lock_{src}", f"lock_{dst}"},
               f"transfer_locked({src!r}, {dst!r}, 5) should take exactly the locks lock_{src} and lock_{dst}, "
               f"took {sorted(locks) or 'none'}")
        bare = _unguarded(program, [src, dst])
        expect(bare is None, f"transfer_locked({src!r}, {dst!r}, 5) runs {bare!r} without holding both locks: "
                             "take both before the first load, release them after the last store")
    hint = "take the two locks in the same order in every thread (e.g. sorted by name)"
    tie_hint = ("take the two locks in one order for every pair of names: sort by the whole name, not by a "
                "key on which two names can tie")
    explored = _transfers_hold(transfer_locked, [("dave", "alice", 7), ("alice", "dave", 9)], ["alice", "dave"], hint)
    for a, b in _TIES:  # opposite transfers between two names that tie under a partial key
        a, b = (a, b) if rng.random() < 0.5 else (b, a)
        explored += _transfers_hold(transfer_locked, [(a, b, rng.randint(1, 30)), (b, a, rng.randint(1, 30))],
                                    [a, b], tie_hint)
    names = ["alice", "bob", "carol", "dave"] + [name for pair in _TIES for name in pair]
    names = sorted(set(names))
    for _ in range(3 if extra else 2):
        a, b, c = rng.sample(names, 3)
        x, y, z = (rng.randint(1, 30) for _ in range(3))
        explored += _transfers_hold(transfer_locked, [(a, b, x), (b, a, y)], [a, b], hint)
        explored += _transfers_hold(transfer_locked, [(a, b, x), (b, c, y), (c, a, z)], [a, b, c], hint)
    return f"no deadlock and the right balances in all {explored:,} schedules explored"


# ------------------------------------------------------------------------------ atomic counter (real threads)
@exercise("03.atomic_counter", "A counter whose update cannot be lost")
def check_atomic_counter(Counter, *, rng, extra):
    expect(isinstance(Counter, type), f"pass your class Counter itself, got {type(Counter).__name__}")
    counter = Counter()
    expect(counter.value == 0, f"a new Counter() should have value 0, got {counter.value!r}")
    seen = []
    got = counter.update(lambda v: seen.append(v) or v + 5)
    expect(seen == [0], f"update(fn) should call fn once with the current value (0), it was called with {seen}")
    expect(got == 5 and counter.value == 5, f"update(lambda v: v + 5) on 0 should return 5 and set value 5, "
                                            f"returned {got!r}, value {counter.value!r}")
    expect(counter.update(lambda v: v * 3) == 15, "update(lambda v: v * 3) on 5 should return 15")

    def fails(v):
        raise ZeroDivisionError("a failing fn")

    def after_failure():
        try:
            counter.update(fails)
        except ZeroDivisionError:
            pass
        counter.update(lambda v: v + 1)

    outcome = run_in_thread(after_failure, timeout=3, name="update")
    expect(outcome.finished, "after fn raised an exception, the next update() waited forever: release the lock "
                     "even when fn fails (`with self._lock:` does that)")
    if outcome.error is not None:
        raise outcome.error
    expect(counter.value == 16,
           f"after a failing fn the value should be unchanged (then +1 -> 16), got {counter.value!r}")

    threads, per_thread = 8, 40 if not extra else 100
    counter = _lingering(Counter)()

    def slow_increment(v):
        time.sleep(0)  # let another thread run here, as real work between read and write would
        return v + 1

    returned = []  # list.append is atomic: every value update() returned, from every thread
    def hammer():
        for _ in range(per_thread):
            returned.append(counter.update(slow_increment))

    workers = [threading.Thread(target=hammer, daemon=True, name=f"check-03-{i}") for i in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join(max(0.1, TIMEOUT - (time.monotonic() - start)))
    expect(not any(w.is_alive() for w in workers), f"{threads} threads calling update() did not finish within "
                                                   f"{TIMEOUT:g} s: is a lock never released?")
    total = threads * per_thread
    expect(counter.value == total, f"{threads} threads each made {per_thread} updates (+1) but value is "
                                   f"{counter.value}, not {total}: updates were lost; hold one lock, created "
                                   "once in __init__, around reading, fn and writing")
    duplicates = len(returned) - len(set(returned))
    expect(sorted(returned) == list(range(1, total + 1)),
           f"the values update() returned repeat ({duplicates} returned twice): return the new value you computed "
           "while holding the lock, not self.value read after releasing it")
    return f"{total} updates from {threads} real threads, none lost"


# ------------------------------------------------------------------------------ thread-pool fetcher
def _threads_left(fetch_all, *args):
    """``fetch_all(*args)``, and the threads it started that were still running when it returned."""
    before = set(threading.enumerate())
    value = fetch_all(*args)
    return value, [t for t in threading.enumerate() if t not in before and t.is_alive()]


@exercise("03.pool_fetch", "Fetch on a bounded pool of threads")
def check_pool_fetch(fetch_all, *, rng, extra):
    expect(callable(fetch_all), f"pass your function fetch_all, got {type(fetch_all).__name__}")
    for n, workers in ([(9, 3), (6, 2)] + ([(12, 4)] if extra else [])):
        lines = [f"job {rng.randint(100, 999)}-{i}\n".encode() for i in range(n)]
        with SlowServer(delay=0.25, response=lambda line: b"answer to " + line) as srv:
            outcome = run_in_thread(_threads_left, fetch_all, srv.address, lines, workers, timeout=TIMEOUT,
                                    name="fetch_all")
            stats = srv.requests, srv.max_in_flight
        got, left = outcome.result(f"fetch_all(address, {n} lines, {workers}) did not return within {TIMEOUT:g} s")
        want = [b"answer to " + line for line in lines]
        expect(isinstance(got, (list, tuple)) and len(got) == n,
               f"fetch_all with {n} lines should return a list of {n} responses, got {got!r:.80}")
        for i, (g, w) in enumerate(zip(got, want)):
            expect(g == w, f"response {i} is {g!r}, expected {w!r}: keep the responses in the order of the lines "
                           "(pool.map does)")
        requests, peak = stats
        expect(requests == n, f"the server received {requests} requests for {n} lines")
        expect(peak <= workers, f"the server saw {peak} requests in flight at once with max_workers={workers}: "
                                "let a pool of max_workers threads do all the fetching")
        expect(peak >= 2, "the server never saw two requests in flight at once: they ran one after another. "
                          "Submit them all to a ThreadPoolExecutor before you wait for any result "
                          "(future.result() right after submit waits for that one job); pool.map does both")
        expect(not left, f"when fetch_all returned, {len(left)} of its threads were still running: shut the pool "
                         "down before returning (a `with ThreadPoolExecutor(...) as pool:` block does), or join "
                         "your threads")
    return "responses in order, never more requests in flight than workers"
