"""Build notebooks/04_event_loop_callbacks.ipynb (the lecture): python tools/build/04_event_loop_callbacks.py

Then execute it: python tools/run_notebook.py notebooks/04_event_loop_callbacks.ipynb
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.nb import Notebook  # noqa: E402

IGNORE = ["nbval-ignore-output"]
nb = Notebook()

# ------------------------------------------------------------------------------------------ intro
nb.md(r"""
# 04 · The event loop and callbacks

In chapter 01 the event-driven model was a picture: one thread, many tasks, and whenever a task
had to wait for I/O it stepped aside so another could run. This chapter opens the box and looks
at the machine that makes that picture happen: the **event loop**.

You will

1. **build an event loop yourself**, in about seventy lines, growing it one cell at a time;
2. **step** the course's loop one event at a time and watch its state;
3. see what programming with **callbacks** does to ordinary code (*stack ripping*);
4. see what happens when a callback **raises an error**, and when a callback is **slow**;
5. run the same program on **real asyncio** and check that it does things in the same order.

Throughout, a cell marked **Predict, then run** asks you to decide what will happen *before* you
run it. Write your guess down; being surprised is how the model in your head gets fixed.
""")

nb.code(r"""
%matplotlib inline
import asyncio
import heapq
import itertools
import selectors
import socket
import threading
import time
import traceback
from collections import deque

import matplotlib.pyplot as plt

from course_lib.loop import Loop
from course_lib.simnet import EchoServer, SimNetwork
from course_lib.slowserver import SlowServer
from course_lib.timeline import Timeline, plot_timeline
from course_lib.tracer import Tracer
from course_lib.widgets import Stepper
""")

nb.md(r"""
## 1 · Words first

- An **event** is something a program waits for: bytes arrive on a socket, a moment in time
  comes, or another piece of the program asks for some work to be done "as soon as possible".
- A **callback** is a function you hand over to be called later, when its event happens. You do
  not call it yourself; you *register* it and someone else calls it.
- An **event loop** is that someone: a single loop, in a single thread, that waits for events and
  calls the callbacks registered for them, **one at a time**. While a callback runs, the loop
  does nothing else; it gets control back only when the callback returns.

The loop keeps three collections:

| collection | holds | filled by |
|---|---|---|
| **ready queue** | callbacks that can run right now | `call_soon(fn)` |
| **timers** | callbacks that must run at a given time | `call_later(delay, fn)`, `call_at(when, fn)` |
| **readers** | callbacks waiting for data on a socket | `add_reader(sock, fn)` |

The names `call_soon`, `call_later`, `call_at` and `add_reader` are the ones Python's `asyncio`
uses, so what you build here is a small model of the real thing.
""")

# ------------------------------------------------------------------------------------------ step 1
nb.md(r"""
## 2 · Build the loop, step by step

### Step 1: a ready queue

The simplest loop has only a ready queue. A **queue** here is first in, first out: the callback
queued first runs first. Python's `collections.deque` is a list that is cheap to take from the
front (`popleft`).

