"""The same key-value server, four ways of waiting: threads, the reactor, asyncio, coroutines.

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
- ``CoroutinesModel``: chapter 06's coroutines on the course ``Loop``: one task per
  connection, whose code reads like the threads model's (``await loop.sock_recv``,
  ``await loop.sock_sendall``). Backpressure is the ``await`` on ``sock_sendall``:
  while a client does not read, its task waits there and reads nothing more.

The reactor and asyncio run the *same* protocol class, ``KVProtocol``
(``course_lib.kv.protocol``): the course reactor has asyncio's callback names.

Each model has ``start()`` (returns the address once it listens, serving in a
background thread), ``close()`` (stops, closes every socket, joins its threads)
and ``connections()``. A new model plugs in by subclassing ``Model`` and adding
itself to ``MODEL_CLASSES``.

What it is not: production code (no TLS, no auth, no persistence). Its speed is
measured, model by model, against redis-server by ``benchmarks/kv.py``.
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import threading

from course_lib import validate
from course_lib.kv.client import Client, ServerState
from course_lib.kv.db import Database
from course_lib.kv.protocol import HIGH_WATER, FlowTransport, KVProtocol
from course_lib.kv.timerthread import TimerThread
from course_lib.reactor import READ_SIZE, LoopThread, Server
from course_lib.tasks import gather, sleep

__all__ = ["MODEL_CLASSES", "Model", "ThreadsModel", "ReactorModel", "AsyncioModel", "CoroutinesModel", "BACKENDS"]

BACKENDS = ("default", "epoll", "kqueue", "poll", "select")


class Model:
    """What every model provides; see the module docstring."""

    name = ""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, backend: str = "default", **limits):
        self.host, self.port = validate.text(host, "host"), validate.count(port, "port", minimum=0)
        if port > 65535:
            raise ValueError(f"port must be an int from 0 to 65535 (0: any free port), got {port!r}")
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
            self.server = _run_elsewhere(self.loop, self.loop.create_server(
                lambda: Protocol(state), self.host, self.port, backlog=1024))
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
        _run_elsewhere(self.loop, self.server.wait_closed())
        _run_elsewhere(self.loop, asyncio.sleep(0))  # let connection_lost callbacks run
        self.loop.close()


def _run_elsewhere(loop, coro):
    """``loop.run_until_complete(coro)`` in a helper thread: asyncio refuses to run a loop in a
    thread where another one is running already, such as a Jupyter kernel's main thread."""
    box = {}

    def main():
        try:
            box["result"] = loop.run_until_complete(coro)
        except BaseException as error:
            box["error"] = error

    helper = threading.Thread(target=main, name="kv-asyncio-setup")
    helper.start()
    helper.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


class ThreadsModel(Model):
    name = "threads"

    def start(self):
        self.lock = threading.Lock()
        self.timers = TimerThread(self.lock)
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


class CoroutinesModel(Model):
    name = "coroutines"

    def start(self):
        from course_lib.loop import Loop

        self.loop, self.tasks, self.errors = Loop(poller=self.backend), set(), []
        try:
            self._state(self.loop.time, self.loop.call_at)
            self.listener = socket.create_server((self.host, self.port), backlog=1024)
        except BaseException:
            self.loop.close()
            raise
        self.listener.setblocking(False)
        self.address = self.listener.getsockname()[:2]
        self._spawn(self._accept())
        self.thread = LoopThread(self.loop).start()
        return self.address

    def _spawn(self, coro) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)  # the loop holds tasks weakly, as asyncio does: we keep them
        task.add_done_callback(self.tasks.discard)

    async def _accept(self) -> None:
        while True:
            try:
                sock, _ = await self.loop.sock_accept(self.listener)
            except OSError as exc:  # EMFILE: out of descriptors; wait a little, then try again
                self.errors.append(exc)
                await sleep(0.1)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._serve(sock))

    async def _serve(self, sock) -> None:
        loop, client = self.loop, Client(self.state)
        self.state.connected += 1
        try:
            while not client.closing:
                data = await loop.sock_recv(sock, READ_SIZE)
                if not data:
                    break
                client.feed(data)
                while client.waiting:  # waits while the peer does not read: backpressure
                    await loop.sock_sendall(sock, client.run(HIGH_WATER))
        except OSError:
            pass  # the peer vanished
        except Exception as exc:  # a bug: drop this connection, keep serving the others
            self.errors.append(exc)
        finally:
            self.state.connected -= 1
            sock.close()

    def close(self) -> None:
        self.thread.stop()
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()  # each task closes its socket on its way out
        if tasks:
            self.loop.run_until_complete(gather(*tasks, return_exceptions=True))
        self.listener.close()
        self.loop.close()


MODEL_CLASSES = {model.name: model for model in (ThreadsModel, ReactorModel, AsyncioModel, CoroutinesModel)}
