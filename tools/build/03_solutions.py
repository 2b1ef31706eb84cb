"""Builds solutions/03_threads.ipynb, the source of exercises/03_threads.ipynb."""

from tools.nb import Notebook

nb = Notebook()
nb.md("""
# Exercises 03 · Threads

Four exercises on [chapter 03](../notebooks/03_threads.ipynb). Write your code where it says
`# YOUR CODE HERE` (delete the `raise NotImplementedError()` line), run the cell, then run the
`check(...)` cell below it. Two checks run your programs on the interleaving explorer over **every**
possible schedule; two run your code on real threads against real sockets. Each answers with one
hint when something is off.
""")
nb.code("""
import concurrent.futures
import threading
import time

from course_lib.check import check
from course_lib.slowserver import SlowServer, fetch
from course_lib.threadsim import Scheduler, search, interleavings
""", kind="setup")

# ---------------------------------------------------------------------------------------------- 1
nb.md("""
## 1 · Fix the race in a bank transfer (3 points)

Shared memory holds account balances, one variable per account. A transfer of `amount` from `src`
to `dst` is six steps on the explorer: take `amount` from `src`, add it to `dst`. Here it is without
any lock, and what the explorer finds when two transfers run at the same time (10 from `a` to `b`,
20 from `b` to `a`; both accounts start at 100, so they must end at 110 and 90):
""")
nb.code("""
def transfer_unsafe(src, dst, amount):
    return [f"load r, {src}", f"sub r, {amount}", f"store {src}, r",
            f"load r, {dst}", f"add r, {amount}", f"store {dst}, r"]

two = {"T1": transfer_unsafe("a", "b", 10), "T2": transfer_unsafe("b", "a", 20)}
print(search(two, {"a": 100, "b": 100}, invariant=lambda memory: memory == {"a": 110, "b": 90}))
""", kind="demo", name="transfer_unsafe_demo")
nb.md("""
Money vanished. Write `transfer(src, dst, amount)`: the same transfer, made safe with the lock named
`bank` (`acquire bank` ... `release bank`). It returns a list of instruction strings, like
`transfer_unsafe`.

The check runs every schedule of two opposite transfers and of three transfers in a circle
(`a`→`b`, `b`→`c`, `c`→`a`), with random amounts, and expects the exact balances every time. To
explore on your own, try `search({...}, {"a": 100, "b": 100}, invariant=...)` with your programs,
or step them: `from course_lib.widgets import Stepper` and
`Stepper(lambda: Scheduler(programs, memory))`.
""")
nb.code("""
def transfer(src, dst, amount):
    \"\"\"The explorer program of one transfer: move amount from src to dst, under the lock 'bank'.\"\"\"
    ### BEGIN SOLUTION
    return ["acquire bank"] + transfer_unsafe(src, dst, amount) + ["release bank"]
    ### END SOLUTION
""", kind="answer", name="transfer")
nb.code("""check("03.transfer", transfer)""", kind="check", name="transfer", points=3)

# ---------------------------------------------------------------------------------------------- 2
nb.md("""
## 2 · A counter that loses no update, on real threads (3 points)

Now real Python threads. Write a class `Counter` with

- an attribute `value`, 0 for a new counter;
- a method `update(fn)` that sets `value` to `fn(value)` **as one indivisible step**, so no other
  update can happen between reading `value` and writing the result, and returns the new value.

`counter.update(lambda v: v + 1)` is an increment; `counter.update(lambda v: max(v, seen))` keeps a
maximum. Passing the change as a function lets one method serve every kind of update, and keeps the
lock inside the class, where callers cannot forget it.

Two details the check tests: `fn` is called exactly once per update, and if `fn` raises an
exception, the counter must not stay locked (`with lock:` releases the lock however the block ends).

Without a lock, updates get lost when `fn` takes a moment (here it sleeps for 0 s, which lets
another thread run), as this demonstration shows:
""")
nb.code("""
class UnsafeCounter:
    def __init__(self):
        self.value = 0

    def update(self, fn):
        self.value = fn(self.value)
        return self.value

def slow_increment(v):
    time.sleep(0)            # another thread may run here
    return v + 1

unsafe = UnsafeCounter()
workers = [threading.Thread(target=lambda: [unsafe.update(slow_increment) for _ in range(500)]) for _ in range(4)]
for t in workers:
    t.start()
for t in workers:
    t.join()
print(f"4 threads x 500 updates: value = {unsafe.value} (should be 2000)")
""", kind="demo", name="unsafe_counter_demo", tags=["nbval-ignore-output"])
nb.code("""
class Counter:
    \"\"\"A shared counter: update(fn) sets value = fn(value) as one indivisible step.\"\"\"

    def __init__(self):
        ### BEGIN SOLUTION
        self.value = 0
        self._lock = threading.Lock()
        ### END SOLUTION

    def update(self, fn):
        \"\"\"Set value to fn(value) with no other update in between; return the new value.\"\"\"
        ### BEGIN SOLUTION
        with self._lock:
            self.value = fn(self.value)
            return self.value
        ### END SOLUTION
""", kind="answer", name="atomic_counter")
nb.code("""check("03.atomic_counter", Counter)""", kind="check", name="atomic_counter", points=3)

