import pytest

from course_lib.workload import Step, Task, check_tasks, cpu, io


def test_steps_and_tasks():
    task = Task("A", [cpu(1), io(2.5), cpu(0.5)])
    assert task.cpu_time == 1.5 and task.io_time == 2.5
    assert repr(task) == "Task('A', [cpu(1), io(2.5), cpu(0.5)])"
    assert Task("B", (s for s in [io(1)])).steps == (io(1),)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: cpu(0), ValueError, r"cpu\(duration\) must be a number of seconds > 0"),
        (lambda: io(-2), ValueError, r"io\(duration\)"),
        (lambda: cpu(float("inf")), ValueError, "finite"),
        (lambda: io("3"), TypeError, "number of seconds"),
        (lambda: cpu(True), TypeError, "number of seconds"),
        (lambda: Step("disk", 1), ValueError, "kind"),
        (lambda: Task("", [cpu(1)]), ValueError, "name"),
        (lambda: Task(3, [cpu(1)]), TypeError, "name"),
        (lambda: Task("  ", [cpu(1)]), ValueError, "name"),
        (lambda: Task("A", []), ValueError, "at least one step"),
        (lambda: Task("A", cpu(1)), TypeError, "list of cpu"),
        (lambda: Task("A", [cpu(1), 2]), TypeError, r"steps\[1\]"),
        (lambda: Task("A", "cpu"), TypeError, "list of cpu"),
        (lambda: check_tasks([Task("A", [cpu(1)]), Task("A", [io(1)])]), ValueError, "two tasks named 'A'"),
        (lambda: check_tasks(42), TypeError, "list of Task"),
    ],
)
def test_bad_input_names_the_argument(make, error, words):
    with pytest.raises(error, match=words):
        make()
