"""Builds notebooks/02_blocking_io.ipynb (the lecture of chapter 02)."""

from tools.nb import Notebook

IGNORE = ["nbval-ignore-output"]  # measured numbers, addresses, file descriptor numbers

nb = Notebook()
nb.md("""
# 02 · Blocking I/O

In chapter 01 a task that "waits for I/O" was a grey bar on a picture. This chapter opens that grey
bar. When your program asks for bytes from the network and none have arrived, what exactly
happens, who is waiting, and does the waiting cost anything?

You will see, in this order:

1. **user space and kernel space**: where your code runs, and where the network really is;
2. **file descriptors**: the small numbers your program holds instead of files and connections;
3. **the two phases of a read**: first *waiting* for data, then *copying* it;
4. a **blocking read** (`recv`, short for "receive") against a deliberately slow server on your
   own machine, timed;
5. **measured proof** that a thread blocked in `recv` uses no CPU;
6. **non-blocking sockets** and the error that says "nothing yet" (`EAGAIN`);
7. **busy polling**, asking again and again in a loop, and the whole core it burns;
8. the **five Unix I/O models** side by side, and where each appears in Python.

Many cells ask you to **predict** before you run them. Write your guess down (a word or a number
is enough), then run the cell. A wrong guess you can explain is worth more than a right one you
cannot.

Everything here runs on your machine: a small server on `127.0.0.1`, which is the address a
computer uses to talk to itself (the *loopback* address), so nothing leaves your computer.
""")
nb.code("""
%matplotlib inline
import asyncio
import errno
import os
import select
import selectors
import signal
import socket
import tempfile
import threading
import time

import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from course_lib.slowserver import SlowServer
from course_lib.timeline import IO_GREY, PALETTE, Segment, Timeline, plot_timeline
""")

# ---------------------------------------------------------------------------------------------- 1
nb.md("""
## 1 · User space and kernel space

The **kernel** is the core of the operating system (Linux, macOS, Windows). It is the only
program allowed to touch the hardware: the disk, the network card, the clock, and the decision
of which program runs on which CPU next.

A running program is called a **process**. Every process, including the Python running this
notebook and your code in it, runs in **user space**: it can compute with its
own memory, but it cannot reach a device. When it needs one, it asks the kernel with a
**system call**: a request such as "open this file", "read up to 100 bytes from this
connection", "put me to sleep for a second". During a system call the processor runs kernel code
on your program's behalf, in **kernel space**, then comes back with an answer.

The operating system keeps two clocks for each process: CPU time spent in user space (**user
time**) and CPU time spent in the kernel on its behalf (**system time**). `os.times()` shows both.

**Predict:** below, one function adds up numbers in a Python loop; the other asks the kernel
200 000 times for one byte of `os.devnull`, a special file that is always empty. Which one shows any real
*system* time?
""")
nb.code("""
def arithmetic():
    total = 0
    for i in range(2_000_000):     # pure Python: no system calls at all
        total += i


def many_system_calls():
    fd = os.open(os.devnull, os.O_RDONLY)
    try:
        for _ in range(200_000):
            os.read(fd, 1)         # each call crosses into the kernel and back
    finally:
        os.close(fd)


for work in (arithmetic, many_system_calls):
    before = os.times()
    work()
    after = os.times()
    print(f"{work.__name__:>18}: user {after.user - before.user:5.2f} s   system {after.system - before.system:5.2f} s")
""", tags=IGNORE)
nb.md("""
The loop of additions is all user time. The loop of `os.read` calls spends a sizeable share (here about a third) of its
time in the kernel, even though every one of those reads returns nothing: crossing into the
kernel and back has a cost of its own. (The numbers are coarse: many systems count these
clocks in steps of 10 ms.)

Keep this picture: **your program never waits for the network by itself. It asks the kernel,
and the kernel decides what to do with your program while the answer is not there.**
""")

