"""Run the chapter 07 key-value server: from a notebook cell, a test, or a terminal.

What it is: the front door of ``course_lib.kv``::

    from course_lib.kvserver import serve, MODELS
    with serve(model="reactor", host="127.0.0.1", port=0, backend="default") as server:
        server.address            # (host, port): point redis-cli, redis-py or redis-benchmark at it
        server.connections()      # clients connected now

``serve`` starts the server in a background thread and returns it once it listens;
leaving the ``with`` block (or ``server.close()``) stops it and closes every socket
and thread it opened. ``MODELS`` names the models it can run on (see
``course_lib.kv.models``); ``backend`` picks the poller of the models with an event
loop: reactor, asyncio and coroutines (``"epoll"``, ``"kqueue"``, ``"poll"``, ``"select"``
or ``"default"``).

From a terminal (Ctrl-C stops it)::

    python -m course_lib.kvserver --model reactor --port 6380
    redis-cli -p 6380 set greeting hello

What it is not: a daemon. It binds 127.0.0.1 unless told otherwise, keeps nothing
on disk, and asks for no password: do not expose it to a network.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from course_lib import validate
from course_lib.kv import client as _client  # noqa: F401  (registers the connection commands)
from course_lib.kv.models import BACKENDS, MODEL_CLASSES, Model

__all__ = ["serve", "MODELS", "BACKENDS", "main"]

MODELS = tuple(MODEL_CLASSES)  # the models serve() can run on


def serve(model: str = "reactor", host: str = "127.0.0.1", port: int = 0, backend: str = "default",
          **limits) -> Model:
    """Start the server on ``model`` in a background thread; use it as a context manager.

    ``limits`` (``max_bulk``, ``max_inline``, ``max_query``) lower the protocol's limits,
    which tests use to reach them without sending a gigabyte.
    """
    validate.one_of(model, "model", MODELS)
    server = MODEL_CLASSES[model](host, port, backend, **limits)
    server.start()
    return server


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.kvserver",
                                     description="A Redis-protocol key-value server on the course's models.")
    parser.add_argument("--model", choices=MODELS, default="reactor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6380, help="0: any free port (default 6380)")
    parser.add_argument(
        "--backend", choices=BACKENDS, default="default", help="poller of reactor, asyncio and coroutines"
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a polite kill stops it like Ctrl-C
    try:
        server = serve(args.model, args.host, args.port, args.backend)
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    try:
        host, port = server.address
        print(f"kvserver ({args.model}, backend {args.backend}) listening on {host}:{port}; "
              f"try: redis-cli -p {port} ping. Ctrl-C stops it.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:  # Ctrl-C
        pass
    finally:
        server.close()
    print(f"stopped; cpu_seconds={_cpu_seconds():.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
