"""The three models keep the contract's rules on random workloads (hypothesis)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.models import run_event_driven, run_sequential, run_threaded
from course_lib.workload import Task, cpu, io

TOL = 1e-6

durations = st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
steps = st.lists(st.tuples(st.sampled_from(["cpu", "io"]), durations), min_size=1, max_size=6)
workloads = st.lists(steps, min_size=1, max_size=5).map(
    lambda tasks: [Task(chr(65 + i), [cpu(d) if k == "cpu" else io(d) for k, d in s]) for i, s in enumerate(tasks)]
)
threaded_args = st.fixed_dictionaries(
    {"cores": st.integers(1, 3), "quantum": st.sampled_from([0.25, 0.5, 1.0, 2.0])}
)


def run_all(tasks, cores, quantum):
    return [
        (run_sequential(tasks), 1),
        (run_threaded(tasks, cores=cores, quantum=quantum), cores),
        (run_event_driven(tasks), 1),
    ]


def assert_steps_in_order(tasks, tl):
    for task in tasks:
        work = [s for s in tl.for_task(task.name) if s.kind in ("cpu", "io")]
        assert all(s.step is not None for s in work)
        assert [s.step for s in work] == sorted(s.step for s in work), "steps out of order"
        for i, step in enumerate(task.steps):
            pieces = [s for s in work if s.step == i]
            assert pieces and all(p.kind == step.kind for p in pieces)
            assert abs(sum(p.duration for p in pieces) - step.duration) < TOL
        for a, b in zip(work, work[1:]):
            assert a.end <= b.start + TOL, f"{task.name}: {a} overlaps {b}"


def instants(tl):
    times = sorted({t for s in tl.segments for t in (s.start, s.end)})
    return [(a + b) / 2 for a, b in zip(times, times[1:]) if b - a > TOL]


def active(tl, t, kinds):
    return [s for s in tl.segments if s.kind in kinds and s.start < t < s.end]


@settings(max_examples=150, deadline=None)
@given(workloads, threaded_args)
def test_every_step_appears_in_order_with_its_exact_duration(tasks, args):
    for tl, _ in run_all(tasks, **args):
        assert_steps_in_order(tasks, tl)


@settings(max_examples=150, deadline=None)
@given(workloads, threaded_args)
def test_never_more_cpu_work_at_once_than_cores_and_no_cpu_idles_while_a_task_is_ready(tasks, args):
    for tl, cores in run_all(tasks, **args):
        for t in instants(tl):
            busy = len(active(tl, t, ("cpu", "switch")))
            assert busy <= cores, f"{tl.title}: {busy} CPU segments at t={t}"
            if active(tl, t, ("ready",)):
                assert busy == cores, f"{tl.title}: a task is ready at t={t} but a CPU idles"


@settings(max_examples=150, deadline=None)
@given(workloads, threaded_args)
def test_a_task_does_one_thing_at_a_time_and_ready_tasks_are_served_fifo(tasks, args):
    for tl, _ in run_all(tasks, **args):
        for task in tasks:
            mine = tl.for_task(task.name)
            for a, b in zip(mine, mine[1:]):
                assert a.end <= b.start + TOL
        ready = tl.of_kind("ready")
        for a in ready:
            for b in ready:
                if a.start < b.start - TOL:
                    assert a.end <= b.end + TOL, f"{tl.title}: {b.task} overtook {a.task}"


@settings(max_examples=150, deadline=None)
@given(workloads, threaded_args)
def test_io_blocks_everyone_only_in_the_sequential_model(tasks, args):
    seq, threaded, event = (tl for tl, _ in run_all(tasks, **args))
    total = sum(s.duration for t in tasks for s in t.steps)
    assert abs(seq.makespan - total) < TOL
    for t in instants(seq):
        assert len(active(seq, t, ("cpu", "io"))) == 1
    cpu_total = sum(t.cpu_time for t in tasks)
    longest = max(t.cpu_time + t.io_time for t in tasks)
    assert event.makespan >= max(cpu_total, longest) - TOL
    assert event.makespan <= seq.makespan + TOL
    assert threaded.makespan >= max(cpu_total / args["cores"], longest) - TOL
    for s in event.of_kind("cpu"):  # nothing preempts a task on the loop: cpu steps stay whole
        assert abs(s.duration - tasks[[t.name for t in tasks].index(s.task)].steps[s.step].duration) < TOL


def test_the_classic_three_tasks():
    tasks = [Task(n, [cpu(1), io(2), cpu(1)]) for n in "ABC"]
    assert run_sequential(tasks).makespan == 12
    assert run_event_driven(tasks).makespan == 6
    assert run_threaded(tasks, cores=1, quantum=1).makespan == 6


def test_threaded_time_slices_and_switch_cost():
    tasks = [Task("A", [cpu(2)]), Task("B", [cpu(2)])]
    tl = run_threaded(tasks, quantum=1)
    assert [(s.task, s.start, s.end) for s in tl.of_kind("cpu")] == [
        ("A", 0, 1), ("B", 1, 2), ("A", 2, 3), ("B", 3, 4)
    ]
    costly = run_threaded(tasks, quantum=1, switch_cost=0.25)
    assert len(costly.of_kind("switch")) == 3 and costly.makespan == 4.75
    assert run_threaded(tasks, cores=2).makespan == 2


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"cores": 0}, ValueError, "cores"),
        ({"cores": 1.5}, TypeError, "cores"),       # a wrong type is a TypeError (course_lib.validate)
        ({"quantum": float("inf")}, ValueError, "finite"),
        ({"quantum": 0}, ValueError, "quantum"),
        ({"quantum": "1"}, TypeError, "quantum"),
        ({"switch_cost": -1}, ValueError, "switch_cost"),
    ],
)
def test_bad_threaded_arguments_name_the_argument(kwargs, error, words):
    with pytest.raises(error, match=words):
        run_threaded([Task("A", [cpu(1)])], **kwargs)


@pytest.mark.parametrize("model", [run_sequential, run_threaded, run_event_driven])
def test_bad_task_lists(model):
    with pytest.raises(TypeError, match="list of Task"):
        model(Task("A", [cpu(1)]))
    with pytest.raises(ValueError, match="at least one"):
        model([])
    with pytest.raises(ValueError, match="named 'A'"):
        model([Task("A", [cpu(1)]), Task("A", [io(1)])])
    with pytest.raises(TypeError, match=r"tasks\[1\]"):
        model([Task("A", [cpu(1)]), "B"])


def test_tasks_that_end_with_io_finish_when_their_io_ends():
    tasks = [Task("A", [io(3), io(0.5)]), Task("B", [io(1.5), cpu(3)]), Task("C", [io(1)])]
    for tl in (run_event_driven(tasks), run_threaded(tasks)):
        assert tl.finish_times()["C"] == 1
        assert not [s for s in tl.for_task("C") if s.kind == "ready" and s.start >= 1]
