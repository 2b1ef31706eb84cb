"""Build solutions/04_event_loop_callbacks.ipynb: python tools/build/04_solutions.py

Then: python tools/run_notebook.py solutions/04_event_loop_callbacks.ipynb && python -m course_lib.exercises
"""

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from course_lib.check import ch04  # noqa: E402
from tools.nb import Notebook  # noqa: E402

nb = Notebook()

nb.md(r"""
# Exercises 04 · The event loop and callbacks

Four exercises on [chapter 04](../notebooks/04_event_loop_callbacks.ipynb). Write your code where
it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line), run the cell, then run
the `check(...)` cell below it. The checks run your code on many random programs, on a virtual
clock, and answer with one hint when something is off.
""")

nb.code(r"""
import heapq
import itertools
from collections import deque

from course_lib.check import check
from course_lib.check.ch04 import LineServer
from course_lib.loop import Loop
from course_lib.simnet import SimNetwork
""", kind="setup")

# ------------------------------------------------------------------------------------------ 1 timers
nb.md(r"""
## 1 · Timers on a heap (3 points)

Below is the minimal loop of the chapter, on a virtual clock, *without timers*: a ready queue,
`call_soon`, and one iteration (`run_once`) that

1. waits: not at all if callbacks are ready, otherwise until the earliest timer (on a virtual
   clock, waiting means moving `self.now` forward);
2. moves the timers that are due to the ready queue;
3. runs the callbacks that are ready at that moment.

Steps 1 and 2 call two methods that are missing. Write the class `TimerLoop` with three methods:

- `call_later(self, delay, fn, *args)`: schedule `fn(*args)` to run `delay` seconds from now
  (`self.now`), by pushing it onto the heap `self._timers` with `heapq.heappush`;
- `_next_timer(self)`: the deadline of the earliest timer, or `None` when there is no timer;
- `_move_due_timers(self)`: move every timer whose deadline is `<= self.now` from the heap to the
  ready queue (as a `(fn, args)` pair), earliest first.

Timers with the same deadline must run in the order they were scheduled, and the heap must never
have to compare two functions. `self._seq` is ready for you: `next(self._seq)` gives 0, 1, 2, ...

The check runs random programs of callbacks that call `call_soon` and `call_later` (with many
equal deadlines) on your loop and on asyncio, and compares the order and the time of every
callback. (asyncio itself leaves equal deadlines unordered; the check gives it our tie-break.)
""")

nb.code(r'''
class ReadyLoop:
    """The chapter's minimal loop on a virtual clock, without timers (given)."""

    def __init__(self):
        self.now = 0.0                  # the virtual clock
        self._ready = deque()           # (fn, args) pairs, first in first out
        self._timers = []               # your heap of timers
        self._seq = itertools.count()   # 0, 1, 2, ...

    def time(self):
        return self.now

    def call_soon(self, fn, *args):
        self._ready.append((fn, args))

    def run_once(self):
        if self._ready:
            timeout = 0
        else:
            deadline = self._next_timer()
            if deadline is None:
                return                  # nothing ready, no timer: nothing to do
            timeout = max(0.0, deadline - self.now)
        self.now += timeout             # 1. "wait": the virtual clock jumps
        self._move_due_timers()         # 2. due timers join the ready queue
        for _ in range(len(self._ready)):   # 3. run what is ready now
            fn, args = self._ready.popleft()
            fn(*args)

    def run(self):
        while self._ready or self._next_timer() is not None:
            self.run_once()
''', kind="demo", name="ready_loop")

nb.code(r'''
class TimerLoop(ReadyLoop):
    def call_later(self, delay, fn, *args):
        """Run fn(*args) `delay` seconds from now."""
        ### BEGIN SOLUTION
        heapq.heappush(self._timers, (self.now + delay, next(self._seq), fn, args))
        ### END SOLUTION

    def _next_timer(self):
        """The deadline of the earliest timer, or None if there is none."""
        ### BEGIN SOLUTION
        return self._timers[0][0] if self._timers else None
        ### END SOLUTION

    def _move_due_timers(self):
        """Move every timer whose deadline is <= self.now to the ready queue, earliest first."""
        ### BEGIN SOLUTION
        while self._timers and self._timers[0][0] <= self.now:
            when, seq, fn, args = heapq.heappop(self._timers)
            self._ready.append((fn, args))
        ### END SOLUTION
''', kind="answer", name="timers")

nb.md("Try it on a small program (predict its four lines first), then run the check.")

