"""The chapter 01 checks fail on wrong and cheating answers, with a hint, and pass on right ones."""

import heapq
import importlib
import importlib.util
import types

import pytest
from notebook_code import cells, definitions

from course_lib import models as course_models
from course_lib.check import CheckFailed, check
from course_lib.models import run_event_driven, run_sequential
from course_lib.timeline import Segment, Timeline
from course_lib.workload import Task, cpu, io

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


# --------------------------------------------------------------------------- more wrong answers, as students write them

EVENT = definitions("solutions/01_three_models", "setup", "event_loop_answer")
BLANK_EVENT = definitions("exercises/01_three_models", "setup", "event_loop_answer")


def _models_copy():
    """course_lib.models loaded a second time, from its file, under another name: fresh, unguarded functions."""
    spec = importlib.util.spec_from_file_location("my_models", course_models.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    return copy


MODELS_COPY = _models_copy()  # made outside the check, as a student would in an earlier cell
RELOADED = importlib.reload(course_models)  # the student's importlib.reload: new function objects


def hint(exercise_id, *objects):
    with pytest.raises(CheckFailed) as info:
        check(exercise_id, *objects)
    text = str(info.value)
    assert "\n" not in text and len(text) < 300, text
    return text


@pytest.mark.parametrize("answer, words", [
    (lambda: {"sequential": 13, "threaded": 8, "event_driven": 8}, "sequential is off"),          # off by one
    (lambda: {"sequential": 14, "threaded": 8, "event-driven": 8}, "should have the key"),        # a misspelt key
    (lambda: {"sequential": "14", "threaded": "8", "event_driven": "8"}, "number of seconds"),    # strings
    (lambda: {"sequential": course_models.run_sequential(
        [Task("A", [cpu(2), io(2), cpu(1)]), Task("B", [cpu(1), io(4), cpu(1)]), Task("C", [cpu(1), io(1), cpu(1)])]
    ).makespan, "threaded": 8, "event_driven": 8}, "don't call the course's run_"),                # runs a model
])
def test_predict_rejects(answer, words):
    assert words in hint("01.predict", answer)


def test_predict_accepts_floats():
    check("01.predict", lambda: {"sequential": 14.0, "threaded": 8.0, "event_driven": 8.0})


def sequential_counts_cpu_only(tasks):
    return sum(t.cpu_time for t in tasks)


def lower_bound_all_cpu_only(tasks):  # forgets that a task can't finish before its own steps are done
    return sum(t.cpu_time for t in tasks)


def lower_bound_is_sequential(tasks):  # everything in a row: not a lower bound at all
    return sum(t.cpu_time + t.io_time for t in tasks)


def lower_bound_off_by_one(tasks):
    return max(sum(t.cpu_time for t in tasks), max(t.cpu_time + t.io_time for t in tasks)) - 1


def lower_bound_from_steps(tasks):  # a valid alternative: no .cpu_time, from the steps
    cpu_total = sum(s.duration for t in tasks for s in t.steps if s.kind == "cpu")
    return max([cpu_total] + [sum(s.duration for s in t.steps) for t in tasks])


@pytest.mark.parametrize("seq, low, words", [
    (sequential_counts_cpu_only, SOL.lower_bound, "nothing overlaps"),
    (SOL.sequential_time, lower_bound_all_cpu_only, "the larger of"),
    (SOL.sequential_time, lower_bound_is_sequential, "the larger of"),
    (SOL.sequential_time, lower_bound_off_by_one, "the larger of"),
    (lambda ts: MODELS_COPY.run_sequential(ts).makespan, SOL.lower_bound, "don't call the course's run_"),
    (lambda ts: RELOADED.run_sequential(ts).makespan, SOL.lower_bound, "don't call the course's run_"),
    (types.FunctionType(course_models.run_sequential.__code__, vars(course_models)) and
     (lambda ts: types.FunctionType(course_models.run_sequential.__code__, vars(course_models))(ts).makespan),
     SOL.lower_bound, "don't call the course's run_"),
])
def test_bounds_rejects(seq, low, words):
    assert words in hint("01.bounds", seq, low)


def test_bounds_accepts_an_answer_from_the_steps():
    check("01.bounds", SOL.sequential_time, lower_bound_from_steps)


def test_bounds_counterexample_is_shrunk():
    text = hint("01.bounds", SOL.sequential_time, lower_bound_all_cpu_only)
    workload = text.split("[")[1].split("]")[0]
    assert workload.count(",") + workload.count("|") <= 2, text  # at most 3 steps, not 17


@pytest.mark.parametrize("wins, loses, words", [
    (lambda: [Task(f"t{i}", [cpu(3)]) for i in range(3)], SOL.loop_loses, "at most half"),           # cpu-bound wins?
    (SOL.loop_wins, lambda: [Task(f"t{i}", [cpu(0.1), io(5)]) for i in range(3)], "gain nothing"),    # I/O loses?
    (SOL.loop_wins, lambda: [Task("big", [cpu(6)]), Task("a", [cpu(0.1)]), Task("b", [cpu(0.1)])],  # unbalanced
     "at least 1.5x"),
    (lambda: SOL.loop_wins()[:2], SOL.loop_loses, "at least 3 tasks"),
])
def test_workloads_rejects(wins, loses, words):
    assert words in hint("01.workloads", wins, loses)


def test_workloads_accepts_another_pair():
    check("01.workloads", lambda: [Task(n, [cpu(0.5), io(10), cpu(0.5)]) for n in "ABC"],
          lambda: [Task(n, [cpu(2), cpu(2)]) for n in "ABCD"])


def _event_loop(ready_rejoin=True, tie="order", sleep_first=False):
    """Variants of the notebook's loop, as students get it wrong (each keyword is one mistake)."""
    def run(tasks):
        segments, ready, in_progress, now, order = [], [(t, 0) for t in tasks], [], 0.0, 0
        while ready or in_progress:
            while in_progress and (not ready or in_progress[0][0] <= now or sleep_first):
                end, _, _, task, index = heapq.heappop(in_progress)
                now = max(now, end)
                ready.append((task, index))
            task, index = ready.pop(0)
            while True:
                while index < len(task.steps) and task.steps[index].kind == "cpu":
                    segments.append(Segment(task.name, "cpu", now, now + task.steps[index].duration))
                    now += task.steps[index].duration
                    index += 1
                if index == len(task.steps):
                    break
                step = task.steps[index]
                segments.append(Segment(task.name, "io", now, now + step.duration))
                key = order if tie == "order" else task.name
                if ready_rejoin or index + 1 == len(task.steps) or task.steps[index + 1].kind == "cpu":
                    heapq.heappush(in_progress, (now + step.duration, key, order, task, index + 1))
                    order += 1
                    break
                now += step.duration  # runs the next I/O at once, without going through the queue
                index += 1
        return Timeline(segments)
    return run


def event_loop_one_cpu_step_a_turn(tasks):
    """Sends the running task to the back of the queue after each cpu step, as if the loop preempted it."""
    segments, ready, in_progress, now, order = [], [(t, 0) for t in tasks], [], 0.0, 0
    while ready or in_progress:
        while in_progress and (not ready or in_progress[0][0] <= now):
            end, _, task, index = heapq.heappop(in_progress)
            now = max(now, end)
            ready.append((task, index))
        task, index = ready.pop(0)
        step = task.steps[index]
        segments.append(Segment(task.name, step.kind, now, now + step.duration))
        if step.kind == "cpu":
            now += step.duration
            if index + 1 < len(task.steps):
                ready.append((task, index + 1))
        else:
            heapq.heappush(in_progress, (now + step.duration, order, task, index + 1))
            order += 1
    return Timeline(segments)


def event_loop_by_copied_model(tasks):
    import course_lib.models as m2  # the same module, under another name

    return m2.run_event_driven(tasks)


@pytest.mark.parametrize("answer, words", [
    # equal I/O ends broken by name, not by start:
    (_event_loop(tie="name"), "ready tasks run first in, first out"),
    (_event_loop(ready_rejoin=False), "sat idle"),                # waits out an I/O instead of queueing
    (_event_loop(sleep_first=True), "never sleep while a task is ready"),  # jumps to the next I/O end
    (event_loop_one_cpu_step_a_turn, "each until its next io step"),  # gives up the CPU between cpu steps
    (event_loop_by_copied_model, "don't call the course's run_"),
    (lambda tasks: MODELS_COPY.run_event_driven(tasks), "don't call the course's run_"),
    (lambda tasks: RELOADED.run_event_driven(tasks), "don't call the course's run_"),
    (BLANK_EVENT.my_event_driven, "not written yet"),
])
def test_event_loop_rejects(answer, words):
    assert words in hint("01.event_loop", answer)


def test_event_loop_accepts_a_sorted_list_instead_of_a_heap():
    def with_sorted_list(tasks):
        segments, ready, pending, now, order = [], [(t, 0) for t in tasks], [], 0.0, 0
        while ready or pending:
            pending.sort(key=lambda p: (p[0], p[1]))
            while pending and (not ready or pending[0][0] <= now):
                end, _, task, index = pending.pop(0)
                now = max(now, end)
                ready.append((task, index))
            task, index = ready.pop(0)
            for step in task.steps[index:]:
                segments.append(Segment(task.name, step.kind, now, now + step.duration))
                index += 1
                if step.kind == "io":
                    pending.append((now + step.duration, order, task, index))
                    order += 1
                    break
                now += step.duration
        return Timeline(segments)

    check("01.event_loop", with_sorted_list)
    check("01.event_loop", EVENT.my_event_driven)


def test_the_closing_cell_runs_in_the_solution_and_the_exercise(capsys):
    cells("solutions/01_three_models", "setup", "event_loop_answer", "event_loop_compare")
    blank = cells("exercises/01_three_models", "setup", "event_loop_answer", "event_loop_compare")  # no NameError
    assert blank.mine is None
    assert "not written yet" in capsys.readouterr().out
