"""Builds solutions/01_three_models.ipynb, the source of exercises/01_three_models.ipynb."""

from tools.nb import Notebook

nb = Notebook()
nb.md("""
# Exercises 01 · Three ways to wait

Four exercises on the models of [chapter 01](../notebooks/01_three_models.ipynb). Write your code
where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line), run the cell, then
run the `check(...)` cell below it. A check feeds your code many inputs and answers with a single
hint when something is off; it never needs you to print anything.
""")
nb.code("""
from course_lib.check import check
from course_lib.workload import Task, cpu, io
from course_lib.timeline import Segment, Timeline, plot_models
import matplotlib.pyplot as plt
""", kind="setup")
nb.md("""
## 1 · Predict, then check (2 points)

Here is a workload. **Without running any model**, draw it on paper (one row per task) and work out
the makespan in each model: sequential, threaded (one core, quantum 1 s) and event-driven. Make
`predictions()` return your three numbers as a dict:
`{"sequential": ..., "threaded": ..., "event_driven": ...}`.

```
A: cpu(2) io(2) cpu(1)
B: cpu(1) io(4) cpu(1)
C: cpu(1) io(1) cpu(1)
```

Only after the check, draw the models in a new cell to see where your drawing differed:
`plot_models([Task("A", [cpu(2), io(2), cpu(1)]), ...], quantum=1)`.
""")
nb.code("""
def predictions():
    ### BEGIN SOLUTION
    # sequential: everything in a row, 5 + 6 + 3 = 14.
    # event-driven: A 0-2, B 2-3, C 3-4; A's I/O ends at 4 -> A 4-5; C's ends at 5 -> C 5-6;
    #   B's ends at 7 -> B 7-8.
    # threaded, quantum 1: A 0-1 (preempted), B 1-2, C 2-3, A 3-4, C 4-5 (its I/O ended at 4);
    #   B's and A's I/O both end at 6, B's started first -> B 6-7, A 7-8.
    return {"sequential": 14, "threaded": 8, "event_driven": 8}
    ### END SOLUTION
""", kind="answer", name="predict")
nb.code("""check("01.predict", predictions)""", kind="check", name="predict", points=2)
nb.md("""
## 2 · Bounds on any schedule (2 points)

Two numbers frame every schedule on one core:

- `sequential_time(tasks)`: the makespan of the sequential model — the slowest sensible plan;
- `lower_bound(tasks)`: the best bound that these two facts give on the makespan of *any* one-core
  schedule: the one CPU must do all the `cpu` steps of all tasks, and a task cannot finish before its
  own steps, one after the other, are done. Each fact gives a number that no schedule can beat;
  return the larger of the two.

Each step has `.kind` (`"cpu"` or `"io"`) and `.duration`; a task has `.steps` (and, if you like,
`.cpu_time` and `.io_time`). Compute from the steps; the check will not let you call the course's
models.
""")
nb.code("""
def sequential_time(tasks):
    ### BEGIN SOLUTION
    return sum(step.duration for task in tasks for step in task.steps)
    ### END SOLUTION


def lower_bound(tasks):
    ### BEGIN SOLUTION
    all_cpu = sum(task.cpu_time for task in tasks)
    longest_task = max(task.cpu_time + task.io_time for task in tasks)
    return max(all_cpu, longest_task)
    ### END SOLUTION
""", kind="answer", name="bounds")
nb.code("""check("01.bounds", sequential_time, lower_bound)""", kind="check", name="bounds", points=2)
nb.md("""
## 3 · Make the loop win, then make it lose (2 points)

Write two functions that each return a list of at least three tasks:

- `loop_wins()`: the event-driven makespan is **at most half** the sequential one;
- `loop_loses()`: the event-driven model gains **nothing** over sequential, while threads on **two
  cores** (`run_threaded(tasks, cores=2)`) are at least **1.5×** faster than the loop.

Use the three conditions of chapter 01 to decide what the tasks should spend their time on.
""")
nb.code("""
def loop_wins():
    ### BEGIN SOLUTION
    return [Task(f"request{i}", [cpu(0.1), io(5), cpu(0.1)]) for i in range(5)]
    ### END SOLUTION


def loop_loses():
    ### BEGIN SOLUTION
    return [Task(f"crunch{i}", [cpu(3)]) for i in range(4)]
    ### END SOLUTION
""", kind="answer", name="workloads")
nb.code("""check("01.workloads", loop_wins, loop_loses)""", kind="check", name="workloads", points=2)
nb.md("""
## 4 · Write the event-driven model yourself (4 points)

Write `my_event_driven(tasks)`, returning a `Timeline` of `Segment(task_name, kind, start, end)`
with one segment per step (`"cpu"` or `"io"`); `"ready"` segments are optional. The rules of the
event-driven model:

- one thread: two `cpu` segments never overlap;
- a **ready queue**, first in first out, holding tasks that can continue; at the start it holds
  every task in the given order;
- the loop takes the first ready task and runs its `cpu` steps one after another until the task
  reaches an `io` step; it starts that I/O at once (the I/O runs in the background) and moves on;
- when an I/O ends, its task joins the back of the ready queue; if several end at the same moment,
  the one that started first joins first;
- when the ready queue is empty the loop sleeps until the next I/O ends.

Hint: keep the I/O that is in progress in a heap (`heapq`) of `(end_time, order_started, ...)` so
the earliest end comes out first. Before taking the next ready task, move every task whose I/O has
ended by now into the ready queue (a task whose next step is again I/O goes through the queue too:
only a running task can start I/O). The check compares your schedule with the course's on random
workloads, and will not let you call `run_event_driven` itself.
""")
nb.code("""
import heapq
from collections import deque


def my_event_driven(tasks):
    ### BEGIN SOLUTION
    segments = []
    ready = deque((task, 0) for task in tasks)  # (task, index of its next step)
    in_progress = []                            # heap of (I/O end, order started, task, next step)
    now, order = 0.0, 0
    while ready or in_progress:
        while in_progress and (not ready or in_progress[0][0] <= now):
            end, _, task, index = heapq.heappop(in_progress)
            ready.append((task, index))
            now = max(now, end)
        task, index = ready.popleft()
        while index < len(task.steps) and task.steps[index].kind == "cpu":
            duration = task.steps[index].duration
            segments.append(Segment(task.name, "cpu", now, now + duration))
            now += duration
            index += 1
        if index < len(task.steps):
            duration = task.steps[index].duration
            segments.append(Segment(task.name, "io", now, now + duration))
            heapq.heappush(in_progress, (now + duration, order, task, index + 1))
            order += 1
    return Timeline(segments, title="my event loop")
    ### END SOLUTION
""", kind="answer", name="event_loop")
nb.code("""check("01.event_loop", my_event_driven)""", kind="check", name="event_loop", points=4)
nb.md("""
When it passes, draw yours next to the course's:

```python
tasks = [Task("A", [cpu(1), io(3), cpu(1)]), Task("B", [cpu(1), io(2), cpu(2)]), Task("C", [cpu(2), io(2), cpu(1)])]
plot_models(tasks, timelines={"mine": my_event_driven(tasks), "course": run_event_driven(tasks)})
plt.show()
```
""")
nb.write("solutions/01_three_models.ipynb")
