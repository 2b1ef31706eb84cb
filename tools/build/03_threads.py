"""Builds notebooks/03_threads.ipynb (then run: python tools/run_notebook.py notebooks/03_threads.ipynb)."""

from tools.nb import Notebook

IGNORE = ["nbval-ignore-output"]
nb = Notebook()
nb.md("""
# 03 · Threads

In chapter 02 a blocking `recv` made the whole program sit still while a slow server thought. The
oldest answer to that problem is to give every waiting job its own **thread**: a separate sequence
of instructions inside the same program, which the operating system (OS) can run, pause and resume
on its own. While one thread waits, another runs.

This chapter measures what that buys and what it costs:

1. **one thread per connection** against the slow server, timed;
2. **what a thread costs**: time to start one, memory for a thousand, time to hand over between two;
3. **races**: when threads share data, the order of their steps matters. We step through every
   possible order on a small simulator, then reproduce the bug on real threads;
4. **locks**, which remove the bad orders;
5. **deadlock**, the bug that locks bring;
6. **the GIL**, measured: which work threads speed up in Python, and which they do not;
7. **thread pools**: a fixed team of threads that share the jobs.

As in every chapter: predict, then run. Every cell can be run again.
""")
nb.code("""
%matplotlib inline
import collections, concurrent.futures, dis, os, queue, sys, threading, time
import matplotlib.pyplot as plt
from course_lib.slowserver import SlowServer, fetch
from course_lib.threadsim import Scheduler, search, interleavings
from course_lib.timeline import plot_timeline, plot_models
from course_lib.tracer import Tracer
from course_lib.widgets import Stepper
from course_lib.workload import Task, cpu, io
from course_lib.models import run_threaded
""")

# ---------------------------------------------------------------------------------------------- 1
nb.md("""
## 1 · One thread per connection

The slow server from chapter 02 runs on your machine (`127.0.0.1`, a port the OS picks). A client
connects, sends one line ending in a newline, the server waits `delay` seconds, answers and closes the
connection. `fetch(address, line)` is a plain blocking client: it returns the whole answer.

In Python a thread is a `threading.Thread(target=f, args=(...))`: `start()` begins running `f` in
the new thread and returns at once; `join()` waits until `f` has returned. The `Tracer` records how
long each request took, so we can draw the runs the same way chapter 01 drew its simulations.

**Predict:** five requests, each answered after 0.25 s. How long do they take one after another? How
long with one thread per request?
""")
nb.code("""
N, DELAY = 5, 0.25
lines = [f"request {i}\\n".encode() for i in range(N)]

def traced_fetch(tracer, address, i):
    with tracer.span(f"request {i}", "io"):
        return fetch(address, lines[i])

with SlowServer(delay=DELAY, response=lambda line: b"reply to " + line) as srv:
    seq_tracer = Tracer()
    sequential = [traced_fetch(seq_tracer, srv.address, i) for i in range(N)]
    seq_time = seq_tracer.now()

    thr_tracer = Tracer()
    threaded = [None] * N                # each thread fills its own slot

    def worker(i):
        threaded[i] = traced_fetch(thr_tracer, srv.address, i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()                         # the cell waits for every thread it started
    thr_time = thr_tracer.now()
    peak = srv.max_in_flight

print(f"{N} requests one after another: {seq_time:.2f} s")
print(f"{N} requests on {N} threads:     {thr_time:.2f} s  (the server saw {peak} in flight at once)")
""", tags=IGNORE)
nb.code("""
print("same answers both ways:", sequential == threaded)
print(threaded[0])
""")
nb.code("""
plot_models(None, timelines={          # no simulated tasks: just stack these measured timelines
    "one after another (measured)": seq_tracer.timeline(tasks=[f"request {i}" for i in range(N)]),
    "one thread per request (measured)": thr_tracer.timeline(tasks=[f"request {i}" for i in range(N)]),
});
""", tags=IGNORE)
nb.md("""
Each grey bar is one request waiting for its answer. One after another, the bars form a staircase and
the total is about N × 0.25 s. On threads, all five waits happen at the same time and the total is
about one delay. Each blocking `recv` blocks only the thread that called it.

Notice one detail of `worker`: each thread writes only its own slot `threaded[i]` of a list made
before the threads start. No two threads write the same place. Section 3 shows what happens when
they do.
""")