# ---------------------------------------------------------------------------------------------- 2
nb.md("""
## 2 · File descriptors

When the kernel opens something for a program (a file, a network connection, a pipe between two
programs) it keeps the details to itself and hands the program a small integer: a
**file descriptor**, or *fd*. Every later system call names the open thing by that number:
"read from fd 57", "close fd 57". Numbers 0, 1 and 2 are usually taken by the standard input,
output and error streams, so new ones start higher.

`os.open`, `os.read`, `os.write` and `os.close` are thin wrappers around the system calls of the
same names; they take and return plain file descriptors. Here they write a file in a temporary
folder and read it back in two pieces:
""")
nb.code("""
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "note.txt")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    print("os.open returned the file descriptor", fd)
    os.write(fd, b"hello, kernel\\n")
    os.close(fd)

    fd = os.open(path, os.O_RDONLY)
    first = os.read(fd, 5)         # read at most 5 bytes
    rest = os.read(fd, 100)        # at most 100: the kernel remembers where the last read stopped
    os.close(fd)
print(first, rest)
""", tags=IGNORE)
nb.md("""
Notice that `os.read(fd, 100)` returned fewer than 100 bytes: the number is a *maximum*. The
kernel also kept the position in the file between the two reads; the program only held the
number.

A **socket** is one end of a network connection as a program sees it, and it is a file
descriptor too. `socket.socketpair()` makes two sockets already connected to each other, handy
for experiments. Python's own file objects wrap a descriptor as well; `.fileno()` shows the number
of a socket or of a file. On Linux, the folder `/proc/self/fd` lists a process's open descriptors
and what each one refers to:
""")
nb.code("""
left, right = socket.socketpair()
with left, right, tempfile.TemporaryFile() as file:
    print("socket fds:", left.fileno(), right.fileno(), "  file fd:", file.fileno())
    if os.path.isdir("/proc/self/fd"):          # Linux only
        for fd in (0, 1, 2, left.fileno(), right.fileno(), file.fileno()):
            try:
                print(f"  fd {fd} ->", os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                print(f"  fd {fd} is not open")
        print("this process has", len(os.listdir("/proc/self/fd")), "open file descriptors in all")
    else:
        print("(no /proc/self/fd on this system; the numbers above are still file descriptors)")
""", tags=IGNORE)
nb.md("""
Descriptors 0, 1 and 2 are taken (in Jupyter they lead to pipes or to `/dev/null`, not to a
terminal), and the Python process running this notebook (Jupyter calls it a "kernel", a different thing
from the OS kernel) holds dozens more, its connections to
JupyterLab among them. To the kernel, a file and a socket are both "an open thing with a
number", so the same `read`-style calls work on both. Chapter 05 builds on this: one system call
can watch many descriptors at once.
""")

# ---------------------------------------------------------------------------------------------- 3
nb.md("""
## 3 · The two phases of a read

Bytes from the network do not go straight into your program. The network card hands them to the
kernel, which stores them in a **receive buffer**: a piece of kernel memory that belongs to one
socket. A read (`recv` for sockets) then has two phases:

1. **wait for data**: until some bytes are in the receive buffer, there is nothing to read;
2. **copy the data**: the kernel copies bytes from its buffer into your program's memory (that
   becomes the `bytes` object `recv` returns).

If the data is already there, phase 1 takes no time at all. With a socket pair we can put data in
the buffer first and read afterwards. `select.select([sock], [], [], 0)` asks the kernel "does
this socket have data to read?" (its three lists are the descriptors to check for reading, for
writing and for errors; it returns the ones that are ready) and, with a time limit of `0`, answers
at once. A socket with data waiting is called **readable**.

**Predict:** `b"hello world"` is sent, then we call `recv(5)` and then `recv(100)`. What does each
return?
""")
nb.code("""
left, right = socket.socketpair()
with left, right:
    print("readable before sending?", select.select([right], [], [], 0)[0] != [])
    left.sendall(b"hello world")
    print("readable after sending? ", select.select([right], [], [], 0)[0] != [])
    print(right.recv(5))
    print(right.recv(100))
""")
nb.md("""
The bytes waited in the kernel's buffer until we asked. `recv(5)` copied five of them, `recv(100)`
copied the rest: `recv(n)` returns **at most** `n` bytes, whatever is there. Since the data was
already waiting, both calls only did phase 2. How long does phase 2 take for a small message?
""")
nb.code("""
left, right = socket.socketpair()
with left, right:
    left.sendall(b"x" * 1000)
    start = time.perf_counter()
    data = right.recv(1000)
    took = time.perf_counter() - start
print(f"copying {len(data)} bytes that were already there took {took * 1e6:.0f} microseconds")
""", tags=IGNORE)
nb.md("""
Usually a few microseconds (millionths of a second); one timing can be far larger if the OS
paused the program just then, so run the cell again if yours is not. For network programs, phase 2 is short; **phase 1
is where the time goes**, and it is where the I/O models of section 8 differ.
""")

