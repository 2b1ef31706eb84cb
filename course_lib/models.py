"""The three programming models, run on a virtual clock.

What it is: three small simulators that take the same list of tasks
(``course_lib.workload``) and return a ``Timeline`` of what ran when:

- ``run_sequential(tasks)``: one thread does every step of A, then of B, ... An I/O
  step blocks the whole program.
- ``run_threaded(tasks, cores=1, quantum=0.5, switch_cost=0)``: one thread per task,
  scheduled by a preemptive round-robin "operating system": a thread runs for at
  most ``quantum`` seconds of CPU, then goes to the back of the ready queue if
  another thread is waiting. I/O blocks only its own thread.
- ``run_event_driven(tasks)``: one thread, one loop. A task runs until its next I/O
  step, starts that I/O and gives the CPU back to the loop; when the I/O completes
  the task joins the loop's ready queue. Nothing is ever preempted.

Rules all three keep (the property tests in ``tests/test_models.py`` check them):
every step of a task appears in order with its exact duration (only the threaded
model splits a CPU step, at quantum boundaries); at most ``cores`` CPU segments
overlap; no CPU idles while a task is ready; ready tasks are served first in, first
out, in the given order at the start. Moving from one step to the next needs the
CPU for a moment of zero length: a task whose I/O completes must be scheduled
before it can start its next I/O.

What it is not: a model of a real operating system's scheduler, of the GIL, or of
cache effects. The numbers are seconds on a virtual clock, chosen to make the
differences between the models easy to see.
"""

from __future__ import annotations

import heapq
from collections import deque

from course_lib import validate
from course_lib.segments import Segment, Timeline
from course_lib.workload import check_tasks

__all__ = ["run_sequential", "run_threaded", "run_event_driven"]

EPS = 1e-9  # two event times closer than this are the same instant


def run_sequential(tasks) -> Timeline:
    """Every step of the first task, then every step of the next, on one thread."""
    tasks = check_tasks(tasks)
    segments, now = [], 0.0
    for task in tasks:
        for index, step in enumerate(task.steps):
            segments.append(Segment(task.name, step.kind, now, now + step.duration, index))
            now += step.duration
    return Timeline(segments, title="single-threaded", tasks=[t.name for t in tasks])


def run_event_driven(tasks) -> Timeline:
    """One loop: run a ready task until it starts I/O; tasks whose I/O completed queue up, FIFO."""
    tasks = check_tasks(tasks)
    segments = []
    ready = deque((task, 0, 0.0) for task in tasks)  # (task, next step index, ready since)
    waiting = []  # heap of (I/O end time, order started, task, next step index)
    now, started = 0.0, 0
    while ready or waiting:
        while waiting and (not ready or waiting[0][0] <= now + EPS):
            end, _, task, index = heapq.heappop(waiting)  # I/O done: the task may continue
            now = max(now, end)
            if index < len(task.steps):  # a task whose last step was this I/O is finished
                ready.append((task, index, end))
        if not ready:  # the last I/O in flight finished a task: nothing left to do
            break
        task, index, since = ready.popleft()
        if now - since > EPS:
            segments.append(Segment(task.name, "ready", since, now))
        while index < len(task.steps) and task.steps[index].kind == "cpu":
            step = task.steps[index]
            segments.append(Segment(task.name, "cpu", now, now + step.duration, index))
            now += step.duration
            index += 1
        if index < len(task.steps):  # an I/O step: start it, give the CPU back to the loop
            step = task.steps[index]
            segments.append(Segment(task.name, "io", now, now + step.duration, index))
            heapq.heappush(waiting, (now + step.duration, started, task, index + 1))
            started += 1
    return Timeline(segments, title="event-driven", tasks=[t.name for t in tasks])


class _Thread:
    """Bookkeeping for one task in the threaded model."""

    def __init__(self, task):
        self.task, self.index = task, 0
        self.left = task.steps[0].duration  # seconds left in the current step
        self.ready_since = 0.0

    @property
    def step(self):
        return self.task.steps[self.index]

    def advance(self) -> bool:
        """Move to the next step; False when the task is finished."""
        self.index += 1
        if self.index < len(self.task.steps):
            self.left = self.step.duration
            return True
        return False


