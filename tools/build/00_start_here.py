"""Builds notebooks/00_start_here.ipynb."""

from tools.nb import Notebook

nb = Notebook()
nb.md("""
# 00 · Start here

Welcome to **Event-Driven Python**, a course about how programs wait: for a disk, for the network,
for a timer, for each other. You will see it happen one event at a time on simulations, and then
prove it with measurements on your own machine.

This notebook takes ten minutes. It shows how the course works:

1. running cells,
2. stepping a loop with the buttons of a *stepper* widget,
3. what happens when you check an exercise,
4. where things are, and what each chapter is for.
""")
nb.md("""
## 1 · Running cells

A notebook is a list of **cells**. Text cells like this one explain; **code cells** (with `[ ]:`
on their left) hold Python. Click into a code cell and press **Shift+Enter** to run it; the number
in the brackets tells in which order cells ran. Cells share one Python process, the **kernel**, so
a name defined in one cell is known in the cells you run after it.

The first code cell of every notebook imports what the chapter needs. Run it now.
""")
nb.code("""
%matplotlib inline
import matplotlib.pyplot as plt
from course_lib.loop import Loop
from course_lib.widgets import Stepper
from course_lib.check import check, CheckFailed
from course_lib import progress
""")
nb.md("""
If something looks wrong later, use **Kernel → Restart Kernel and Run All Cells…**: every notebook
of the course runs top to bottom in a fresh kernel, and any cell can be run again.
""")
nb.md("""
## 2 · Stepping a loop

Most chapters let you *step* through a program one event at a time. Here is a tiny program for the
course's event loop. An **event loop** is a piece of code that waits for things to happen (a timer
runs out, data arrives) and then calls the function that was registered for that event; such a
function, handed over now to be called later, is a **callback**. This program asks the loop to call
three callbacks, two of them after a delay. The words
will be explained properly in chapter 04; for now, `call_soon(f)` means "call `f` as soon as
possible" and `call_later(d, f)` means "call `f` in `d` seconds". The loop runs on a **virtual
clock**: waiting takes no real time, and every run is exactly the same.
""")
nb.code("""
def make_program():
    loop = Loop()                      # a simulated loop: virtual clock from 0.0

    def greet():
        print("hello at", loop.time())

    def remind():
        print("reminder at", loop.time())

    def goodbye():
        print("goodbye at", loop.time())

    loop.call_later(2.0, goodbye)
    loop.call_soon(greet)
    loop.call_later(0.5, remind)
    return loop
""")
nb.md("""
**Predict** in which order the three lines are printed, and at which times. Then run the program
all at once:
""")
nb.code("""
loop = make_program()
loop.run()
""")
nb.md("""
`goodbye` was scheduled first, yet it runs last: the loop does not care in which order things were
*asked for*, only when they are *due*. `greet` is due at once, `remind` at 0.5 s, `goodbye` at 2 s.

Now step it. The stepper below runs the same program one event at a time:

- **Step** does one event: either the loop *polls* (looks for what is due, jumping the virtual
  clock forward if nothing is) or it *runs one callback*;
- **Back** undoes a step (it replays the program from the start, which is possible because
  the simulation is deterministic), **Reset** starts again, **Run** plays it like a film.

Watch the *ready queue* (what runs next) and the *timers* (what is due when), and the timeline
growing underneath. What the callbacks print appears below the stepper.
""")
nb.code("""
Stepper(make_program, title="three callbacks on a virtual clock")
""")
nb.md("""
The same loop can also hand you its whole history as a timeline: each callback is a short bar,
and the row `poll` shows where the loop waited for the next timer.
""")
nb.code("""
from course_lib.timeline import plot_timeline
plot_timeline(loop.timeline())
plt.show()
""")
nb.md("""
## 3 · Checking an exercise

Each chapter ends with exercises. You write a function, then run a cell that calls
`check("NN.name", your_function)`. The check calls your function with many inputs and compares what
it does with what it should do.

Try it on a warm-up. A task is a list of steps; each step is `(kind, seconds)` where kind is
`"cpu"` (computing) or `"io"` (waiting for input/output). `seconds_waiting` should add up the
seconds spent waiting. This first attempt has a bug:
""")
nb.code("""
def seconds_waiting(steps):
    return sum(seconds for kind, seconds in steps)   # bug: adds up the cpu steps too
""")
nb.md("""
When a check fails it shows **one hint**, not pages of error messages. In an exercise notebook you
would just run `check("00.warmup", seconds_waiting)`; here we catch the failure so that this
notebook can still run top to bottom:
""")
nb.code("""
try:
    check("00.warmup", seconds_waiting)
except CheckFailed as failure:
    print("The check says:", failure)
""")
nb.md("""
Fix the function and check again. A pass prints one line:
""")
nb.code("""
def seconds_waiting(steps):
    return sum(seconds for kind, seconds in steps if kind == "io")

check("00.warmup", seconds_waiting)
""")
nb.md("""
A few things to know about checks:

- they **drive your code**: they never read what you print, so print as much as you like while you
  work;
- when your own code raises an error, the hint names it and the line it came from;
- a function you have not written yet (still `raise NotImplementedError()`) gets the hint
  "not written yet";
- the random inputs are seeded, so a failing case fails the same way every time.

Your passes are remembered on this computer. `progress.show()` lists every exercise of the course:
""")
nb.code("""
progress.show()
""", tags=["nbval-ignore-output"])
nb.md("""
## 4 · Where things are

| folder | what is in it |
|---|---|
| `notebooks/` | the chapters (this is one) |
| `exercises/` | one exercise notebook per chapter: **yours to fill in** |
| `solutions/` | worked solutions — try first, peek later |
| `course_lib/` | the course's helper package. It is meant to be read: the event loop of chapter 04 is `course_lib/loop.py`, under 500 lines |
| `benchmarks/` | small scripts that measure the course's code against the real thing |

## What each chapter is for

| # | chapter | the question it answers |
|---|---|---|
| 01 | three models | Single-threaded, threaded, event-driven: which finishes first, and when does each fit? |
| 02 | blocking I/O | What does "waiting for I/O" mean to the operating system, and what does waiting cost? |
| 03 | threads | What do threads cost, how do they go wrong (races, deadlock), and what does Python's GIL change? |
| 04 | event loop and callbacks | How does an event loop work inside — ready queue, timers, I/O — and what is it like to program with callbacks? |
| 05 | select, poll, epoll | How does one thread wait for thousands of sockets at once, and why is `epoll` faster than `select`? |
| 06 | coroutines and asyncio | *(planned)* How do `async` and `await` turn callbacks back into straight-line code? |
| 07 | capstone server | *(planned)* A real event-driven server that real clients talk to |

## Your machine

The simulations are the same everywhere. The measurements are yours: they depend on your operating
system and hardware. Some tools exist only on some systems — `epoll` only on Linux, `kqueue` on
macOS and BSD — and the chapters use what you have. Here is what this kernel sees:
""")
nb.code("""
import platform, os
from course_lib.pollers import available_pollers
print(f"Python {platform.python_version()} on {platform.system()} ({platform.machine()}), {os.cpu_count()} cores")
print("ways to wait for sockets:", ", ".join(available_pollers()))
""", tags=["nbval-ignore-output"])
nb.md("""
Ready? Open [chapter 01 · Three ways to wait](01_three_models.ipynb).
""")
nb.write("notebooks/00_start_here.ipynb")
