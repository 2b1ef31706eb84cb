"""One event loop per core: several reactor processes on one port, with SO_REUSEPORT.

What it is: one event loop runs on one thread, so it uses one core. To use more, an
event-driven server runs *several* loops, each in its own process, all listening on
the same port. With the socket option ``SO_REUSEPORT`` (Linux 3.9 and later) each
process opens its own listening socket on that port, and the kernel spreads the
incoming connections among them (by a hash of the client's address and port). Each
connection then lives its whole life in one process, on one loop.

- ``Workers(n)``: ``n`` processes, each ``python -m course_lib.kv.multicore``: a course
  ``Loop``, the chapter's ``KVProtocol`` on a ``course_lib.reactor.Server`` with
  ``reuse_port=True``. The first binds port 0 and reports the port the kernel chose;
  the others bind that one. ``.address``, ``.cpu_shares()`` (one number per worker),
  ``.cpu_seconds()`` (their sum, so ``lab.measure(workers)`` works), ``.stop()``; a context manager.
- ``reuse_port_supported()``: whether this platform has ``SO_REUSEPORT``.

Each worker has its **own keyspace**: a key set through one connection is not seen
through a connection that the kernel gave to another worker. That is fine for a
benchmark and for stateless servers (nginx workers, ``uvicorn --workers``); a real
key-value store that wants every core either shares out the keys (Redis Cluster runs
one process per shard) or keeps one thread for the data and moves only the reading,
parsing and writing of sockets to other threads (Redis 6's I/O threads).

What it is not: a supervisor (a worker that dies is not restarted), or portable:
macOS accepts ``SO_REUSEPORT`` but does not spread connections, Windows has no such
option.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading

from course_lib import validate
from course_lib.kv.lab import ServerProcess

__all__ = ["Workers", "reuse_port_supported", "main"]


def reuse_port_supported() -> bool:
    """Does this platform let several sockets listen on one port (``SO_REUSEPORT``)?"""
    if not hasattr(socket, "SO_REUSEPORT"):
        return False
    with socket.socket() as s:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        except OSError:
            return False
    return True


class Workers:
    """``n`` reactor processes sharing one port. See the module docstring."""

    def __init__(self, n: int, backend: str = "default"):
        validate.count(n, "n", minimum=1, unit="workers")
        if not reuse_port_supported():
            raise OSError("this platform has no SO_REUSEPORT: one listening socket per process is not possible")
        self.processes: list[ServerProcess] = []
        port = 0
        try:
            for i in range(n):
                command = [sys.executable, "-m", "course_lib.kv.multicore", "--port", str(port), "--backend", backend]
                self.processes.append(ServerProcess(f"worker {i + 1}", command=command))
                port = self.processes[0].port
        except BaseException:
            self.stop()
            raise
        self.address = ("127.0.0.1", port)

    def cpu_shares(self) -> list:
        """The CPU seconds each worker has used so far (None where that cannot be read)."""
        return [p.cpu_seconds() for p in self.processes]

    def cpu_seconds(self):
        """The CPU seconds all workers together have used so far (what ``lab.measure`` reads)."""
        shares = self.cpu_shares()
        return None if None in shares else sum(shares)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self) -> str:
        return f"<Workers {len(self.processes)} on port {self.address[1] if self.processes else '?'}>"


def main(argv=None) -> int:
    """One worker: the key-value server on the course reactor, on a port it shares."""
    from course_lib.kv.client import ServerState
    from course_lib.kv.db import Database
    from course_lib.kv.protocol import FlowTransport, KVProtocol
    from course_lib.loop import Loop
    from course_lib.reactor import LoopThread, Server

    parser = argparse.ArgumentParser(prog="python -m course_lib.kv.multicore")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--backend", default="default")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    loop = Loop(poller=args.backend)
    state = ServerState(Database(loop.time, loop.call_at), "reactor")
    server = Server(loop, lambda: KVProtocol(state), args.host, args.port, transport_class=FlowTransport,
                    reuse_port=True)
    host, port = server.address[:2]
    print(f"worker {os.getpid()} listening on {host}:{port}", flush=True)
    thread = LoopThread(loop).start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        thread.stop()
        server.close()
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