One pass of the loop is called an **iteration**. In one iteration our loop runs the callbacks that
were in the queue *when the iteration started*, and no others: we count them first with
`len(self._ready)`. Anything a callback queues while it runs waits for the next iteration.
""")

nb.code(r'''
class Loop1:
    """Step 1: a ready queue and nothing else."""

    def __init__(self):
        self._ready = deque()  # (function, arguments) pairs, first in first out

    def call_soon(self, fn, *args):
        """Run fn(*args) as soon as possible, after what is already queued."""
        self._ready.append((fn, args))

    def run_once(self):
        """One iteration: run the callbacks that are in the queue now."""
        for _ in range(len(self._ready)):  # counted before any of them runs
            fn, args = self._ready.popleft()
            fn(*args)

    def run(self):
        while self._ready:
            self.run_once()
''')

nb.md(r"""
**Predict, then run.** `greet("Ann")` queues one more greeting while it runs. In what order are
the three names printed, and in which iteration? (The cell drives the loop by hand, one
`run_once` at a time, so that it can print the iteration number; it peeks at `loop._ready`,
whose leading underscore marks it as the loop's internal business.)
""")

nb.code(r'''
loop = Loop1()

def greet(name):
    print(f"  hello {name}")
    if name == "Ann":
        loop.call_soon(greet, "Ann's friend")

loop.call_soon(greet, "Ann")
loop.call_soon(greet, "Bob")
iteration = 0
while loop._ready:
    iteration += 1
    print(f"iteration {iteration}: {len(loop._ready)} callback(s) ready")
    loop.run_once()
''')

nb.md(r"""
Ann and Bob were both queued before the first iteration, so they run in it, in the order they
were queued. Ann's friend was queued *during* iteration 1, so waits for iteration 2.

Why count first? Picture a callback that queues itself again every time it runs (a "keep me
busy" task). If an iteration ran *until the queue is empty*, that iteration would never end, and
nothing else the loop has to do between iterations (look at the clock, look at the sockets) would
ever happen. Counting first bounds the work of one iteration. The cell below runs a self-queueing
callback five times on both versions and counts the iterations.
""")

nb.code(r'''
class GreedyLoop1(Loop1):
    def run_once(self):
        while self._ready:  # runs until the queue is empty, including what callbacks add
            fn, args = self._ready.popleft()
            fn(*args)

def count_iterations(loop_class):
    loop = loop_class()
    def again(n):
        if n > 1:
            loop.call_soon(again, n - 1)
    loop.call_soon(again, 5)
    iterations = 0
    while loop._ready:
        iterations += 1
        loop.run_once()
    return iterations

print("Loop1       iterations:", count_iterations(Loop1))
print("GreedyLoop1 iterations:", count_iterations(GreedyLoop1))
''')

# ------------------------------------------------------------------------------------------ step 2
nb.md(r"""
### Step 2: timers on a heap

A **timer** says "call this function at time *t*". The loop needs, again and again, the timer
with the *earliest* deadline. A **heap** gives exactly that cheaply: Python's `heapq` keeps a list
arranged so that `heap[0]` is always the smallest item, and `heappush`/`heappop` cost about
log₂(n) comparisons each.

We store each timer as a tuple `(when, fn, args)`. Tuples compare item by item: first `when`; only
if two deadlines are *equal* does Python go on to compare the next items. **Predict, then run:**
what happens when two timers share a deadline?
""")

nb.code(r'''
heap = []
heapq.heappush(heap, (2.0, print, ("timer at 2",)))
heapq.heappush(heap, (1.0, print, ("timer at 1",)))
when, fn, args = heapq.heappop(heap)       # the earliest comes out first
print("popped the timer due at", when)
try:
    heapq.heappush(heap, (2.0, len, ("another timer at 2",)))
except TypeError as error:
    print("TypeError:", error)
''')

nb.md(r"""
With equal deadlines the heap had to compare the two functions `len` and `print`, and functions
cannot be ordered. Equal deadlines are common (on a virtual clock, two `call_later(1, ...)` made
by the same callback always tie; on a real clock, two `call_at` with one computed time do), so we
need a **tie-break**: a number between
the deadline and the function that is different for every timer. A counter that goes 0, 1, 2, ...
(`itertools.count()`) does two jobs at once:

1. the comparison never reaches the functions, since no two timers have the same number;
2. timers with the same deadline come out in the order they were **scheduled**, which is fair and
   predictable.
""")

nb.code(r'''
heap, counter = [], itertools.count()
for when, name in [(2.0, "b"), (1.0, "a"), (2.0, "c"), (2.0, "d")]:
    heapq.heappush(heap, (when, next(counter), print, (name,)))
while heap:
    when, seq, fn, args = heapq.heappop(heap)
    print(f"when={when}  seq={seq}  ->", end=" ")
    fn(*args)
''')

nb.md(r"""
Now the loop. One iteration gets a first phase: **wait**. If callbacks are ready, it must not
wait at all. Otherwise it can sleep until the earliest deadline: nothing can happen before then
(there is no I/O yet). If there is no timer either, there is nothing left to do. After the wait,
every timer whose deadline has come is moved to the ready queue, earliest first, and then the
ready callbacks run as in step 1.

The waiting happens in a method of its own, `_wait(timeout)`, which returns the callbacks that
became ready *through I/O* while it waited. With no I/O yet it only sleeps and returns an empty
list; step 3 will replace it.
""")

nb.code(r'''
class Loop2(Loop1):
    """Step 2: + timers on a heap with a tie-break, and a clock."""

    def __init__(self):
        super().__init__()
        self._timers = []               # heap of (when, seq, fn, args): earliest deadline first
        self._seq = itertools.count()   # the tie-break: 0, 1, 2, ...

    def time(self):
        return time.monotonic()         # a clock that never jumps backwards

    def call_at(self, when, fn, *args):
        heapq.heappush(self._timers, (when, next(self._seq), fn, args))

    def call_later(self, delay, fn, *args):
        self.call_at(self.time() + delay, fn, *args)

    def _wait(self, timeout):
        """Wait at most `timeout` seconds (None = no limit); return callbacks made ready by I/O."""
        if timeout:
            time.sleep(timeout)         # no I/O yet: waiting is sleeping
        return []

    def run_once(self):
        # 1. wait: not at all if callbacks are ready, else until the earliest timer
        if self._ready:
            timeout = 0
        elif self._timers:
            timeout = max(0, self._timers[0][0] - self.time())
        else:
            timeout = None
        self._ready.extend(self._wait(timeout))
        # 2. timers whose deadline has come join the ready queue, earliest first
        now = self.time()
        while self._timers and self._timers[0][0] <= now:
            when, seq, fn, args = heapq.heappop(self._timers)
            self._ready.append((fn, args))
        # 3. run the callbacks that are ready at this moment (step 1)
        super().run_once()

    def run(self):
        while self._ready or self._timers:
            self.run_once()
''')

nb.md(r"""
Let's run it on the real clock. The printed times depend on your machine (a busy computer wakes
the loop a little late), but the order does not.
""")

nb.code(r'''
loop = Loop2()
start = loop.time()

def say(text):
    print(f"t = {loop.time() - start:.3f} s   {text}")

loop.call_later(0.2, say, "the 0.2 s timer")
loop.call_later(0.1, say, "a 0.1 s timer")
loop.call_soon(say, "call_soon")
loop.run()
''', tags=IGNORE)

nb.md(r"""
A real clock makes every run slightly different. For studying *order* we prefer a **virtual
clock**: a number that only moves when the loop would wait. Waiting 0.2 seconds becomes "add 0.2
to the clock", which takes no time at all, and every run gives the same times. Only two methods
change:
""")

nb.code(r'''
class VirtualLoop2(Loop2):
    """Loop2 on a virtual clock: waiting moves the clock instead of sleeping."""

    def __init__(self):
        super().__init__()
        self.now = 0.0

    def time(self):
        return self.now

    def _wait(self, timeout):
        if timeout:
            self.now += timeout
        return []
''')

nb.md(r"""
**Predict, then run.** `first` queues one callback with `call_soon` and one timer with
`call_later(0, ...)`. Two more timers share the deadline 1. Write down the five lines in order.
""")

nb.code(r'''
def program(loop, log):
    """A small program that uses only call_soon and call_later: any loop with asyncio's names runs it."""
    def first():
        log("first")
        loop.call_later(0, log, "call_later(0) from first")
        loop.call_soon(log, "call_soon from first")

    loop.call_later(1, log, "timer A at 1")
    loop.call_later(1, log, "timer B at 1")
    loop.call_soon(first)

loop = VirtualLoop2()
program(loop, lambda text: print(f"t={loop.time():g}  {text}"))
loop.run()
''')

nb.md(r"""
Two things to notice:

- `call_later(0, ...)` is **not** the same as `call_soon`. It is a timer: in the next iteration it
  joins the ready queue only in phase 2, *after* the callbacks already waiting there.
- A and B have the same deadline and run in the order they were scheduled: the tie-break at work.
""")

# ------------------------------------------------------------------------------------------ step 3
nb.md(r"""
### Step 3: waiting for sockets

The last kind of event is I/O: "data has arrived on this socket". Two new tools:

- `socket.socketpair()` gives two sockets connected to each other inside one process: bytes sent
  on one can be received on the other. It is the smallest real network connection there is.
- A **selector** (Python's `selectors` module) asks the operating system: "of these sockets, which
  ones have data to read? Wait at most *timeout* seconds for one of them." While it waits the
  thread sleeps and uses no CPU. Chapter 05 looks inside (`select`, `poll`, `epoll`); here we only
  use it.

`add_reader(sock, fn)` means "whenever `sock` has data to read, call `fn`". The loop registers the
socket with its selector and keeps the callback next to it. Phase 1 of an iteration now really
waits for I/O, and the callbacks of sockets that became readable join the ready queue. That is
the whole loop:
""")

nb.code(r'''
class MiniLoop(Loop2):
    """Step 3: + readers, watched by a selector while the loop waits."""

    def __init__(self):
        super().__init__()
        self._selector = selectors.DefaultSelector()

    def add_reader(self, sock, fn, *args):
        self._selector.register(sock, selectors.EVENT_READ, (fn, args))

    def remove_reader(self, sock):
        self._selector.unregister(sock)

    def _wait(self, timeout):
        if not self._selector.get_map():    # no socket to watch: just sleep
            return super()._wait(timeout)
        events = self._selector.select(timeout)
        return [key.data for key, mask in events]   # the (fn, args) stored by add_reader

    def run(self):
        while self._ready or self._timers or self._selector.get_map():
            self.run_once()

    def close(self):
        self._selector.close()
''')

nb.md(r"""
**Predict, then run.** One end of a socket pair has a reader. Timers send `b"hello "` after 0.1 s
and `b"world!"` after 0.2 s on the other end, and a third timer prints a line at 0.15 s. How many
times is the reader called, and where does the 0.15 s line appear?
""")

nb.code(r'''
loop = MiniLoop()
near, far = socket.socketpair()
received = b""

def on_readable():
    global received
    data = near.recv(1024)
    print(f"reader called, recv returned {data!r}")
    received += data
    if received.endswith(b"!"):
        loop.remove_reader(near)      # nothing more to wait for: the loop can end

loop.add_reader(near, on_readable)
loop.call_later(0.10, far.send, b"hello ")
loop.call_later(0.20, far.send, b"world!")
loop.call_later(0.15, print, "the 0.15 s timer")
try:
    loop.run()
finally:
    near.close(); far.close(); loop.close()
print("received:", received)
''')

nb.md(r"""
The reader was called twice, once for each piece of data, and the 0.15 s timer ran between them.
While nothing happened, the loop sat inside `select`, asleep, with a timeout that ended exactly
at the next timer. That is the whole trick of the event loop: **one thread waits for everything
at once**, and runs the code of whichever event happens.

A loop can also watch for the opposite event: `add_writer(sock, fn)` calls `fn` when `sock` can
take more data to send (its buffer in the kernel has room). It is the same mechanism with
`selectors.EVENT_WRITE`; the course loop has it, and chapter 05 needs it.

Here is one iteration, as our `MiniLoop` does it and as asyncio does it:

1. **poll** for I/O: do not wait if callbacks are ready, otherwise wait until the earliest timer
   (or forever if there is none); queue the callbacks of the sockets that are ready;
2. **timers**: queue the callbacks of the timers that are due, by deadline, then by scheduling
   order;
3. **run** the callbacks that were queued at that moment, first in, first out. What they schedule
   waits for the next iteration.
""")

# ------------------------------------------------------------------------------------------ course loop
nb.md(r"""
## 3 · The course's loop, one step at a time

`course_lib.loop.Loop` is the loop you just built, grown up a little. Open `course_lib/loop.py`
next to this notebook: it has the same ready queue, the same timer heap with a tie-break counter
and the same three phases. What it adds:

- **`step()`** does *one* thing and says what: either one **poll** (phases 1 and 2: wait, then
  queue the callbacks of ready sockets and of due timers; these queued callbacks are called the
  **batch**) or one **callback** of the batch. One iteration of `MiniLoop` is one poll step
  followed by one step per callback. `run()` is just `step()` in a loop.
- **`Loop()`** runs on a virtual clock, like `VirtualLoop2`, with *simulated sockets*;
  `Loop(poller="default")` runs on the real clock with a real selector.
- **`snapshot()`** returns the loop's state (clock, ready queue, timers, readers, writers) and
  **`timeline()`** what ran when, for drawing.
- A callback that raises does not kill the loop (section 6) and a slow callback is flagged
  (section 7).

**Predict, then run.** Here is `program` from step 2 on the course loop, one step at a time.
The program's own lines are indented. How many poll steps will there be?
""")

nb.code(r'''
loop = Loop()

def log(text):
    print(f"      t={loop.time():g}  {text}")

program(loop, log)
while not loop.done:
    print(loop.step())
''')

nb.md(r"""
Three polls, one per iteration, and the program's lines come out exactly as on `VirtualLoop2`.
The third poll waited 1 second, on the virtual clock, for timers A and B.

### Simulated sockets

On a virtual clock we cannot use real sockets: the operating system's network does not know our
clock. `course_lib.simnet` gives sockets that live on the loop's clock instead.
`SimNetwork(loop, latency=0.05)` is a pretend network on which bytes arrive 0.05 s after they
are sent; `net.connect(address)` and `net.listen(address)` make sockets with `send`, `recv` and
`close` like real non-blocking sockets (a `recv` with nothing to read raises `BlockingIOError`).
`EchoServer(net, address, delay, transform)` is a ready-made server on the same loop: each piece
of data it reads, it sends back transformed, `delay` seconds later.

The program below has three parts: a client that sends `b"hi"` and reads the answer, the echo
server (upper-casing what it gets, after 0.1 s), and a `tick` timer that runs every 0.1 s,
standing for any other work the program has.

**Predict, then run.** The network takes 0.05 s each way and the server waits 0.1 s. At what
time does `on_reply` run?
""")

nb.code(r'''
def make_demo():
    """Build a fresh loop with a client, an echo server and a ticking timer (nothing runs yet)."""
    loop = Loop()
    net = SimNetwork(loop, latency=0.05)
    EchoServer(net, "server:80", delay=0.1, transform=bytes.upper)
    sock = net.connect("server:80")

    def on_reply():
        data = sock.recv(100)
        loop.remove_reader(sock)
        sock.close()

    def tick(n):
        if n < 4:
            loop.call_later(0.1, tick, n + 1)

    sock.send(b"hi")
    loop.add_reader(sock, on_reply)
    loop.call_soon(tick, 1)
    return loop

loop = make_demo()
while not loop.done:
    print(f"t={loop.time():.2f}  {loop.step()}")
''')

nb.md(r"""
`on_reply` runs at t = 0.20: 0.05 s for `b"hi"` to reach the server, 0.1 s of server delay and
0.05 s back. Between those moments the loop was not idle: `tick` ran at 0, 0.1, 0.2 and 0.3, and
the server's callbacks ran when their events came. Look at the poll that started at 0.15 and
waited 0.05 s: when it woke up, a socket was readable *and* a timer was due, so two callbacks
formed one batch, the I/O callback first.

Now step it yourself. The **Stepper** below builds a fresh loop with `make_demo` and shows its
state after every step: the clock, the ready queue, the timers in the heap, the readers (which
socket, which callback), and the timeline so far. **Step** does one step, **Back** replays the
run to the step before (the simulation is deterministic, so the replay is exact), **Run** steps
by itself until you press it again, **Reset** starts over. Watch the readers table: when does
`client:1` appear and leave it?
""")

nb.code(r'''
stepper = Stepper(make_demo, title="a client, an echo server and a ticking timer")
stepper
''', tags=IGNORE)

nb.md(r"""
Everything the Stepper shows comes from `loop.snapshot()`, a plain dictionary. Here it is after
five steps:
""")

nb.code(r'''
loop = make_demo()
for _ in range(5):
    loop.step()
snap = loop.snapshot()
for key in ["clock", "ready", "batch_left", "timers", "readers", "last_step"]:
    print(f"{key:>10}: {snap[key]}")
''')

# ------------------------------------------------------------------------------------------ asyncio
nb.md(r"""
## 4 · The same program on real asyncio

Python's `asyncio` has the same kind of loop at its bottom. Its `BaseEventLoop._run_once` is one
iteration: poll, due timers, run the batch. So `program` from step 2, which only uses
`call_soon` and `call_later`, runs unchanged on asyncio.

One obstacle: Jupyter itself already runs an asyncio loop in this thread (that is how the kernel
receives your cells), and a thread can run only one loop at a time:
""")

nb.code(r'''
print(asyncio.get_running_loop())
''', tags=IGNORE)

nb.md(r"""
So we run a fresh asyncio loop in a helper thread, for a fixed number of seconds, on the real
clock:
""")

nb.code(r'''
def run_on_asyncio(program, seconds):
    """Run program(loop, log) on a fresh asyncio loop in a helper thread; return [(time, text)]."""
    lines = []

    def main():
        aloop = asyncio.new_event_loop()
        start = aloop.time()
        try:
            aloop.call_later(seconds, aloop.stop)
            program(aloop, lambda text: lines.append((aloop.time() - start, text)))
            aloop.run_forever()
        finally:
            aloop.close()

    worker = threading.Thread(target=main)
    worker.start()
    worker.join()
    return lines

on_asyncio = run_on_asyncio(program, seconds=1.1)

loop, on_course_loop = Loop(), []
program(loop, lambda text: on_course_loop.append((loop.time(), text)))
loop.run()

print(f"{'course Loop (virtual clock)':<42} asyncio (real clock)")
for (t1, a), (t2, b) in zip(on_course_loop, on_asyncio):
    print(f"t={t1:<5.3f} {a:<34} t={t2:.3f} {b}")
''', tags=IGNORE)

nb.code(r'''
print("same order:", [text for _, text in on_course_loop] == [text for _, text in on_asyncio])
''')

nb.md(r"""
Same order; the times differ only by how late a real computer wakes up. The names map one to
one:

| course `Loop` | asyncio | what it does |
|---|---|---|
| `loop.call_soon(fn, *args)` | `loop.call_soon(fn, *args)` | queue `fn` for the next batch; returns a `Handle` |
| `loop.call_later(d, fn, *args)` | `loop.call_later(d, fn, *args)` | a timer `d` seconds from now; returns a `TimerHandle` |
| `loop.call_at(t, fn, *args)` | `loop.call_at(t, fn, *args)` | a timer at time `t` of `loop.time()` |
| `loop.add_reader(sock, fn)` | `loop.add_reader(sock, fn)` | call `fn` whenever `sock` is readable |
| `handle.cancel()` | `handle.cancel()` | the callback will not run |
| `loop.step()` | (none: `_run_once` is one poll *and* its whole batch) | one event |
| `loop.run()`, `loop.stop()` | `loop.run_forever()`, `loop.stop()` | run until stopped (ours also ends when nothing can happen) |
| `loop.errors` | `loop.set_exception_handler(...)` | where errors of callbacks go (section 6) |

**One difference, found by testing.** Our loop's tie-break guarantees that timers with the same
deadline run in scheduling order. asyncio makes no such promise: its timer handles compare by
deadline only, so when deadlines are equal the heap may hand them out in any order. With
`call_later` on a real clock, deadlines are practically never equal (the clock moves between
calls), but with `call_at` they can be. **Predict, then run:** `a` and `b` get the same
deadline, then `c` is scheduled to run *now*.
""")

nb.code(r'''
def ties(loop, log):
    when = loop.time() + 0.05
    loop.call_at(when, log, "a")
    loop.call_at(when, log, "b")
    loop.call_soon(lambda: loop.call_at(loop.time(), log, "c"))

print("asyncio    :", [text for _, text in run_on_asyncio(ties, seconds=0.1)])
loop, order = Loop(), []
ties(loop, order.append)
loop.run()
print("course Loop:", order)
''')

nb.md(r"""
On asyncio `b` ran before `a`: removing `c` from the heap reshuffled the two equal entries.
Programs should not rely on the order of timers with *exactly* the same deadline; our loop fixes
the order so that every run of a simulation is the same.
""")

# ------------------------------------------------------------------------------------------ stack ripping
nb.md(r"""
## 5 · Callback chains and "stack ripping"

A program that talks to a server usually does several things in a row: connect, send a request,
read the reply (which may come in pieces), close. Written for blocking sockets, that is one
straight function. Here it is against `SlowServer`, a real server on 127.0.0.1 from chapter 02
that answers after 0.1 s, upper-cased, 5 bytes at a time:
""")

nb.code(r'''
def fetch_straight(address, request):
    sock = socket.create_connection(address)   # 1. connect (blocks)
    sock.sendall(request)                       # 2. send (blocks until all is sent)
    reply = b""
    while not reply.endswith(b"\n"):            # 3. read until the end of the line;
        chunk = sock.recv(100)                  #    recv blocks, and may return only a piece
        if not chunk:
            break
        reply += chunk
    sock.close()                                # 4. close
    return reply

with SlowServer(delay=0.1, response=lambda line: line.upper(), chunk_size=5, chunk_delay=0.02) as server:
    print(fetch_straight(server.address, b"hello, loop\n"))
''')

nb.md(r"""
While `recv` blocks, this thread can do nothing else. On an event loop nobody may block, so every
place where the function would wait becomes a place where it **returns** and asks the loop to
call *another* function when the wait is over. The one function is cut into pieces at each wait:
a **callback chain**. Here is the same client on the simulated network; `on_done` is the callback
that receives the result, since there is nobody left to `return` it to.
""")

nb.code(r'''
def fetch_with_callbacks(loop, net, address, request, on_done):
    sock = net.connect(address)                 # 1. connect (a simulated connect never blocks)
    sock.send(request)                          # 2. send (a short request fits in the buffer)
    reply = bytearray()                         # outlives this function: on_readable keeps it

    def on_readable():                          # 3. the loop calls this once per arriving piece
        reply.extend(sock.recv(5))
        if not reply.endswith(b"\n"):
            return                              # the `while` goes on: wait to be called again
        loop.remove_reader(sock)
        sock.close()                            # 4. close
        on_done(bytes(reply))                   # `return reply` becomes "call the next callback"

    loop.add_reader(sock, on_readable)          # ...and return at once, before anything arrived
''')

nb.md(r"""
**Predict, then run.** Three clients start at the same moment on one loop, against an echo server
with a 0.1 s delay and 0.05 s of latency each way. When does each get its reply, and roughly when
would the last one finish if they ran one after the other?
""")

nb.code(r'''
loop = Loop(callback_cost=0.004)    # each callback "costs" 4 ms, so the drawing shows it
net = SimNetwork(loop, latency=0.05)
EchoServer(net, "server:80", delay=0.1, transform=bytes.upper)

def report(reply):
    print(f"t={loop.time():.3f}  got {reply!r}")

for request in [b"first client\n", b"second\n", b"third one\n"]:
    fetch_with_callbacks(loop, net, "server:80", request, report)
loop.run()
''')

nb.code(r'''
plot_timeline(loop.timeline("three clients on one loop (virtual clock)"))
plt.gcf().set_size_inches(9, 3.2)
plt.tight_layout();
''')

nb.md(r"""
All three replies arrive at about 0.2 s, which is what *one* exchange costs; one after the other,
the three would have needed about 0.6 s. The waits overlap, as in chapter 01's event-driven
timeline. Each row of the drawing is one callback function; the
grey `poll` row is the loop waiting.

Look at what the cutting did to the code. Everything that lived in `fetch_straight`'s **stack
frame** (the function call's own storage for its local variables, and the place where it is in
its code) is gone after `fetch_with_callbacks` returns, which happens before any data arrived.
So each piece of it had to move somewhere that outlives the call:

| in the straight version | in the callback version |
|---|---|
| local variables `sock`, `reply` | variables captured by the inner function `on_readable` (a **closure**); the other common place is the attributes of an object |
| "where we are": inside the `while` loop | which callback the loop will call next: `on_readable` stays registered until the reply is complete |
| `return reply` to the caller | a call of the callback `on_done(reply)` |
| a `try`/`except` around all four steps | impossible: each callback runs alone, called by the loop (see the next section) |

This cutting up of one function into callbacks, with its stack frame torn apart and its state
moved by hand, is called **stack ripping**. It gets worse with every step: a client that sends a
second request after the first reply needs a callback inside a callback, and a `for` loop over
requests has to become a counter kept outside every callback. Exercise 04.client asks you to do
exactly that, and chapter 06 shows how coroutines (`async def`/`await`) let you write the
straight version again while the loop still does the waiting.
""")

# ------------------------------------------------------------------------------------------ errors
nb.md(r"""
## 6 · Errors inside callbacks

A callback is called by the loop, not by the code that scheduled it. So when a callback raises,
whom does the exception reach? **Predict, then run**, on our `VirtualLoop2` first: three lines
are parsed one second apart, and the second line is broken.
""")

nb.code(r'''
lines = ["42", "4x2", "7"]

def parse_later(loop, gap=1):
    """Schedule one callback per line, `gap` seconds apart."""
    for i, line in enumerate(lines):
        loop.call_later(gap * (i + 1), on_line, line)

def on_line(line):
    print(f"parsed {int(line)}")

loop = VirtualLoop2()
loop.call_soon(parse_later, loop)
try:
    loop.run()
except ValueError as error:
    print(f"run() stopped at t={loop.time():g}: ValueError: {error}")
print("timers that never ran:", len(loop._timers))
''')

nb.md(r"""
Our little loop has no protection: the exception flew out of `run()` and took the whole loop
with it, and the third line was never parsed. In a server, one bad request would stop every
other connection. Real loops catch the exception, **report** it and **go on** with the next
callback. The course loop keeps the report in `loop.errors`:
""")

nb.code(r'''
loop = Loop()
loop.call_soon(parse_later, loop)
loop.run()
print(f"the loop went on until t={loop.time():g}")
for step in loop.errors:
    print("reported:", step)
''')

nb.md(r"""
asyncio does the same. By default it logs the error ("Exception in callback ...") with a
traceback; a program may install its own **exception handler** instead, which we do here to get
one short line:
""")

nb.code(r'''
def parse_on_asyncio(aloop, log):
    aloop.set_exception_handler(lambda aloop, context: print(f"reported by asyncio: {context['exception']!r}"))
    aloop.call_soon(parse_later, aloop, 0.01)     # lines 10 ms apart: this loop runs on the real clock

run_on_asyncio(parse_on_asyncio, seconds=0.1)
print("(the asyncio loop went on after the error)")
''')

nb.md(r"""
The loop goes on, but look at *where* the error seems to come from. A traceback lists the
function calls that were in progress when the exception happened, outermost first. When
`parse_now` calls `on_line` itself, `parse_now` is in the list: you can see who asked for
the broken line. **Predict, then run:** is it still there when the loop calls `on_line`?
""")

nb.code(r'''
def frames(error):
    return " -> ".join(frame.name for frame in traceback.extract_tb(error.__traceback__))

def parse_now():
    for line in lines:
        on_line(line)

try:
    parse_now()
except ValueError as error:
    print("called directly: ", frames(error))

print("called by the loop:", frames(loop.errors[0].error))
''')

nb.md(r"""
Through the loop, the traceback starts at the loop's `_run_callback` and ends in `on_line`. The
code that *caused* the bad call, `parse_later`, returned two seconds before the error happened and
is nowhere to be seen. With callbacks **an error surfaces far from its cause**: in time (later),
and in the code (a different call stack). When you debug callback code, log enough about who
scheduled what, because the traceback will not tell you.
""")

# ------------------------------------------------------------------------------------------ slow callback
nb.md(r"""
## 7 · A slow callback freezes everything

The loop runs one callback at a time and cannot interrupt it. So while one callback computes,
*nothing else* happens: no timer fires, no socket is read, no other client is served.

To show it on the virtual clock we need CPU work that takes virtual time. `loop.spend(seconds)`,
called inside a callback, says "this callback now computes for `seconds`": the virtual clock
moves on while the callback holds the loop. (On the real loop it really keeps the CPU busy.)

""")

nb.md(r"""
The program: a `heartbeat` timer that should run every 0.1 s, does 5 ms of work and notes how
late it ran; and, at t = 0.55 s, a callback `crunch` that computes for 1 second.

**Predict, then run.** The heartbeat due at 0.6 s: when does it run? And the ones due at 0.7,
0.8, ..., 1.5?
""")

nb.code(r'''
def heartbeat_program(loop, spend, crunch_seconds, period=0.1, until=2.0, crunch_at=0.55):
    """A heartbeat every `period` s and, at `crunch_at`, one callback that computes `crunch_seconds`.
    spend(name, seconds) stands for computing; returns [(when the heartbeat was due, how late it ran)]."""
    start = loop.time()
    lateness = []

    def heartbeat(due):
        lateness.append((due - start, loop.time() - due))
        spend("heartbeat", 0.005)
        if due + period <= start + until:
            loop.call_at(due + period, heartbeat, due + period)

    def crunch():
        spend("crunch", crunch_seconds)

    loop.call_at(start + period, heartbeat, start + period)
    loop.call_at(start + crunch_at, crunch)
    return lateness

class ReportSlow:
    """An instrument: the loop tells it about every callback; it prints the slow ones."""
    def after_callback(self, handle, step):
        if step.slow:
            print(step)

loop = Loop()
loop.add_instrument(ReportSlow())
simulated = heartbeat_program(loop, lambda name, seconds: loop.spend(seconds), crunch_seconds=1.0)
loop.run()
for due, late in simulated[4:9]:
    print(f"heartbeat due at {due:.1f} s ran at {due + late:.3f} s ({late:.3f} s late)")
''')

nb.md(r"""
The heartbeat due at 0.6 s ran at 1.55 s, almost a second late: it became due while `crunch` held
the loop, and the loop could only look at its timers again when `crunch` returned. The next ones
then ran in a burst, 5 ms apart, as the heartbeat caught up with its missed deadlines. The loop
flagged `crunch` as slow: it took longer than `Loop.slow_callback_duration` (0.1 s; asyncio has
the same setting, used in its debug mode).

Now the same on a **real clock**, measured. We run the heartbeat program on real asyncio, every
50 ms for one second, with a `crunch` that keeps the CPU busy for 0.3 s (a loop that only watches
the clock), and record with a `Tracer` (chapter 01) when each callback really ran. The numbers
depend on your machine.
""")

nb.code(r'''
def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

tracer = Tracer()

def spend_measured(name, seconds):
    with tracer.span(name, "cpu"):
        busy(seconds)

def measured_program(aloop, log):
    tracer.reset()
    lateness = heartbeat_program(aloop, spend_measured, crunch_seconds=0.3, period=0.05, until=1.0, crunch_at=0.275)
    aloop.call_later(1.05, log, lateness)     # hand the list back when the program is over

[(_, measured)] = run_on_asyncio(measured_program, seconds=1.1)
worst_due, worst = max(measured, key=lambda pair: pair[1])
print(f"asyncio, real clock: {len(measured)} heartbeats; the worst ran {worst * 1000:.0f} ms late (due at {worst_due:.2f} s)")
''', tags=IGNORE)

nb.md(r"""
The course loop in real mode, `Loop(poller="default")` (the best selector your system has: epoll
on Linux, kqueue on macOS, select on Windows), runs the same program on the wall clock; its
`spend` really keeps the CPU busy, and it flags the slow callback as the simulation did:
""")

nb.code(r'''
real_loop = Loop(poller="default")
real_loop.add_instrument(ReportSlow())
try:
    on_real_loop = heartbeat_program(real_loop, lambda name, seconds: real_loop.spend(seconds),
                                     crunch_seconds=0.3, period=0.05, until=1.0, crunch_at=0.275)
    real_loop.run()
finally:
    real_loop.close()
print(f"course Loop, real clock: the worst heartbeat ran {max(late for _, late in on_real_loop) * 1000:.0f} ms late")
''', tags=IGNORE)

nb.md(r"""
The measured heartbeat stopped for as long as `crunch` ran, about 0.3 s: the same picture as the
simulation. Here both are drawn with the same function, the simulated run on top and the
measured one below, with how late each heartbeat was on the right:
""")

nb.code(r'''
fig, axes = plt.subplots(2, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [3, 2]})
rows = ["heartbeat", "crunch", "poll"]       # the same rows, in the same colours, in both drawings
simulated_tl = Timeline(loop.timeline().segments, title="simulated: Loop() on a virtual clock, crunch = 1 s", tasks=rows)
plot_timeline(simulated_tl, ax=axes[0, 0])
plot_timeline(tracer.timeline("measured: asyncio on the real clock, crunch = 0.3 s", tasks=rows[:2]), ax=axes[1, 0])
for ax, runs, title in [(axes[0, 1], simulated, "simulated"), (axes[1, 1], measured, "measured")]:
    ax.plot([due for due, _ in runs], [late for _, late in runs], "o-", color="#D55E00", markersize=3)
    ax.set_title(f"{title}: how late each heartbeat ran", loc="left", fontsize=10)
    ax.set_xlabel("when the heartbeat was due (s)")
    ax.set_ylabel("late by (s)")
    ax.grid(alpha=0.3)
