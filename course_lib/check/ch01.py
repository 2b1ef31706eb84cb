"""Checks for chapter 01, three models.

Each check builds random workloads with the seeded ``rng``, runs the student's
function and compares what comes back with the course's own models.
"""

from __future__ import annotations

import os

from course_lib import models
from course_lib.check import exercise, expect
from course_lib.check.guard import Refuse
from course_lib.check.shrink import smallest_failure
from course_lib.models import run_event_driven, run_sequential, run_threaded
from course_lib.timeline import Timeline
from course_lib.workload import Task, cpu, io

__all__ = ["check_predict", "check_bounds", "check_workloads", "check_event_loop"]

TOL = 1e-6


def random_tasks(rng, n_tasks=None, max_steps=5) -> list[Task]:
    n_tasks = n_tasks or rng.randint(1, 5)
    tasks = []
    for i in range(n_tasks):
        steps = [(cpu if rng.random() < 0.5 else io)(rng.choice([0.5, 1, 1.5, 2, 3]))
                 for _ in range(rng.randint(1, max_steps))]
        tasks.append(Task("ABCDEFGH"[i], steps))
    return tasks


def show(tasks) -> str:
    """A workload in one short line: ``A: cpu 1, io 2 | B: ...``."""
    return " | ".join(f"{t.name}: " + ", ".join(f"{s.kind} {s.duration:g}" for s in t.steps) for t in tasks)


def _refusing_models():
    """While the student's code runs, calling any of the course's models fails the check (``guard.Refuse``)."""
    return Refuse(models, hint="this exercise asks you to write it yourself: don't call the course's run_* "
                               "models (nor plot_models, which calls them)")


def _simpler_task(task):
    """Simpler versions of a task, for the shrinker: one step fewer, or a step of 1 s."""
    steps = list(task.steps)
    for i in range(len(steps) if len(steps) > 1 else 0):
        yield Task(task.name, steps[:i] + steps[i + 1:])
    for i, step in enumerate(steps):
        if step.duration != 1:
            yield Task(task.name, steps[:i] + [(cpu if step.kind == "cpu" else io)(1)] + steps[i + 1:])


def _callable(obj, name):
    expect(callable(obj), f"pass your function {name} itself to check(), got {type(obj).__name__} {obj!r}")


def _number(value, what):
    expect(isinstance(value, (int, float)) and not isinstance(value, bool),
           f"{what} should return a number of seconds, got {type(value).__name__} {value!r}")


@exercise("01.predict", "Predict three makespans by hand")
def check_predict(predictions, *, rng, extra):
    expect(callable(predictions), "pass your function predictions itself to check()")
    with _refusing_models():
        got = predictions()
    expect(isinstance(got, dict), f"predictions() should return a dict, got {type(got).__name__}")
    tasks = [Task("A", [cpu(2), io(2), cpu(1)]), Task("B", [cpu(1), io(4), cpu(1)]), Task("C", [cpu(1), io(1), cpu(1)])]
    want = {
        "sequential": run_sequential(tasks).makespan,
        "threaded": run_threaded(tasks, cores=1, quantum=1).makespan,
        "event_driven": run_event_driven(tasks).makespan,
    }
    for key in want:
        expect(key in got, f"predictions() should have the key {key!r} (keys: sequential, threaded, event_driven)")
        _number(got[key], f"predictions()[{key!r}]")
    wrong = [key for key in want if abs(got[key] - want[key]) > TOL]
    expect(not wrong, f"not quite: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} off. "
                      "Draw the timeline on paper, one row per task, and count again.")
    return "all three right"


def _bounds_case(sequential_time, lower_bound, tasks):
    with _refusing_models():
        got = sequential_time(tasks)
    _number(got, "sequential_time")
    want = run_sequential(tasks).makespan
    expect(abs(got - want) < TOL, f"sequential_time for [{show(tasks)}] returned {got:g}, expected {want:g}: "
                                  "in the sequential model nothing overlaps")
    with _refusing_models():
        got = lower_bound(tasks)
    _number(got, "lower_bound")
    want = max(sum(t.cpu_time for t in tasks), max(t.cpu_time + t.io_time for t in tasks))
    expect(run_event_driven(tasks).makespan >= got - TOL,
           f"lower_bound for [{show(tasks)}] returned {got:g}, above the {run_event_driven(tasks).makespan:g} s "
           "the event loop achieves: a lower bound can't be beaten")
    expect(abs(got - want) < TOL, f"lower_bound for [{show(tasks)}] returned {got:g}, expected {want:g}: "
                                  "the larger of 'all cpu steps on one CPU' and 'the longest task on its own'")


@exercise("01.bounds", "Bounds on any schedule")
def check_bounds(sequential_time, lower_bound, *, rng, extra):
    _callable(sequential_time, "sequential_time")
    _callable(lower_bound, "lower_bound")
    for _ in range(200 if extra else 40):
        smallest_failure(lambda tasks: _bounds_case(sequential_time, lower_bound, tasks), random_tasks(rng),
                         simpler=_simpler_task, minimum=1)
    return "40 random workloads"