# ---------------------------------------------------------------------------------------------- 2
nb.md("""
## 2 · What a thread costs

Threads are not free. The OS must create each one, give it memory, and switch between them. We
measure three costs on your machine.

**Starting one.** **Predict:** how many times slower is starting a thread that does nothing, then
waiting for it (`start` + `join`), than calling the same empty function directly?
""")
nb.code("""
def nothing():
    pass

M = 300
start = time.perf_counter()
for _ in range(M):
    t = threading.Thread(target=nothing)
    t.start()
    t.join()
per_thread = (time.perf_counter() - start) / M

start = time.perf_counter()
for _ in range(M):
    nothing()
per_call = (time.perf_counter() - start) / M
print(f"start + join one thread: {per_thread * 1e6:7.1f} µs")
print(f"call the function:       {per_call * 1e6:7.3f} µs   (a thread is {per_thread / per_call:,.0f} times dearer)")
""", tags=IGNORE)
nb.md("""
Tens to hundreds of microseconds: nothing next to a 0.25 s network wait, but far too much to start a
thread for every small piece of work.

**Memory.** Each thread needs its own **stack**: the memory that holds the local variables of the
functions it is running. The OS *reserves* address space for it (8 MB per thread is common on Linux),
but only the pages a thread actually touches take real memory. Real memory in use is called the
**resident set size** (RSS); reserved address space is **virtual** memory. On Linux the file
`/proc/self/status` reports both for the running process (`VmRSS`, `VmSize`); other systems have no
such file, and the next cell says so instead of measuring.

**Predict:** how much real memory do 1,000 threads take that do nothing but wait?
""")
nb.code("""
def memory_kb():
    \"\"\"{'VmRSS': kB, 'VmSize': kB} of this process, from /proc (Linux); None where there is no /proc.\"\"\"
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmSize")}

before = memory_kb()
release = threading.Event()              # every idle thread waits for this
idle = []
start = time.perf_counter()
try:
    for _ in range(1000):
        t = threading.Thread(target=release.wait)
        t.start()
        idle.append(t)
    start_time = time.perf_counter() - start
    during = memory_kb()
finally:
    release.set()                        # let them all finish...
    for t in idle:
        t.join()                         # ...and wait for them, even if something failed
after = memory_kb()

print(f"started {len(idle)} idle threads in {start_time:.2f} s")
if before is None:
    print("this system has no /proc/self/status (macOS, Windows): memory not measured here")
else:
    rss = (during["VmRSS"] - before["VmRSS"]) / 1024
    virt = (during["VmSize"] - before["VmSize"]) / 1024
    print(f"real memory (RSS):        +{rss:7.1f} MB  = {rss * 1024 / len(idle):6.1f} kB per thread")
    print(f"reserved memory (virtual): +{virt:7.1f} MB = {virt / len(idle):6.2f} MB per thread")
    print(f"after join, RSS is back to +{(after['VmRSS'] - before['VmRSS']) / 1024:.1f} MB")
""", tags=IGNORE)
nb.md("""
The real cost is modest (tens of kilobytes per idle thread) while the reserved address space is huge.
A thousand threads are fine; a hundred thousand start to hurt, in memory, in start-up time, and in
the OS scheduler's work. Chapters 05 and 07 wait on thousands of connections with *one* thread.

**Switching.** Moving the processor from one thread to another is a **context switch**: the OS saves
one thread's registers (the processor's few working values) and restores another's. Two threads can play ping-pong through two queues
(`queue.Queue` is safe to share between threads): each `get()` blocks until the other thread's
`put()`. Every round trip is two hand-overs.
""")
nb.code("""
ping, pong = queue.Queue(), queue.Queue()
ROUNDS = 2000

def player():
    for _ in range(ROUNDS):
        ping.get()
        pong.put("pong")

other = threading.Thread(target=player)
other.start()
start = time.perf_counter()
for _ in range(ROUNDS):
    ping.put("ping")
    pong.get()
elapsed = time.perf_counter() - start
other.join()
print(f"one hand-over between two threads: {elapsed / (2 * ROUNDS) * 1e6:.1f} µs")
""", tags=IGNORE)
nb.md("""
Again microseconds: cheap for one wait, expensive when a program hands over millions of times.
""")