fig.tight_layout();
''', tags=IGNORE)

nb.md(r"""
The cure is not a faster computer but **smaller callbacks**: do the long work in chunks, and
between chunks give the loop back with `call_soon`, so that timers and sockets get their turn
after every chunk. How small is small enough? Small enough that no timer is late by more than
you can accept. Exercise 04.chunks asks you to do this and measures the heartbeat. (Work that
cannot be cut up goes to another thread or process, which asyncio's `loop.run_in_executor`
arranges.)
""")

# ------------------------------------------------------------------------------------------ summary
nb.md(r"""
## 8 · What you have seen

- An event loop is one thread running **callbacks** one at a time. It keeps a **ready queue**
  (`call_soon`), a **heap of timers** (`call_later`, `call_at`) with a **tie-break** counter so
  that equal deadlines never compare functions and run in scheduling order, and **readers**
  (`add_reader`) that a selector watches while the loop sleeps.
- One iteration: **poll** (no wait if callbacks are ready, otherwise until the earliest timer),
  then the **due timers**, then **run the batch** queued at that moment. What a callback
  schedules waits for the next iteration; `call_later(0)` runs after `call_soon`.
- The course `Loop` and asyncio run the same program in the same order (apart from timers with
  exactly equal deadlines, which asyncio leaves unordered).
- Writing a multi-step exchange as callbacks **rips** a function apart: its local variables move
  into closures or objects, its loops become "return and be called again", its `return` becomes a
  call of the next callback.
- An exception in a callback is **reported, and the loop goes on**; the traceback no longer
  shows who caused it.
- A **slow callback freezes everything**: cut long work into chunks with `call_soon`.

## Exercises

Open **[exercises/04_event_loop_callbacks.ipynb](../exercises/04_event_loop_callbacks.ipynb)**. You will implement the timer part of a loop
(checked against asyncio on random programs), predict the order of a program's callbacks, write
a callback-chained client for a simulated server, and cut a slow callback into chunks so that a
heartbeat stays on time. Each exercise ends with a `check(...)` cell that tells you what to fix.
""")

if __name__ == "__main__":
    out = ROOT / "notebooks" / "04_event_loop_callbacks.ipynb"
    nb.write(str(out))
    print("wrote", out.relative_to(ROOT))