# ---------------------------------------------------------------------------------------------- 4
nb.md("""
## 4 · A blocking `recv` against a slow server

To wait for something real, the course has a small server, `course_lib.slowserver.SlowServer`.
A client connects and sends one line ending in a newline (`b"\\n"`); the server waits `delay`
seconds, sends its response, and closes the connection. It listens on `127.0.0.1` and lets the
system pick a free **port** (the number that tells connections to different programs on one
machine apart); `srv.address` says which. A `with` block starts it and stops it again, so no
server outlives the cell. (Its source is short and readable: `course_lib/slowserver.py`.)

By default a socket is **blocking**: if `recv` finds the receive buffer empty, the kernel puts
the calling thread to sleep until data arrives, and only then does `recv` return. The thread is
**blocked**.

**Predict:** the server below waits 0.5 s. Roughly how long will `recv` take?
""")
nb.code("""
with SlowServer(delay=0.5, response=b"sorry for the wait\\n") as srv:
    with socket.create_connection(srv.address) as sock:
        sock.sendall(b"hello?\\n")
        start = time.perf_counter()
        data = sock.recv(1024)                # blocks: nothing has arrived yet
        waited = time.perf_counter() - start
print(f"recv returned {data!r} after {waited:.3f} s")
""", tags=IGNORE)
nb.md("""
About half a second: `recv` could not return before the server had sent something. That is
phase 1 made visible.

Now a server that sends its answer in pieces: 4 bytes, a pause of 0.1 s, 4 more bytes, and so on.
The loop calls `recv(1024)` until it returns `b""`, an empty result, which is how a socket says
"the other side has closed the connection".

**Predict:** will each `recv(1024)` wait until it has 1024 bytes?
""")
nb.code("""
with SlowServer(delay=0.2, response=b"one two three four\\n", chunk_size=4, chunk_delay=0.1) as srv:
    with socket.create_connection(srv.address) as sock:
        sock.sendall(b"count, please\\n")
        start = time.perf_counter()
        while data := sock.recv(1024):
            print(f"{time.perf_counter() - start:5.2f} s   recv(1024) -> {data!r}")
print("then recv returned b'': the server closed the connection")
""", tags=IGNORE)
nb.md("""
No: `recv` blocks only until *some* data is there, then returns what there is. A message can
arrive in any number of pieces, so a program that needs exactly `n` bytes must call `recv`
again until it has them, and must notice `b""`: the **peer** (the program at the other end of the
connection) may close before the whole message has come. That is exercise 1.
""")

