"""Builds solutions/02_blocking_io.ipynb, the source of exercises/02_blocking_io.ipynb."""

from tools.nb import Notebook

nb = Notebook()
nb.md("""
# Exercises 02 · Blocking I/O

Three exercises on [chapter 02](../notebooks/02_blocking_io.ipynb). Write your code where it says
`# YOUR CODE HERE` (delete the `raise NotImplementedError()` line), run the cell, then run the
`check(...)` cell below it. A check calls your function on real sockets, many times, and answers
with one hint when something is off.
""")
nb.code("""
import select
import socket
import time

from course_lib.check import check
from course_lib.slowserver import SlowServer
""", kind="setup")

# ---------------------------------------------------------------------------------------------- 1
nb.md("""
## 1 · Read exactly `n` bytes (3 points)

Chapter 02 showed that `sock.recv(n)` returns **at most** `n` bytes: whatever has arrived, as soon
as anything has. Protocols, though, often say "the next 20 bytes are the header". Write
`recv_exactly(sock, n)`, which returns exactly `n` bytes from a blocking socket:

- call `recv` as often as needed, and never ask it for more than the bytes still missing (the
  bytes after these `n` belong to the next message, and must stay in the kernel's buffer);
- `recv` returning `b""` means the peer has closed the connection: no more bytes will ever come.
  If that happens before you have `n` bytes, **raise `EOFError`** ("end of file") with a message
  saying how many bytes arrived. asyncio makes the same choice: its `readexactly` raises
  `IncompleteReadError`, a kind of `EOFError`;
- `recv_exactly(sock, 0)` returns `b""`.

The check feeds a real socket from a thread, in random pieces with random pauses, sometimes
closing early, and finally reads a reply from the slow server, which arrives 3 bytes at a time.
""")
nb.code("""
def recv_exactly(sock, n):
    \"\"\"Return exactly n bytes read from sock; raise EOFError if the peer closes first.\"\"\"
    ### BEGIN SOLUTION
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))      # ask only for what is missing
        if not chunk:                         # b"": the peer has closed the connection
            raise EOFError(f"the peer closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)
    ### END SOLUTION
""", kind="answer", name="recv_exactly")
nb.md("""
Try it on the slow server, which sends 30 bytes in pieces of 7, then closes. Asking for 10, then 20,
then 1 more byte should give two complete pieces of the message and then an `EOFError`:
""")
nb.code("""
try:
    with SlowServer(delay=0.1, response=b"0123456789" * 3, chunk_size=7, chunk_delay=0.05) as srv:
        with socket.create_connection(srv.address) as sock:
            sock.sendall(b"numbers, please\\n")
            print(recv_exactly(sock, 10))
            print(recv_exactly(sock, 20))
            print(recv_exactly(sock, 1))
except EOFError as error:
    print("EOFError:", error)
except NotImplementedError:
    print("write recv_exactly above first")
""", kind="demo", name="recv_exactly_demo")
nb.code("""check("02.recv_exactly", recv_exactly)""", kind="check", name="recv_exactly", points=3)

# ---------------------------------------------------------------------------------------------- 2
nb.md("""
## 2 · Wait without burning a core (3 points)

Here is a function that waits for the first bytes on a **non-blocking** socket by busy polling.
It returns the right bytes, but the measurement below it shows what it costs.
""")
nb.code("""
def busy_wait_for_data(sock):
    \"\"\"Return the first bytes that arrive on the non-blocking socket (b"" if the peer closes).\"\"\"
    while True:
        try:
            return sock.recv(4096)
        except BlockingIOError:               # EAGAIN: nothing yet. Ask again, at once.
            pass


def cpu_while_waiting(wait_function, delay=0.5):
    \"\"\"Let wait_function wait `delay` s for the slow server; return (its result, CPU s, wall s).\"\"\"
    with SlowServer(delay=delay, response=b"here is your data\\n") as srv:
        with socket.create_connection(srv.address) as sock:
            sock.sendall(b"any news?\\n")
            sock.setblocking(False)           # what wait_function receives: a non-blocking socket
            cpu, wall = time.process_time(), time.perf_counter()
            result = wait_function(sock)
            return result, time.process_time() - cpu, time.perf_counter() - wall


result, cpu, wall = cpu_while_waiting(busy_wait_for_data)
print(f"busy poll: {result!r}, {cpu:.2f} s of CPU in {wall:.2f} s")
""", kind="demo", name="busy_poll_demo", tags=["nbval-ignore-output"])
nb.md("""
Write `wait_for_data(sock)`: it gets the same **non-blocking** socket and returns the same thing
(the first bytes that arrive, at most 4096, or `b""` if the peer closes), but its thread must
**sleep** while nothing has arrived. Let the kernel do the waiting: either switch the socket to
blocking mode, or wait until it is readable with `select.select`, then call `recv` once.

The check runs your function against the slow server. It counts how often `recv` came back with
`EAGAIN` (a poll makes many such calls, even one that naps in between) and compares your
thread's CPU time with the time it waited.
""")
nb.code("""
def wait_for_data(sock):
    \"\"\"Like busy_wait_for_data, but sleeps in the kernel until data (or the peer's close) arrives.\"\"\"
    ### BEGIN SOLUTION
    select.select([sock], [], [])             # sleeps until readable: data, or the peer closed
    return sock.recv(4096)                    # only the copy is left: this cannot raise EAGAIN now
    ### END SOLUTION
""", kind="answer", name="wait_for_data")
nb.code("""
try:
    result, cpu, wall = cpu_while_waiting(wait_for_data)
    print(f"your wait_for_data: {result!r}, {cpu:.4f} s of CPU in {wall:.2f} s")
except NotImplementedError:
    print("write wait_for_data above first")
""", kind="demo", name="wait_demo", tags=["nbval-ignore-output"])
nb.code("""check("02.wait_for_data", wait_for_data)""", kind="check", name="wait_for_data", points=3)

