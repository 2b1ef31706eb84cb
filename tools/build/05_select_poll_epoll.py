"""Build notebooks/05_select_poll_epoll.ipynb (the lecture): python tools/build/05_select_poll_epoll.py

Then execute it: python tools/run_notebook.py notebooks/05_select_poll_epoll.ipynb
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
# 05 · select, poll, epoll

In chapter 04 the event loop had one line that did all the waiting: it asked a *poller* "which of
my sockets are ready?" and slept until the answer was not empty. This chapter is about that one
question: the system calls that answer it, what each of them costs, and what you build on top.

You will

1. ask the kernel with **`select`**, **`poll`** and **`epoll`** (or **`kqueue`** on a Mac) on real
   sockets;
2. hit the wall that `select` has at 1,024 descriptors;
3. see **why** the three cost what they cost, then **measure** it against thousands of idle
   sockets (the scaling lab);
4. step through **level-triggered** and **edge-triggered** readiness on a simulated kernel buffer,
   and then confirm the surprising part on real `epoll`;
5. meet Python's **`selectors`** module and the **reactor** pattern, and run an echo server on the
   course loop with each backend;
6. read a short note on **io_uring**, which asks a different question altogether.

A cell marked **Predict, then run** asks you to decide what will happen before you run it.
Everything runs on 127.0.0.1 and closes what it opens, so you can run any cell twice.
""")

nb.code(r"""
%matplotlib inline
import os
import select
import selectors
import socket
import sys
import threading
import time

import matplotlib.pyplot as plt

from course_lib.loop import Loop
from course_lib.pollers import available_pollers
from course_lib.reactor import LoopThread, Protocol, Server
from course_lib.scaling import FD_SETSIZE, IdleSockets, available_backends, raised_fd_limit, sweep
from course_lib.timeline import plot_timeline
from course_lib.triggers import TriggerDemo
from course_lib.widgets import Stepper

HAVE_POLL = hasattr(select, "poll")
HAVE_EPOLL = hasattr(select, "epoll")
HAVE_KQUEUE = hasattr(select, "kqueue")
print("this Python can wait with:", ", ".join(available_backends()))
if not HAVE_EPOLL:
    print("no epoll here (it is Linux only): the epoll cells say so and show what this platform has instead")
""", tags=IGNORE)

# ------------------------------------------------------------------------------------------ words
nb.md(r"""
## 1 · Words first

- A **file descriptor** (chapter 02) is the small number the kernel gives a process for each open
  file, pipe or socket. Python's `sock.fileno()` shows it. The kernel hands out the **lowest free
  number**, so a process that opens many sockets gets larger and larger numbers.
- A socket is **readable** when a `recv` would return at once instead of blocking: bytes are
  waiting, or the peer has closed (then `recv` returns `b""` at once), or an error is pending. It
  is **writable** when a `send` would take at least one byte at once: there is room in the
  kernel's send buffer.
- **Readiness** is that yes/no answer for one socket and one direction. A **readiness
  notification** is the kernel telling you "this one is ready now".
- The **interest set** is the list of (descriptor, direction) pairs you want to hear about.
- **I/O multiplexing** is waiting for *many* descriptors in *one* call, and getting back the ones
  that are ready. `select`, `poll`, `epoll` and `kqueue` are four system calls that do it. (A
  **system call** is a function of the kernel that a program calls; it crosses from user space
  into kernel space and back, which costs time even when it does nothing.)

A **socket pair** (`socket.socketpair()`) is two sockets already connected to each other inside
one process: what you send on one end, you receive on the other. It is the cheapest way to get a
real socket to experiment with.
""")

# ------------------------------------------------------------------------------------------ select
nb.md(r"""
## 2 · `select`: three lists in, three lists out

`select.select(rlist, wlist, xlist, timeout)` takes the sockets you want to read from, write to,
and watch for "exceptional conditions" (rare; we pass `[]`). It returns three lists: the ones
that are ready, out of each. `timeout` is in seconds: `0` means "just look, don't wait", `None`
means "wait for ever".

**Predict, then run.** Three socket pairs; we send bytes into the pair number 1 only. Which of the
three `a` ends are readable? And which are writable?
""")

nb.code(r"""
pairs = [socket.socketpair() for _ in range(3)]
try:
    a_ends = [a for a, b in pairs]
    pairs[1][1].send(b"hello")                  # bytes travel from b to a, in pair 1 only
    readable, writable, _ = select.select(a_ends, a_ends, [], 0)
    print("readable:", [a_ends.index(s) for s in readable])
    print("writable:", [a_ends.index(s) for s in writable])
finally:
    for a, b in pairs:
        a.close()
        b.close()
""")

nb.md(r"""
Only pair 1 is readable, but **every** socket is writable: each has an empty send buffer, so a
`send` would be taken at once. That is why a program asks for write readiness only while it has
something to send (you will see this again in the reactor).

With nothing ready and a timeout, `select` sleeps until the timeout, then returns empty lists. If
bytes arrive while it sleeps, it returns at once. The cell below sends a byte 0.1 s into a 2 s
wait.
""")