# ---------------------------------------------------------------------------------------------- 5
nb.md("""
## 5 · Does a blocked thread use the CPU?

Two clocks help here:

- `time.perf_counter()` is **wall-clock time**: time as a clock on the wall would measure it;
- `time.process_time()` is **CPU time**: the time the processor actually spent running this
  process (all its threads, user time plus system time). It does not advance while the process
  sleeps.

If a thread uses a core fully while it waits, CPU time grows as fast as wall time; if it sleeps,
CPU time hardly moves.

**Predict:** during a blocking `recv` that waits 0.6 s, how much CPU time does this process use?
Close to 0.6 s, or close to 0?
""")
nb.md("""
The next cell defines two helpers. `measure` reads both clocks before and after a call.
`CpuSampler` starts a helper thread that reads the CPU clock every 20 ms while a `with` block
runs, so that later we can draw *when* the CPU was busy, as a timeline like those of chapter 01.
Then it asks the slow server and waits with a plain blocking `recv`.
""")
nb.code("""
def measure(function, *args):
    \"\"\"Call function(*args); return (its result, wall seconds, CPU seconds of this process).\"\"\"
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


class CpuSampler:
    \"\"\"While a `with` block runs, a helper thread notes (wall time, CPU time) every `step` seconds.\"\"\"

    def __init__(self, step=0.02):
        self.step, self.samples = step, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="CpuSampler", daemon=True)

    def _run(self):
        while True:
            self.samples.append((time.perf_counter(), time.process_time()))
            if self._stop.wait(self.step):       # sleeps `step` seconds, or returns True at the end
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()                      # the helper thread ends with the `with` block

    def segments(self, task):
        \"\"\"The run as timeline segments: "cpu" where the process used over a quarter of a core, else "io".\"\"\"
        (start, _), segments = self.samples[0], []
        for (w0, c0), (w1, c1) in zip(self.samples, self.samples[1:]):
            kind = "cpu" if c1 - c0 > 0.25 * (w1 - w0) else "io"
            if segments and segments[-1].kind == kind:       # extend the previous segment
                segments[-1] = Segment(task, kind, segments[-1].start, w1 - start)
            else:
                segments.append(Segment(task, kind, w0 - start, w1 - start))
        return segments


def ask_slow_server(name, wait, delay=0.6):
    \"\"\"Ask a fresh slow server; `wait(sock)` waits for the answer. Returns (answer, wall s, CPU s, segments).\"\"\"
    with SlowServer(delay=delay, response=b"finally\\n") as srv:
        with socket.create_connection(srv.address) as sock:
            sock.sendall(b"hello?\\n")
            with CpuSampler() as sampler:
                answer, wall, cpu = measure(wait, sock)
    return answer, wall, cpu, sampler.segments(name)


def blocking_wait(sock):
    return sock.recv(1024)


data, wall, cpu, segments = ask_slow_server("blocking recv", blocking_wait)
print(f"blocking recv: {data!r} after {wall:.2f} s of wall time, using {cpu:.4f} s of CPU ({100 * cpu / wall:.1f} %)")
results = {"blocking recv": (wall, cpu, segments)}
""", tags=IGNORE)
nb.md("""
Close to nothing. While the thread was blocked, the kernel did not run it at all: the thread sat
on a list of "threads waiting for this socket", and the processor was free for any other
program. When the data arrived, the kernel moved the thread back to the list of threads ready to
run. **Blocking costs time, not CPU.** (What it does cost is the thread itself, which can do
nothing else meanwhile; chapter 03 looks at threads.)
""")

# ---------------------------------------------------------------------------------------------- 6
nb.md("""
## 6 · Non-blocking sockets and `EAGAIN`

A socket can be switched to **non-blocking** mode with `sock.setblocking(False)`. Then the kernel
never puts the thread to sleep: a `recv` on an empty receive buffer returns at once with an
error that means "nothing yet, try again later". In C that error is called **`EAGAIN`**
("error: again"; some systems also call it `EWOULDBLOCK`, "this would block"). System errors
carry a number, the **errno**; Python turns this one into the exception `BlockingIOError`, which
keeps the number in `.errno`.

**Predict:** what happens on the first `recv` below, and on the second?
""")
nb.code("""
left, right = socket.socketpair()
with left, right:
    right.setblocking(False)
    try:
        right.recv(100)
    except BlockingIOError as error:
        print(f"BlockingIOError: errno {error.errno} = {errno.errorcode[error.errno]} ({os.strerror(error.errno)})")
    left.sendall(b"now there is data")
    print(right.recv(100))
""", tags=IGNORE)
nb.md("""
The first `recv` did not wait: the buffer was empty, so the answer was `EAGAIN` (its number
differs between systems, which is why code compares with `errno.EAGAIN` or catches
`BlockingIOError`, never a bare number). Once data was there, the same call simply returned it.
`BlockingIOError` is a kind of `OSError`, Python's family of errors reported by the system:
""")
nb.code("""
print(issubclass(BlockingIOError, OSError), errno.EAGAIN == errno.EWOULDBLOCK)
""", tags=IGNORE)