# ---------------------------------------------------------------------------------------------- 3
nb.md("""
## 3 · Name the I/O model (2 points)

For each snippet, say which of the five Unix I/O models it uses while it waits for data:
`"blocking"`, `"non-blocking"`, `"multiplexing"`, `"signal-driven"` or `"asynchronous"`.
Think about the two phases: who waits for the data, how, and who copies it. (`conn` and `conns`
are connected sockets; nothing needs to run.)

**A**
```python
data = conn.recv(4096)                      # conn is in its default mode
```
**B**
```python
conn.setblocking(False)
while True:
    try:
        data = conn.recv(4096)
        break
    except BlockingIOError:
        update_progress_bar()               # something useful, then ask again
```
**C**
```python
sel = selectors.DefaultSelector()
for c in conns:
    sel.register(c, selectors.EVENT_READ)
for key, events in sel.select():
    data = key.fileobj.recv(4096)
```
**D**
```python
def on_ready(signum, frame):
    data = conn.recv(4096)

signal.signal(signal.SIGIO, on_ready)
fcntl.fcntl(conn, fcntl.F_SETOWN, os.getpid())
fcntl.fcntl(conn, fcntl.F_SETFL, fcntl.fcntl(conn, fcntl.F_GETFL) | os.O_ASYNC)
```
**E**
```python
def handle(c):
    data = c.recv(4096)

for c in conns:
    threading.Thread(target=handle, args=(c,)).start()
```
**F** (asyncio on Linux, with its default event loop)
```python
async def handle(reader, writer):
    data = await reader.read(4096)
```
**G** (asyncio on Windows, whose default loop is the `ProactorEventLoop`, built on the
kernel's I/O completion ports: the program hands over a buffer, and is told when it is full)
```python
loop = asyncio.get_running_loop()           # a ProactorEventLoop
data = await loop.sock_recv(conn, 4096)
```

Fill in the dictionary. Some of these deserve a second look: do threads change how one `recv`
waits? What does asyncio's loop call underneath?
""")
nb.code("""
def io_models():
    \"\"\"Snippet letter -> one of "blocking", "non-blocking", "multiplexing", "signal-driven", "asynchronous".\"\"\"
    ### BEGIN SOLUTION
    return {
        "A": "blocking",
        "B": "non-blocking",
        "C": "multiplexing",
        "D": "signal-driven",
        "E": "blocking",        # many threads, but each one's recv blocks
        "F": "multiplexing",    # asyncio's selector event loop waits in epoll/kqueue/select
        "G": "asynchronous",    # completion ports: the kernel waits *and* copies, then reports
    }
    ### END SOLUTION
""", kind="answer", name="io_models")
nb.code("""check("02.io_models", io_models)""", kind="check", name="io_models", points=2)
nb.md("""
## What you practised

- a message can arrive in any number of pieces: loop on `recv`, ask only for what is missing,
  and treat `b""` as "the peer is gone";
- the kernel can wait for you at no CPU cost: block, or `select`, instead of asking in a loop;
- the five models differ in how the two phases are handled, and asyncio on Linux and macOS is
  I/O multiplexing underneath.

Next: [chapter 03](../notebooks/03_threads.ipynb), one blocking thread per connection.
""")

nb.write("solutions/02_blocking_io.ipynb")