nb.code(r"""
a, b = socket.socketpair()
try:
    start = time.perf_counter()
    r, _, _ = select.select([a], [], [], 0.2)
    print(f"nothing to read: returned {r} after {time.perf_counter() - start:.1f} s")
    timer = threading.Timer(0.1, b.send, (b"!",))
    timer.start()
    start = time.perf_counter()
    r, _, _ = select.select([a], [], [], 2.0)
    print(f"a byte sent after 0.1 s: returned {len(r)} socket after {time.perf_counter() - start:.1f} s")
    timer.join()
finally:
    a.close()
    b.close()
""", tags=IGNORE)

nb.md(r"""
**What happens inside.** `select` does not keep any state between calls. On *every* call:

1. Python turns each list into a **bit mask** (C's `fd_set`): bit number *n* set means
   "descriptor *n* is in the set";
2. the three masks are **copied** into the kernel;
3. the kernel **checks every descriptor** in them, and if none is ready, hooks the process onto
   each of those sockets so that any of them can wake it up, and sleeps;
4. on the way out, the masks are rewritten to say which are ready, copied back, and Python
   **scans** them to build the lists it returns.

So the price of one call grows with the size of the interest set, whether or not anything is
ready. Keep that in mind for section 5.
""")

# ------------------------------------------------------------------------------------------ FD_SETSIZE
nb.md(r"""
## 3 · The `FD_SETSIZE` wall

The bit mask has a fixed size, chosen when the C library was compiled: **`FD_SETSIZE`**, which is
1,024 on Linux and macOS. A descriptor numbered 1,024 or more has no bit to go in, so `select`
cannot watch it at all, however few sockets you pass. Python checks this and raises `ValueError`
instead of writing past the end of the mask (which is what a careless C program does).

To get a descriptor that high we need more than 1,024 open files, and a process may not open as
many as it likes: **`RLIMIT_NOFILE`** is the per-process limit on open descriptors. It has a
**soft** limit (the one enforced; a process may raise it itself) and a **hard** limit (the ceiling
for the soft one; only an administrator can raise it). Here are this process's limits:
""")

nb.code(r"""
try:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(f"RLIMIT_NOFILE: soft {soft}, hard {hard}")
except ImportError:
    resource = None
    print("no resource module here (Windows): descriptor limits work differently")
print("FD_SETSIZE:", FD_SETSIZE)
""", tags=IGNORE)

nb.md(r"""
**Predict, then run.** The next cell raises the soft limit (within the hard one) for a moment, with
the helper `raised_fd_limit` from `course_lib.scaling`,
opens socket pairs until one end gets a descriptor number above 1,024, and then asks `select`
about that one socket. Then it asks `poll` (and `epoll`, if there is one) about the very same
socket. What will each say? Everything is closed and the limit restored in the `finally` block.
""")

nb.code(r"""
opened = []
with raised_fd_limit(1200):                          # the soft limit goes back when the block ends
    try:
        while not opened or opened[-1][0].fileno() < 1100:
            opened.append(socket.socketpair())
        high, peer = opened[-1]
        peer.send(b"x")                              # make it readable, to be fair
        print("opened about 1,100 sockets; the last one's descriptor number is above 1024:", high.fileno() > 1024)
        try:
            select.select([high], [], [], 0)
        except ValueError as error:
            print("select: ValueError:", error)
        if HAVE_POLL:
            p = select.poll()
            p.register(high, select.POLLIN)
            print("poll:  ready =", [fd == high.fileno() for fd, _ in p.poll(0)])
        if HAVE_EPOLL:
            with select.epoll() as ep:
                ep.register(high, select.EPOLLIN)
                print("epoll: ready =", [fd == high.fileno() for fd, _ in ep.poll(0)])
    finally:
        for a, b in opened:
            a.close()
            b.close()
""")

nb.md(r"""
`select` refuses the descriptor; `poll` and `epoll` don't care how large its number is. A server
with more than about a thousand connections therefore cannot use `select` at all, no matter how
fast the machine is. (Windows has its own `select` whose limit is on the *count* of sockets, not
their numbers; Python's is 512 there.)
""")

# ------------------------------------------------------------------------------------------ poll
nb.md(r"""
## 4 · `poll`: an array instead of bit masks

`poll` takes an array of `(descriptor, events wanted)` entries and fills in, for each, the events
that happened. There is no bit mask, so no `FD_SETSIZE`. Python wraps it in a **poll object**: you
`register(fd, mask)` once and call `poll(timeout_in_milliseconds)` as often as you like; it
returns a list of `(fd, events)` for the ready ones. The event masks are bits: `POLLIN` (can read),
`POLLOUT` (can write), `POLLHUP` ("hang up": both directions are closed; a TCP peer's `close()` alone shows as `POLLIN`, with `recv` returning `b""`), `POLLERR`.

**Predict, then run.** One pair has bytes waiting, one pair's peer has closed, one pair is idle.
Which bits does each report?
""")

