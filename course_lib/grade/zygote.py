"""A pre-warmed kernel factory, so a fresh kernel does not pay for its imports every time.

What it is: starting a kernel costs about a CPU second of imports (ipykernel, IPython,
matplotlib) before the notebook's first cell. A worker therefore starts one *zygote*
(``python -m course_lib.grade.zygote serve SOCKET``): a single-threaded process that imports
those modules once and then waits. For each submission the worker hands it a one-time
ticket (a random token and the path of that submission's sandbox configuration) on its
stdin; the kernelspec's command is ``python -m course_lib.grade.zygote launch SOCKET TOKEN
-f CONNECTION_FILE``, a tiny launcher that presents the token on the zygote's Unix socket.
The zygote forks; the child starts a new session, runs ``sandbox.main`` (cgroup, rlimits,
environment, then ipykernel) and is a fresh kernel in a clean copy of the pre-imported
interpreter: no student code has ever run in the zygote.

The launcher stands in for the kernel towards jupyter_client: it forwards interrupt and
terminate signals, exits with the kernel's exit status (or dies of the same signal), and if
the launcher is killed the zygote kills the kernel. A token works once and only for the
configuration the worker registered, so code that finds the socket cannot fork an
unlimited process.

What it is not: required. If the zygote cannot start (or would fork with threads running),
the worker launches ``sandbox.py`` directly, as ``--no-preload`` does.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import threading

from course_lib.grade.processes import kill

PRELOAD = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "matplotlib", "matplotlib.pyplot",
           "matplotlib_inline.backend_inline", "numpy", "course_lib.check", "course_lib.grade.sandbox",
           "course_lib.grade.harness"]


def _preload(extra: list[str]) -> None:
    import importlib

    for name in PRELOAD + extra:
        try:
            importlib.import_module(name)
        except Exception:  # a module the course does not have is simply not pre-imported
            pass


def _readline(conn: socket.socket, limit: int = 65536) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def serve(path: str, extra: list[str]) -> int:
    _preload(extra)
    if threading.active_count() != 1:  # forking a process with threads can deadlock the child
        print("zygote: a pre-imported module started a thread; not forking", file=sys.stderr)
        return 3
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    tickets: dict[str, str] = {}
    children: dict[int, socket.socket] = {}  # kernel pid -> its launcher's connection
    pending = b""
    print("ready", flush=True)
    while True:
        watched = [listener, wake_r, 0, *children.values()]
        try:
            ready, _, _ = select.select(watched, [], [])
        except InterruptedError:
            continue
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:  # the worker is gone: so are its kernels
                for pid in children:
                    kill(pid)
                return 0
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                parts = line.decode().split(" ", 2)
                if len(parts) == 3 and parts[0] == "ticket":
                    tickets[parts[1]] = parts[2]
        if listener in ready:
            conn, _ = listener.accept()
            conn.settimeout(5)
            try:
                request = json.loads(_readline(conn) or b"{}")
            except (ValueError, OSError):
                request = {}
            config = tickets.pop(str(request.get("token", "")), None)
            if config is None:
                conn.close()
            else:
                pid = os.fork()
                if pid == 0:
                    _child(config, request, [listener, conn, *children.values()], (wake_r, wake_w))
                conn.settimeout(None)
                conn.sendall(f"pid {pid}\n".encode())
                children[pid] = conn
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        for conn in [c for c in children.values() if c in ready]:
            if not conn.recv(4096):  # the launcher died (jupyter_client killed it): kill its kernel
                kill(next(pid for pid, c in children.items() if c is conn))
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                try:
                    conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                except OSError:
                    pass
                conn.close()


def _child(config: str, request: dict, sockets, wake) -> None:
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for s in sockets:
            s.close()
        for fd in wake:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)  # the zygote's stdout is the worker's pipe; nobody reads it after "ready"
        os.close(null)
        os.setsid()
        os.chdir(request.get("cwd") or "/")
        import random

        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        from course_lib.grade import sandbox

        sandbox.main([config, *[str(a) for a in request.get("argv", [])]])
    except BaseException:  # a kernel that cannot start just exits; the worker sees it die
        import traceback

        traceback.print_exc()
    finally:
        os._exit(1)


class Zygote:
    """The worker's side: start a zygote (once per course sys.path), hand it tickets, stop it."""

    def __init__(self):
        self.proc, self.key, self.folder, self.failed = None, None, None, False

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    @property
    def socket_path(self) -> str:
        return os.path.join(self.folder, "zygote.sock")

    def ensure(self, sys_path: list[str], env: dict) -> bool:
        if self.pid and self.key == tuple(sys_path):
            return True
        self.stop()
        if self.failed:
            return False
        import subprocess
        import tempfile

        self.folder = tempfile.mkdtemp(prefix="edp-grade-zygote-")
        keep = ("PYTHONPATH", "MPLBACKEND", "MPLCONFIGDIR", "EDP_PROGRESS_FILE", "MALLOC_ARENA_MAX",
                "PYTHONDONTWRITEBYTECODE")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grade.zygote", "serve", self.socket_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self.folder,
            env={**os.environ, **{k: env[k] for k in keep}}, start_new_session=True,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        if not ready or self.proc.stdout.readline().strip() != b"ready":
            self.failed = True
            self.stop()
            return False
        self.key = tuple(sys_path)
        return True

    def ticket(self, token: str, config: str) -> None:
        self.proc.stdin.write(f"ticket {token} {config}\n".encode())
        self.proc.stdin.flush()

    def stop(self) -> None:
        import shutil

        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(5)
            except Exception:
                pass
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.proc, self.key, self.folder = None, None, None


def launch(path: str, token: str, argv: list[str]) -> int:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.sendall((json.dumps({"token": token, "argv": argv, "cwd": os.getcwd()}) + "\n").encode())
    line = _readline(conn).decode().split()
    if len(line) != 2 or line[0] != "pid":
        print("zygote refused the ticket", file=sys.stderr)
        return 1
    pid = int(line[1])

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    while True:
        try:
            line = _readline(conn).decode().split()
        except InterruptedError:
            continue
        if not line:
            forward(signal.SIGKILL, None)
            return 1
        if line[0] == "exit":
            code = int(line[1])
            if code < 0:
                signal.signal(-code, signal.SIG_DFL)
                os.kill(os.getpid(), -code)
            return code & 0xFF


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        sys.exit(serve(sys.argv[2], sys.argv[3:]))
    sys.exit(launch(sys.argv[2], sys.argv[3], sys.argv[4:]))
