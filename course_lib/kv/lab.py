"""The measuring bench of chapter 07: servers in child processes, the load, idle crowds.

What it is: the few tools the chapter's measurements share, each short:

- ``ServerProcess(model)``: the key-value server on one model (``python -m
  course_lib.kvserver``), or ``"redis-server"``, in a child process of its own, so its
  CPU time and memory are its own. ``.address``, ``.cpu_seconds()``, ``.rss_bytes()``,
  ``.threads()``, ``.stop()`` (SIGTERM, then a wait), ``.kill()``.
- ``load(address, ...)``: ``redis-benchmark`` with ``-P`` (pipeline), ``-c`` (clients),
  ``-n`` (requests), ``-t set,get`` in a child process, or, where it is not installed,
  the course's own ``course_lib.kv.loadgen`` with the same options and output.
- ``measure(server, ...)``: one load run, with the server's CPU time read before and
  after: requests per second, CPU microseconds per request, latency percentiles.
- ``open_idle(address, n, progress)``: ``n`` connections that send nothing, opened
  500 at a time with non-blocking ``connect`` (one blocking connect after the other
  would take longer than the measurement).
- ``connected_clients(address)``: what the server says (``INFO clients``).
- ``open_fds()``: how many files this process has open (the leak check).

CPU time and memory are read from ``/proc`` (Linux); elsewhere from ``psutil`` if it
is installed, or memory from ``ps``; what cannot be read is ``None``, never a crash.
On Linux with two CPUs or more, ``pin=True`` keeps the server on the last CPU and the
load on the first, so the two do not take turns on one.

What it is not: ``benchmarks/kv.py``, which runs longer, several rounds, and prints
the table of record. The notebook's runs are short: they show the shape, on your machine.
"""

from __future__ import annotations

import csv
import io
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

from course_lib import validate

__all__ = ["ServerProcess", "load", "measure", "open_idle", "connected_clients", "open_fds", "load_tool", "cpus",
           "pin_process"]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

try:
    import psutil  # optional: CPU time and memory where there is no /proc
except ImportError:
    psutil = None


def cpus() -> list:
    """The CPUs this process may run on (all of them where that cannot be asked)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def pin_process(pid: int, cpu) -> None:
    """Keep every thread of ``pid`` on ``cpu`` (Linux only; elsewhere nothing happens)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(task), {cpu})
        except OSError:
            pass


def _child_env() -> dict:
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