nb.code(r"""
if not HAVE_POLL:
    print("this platform has no poll (Windows): skipped")
else:
    names = {select.POLLIN: "POLLIN", select.POLLOUT: "POLLOUT", select.POLLHUP: "POLLHUP", select.POLLERR: "POLLERR"}
    def bits(mask):
        return "|".join(name for bit, name in names.items() if mask & bit) or "-"

    pairs = [socket.socketpair() for _ in range(3)]
    try:
        pairs[0][1].send(b"data")       # pair 0: bytes waiting
        pairs[1][1].close()             # pair 1: the peer has closed
        p = select.poll()               # pair 2: idle
        for i, (a, b) in enumerate(pairs):
            p.register(a, select.POLLIN)
        by_fd = {a.fileno(): i for i, (a, b) in enumerate(pairs)}
        for fd, mask in sorted(p.poll(0), key=lambda e: by_fd[e[0]]):
            print(f"pair {by_fd[fd]}: {bits(mask)}")
    finally:
        for a, b in pairs:
            a.close()
            b.close()
""")

nb.md(r"""
The idle pair is not in the answer at all. The closed one reports `POLLIN` *and* `POLLHUP`:
readable, because `recv` would return `b""` at once. Note that `POLLHUP` is reported even though
we did not ask for it; the kernel always reports hang-ups and errors.

Python's poll object keeps the array between calls, so *you* don't rebuild anything. The kernel
still does: every call **copies the whole array in**, **checks every entry**, and copies it back
out. Cheaper per entry than `select`'s masks and without a ceiling, but still a cost per watched
socket, per call.
""")

# ------------------------------------------------------------------------------------------ epoll
nb.md(r"""
## 5 · `epoll` and `kqueue`: the interest list lives in the kernel

`epoll` (Linux) splits the job into two kinds of call:

- `epoll_ctl` (Python: `ep.register(fd, mask)`, `ep.modify`, `ep.unregister`) changes the
  **interest list**, which the *kernel* keeps, inside an epoll object, for as long as it lives;
- `epoll_wait` (Python: `ep.poll(timeout)`) waits and returns **only the ready ones**.

How can a wait skip the idle sockets? When a socket is registered, the kernel attaches a small
hook to it. When bytes arrive on that socket, the hook puts it on the epoll object's **ready
list**. `epoll_wait` just takes what is on the ready list. Sockets where nothing happens are never
looked at. `kqueue` (macOS, the BSDs) is built on the same idea with a different interface: a
change list of `kevent`s and a wait that returns `kevent`s.
""")

nb.code(r"""
pairs = [socket.socketpair() for _ in range(3)]
try:
    pairs[0][1].send(b"data")
    pairs[1][1].close()
    index = {a.fileno(): i for i, (a, b) in enumerate(pairs)}
    if HAVE_EPOLL:
        with select.epoll() as ep:
            for a, b in pairs:
                ep.register(a, select.EPOLLIN)             # once: the kernel remembers
            for fd, mask in sorted(ep.poll(0), key=lambda e: index[e[0]]):
                flags = [n for n in ("EPOLLIN", "EPOLLHUP", "EPOLLRDHUP", "EPOLLERR") if mask & getattr(select, n)]
                print(f"epoll: pair {index[fd]}: {'|'.join(flags)}")
    elif HAVE_KQUEUE:
        kq = select.kqueue()
        try:
            changes = [select.kevent(a.fileno(), select.KQ_FILTER_READ, select.KQ_EV_ADD) for a, b in pairs]
            for ev in sorted(kq.control(changes, 10, 0), key=lambda e: index[e.ident]):
                eof = " EOF" if ev.flags & select.KQ_EV_EOF else ""
                print(f"kqueue: pair {index[ev.ident]}: readable, {ev.data} bytes waiting{eof}")
        finally:
            kq.close()
    else:
        print("skipped: this platform has neither epoll nor kqueue; it has", ", ".join(available_backends()))
finally:
    for a, b in pairs:
        a.close()
        b.close()
""", tags=IGNORE)

nb.md(r"""
The same answer as `poll`: pair 0 readable, pair 1 readable and hung up, pair 2 absent. The
difference is not *what* it answers but *what it costs to ask*. Summed up:

| | interest set kept by | each wait copies in | each wait checks | changing the interest set |
|---|---|---|---|---|
| `select` | you (rebuilt every call) | 3 bit masks | every descriptor up to the highest | free (you rebuild anyway) |
| `poll` | you (Python keeps the array) | the whole array | every entry | free until the next call |
| `epoll` / `kqueue` | the kernel | nothing | only the ready ones | one system call per change |

The last column is the price `epoll` pays: each `register`/`modify` is a system call, where
changing a `poll` set costs nothing until the next wait. The cell below measures it: switching
one socket's write interest on and off 2,000 times.
""")

