"""A load generator in Python: redis-benchmark's workload where redis-benchmark is missing.

What it is: ``run(address, requests, clients, pipeline, tests)`` opens ``clients``
connections on one thread (a ``selectors`` loop: the client is event-driven too),
and has each of them send ``pipeline`` commands at a time and wait for their
replies, until ``requests`` commands of each test have been answered. The commands
are redis-benchmark's: ``SET key:__rand_int__ xxx`` and ``GET key:__rand_int__``
(the key is that literal text, as redis-benchmark sends it without ``-r``), and
``PING`` as a multibulk command. The latency of a request is, as redis-benchmark
counts it, the time from the write of its batch to the read of its reply.

From a terminal, with the same options and the same ``--csv`` output as
redis-benchmark, so that the course's measurements read either one::

    python -m course_lib.kv.loadgen -p 6380 -c 50 -P 16 -n 20000 -t set,get --csv

What it is not: as fast as redis-benchmark (C). It spends a few microseconds of
CPU per request itself, so run it in its own process (``-m``), as the notebook
does, or it competes with the server for the same CPU; against a fast server it
measures itself. It sends one workload and prints no histogram.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import sys
import time

from course_lib import validate
from course_lib.kv.replies import Replies
from course_lib.resp import encode

__all__ = ["run", "COMMANDS", "main"]

COMMANDS = {
    "ping": ("PING_MBULK", [b"PING"]),
    "set": ("SET", [b"SET", b"key:__rand_int__", b"xxx"]),
    "get": ("GET", [b"GET", b"key:__rand_int__"]),
}


def _percentile(ordered: list, fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def run_test(address, command: list, requests: int, clients: int, pipeline: int) -> dict:
    """One test: ``requests`` copies of ``command`` over ``clients`` pipelining connections."""
    batch = encode(command) * pipeline
    socks, latencies = [], []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(clients):
            sock = socket.create_connection(address, timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            socks.append(sock)
        to_send, started = requests, time.perf_counter()
        for sock in socks:  # each connection: [replies it still waits for, when its batch left, its reader]
            n = min(pipeline, to_send)
            if n == 0:
                break
            to_send -= n
            sock.sendall(batch if n == pipeline else encode(command) * n)
            sel.register(sock, selectors.EVENT_READ, [n, time.perf_counter(), Replies()])
        answered = 0
        while answered < requests:
            events = sel.select(timeout=10)
            if not events:
                raise TimeoutError(f"no reply for 10 s ({answered:,} of {requests:,} answered)")
            for key, _ in events:
                sock, state = key.fileobj, key.data
                data = sock.recv(262144)
                if not data:
                    raise ConnectionError("the server closed a connection")
                replies = state[2].feed(data)
                now = time.perf_counter()
                latencies += [now - state[1]] * len(replies)
                answered += len(replies)
                state[0] -= len(replies)
                if state[0] == 0 and to_send:
                    n = min(pipeline, to_send)
                    to_send -= n
                    state[0], state[1] = n, time.perf_counter()
                    sock.setblocking(True)  # a batch is small: send it whole
                    sock.sendall(batch if n == pipeline else encode(command) * n)
                    sock.setblocking(False)
        elapsed = time.perf_counter() - started
    finally:
        sel.close()
        for sock in socks:
            sock.close()
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    return {"rps": requests / elapsed, "avg_latency_ms": sum(ms) / len(ms), "min_latency_ms": ms[0],
            "p50_latency_ms": _percentile(ms, 0.50), "p95_latency_ms": _percentile(ms, 0.95),
            "p99_latency_ms": _percentile(ms, 0.99), "max_latency_ms": ms[-1]}


def run(address, requests: int = 20_000, clients: int = 50, pipeline: int = 16, tests=("set", "get")) -> dict:
    """Every test in turn: {"SET": {"rps": ..., "p50_latency_ms": ..., ...}, "GET": {...}}."""
    validate.count(requests, "requests", minimum=1)
    validate.count(clients, "clients", minimum=1)
    validate.count(pipeline, "pipeline", minimum=1)
    results = {}
    for test in tests:
        validate.one_of(test, "test", tuple(COMMANDS))
        name, command = COMMANDS[test]
        results[name] = run_test(tuple(address), command, requests, clients, pipeline)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.kv.loadgen", add_help=False,
                                     description="redis-benchmark's SET/GET workload, in Python")
    parser.add_argument("--help", action="help")
    parser.add_argument("-h", dest="host", default="127.0.0.1")
    parser.add_argument("-p", dest="port", type=int, default=6379)
    parser.add_argument("-c", dest="clients", type=int, default=50)
    parser.add_argument("-n", dest="requests", type=int, default=100_000)
    parser.add_argument("-P", dest="pipeline", type=int, default=1)
    parser.add_argument("-t", dest="tests", default="set,get")
    parser.add_argument("--csv", action="store_true")
    args = parser.parse_args(argv)
    results = run((args.host, args.port), args.requests, args.clients, args.pipeline, args.tests.split(","))
    columns = ["rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms",
               "max_latency_ms"]
    if args.csv:
        print(",".join(f'"{c}"' for c in ["test"] + columns))
    for name, r in results.items():
        if args.csv:
            print(",".join([f'"{name}"'] + [f'"{r[c]:.3f}"' for c in columns]))
        else:
            print(f"{name}: {r['rps']:,.0f} requests per second, p50={r['p50_latency_ms']:.3f} ms, "
                  f"p99={r['p99_latency_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