class ServerProcess:
    """A server in a child process; use it as a context manager. See the module docstring."""

    def __init__(self, model: str = "reactor", backend: str = "default", *, command=None, pin: bool = False):
        self.model = validate.text(model, "model")
        self.port = None
        if command is None and model == "redis-server":
            if shutil.which("redis-server") is None:
                raise FileNotFoundError("redis-server is not installed")
            self.port = _free_port()
            command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                       "--appendonly", "no", "--databases", "1", "--maxclients", "20000", "--loglevel", "warning"]
        elif command is None:
            command = [sys.executable, "-m", "course_lib.kvserver", "--model", model, "--port", "0",
                       "--backend", backend]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=_child_env())
        try:
            if self.port is None:  # a course server says where it listens
                line = self.process.stdout.readline()
                found = re.search(r"listening on [\d.]+:(\d+)", line)
                if not found:
                    raise RuntimeError(f"the {model} server did not start: {line.strip()!r}")
                self.port = int(found.group(1))
            else:
                _wait_listening(self.port)
        except BaseException:
            self.kill()
            raise
        self.address = ("127.0.0.1", self.port)
        self.pid = self.process.pid
        if pin and len(cpus()) >= 2:
            pin_process(self.pid, cpus()[-1])

    def cpu_seconds(self):
        """User + system CPU seconds the server has used so far, or None where it cannot be read."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
        if psutil is not None:
            times = psutil.Process(self.pid).cpu_times()
            return times.user + times.system
        return None

    def rss_bytes(self):
        """The server's resident memory in bytes, or None where it cannot be read."""
        try:
            with open(f"/proc/{self.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
        if psutil is not None:
            return psutil.Process(self.pid).memory_info().rss
        try:  # macOS and the BSDs: ps reports kilobytes
            out = subprocess.run(["ps", "-o", "rss=", "-p", str(self.pid)], capture_output=True, text=True, timeout=10)
            return int(out.stdout.strip()) * 1024
        except (OSError, ValueError, subprocess.SubprocessError):
            return None

    def threads(self):
        """How many threads the server process has, or None where it cannot be read."""
        try:
            return len(os.listdir(f"/proc/{self.pid}/task"))
        except OSError:
            return psutil.Process(self.pid).num_threads() if psutil is not None else None

    def stop(self) -> None:
        """Ask the server to stop (SIGTERM: a clean shutdown), wait for it; kill it if it will not."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()

    def kill(self) -> None:
        """Stop it at once (SIGKILL), without its clean shutdown: for a server holding 10,000 threads."""
        if self.process.poll() is None:
            self.process.send_signal(getattr(signal, "SIGKILL", signal.SIGTERM))
            self.process.wait()
        self.process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self) -> str:
        return f"<ServerProcess {self.model} pid {self.process.pid} port {self.port}>"


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
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}")


# --- the load -------------------------------------------------------------------------------
def load_tool() -> str:
    """``"redis-benchmark"`` if it is installed, else ``"loadgen"`` (the course's, in Python)."""
    return "redis-benchmark" if shutil.which("redis-benchmark") else "loadgen"


def load(address, requests: int = 20_000, clients: int = 50, pipeline: int = 16, tests: str = "set,get",
         tool: str | None = None, pin: bool = False) -> dict:
    """One run of the load in a child process: {"SET": {"rps": ..., "p50_latency_ms": ...}, ...}."""
    tool = validate.one_of(tool or load_tool(), "tool", ("redis-benchmark", "loadgen"))
    options = ["-h", address[0], "-p", str(address[1]), "-c", str(clients), "-P", str(pipeline),
               "-n", str(requests), "-t", tests, "--csv"]
    command = (["redis-benchmark"] if tool == "redis-benchmark"
               else [sys.executable, "-m", "course_lib.kv.loadgen"]) + options
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env())
    if pin and len(cpus()) >= 2:
        pin_process(process.pid, cpus()[0])
    try:
        stdout, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    rows = {row["test"]: row for row in csv.DictReader(io.StringIO(stdout)) if row.get("test")}
    if process.returncode or not rows:
        raise RuntimeError(f"{tool} failed: {stdout[-300:]} {stderr[-300:]}")
    return {test: {key: float(value) for key, value in row.items() if key != "test"} for test, row in rows.items()}


def measure(server: ServerProcess, requests: int = 20_000, clients: int = 50, pipeline: int = 16,
            tests: str = "set,get", tool: str | None = None, pin: bool = False) -> dict:
    """Requests per second (all tests together), the server's CPU us per request, latency percentiles (ms)."""
    cpu = server.cpu_seconds()
    result = load(server.address, requests, clients, pipeline, tests, tool, pin)
    after = server.cpu_seconds()
    total = requests * len(result)
    seconds = sum(requests / r["rps"] for r in result.values())
    worst = {p: max(r[f"{p}_latency_ms"] for r in result.values()) for p in ("p50", "p95", "p99")}
    return {"rps": total / seconds, "cpu_us": None if cpu is None else 1e6 * (after - cpu) / total, **worst}


# --- crowds of connections ---------------------------------------------------------------------
def open_idle(address, n: int, progress=None, batch: int = 500, timeout: float = 30.0, accepted=None) -> list:
    """``n`` connected sockets that send nothing; ``progress(done, n)`` after each batch.

    ``accepted()``, if given, says how many connections the server has accepted: each
    batch then waits for the server to catch up before the next one is sent, so the
    kernel's queue of connections waiting to be accepted (the listen backlog) never
    overflows (an overflowing queue drops connection attempts, which are retried a
    whole second later). Stops early, returning what it has, when the OS refuses
    more (too many open files).
    """
    validate.count(n, "n")
    socks, sel = [], selectors.DefaultSelector()
    try:
        while len(socks) < n:
            pending = []
            for _ in range(min(batch, n - len(socks))):
                try:
                    sock = socket.socket()
                except OSError:  # EMFILE: no more descriptors
                    n = len(socks) + len(pending)
                    break
                sock.setblocking(False)
                sock.connect_ex(address)
                pending.append(sock)
                sel.register(sock, selectors.EVENT_WRITE)
            deadline = time.monotonic() + timeout
            waiting = len(pending)
            while waiting and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=1.0):
                    sel.unregister(key.fileobj)
                    waiting -= 1
            for sock in pending:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or waiting:
                    for s in pending + socks:
                        s.close()
                    raise ConnectionError(f"could not connect {len(pending)} more sockets to {address}")
            socks += pending
            while accepted is not None and accepted() < len(socks) and time.monotonic() < deadline:
                time.sleep(0.002)
            if progress is not None:
                progress(len(socks), n)
    except BaseException:
        for s in socks:
            s.close()
        raise
    finally:
        sel.close()
    return socks


def connected_clients(address) -> int:
    """How many clients the server holds, not counting the one asking (``INFO clients``)."""
    with socket.create_connection(tuple(address), timeout=10) as s:
        s.sendall(b"*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            data += chunk
            found = re.match(rb"\$(\d+)\r\n", data)
            if not chunk or (found and len(data) >= found.end() + int(found.group(1)) + 2):
                break
    return int(re.search(rb"connected_clients:(\d+)", data).group(1)) - 1


def open_fds():
    """How many files (sockets included) this process has open now, or None where it cannot be read."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder)) - 1  # listdir itself opens one
        except OSError:
            continue
    return None