nb.code(r"""
a, b = socket.socketpair()
try:
    def toggle_cost(modify, read_only, read_write, n=2000):
        start = time.perf_counter()
        for _ in range(n):
            modify(a, read_write)
            modify(a, read_only)
        return (time.perf_counter() - start) / (2 * n)

    if HAVE_POLL:
        p = select.poll()
        p.register(a, select.POLLIN)
        print(f"poll.modify : {toggle_cost(p.modify, select.POLLIN, select.POLLIN | select.POLLOUT) * 1e6:5.2f} µs per change (no system call)")
    if HAVE_EPOLL:
        with select.epoll() as ep:
            ep.register(a, select.EPOLLIN)
            print(f"epoll.modify: {toggle_cost(ep.modify, select.EPOLLIN, select.EPOLLIN | select.EPOLLOUT) * 1e6:5.2f} µs per change (one epoll_ctl system call)")
    if not (HAVE_POLL or HAVE_EPOLL):
        print("neither poll nor epoll here: skipped")
finally:
    a.close()
    b.close()
""", tags=IGNORE)

nb.md(r"""
A change costs `epoll` roughly a system call, `poll` a dictionary update. That is why a
well-written event loop changes its interest set only when it must, for example asking for write
readiness only while there is something left to send.
""")

# ------------------------------------------------------------------------------------------ scaling lab
nb.md(r"""
## 6 · The scaling lab: one wait against thousands of idle sockets

A chat server with 5,000 connected users typically has a handful of active connections at any
moment and thousands of idle ones. What does *one* wait cost as the idle crowd grows?

`course_lib.scaling.wait_cost(backend, idle)` opens `idle` idle sockets plus one socket that
already has a byte waiting, asks `backend` "which are ready?" with timeout 0, and returns the time
of one such call in seconds: the **median** of many (the middle value once they are sorted, so a
few unlucky slow ones do not count). It measures **processor time** (the thread's
user and kernel time) rather than wall-clock time, so that other programs busy on your machine do
not add their time to ours. The answer is the same every time (the one
ready socket); only the crowd of idle sockets changes. `sweep(...)` does this for every backend
and several crowd sizes, reusing one pool of sockets, and raises the descriptor limit for as long
as it needs (`select` is skipped where the descriptors pass `FD_SETSIZE`).

The plot uses **logarithmic axes** on both sides ("log-log"): each grid step multiplies by 10, so
10, 100, 1,000 idle sockets are evenly spaced, and a cost that grows in proportion to the number
of sockets is a straight line that rises one step (×10) for each step (×10) to the right.

**Predict, then run.** From 10 to 6,000 idle sockets, by how much will one wait grow with each
backend? Sketch the three lines before you look.
""")

nb.code(r"""
import ipywidgets as widgets
from IPython.display import display

IDLES = [10, 30, 100, 300, 900, 2000, 4000, 6000]
bar = widgets.IntProgress(min=0, max=len(IDLES) * len(available_backends()), description="measuring")
label = widgets.Label()
display(widgets.HBox([bar, label]))

def show_progress(done, total, text):
    bar.value, label.value = done, text

start = time.perf_counter()
costs = sweep(idles=IDLES, repeat=51, progress=show_progress)
bar.description = "done"
print(f"measured {sum(len(c) for c in costs.values())} points in {time.perf_counter() - start:.1f} s")
""", tags=IGNORE)

nb.code(r"""
markers = {"select": "s", "poll": "o", "epoll": "^", "kqueue": "v"}
fig, ax = plt.subplots(figsize=(7, 4.2))
for backend, points in costs.items():
    xs = sorted(points)
    ax.plot(xs, [points[x] * 1e6 for x in xs], marker=markers[backend], label=backend)
ax.axvline(FD_SETSIZE, color="grey", linestyle=":", linewidth=1)
ax.text(FD_SETSIZE * 1.05, ax.get_ylim()[0] * 1.3, "FD_SETSIZE", color="grey", fontsize=8)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("idle sockets watched (plus one ready socket)")
ax.set_ylabel("one wait (µs, median)")
ax.set_title("What one wait costs as the idle crowd grows", loc="left", fontsize=10)
ax.grid(True, which="both", alpha=0.3)
ax.legend();
""", tags=IGNORE)

nb.code(r"""
print(f"{'idle sockets':>12} " + " ".join(f"{b:>9}" for b in costs))
for n in IDLES:
    print(f"{n:>12} " + " ".join(f"{costs[b][n] * 1e6:>7.1f}µs" if n in costs[b] else f"{'-':>9}" for b in costs))
""", tags=IGNORE)

nb.md(r"""
**Reading the plot.** A line rising one step per step means "proportional": ten times more
sockets, ten times the cost.

- **`select` and `poll` grow linearly.** Each call copies and checks every watched socket, so the
  cost is (a fixed part) + (a small cost) × (number watched). With a few sockets the fixed part (the
  system call itself) weighs most, so the line starts flatter; beyond a hundred or so the
  per-socket part takes over and the line rises one step per step. `select`'s line stops at `FD_SETSIZE`.
- **`epoll` stays flat.** Its wait only looks at the ready list, which holds one socket however
  large the crowd is.

(Measurements on a shared machine wobble from run to run; the shape is what counts.)

Now put that in a server. Suppose it wakes up 10,000 times a second, with 6,000 idle connections:
how much of each second goes into just *asking*?
""")