# ---------------------------------------------------------------------------------------------- 3
nb.md("""
## 3 · Races, step by step

Threads of one program share its memory: a global variable, a list, an object's attribute is the same
for all of them. That is handy, and it is dangerous. Take the most innocent line there is,
`counter += 1`. It looks like one step. Python's **bytecode** (the small instructions the interpreter
actually runs, shown by the `dis` module) says it is several:
""")
nb.code("""
counter = 0

def increment():
    global counter
    counter += 1

dis.dis(increment)
""", tags=IGNORE)
nb.md("""
Whatever the exact names in your Python version, there is a **read** (`LOAD_GLOBAL counter`), an
**add** (`BINARY_OP +=` or `INPLACE_ADD`) and a **write** (`STORE_GLOBAL counter`). If another thread
runs between the read and the write, one of the two additions can be lost. A bug whose effect depends
on the order in which threads happen to run is a **race condition**.

On real threads you cannot choose that order; the OS does, differently every run. So we first use a
simulator where *we* choose it: `course_lib.threadsim`. A thread there is a short program of
**atomic** steps (steps that are never interrupted half-way); each thread has its own private
**registers** (named scratch values, like `r`), and all threads share the **memory** (`counter`):

| instruction | meaning |
|---|---|
| `load r, counter` | register `r` = shared `counter` |
| `add r, 1` | `r` = `r` + 1 |
| `store counter, r` | shared `counter` = `r` |
| `acquire L` / `release L` | take / give back lock `L` (section 4) |

A **schedule** is the order in which threads take steps, written as a list of thread names: `["T1",
"T2", "T1"]` means T1 steps, then T2, then T1 again.

**Predict:** two threads each run the three steps of `counter += 1` once, starting from 0, with the
schedule T1, T2, T1, T2, T1, T2. What is `counter` at the end? Then click **Step** to check, **Back**
to go back a step, **Reset** to start again. The table shows each thread's next instruction and
registers; below it, the timeline of who stepped when (one step = one time unit).
""")
nb.code("""
INCREMENT = ["load r, counter", "add r, 1", "store counter, r"]
programs = {"T1": INCREMENT, "T2": INCREMENT}
alternate = ["T1", "T2", "T1", "T2", "T1", "T2"]

stepper = Stepper(lambda: Scheduler(programs, {"counter": 0}, schedule=alternate))
stepper
""")
nb.md("""
Both threads loaded 0, both computed 1, both stored 1: one increment is lost. The same run, without
the widget, in one cell:
""")
nb.code("""
sim = Scheduler(programs, {"counter": 0}, schedule=alternate)
while not sim.done:
    print(sim.step())
print("counter =", sim.memory["counter"])
""")
nb.md("""
How many schedules are there, and how many of them are bad? With three steps each, a schedule picks
which 3 of the 6 time slots belong to T1: 6!/(3!·3!) = 20 schedules. **Predict:** in how many does
`counter` end at 2? `interleavings` runs every one of them.
""")
nb.code("""
finals = collections.Counter(run.memory["counter"] for run in interleavings(programs, {"counter": 0}))
print(f"{sum(finals.values())} schedules; final counter -> number of schedules: {dict(sorted(finals.items()))}")
""")
nb.md("""
Only 2 of the 20 are right: T1 entirely before T2, or T2 entirely before T1. The other 18 lose an
update.

An **invariant** is a condition that must hold; here, "at the end `counter` is 2". `search` looks for a
schedule that breaks it. For small programs it tries every schedule; for bigger ones it tries random
schedules (`tries=...`, with a `seed` so the result is repeatable).
""")
nb.code("""
print(search(programs, {"counter": 0}, invariant=lambda memory: memory["counter"] == 2))

four = {f"T{i}": INCREMENT for i in range(1, 5)}   # four threads: 369,600 schedules
print(search(four, {"counter": 0}, invariant=lambda memory: memory["counter"] == 4, tries=1000, seed=1))
""")
nb.md("""
### The same race on real threads

**Predict:** four real threads each run `counter += 1` 100,000 times. Does `counter` end at 400,000?
""")
nb.code("""
def add_many(n):
    global counter
    for _ in range(n):
        counter += 1

counter = 0
workers = [threading.Thread(target=add_many, args=(100_000,)) for _ in range(4)]
for t in workers:
    t.start()
for t in workers:
    t.join()
print(f"counter = {counter:,} (4 x 100,000 = 400,000)")
""", tags=IGNORE)
nb.md("""
On recent CPython versions this nearly always prints exactly 400,000 (it did when these notes were
run). The reason is CPython's **GIL** (global interpreter lock, measured in section 6): only one thread runs Python bytecode at a time, and
the interpreter hands over to another thread only at a few places (for example when a function is
called or a loop jumps back), not between the read and the write of `counter += 1`. That is a detail
of one interpreter, not a promise of the language: other versions, the free-threaded builds of Python
3.13+, and other Pythons can and do split it. A test that passes because the race is rare is
worse than one that fails.

To see the race reliably we give it an opening. `time.sleep(0)` between the read and the write asks
the OS to run another thread now; it stands for any real work there (a log line, a database call).
""")
nb.code("""
def add_many_slowly(n):
    global counter
    for _ in range(n):
        value = counter          # read
        time.sleep(0)            # let another thread run here
        counter = value + 1      # write

counter = 0
workers = [threading.Thread(target=add_many_slowly, args=(1000,)) for _ in range(4)]
for t in workers:
    t.start()
for t in workers:
    t.join()
print(f"counter = {counter:,} instead of 4,000: {4000 - counter:,} updates lost")
""", tags=IGNORE)

