"""Build solutions/05_select_poll_epoll.ipynb: python tools/build/05_solutions.py

Then: python tools/run_notebook.py solutions/05_select_poll_epoll.ipynb && python -m course_lib.exercises
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.nb import Notebook  # noqa: E402

nb = Notebook()

nb.md(r"""
# 05 · Exercises: select, poll, epoll

Three exercises, each checked by `check(...)`, which drives your code on real sockets (or on the
simulated kernel buffer of the lecture) and answers with a one-line hint when something is wrong.

1. `wait_readable`: wait for several sockets at once with `select`.
2. `on_readable`: an edge-triggered reader that drains to EAGAIN.
3. `EchoServer`: the writing half of an echo server on the course reactor, which must survive
   hundreds of clients at once, payloads far larger than the socket buffers, slow readers and
   clients that vanish mid-message.

Run the setup cell first. Write your code where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line), run that cell, then run the check below it.
""")

nb.code(r"""
import select
import socket
import threading
import time

from course_lib.check import check
from course_lib.loop import Loop
from course_lib.reactor import LoopThread, Protocol, Server
from course_lib.triggers import SimSocket
""", kind="setup")

# ------------------------------------------------------------------------------------------ 1
nb.md(r"""
## Exercise 1 · `wait_readable(socks, timeout)` (2 points)

Write `wait_readable(socks, timeout)`: wait **at most** `timeout` seconds until at least one of the
sockets in the list `socks` is readable, and return the list of the readable ones **in the order
they appear in `socks`**. If none becomes readable in time, return `[]`.

- Use `select.select` (lecture, section 2). It returns a new list; build yours by going through `socks`, so the order is the caller's.
- Only **wait**: don't `recv` anything. The caller will read.
- A socket whose peer has closed counts as readable (a `recv` would return `b""` at once);
  `select` already says so.
- Return as soon as one is ready: don't sleep for the whole timeout.
""")

nb.code(r"""
def wait_readable(socks, timeout):
    ### BEGIN SOLUTION
    readable, _, _ = select.select(socks, [], [], timeout)
    return [s for s in socks if s in readable]
    ### END SOLUTION
""", kind="answer", name="wait_readable")

nb.md(r"""
Try it before checking: two socket pairs, bytes sent into the second one.
""")

nb.code(r"""
(a0, b0), (a1, b1) = socket.socketpair(), socket.socketpair()
try:
    b1.send(b"hi")
    try:
        ready = wait_readable([a0, a1], 1.0)
        print("readable positions:", [[a0, a1].index(s) for s in ready])   # expected: [1]
    except NotImplementedError:
        print("wait_readable is not written yet")
finally:
    for s in (a0, b0, a1, b1):
        s.close()
""", kind="demo", name="wait_readable_try")

nb.code(r"""
check("05.wait_readable", wait_readable)
""", kind="check", name="wait_readable", points=2)

# ------------------------------------------------------------------------------------------ 2
nb.md(r"""
## Exercise 2 · An edge-triggered reader that drains (2 points)

With edge-triggered readiness (lecture, section 7), a socket is reported **once** when new bytes
arrive. Bytes you leave in the kernel buffer are not reported again: the reader stalls.

Write `on_readable(sock)`, which the event loop calls once per edge-triggered report. It must read
**everything** the kernel holds for `sock` and return it as one `bytes` object:

- call `sock.recv(4096)` again and again;
- stop at the **first** `BlockingIOError` (EAGAIN: the buffer is empty for now);
- also stop if `recv` returns `b""` (the peer has closed: end of file);
- return the bytes read, in order (`b""` if there were none).

The check uses the lecture's simulated kernel buffer, `course_lib.triggers.SimSocket`, whose
`recv` behaves like a non-blocking socket's. It delivers random bursts of bytes, calls your
function once per edge, and verifies that every byte came out, in order, and that you did not keep
calling `recv` after EAGAIN.
""")

nb.code(r"""
def on_readable(sock):
    ### BEGIN SOLUTION
    chunks = []
    while True:
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            break  # EAGAIN: the kernel buffer is empty, wait for the next edge
        if not chunk:
            break  # end of file
        chunks.append(chunk)
    return b"".join(chunks)
    ### END SOLUTION
""", kind="answer", name="on_readable")

nb.code(r"""
sim = SimSocket()
sim.arrive(b"x" * 10_000)            # one edge: 10,000 bytes arrive at once
try:
    got = on_readable(sim)
    print(f"read {len(got)} bytes; {len(sim.buffer)} left in the kernel buffer")   # expected: 10000, 0
except NotImplementedError:
    print("on_readable is not written yet")
