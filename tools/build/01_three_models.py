"""Builds notebooks/01_three_models.ipynb (then run: python tools/run_notebook.py notebooks/01_three_models.ipynb)."""

from tools.nb import Notebook

nb = Notebook()
nb.md("""
# 01 · Three ways to wait

A program spends its life doing two kinds of things: **computing** (the processor, or *CPU*, is busy
working for it) and **waiting** for something outside it — a disk, a network peer, a database, a
person at a keyboard. Waiting for the outside world is called **I/O** (input/output).

While a program waits, the CPU has nothing to do *for that program*. How a program organises its
work around those waits is its **programming model**. This chapter compares the three classic ones
on one workload, first on a simulated clock where every run is identical and easy to draw, then for
real on your own machine:

1. **single-threaded** (sequential): do one task completely, then the next;
2. **threaded**: give each task its own *thread* (a separate line of execution inside the program,
   defined properly below) and let the operating system switch between them;
3. **event-driven**: one thread runs a loop that switches between tasks whenever one of them would wait.

By the end you can predict which model finishes a workload first, and say when the event-driven
model is the right tool and when it is not.
""")
nb.code("""
%matplotlib inline
import time, threading, asyncio
import matplotlib.pyplot as plt
from course_lib.workload import Task, cpu, io
from course_lib.models import run_sequential, run_threaded, run_event_driven
from course_lib.timeline import plot_timeline, plot_models
from course_lib.tracer import Tracer
""")
nb.md("""
## One workload

A **task** is a piece of work with a name, made of **steps** done in order. `cpu(d)` is a step that
keeps the CPU busy for `d` seconds; `io(d)` is a step that waits `d` seconds for I/O and needs no CPU
while it waits. Think of a task that receives a request (a little CPU), asks a database for
something (a wait), then formats a reply (a little CPU).

Here are three such tasks. We will hand exactly these to every model, so that the only difference
between the pictures is the model.
""")
nb.code("""
tasks = [
    Task("A", [cpu(1), io(3), cpu(1)]),
    Task("B", [cpu(1), io(2), cpu(2)]),
    Task("C", [cpu(2), io(2), cpu(1)]),
]
tasks
""")
nb.md("""
## Model 1: single-threaded

The simplest program does task A from start to end, then B, then C. While A waits for its I/O, the
program just sits there: the next line of code cannot start until the waiting call returns. A call
that makes the program wait like that is called **blocking**.

**Predict** before you run the next cell: how many seconds does the whole workload take? That total,
from the start of the first step to the end of the last, is the **makespan**.
""")
nb.code("""
sequential = run_sequential(tasks)
print(sequential)
plot_timeline(sequential, title="single-threaded")
plt.show()
""")
nb.md("""
Each row is a task; a coloured bar means the task is using the CPU; a grey bar means it is waiting
for I/O. The makespan is simply the sum of every step: 5 + 5 + 5 = 15 seconds. For 7 of those 15
seconds the CPU did nothing at all, although B and C had work it could have done.

The upside: this program is the easiest to reason about. Things happen in exactly the order the code
is written.
""")
nb.md("""
## Model 2: threaded

A **thread** is a sequence of instructions that the operating system (OS) can run, pause and resume
on its own. Give each task its own thread and the OS **scheduler** decides which thread runs on the
CPU. When a thread makes a blocking call, the OS parks it and runs another thread that is **ready**
(able to run, only lacking a CPU). The OS may also **preempt** a running thread: take the CPU away
after a time slice, called the **quantum**, so that others get a turn.

Our simulated OS is a simple **round robin**: the ready threads wait in a queue, the first one gets
the CPU for at most one quantum, then goes to the back of the queue if others are waiting. It has one CPU (one **core**) and a quantum of 0.5 s. In the
picture, hatched bars show a thread that is ready but waiting for the CPU.

**Predict**: faster or slower than 15 s? By how much?
""")
nb.code("""
threaded = run_threaded(tasks, cores=1, quantum=0.5)
print(threaded)
plot_timeline(threaded, title="threaded, 1 core, quantum 0.5 s")
plt.show()
""")
nb.md("""
The waits now overlap: while A waits, B and C compute. The price is paid elsewhere. The OS switches
whenever a quantum ends, so the CPU work of all three tasks is chopped up and interleaved in an
order the program does not control. If the tasks shared data, any of those switches could land in
the middle of an update — chapter 03 shows exactly how that goes wrong, and what locks cost.

Try the quantum: a tiny one interleaves everything, a long one lets each thread run until it
blocks. (Keep an eye on the long-quantum numbers: they come back below.)
""")
nb.code("""
for quantum in (0.25, 0.5, 1, 2, 4):
    print(f"quantum {quantum:>4} s -> makespan {run_threaded(tasks, quantum=quantum).makespan:g} s")
""")
nb.md("""
## Model 3: event-driven

Now one thread does everything, like the single-threaded program, but it never blocks. Instead of
calling something that waits, a task *starts* its I/O, tells a central **event loop** "call me back
when this is done", and returns. That function to be called later is a **callback**. The loop keeps
a **ready queue** of tasks that can continue; it runs the first one until that task starts its next
I/O, then takes the next one. When an I/O completes, the loop puts its task at the back of the ready
queue.

Two differences from threads: nothing is preempted (a task keeps the CPU until *it* chooses to wait),
and there is only one thread, so two tasks never touch shared data at the same moment.

**Predict** the makespan, then run.
""")
nb.code("""
event_driven = run_event_driven(tasks)
print(event_driven)
plot_timeline(event_driven, title="event-driven, one thread")
plt.show()
""")
nb.md("""
The loop finishes in 8 s, like the threaded model with a long quantum: it never interrupts a task
in the middle of its computing, which is what a quantum longer than any CPU step does too. While C
computes from 2 to 4, A's I/O finishes at 4 and B's at 4 as well; they then run in the order their
I/O ended, first in first out.

## The three side by side

Same tasks, same time axis. This is the picture to remember.
""")
nb.code("""
plot_models(tasks, cores=1, quantum=0.5)
plt.show()
""")
nb.code("""
for tl in (sequential, threaded, event_driven):
    print(f"{tl.title:<32} makespan {tl.makespan:>4g} s   CPU busy {tl.utilisation():.0%}")
""")
nb.md("""
The CPU does 8 seconds of work in all three. What changes is how much of the waiting hides behind
other tasks' work. The threaded and event-driven models both overlap waits; the event-driven one
does so without preemption and without a second thread.
""")
nb.md("""
## When the tasks only compute

Overlapping waits is the whole trick. Take the waits away and see what is left.

**Predict**: with three tasks that only compute (no I/O), which model wins on one core? And on two
cores?
""")
nb.code("""
crunchers = [Task(name, [cpu(3)]) for name in "ABC"]
for tl in (run_sequential(crunchers), run_threaded(crunchers, cores=1), run_event_driven(crunchers),
           run_threaded(crunchers, cores=2)):
    finish = ", ".join(f"{task} {t:g} s" for task, t in tl.finish_times().items())
    print(f"{tl.title:<32} makespan {tl.makespan:g} s   finished: {finish}")
""")
nb.code("""
plot_models(crunchers, cores=2)
plt.show()
""")
nb.md("""
On one core nobody can win: 9 seconds of computing take 9 seconds, however you interleave them
(the threaded model even makes A and B *finish* later: time slicing shares the CPU, so everyone
is done near the end). With two cores, threads really do run at
the same time — in parallel — and the makespan drops. An event loop is one thread, so it can never use
a second core. (Chapter 03 adds a twist for Python: CPython's *global interpreter lock*, the GIL, lets
only one thread run Python code at any moment, so pure-Python threads do not get this gain; code
that runs outside Python, such as compression or number crunching in C libraries, does.)
""")
nb.md("""
## When does the event-driven model fit?

The comparison above suggests three conditions. The event-driven model pays off when

1. there are **many tasks**,
2. the tasks are mostly **independent** of each other, and
3. the tasks spend their time **waiting for events** (I/O), not computing.

Below, each condition gets a workload that meets it and one that breaks it.
""")
nb.md("""
### 1. Many tasks

With one task there is nothing to overlap: the loop has nobody else to run while the task waits.
Each extra task can hide inside the others' waits — until the CPU itself is the bottleneck:
50 tasks need 50 × 0.4 = 20 s of computing, and no model on one core can beat that.
""")
nb.code("""
def web_requests(n):
    return [Task(f"T{i}", [cpu(0.2), io(2), cpu(0.2)]) for i in range(n)]

print(" tasks   sequential   event-driven   speed-up")
for n in (1, 2, 5, 10, 50):
    seq, ev = run_sequential(web_requests(n)).makespan, run_event_driven(web_requests(n)).makespan
    print(f"{n:>6} {seq:>11.1f} s {ev:>12.1f} s {seq / ev:>9.1f}x")
""")
nb.md("""
### 2. Independent tasks

If each task needs the previous one's result, the work is really one long chain: B cannot start
before A ends. To the models, a chain of dependent tasks is a single task, and a single task gains
nothing.
""")
nb.code("""
independent = [Task(n, [cpu(0.5), io(2), cpu(0.5)]) for n in "ABC"]
chained = [Task("A→B→C", [s for t in independent for s in t.steps])]  # each needs the previous
for name, work in (("independent", independent), ("chained", chained)):
    print(f"{name:<12} sequential {run_sequential(work).makespan:g} s, event-driven {run_event_driven(work).makespan:g} s")
""")
nb.md("""
### 3. Tasks that wait for events

The share of time spent waiting decides the gain. Keep the total length of each task at 4 s and move
time from I/O into computing:
""")
nb.code("""
shares = [0.0, 0.25, 0.5, 0.75, 0.9]
gains = []
for share in shares:
    steps = [cpu(2 * (1 - share))] + ([io(4 * share)] if share else []) + [cpu(2 * (1 - share))]
    work = [Task(f"T{i}", steps) for i in range(5)]
    gains.append(run_sequential(work).makespan / run_event_driven(work).makespan)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot([s * 100 for s in shares], gains, "o-")
ax.set_xlabel("share of each task spent waiting for I/O (%)")
ax.set_ylabel("speed-up of the loop\\n(sequential ÷ event-driven)")
ax.set_title("the loop gains only where there is waiting to hide", fontsize=10)
plt.show()
""")
nb.md("""
A related trap: on a loop, nothing is preempted, so **one long computation stalls every other task**.
Below, task `report` computes for 6 seconds. On the loop, the quick tasks finish only after it;
on threads, the OS keeps slicing the CPU so they are not held up.
""")
nb.code("""
mixed = [Task("report", [cpu(6)])] + [Task(f"q{i}", [cpu(0.2), io(0.5), cpu(0.2)]) for i in range(3)]
for tl in (run_event_driven(mixed), run_threaded(mixed, quantum=0.2)):
    finish = tl.finish_times()
    print(f"{tl.title:<32} quick tasks done at " + ", ".join(f"{finish[f'q{i}']:.1f} s" for i in range(3)))
plot_models(mixed, quantum=0.2)
plt.show()
""")
nb.md("""
## Now for real

Simulations are tidy. Does a real machine agree? We run the same three tasks for real: a `cpu(d)`
step burns the CPU in a loop for `d × SCALE` seconds and an `io(d)` step sleeps for `d × SCALE`
seconds — sleeping stands in for waiting on a disk or a socket, since both leave the CPU free. A
`Tracer` records when each step really ran, and the same `plot_timeline` draws the result (with
times divided by `SCALE`, so the axes match the simulation).

One subtlety: `burn` does a *fixed amount of work*, measured once on your machine, rather than
"loop until the clock says time is up". A clock-based loop would finish on time even when it shares
the CPU with other threads, and hide exactly the effect we want to see.

The three programs below are ordinary Python: plain calls, one `threading.Thread` per task, and one
*coroutine* per task on `asyncio`, Python's own event loop. A coroutine is a function defined with
`async def` that can pause in the middle and be resumed later; chapter 06 explains it in detail. For
now: `await asyncio.sleep(d)` means "start waiting, let the loop run other tasks, and resume me in
`d` seconds", and `asyncio.gather(...)` runs several coroutines on the loop until all are done.

A waiting step records two spans when it overruns: `io` for the time the wait was asked for, then
`ready` for the time the task sat waiting to get the CPU (or the loop) back — the same two colours as
in the simulation.
""")
nb.code("""
SCALE = 0.04  # one simulated second = 40 ms of real time

def spin(n):
    \"\"\"n rounds of pure Python work: a stand-in for real computing.\"\"\"
    for _ in range(n):
        pass

def rounds_per_second():
    \"\"\"How many rounds of spin() this machine does in a second (median of five tries of ~30 ms).\"\"\"
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        spin(1_000_000)
        rates.append(1_000_000 / (time.perf_counter() - start))
    return sorted(rates)[2]

ROUNDS_PER_SECOND = rounds_per_second()

def burn(seconds):
    \"\"\"A fixed amount of CPU work that takes about `seconds` when it has a CPU to itself.\"\"\"
    spin(int(seconds * ROUNDS_PER_SECOND))

def record_wait(tracer, name, start, seconds):
    \"\"\"A wait of `seconds` that began at `start`: io for the wait, ready for any overrun.\"\"\"
    now, due = time.perf_counter(), start + seconds
    tracer.record(name, "io", start, min(now, due))
    if now > due:
        tracer.record(name, "ready", due, now)

def run_blocking(task, tracer):
    for step in task.steps:
        if step.kind == "cpu":
            with tracer.span(task.name, "cpu"):
                burn(step.duration * SCALE)
        else:
            start = time.perf_counter()
            time.sleep(step.duration * SCALE)           # blocks this thread only
            record_wait(tracer, task.name, start, step.duration * SCALE)

async def run_async(task, tracer):
    for step in task.steps:
        if step.kind == "cpu":
            with tracer.span(task.name, "cpu"):
                burn(step.duration * SCALE)             # no await: nobody else runs meanwhile
        else:
            start = time.perf_counter()
            await asyncio.sleep(step.duration * SCALE)  # the loop runs other tasks meanwhile
            record_wait(tracer, task.name, start, step.duration * SCALE)

def measure_sequential(tasks):
    tracer = Tracer()
    for task in tasks:
        run_blocking(task, tracer)
    return tracer

def measure_threads(tasks):
    tracer = Tracer()
    threads = [threading.Thread(target=run_blocking, args=(t, tracer)) for t in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tracer

async def gather_all(tasks, tracer):
    await asyncio.gather(*(run_async(t, tracer) for t in tasks))

def measure_asyncio(tasks):
    tracer = Tracer()
    # Jupyter already runs an asyncio loop in this thread, so run ours in a helper thread.
    worker = threading.Thread(target=asyncio.run, args=(gather_all(tasks, tracer),))
    worker.start()
    worker.join()
    return tracer
""")
nb.code("""
from course_lib.timeline import Segment, Timeline

def in_simulated_seconds(tracer, title):
    \"\"\"The tracer's spans with times divided by SCALE, so they share the simulation's axis.\"\"\"
    spans = [Segment(s.task, s.kind, s.start / SCALE, s.end / SCALE) for s in tracer.spans]
    return Timeline(spans, title=title, tasks=[t.name for t in tasks])

measured = {
    "single-threaded, measured": in_simulated_seconds(measure_sequential(tasks), "sequential"),
    "threads, measured": in_simulated_seconds(measure_threads(tasks), "threads"),
    "asyncio, measured": in_simulated_seconds(measure_asyncio(tasks), "asyncio"),
}
for title, tl in measured.items():
    print(f"{title:<28} makespan {tl.makespan:5.2f} (simulated units)")
seq, thr, aio = (tl.makespan for tl in measured.values())
print(f"speed-up over sequential: threads {seq / thr:.2f}x, asyncio {seq / aio:.2f}x "
      f"(simulation: {sequential.makespan / threaded.makespan:.2f}x and {sequential.makespan / event_driven.makespan:.2f}x)")
""", tags=["nbval-ignore-output"])
nb.code("""
simulated = {"single-threaded, simulated": sequential, "threads, simulated": threaded,
             "event-driven, simulated": event_driven}
fig, axes = plt.subplots(3, 2, figsize=(13, 7.5), sharex=True)
xmax = max(tl.makespan for tl in [*simulated.values(), *measured.values()]) * 1.02
for row, ((sim_title, sim), (real_title, real)) in enumerate(zip(simulated.items(), measured.items())):
    plot_timeline(sim, ax=axes[row, 0], title=f"{sim_title}: {sim.makespan:.3g}", xmax=xmax, legend=False)
    plot_timeline(real, ax=axes[row, 1], title=f"{real_title}: {real.makespan:.3g}", xmax=xmax, legend=row == 0)
    for ax in axes[row]:
        ax.set_xlabel("time (simulated seconds)" if row == 2 else "")
fig.tight_layout()
plt.show()
""", tags=["nbval-ignore-output"])
nb.md("""
Compare ratios rather than raw numbers: if other programs share your CPU, every `burn` is
stretched and all makespans grow, but the speed-up of threads and asyncio over the sequential run
stays close to the simulation's (15 ÷ 8.5 and 15 ÷ 8). The shapes match too: the single-threaded run
waits idly, the other two hide the waits behind other tasks' computing.

One thing in the threads panel looks different, and it is a property of the drawing, not of the
machine: overlapping `cpu` bars there do **not** mean that two threads computed at the same moment.
A span is recorded from the start of a step to its end, and in CPython only one thread runs Python
code at a time (the GIL again), so a thread's span also covers the time it waited for its turn.
Chapter 03 measures that directly.
""")
nb.md("""
## Summary

- Programs compute and wait. How they organise the waiting is the **programming model**.
- **Single-threaded** code is simple and predictable but leaves the CPU idle during every wait.
- **Threads** overlap waits by letting the OS switch between them; the OS can switch at any moment,
  which is why threads sharing data need care (chapter 03). In the simulation several cores let
  threads compute in parallel; in CPython the GIL prevents that for pure-Python code (chapter 03).
- **Event-driven** code overlaps waits with one thread and a loop: tasks give up the CPU only when
  they wait, so nothing is interrupted mid-update — but one long computation holds up everyone.
- The event loop shines with **many, independent, I/O-bound** tasks, and gains nothing on
  CPU-bound or chained work.

Next: chapter 02 looks under the hood at what "waiting for I/O" means to the operating system.

**Exercises:** open [`exercises/01_three_models.ipynb`](../exercises/01_three_models.ipynb): predict
makespans, bound any schedule, design workloads that make the loop win and lose, and write the
event-driven model yourself.
""")
nb.write("notebooks/01_three_models.ipynb")