def run_threaded(tasks, cores: int = 1, quantum: float = 0.5, switch_cost: float = 0.0) -> Timeline:
    """One thread per task on ``cores`` processors, preemptive round robin with time slices of ``quantum``.

    ``switch_cost`` > 0 adds a ``"switch"`` segment each time a processor changes threads.
    """
    tasks = check_tasks(tasks)
    cores = validate.count(cores, "cores", minimum=1)
    quantum = validate.seconds(quantum, "quantum", above=0)
    switch_cost = validate.seconds(switch_cost, "switch_cost", minimum=0)
    segments = []
    ready = deque(_Thread(task) for task in tasks)
    waiting = []  # heap of (I/O end, order started, thread)
    running = [None] * cores  # per core: [thread, run start, quantum left] or None
    last_on_core = [None] * cores
    now, started = 0.0, 0

    def dispatch():
        nonlocal started
        for core in range(cores):
            while running[core] is None and ready:
                thread = ready.popleft()
                if now - thread.ready_since > EPS:
                    segments.append(Segment(thread.task.name, "ready", thread.ready_since, now))
                if thread.step.kind == "io":  # starting I/O takes no CPU time; the thread blocks
                    segments.append(Segment(thread.task.name, "io", now, now + thread.left, thread.index))
                    heapq.heappush(waiting, (now + thread.left, started, thread))
                    started += 1
                    continue
                start = now
                if switch_cost and last_on_core[core] not in (None, thread):
                    segments.append(Segment(thread.task.name, "switch", now, now + switch_cost))
                    start = now + switch_cost
                last_on_core[core] = thread
                running[core] = [thread, start, quantum]

    dispatch()
    while any(running) or waiting:
        ends = [r[1] + min(r[0].left, r[2]) for r in running if r]
        now = min(ends + ([waiting[0][0]] if waiting else []))
        preempted = []
        for core, slot in enumerate(running):
            if slot is None or slot[1] + min(slot[0].left, slot[2]) > now + EPS:
                continue
            thread, start, q_left = slot
            ran = min(thread.left, q_left)
            if now > start:
                segments.append(Segment(thread.task.name, "cpu", start, now, thread.index))
            thread.left -= ran
            q_left -= ran
            running[core] = None
            if thread.left <= EPS:  # the step is finished
                if not thread.advance():
                    continue
                if thread.step.kind == "io":
                    segments.append(Segment(thread.task.name, "io", now, now + thread.left, thread.index))
                    heapq.heappush(waiting, (now + thread.left, started, thread))
                    started += 1
                    continue
            if q_left <= EPS:
                preempted.append((core, thread))
            else:
                running[core] = [thread, now, q_left]
        while waiting and waiting[0][0] <= now + EPS:
            _, _, thread = heapq.heappop(waiting)
            if thread.advance():
                thread.ready_since = now
                ready.append(thread)
        for core, thread in preempted:  # time slice used up: yield only if someone is waiting
            if ready:
                thread.ready_since = now
                ready.append(thread)
            else:
                running[core] = [thread, now, quantum]
        dispatch()
    title = f"threaded ({cores} core{'s' if cores > 1 else ''}, quantum {quantum:g})"
    return Timeline(_merge_touching(segments), title=title, tasks=[t.name for t in tasks])


def _merge_touching(segments):
    """Join a thread's cpu pieces of one step that follow without a break (a slice renewed, no switch)."""
    merged, last = [], {}  # last: task -> index in merged of its latest segment
    for s in sorted(segments, key=lambda s: (s.start, s.end)):
        i = last.get(s.task)
        before = merged[i] if i is not None else None
        if before and s.kind == before.kind == "cpu" and s.step == before.step and abs(before.end - s.start) <= EPS:
            merged[i] = Segment(s.task, "cpu", before.start, s.end, s.step)
        else:
            last[s.task] = len(merged)
            merged.append(s)
    return merged
