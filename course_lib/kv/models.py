"""The same key-value server, three ways of waiting: threads, the course reactor, asyncio.

What it is: each model takes bytes from sockets and hands them to a ``Client``
(``course_lib.kv.client``), which does everything else. Only the waiting differs:

- ``ThreadsModel``: one thread per connection, blocking ``recv`` and ``sendall``.
  A lock lets one thread at a time touch the database (Redis runs commands one at
  a time too). A client that does not read blocks its own thread in ``sendall``:
  that is backpressure for free, paid for with a thread per connection.
- ``ReactorModel``: chapter 05's reactor (``course_lib.reactor.Server`` on the
  course ``Loop``, with the poller you name: epoll, kqueue, poll or select), one
  thread for every connection.
- ``AsyncioModel``: an asyncio ``Protocol`` on an asyncio loop (with the same poller).

The reactor and asyncio run the *same* protocol class, ``KVProtocol``: the course
reactor has asyncio's callback names, and ``FlowTransport`` adds the flow control
chapter 05 left out (``pause_reading``, and ``pause_writing`` once the output
buffer passes its high-water mark). When a peer stops reading, the server stops
running its commands and stops reading from it until the buffer drains.

Each model has ``start()`` (returns the address once it listens, serving in a
background thread), ``close()`` (stops, closes every socket, joins its threads)
and ``connections()``. A new model plugs in by subclassing ``Model`` and adding
itself to ``MODEL_CLASSES`` (the coroutines of chapter 06: accept and serve each client
in a task, ``await loop.sock_recv``, the same ``Client``).

What it is not: production code (no TLS, no auth, no persistence), or tuned:
the reactor's limits are measured and explained in ``benchmarks/kv.py``.
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import threading

from course_lib import validate
from course_lib.kv.client import Client, ServerState
from course_lib.kv.db import Database
from course_lib.reactor import LoopThread, Server, Transport

__all__ = ["MODEL_CLASSES", "Model", "ThreadsModel", "ReactorModel", "AsyncioModel", "KVProtocol", "FlowTransport",
           "HIGH_WATER", "LOW_WATER"]

HIGH_WATER = 64 * 1024  # stop reading a client whose unsent replies pass this many bytes...
LOW_WATER = 16 * 1024  # ...until they drain below this
BACKENDS = ("default", "epoll", "kqueue", "poll", "select")


class KVProtocol:
    """One connection, driven by asyncio's callbacks (course reactor or asyncio alike)."""

    __slots__ = ("client", "state", "transport", "paused", "eof")

    def __init__(self, state: ServerState):
        self.state, self.client = state, Client(state)
        self.transport, self.paused, self.eof = None, False, False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(HIGH_WATER, LOW_WATER)
        self.state.connected += 1

    def data_received(self, data: bytes) -> None:
        self.client.feed(data)
        self._serve()

    def eof_received(self):
        self.eof = True  # answer what was received, then close
        self._serve()
        return True

    def pause_writing(self) -> None:  # the output buffer passed HIGH_WATER
        self.paused = True

    def resume_writing(self) -> None:  # ...and drained below LOW_WATER
        self.paused = False
        self._serve()

    def connection_lost(self, exc) -> None:
        self.state.connected -= 1

    def _serve(self) -> None:
        """Run queued commands while the output has room; read only when everything is answered."""
        client, transport = self.client, self.transport
        while client.waiting and not self.paused and not transport.is_closing():
            room = HIGH_WATER - transport.get_write_buffer_size()
            transport.write(client.run(max(room, 1)))  # past HIGH_WATER, write() calls pause_writing()
        if transport.is_closing():
            return
        if client.closing or (self.eof and not client.waiting):
            transport.close()  # sends what is buffered first
        elif client.waiting or self.eof:
            transport.pause_reading()
        else:
            transport.resume_reading()


