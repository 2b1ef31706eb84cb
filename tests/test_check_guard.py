"""guard.Refuse: a refused module's code fails the check however it was reached; other code runs freely."""

import importlib
import importlib.util
import sys
import threading
import types

import pytest

from course_lib import models
from course_lib.check import CheckFailed
from course_lib.check.guard import Refuse
from course_lib.workload import Task, cpu

TASKS = [Task("A", [cpu(1)])]


def refusing():
    return Refuse(models, names=("call_soon",), hint="write it yourself")


def test_direct_copied_and_reloaded_calls_are_all_refused():
    spec = importlib.util.spec_from_file_location("models_again", models.__file__)  # the module loaded twice
    again = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(again)
    copied = types.FunctionType(models.run_sequential.__code__, vars(models))  # a copied __code__
    reloaded = importlib.reload(models)  # fresh function objects in the same module
    for call in (lambda: models.run_sequential(TASKS), lambda: again.run_event_driven(TASKS),
                 lambda: copied(TASKS), lambda: reloaded.run_threaded(TASKS)):
        with pytest.raises(CheckFailed, match="write it yourself"):
            with refusing():
                call()


def test_calls_in_a_thread_started_inside_and_by_name_are_refused():
    with pytest.raises(CheckFailed):
        with refusing():
            t = threading.Thread(target=models.run_sequential, args=(TASKS,))
            t.start()
            t.join()

    class MyLoop:
        def call_soon(self, fn):
            fn()

    with pytest.raises(CheckFailed):
        with refusing():
            MyLoop().call_soon(print)


def test_other_code_runs_and_the_hooks_are_restored():
    before = sys.getprofile(), threading.getprofile()
    with refusing() as guard:
        total = sum(range(10))
        Task("B", [cpu(2)])
    assert total == 45 and guard.seen is None
    assert (sys.getprofile(), threading.getprofile()) == before
    assert models.run_sequential(TASKS).makespan == 1  # the models work as before


def test_own_work_refuses_the_course_class_extended_or_held():
    from course_lib.check.guard import own_work

    class Mine:
        pass

    class Extends(Task):
        pass

    class Holds:
        def __init__(self):
            self.inner = Task("A", [cpu(1)])

    own_work(Mine, Task, "the task", "course_lib.workload.Task")
    own_work(Mine(), Task, "the task", "course_lib.workload.Task")
    for answer in (Task, Extends, Extends("B", [cpu(1)]), Holds()):
        with pytest.raises(CheckFailed, match="write the task yourself: don't reuse course_lib.workload.Task"):
            own_work(answer, Task, "the task", "course_lib.workload.Task")