nb.code(r"""
biggest = max(IDLES)
for backend, points in costs.items():
    if biggest in points:
        per_second = points[biggest] * 10_000          # seconds of processor time per second
        verdict = "impossible: more than one whole core" if per_second > 1 else f"{per_second:.1%} of one core"
        print(f"{backend:>6}: {points[biggest] * 1e6:7.1f} µs per wait x 10,000 waits/s = "
              f"{per_second * 1e3:6.1f} ms per second ({verdict}), before any real work")
    else:
        print(f"{backend:>6}: cannot watch {biggest} sockets at all")
""", tags=IGNORE)

nb.md(r"""
That is the whole reason `epoll` and `kqueue` exist, and why the "C10K problem" (ten thousand
concurrent connections on one machine, a famous challenge around 1999) became routine once
they did.
""")

# ------------------------------------------------------------------------------------------ LT / ET
nb.md(r"""
## 7 · Level-triggered and edge-triggered, on a simulated kernel buffer

There are two ways to answer "is this socket ready?":

- **Level-triggered** (*LT*): report the socket **as long as** the condition holds. Like a light
  that stays on while there is mail in the box. `select`, `poll`, and `epoll` by default work this
  way.
- **Edge-triggered** (*ET*): report the socket **when something new happens** (on Linux: each time
  new bytes arrive), and not again until something new happens. Like a doorbell that rings once
  when the mail comes. `epoll` does this when you add the flag `EPOLLET` to the mask.

The difference shows up when a program reads only **part** of what is waiting. To see it step by
step, `course_lib.triggers.TriggerDemo` simulates one socket's kernel receive buffer and a program
that waits (`epoll_wait`) and reads (`recv(100)`): 300 bytes arrive at t = 0 ms, 100 more at
t = 10 ms, and the program reads 100 bytes each time it is told the socket is readable, then waits
again. Each `recv` takes 1 ms of simulated time.

**Predict, then run.** In edge-triggered mode, after the program has read 100 of the first 300
bytes and waits again, does the wait report the socket? Step through it with **Step**; **Back**
and **Reset** replay the simulation.
""")

nb.code(r"""
Stepper(lambda: TriggerDemo("edge", drain=False), title="edge-triggered, one recv(100) per report")
""", tags=IGNORE)

nb.md(r"""
The same run, printed step by step (what the Stepper shows one line at a time):
""")

nb.code(r"""
demo = TriggerDemo("edge", drain=False).run()
print("\n".join(demo.log))
print("\nfinal state:", demo.snapshot()["received"], "| kernel buffer:", demo.snapshot()["kernel buffer"])
""")

nb.md(r"""
The program **stalls**: 200 bytes sit in the kernel buffer and the program waits for a report that
will never come, because no *new* bytes will arrive to ring the bell. (In a real protocol, the
peer is probably waiting for our answer to those very bytes: both sides wait for ever.)

Compare all four combinations: level or edge, one `recv` per report or **drain**, which means
calling `recv` again and again until it raises `BlockingIOError` (the error a non-blocking socket
gives for `EAGAIN`, "try again later": the buffer is empty).
""")

nb.code(r"""
print(f"{'mode':<6} {'reader':<22} {'received':>9}   outcome")
for mode in ("level", "edge"):
    for drain in (False, True):
        d = TriggerDemo(mode, drain=drain).run()
        outcome = f"STALLED with {len(d.sock)} bytes left in the kernel" if d.stalled else "read everything"
        reader = "drain to EAGAIN" if drain else "one recv(100) per report"
        print(f"{mode:<6} {reader:<22} {d.received:>4}/{d.total:<4}   {outcome}")
""")

nb.code(r"""
fig, axes = plt.subplots(2, 1, figsize=(9, 3.6), sharex=True)
for ax, drain in zip(axes, (False, True)):
    plot_timeline(TriggerDemo("edge", drain=drain).run().timeline(), ax=ax, xmax=17)
axes[0].set_xlabel("")
axes[1].set_xlabel("simulated time (ms)")
fig.tight_layout();
""")

nb.md(r"""
In the pictures, grey is time spent waiting in `epoll_wait`, coloured bars are `recv` calls, and
the labelled bars on the *network* row are arrivals. The non-draining edge-triggered reader ends in
a wait that never returns, with data still there. The draining reader pays one extra `recv` per
report (the one that says EAGAIN) and never strands anything.

Two rules follow for edge-triggered code:

1. **Drain to EAGAIN** after every report (or remember yourself that the socket still has data).
2. **Use non-blocking sockets.** Draining means calling `recv` until it would block; on a
   blocking socket that last call *does* block, and the whole loop with it.

Why would anyone choose edge-triggered then? Because a level-triggered socket that you decide not
to read yet (say, you are busy, or its buffer is being handled by another thread) is reported
again on *every* wait; edge-triggered tells you once and leaves the bookkeeping to you. Servers
such as nginx use it; asyncio and the course loop stay level-triggered, which is simpler to get
right.
""")