# ---------------------------------------------------------------------------------------------- 7
nb.md("""
## 7 · Busy polling burns a core

A non-blocking socket never sleeps. So if a program has nothing else to do, the obvious loop
is to ask again, and again, until the answer is not `EAGAIN`. That is **polling**, and a poll
that asks as fast as it can, without pausing, is **busy polling** (or *spinning*).

**Predict:** the server waits 0.6 s again. How much CPU time will the busy poll use, and how
many times will it call `recv`?
""")
nb.code("""
def busy_poll(sock):
    sock.setblocking(False)
    attempts = 0
    while True:
        attempts += 1
        try:
            return sock.recv(1024), attempts
        except BlockingIOError:
            pass                      # nothing yet: ask again at once


(data, attempts), wall, cpu, segments = ask_slow_server("busy poll", busy_poll)
print(f"busy poll: {data!r} after {wall:.2f} s, {attempts:,} calls to recv, {cpu:.2f} s of CPU ({100 * cpu / wall:.0f} %)")
results["busy poll"] = (wall, cpu, segments)
""", tags=IGNORE)
nb.md("""
The same answer after the same wait, but this time the process kept a core busy for almost the
whole wait (less if your machine is crowded), and it made a huge number of system calls
that all said "nothing yet". On a laptop that is battery; on a shared server it is a core that
another program could have used.

The cure is to let the kernel do the waiting. The simplest is a blocking `recv`. Another is
`select.select`, which you met in section 3: given a time limit of `None` it *blocks until one of
the listed sockets is readable*, then `recv` only copies. (It can watch many sockets at once;
that is the subject of chapter 05.)
""")
nb.code("""
def select_then_recv(sock):
    sock.setblocking(False)
    select.select([sock], [], [])       # sleep until the kernel says: readable
    return sock.recv(1024)              # cannot raise BlockingIOError now: the data is there


data, wall, cpu, segments = ask_slow_server("select, then recv", select_then_recv)
print(f"select, then recv: {data!r} after {wall:.2f} s, using {cpu:.4f} s of CPU ({100 * cpu / wall:.1f} %)")
results["select, then recv"] = (wall, cpu, segments)
""", tags=IGNORE)
nb.md("""
The three ways to wait, measured on your machine, side by side: first as numbers, then as a
timeline drawn from the samples of `CpuSampler`. A row is coloured where the process used more
than a quarter of a core in a 20 ms slice, and grey where it did not.
""")
nb.code("""
print(f"{'way to wait':<20} {'wall s':>7} {'CPU s':>7} {'CPU / wall':>11}")
for name, (wall, cpu, _) in results.items():
    print(f"{name:<20} {wall:7.2f} {cpu:7.3f} {cpu / wall:10.1%}")

measured = Timeline([s for _, _, segments in results.values() for s in segments], tasks=list(results),
                    title="Measured: waiting for the slow server, CPU sampled every 20 ms")
plot_timeline(measured);
""", tags=IGNORE)
nb.md("""
Same data, same wait, and either almost no CPU or almost a whole core. (Grey gaps in the busy
row are slices in which the operating system gave the core to another program.) Compare these
rows with models 1, 2 and 3 of the simulated picture in section 8. The program's *result* never
shows the difference; only a measurement does. Exercise 2 asks you to repair a busy poll.
""")