# ---------------------------------------------------------------------------------------------- 4
nb.md("""
## 4 · Locks

A **lock** (also *mutex*, for mutual exclusion) is held by at most one thread at a time. `acquire`
takes it; if another thread holds it, `acquire` waits: the thread is **blocked** until the holder
calls `release`. Code between acquire and release is a **critical section**: no two threads are ever
inside it together.

In the simulator: the same increment wrapped in `acquire L` ... `release L`. With no schedule given,
the scheduler goes round robin (T1, T2, T1, ...), skipping a thread that is blocked. Step it and watch
T2's state.
""")
nb.code("""
LOCKED = ["acquire L"] + INCREMENT + ["release L"]
locked = {"T1": LOCKED, "T2": LOCKED}
Stepper(lambda: Scheduler(locked, {"counter": 0}))
""")
nb.md("""
**Predict:** with the lock, how many schedules are there now, and how many are bad? Then, with four
threads (369,600 schedules without the lock)?
""")
nb.code("""
print(search(locked, {"counter": 0}, invariant=lambda memory: memory["counter"] == 2))
four_locked = {f"T{i}": LOCKED for i in range(1, 5)}
print(search(four_locked, {"counter": 0}, invariant=lambda memory: memory["counter"] == 4))
""")
nb.md("""
Once a thread has acquired the lock, nobody else can take a step of the critical section until it
releases. So the only freedom left is *which thread goes first*: 2! = 2 orders for two threads,
4! = 24 for four, and every one of them is correct. The search tried them all: this is a proof for
these programs, not a test that happened to pass.

On real threads: `threading.Lock()`, used with `with lock:` which acquires at the start of the block
and releases at the end, even if the block raises an exception.
""")
nb.code("""
lock = threading.Lock()

def add_many_locked(n):
    global counter
    for _ in range(n):
        with lock:
            value = counter
            time.sleep(0)        # same opening as before, but now inside the critical section
            counter = value + 1

counter = 0
workers = [threading.Thread(target=add_many_locked, args=(1000,)) for _ in range(4)]
for t in workers:
    t.start()
for t in workers:
    t.join()
print(f"counter = {counter:,}")
""")

