"""The reactor serves real clients on every poller: partial writes, EOF, resets, protocol bugs, no leaks."""

import os
import socket
import struct
import threading
import time

import pytest

from course_lib.loop import Loop
from course_lib.pollers import available_pollers
from course_lib.reactor import LoopThread, Protocol, Server

POLLERS = available_pollers()


class Echo(Protocol):
    lost = []

    def data_received(self, data):
        self.transport.write(data)

    def connection_lost(self, exc):
        Echo.lost.append(exc)


def _open_fds():
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def _connect(address, rcvbuf=None):
    """A blocking client; a small receive buffer is set before connecting (setting it after
    the handshake shrinks an advertised window, which Linux answers with long TCP stalls)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(address)
    return sock


def _recv_exactly(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(1 << 20, n - len(data)))
        assert chunk, f"closed after {len(data)} of {n} bytes"
        data += chunk
    return bytes(data)


@pytest.fixture
def served():
    started = []

    def start(protocol_factory, poller="default"):
        loop = Loop(poller=poller)
        server = Server(loop, protocol_factory)
        runner = LoopThread(loop).start()
        started.append((loop, server, runner))
        return loop, server, runner

    before = _open_fds()
    yield start
    for loop, server, runner in started:
        runner.stop()
        server.close()
        loop.close()
    if before is not None:
        assert _open_fds() == before, "a socket leaked"


@pytest.mark.parametrize("poller", POLLERS)
def test_echo_of_a_payload_larger_than_the_socket_buffers(served, poller):
    loop, server, runner = served(Echo, poller)
    payload = os.urandom(6_000_000)
    with _connect(server.address, rcvbuf=8192) as client:
        sender = threading.Thread(target=client.sendall, args=(payload,))
        sender.start()
        time.sleep(0.2)  # the client is not reading yet: the server's sends must go partial
        assert _recv_exactly(client, len(payload)) == payload
        sender.join()
    assert runner.alive and not loop.errors and not server.errors


def test_many_clients_at_once_and_the_output_buffer_empties(served):
    loop, server, _ = served(Echo)
    clients = [socket.create_connection(server.address, timeout=5) for _ in range(100)]
    try:
        for i, c in enumerate(clients):
            c.sendall(b"%d;" % i * 50)
        for i, c in enumerate(clients):
            assert _recv_exactly(c, len(b"%d;" % i * 50)) == b"%d;" % i * 50
    finally:
        for c in clients:
            c.close()
    deadline = time.monotonic() + 5
    while server.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server.connections and server.accepted == 100


def test_eof_closes_after_the_buffer_is_flushed(served):
    loop, server, _ = served(Echo)
    payload = os.urandom(2_000_000)
    with socket.create_connection(server.address, timeout=10) as client:
        threading.Thread(target=lambda: (client.sendall(payload), client.shutdown(socket.SHUT_WR))).start()
        got = bytearray()
        while True:
            chunk = client.recv(1 << 20)
            if not chunk:
                break
            got += chunk
    assert got == payload  # every byte came back before the server closed


def test_peer_reset_is_connection_lost_and_the_server_goes_on(served):
    Echo.lost.clear()
    loop, server, runner = served(Echo)
    rude = _connect(server.address, rcvbuf=4096)
    rude.sendall(os.urandom(3_000_000)[:1_000_000])  # the echo piles up: the client never reads
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()  # RST
    deadline = time.monotonic() + 5
    while not Echo.lost and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Echo.lost
    with socket.create_connection(server.address, timeout=5) as polite:
        polite.sendall(b"still there?")
        assert _recv_exactly(polite, 12) == b"still there?"
    assert runner.alive


def test_a_protocol_bug_drops_that_connection_only(served):
    class Picky(Protocol):
        def data_received(self, data):
            if b"bad" in data:
                raise ValueError("I do not like that")
            self.transport.write(data)

    loop, server, _ = served(Picky)
    with socket.create_connection(server.address, timeout=5) as bad:
        bad.sendall(b"bad")
        assert bad.recv(10) == b""  # closed by the server
    with socket.create_connection(server.address, timeout=5) as good:
        good.sendall(b"good")
        assert _recv_exactly(good, 4) == b"good"
    assert [type(e) for e in server.errors] == [ValueError]


def test_write_interest_only_while_something_is_buffered():
    loop = Loop(poller="default")
    server = Server(loop, Echo)
    client = _connect(server.address, rcvbuf=4096)
    try:
        loop.run(until=lambda: server.connections, max_steps=100)
        (transport,) = server.connections
        transport.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        transport.write(b"x" * 1_000_000)
        assert transport.get_write_buffer_size() > 0 and loop.snapshot()["writers"]
        received = 0
        client.setblocking(False)
        for _ in range(100_000):
            if not transport.get_write_buffer_size():
                break
            loop.step()
            try:
                received += len(client.recv(1 << 16))
            except BlockingIOError:
                pass
        assert transport.get_write_buffer_size() == 0
        assert not loop.snapshot()["writers"], "write interest kept with an empty buffer: the loop would spin"
    finally:
        client.close()
        server.close()
        loop.close()


def test_bad_protocol_factory():
    with Loop(poller="default") as loop:
        with pytest.raises(TypeError, match="protocol_factory"):
            Server(loop, "Echo")