# ---------------------------------------------------------------------------------------------- 3
nb.md("""
## 3 · Two locks, no deadlock (3 points)

One lock for the whole bank makes every transfer wait for every other, even transfers between
different accounts. So now each account has its own lock: account `alice` has `lock_alice`. A
transfer takes the locks of *both* its accounts, moves the money, and releases both. Taking the
source's lock first looks natural, and deadlocks:
""")
nb.code("""
def transfer_locked_naive(src, dst, amount):
    return ([f"acquire lock_{src}", f"acquire lock_{dst}"] + transfer_unsafe(src, dst, amount)
            + [f"release lock_{dst}", f"release lock_{src}"])

opposite = {"T1": transfer_locked_naive("alice", "bob", 10), "T2": transfer_locked_naive("bob", "alice", 20)}
print(search(opposite, {"alice": 100, "bob": 100}))
""", kind="demo", name="naive_lock_order_demo")
nb.md("""
Write `transfer_locked(src, dst, amount)`, which takes exactly the two locks `lock_<src>` and
`lock_<dst>` and can never deadlock, whatever other transfers run at the same time. Chapter 03,
section 5, says how. The check explores every schedule of two opposite transfers and of a circle
of three (`alice`→`bob`→`carol`→`alice` is a circle of waits in the making), with random names.
""")
nb.code("""
def transfer_locked(src, dst, amount):
    \"\"\"The explorer program of a transfer holding lock_<src> and lock_<dst>, free of deadlock.\"\"\"
    ### BEGIN SOLUTION
    first, second = sorted([src, dst])        # one global order: alphabetical
    return ([f"acquire lock_{first}", f"acquire lock_{second}"] + transfer_unsafe(src, dst, amount)
            + [f"release lock_{second}", f"release lock_{first}"])
    ### END SOLUTION
""", kind="answer", name="lock_order")
nb.code("""check("03.lock_order", transfer_locked)""", kind="check", name="lock_order", points=3)

# ---------------------------------------------------------------------------------------------- 4
nb.md("""
## 4 · Fetch on a bounded pool (3 points)

Write `fetch_all(address, lines, max_workers)`: for every line of `lines` (bytes ending in `b"\\n"`),
fetch the slow server's answer with `fetch(address, line)`, on a pool of at most `max_workers`
threads, and return the answers **in the order of `lines`**.

The check starts a slow server whose answer to a line is `b"answer to " + line`. The server
counts how many requests are in flight at once: never more than `max_workers`, and more than one
(otherwise the requests ran one after another). Every thread must be finished when `fetch_all`
returns.
""")
nb.code("""
def fetch_all(address, lines, max_workers):
    \"\"\"The server's answers to lines, in order, fetched by at most max_workers threads at once.\"\"\"
    ### BEGIN SOLUTION
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(lambda line: fetch(address, line), lines))
    ### END SOLUTION
""", kind="answer", name="pool_fetch")
nb.code("""check("03.pool_fetch", fetch_all)""", kind="check", name="pool_fetch", points=3)

nb.md("""
## Done?

If all four checks pass, you have used the explorer as a proof tool (every schedule, not a lucky
run), written a thread-safe class, avoided a deadlock by design, and bounded a thread pool. Next:
chapter 04 builds an event loop, which waits for many things on **one** thread.
""")

nb.write("solutions/03_threads.ipynb")
