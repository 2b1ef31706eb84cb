"""Rude clients: what a server on the open internet meets, in small functions.

What it is: each function below connects to a key-value server at ``address``, misbehaves
in one way, and returns what it saw, in plain data:

- ``vanish_mid_command(address, n)``: ``n`` clients send half a command and disappear,
  half of them with a reset (RST: ``SO_LINGER`` 0) instead of a polite close;
- ``garbage(address, rng, n)``: ``n`` clients send random bytes; returns the first line of
  the server's answer to each (an error, or nothing once it closed the connection);
- ``never_reads(address, value_size, count)``: one client stores a large value, asks for it
  ``count`` times in one go, and reads nothing; meanwhile another client's ``PING`` must
  still be answered; returns how many of those commands the server ran while the
  replies were not read (``INFO stats``), and how fast the ``PING`` came back;
- ``crowd(address, n)``: ``n`` clients connect at once, each sets and gets its own key;
  returns how many got the right answer;
- ``ping(address)``: a fresh client's ``PING``: is the server still serving?
- ``info(address, field)``: one number from ``INFO``.

A server passes when ``ping`` still answers after each of them and nothing leaked
(``course_lib.kv.lab.open_fds``, ``threading.active_count()``). The notebook of chapter
07 runs them against every model; the checks of exercise 07.handler use them too.

What it is not: a fuzzer (the garbage is a few seeded random byte strings), or a
load test (see ``course_lib.kv.loadgen``).
"""

from __future__ import annotations

import random
import re
import selectors
import socket
import struct
import time

from course_lib.resp import encode

__all__ = ["vanish_mid_command", "garbage", "never_reads", "crowd", "ping", "info"]


def _connect(address, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(tuple(address), timeout=timeout)


def _reset(sock: socket.socket) -> None:
    """Close with a reset (RST) instead of a polite FIN: SO_LINGER on, with a zero timeout."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def ping(address, timeout: float = 5.0) -> bool:
    """True if a fresh client's PING gets +PONG within ``timeout`` seconds."""
    try:
        with _connect(address, timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            return data == b"+PONG\r\n"
    except OSError:
        return False


def info(address, field: str) -> int:
    """The number ``field`` of ``INFO`` (``connected_clients``, ``total_commands_processed``...)."""
    with _connect(address) as s:
        s.sendall(encode([b"INFO"]))
        data = b""
        while True:
            data += s.recv(65536)
            found = re.match(rb"\$(\d+)\r\n", data)
            if found and len(data) >= found.end() + int(found.group(1)) + 2:
                break
    return int(re.search(field.encode() + rb":(\d+)", data).group(1))


def vanish_mid_command(address, n: int = 20) -> int:
    """``n`` clients send part of a command and vanish (half with a reset); returns ``n``."""
    head = encode([b"SET", b"half", b"x" * 1000])[:500]  # the value is cut off
    for i in range(n):
        s = _connect(address)
        s.sendall(head)
        if i % 2:
            _reset(s)
        else:
            s.close()
    return n


def garbage(address, rng: random.Random | None = None, n: int = 20) -> list:
    """``n`` clients send random bytes; the first line each got back (b"" if none)."""
    rng = rng or random.Random(7)
    answers = []
    for i in range(n):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
        if i % 3 == 0:
            junk = b"*" + junk  # looks like the start of a command, then is not
        with _connect(address, timeout=2.0) as s:
            try:
                s.sendall(junk + b"\r\n")
                s.shutdown(socket.SHUT_WR)  # the server then answers what it read, and closes
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:  # the server closed first (a reset while we were still sending)
                data = b""
        answers.append(data.split(b"\r\n")[0])
    return answers


def never_reads(address, value_size: int = 100_000, count: int = 2000) -> dict:
    """One client asks for ``count`` large replies and never reads them. See the module docstring."""
    with _connect(address) as writer:
        writer.sendall(encode([b"SET", b"big", b"v" * value_size]))
        assert writer.recv(16) == b"+OK\r\n"
    ran_before = info(address, "total_commands_processed")
    rude = _connect(address)
    try:
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # keep the kernel's share small too
        rude.sendall(encode([b"GET", b"big"]) * count)  # small requests: they fit the kernel's buffers
        time.sleep(0.3)  # let the server do what it will
        start = time.perf_counter()
        answered = ping(address)
        ping_ms = (time.perf_counter() - start) * 1000
        ran = info(address, "total_commands_processed") - ran_before - 2  # minus the INFO and the PING
        return {"asked": count, "ran": ran, "reply_bytes_asked": count * (value_size + 10),
                "reply_bytes_made": ran * (value_size + 10), "ping_answered": answered, "ping_ms": ping_ms}
    finally:
        _reset(rude)


def crowd(address, n: int = 1000, timeout: float = 30.0) -> int:
    """``n`` clients connect at once, each SETs and GETs its own key; how many got their value back."""
    socks, sel, good = [], selectors.DefaultSelector(), 0
    try:
        for i in range(n):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(tuple(address))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, i)
        expected, received, finished = {}, {}, 0
        deadline = time.monotonic() + timeout
        while finished < n and time.monotonic() < deadline:
            for key, events in sel.select(timeout=1.0):
                i, s = key.data, key.fileobj
                if events & selectors.EVENT_WRITE:  # connected: send both commands at once (pipelined)
                    value = b"value-%d" % i
                    s.send(encode([b"SET", b"crowd:%d" % i, value]) + encode([b"GET", b"crowd:%d" % i]))
                    expected[i], received[i] = b"+OK\r\n$%d\r\n%b\r\n" % (len(value), value), b""
                    sel.modify(s, selectors.EVENT_READ, i)
                    continue
                try:
                    chunk = s.recv(4096)
                except OSError:  # refused or reset
                    chunk = b""
                received[i] += chunk
                if not chunk or len(received[i]) >= len(expected[i]):
                    sel.unregister(s)
                    finished += 1
        good = sum(received.get(i) == expected.get(i) for i in range(n))
    finally:
        sel.close()
        for s in socks:
            s.close()
    return good
