"""Instructions per request of the chapter 07 server, model by model: a measure a busy machine cannot disturb.

    python benchmarks/kv_instructions.py [--requests 10000] [--models reactor,asyncio] [--idle 10000]

Wall-clock requests per second (``benchmarks/kv.py``) move by 30 % from run to run on a
machine shared with other programs. Instruction counts do not. Each model's server runs
under ``valgrind --tool=callgrind``; after one small warm-up run of ``redis-benchmark``
its counters are zeroed, then ``redis-benchmark -P 16 -c 50 -t set,get`` sends a fixed
number of requests and the counters are dumped; then again with three times as many.
The difference of the two counts, divided by the difference of the requests, is what
one request costs the whole server process (loop, protocol, commands, interpreter),
without the cost of opening and closing the 50 connections each run makes.

With ``--idle N``, the same server then accepts N connections that send nothing, and
the same two runs are counted again with them held: do idle connections make each
request cost more (a poll that looks at every connection would)?

Then the protocol alone: the same 16-command pipelines fed to ``KVProtocol`` with a
transport that does nothing, no loop and no sockets, counted the same way. That part is
shared by the reactor and asyncio models (they run the same ``KVProtocol``), so

    ceiling = asyncio's instructions / the protocol's instructions

is the most the reactor could gain over asyncio even if its loop and transport cost
nothing at all. The script prints it.

What it is not: a wall-clock measure. It does not count the kernel's work (one
``recv`` and one ``send`` per 16 requests on both models: ``strace -c`` shows it), nor
cache misses. Under valgrind the server runs about 50 times slower, so a poll finds more
clients ready than it would at full speed. It needs valgrind and redis-benchmark, and
says so when they are missing; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, ROOT)
from course_lib.kv.lab import connected_clients, open_idle  # noqa: E402


def instructions(path: str) -> int:
    """The total ``Ir`` (instructions executed) recorded in one callgrind output file."""
    with open(path) as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def callgrind(command: list, out: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)


def benchmark(port: int, requests: int) -> None:
    subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", "50", "-P", "16",
                    "-t", "set,get", "-r", "100000", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)


def server_instructions(model: str, requests: int, folder: str, idle: int = 0) -> tuple:
    """Instructions of the server process per request, under a fixed redis-benchmark load:
    (without idle connections, with ``idle`` of them held), the second None if ``idle`` is 0."""
    out = os.path.join(folder, f"{model}.out")
    server = callgrind([sys.executable, "-m", "course_lib.kvserver", "--model", model, "--port", "0"], out)
    dumps = 0

    def measure(n: int) -> int:  # counters zeroed, the load, counters dumped: the instructions it took
        nonlocal dumps
        subprocess.run(["callgrind_control", "--zero", str(server.pid)], capture_output=True, check=True)
        benchmark(port, n)
        subprocess.run(["callgrind_control", "--dump", str(server.pid)], capture_output=True, check=True)
        dumps += 1
        return instructions(f"{out}.{dumps}")

    def per_request() -> float:
        # Both runs open 2 x 50 connections; their difference is 2 * 2 * requests requests and no connection.
        return (measure(3 * requests) - measure(requests)) / (4 * requests)

    try:
        for line in server.stdout:  # valgrind's banner first, then the server's own line
            found = re.search(r"listening on [\d.]+:(\d+)", line)
            if found:
                break
        else:
            raise RuntimeError(f"the {model} server did not start")
        port = int(found.group(1))
        benchmark(port, 200)  # warm up: imports, first connections, caches
        plain = per_request()
        held = None
        if idle:  # each batch waits until the server (slow under valgrind) has accepted it
            address = ("127.0.0.1", port)
            socks = open_idle(address, idle, timeout=600, accepted=lambda: connected_clients(address))
            try:
                held = per_request()
            finally:
                for sock in socks:
                    sock.close()
        time.sleep(0.5)
    finally:
        server.terminate()
        server.communicate(timeout=120)
    return plain, held


PROTOCOL_ALONE = """
import random, sys, time
from course_lib.kv.client import ServerState
from course_lib.kv.db import Database
from course_lib.kv.protocol import KVProtocol