nb.code(r'''
loop = TimerLoop()
log = lambda text: print(f"t={loop.time():g}  {text}")
try:
    loop.call_later(1, log, "timer A at 1")
    loop.call_later(1, log, "timer B at 1")
    loop.call_soon(log, "call_soon")
    loop.call_later(0, log, "call_later(0)")
    loop.run()
except NotImplementedError:
    print("TimerLoop is not written yet")
''', kind="demo", name="timers_try")

nb.code('check("04.timers", TimerLoop)', kind="check", name="timers", points=3)

# ------------------------------------------------------------------------------------------ 2 predict
nb.md(r"""
## 2 · Predict the order (2 points)

Here is a program written for any loop with asyncio's names. It only schedules callbacks; each
callback logs its name. **Without running it**, write down the order in which the seven
callbacks `A` to `G` log their names. Work through it iteration by iteration: what is in the
ready queue at the start of each, which timers are due, what do the callbacks schedule?
""")

nb.code(inspect.getsource(ch04.predict_program).replace('    """The program of exercise 04.predict (the notebook shows the same code)."""\n\n', ""),
        kind="demo", name="predict_program")

nb.code(r'''
def predicted_order():
    """The names of the callbacks in the order they run, e.g. ["A", "B", ...]."""
    ### BEGIN SOLUTION
    # iteration 1 (t=0): A, B were queued before the run. A queues C and sets a timer D at 0;
    #                    B sets a timer E at 1 (after G, also at 1).
    # iteration 2 (t=0): the ready queue holds C; then the due timer D joins it: C, D. C queues F.
    # iteration 3 (t=0): F.
    # iteration 4 (t=1): the clock jumps to 1; G and E are due, in the order they were scheduled.
    return ["A", "B", "C", "D", "F", "G", "E"]
    ### END SOLUTION
''', kind="answer", name="predict")

nb.code('check("04.predict", predicted_order)', kind="check", name="predict", points=2)

nb.md(r"""
Once the check passes (and not before!), run the program on the course loop to see it step by
step:
""")

nb.code(r'''
loop = Loop()
predict_program(loop, lambda name: print(f"      {name} at t={loop.time():g}"))
while not loop.done:
    print(loop.step())
''', kind="demo", name="predict_steps")

# ------------------------------------------------------------------------------------------ 3 client
nb.md(r"""
## 3 · A callback-chained client (3 points)

A simulated `LineServer` (from `course_lib.check.ch04`; open it to read it) answers each request
line with one reply line: it reads a line ending in `b"\n"`, thinks for a while, then sends
`b"ECHO "` followed by the line in capitals, **in pieces** of a few bytes. One connection can
carry many requests, one after the other. With blocking sockets the client would be:

```python
def fetch_all_blocking(address, requests):
    sock = connect(address)
    replies = []
    for request in requests:                # one request at a time
        sock.sendall(request)
        reply = b""
        while not reply.endswith(b"\n"):    # a reply may come in pieces
            reply += sock.recv(1024)
        replies.append(reply)
    sock.close()
    return replies
```

Write it for the event loop: `fetch_all(loop, net, address, requests, on_done)`

- connects with `sock = net.connect(address)` (a simulated socket: `send`, `recv`, `close`;
  `recv` raises `BlockingIOError` when nothing has arrived yet);
- sends the requests **one at a time**: the next one only after the whole reply to the previous
  one has arrived (a short request is accepted whole by one `sock.send`);
- never waits in a loop: it registers a reader with `loop.add_reader(sock, callback)` and
  returns; the loop calls `callback()` whenever data has arrived;
- when the last reply is complete: `loop.remove_reader(sock)`, `sock.close()`, and
  `on_done(replies)` with the list of replies (bytes, newline included) in order.

This is stack ripping: the `for` loop's position, `reply` and `replies` must live somewhere
that outlives each callback (a closure or an object). The chapter's `fetch_with_callbacks` (one
request) is a good place to start. The check runs two or three clients at once on one loop, with
random latencies and random pieces.
""")

nb.code(r'''
def fetch_all(loop, net, address, requests, on_done):
    """Send each request in turn on one connection, collect the replies, then on_done(replies)."""
    ### BEGIN SOLUTION
    sock = net.connect(address)
    replies = []            # what the blocking version kept in local variables ...
    reply = bytearray()     # ... lives on in this closure

    def on_readable():
        reply.extend(sock.recv(1024))
        if not reply.endswith(b"\n"):
            return                              # a piece: wait to be called again
        replies.append(bytes(reply))
        reply.clear()
        if len(replies) < len(requests):
            sock.send(requests[len(replies)])   # the `for` loop's next turn
        else:
            loop.remove_reader(sock)
            sock.close()
            on_done(replies)

    sock.send(requests[0])
    loop.add_reader(sock, on_readable)
    ### END SOLUTION
''', kind="answer", name="client")

