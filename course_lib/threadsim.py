"""A thread interleaving explorer: tiny threads, shared memory, every possible order.

What it is: a deterministic stand-in for threads. Each thread is a short program of
*atomic steps* (a step is never interrupted half-way) over shared memory; each thread
has its own private registers. The instruction set, one instruction per line (its
syntax, parser and static checks are in ``course_lib.threadprog``)::

    load r, counter      register r = shared variable counter
    store counter, r     shared variable counter = register r (or a number: store counter, 0)
    add r, 1             r = r + 1     (the second operand: a register or a number)
    sub r, x             r = r - x
    acquire L            take lock L; if another thread holds it, wait (blocked)
    release L            give lock L back (only the thread holding it may)

``# comments`` and blank lines are ignored. A ``Scheduler`` runs the threads one step
at a time, in an order you choose (a *schedule*: the list of thread names that step,
in turn) or round robin when the schedule runs out::

    programs = {"T1": ["load r, counter", "add r, 1", "store counter, r"],
                "T2": ["load r, counter", "add r, 1", "store counter, r"]}
    sim = Scheduler(programs, {"counter": 0}, schedule=["T1", "T2", "T1", "T2", "T1", "T2"])
    sim.run(); sim.memory                      # {'counter': 1}: an update was lost

``search(programs, memory, invariant)`` looks for a schedule that ends with the invariant
false or in a *deadlock* (no thread can step, yet not all have finished): every schedule
for small programs, or ``tries`` random ones (seeded) for larger ones. ``interleavings``
yields every finished run. ``Scheduler`` is steppable (``step``, ``done``, ``snapshot``,
``timeline``), so ``widgets.Stepper`` can step it.

What it is not: a model of real hardware or of Python. Real threads are interrupted
between machine instructions, caches and compilers reorder memory accesses, and
CPython's bytecode is not this instruction set. Programs here have no jumps, so every
run is finite; the explorer shows *which orders are possible* and nothing about timing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from course_lib import validate
from course_lib.segments import Segment, Timeline
from course_lib.threadprog import Instruction, ProgramError, parse, parse_programs

__all__ = ["ProgramError", "Instruction", "Scheduler", "SearchResult", "search", "interleavings", "parse"]


class Scheduler:
    """Runs the threads of ``programs`` over shared ``memory``, one atomic step per ``step()``."""

    def __init__(self, programs: dict, memory: dict | None = None, schedule=None):
        memory = dict(memory or {})
        self.programs = parse_programs(programs, memory)
        self.names = list(self.programs)
        self.initial = dict(memory)
        self.memory = memory
        self.pc = {t: 0 for t in self.names}
        self.registers = {t: {} for t in self.names}
        self.locks = {i.args[0]: None for p in self.programs.values() for i in p if i.op == "acquire"}
        self.plan = [] if schedule is None else list(schedule)
        self.schedule: list[str] = []        # who actually stepped, in order
        self.history: list[tuple] = []       # (thread, pc, instruction, states of all threads before the step)
        self.last = "nothing yet"

    # -- state ------------------------------------------------------------------
    def state(self, thread: str) -> str:
        """'finished', 'blocked on X' or 'ready'."""
        program, pc = self.programs[thread], self.pc[thread]
        if pc >= len(program):
            return "finished"
        ins = program[pc]
        if ins.op == "acquire" and self.locks[ins.args[0]] is not None:
            return f"blocked on {ins.args[0]}"
        return "ready"

    def runnable(self) -> list:
        return [t for t in self.names if self.state(t) == "ready"]

    finished = property(lambda self: all(self.state(t) == "finished" for t in self.names))
    deadlocked = property(lambda self: not self.runnable() and not self.finished)
    done = property(lambda self: not self.runnable(), doc="True when no thread can step")

    def clone(self) -> "Scheduler":
        new = object.__new__(Scheduler)
        new.__dict__.update(self.__dict__)
        new.memory, new.pc, new.locks = dict(self.memory), dict(self.pc), dict(self.locks)
        new.registers = {t: dict(r) for t, r in self.registers.items()}
        new.plan, new.schedule, new.history = list(self.plan), list(self.schedule), list(self.history)
        return new

    # -- stepping -----------------------------------------------------------------
    def _next_thread(self) -> str:
        if len(self.schedule) < len(self.plan):
            return self.plan[len(self.schedule)]
        ready = self.runnable()
        after = self.names.index(self.schedule[-1]) + 1 if self.schedule else 0
        return min(ready, key=lambda t: (self.names.index(t) - after) % len(self.names))

    def step(self, thread: str | None = None) -> str:
        """Run one atomic step of ``thread`` (default: next in the schedule, else round robin)."""
        if thread is None:
            if self.done:
                raise RuntimeError(f"nothing can step: {self._why_done()}")
            thread = self._next_thread()
        where = f"schedule[{len(self.schedule)}]"
        if thread not in self.programs:
            raise ProgramError(f"{where} is {thread!r}, which is not a thread; threads are {', '.join(self.names)}")
        state = self.state(thread)
        if state == "finished":
            raise ProgramError(f"{where}: {thread} has finished and cannot step")
        if state != "ready":
            lock = state.split()[-1]
            raise ProgramError(f"{where}: {thread} is {state} (held by {self.locks[lock]}) and cannot step")
        before = {t: self.state(t) for t in self.names}
        ins, regs = self.programs[thread][self.pc[thread]], self.registers[thread]
        val = lambda a: a if isinstance(a, int) else regs[a]  # noqa: E731
        if ins.op == "load":
            regs[ins.args[0]] = self.memory[ins.args[1]]
            effect = f"{ins.args[0]} = {regs[ins.args[0]]}"
        elif ins.op == "store":
            self.memory[ins.args[0]] = val(ins.args[1])
            effect = f"{ins.args[0]} = {self.memory[ins.args[0]]}"
        elif ins.op in ("add", "sub"):
            regs[ins.args[0]] += val(ins.args[1]) * (1 if ins.op == "add" else -1)
            effect = f"{ins.args[0]} = {regs[ins.args[0]]}"
        elif ins.op == "acquire":
            self.locks[ins.args[0]] = thread
            effect = f"{thread} holds {ins.args[0]}"
        else:  # release; parse_programs made sure the thread holds it
            self.locks[ins.args[0]] = None
            effect = f"{ins.args[0]} is free"
        self.history.append((thread, self.pc[thread], ins, before))
        self.pc[thread] += 1
        self.schedule.append(thread)
        self.last = f"{thread}: {ins.text}  →  {effect}"
        if self.deadlocked:
            self.last += f"  — DEADLOCK: {self._why_done()}"
        return self.last

    def run(self, max_steps: int | None = None) -> "Scheduler":
        """Step until no thread can step (or ``max_steps`` steps); returns self."""
        validate.count(max_steps, "max_steps", optional=True)
        steps = 0
        while not self.done and (max_steps is None or steps < max_steps):
            self.step()
            steps += 1
        return self

    def _why_done(self) -> str:
        if self.finished:
            return "every thread has finished"
        waits = [f"{t} waits for {s.split()[-1]} (held by {self.locks[s.split()[-1]]})"
                 for t in self.names if (s := self.state(t)).startswith("blocked")]
        return ", ".join(waits)

    # -- the steppable protocol -----------------------------------------------------
    def snapshot(self) -> dict:
        threads = [{"name": t, "pc": self.pc[t],
                    "next": self.programs[t][self.pc[t]].text if self.pc[t] < len(self.programs[t]) else "—",
                    "state": self.state(t), "registers": dict(self.registers[t])} for t in self.names]
        return {"clock": len(self.schedule), "threads": threads, "memory": dict(self.memory),
                "locks": dict(self.locks), "last": self.last}

    def timeline(self) -> Timeline:
        """One time unit per step: the thread that stepped runs; blocked threads wait; ready ones are hatched."""
        segs = []
        for k, (thread, pc, _, before) in enumerate(self.history):
            segs.append(Segment(thread, "cpu", k, k + 1, step=pc))
            for t, s in before.items():
                kind = "ready" if s == "ready" else "blocked" if s.startswith("blocked") else None
                if t != thread and kind:
                    segs.append(Segment(t, kind, k, k + 1))
        merged = []  # join neighbouring waiting segments of one thread into one bar
        for s in sorted(segs, key=lambda s: (s.task, s.start)):
            m = merged[-1] if merged else None
            if m and s.kind != "cpu" and (m.task, m.kind, m.end) == (s.task, s.kind, s.start):
                merged[-1] = Segment(s.task, s.kind, m.start, s.end)
            else:
                merged.append(s)
        return Timeline(merged, title="interleaving explorer (one step = one time unit)", tasks=self.names)

    def __repr__(self) -> str:
        return f"Scheduler({len(self.names)} threads, step {len(self.schedule)}, memory={self.memory})"


@dataclass
class SearchResult:
    """What ``search`` found: ``schedule`` is a bad schedule, or None if none was found."""

    schedule: list | None
    explored: int
    problem: str = ""          # "deadlock" or "invariant broken" (empty if nothing was found)
    memory: dict | None = None  # shared memory at the end of the bad schedule
    exhaustive: bool = True     # True if every schedule was tried

    def __str__(self) -> str:
        n = f"{self.explored:,} {'' if self.exhaustive else 'random '}schedule{'s' * (self.explored != 1)}"
        if self.schedule is None:
            return f"no bad schedule: all {self.explored:,} possible schedules end well" if self.exhaustive else \
                f"no bad schedule in {n} (not a proof: others may exist)"
        return (f"{self.problem} after schedule {', '.join(self.schedule)} "
                f"(memory {self.memory}; found after exploring {n})")


def interleavings(programs: dict, memory: dict | None = None, limit: int = 200_000):
    """Yield the finished ``Scheduler`` of every possible schedule (finished or deadlocked), depth first."""
    validate.count(limit, "limit", minimum=1)
    stack, count = [Scheduler(programs, memory)], 0
    while stack:
        sim = stack.pop()
        ready = sim.runnable()
        if not ready:
            count += 1
            if count > limit:
                raise ProgramError(f"more than limit={limit} schedules; use search(..., tries=N) for a random search")
            yield sim
            continue
        for t in reversed(ready):
            child = sim.clone()
            child.step(t)
            stack.append(child)


def search(programs: dict, memory: dict | None = None, invariant=None, *, tries: int | None = None,
           seed: int = 0, limit: int = 200_000) -> SearchResult:
    """Look for a schedule ending in a deadlock or with ``invariant(memory)`` false.

    ``tries=None``: every schedule (depth first; at most ``limit``). ``tries=N``: N random
    schedules, reproducible with ``seed``. Returns a ``SearchResult``.
    """
    validate.count(tries, "tries", minimum=1, optional=True)
    validate.count(limit, "limit", minimum=1)
    if invariant is not None and not callable(invariant):
        raise TypeError(f"invariant must be a function memory -> bool, got {type(invariant).__name__}")

    def bad(sim):
        if sim.deadlocked:
            return "deadlock"
        return "invariant broken" if invariant is not None and not invariant(dict(sim.memory)) else ""

    explored = 0
    if tries is None:
        runs = interleavings(programs, memory, limit)
    else:
        rng, start = random.Random(seed), Scheduler(programs, memory)

        def random_runs():
            for _ in range(tries):
                sim = start.clone()
                while not sim.done:
                    sim.step(rng.choice(sim.runnable()))
                yield sim
        runs = random_runs()
    for sim in runs:
        explored += 1
        problem = bad(sim)
        if problem:
            return SearchResult(sim.schedule, explored, problem, dict(sim.memory), tries is None)
    return SearchResult(None, explored, "", None, tries is None)