nb.md(r"""
### Confirming it on real `epoll`

Now the same experiment on a real socket pair, with two epoll objects watching the same socket:
one level-triggered, one with `EPOLLET`. 300 bytes arrive, we read 100, and ask both again.
""")

nb.code(r"""
if not HAVE_EPOLL:
    print("no epoll on this platform: skipped. (kqueue's EV_CLEAR flag gives the same edge-triggered behaviour.)")
else:
    a, b = socket.socketpair()
    a.setblocking(False)
    lt, et = select.epoll(), select.epoll()
    try:
        lt.register(a, select.EPOLLIN)
        et.register(a, select.EPOLLIN | select.EPOLLET)
        def ask(what):
            print(f"{what:<34} level: {'readable' if lt.poll(0) else '-':<9} edge: {'readable' if et.poll(0) else '-'}")

        b.send(b"x" * 300)
        ask("300 bytes arrived")
        a.recv(100)
        ask("read 100 (200 left)")
        ask("asked again, nothing new")
        b.send(b"y" * 100)
        ask("100 new bytes arrived")
        drained = 0
        while True:
            try:
                drained += len(a.recv(100))
            except BlockingIOError:
                break
        ask(f"drained {drained} bytes to EAGAIN")
    finally:
        lt.close()
        et.close()
        a.close()
        b.close()
""")

nb.md(r"""
Exactly the simulation's story: after a partial read, level-triggered reports the socket again and
edge-triggered does not, until new bytes arrive; once drained, both are quiet.
""")

# ------------------------------------------------------------------------------------------ selectors
nb.md(r"""
## 8 · The `selectors` module: one interface, the best backend

Writing code for four system calls is tedious, so Python's standard library has `selectors`: one
class per backend (`SelectSelector`, `PollSelector`, `EpollSelector`, `KqueueSelector`, ...), the
same methods on each, and **`DefaultSelector`**, the best one this platform has.

- `sel.register(fileobj, events, data)`: watch `fileobj` for `EVENT_READ` and/or `EVENT_WRITE`;
  `data` is anything you like, handed back to you with each event;
- `sel.select(timeout)` returns a list of `(key, events)`, where `key.fileobj` is the socket and
  `key.data` is what you registered with it.
""")

nb.code(r"""
print("DefaultSelector here is", selectors.DefaultSelector.__name__)
""", tags=IGNORE)

nb.md(r"""
If `data` is a **function to call**, the loop that calls `select` becomes very short: wait, then
for each ready socket call its function. **Predict, then run:** in what order are the handlers
called?
""")

nb.code(r"""
pairs = [socket.socketpair() for _ in range(3)]
sel = selectors.DefaultSelector()
try:
    said = []
    def make_handler(name):
        def on_readable(sock):
            said.append(f"{name} got {sock.recv(100)!r}")
        return on_readable

    for i, (a, b) in enumerate(pairs):
        sel.register(a, selectors.EVENT_READ, make_handler(f"handler {i}"))
    pairs[2][1].send(b"two")
    pairs[0][1].send(b"zero")
    for iteration in (1, 2):
        events = sel.select(timeout=1.0)           # wait ...
        for key, mask in events:
            key.data(key.fileobj)                  # ... then call the function registered with each ready socket
        print(f"iteration {iteration}: {len(events)} ready:", ", ".join(sorted(said)))
        said.clear()
        pairs[1][1].send(b"one")                   # arrives while no one is waiting
finally:
    sel.close()
    for a, b in pairs:
        a.close()
        b.close()
""")

nb.md(r"""
Zero and two were ready together: they came back from the *same* `select` call and their handlers
ran one after the other (the cell sorts the lines, because the order within one call is the
backend's business, not promised). One was sent later and came in the next iteration. Nothing runs
until `select` returns, and while a handler runs, nothing else does.
""")

# ------------------------------------------------------------------------------------------ reactor
nb.md(r"""
## 9 · The reactor pattern, on the course loop

That loop has a name: the **reactor pattern**. Three parts:

- a **demultiplexer**, which waits for many event sources at once (`select`, `poll`, `epoll`,
  `kqueue`);
- a **dispatcher**, a table from event source to handler, which calls the right handler when an
  event comes;
- the **handlers**, short functions that react to one event and return quickly.

The course loop of chapter 04 is a reactor: `add_reader`/`add_writer` fill the dispatch table, and
each poll step asks a **poller**, one small module per backend in `course_lib/pollers/`. Open two of
them side by side: the loop is the same, only the waiting differs.
""")

