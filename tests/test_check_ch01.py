"""The chapter 01 checks fail on wrong and cheating answers, with a hint, and pass on right ones."""

import heapq

import pytest

from course_lib.check import CheckFailed, check
from course_lib.models import run_event_driven, run_sequential
from course_lib.workload import Task, cpu
from notebook_code import definitions

SOL = definitions("solutions/01_three_models", "setup", "predict_answer", "bounds_answer", "workloads_answer")


def test_predict():
    check("01.predict", SOL.predictions)
    with pytest.raises(CheckFailed, match="threaded is off"):
        check("01.predict", lambda: {"sequential": 14, "threaded": 9, "event_driven": 8})
    with pytest.raises(CheckFailed, match="dict"):
        check("01.predict", lambda: (14, 8, 8))


def test_bounds_refuses_the_course_models():
    check("01.bounds", SOL.sequential_time, SOL.lower_bound)
    with pytest.raises(CheckFailed, match="don't call the course's run_"):
        check("01.bounds", lambda ts: run_sequential(ts).makespan, SOL.lower_bound)
    with pytest.raises(CheckFailed, match="the larger of"):
        check("01.bounds", SOL.sequential_time, lambda ts: sum(t.cpu_time for t in ts))
    assert run_sequential([Task("A", [cpu(1)])]).makespan == 1  # the models work again afterwards


def test_workloads():
    wins, loses = SOL.loop_wins, SOL.loop_loses
    check("01.workloads", wins, loses)
    with pytest.raises(CheckFailed, match="loop_loses"):
        check("01.workloads", wins, wins)
    with pytest.raises(CheckFailed, match="at least 3 tasks"):
        check("01.workloads", lambda: wins()[:2], loses)


def test_event_loop_rejects_the_course_model_and_a_loop_that_skips_the_queue():
    with pytest.raises(CheckFailed, match="write your own"):
        check("01.event_loop", run_event_driven)
    with pytest.raises(CheckFailed, match="don't call"):
        check("01.event_loop", lambda tasks: run_event_driven(tasks))

    from course_lib.timeline import Segment, Timeline

    def lifo(tasks):  # serves the newest ready task first: a stack, not a queue
        segments, ready, waiting, now, n = [], [(t, 0) for t in tasks], [], 0.0, 0
        while ready or waiting:
            if not ready:
                end, _, task, i = heapq.heappop(waiting)
                now = max(now, end)
                ready.append((task, i))
            task, i = ready.pop()
            while i < len(task.steps):
                step = task.steps[i]
                segments.append(Segment(task.name, step.kind, now, now + step.duration))
                if step.kind == "io":
                    heapq.heappush(waiting, (now + step.duration, n, task, i + 1))
                    n += 1
                    break
                now += step.duration
                i += 1
        return Timeline(segments)

    with pytest.raises(CheckFailed, match="makespan|finish"):
        check("01.event_loop", lifo)