# ---------------------------------------------------------------------------------------------- 8
nb.md("""
## 8 · The five Unix I/O models

There are five classic ways a program can read from a socket on a Unix system. They differ in
what the program does during each of the two phases, **waiting** for data and **copying** it:

1. **Blocking I/O.** The program calls `recv`; the kernel puts it to sleep through both phases
   and wakes it when the data has been copied. Simple, costs no CPU, but one thread waits on one
   socket.
2. **Non-blocking I/O.** `recv` never sleeps in phase 1: it returns `EAGAIN` until data is
   there. The program must come back later, and if it only loops, it busy-polls. Phase 2 (the
   copy, when data is there) still happens inside `recv`.
3. **I/O multiplexing.** The program blocks in *one* call that watches many descriptors at once
   (`select`, `poll`, `epoll` on Linux, `kqueue` on macOS), and learns which ones are ready.
   Then it calls `recv` on those, which only copies. One thread can wait for thousands of
   sockets. This is what an event loop is built on.
4. **Signal-driven I/O.** The program asks the kernel to send it a **signal** (a
   notification from the kernel that interrupts whatever the program is doing and runs a
   handler function) named `SIGIO` when a socket becomes ready. The program does other work
   meanwhile; in the handler, `recv` copies the data.
5. **Asynchronous I/O.** The program hands the kernel a request *and a buffer*: "read into
   here". The kernel does **both** phases on its own and notifies the program only when the
   data is already in its buffer.

A precise word: the first four are called **synchronous** I/O, because in all of them the
program's thread is stopped while the copy (phase 2) happens inside `recv`. Only the fifth is
**asynchronous** in that strict sense. Asyncio's name uses "asynchronous" more loosely, as you
will see below.

The picture below draws each model as a timeline. It is a **simulation** with made-up, fixed
durations (the program asks at time 1, the data reaches the kernel at 6, the copy takes until
7.5), so it looks the same every time. The top row of each model is the program, the bottom row
the kernel's two phases.
""")
nb.code("""
P, K = "program", "kernel"


def model(title, program, notes=(), marks=()):
    \"\"\"One I/O model as a Timeline: the program's row, plus the kernel's wait (1-6) and copy (6-7.5).\"\"\"
    segments = [Segment(P, kind, start, end) for kind, start, end in program]
    segments += [Segment(K, "wait", 1, 6), Segment(K, "copy", 6, 7.5)]
    return Timeline(segments, title=title, tasks=[P, K]), notes, marks


polls = [("cpu", 1 + 0.5 * i, 1.4 + 0.5 * i) for i in range(10)]     # recv, EAGAIN, recv, EAGAIN, ...
models = [
    model("1. blocking: recv sleeps through both phases",
          [("cpu", 0, 1), ("io", 1, 7.5), ("cpu", 7.5, 9)], [(4.25, "blocked in recv", "io")]),
    model("2. non-blocking: recv answers at once, so the program asks again and again",
          [("cpu", 0, 1), *polls, ("io", 6, 7.5), ("cpu", 7.5, 9)],
          [(3.5, "recv → EAGAIN, again and again", "box"), (6.75, "recv", "io")]),
    model("3. I/O multiplexing: select waits (on many sockets at once), then recv copies",
          [("cpu", 0, 1), ("io", 1, 6), ("io", 6, 7.5), ("cpu", 7.5, 9)],
          [(3.5, "blocked in select", "io"), (6.75, "recv", "io")], [(6, "ready")]),
    model("4. signal-driven: the kernel sends a signal when data is ready, then recv copies",
          [("cpu", 0, 1), ("cpu", 1, 6), ("io", 6, 7.5), ("cpu", 7.5, 9)],
          [(3.5, "free for other work", "cpu"), (6.75, "recv", "io")], [(6, "SIGIO")]),
    model("5. asynchronous: the kernel does both phases, then says 'done'",
          [("cpu", 0, 1), ("cpu", 1, 7.5), ("cpu", 7.5, 9)], [(4.25, "free for other work", "cpu")], [(7.5, "done")]),
]

fig, axes = plt.subplots(len(models), 1, sharex=True, figsize=(9, 1.45 * len(models) + 0.6))
for ax, (timeline, notes, marks) in zip(axes, models):
    plot_timeline(timeline, ax=ax, xmax=9.2, legend=False)
    for x, text, on in notes:
        style = {"cpu": dict(color="white"), "box": dict(bbox=dict(facecolor="white", edgecolor="none", pad=1))}
        ax.text(x, 1, text, ha="center", va="center", fontsize=8, **style.get(on, {}))
    for x, text in marks:
        ax.annotate(text, xy=(x, 0.72), xytext=(x, 0.5), ha="center", va="center", fontsize=8, color=PALETTE[5],
                    arrowprops=dict(arrowstyle="->", color=PALETTE[5]))
    ax.set_xlabel("")
axes[-1].set_xlabel("time (simulated units); the data reaches the kernel at 6")
fig.legend(handles=[Patch(facecolor=PALETTE[0], edgecolor="black", label="program runs (uses a CPU)"),
                    Patch(facecolor=IO_GREY, alpha=0.55, label="program inside a system call (asleep, or the kernel copying for it)"),
                    Patch(facecolor="#dddddd", edgecolor="#888888", label="kernel: wait for data, then copy it")],
           loc="lower center", ncol=3, fontsize=8, frameon=False)
fig.tight_layout(rect=(0, 0.04, 1, 1));
""")
nb.md("""
Read the picture column by column. Between 1 and 6 (phase 1), the blocking and multiplexing
programs sleep (grey), the non-blocking one spins (blue, in bursts of calls), and the
signal-driven and asynchronous ones are free to do something else. Between 6 and 7.5 (phase 2),
models 1 to 4 are all stopped in `recv` while the kernel copies; only model 5 keeps running.

The difference between model 1 and model 3 is not visible with one socket. It appears with
many: a blocking `recv` waits for *its* socket, while `select` waits for *whichever* of many
sockets is ready first. One thread, 200 connections to the slow server, one `select` call per
round:
""")
nb.code("""
with SlowServer(delay=0.5, response=b"pong\\n") as srv:
    socks = [socket.create_connection(srv.address) for _ in range(200)]
    try:
        for sock in socks:
            sock.sendall(b"ping\\n")
        start, waiting, rounds, replies = time.perf_counter(), set(socks), 0, 0
        while waiting:
            readable, _, _ = select.select(list(waiting), [], [])   # sleep until any of them is readable
            rounds += 1
            for sock in readable:
                replies += bool(sock.recv(1024))                    # only the copy: the data is there
                waiting.discard(sock)
        took = time.perf_counter() - start
    finally:
        for sock in socks:
            sock.close()
print(f"one thread got {replies} replies in {took:.2f} s, in {rounds} rounds of select")
print(f"the server had up to {srv.max_in_flight} connections open at once")
""", tags=IGNORE)
nb.md("""
Every reply was handled as soon as it was there, in about one server delay. Each `select` call
slept until at least one socket was readable, so there were at most as many rounds as replies,
never the hundreds of thousands of calls of a busy poll. That is why event loops are built on
model 3.

**Where each model shows up in Python:**

| model | in Python | you will meet it |
|---|---|---|
| blocking | `sock.recv`, `file.read`, `input()`; one thread per connection | here, chapter 03 |
| non-blocking | `sock.setblocking(False)`, `BlockingIOError` | here, exercise 2 |
| I/O multiplexing | `select`, `selectors`, and **asyncio** on Linux and macOS | chapters 04 to 07 |
| signal-driven | `signal.SIGIO` with the `O_ASYNC` flag (Unix only, rarely used) | below |
| asynchronous | asyncio's `ProactorEventLoop`, the default on Windows, built on Windows' asynchronous I/O system (*I/O completion ports*); on Linux, the newer `io_uring` interface, through third-party packages | a look ahead |

Two rows deserve proof. First, asyncio (Python's standard library for event loops, the subject
of chapter 06) on Linux or macOS is I/O multiplexing underneath: its
event loop waits with a **selector**, an object of Python's `selectors` module that puts
`select`, `poll`, `epoll` and `kqueue` behind one interface. The next cell peeks at a private attribute (`_selector`) of a
new loop, for learning only:
""")
nb.code("""
loop = asyncio.new_event_loop()
try:
    waiter = getattr(loop, "_selector", None)    # a selector-based loop keeps one; Windows' default loop has none
    print(type(loop).__name__, "waits with", type(waiter).__name__ if waiter else "I/O completion ports (proactor)")
finally:
    loop.close()
print("on this system, selectors.DefaultSelector is", selectors.DefaultSelector.__name__)
""", tags=IGNORE)
nb.md("""
Second, signal-driven I/O works from Python too, though it is rare in practice. The cell below
turns it on for one end of a socket pair, so that the kernel sends this process `SIGIO` when
data arrives. A timer thread sends data after 0.3 s; meanwhile the main program is busy
counting. The signal interrupts the counting, the handler's `recv` copies the data, and the
counting loop notices and stops. `fcntl.fcntl` changes the settings of a file descriptor: here
"send the signals to this process" and the `O_ASYNC` flag, "signal me when ready". Everything is
switched off again in `finally`. (Windows has no
`SIGIO`; the cell says so there.)
""")
nb.code("""
if not (hasattr(signal, "SIGIO") and hasattr(os, "O_ASYNC")):
    print("no SIGIO on this system: signal-driven I/O is a Unix feature")
else:
    import fcntl

    received = []
    left, right = socket.socketpair()
    right.setblocking(False)

    def on_sigio(signum, frame):                   # runs when the kernel signals "ready"
        try:
            received.append(right.recv(100))       # phase 2 only: the data is already there
        except BlockingIOError:
            pass                                   # SIGIO also comes for other reasons; ignore those

    previous = signal.signal(signal.SIGIO, on_sigio)
    sender = threading.Timer(0.3, left.sendall, args=(b"data, via SIGIO",))
    try:
        fcntl.fcntl(right, fcntl.F_SETOWN, os.getpid())                                # signal me...
        fcntl.fcntl(right, fcntl.F_SETFL, fcntl.fcntl(right, fcntl.F_GETFL) | os.O_ASYNC)  # ...when ready
        sender.start()
        counted, start = 0, time.perf_counter()
        while not received and time.perf_counter() - start < 5:
            counted += 1                           # "other work", never calls recv
        print(f"the handler received {received[0]!r} while the main program counted to {counted:,}")
    finally:
        sender.cancel()
        sender.join()
        fcntl.fcntl(right, fcntl.F_SETFL, fcntl.fcntl(right, fcntl.F_GETFL) & ~os.O_ASYNC)
        left.close()
        right.close()
        signal.signal(signal.SIGIO, previous)
""", tags=IGNORE)
nb.md("""
Signals are awkward to build on: a handler can interrupt the program at almost any point, only
one handler per signal exists in a whole process, and many events produce the same signal. That
is why event-driven programs almost always use model 3 instead.

## Summary

- Your code lives in **user space**; the network is reached only through **system calls** into
  the **kernel**, which names every open file and socket by a **file descriptor**.
- A read has two phases: **waiting** for data (often long) and **copying** it (microseconds).
- A **blocking** `recv` sleeps through the wait: measured, it uses almost no CPU, but its thread
  can do nothing else. `recv(n)` returns *at most* `n` bytes, and `b""` once the peer has closed.
- A **non-blocking** socket answers at once, with `EAGAIN` (`BlockingIOError`) if there is nothing
  yet. Looping on it, **busy polling**, burns a core for nothing.
- The five I/O models differ in who waits and how: blocking, non-blocking, **multiplexing**
  (one call watches many sockets; asyncio and every event loop in this course), signal-driven,
  and asynchronous (the kernel does both phases).

Next: chapter 03 runs one blocking thread per connection and measures what threads cost;
chapter 05 opens model 3 (`select`, `poll`, `epoll`).

## Exercises

Open **[exercises/02_blocking_io.ipynb](../exercises/02_blocking_io.ipynb)**: read exactly `n`
bytes from a socket that delivers in random pieces, repair a busy poll so that it sleeps, and name
the I/O model of seven code snippets. Each exercise has a `check(...)` cell that tests your code
and answers with a hint.
""")

nb.write("notebooks/02_blocking_io.ipynb")
