"""The course reactor's echo server against an asyncio echo server, same clients, one run.

    python benchmarks/echo.py [--clients 100] [--requests 200] [--size 100] [--rounds 3] [--poller default]

Each server runs alone in a child process (one thread, one core). The clients run in
this process: ``--clients`` connections at once on 127.0.0.1, each doing ``--requests``
round trips (send ``--size`` bytes, wait for the whole echo, send the next), driven by
one ``selectors`` loop. Servers take turns (and turns going first) for ``--rounds`` rounds and the best round
of each counts, which smooths out noise from whatever else the machine is doing.
Prints requests per second for each server and the ratio course / asyncio
(above 1.0x: the course reactor served more requests per second).

What it is not: a test. Nothing here asserts a time; tests/test_bench_echo.py only
checks that it runs and prints a ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


# --- the two servers (each runs in its own child process) ----------------------------
def _cpu() -> float:
    """Processor seconds this process has used (user + system)."""
    return time.process_time()


def serve_course(pipe, poller: str) -> None:
    from course_lib.loop import Loop
    from course_lib.reactor import Protocol, Server

    class Echo(Protocol):
        def data_received(self, data):
            self.transport.write(data)

    loop = Loop(poller=poller)
    server = Server(loop, Echo)
    loop.add_reader(pipe.fileno(), loop.stop)  # the parent writes to the pipe: stop
    pipe.send(server.address)
    start = _cpu()
    loop.run()
    pipe.send(_cpu() - start)
    server.close()
    loop.close()


def serve_asyncio(pipe, poller: str) -> None:
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)
        stop = loop.create_future()

        def on_stop():
            loop.remove_reader(pipe.fileno())
            if not stop.done():
                stop.set_result(None)

        loop.add_reader(pipe.fileno(), on_stop)
        pipe.send(server.sockets[0].getsockname())
        start = _cpu()
        await stop
        pipe.send(_cpu() - start)
        server.close()

    asyncio.run(main())


SERVERS = {"course reactor": serve_course, "asyncio": serve_asyncio}


# --- the clients (this process) ---------------------------------------------------------
def run_clients(address, clients: int, requests: int, size: int, timeout: float = 60.0) -> float:
    """Requests per second: ``clients`` connections, each ``requests`` round trips of ``size`` bytes."""
    sel = selectors.DefaultSelector()
    message = os.urandom(size)
    socks, state = [], {}
    try:
        for _ in range(clients):
            s = socket.create_connection(address, timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            socks.append(s)
        start = time.perf_counter()
        for s in socks:
            s.sendall(message)
            state[s] = [requests, 0]  # round trips left, bytes of the current echo received
            sel.register(s, selectors.EVENT_READ)
        active, deadline = clients, time.monotonic() + timeout
        while active:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{active} clients unfinished after {timeout} s")
            for key, _ in sel.select(1.0):
                s = key.fileobj
                data = s.recv(65536)
                if not data:
                    raise ConnectionError("the server closed a connection")
                st = state[s]
                st[1] += len(data)
                if st[1] >= size:  # one round trip done
                    st[0] -= 1
                    st[1] = 0
                    if st[0]:
                        s.send(message)
                    else:
                        sel.unregister(s)
                        active -= 1
        return clients * requests / (time.perf_counter() - start)
    finally:
        sel.close()
        for s in socks:
            s.close()


def measure(name: str, args) -> tuple[float, float]:
    """(requests per second of wall-clock time, requests per second of the server's CPU time)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=SERVERS[name], args=(child, args.poller), daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError(f"the {name} server did not start")
        address = parent.recv()
        rps = run_clients(tuple(address), args.clients, args.requests, args.size)
        parent.send("stop")
        cpu = parent.recv() if parent.poll(10) else float("nan")
        return rps, args.clients * args.requests / cpu if cpu > 0 else float("nan")
    finally:
        if process.is_alive():
            try:
                parent.send("stop")
            except OSError:
                pass
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)
        parent.close()
        child.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poller", default="default", help="the course loop's poller (asyncio uses its default)")
    args = parser.parse_args(argv)
    for name in ("clients", "requests", "size", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    best = {name: 0.0 for name in SERVERS}
    best_cpu = {name: 0.0 for name in SERVERS}
    print(f"{args.clients} clients x {args.requests} round trips of {args.size} bytes, best of {args.rounds} rounds")
    for r in range(args.rounds):
        for name in list(SERVERS)[:: -1 if r % 2 else 1]:  # take turns going first
            rps, per_cpu = measure(name, args)
            best[name] = max(best[name], rps)
            if per_cpu == per_cpu:  # not nan
                best_cpu[name] = max(best_cpu[name], per_cpu)
            print(
                f"  round {r + 1}: {name:<15} {rps:>10,.0f} requests/s  ({per_cpu:,.0f} per CPU-second of the server)",
                flush=True,
            )
    for name in SERVERS:
        print(f"{name:<15} {best[name]:>10,.0f} requests/s  {best_cpu[name]:>10,.0f} requests per server CPU-second")
    cpu_ratio = best_cpu["course reactor"] / best_cpu["asyncio"] if best_cpu["asyncio"] else float("nan")
    print(f"ratio course reactor / asyncio: {best['course reactor'] / best['asyncio']:.2f}x "
          f"(per server CPU-second: {cpu_ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