# ---------------------------------------------------------------------------------------------- 5
nb.md("""
## 5 · Deadlock

Locks bring their own bug. Two threads each need two locks, `A` and `B`, but take them in opposite
orders. If T1 takes A and T2 takes B, each then waits for the lock the other holds, and waits forever.
That is a **deadlock**: no thread can move, yet not all have finished.

**Predict:** of all schedules of these two programs, how many deadlock?
""")
nb.code("""
BODY = ["load r, x", "add r, 1", "store x, r"]
opposite = {
    "T1": ["acquire A", "acquire B"] + BODY + ["release B", "release A"],
    "T2": ["acquire B", "acquire A"] + BODY + ["release A", "release B"],
}
runs = list(interleavings(opposite, {"x": 0}))
print(f"{len(runs)} schedules, {sum(run.deadlocked for run in runs)} deadlock")
found = search(opposite, {"x": 0})
print(found)
""")
nb.code("""
Stepper(lambda: Scheduler(opposite, {"x": 0}, schedule=found.schedule))
""")
nb.md("""
Only 2 of the 6 schedules deadlock, and only when the two threads are in exactly the wrong place at the
same time. That is what makes deadlocks nasty on real machines: a program can run correctly for
months, then hang.

The cure: every thread takes the locks in **the same order**. Then whoever gets `A` first also gets
`B`, and the other waits at `A` without holding anything.
""")
nb.code("""
same_order = {"T1": opposite["T1"], "T2": opposite["T1"]}
print(search(same_order, {"x": 0}, invariant=lambda memory: memory["x"] == 2))
""")
nb.md("""
### Deadlock on real threads, safely

A real deadlock would hang this notebook. So each thread waits for its second lock with
`acquire(timeout=0.5)`, which gives up after 0.5 s and returns `False`. A `threading.Barrier(2)` is a
meeting point: `wait()` returns only when both threads have reached it. The first barrier makes both
threads hold their first lock before either asks for its second, so the bad timing happens every
time, not once in a blue moon; the second keeps each lock held until both threads have tried.

**Predict:** what does each thread report?
""")
nb.code("""
lock_a, lock_b = threading.Lock(), threading.Lock()
both_hold_one = threading.Barrier(2, timeout=5)   # a meeting point for two threads
both_tried = threading.Barrier(2, timeout=5)
report = {}

def take_two(name, first, second):
    with first:
        both_hold_one.wait()                      # now each thread holds one lock
        if second.acquire(timeout=0.5):
            second.release()
            report[name] = "got both locks"
        else:
            report[name] = "gave up after 0.5 s: the other thread holds the lock it needs"
        both_tried.wait()                         # keep the first lock until both have tried

t1 = threading.Thread(target=take_two, args=("T1", lock_a, lock_b))
t2 = threading.Thread(target=take_two, args=("T2", lock_b, lock_a))
for t in (t1, t2):
    t.start()
for t in (t1, t2):
    t.join()
for name in sorted(report):
    print(name, report[name])
""")
nb.md("""
Both gave up: a deadlock, broken only by the time-out. Now both threads take `lock_a` first. There is
no barrier this time (with one, the thread waiting for `lock_a` could never reach it): a thread that
waits for `lock_a` holds nothing, so the other finishes and releases both.
""")
nb.code("""
report = {}

def take_in_order(name):
    with lock_a:
        if lock_b.acquire(timeout=0.5):
            lock_b.release()
            report[name] = "got both locks"
        else:
            report[name] = "gave up"

workers = [threading.Thread(target=take_in_order, args=(name,)) for name in ("T1", "T2")]
for t in workers:
    t.start()
for t in workers:
    t.join()
for name in sorted(report):
    print(name, report[name])
""")

