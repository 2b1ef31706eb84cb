"""The chapter 07 key-value server on every model against redis-server, one run, one table.

    python benchmarks/kv.py [--requests 200000] [--clients 50] [--pipeline 16] [--rounds 3]
                            [--models threads,reactor,asyncio] [--backend default] [--idle 10000]
    python benchmarks/kv.py --tiny          # a few requests per server: checks that it runs

Each server runs alone in a child process (``python -m course_lib.kvserver``, and
``redis-server`` with no persistence), and ``redis-benchmark -P 16 -c 50 -t set,get``
drives it. Printed per server: requests per second (of SET and GET together), the
server's CPU microseconds per request (its user + system time, read from
``/proc/PID/stat`` before and after, so the client's own work is not counted), the
latency percentiles redis-benchmark reports, and the ratios the issue asks for:
reactor / asyncio and reactor / redis-server. Servers take turns, the order changes
every round, and the best round of each counts; the ratios are also given as the
median of the ratios within each round (servers measured back to back), which a
busy machine disturbs less. With two CPUs or more, the server runs on one and redis-benchmark
on another (``--no-pin`` turns that off).

Then ``--idle`` connections are opened to a fresh reactor server and held while
nothing is sent: its resident memory grows by about the cost of one connection per
connection, printed in bytes; with them held, the same redis-benchmark run measures
whether throughput holds up (the ratio to the run without them).

What it is not: a test. Nothing here asserts a time; tests/test_bench_kv.py only
checks that ``--tiny`` runs. Without redis-benchmark (Debian/Ubuntu:
``apt install redis-tools``; macOS: ``brew install redis``) it says so and stops.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SERVER_CPU = CLIENT_CPU = None  # set by --pin: the server on one CPU, redis-benchmark on another


# --- the servers, each in its own process ------------------------------------------------
class ServerProcess:
    """A server in a child process: ``model`` is a kvserver model or ``"redis-server"``."""

    def __init__(self, model: str, backend: str = "default"):
        self.model = model
        if model == "redis-server":
            self.port = _free_port()
            command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                       "--appendonly", "no", "--databases", "1", "--maxclients", "20000", "--loglevel", "warning"]
        else:
            command = [sys.executable, "-m", "course_lib.kvserver", "--model", model, "--port", "0", "--backend", backend]
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        if model == "redis-server":
            _wait_listening(self.port)
            pin(self.process.pid, SERVER_CPU)
        else:
            line = self.process.stdout.readline()
            found = re.search(r"listening on [\d.]+:(\d+)", line)
            if not found:
                self.stop()
                raise RuntimeError(f"the {model} server did not start: {line!r}")
            self.port = int(found.group(1))
            pin(self.process.pid, SERVER_CPU)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux: /proc)."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.process.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # kvserver and redis-server both stop cleanly on SIGTERM
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def pin(pid: int, cpu: int | None) -> None:
    """Keep every thread of process ``pid`` on one CPU (Linux), so runs do not depend on the scheduler."""
    if cpu is None:
        return
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(task), {cpu})
        except OSError:
            pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


# --- the load -----------------------------------------------------------------------------
def redis_benchmark(port: int, args) -> dict:
    """Run redis-benchmark once: {"SET": {"rps": ..., "p50": ...}, "GET": {...}}."""
    command = ["redis-benchmark", "-p", str(port), "-P", str(args.pipeline), "-c", str(args.clients),
               "-t", "set,get", "-n", str(args.requests), "--csv"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pin(process.pid, CLIENT_CPU)
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


def hold_idle(port: int, count: int) -> list:
    """Open ``count`` connections to the server and keep them (they send nothing)."""
    socks = []
    try:
        for i in range(count):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            if i % 1000 == 999:
                print(f"  {i + 1:,} idle connections open", flush=True)
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def connected_clients(port: int) -> int:
    """Ask the server (INFO clients) how many clients it holds."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"INFO clients\r\n")
        data = b""
        while b"connected_clients:" not in data or not data.endswith(b"\r\n\r\n") and not data.count(b"\r\n") >= 3:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(re.search(rb"connected_clients:(\d+)", data).group(1)) - 1