class FlowTransport(Transport):
    """The course reactor's ``Transport`` plus asyncio's flow control (names and meaning)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.high, self.low = HIGH_WATER, LOW_WATER
        self.reading, self.writing_paused = True, False

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        self.high, self.low = high, low

    def pause_reading(self) -> None:
        if self.reading and not self._closing:
            self.reading = False
            self.loop.remove_reader(self.fd)

    def resume_reading(self) -> None:
        if not self.reading and not self._closing:
            self.reading = True
            self.loop.add_reader(self.fd, self._on_readable)

    def write(self, data) -> None:
        super().write(data)
        if len(self.buffer) > self.high and not self.writing_paused:
            self.writing_paused = True
            self.protocol.pause_writing()

    def _on_writable(self) -> None:
        super()._on_writable()
        if self.writing_paused and len(self.buffer) <= self.low and not self._closed:
            self.writing_paused = False
            try:
                self.protocol.resume_writing()
            except Exception as exc:  # a bug in the protocol: drop this connection only
                self._protocol_failed(exc)


class Model:
    """What every model provides; see the module docstring."""

    name = ""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, backend: str = "default", **limits):
        self.host, self.port = validate.text(host, "host"), validate.count(port, "port", minimum=0)
        self.backend = validate.one_of(backend, "backend", BACKENDS)
        self.limits = limits  # Parser limits (max_bulk, max_inline, max_query), for tests
        self.address = None
        self.state: ServerState | None = None

    def _state(self, clock, call_at) -> ServerState:
        self.state = ServerState(Database(clock, call_at), self.name, self.limits)
        return self.state

    def start(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def connections(self) -> int:
        """How many clients are connected now."""
        return self.state.connected if self.state else 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"{self.address[0]}:{self.address[1]}" if self.address else "not started"
        return f"<kvserver {self.name} ({self.backend}) {where}, {self.connections()} connections>"


class ReactorModel(Model):
    name = "reactor"

    def start(self):
        from course_lib.loop import Loop

        self.loop = Loop(poller=self.backend)
        try:
            state = self._state(self.loop.time, self.loop.call_at)
            self.server = Server(self.loop, lambda: KVProtocol(state), self.host, self.port,
                                 transport_class=FlowTransport)
        except BaseException:
            self.loop.close()
            raise
        self.address = self.server.address
        self.thread = LoopThread(self.loop).start()
        return self.address

    def close(self) -> None:
        self.thread.stop()
        self.server.close()
        self.loop.close()


class AsyncioModel(Model):
    name = "asyncio"

    def start(self):
        selector = None if self.backend == "default" else getattr(selectors, self.backend.capitalize() + "Selector")()
        self.loop = asyncio.SelectorEventLoop(selector)
        self.transports = set()
        state = self._state(self.loop.time, self.loop.call_at)

        class Protocol(KVProtocol, asyncio.Protocol):
            __slots__ = ()

            def connection_made(protocol, transport):
                self.transports.add(transport)
                KVProtocol.connection_made(protocol, transport)

            def connection_lost(protocol, exc):
                self.transports.discard(protocol.transport)
                KVProtocol.connection_lost(protocol, exc)

        try:
            self.server = self.loop.run_until_complete(
                self.loop.create_server(lambda: Protocol(state), self.host, self.port, backlog=1024))
        except BaseException:
            self.loop.close()
            raise
        self.address = self.server.sockets[0].getsockname()[:2]
        self.thread = threading.Thread(target=self.loop.run_forever, name="kv-asyncio", daemon=True)
        self.thread.start()
        return self.address

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.server.close()
        for transport in list(self.transports):
            transport.abort()
        self.loop.run_until_complete(self.server.wait_closed())
        self.loop.run_until_complete(asyncio.sleep(0))  # let connection_lost callbacks run
        self.loop.close()


class ThreadsModel(Model):
    name = "threads"

    def start(self):
        self.lock = threading.Lock()
        self.timers = _TimerThread(self.lock)
        self._state(self.timers.clock, self.timers.call_at)
        self.listener = socket.create_server((self.host, self.port), backlog=1024)
        self.address = self.listener.getsockname()[:2]
        self.wake_r, self.wake_w = socket.socketpair()
        self.threads, self.socks = set(), set()
        self.acceptor = threading.Thread(target=self._accept, name="kv-accept", daemon=True)
        self.acceptor.start()
        self.timers.start()
        return self.address

    def _accept(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.listener, selectors.EVENT_READ)
            sel.register(self.wake_r, selectors.EVENT_READ)
            while True:
                keys = [key.fileobj for key, _ in sel.select()]
                if self.wake_r in keys:
                    return
                try:
                    sock, _ = self.listener.accept()
                except OSError:
                    continue
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                thread = threading.Thread(target=self._serve, args=(sock,), name="kv-client", daemon=True)
                with self.lock:
                    self.socks.add(sock)
                    self.threads.add(thread)
                thread.start()

    def _serve(self, sock) -> None:
        with self.lock:
            client = Client(self.state)
            self.state.connected += 1
        try:
            while not client.closing:
                data = sock.recv(65536)
                if not data:
                    break
                client.feed(data)
                while client.waiting:
                    with self.lock:
                        out = client.run(HIGH_WATER)
                    sock.sendall(out)  # blocks while the peer does not read: backpressure
        except OSError:
            pass  # the peer vanished, or close() shut the socket down
        finally:
            with self.lock:
                self.state.connected -= 1
                self.socks.discard(sock)
                self.threads.discard(threading.current_thread())
            sock.close()

    def close(self) -> None:
        self.wake_w.send(b"x")
        self.acceptor.join()
        self.listener.close()
        with self.lock:
            socks, threads = list(self.socks), list(self.threads)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv or sendall
            except OSError:
                pass
        for thread in threads:
            thread.join()
        self.timers.stop()
        self.wake_r.close()
        self.wake_w.close()


class _TimerThread:
    """``call_at`` for the threads model: one thread sleeps until the next deadline.
    Callbacks run holding the database lock; ``call_at`` is called holding it."""

    def __init__(self, lock):
        import heapq
        import time

        self.clock, self._heap, self._heapq = time.monotonic, [], heapq
        self._cond, self._running, self._seq, self._compact_at = threading.Condition(lock), True, 0, 1024
        self._thread = threading.Thread(target=self._main, name="kv-timers", daemon=True)

    def call_at(self, when: float, fn, *args):
        handle = _Cancellable()
        self._seq += 1
        self._heapq.heappush(self._heap, (when, self._seq, handle, fn, args))
        if len(self._heap) >= self._compact_at:  # forget cancelled timers, as the loops do
            self._heap[:] = [entry for entry in self._heap if not entry[2].cancelled]
            self._heapq.heapify(self._heap)
            self._compact_at = max(1024, 2 * len(self._heap))
        self._cond.notify()
        return handle

    def _main(self) -> None:
        with self._cond:
            while self._running:
                while self._heap and self._heap[0][2].cancelled:
                    self._heapq.heappop(self._heap)
                if self._heap and self._heap[0][0] <= self.clock():
                    _, _, handle, fn, args = self._heapq.heappop(self._heap)
                    fn(*args)
                else:
                    self._cond.wait(self._heap[0][0] - self.clock() if self._heap else None)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify()
        self._thread.join()


class _Cancellable:
    __slots__ = ("cancelled",)

    def __init__(self):
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


MODEL_CLASSES = {model.name: model for model in (ThreadsModel, ReactorModel, AsyncioModel)}
