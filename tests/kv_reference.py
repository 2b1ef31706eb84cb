"""Helpers for the chapter 07 tests: a reference redis-server, raw exchanges, reply splitting.

A test that needs a Redis tool calls ``need("redis-server")``: where the tool is missing
it skips with the reason, except under CI (the environment variable CI is set), where
.ci/run installs the tools and a missing one is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (Debian: apt install redis-server redis-tools)"
        if os.environ.get("CI"):
            pytest.fail(message + "; under CI it must be")
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_server():
    """A throwaway redis-server on 127.0.0.1 (one database, nothing on disk); yields its port."""
    need("redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--databases", "1", "--dir", folder, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            process.wait(10)


def exchange(address, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data``, close our sending side, and return everything the server sends until it closes."""
    if isinstance(address, int):
        address = ("127.0.0.1", address)
    with socket.create_connection(address, timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # the server sees end of file after our bytes: it answers, then closes
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def split_replies(data: bytes) -> list[bytes]:
    """Cut a RESP2 reply stream into the raw bytes of each reply."""
    out, pos = [], 0
    while pos < len(data):
        end = _reply_end(data, pos)
        out.append(data[pos:end])
        pos = end
    return out


def _reply_end(data: bytes, pos: int) -> int:
    line_end = data.index(b"\r\n", pos) + 2
    kind = data[pos:pos + 1]
    if kind in (b"+", b"-", b":"):
        return line_end
    n = int(data[pos + 1:line_end - 2])
    if kind == b"$":
        return line_end if n < 0 else line_end + n + 2
    if kind == b"*":
        for _ in range(max(n, 0)):
            line_end = _reply_end(data, line_end)
        return line_end
    raise ValueError(f"not a RESP2 reply at {pos}: {data[pos:pos + 20]!r}")


def array_items(reply: bytes) -> list[bytes]:
    """The raw items of an array reply."""
    line_end = reply.index(b"\r\n") + 2
    return split_replies(reply[line_end:])
