"""Tests of course_lib.slowserver: protocol, chunks, statistics, concurrency, clean shutdown."""

import errno
import socket
import threading
import time

import pytest

from course_lib.slowserver import SlowServer, fetch


def _server_threads():
    return [t for t in threading.enumerate() if t.name.startswith("SlowServer-")]


def _port_closed(address) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return False
    except ConnectionRefusedError:
        return True
    except OSError as error:
        return error.errno == errno.ECONNREFUSED


def test_one_request_waits_delay_then_answers_and_closes():
    with SlowServer(delay=0.2, response=b"hello\n") as srv:
        host, port = srv.address
        assert host == "127.0.0.1" and port > 0
        start = time.perf_counter()
        assert fetch(srv.address, b"GET\n") == b"hello\n"
        assert time.perf_counter() - start >= 0.19  # never earlier than the delay (no upper bound: loaded CI)
        assert srv.requests == 1 and srv.lines == [b"GET\n"]
        assert srv.connections == 1
    assert srv.in_flight == 0 and srv.max_in_flight == 1


def test_request_split_over_several_sends():
    with SlowServer(delay=0, response=b"ok\n") as srv, socket.create_connection(srv.address, timeout=10) as sock:
        for piece in (b"GE", b"T /", b"x\n"):
            sock.sendall(piece)
            time.sleep(0.02)
        assert sock.recv(100) == b"ok\n"
        assert sock.recv(100) == b""  # then the server closes
        assert srv.lines == [b"GET /x\n"]


def test_response_function_gets_the_line():
    with SlowServer(delay=0, response=lambda line: line.upper() * 2) as srv:
        assert fetch(srv.address, b"abc\n") == b"ABC\nABC\n"


def test_chunks_arrive_separately_and_in_order():
    payload = bytes(range(256)) * 4
    with SlowServer(delay=0, response=payload, chunk_size=100, chunk_delay=0.03) as srv:
        with socket.create_connection(srv.address, timeout=10) as sock:
            sock.sendall(b"x\n")
            pieces = []
            while data := sock.recv(4096):
                pieces.append(data)
    assert b"".join(pieces) == payload
    # with 30 ms between chunks a recv sees at most one chunk (allowing for a stall that merges a few)
    assert len(pieces) >= 4
    assert all(len(p) <= 300 for p in pieces)


def test_large_response_survives_partial_writes():
    payload = b"z" * 3_000_000  # larger than socket buffers: the server must wait until writable
    with SlowServer(delay=0, response=payload) as srv, socket.create_connection(srv.address, timeout=20) as sock:
        sock.sendall(b"x\n")
        time.sleep(0.1)  # let the server fill the buffers and block on the write
        got = bytearray()
        while data := sock.recv(1 << 16):
            got += data
    assert bytes(got) == payload


def test_hundreds_of_concurrent_connections():
    n = 300
    with SlowServer(delay=0.5, response=b"r\n") as srv:
        socks = []
        try:
            for _ in range(n):
                s = socket.create_connection(srv.address, timeout=20)
                s.sendall(b"q\n")
                socks.append(s)
            answers = [s.recv(10) for s in socks]
        finally:
            for s in socks:
                s.close()
        assert answers == [b"r\n"] * n
        assert srv.requests == n
    # the connections overlapped: 300 answers took one 0.5 s wait, not 300 of them
    assert srv.max_in_flight >= n // 2
    assert srv.in_flight == 0


def test_in_flight_counts_open_connections():
    with SlowServer(delay=5) as srv:
        socks = [socket.create_connection(srv.address, timeout=10) for _ in range(3)]
        try:
            deadline = time.monotonic() + 10
            while srv.in_flight < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert srv.in_flight == 3 and srv.max_in_flight == 3
            socks[0].close()  # a client that leaves before sending its line is finished too
            while srv.in_flight > 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert srv.in_flight == 2
        finally:
            for s in socks:
                s.close()


def test_close_is_prompt_with_clients_connected_and_leaks_nothing():
    before = set(threading.enumerate())
    srv = SlowServer(delay=30, chunk_size=1, chunk_delay=10).start()
    address = srv.address
    clients = [socket.create_connection(address, timeout=10) for _ in range(20)]
    try:
        for c in clients[:10]:
            c.sendall(b"waiting\n")
        deadline = time.monotonic() + 10
        while srv.in_flight < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        start = time.perf_counter()
        srv.close()
        assert time.perf_counter() - start < 5  # "promptly": far below the 30 s delay
        assert set(threading.enumerate()) <= before
        assert not _server_threads()
        assert _port_closed(address)
        for c in clients:  # every client sees its connection closed
            try:
                assert c.recv(10) == b""
            except ConnectionResetError:
                pass
        assert srv.in_flight == 0
        assert srv._listener.fileno() == -1 and srv._wake_r.fileno() == -1 and srv._wake_w.fileno() == -1
        assert srv._conns == {}
    finally:
        for c in clients:
            c.close()


def test_close_is_idempotent_and_no_restart():
    srv = SlowServer(delay=0)
    srv.close()  # before start: fine
    srv = SlowServer(delay=0).start()
    srv.close()
    srv.close()
    assert srv.closed
    with pytest.raises(RuntimeError):
        srv.start()
    with SlowServer() as s2:
        with pytest.raises(RuntimeError):
            s2.start()
    assert not _server_threads()


def test_context_manager_closes_on_error():
    with pytest.raises(ZeroDivisionError):
        with SlowServer() as srv:
            address = srv.address
            _ = 1 / 0
    assert srv.closed and not _server_threads() and _port_closed(address)


def test_no_fd_leak_over_many_servers():
    import os

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with SlowServer(delay=0) as srv:
            fetch(srv.address)
    assert len(os.listdir("/proc/self/fd")) <= before


def test_client_leaving_early_does_not_break_the_server():
    with SlowServer(delay=0.1, response=b"x" * 100_000, chunk_size=1000) as srv:
        s = socket.create_connection(srv.address, timeout=10)
        s.sendall(b"a\n")
        s.close()  # gone before the answer: the server's send fails, it must carry on
        time.sleep(0.2)
        assert fetch(srv.address, b"b\n") == b"x" * 100_000
        assert srv.requests == 2


@pytest.mark.parametrize(
    "kwargs",
    [dict(delay=-1), dict(delay="x"), dict(chunk_size=0), dict(chunk_size=1.5), dict(chunk_delay=-0.1),
     dict(response="text"), dict(delay=float("nan"))],
)
def test_bad_arguments_are_named(kwargs):
    with pytest.raises((ValueError, TypeError)) as info:
        SlowServer(**kwargs)
    assert list(kwargs)[0] in str(info.value)


def test_repr_says_where_and_state():
    srv = SlowServer(delay=0.25)
    assert "not started" in repr(srv)
    with srv:
        assert f"127.0.0.1:{srv.address[1]}" in repr(srv) and "running" in repr(srv)
    assert "closed" in repr(srv)


def test_a_failing_response_function_closes_that_connection_only():
    def response(line):
        if line == b"bad\n":
            raise RuntimeError("boom")
        return b"good\n"

    with SlowServer(delay=0, response=response) as srv:
        assert fetch(srv.address, b"bad\n") == b""
        assert fetch(srv.address, b"fine\n") == b"good\n"


def test_fetch_wants_a_line():
    with pytest.raises(ValueError, match="line"):
        fetch(("127.0.0.1", 1), b"no newline")