""", kind="demo", name="on_readable_try")

nb.code(r"""
check("05.drain", on_readable)
""", kind="check", name="on_readable", points=2)

# ------------------------------------------------------------------------------------------ 3
nb.md(r"""
## Exercise 3 · An echo server that survives partial writes (4 points)

An **echo server** sends back every byte it receives. On the course reactor
(`course_lib/reactor.py`) the server's *reading* side is done for you: for each client, the
reactor creates one `EchoServer` object, calls `connection_made(transport)`, and then
`data_received(data)` each time bytes arrive. Your job is the **writing** side, which
`transport.write` normally does for you; in this exercise it is switched off, and you send on the
socket yourself:

- `self.sock` is the client's socket, **non-blocking**: `self.sock.send(data)` sends what fits in
  the kernel's send buffer **now** and returns how many bytes that was (maybe fewer than
  `len(data)`), or raises `BlockingIOError` if nothing fits at all.
- Keep what was not sent in `self.pending` (a `bytearray`; `del self.pending[:n]` drops the first
  `n` bytes), **in order**.
- While `self.pending` is not empty, ask the loop to call `self.send_pending` when the socket is
  writable: `self.loop.add_writer(self.sock.fileno(), self.send_pending)`. When it is empty, stop
  asking: `self.loop.remove_writer(self.sock.fileno())`. (A socket is almost always writable:
  write interest with nothing to send makes the loop spin.)
- A client may vanish at any moment; then `send` raises another `OSError`
  (`ConnectionResetError`, `BrokenPipeError`). Close that connection with
  `self.transport.abort()` and return: the server must go on serving the others.
- Never block: no `sendall`, no `setblocking(True)`, no `time.sleep`.

The check starts your server on 127.0.0.1 and connects 218 clients at once: 200 with small
messages, 4 sending 3 MB each, 6 that read their echo slowly, and 8 that vanish half-way through
a 1 MB message. Every remaining client must get back exactly what it sent, and afterwards a new
client must still be served. (It takes a second or two.)
""")

nb.code(r"""
class EchoServer(Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.sock = transport.sock          # connected and non-blocking
        self.loop = transport.loop
        self.pending = bytearray()          # received, not yet sent back

    def data_received(self, data):
        ### BEGIN SOLUTION
        self.pending += data
        self.send_pending()
        ### END SOLUTION

    def send_pending(self):
        ### BEGIN SOLUTION
        try:
            sent = self.sock.send(self.pending)
        except BlockingIOError:
            sent = 0                        # nothing fits now: wait until writable
        except OSError:
            self.transport.abort()          # the client vanished
            return
        del self.pending[:sent]
        if self.pending:
            self.loop.add_writer(self.sock.fileno(), self.send_pending)
        else:
            self.loop.remove_writer(self.sock.fileno())
        ### END SOLUTION
""", kind="answer", name="echo")

nb.md(r"""
Try it with one client sending 2 MB before reading anything (`transport.write` is still on here,
but your class does not use it). The server runs on a loop in a background thread (`LoopThread`).
""")

nb.code(r"""
loop = Loop(poller="default")
server = Server(loop, EchoServer)
client = socket.socket()
try:
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)   # small: partial sends for sure
    client.settimeout(5)
    client.connect(server.address)
    with LoopThread(loop):
        message = bytes(range(256)) * 8192                          # 2 MB
        def send_all():
            try:
                client.sendall(message)
            except OSError:
                pass                                                # the server closed on us
        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        echoed = bytearray()
        try:
            while len(echoed) < len(message):
                chunk = client.recv(1 << 20)
                if not chunk:
                    break
                echoed += chunk
        except OSError as error:
            print("the client saw", type(error).__name__)
        sender.join(5)
    if any(isinstance(e, NotImplementedError) for e in server.errors):
        print("EchoServer is not written yet")
    else:
        print(f"echoed {len(echoed):,} of {len(message):,} bytes, byte-exact: {echoed == message}")
        if server.errors:
            print("your EchoServer raised:", repr(server.errors[0]))
finally:
    client.close()
    server.close()
    loop.close()
""", kind="demo", name="echo_try")

nb.code(r"""
check("05.echo", EchoServer)
""", kind="check", name="echo", points=4)

nb.md(r"""
## Done?

`from course_lib import progress; progress.show()` lists what you have passed. Back to the lecture
for the summary, or on to chapter 06, where coroutines let you write this server without
callbacks.
""")

nb.write(str(ROOT / "solutions" / "05_select_poll_epoll.ipynb"))
print("wrote solutions/05_select_poll_epoll.ipynb")