@exercise("01.workloads", "A workload where the loop wins, and one where it doesn't")
def check_workloads(loop_wins, loop_loses, *, rng, extra):
    _callable(loop_wins, "loop_wins")
    _callable(loop_loses, "loop_loses")
    for name, make in (("loop_wins", loop_wins), ("loop_loses", loop_loses)):
        tasks = make()
        expect(isinstance(tasks, list) and all(isinstance(t, Task) for t in tasks),
               f"{name}() should return a list of Task objects, got {tasks!r:.80}")
        expect(len(tasks) >= 3, f"{name}() should return at least 3 tasks, got {len(tasks)}")
    tasks = loop_wins()
    seq, event = run_sequential(tasks).makespan, run_event_driven(tasks).makespan
    expect(event <= seq / 2 + TOL, f"loop_wins: the event loop takes {event:g} s against {seq:g} s sequentially; "
                                   "make it at most half. What do the tasks spend most of their time doing?")
    tasks = loop_loses()
    seq, event = run_sequential(tasks).makespan, run_event_driven(tasks).makespan
    two_cores = run_threaded(tasks, cores=2, quantum=0.5).makespan
    expect(event >= seq - TOL, f"loop_loses: the event loop takes {event:g} s against {seq:g} s sequentially; "
                               "it should gain nothing. What can a loop not overlap?")
    expect(two_cores * 1.5 <= event + TOL, f"loop_loses: two cores with threads take {two_cores:g} s against the "
                                           f"loop's {event:g} s; make threads on two cores at least 1.5x faster")
    return "the loop wins the first and gains nothing on the second"


def _as_timeline(result, name):
    expect(isinstance(result, Timeline), f"{name} should return a Timeline, got {type(result).__name__}")
    return result


def _event_loop_case(my_event_driven, tasks):
    with _refusing_models():
        tl = my_event_driven(tasks)
    tl = _as_timeline(tl, "my_event_driven(tasks)")
    where = f"for [{show(tasks)}]"
    for s in tl.segments:
        expect(s.kind in ("cpu", "io", "ready"), f"segment kinds are 'cpu', 'io' or 'ready', got {s.kind!r}")
    for task in tasks:
        work = [s for s in tl.for_task(task.name) if s.kind != "ready"]
        kinds = [(s.kind, round(s.duration, 6)) for s in work]
        want = [(s.kind, round(s.duration, 6)) for s in task.steps]
        expect(kinds == want, f"{where}: task {task.name}'s segments {kinds} should match its steps {want}, in order")
        for a, b in zip(work, work[1:]):
            expect(a.end <= b.start + TOL,
                   f"{where}: task {task.name} starts a step before the previous one ends ({a} then {b})")
    cpu_segments = sorted(tl.of_kind("cpu"), key=lambda s: s.start)
    for a, b in zip(cpu_segments, cpu_segments[1:]):
        expect(a.end <= b.start + TOL, f"{where}: {a.task} and {b.task} use the one CPU at the same time")
    idle = _idle_while_ready(tasks, tl, cpu_segments)
    expect(idle is None, f"{where}: the loop sat idle from {idle and idle[1]:g} to {idle and idle[2]:g} while task "
                         f"{idle and idle[0]} was ready: never sleep while a task is ready" if idle else "")
    want = run_event_driven(tasks)
    expect(abs(tl.makespan - want.makespan) < TOL,
           f"{where}: makespan {tl.makespan:g}, expected {want.makespan:g}. Does every task whose I/O ended "
           "(even one whose next step is I/O) rejoin the back of the ready queue, and does the loop never "
           "sleep while a task is ready?")
    got_finish = {s.task: round(s.end, 6) for s in sorted(tl.segments, key=lambda s: s.end) if s.kind != "ready"}
    want_finish = {s.task: round(s.end, 6) for s in sorted(want.segments, key=lambda s: s.end) if s.kind != "ready"}
    expect(got_finish == want_finish,
           f"{where}: tasks finish at {got_finish}, expected {want_finish}: ready tasks run first in, first out, "
           "each until its next io step; of I/Os that end together, the one started first joins first")


def _idle_while_ready(tasks, tl, cpu_segments):
    """(task, from, to) of a time when no cpu step ran although a task could go on, or None.

    A task can go on (it is ready) from the end of one of its steps (or from 0) until its
    next step starts; only the running task starts its steps, so the loop must be busy then."""
    busy = [(s.start, s.end) for s in cpu_segments]
    for task in tasks:
        work = sorted((s for s in tl.for_task(task.name) if s.kind != "ready"), key=lambda s: s.start)
        for ready_from, seg in zip([0.0] + [s.end for s in work], work):
            start, end = ready_from, seg.start
            for a, b in busy:  # walk the busy time inside [start, end)
                if b <= start + TOL or a >= end - TOL:
                    continue
                if a > start + TOL:
                    return task.name, start, a
                start = max(start, b)
            if end - start > TOL:
                return task.name, start, end
    return None


@exercise("01.event_loop", "Write the event-driven model yourself")
def check_event_loop(my_event_driven, *, rng, extra):
    _callable(my_event_driven, "my_event_driven")
    code = getattr(my_event_driven, "__code__", None)
    expect(code is None or os.path.realpath(code.co_filename) != os.path.realpath(models.__file__),
           f"that is the course's {code and code.co_name}: write your own my_event_driven")
    fixed = [Task(n, [cpu(1), io(2), cpu(1)]) for n in "ABC"]
    cases = [fixed] + [random_tasks(rng) for _ in range(150 if extra else 40)]
    for tasks in cases:
        smallest_failure(lambda ts: _event_loop_case(my_event_driven, ts), tasks, simpler=_simpler_task, minimum=1)
    return f"{len(cases)} workloads, same schedule as the course's loop"