class Transport:  # what KVProtocol asks of a transport, doing nothing
    def set_write_buffer_limits(self, high, low): pass
    def is_closing(self): return False
    def get_write_buffer_size(self): return 0
    def write(self, data): pass
    def pause_reading(self): pass
    def resume_reading(self): pass

rng, batches = random.Random(1), []
for command in ("SET", "GET"):
    for _ in range(int(sys.argv[1]) // 16):
        keys = [b"key:%012d" % rng.randrange(100000) for _ in range(16)]
        batches.append(b"".join(b"*3\\r\\n$3\\r\\nSET\\r\\n$16\\r\\n%b\\r\\n$3\\r\\nxxx\\r\\n" % key if command == "SET"
                                else b"*2\\r\\n$3\\r\\nGET\\r\\n$16\\r\\n%b\\r\\n" % key for key in keys))
state = ServerState(Database(time.monotonic, lambda *args: None), "alone")
protocols = [KVProtocol(state) for _ in range(50)]
for protocol in protocols:
    protocol.connection_made(Transport())
if sys.argv[2] == "feed":
    for i, data in enumerate(batches):
        protocols[i % 50].data_received(data)
"""


def protocol_instructions(requests: int, folder: str) -> float:
    """Instructions per request of ``KVProtocol`` alone: a run that feeds it, minus one that does not."""
    counts = []
    for mode in ("skip", "feed"):  # both build the same pipelines; only "feed" hands them over
        out = os.path.join(folder, f"alone-{mode}.out")
        run = callgrind([sys.executable, "-c", PROTOCOL_ALONE, str(requests), mode], out)
        run.communicate(timeout=600)
        counts.append(instructions(out))
    return (counts[1] - counts[0]) / (2 * requests)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="per command (SET, then GET)")
    parser.add_argument("--models", default="reactor,asyncio")
    parser.add_argument("--idle", type=int, default=0,
                        help="also measure with this many idle connections held (10000: the chapter's goal)")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be >= 1")
    if args.idle < 0:
        parser.error("--idle must be >= 0")
    unknown = sorted(set(args.models.split(",")) - {"reactor", "asyncio", "threads", "coroutines"})
    if unknown:
        parser.error(f"--models: unknown model {unknown[0]!r} (choose from reactor, asyncio, threads, coroutines)")
    missing = [tool for tool in ("valgrind", "callgrind_control", "redis-benchmark") if not shutil.which(tool)]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (Debian: apt install valgrind redis-tools)")
        return
    if args.idle:
        import resource  # Unix only, like valgrind

        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
        args.idle = min(args.idle, max(0, hard - 1000))
    random.seed(1)
    with tempfile.TemporaryDirectory() as folder:
        counts = {model: server_instructions(model, args.requests, folder, args.idle)
                  for model in args.models.split(",")}
        alone = protocol_instructions(args.requests, folder)
    per_request = {model: plain for model, (plain, _) in counts.items()}
    print(f"redis-benchmark -P 16 -c 50 -t set,get -n {args.requests:,}; user-space instructions per request:")
    for model, count in per_request.items():
        print(f"  {model:12} {count:8,.0f}   (its loop and transport: {count - alone:6,.0f})")
    print(f"  {'protocol':12} {alone:8,.0f}   (KVProtocol alone, no loop, no sockets)")
    if "reactor" in per_request and "asyncio" in per_request:
        print(f"reactor / asyncio: {per_request['asyncio'] / per_request['reactor']:.2f}x fewer instructions; "
              f"ceiling with a loop that costs nothing: {per_request['asyncio'] / alone:.2f}x")
    for model, (plain, held) in counts.items():
        if held is not None:
            print(f"{model} with {args.idle:,} idle connections held: {held:,.0f} instructions per request; "
                  f"throughput kept (instructions without / with them): {plain / held:.2f}x")


if __name__ == "__main__":
    main()