# --- the run --------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200_000, help="per command (SET, then GET)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pipeline", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="threads,reactor,asyncio")
    parser.add_argument("--backend", default="default", help="poller of the reactor and asyncio models")
    parser.add_argument("--idle", type=int, default=10_000, help="idle connections held on the reactor (0: skip)")
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

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it
    args.idle = min(args.idle, max(0, hard - 1000))
    servers = args.models.split(",") + (["redis-server"] if shutil.which("redis-server") else [])
    print(f"redis-benchmark -P {args.pipeline} -c {args.clients} -t set,get -n {args.requests:,}; "
          f"best of {args.rounds} rounds; backend {args.backend}; "
          + (f"server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}" if SERVER_CPU is not None else "not pinned"))
    best: dict = {}
    rounds: list = []  # {server: result} of each round, for ratios taken within a round
    for r in range(args.rounds):
        rounds.append({})
        for name in servers[:: -1 if r % 2 else 1]:
            with ServerProcess(name, args.backend) as server:
                result = rounds[-1][name] = measure(server, args)
            print(f"  round {r + 1}: {name:<13} {result['rps']:>10,.0f} requests/s {result['cpu_us']:>7.2f} us CPU/request",
                  flush=True)
            old = best.get(name)
            best[name] = result if old is None else {
                "rps": max(old["rps"], result["rps"]), "cpu_us": min(old["cpu_us"], result["cpu_us"]),
                "p50": min(old["p50"], result["p50"]), "p99": min(old["p99"], result["p99"])}
    print(f"\n{'server':<13} {'requests/s':>12} {'CPU us/req':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for name in servers:
        b = best[name]
        print(f"{name:<13} {b['rps']:>12,.0f} {b['cpu_us']:>11.2f} {b['p50']:>8.3f} {b['p99']:>8.3f}")
    for other in ("asyncio", "redis-server", "threads"):
        if "reactor" in best and other in best:
            mine, theirs = best["reactor"]["cpu_us"], best[other]["cpu_us"]
            per_cpu = f"{theirs / mine:.2f}x" if mine and theirs else "n/a (too short to measure)"
            print(f"ratio reactor / {other}: {best['reactor']['rps'] / best[other]['rps']:.2f}x requests/s, "
                  f"{per_cpu} requests per CPU-second (best rounds); median of the per-round ratios: "
                  f"{_median([r['reactor']['rps'] / r[other]['rps'] for r in rounds]):.2f}x requests/s, "
                  f"{_median([r[other]['cpu_us'] / r['reactor']['cpu_us'] for r in rounds if r['reactor']['cpu_us']]):.2f}x "
                  "per CPU-second")
    if args.idle and "reactor" in args.models.split(","):
        idle_run(args)
    return 0


def _median(values) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def idle_run(args) -> None:
    print(f"\n{args.idle:,} idle connections held on the reactor model (same server, before and after):")
    with ServerProcess("reactor", args.backend) as server:
        before = [measure(server, args) for _ in range(args.rounds)]
        rss = server.rss_bytes()
        socks = hold_idle(server.port, args.idle)
        try:
            deadline = time.monotonic() + 60
            while connected_clients(server.port) < args.idle and time.monotonic() < deadline:
                time.sleep(0.2)
            per_connection = (server.rss_bytes() - rss) / args.idle
            after = [measure(server, args) for _ in range(args.rounds)]
        finally:
            for s in socks:
                s.close()
    plain, held = max(r["rps"] for r in before), max(r["rps"] for r in after)
    print(f"resident memory per idle connection: {per_connection:,.0f} bytes")
    print(f"throughput: {plain:,.0f} requests/s without them, {held:,.0f} with them = {held / plain:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