nb.code(r"""
import inspect
from course_lib.pollers import make_poller

print("pollers on this machine:", ", ".join(available_pollers()))
for name in ("select", "epoll" if HAVE_EPOLL else "kqueue" if HAVE_KQUEUE else "poll"):
    if name in available_pollers():
        poller = make_poller(name)
        print(f"\n# course_lib/pollers/{type(poller).__module__.rsplit('.', 1)[-1]}.py")
        print(inspect.getsource(type(poller).poll))
        poller.close()
""", tags=IGNORE)

nb.md(r"""
`course_lib/reactor.py` builds a TCP server on that loop, with the names asyncio uses:

- `Server(loop, protocol_factory)` listens on 127.0.0.1 (port 0: the kernel picks a free port).
  When the listening socket is readable it accepts the waiting clients, makes each socket
  **non-blocking**, and gives it a `Transport` and a fresh protocol object.
- A **protocol** is your object with `connection_made(transport)`, `data_received(data)` and
  `connection_lost(exc)`: the handlers.
- The **transport** owns the socket. Readable: `recv`, then `protocol.data_received(data)`.
  `transport.write(data)` sends what the kernel takes **now**, keeps the rest in an **output
  buffer**, and asks for write readiness **only while that buffer is non-empty** (section 2: a
  socket is almost always writable, so asking all the time would wake the loop on every
  iteration). A peer that resets or closes ends its connection; the server goes on.

**Step through it.** Below, an echo server and one client share one course loop on the `select`
poller (any other would do), real sockets on 127.0.0.1. The client is event-driven too: its
handler `client_reads` sends `b"hello"`, waits for the echo, sends `b"world"`, waits for that echo,
then shuts down its sending side; the server sees end of file and closes the connection; the
client sees that and closes everything. Each **Step** is one poll or one handler. Watch the
*readers* table: which descriptor waits for what (the listening socket, the client, the server's
side of the connection). **Predict** before each poll step: which descriptor will be readable?
**Back** is off: real sockets cannot be replayed. Step to the end (or press **Run**): the last
steps close every socket this demo opened (so does **Reset**).
""")

nb.code(r"""
class Echo(Protocol):
    def data_received(self, data):
        self.transport.write(data)            # buffered: never blocks, never loses bytes


opened = []                                   # what the current run opened, closed by the next one

def echo_on_a_real_loop():
    for thing in opened:
        thing.close()
    opened.clear()
    loop = Loop(poller="select")
    server = Server(loop, Echo)
    client = socket.create_connection(server.address)
    client.setblocking(False)
    opened.extend([client, server])

    def client_reads():                       # the client's handler, on the same loop
        data = client.recv(65536)
        if data == b"hello":
            client.send(b"world")
        elif data == b"world":
            client.shutdown(socket.SHUT_WR)   # "I will send nothing more": the server sees end of file
        elif not data:                        # the server has closed its side
            loop.remove_reader(client)
            client.close()
            server.close()                    # stop listening: nothing is left to wait for

    loop.add_reader(client, client_reads)
    loop.call_soon(client.send, b"hello")
    return loop


Stepper(echo_on_a_real_loop, title="one client and an echo server, one real loop")
""", tags=IGNORE)

nb.md(r"""
Why the output buffer? A non-blocking `send` may take only **part** of what you give it, whatever
fits in the kernel's send buffer right now, and returns how many bytes it took. The rest must wait
for the next "writable" event. Here is a partial send, on a socket pair whose peer does not read:
""")

nb.code(r"""
a, b = socket.socketpair()
try:
    a.setblocking(False)
    taken = a.send(b"x" * 10_000_000)
    print(f"asked to send 10,000,000 bytes; the kernel took {taken:,}")
    try:
        a.send(b"more")
    except BlockingIOError:
        print("and the next send raised BlockingIOError: the send buffer is full")
finally:
    a.close()
    b.close()
""", tags=IGNORE)

nb.md(r"""
**Predict, then run.** The same echo server (it sends back whatever it receives) on each backend. One
client with a small receive buffer sends all of 8 MB and waits until the server has read it all
before it reads anything back.
Will every byte come back, in order, on every backend? And will the transport's output buffer
have been needed?
""")

nb.code(r"""
class CountWrites:
    # an instrument (chapter 04): the loop tells it about every callback it runs
    def __init__(self):
        self.writable_events = 0

    def before_callback(self, handle):
        self.writable_events += handle.name == "Transport._on_writable"


class CountingEcho(Echo):
    received = 0                              # bytes the server has taken in, all connections

    def data_received(self, data):
        CountingEcho.received += len(data)
        super().data_received(data)


payload = os.urandom(8_000_000)
timelines = {}
for poller in available_pollers():
    loop = Loop(poller=poller)
    counter = CountWrites()
    loop.add_instrument(counter)
    CountingEcho.received = 0
    server = Server(loop, CountingEcho)
    client = socket.socket()
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # small: set before connecting
        client.settimeout(10)
        client.connect(server.address)
        with LoopThread(loop):
            client.sendall(payload)           # all of it, reading nothing yet: the echo piles up in the server
            deadline = time.monotonic() + 10
            while CountingEcho.received < len(payload) and time.monotonic() < deadline:
                time.sleep(0.01)              # until the server has read it all (kernel buffers hold a lot)
            echoed = bytearray()
            while len(echoed) < len(payload):
                echoed += client.recv(1 << 20)
    finally:
        client.close()
        server.close()
        loop.close()
    timelines[poller] = loop.timeline(title=f"echo server on {poller}")
    print(f"{poller:>6}: {len(echoed):,} bytes echoed, byte-exact: {echoed == payload}, "
          f"output buffer used: {counter.writable_events > 0}")
""")

