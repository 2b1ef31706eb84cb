"""The chapter 07 key-value server on every model against redis-server, one run, one table.

    python benchmarks/kv.py [--requests 200000] [--clients 50] [--pipeline 16] [--rounds 3]
                            [--models threads,reactor,asyncio,coroutines] [--backend default]
                            [--idle 10000] [--idle-models reactor,coroutines]
    python benchmarks/kv.py --tiny          # a few requests per server: checks that it runs

Each server runs alone in a child process (``python -m course_lib.kvserver``, and
``redis-server`` with no persistence), and ``redis-benchmark -P 16 -c 50 -t set,get``
drives it. Printed per server: requests per second (SET and GET together), the
server's CPU microseconds per request (user + system time from ``/proc/PID/stat``: the
client's work is not counted), latency percentiles; then each model's ratios to asyncio
and to redis-server, as the median of the ratios within a round (servers measured back
to back, in an order reversed every round), which a busy machine disturbs less than the
best rounds. With two CPUs or more, the server runs on one and redis-benchmark on
another (``--no-pin`` turns that off).

Then ``--idle`` connections are opened to a fresh server of each ``--idle-models`` and
held while nothing is sent: its resident memory grows by about the cost of one
connection per connection, printed in bytes. On the reactor, each round runs the same redis-benchmark
without them and with them held, back to back: whether throughput holds up is the median
of those ratios (``kv_instructions.py --idle`` measures the same in instructions, which
other programs on the machine cannot disturb).

What it is not: a test. Nothing here asserts a time; tests/test_bench_kv.py only
checks that ``--tiny`` runs. Without redis-benchmark (Debian/Ubuntu:
``apt install redis-tools``; macOS: ``brew install redis``) it says so and stops.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from course_lib.kv.lab import ServerProcess, connected_clients, open_idle, pin_process  # noqa: E402

SERVER_CPU = CLIENT_CPU = None  # set by --pin: the server on one CPU, redis-benchmark on another


# --- the servers, each in its own process ------------------------------------------------
def start_server(model: str, backend: str = "default") -> ServerProcess:
    """A kvserver model or ``"redis-server"`` in a child process (``course_lib.kv.lab``), on SERVER_CPU."""
    server = ServerProcess(model, backend)
    pin_process(server.pid, SERVER_CPU)
    return server


# --- the load -----------------------------------------------------------------------------
def redis_benchmark(port: int, args) -> dict:
    """Run redis-benchmark once: {"SET": {"rps": ..., "p50": ...}, "GET": {...}}."""
    command = ["redis-benchmark", "-p", str(port), "-P", str(args.pipeline), "-c", str(args.clients),
               "-t", "set,get", "-n", str(args.requests), "--csv"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pin_process(process.pid, CLIENT_CPU)
    stdout, stderr = process.communicate(timeout=600)
    rows = [row for row in csv.DictReader(io.StringIO(stdout)) if row.get("test") in ("SET", "GET")]
    if process.returncode or len(rows) != 2:
        raise RuntimeError(f"redis-benchmark failed: {stdout[-300:]} {stderr[-300:]}")
    return {row["test"]: {"rps": float(row["rps"]), "p50": float(row["p50_latency_ms"]),
                          "p99": float(row["p99_latency_ms"])} for row in rows}


def measure(server: ServerProcess, args) -> dict:
    """One redis-benchmark run: requests/s of SET+GET, server CPU us per request, latencies."""
    cpu = server.cpu_seconds()
    result = redis_benchmark(server.port, args)
    cpu = server.cpu_seconds() - cpu
    requests = 2 * args.requests
    seconds = sum(args.requests / r["rps"] for r in result.values())
    return {"rps": requests / seconds, "cpu_us": 1e6 * cpu / requests,
            "p50": max(r["p50"] for r in result.values()), "p99": max(r["p99"] for r in result.values())}


# --- the run --------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200_000, help="per command (SET, then GET)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pipeline", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="threads,reactor,asyncio,coroutines")
    parser.add_argument("--backend", default="default", help="poller of the reactor and asyncio models")
    parser.add_argument("--idle", type=int, default=10_000, help="idle connections held on a server (0: skip)")
    parser.add_argument("--idle-models", default="reactor,coroutines", help="models that hold them, one at a time")
    parser.add_argument("--tiny", action="store_true", help="a tiny run that only checks everything works")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to CPUs 1 and 0")
    args = parser.parse_args(argv)
    global SERVER_CPU, CLIENT_CPU
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not args.no_pin and len(cpus) >= 2:
        CLIENT_CPU, SERVER_CPU = cpus[0], cpus[1]
    if args.tiny:
        args.requests, args.rounds, args.idle, args.clients = 2000, 1, min(args.idle, 200), 10
    for name in ("requests", "clients", "pipeline", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if shutil.which("redis-benchmark") is None:
        print("redis-benchmark is not installed (Debian/Ubuntu: apt install redis-tools; macOS: brew install redis): "
              "nothing measured.")
        return 0
    if not os.path.exists("/proc/self/stat"):
        print("this benchmark reads CPU time and memory from /proc (Linux): nothing measured.")
        return 0
    import resource  # Unix only, like /proc above

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it
    args.idle = min(args.idle, max(0, hard - 1000))
    servers = args.models.split(",") + (["redis-server"] if shutil.which("redis-server") else [])
    print(f"redis-benchmark -P {args.pipeline} -c {args.clients} -t set,get -n {args.requests:,}; "
          f"best of {args.rounds} rounds; backend {args.backend}; "
          + (f"server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}" if SERVER_CPU is not None else "not pinned"))
    best, rounds = run_rounds(servers, args)
    print(f"\n{'server':<13} {'requests/s':>12} {'CPU us/req':>11} {'p50 ms':>8} {'p99 ms':>8}   (best rounds)")
    for name in servers:
        b = best[name]
        print(f"{name:<13} {b['rps']:>12,.0f} {b['cpu_us']:>11.2f} {b['p50']:>8.3f} {b['p99']:>8.3f}")
    ratio_table(servers, rounds)
    for other in ("asyncio", "redis-server"):
        if "reactor" in best and other in best:
            rps, cpu = (_median(_ratios(rounds, "reactor", other, key)) for key in ("rps", "cpu_us"))
            print(f"ratio reactor / {other}: {_x(rps)} requests/s, {_x(cpu)} requests per CPU-second "
                  f"(median of the per-round ratios; goal {GOALS[other]})")
    idle_models = [m for m in args.idle_models.split(",") if m in args.models.split(",")]
    if args.idle and idle_models:
        idle_run(args, idle_models)
    return 0


def run_rounds(servers, args):
    """Each server once per round, the order reversed every other round: (best of each, every round)."""
    best: dict = {}
    rounds: list = []  # {server: result} of each round, for ratios taken within a round
    for r in range(args.rounds):
        rounds.append({})
        for name in servers[:: -1 if r % 2 else 1]:
            with start_server(name, args.backend) as server:
                result = rounds[-1][name] = measure(server, args)
            print(
                f"  round {r + 1}: {name:<13} {result['rps']:>10,.0f} requests/s "
                f"{result['cpu_us']:>7.2f} us CPU/request",
                flush=True,
            )
            old = best.setdefault(name, result)
            best[name] = {key: (max if key == "rps" else min)(old[key], result[key]) for key in result}
    return best, rounds


GOALS = {"asyncio": ">= 1.2x", "redis-server": ">= 0.25x"}


def _ratios(rounds, mine: str, other: str, key: str) -> list:
    """``mine / other`` in each round: requests/s (``"rps"``), or requests per CPU-second (``"cpu_us"``)."""
    if key == "rps":
        return [r[mine]["rps"] / r[other]["rps"] for r in rounds]
    return [r[other]["cpu_us"] / r[mine]["cpu_us"] for r in rounds if r[mine]["cpu_us"] and r[other]["cpu_us"]]


def ratio_table(servers, rounds) -> None:
    """Each server against asyncio and against redis-server: the median of the ratios within a round."""
    others = [o for o in ("asyncio", "redis-server") if o in servers]
    if others:
        print("\nratios (median of the per-round ratios):")
    for name in servers:
        parts = [", ".join(f"{_x(_median(_ratios(rounds, name, o, key)))} {o}" for o in others)
                 for key in ("rps", "cpu_us")]
        print(f"{name:<13} requests/s {parts[0]}; requests per CPU-second {parts[1]}")


def _median(values) -> float:
    return statistics.median(values) if values else float("nan")


def _x(ratio: float) -> str:
    return "n/a" if math.isnan(ratio) else f"{ratio:.2f}x"  # NaN: a CPU time too short to measure


def idle_run(args, models) -> None:
    """Resident memory per idle connection on each model; throughput kept with them on the reactor.

    On the reactor each round measures without the idle connections, then with them, on the
    same server, back to back: the throughput kept is the median of those per-round ratios,
    which a busy machine disturbs less than two runs minutes apart."""
    print(f"\n{args.idle:,} idle connections held on one server (resident memory grown, per connection):")
    for model in models:
        keep = model == "reactor"  # the goal: throughput kept with them
        pairs, grown = [], []  # (without, with) per round; memory grown per connection per round
        with start_server(model, args.backend) as server:
            for _ in range(args.rounds if keep else 1):
                before = measure(server, args) if keep else None
                rss = server.rss_bytes()
                socks = open_idle(server.address, args.idle, accepted=lambda: connected_clients(server.address))
                try:
                    grown.append((server.rss_bytes() - rss) / len(socks))
                    if keep:
                        pairs.append((before, measure(server, args)))
                finally:
                    for sock in socks:
                        sock.close()
                deadline = time.monotonic() + 60
                while connected_clients(server.address) > 0 and time.monotonic() < deadline:
                    time.sleep(0.2)  # wait until the server has let go of them before the next round
        print(f"{model:<13} resident memory per idle connection: {grown[0]:,.0f} bytes"
              " (first round: later ones reuse memory the earlier connections freed)")
        if keep:
            for plain, held in pairs:
                print(f"  without them {plain['rps']:>10,.0f} requests/s, with them {held['rps']:>10,.0f}: "
                      f"{held['rps'] / plain['rps']:.2f}x")
            kept = _median([held["rps"] / plain["rps"] for plain, held in pairs])
            cpu = _median([held["cpu_us"] / plain["cpu_us"] for plain, held in pairs if plain["cpu_us"]])
            print(f"throughput kept with them: {kept:.2f}x (median of the per-round ratios; goal >= 0.95x); "
                  f"CPU per request with them: {cpu:.2f}x")
            print("  (wall clock: a machine shared with other programs moves it; "
                  "benchmarks/kv_instructions.py --idle counts instructions instead)")


if __name__ == "__main__":
    sys.exit(main())