# ---------------------------------------------------------------------------------------------- 6
nb.md("""
## 6 · The GIL, measured

CPython, the usual Python, has one **global interpreter lock** (GIL). A thread must hold it to run
Python bytecode. A thread lets go of it when it blocks (in `sleep`, `recv`, reading a file, ...), and,
when another thread is waiting for it, every *switch interval* (5 ms by default):
""")
nb.code("""
print(f"switch interval: {sys.getswitchinterval() * 1000:g} ms")
""")
nb.code("""
print(f"processors on this machine: {os.cpu_count()}")
""", tags=IGNORE)
nb.md("""
The consequence we can predict and measure: threads that mostly **wait** (I/O-bound) overlap their
waits, because a waiting thread does not hold the GIL. Threads that mostly **compute** (CPU-bound) take
turns on the GIL, so together they are no faster than one thread, however many processors there are.

To compute for a known amount of work we calibrate a pure-Python loop: `crunch(n)` adds up `n`
squares, and `LOOPS_PER_MS` is how many fit in about one millisecond on this machine.
""")
nb.code("""
def crunch(n):
    total = 0
    for i in range(n):
        total += i * i
    return total

def seconds_for(n):
    start = time.perf_counter()
    crunch(n)
    return time.perf_counter() - start

LOOPS_PER_MS = int(20_000 / (min(seconds_for(20_000) for _ in range(5)) * 1000))  # best of 5: least disturbed
print(f"about {LOOPS_PER_MS:,} loops per millisecond")
""", tags=IGNORE)
nb.md("""
Each run below is measured by `measure(job, on_threads)`, which returns the timeline and how many
processors the program kept busy on average: the process's CPU time (`time.process_time()`, summed
over all its threads) divided by the wall-clock time. One processor fully busy gives 1.0.

**I/O-bound first.** Four tasks, each twice: compute about 2 ms, then wait 0.1 s (`time.sleep` stands
for a network wait). We run them one after another and on four threads, and draw the simulation of
the same workload on one processor (chapter 01's threaded model) underneath for comparison.

**Predict:** the time on four threads, against one after another?
""")
nb.code("""
NAMES = ["T1", "T2", "T3", "T4"]

def io_job(tracer, name):
    for _ in range(2):
        with tracer.span(name, "cpu"):
            crunch(2 * LOOPS_PER_MS)
        with tracer.span(name, "io"):
            time.sleep(0.1)

def measure(job, on_threads):
    \"\"\"Run job(tracer, name) for every name: (timeline, processors kept busy on average).\"\"\"
    tracer = Tracer()
    cpu0 = time.process_time()
    if on_threads:
        workers = [threading.Thread(target=job, args=(tracer, name)) for name in NAMES]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    else:
        for name in NAMES:
            job(tracer, name)
    busy = (time.process_time() - cpu0) / tracer.now()
    return tracer.timeline(tasks=NAMES), busy

(io_seq, busy_seq), (io_thr, busy_thr) = measure(io_job, False), measure(io_job, True)
io_sim = run_threaded([Task(n, [cpu(0.002), io(0.1)] * 2) for n in NAMES], cores=1, quantum=0.005)
print(f"I/O-bound, one after another: {io_seq.makespan:.2f} s, processors busy {busy_seq:.2f}")
print(f"I/O-bound, four threads:      {io_thr.makespan:.2f} s, processors busy {busy_thr:.2f}"
      f"  -> {io_seq.makespan / io_thr.makespan:.1f}x faster")
""", tags=IGNORE)
nb.code("""
plot_models(None, timelines={
    "I/O-bound, one after another (measured)": io_seq,
    "I/O-bound, four threads (measured)": io_thr,
    "I/O-bound, four threads on one processor (simulated)": io_sim,
});
""", tags=IGNORE)
nb.md("""
The waits overlap: four threads finish in about the time of one task, and the processors are almost
idle throughout.

**CPU-bound next.** Four tasks, each only computing: 40 slices of about 1 ms, each recorded as a span.
How we draw it: alone, a slice takes about 1 ms. When a thread's slice took much longer, or a gap
opened between two of its slices, the thread was ready to compute but could not: it was waiting for
the GIL (or, on a busy machine, for a processor). `show_waits` draws that time as a hatched "ready"
bar, the way the simulation draws a thread waiting for a processor, and joins neighbouring slices
into one solid bar.

**Predict:** four threads against one after another, on a machine with two or more processors? How
many processors busy?
""")
nb.code("""
from course_lib.timeline import Segment, Timeline

def cpu_job(tracer, name, slices=40):
    for _ in range(slices):
        with tracer.span(name, "cpu"):
            crunch(LOOPS_PER_MS)

def show_waits(timeline, typical=1e-3):   # typical: how long one slice takes alone
    \"\"\"Slices longer than 3 x typical become a wait plus `typical` of work; neighbours are joined.\"\"\"
    out = []
    for s in sorted(timeline.segments, key=lambda s: (s.task, s.start)):
        parts = [s]
        if s.duration > 3 * typical:
            parts = [Segment(s.task, "ready", s.start, s.end - typical), Segment(s.task, "cpu", s.end - typical, s.end)]
        for p in parts:
            last = out[-1] if out and out[-1].task == p.task else None
            if last and p.start - last.end > typical / 2:          # a gap between two slices: waiting too
                out.append(Segment(p.task, "ready", last.end, p.start))
                last = out[-1]
            if last and last.kind == p.kind:
                out[-1] = Segment(p.task, p.kind, last.start, p.end)
            else:
                out.append(p)
    return Timeline(out, title=timeline.title, tasks=timeline.tasks)

runs = {False: [], True: []}
for _ in range(3):                              # alternate, keep the fastest of three of each
    for on_threads in (False, True):
        runs[on_threads].append(measure(cpu_job, on_threads))
(cpu_seq, busy_seq), (cpu_thr, busy_thr) = (min(runs[k], key=lambda r: r[0].makespan) for k in (False, True))
cpu_sim = run_threaded([Task(n, [cpu(0.04)]) for n in NAMES], cores=1, quantum=0.005)
print(f"CPU-bound, one after another: {cpu_seq.makespan:.2f} s, processors busy {busy_seq:.2f}")
print(f"CPU-bound, four threads:      {cpu_thr.makespan:.2f} s, processors busy {busy_thr:.2f}"
      f"  -> {cpu_seq.makespan / cpu_thr.makespan:.2f}x")
""", tags=IGNORE)
nb.md("""
Those two times depend on what else the machine is doing. Here is evidence that does not: a slice
that took no longer than usual was computed in one go, holding the GIL. If two threads computed in
parallel, such slices of different threads would often overlap in time (on two processors, about
half the time). `overlap` adds up the time during which two uninterrupted slices of different threads
overlap. **Predict:** how much?
""")
nb.code("""
import statistics

typical = statistics.median(s.duration for s in cpu_seq.segments)    # a slice when nothing interrupts

def overlap(timeline):
    \"\"\"Seconds during which uninterrupted slices of two different threads overlap.\"\"\"
    solid = [s for s in timeline.segments if s.duration <= 1.5 * typical]
    return sum(max(0.0, min(a.end, b.end) - max(a.start, b.start))
               for i, a in enumerate(solid) for b in solid[i + 1:] if a.task != b.task)

solid = [s for s in cpu_thr.segments if s.duration <= 1.5 * typical]
print(f"{len(solid)} of {len(cpu_thr.segments)} slices ran uninterrupted (about {typical * 1000:.1f} ms each)")
print(f"two threads computing at the same moment: {overlap(cpu_thr) * 1000:.2f} ms "
      f"of {cpu_thr.makespan * 1000:.0f} ms")
""", tags=IGNORE)
nb.code("""
plot_models(None, timelines={
    "CPU-bound, one after another (measured)": show_waits(cpu_seq, typical),
    "CPU-bound, four threads (measured)": show_waits(cpu_thr, typical),
    "CPU-bound, four threads on one processor, 5 ms turns (simulated)": cpu_sim,
});
""", tags=IGNORE)
nb.md("""
No overlap at all: the threads never computed at the same moment, although the machine has more than
one processor. On a quiet machine the two times above are about equal (threads a little slower:
handing over the GIL costs something). On a busy machine, like the one these outputs were stored on,
both times wobble by tens of percent from run to run, because other programs take the processors at
random moments; run the cell again and compare. The picture shows the same thing: the threads take
turns of a few milliseconds, like the simulation of **one** processor underneath. The GIL lets
CPU-bound threads use one processor's worth of time between them, and no more.

So in Python, threads are a tool for **waiting** in parallel, not for computing in parallel. (For
computing, one uses processes, `concurrent.futures.ProcessPoolExecutor`, or libraries such as NumPy
whose loops run outside the GIL.) Waiting is exactly what servers do; chapters 04–07 show a way to wait
for thousands of things without a thread each.
""")