nb.md(r"""
Every backend gives the same answer: the server code did not change, only the waiting. Had the
server called a blocking `sock.sendall`, one slow client would have frozen every other client;
had it ignored `send`'s return value, bytes would have been lost.

The loop recorded a timeline of that run: grey is the loop asleep in `poll`, coloured bars are the
handlers it dispatched, all on one thread. First come the reads (`_on_readable`): the client
sends, and since it does not read yet, most of the echo cannot be sent and piles up in the
transport's output buffer (the kernel's buffers hold only a few MB of it). Once the server has read
everything, the client starts reading; from then on each "writable" event (`_on_writable`) hands the kernel
another part of the output buffer.
""")

nb.code(r"""
plot_timeline(timelines[available_pollers()[0]]);
""", tags=IGNORE)

nb.md(r"""
One thing this small reactor leaves out: the output buffer has no limit. A client that sends
a lot and never reads makes the server hold everything in memory. asyncio adds **flow control**
for this: above a "high-water mark" it calls the protocol's `pause_writing()`, which should stop
writing until `resume_writing()` (an echo server does that by pausing its reading with
`transport.pause_reading()`).

How fast is it? `benchmarks/echo.py` runs this echo server and an asyncio echo server against the
same clients (many connections, many small round trips) and prints the ratio. Run it from a
terminal: `python benchmarks/echo.py`.
""")

# ------------------------------------------------------------------------------------------ io_uring
nb.md(r"""
## 10 · A note on io_uring: asking a different question

Everything in this chapter is **readiness-based**: the kernel says "you *can* read now", and then
the program makes a second system call to actually read. **Completion-based** I/O turns this
around: the program says "read into *this* buffer", and later the kernel says "done: here are the
bytes". Windows has worked this way for a long time (I/O completion ports, *IOCP*, which asyncio's
`ProactorEventLoop` uses on Windows); Linux has had it since 2019 as **io_uring**.

io_uring shares two ring buffers between the program and the kernel: a **submission queue** where
the program puts requests (read, write, accept, ...) and a **completion queue** where the kernel
puts results. Many requests can be submitted with one system call, or with none at all when the
kernel is set to watch the queue, and the data is already copied when the completion arrives. That
removes the "wait, then read" pair of calls per event. It also changes how a program is written:
buffers are handed to the kernel and must not be touched until the completion comes back.

Python's standard library has no io_uring; asyncio on Linux uses `epoll` through `selectors`:
""")

nb.code(r"""
import asyncio
print("select module has io_uring:", hasattr(select, "io_uring"))
print("asyncio's ProactorEventLoop (IOCP, completion-based) exists here:", hasattr(asyncio, "ProactorEventLoop"))
print("asyncio's default selector here:", selectors.DefaultSelector.__name__)
""", tags=IGNORE)

# ------------------------------------------------------------------------------------------ summary
nb.md(r"""
## 11 · Summary

- `select`, `poll`, `epoll` and `kqueue` answer one question: which of these descriptors are ready?
- `select` passes bit masks of `FD_SETSIZE` (1,024) bits: no descriptor number above 1,023, ever.
- `select` and `poll` copy and check the **whole** interest set on **every** call: the cost of one
  wait grows linearly with the number of sockets watched, idle or not. `epoll`/`kqueue` keep the
  interest list in the kernel and return only the ready ones: flat cost, but one system call per
  change of interest.
- **Level-triggered**: reported while ready. **Edge-triggered**: reported when something new
  happens; you must drain to EAGAIN, on non-blocking sockets, or stall.
- `selectors.DefaultSelector` picks the best backend; a dispatch table of handlers on top of it is
  the **reactor pattern**, which is what the course loop and asyncio are.
- A server on a reactor never blocks: non-blocking sockets, an output buffer for partial sends,
  write interest only while that buffer is non-empty, and a clean close when a peer vanishes.

## Exercises

Open **[exercises/05_select_poll_epoll.ipynb](../exercises/05_select_poll_epoll.ipynb)**. You will
write a `select()`-based `wait_readable`, an edge-triggered reader that drains to EAGAIN (checked
on the simulated kernel buffer), and the writing half of an echo server on the course reactor that
must survive hundreds of clients, payloads far larger than the socket buffers, slow readers and
clients that vanish mid-message.
""")

nb.write(str(ROOT / "notebooks" / "05_select_poll_epoll.ipynb"))
print("wrote notebooks/05_select_poll_epoll.ipynb")
