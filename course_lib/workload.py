"""Workloads: tasks made of CPU steps and I/O steps, the course's one workload.

What it is: three tiny value types. ``cpu(d)`` is a step that needs the processor
for ``d`` seconds; ``io(d)`` is a step that waits ``d`` seconds for something
outside the program (a disk, a network peer, a user) and needs no processor while
it waits. A ``Task`` is a name and a list of such steps, done in order::

    from course_lib.workload import Task, cpu, io
    tasks = [Task("A", [cpu(1), io(3), cpu(1)]), Task("B", [cpu(2), io(1), cpu(1)])]

The same list of tasks is handed to every model in ``course_lib.models`` so that
the only difference between two timelines is the programming model.

What it is not: a scheduler. Nothing here runs; see ``course_lib.models``.
"""

from __future__ import annotations

from dataclasses import dataclass

from course_lib import validate

__all__ = ["Step", "Task", "cpu", "io", "check_tasks"]


@dataclass(frozen=True)
class Step:
    """One step of a task: ``kind`` is ``"cpu"`` or ``"io"``, ``duration`` in seconds (> 0)."""

    kind: str
    duration: float

    def __post_init__(self):
        validate.one_of(self.kind, "Step kind", ("cpu", "io"))
        seconds = validate.seconds(self.duration, f"{self.kind}(duration)", above=0)
        object.__setattr__(self, "duration", seconds)  # frozen: set once, here

    def __repr__(self) -> str:
        return f"{self.kind}({self.duration:g})"


def cpu(duration: float) -> Step:
    """A step that keeps a processor busy for ``duration`` seconds."""
    return Step("cpu", duration)


def io(duration: float) -> Step:
    """A step that waits ``duration`` seconds for I/O, using no processor."""
    return Step("io", duration)


@dataclass(frozen=True)
class Task:
    """A named list of steps, done in order."""

    name: str
    steps: tuple

    def __init__(self, name: str, steps):
        validate.text(name, "Task name")
        if isinstance(steps, (str, bytes)) or not hasattr(steps, "__iter__"):
            raise TypeError(f"Task steps must be a list of cpu(...) and io(...) steps, got {type(steps).__name__}")
        steps = tuple(steps)
        if not steps:
            raise ValueError(f"Task {name!r} needs at least one step, e.g. [cpu(1), io(2)]")
        for i, step in enumerate(steps):
            if not isinstance(step, Step):
                raise TypeError(
                    f"Task {name!r} steps[{i}] must be cpu(...) or io(...), got {type(step).__name__} {step!r}"
                )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "steps", steps)

    @property
    def cpu_time(self) -> float:
        return sum(s.duration for s in self.steps if s.kind == "cpu")

    @property
    def io_time(self) -> float:
        return sum(s.duration for s in self.steps if s.kind == "io")

    def __repr__(self) -> str:
        return f"Task({self.name!r}, [{', '.join(map(repr, self.steps))}])"


def check_tasks(tasks) -> tuple:
    """Validate a list of tasks for a model: returns it as a tuple, or raises naming the problem."""
    if isinstance(tasks, Task):
        raise TypeError("tasks must be a list of Task objects; wrap a single task in a list: [task]")
    if isinstance(tasks, (str, bytes)) or not hasattr(tasks, "__iter__"):
        raise TypeError(f"tasks must be a list of Task objects, got {type(tasks).__name__}")
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError("tasks must contain at least one Task")
    seen = set()
    for i, task in enumerate(tasks):
        if not isinstance(task, Task):
            raise TypeError(f"tasks[{i}] must be a Task, got {type(task).__name__} {task!r}")
        if task.name in seen:
            raise ValueError(f"tasks has two tasks named {task.name!r}; task names must be unique")
        seen.add(task.name)
    return tasks