# ---------------------------------------------------------------------------------------------- 7
nb.md("""
## 7 · Thread pools

Starting a thread per job costs time and memory, and a program that starts one per incoming request
can be overwhelmed: a thousand requests, a thousand threads. A **thread pool** starts a fixed number of
**worker** threads once; jobs wait in a queue, and each worker takes the next job when it is free.

`concurrent.futures.ThreadPoolExecutor(max_workers=3)` is Python's pool. `pool.submit(f, x)` queues
one job and returns a **future**: an object standing for a result that is not there yet;
`future.result()` waits for it. `pool.map(f, items)` does this for every item and gives the results
**in the order of the items**, no matter which finishes first. Leaving the `with` block waits for every job
and stops the workers, so no thread outlives the cell.

**Predict:** ten requests (0.15 s each) on a pool of three workers: how long, and how many requests
does the server see at once?
""")
nb.code("""
jobs = [f"job {i}\\n".encode() for i in range(9)]
pool_tracer = Tracer()

def traced(address, line):
    with pool_tracer.span(line.decode().strip(), "io"):
        return fetch(address, line)

with SlowServer(delay=0.15, response=lambda line: b"done " + line) as srv:
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        future = pool.submit(traced, srv.address, b"first\\n")   # one job, by hand
        answers = list(pool.map(lambda line: traced(srv.address, line), jobs))
        first = future.result()
    peak, total = srv.max_in_flight, pool_tracer.now()
print(f"{len(jobs) + 1} requests on 3 workers: {total:.2f} s; the server saw at most {peak} at once")
""", tags=IGNORE)
nb.code("""
print("first:", first)
print("answers in the order of the jobs:", answers == [b"done " + line for line in jobs])
print("never more than 3 requests in flight:", peak <= 3)
plot_timeline(pool_tracer.timeline("ten requests on a pool of three threads (measured)",
                                   tasks=["first"] + [f"job {i}" for i in range(9)]));
""", tags=IGNORE)
nb.md("""
The requests go in waves of three: the pool caps the number of threads, and with it the load on the
server. The answers come back in the order of the jobs even though the requests ran side by side.
""")

# ---------------------------------------------------------------------------------------------- end
nb.md("""
## Summary

- A thread per connection lets blocking calls wait side by side: N waits take about one wait.
- A thread costs tens to hundreds of microseconds to start, tens of kilobytes of real memory (and megabytes of
  reserved address space), and microseconds per hand-over.
- Shared data + threads = races: `counter += 1` is a read, an add and a write. The explorer showed
  that 18 of the 20 schedules of two increments lose an update; real threads lost updates too, once
  we gave the race an opening.
- A lock turns the critical section into one step: every schedule correct, checked exhaustively.
- Locks taken in opposite orders can deadlock; taking them in one global order cannot.
- The GIL lets I/O-bound threads overlap and makes CPU-bound threads take turns.
- A thread pool reuses a fixed number of threads and bounds the load; `pool.map` keeps the order.

**Exercises:** open `exercises/03_threads.ipynb`: fix a race in a bank transfer (checked over every
schedule), write a counter that loses no update on real threads, take two locks without deadlock,
and fetch on a bounded thread pool.
""")

nb.write("notebooks/03_threads.ipynb")