nb.md("Try it on one client, then run the check:")

nb.code(r'''
loop = Loop()
net = SimNetwork(loop, latency=0.05)
LineServer(net, "server:80")
try:
    fetch_all(loop, net, "server:80", [b"hello\n", b"event loop\n"],
              lambda replies: print(f"t={loop.time():.3f}  on_done({replies})"))
    loop.run()
    for step in loop.errors:
        print("error in a callback:", step)
except NotImplementedError:
    print("fetch_all is not written yet")
''', kind="demo", name="client_try")

nb.code('check("04.client", fetch_all)', kind="check", name="client", points=3)

# ------------------------------------------------------------------------------------------ 4 chunks
nb.md(r"""
## 4 · Don't freeze the loop (3 points)

A callback must sum the squares of a list of numbers. The squaring is done by `work(x)`, which
stands for real computation: each call costs 2 ms of CPU on the virtual clock (it calls
`loop.spend(0.002)`). When the sum is ready the callback calls `done(total)`. The obvious
version does everything in one callback:
""")

nb.code(r'''
def blocking_sum_of_squares(loop, numbers, work, done):
    done(sum(work(x) for x in numbers))


def measure(function, how_many=500):
    """Run function(loop, numbers, work, done) next to a heartbeat due every 50 ms; report how late it got."""
    loop = Loop()
    numbers = list(range(how_many))
    result, lateness = [], []

    def work(x):
        loop.spend(0.002)
        return x * x

    def heartbeat(due):
        lateness.append(loop.time() - due)
        if not result and due < 5:
            loop.call_at(due + 0.05, heartbeat, due + 0.05)

    loop.call_soon(function, loop, numbers, work, lambda total: result.append((total, loop.time())))
    loop.call_at(0.05, heartbeat, 0.05)
    loop.run()
    if loop.errors:
        error = loop.errors[0].error
        print(f"{function.__name__} is not written yet" if isinstance(error, NotImplementedError)
              else f"{function.__name__} raised {type(error).__name__}: {error}")
    elif result:
        total, when = result[0]
        print(f"{function.__name__}: done({total}) at t={when:.2f} s; "
              f"the heartbeat was up to {max(lateness):.3f} s late")

measure(blocking_sum_of_squares)
''', kind="demo", name="chunks_measure")

nb.md(r"""
The sum is right, but for a whole second nothing else ran: the heartbeat was almost a second
late. Write `chunked_sum_of_squares(loop, numbers, work, done)`, which computes the same sum in
**chunks**: a callback handles a few numbers, then schedules the rest with `loop.call_soon` and
returns, so the loop can run the timers that became due in between. Call `done(total)` once, at
the end (also for an empty list), and call `work(x)` exactly once per number.

The check runs your function next to a heartbeat due every 50 ms, on lists of up to 900 numbers.
It passes when the heartbeat is never more than 0.1 s late (keep each chunk shorter than the
50 ms heartbeat period: at most 25 numbers) and the sum comes about as soon as
the work allows (so no `call_later` pauses between chunks).
""")

nb.code(r'''
def chunked_sum_of_squares(loop, numbers, work, done):
    """Sum work(x) over numbers in small callbacks; then done(total)."""
    ### BEGIN SOLUTION
    chunk = 20      # 20 numbers x 2 ms = 40 ms per callback
    total = 0

    def step(start):
        nonlocal total
        for x in numbers[start:start + chunk]:
            total += work(x)
        if start + chunk < len(numbers):
            loop.call_soon(step, start + chunk)     # give the loop back, continue later
        else:
            done(total)

    step(0)
    ### END SOLUTION
''', kind="answer", name="chunks")

nb.code("measure(chunked_sum_of_squares)", kind="demo", name="chunks_try")

nb.code('check("04.chunks", chunked_sum_of_squares)', kind="check", name="chunks", points=3)

nb.md(r"""
The sum takes as long as before (the work is the same), but the loop gets control back after
every chunk (every 40 ms with 20 numbers per chunk), so timers and sockets are served in
between. That is the deal of the event loop: it is
fair only if every callback is short.
""")

if __name__ == "__main__":
    out = ROOT / "solutions" / "04_event_loop_callbacks.ipynb"
    nb.write(str(out))
    print("wrote", out.relative_to(ROOT))
