"""Tests of course_lib.simnet: simulated sockets on the loop's virtual clock."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.loop import Loop
from course_lib.pollers import EVENT_READ
from course_lib.simnet import EchoServer, SimNetwork


def make(latency=0.05, buffer_size=65536):
    loop = Loop()
    return loop, SimNetwork(loop, latency=latency, buffer_size=buffer_size)


def test_data_arrives_latency_seconds_after_send():
    loop, net = make(latency=0.25)
    listener = net.listen("server:80")
    client = net.connect("server:80")
    with pytest.raises(BlockingIOError):
        listener.accept()  # the connection is still on its way
    assert client.send(b"hello") == 5
    seen = []

    def on_connection():
        conn, who = listener.accept()
        seen.append(("accept", loop.time(), who))
        loop.remove_reader(listener)
        loop.add_reader(conn, on_data, conn)

    def on_data(conn):
        data = conn.recv(100)
        seen.append(("data", loop.time(), data))
        if not data:
            loop.remove_reader(conn)

    loop.add_reader(listener, on_connection)
    loop.call_later(1.0, client.close)
    loop.run()
    assert seen == [("accept", 0.25, "client:1"), ("data", 0.25, b"hello"), ("data", 1.25, b"")]


def test_recv_blocks_when_empty_and_send_is_partial_when_the_window_fills():
    loop, net = make(buffer_size=10)
    net.listen("s")
    client = net.connect("s")
    assert client.send(b"0123456") == 7
    assert client.send(b"789abc") == 3  # only 3 bytes of window left
    with pytest.raises(BlockingIOError, match="window full"):
        client.send(b"more")
    loop.run(until=0.1)  # let the connection and the data arrive
    conn, _ = net._listeners["s"].accept()
    assert conn.recv(4) == b"0123"
    assert client.send(b"abcdef") == 4  # reading reopened 4 bytes
    assert conn.recv(100) == b"456789"
    with pytest.raises(BlockingIOError, match="nothing to read"):
        conn.recv(100)


def test_a_writer_wakes_when_the_reader_makes_room():
    loop, net = make(buffer_size=4)
    listener = net.listen("s")
    client = net.connect("s")
    out, received = bytearray(b"abcdefghij"), bytearray()

    def write():
        del out[: client.send(out)]
        if not out:
            loop.remove_writer(client)

    def accept():
        conn, _ = listener.accept()
        loop.remove_reader(listener)
        loop.add_reader(conn, read, conn)

    def read(conn):
        received.extend(conn.recv(3))

    loop.add_writer(client, write)
    loop.add_reader(listener, accept)
    loop.run(until=lambda: len(received) == 10)
    assert received == b"abcdefghij"


def test_a_closed_peer_gives_eof_then_broken_pipe():
    loop, net = make()
    listener = net.listen("s")
    client = net.connect("s")
    loop.run(until=0.1)
    conn, _ = listener.accept()
    conn.close()
    with pytest.raises(BrokenPipeError):
        client.send(b"x")
    loop.run(until=0.2)
    assert client.recv(10) == b""
    with pytest.raises(OSError, match="closed"):
        conn.recv(1)


def test_listening_twice_or_connecting_to_nobody_are_clear_errors():
    loop, net = make()
    net.listen("a")
    with pytest.raises(OSError, match="already in use"):
        net.listen("a")
    with pytest.raises(ConnectionRefusedError, match="nothing listens at 'b'"):
        net.connect("b")
    with pytest.raises(TypeError, match="simulated course_lib.loop.Loop"):
        SimNetwork(Loop(poller="default"))
    with pytest.raises(ValueError, match="latency"):
        SimNetwork(loop, latency=-1)
    with pytest.raises(ValueError, match="n must be"):
        net.connect("a").recv(0)


def test_echo_server_answers_after_its_delay_and_shows_in_the_steps():
    loop, net = make(latency=0.05)
    EchoServer(net, "server:80", delay=0.1, transform=bytes.upper)
    client = net.connect("server:80")
    replies = []

    def on_reply():
        data = client.recv(100)
        replies.append((round(loop.time(), 9), data))
        if not data:
            loop.remove_reader(client)

    loop.add_reader(client, on_reply)
    client.send(b"hello")
    loop.call_later(0.5, client.send, b"again")
    loop.call_later(1.0, client.shutdown, socket.SHUT_WR)  # no more requests; still reading
    steps = []
    while not loop.done:
        steps.append(str(loop.step()))
    assert replies == [(0.2, b"HELLO"), (0.7, b"AGAIN"), (1.1, b"")]
    assert "ran EchoServer.on_data(server:80#1)" in steps
    assert "poll: waited 0.05 s, server:80 readable, 0 timers due -> 1 callback queued" in steps


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=50), min_size=1, max_size=8),
       st.integers(1, 64), st.sampled_from([0.0, 0.01, 0.3]))
def test_every_byte_arrives_once_in_order_through_the_echo_server(chunks, buffer_size, latency):
    loop, net = make(latency=latency, buffer_size=buffer_size)
    EchoServer(net, "echo", delay=0.02)
    client = net.connect("echo")
    out, back = bytearray(b"".join(chunks)), bytearray()

    def write():
        if out:
            del out[: client.send(out)]
        else:
            loop.remove_writer(client)

    def read():
        back.extend(client.recv(7))

    loop.add_writer(client, write)
    loop.add_reader(client, read)
    loop.run(until=lambda: len(back) == len(b"".join(chunks)))
    assert bytes(back) == b"".join(chunks)


def test_the_same_program_gives_the_same_run_every_time():
    def once():
        loop, net = make(latency=0.03, buffer_size=8)
        EchoServer(net, "s", delay=0.01)
        client = net.connect("s")
        loop.add_writer(client, lambda: client.send(b"abcdefghijkl"))
        loop.call_later(0.2, loop.remove_writer, client)
        loop.run(until=0.5)
        return [str(s) for s in loop._trace]

    assert once() == once()


def test_closing_the_echo_server_with_answers_pending_is_clean():
    loop, net = make(latency=0.01)
    server = EchoServer(net, "s", delay=1.0)
    client = net.connect("s")
    client.send(b"ping")
    loop.run(until=0.5)  # the request arrived; the answer is due at 1.02
    server.close()
    loop.run()
    assert not loop.errors and client.recv(10) == b""


def test_the_simulated_poller_reports_what_can_still_arrive_and_owns_the_clock():
    """It is one more backend: its key is the socket itself, it can report only what is ready or on
    its way, and a wait jumps its virtual clock to the arrival."""
    loop, net = make(latency=1.0)
    poller = loop.poller
    a, b = net.socketpair()
    assert poller.key_for(b) is b and poller.simulated and loop.simulated
    poller.register(b, EVENT_READ)
    assert not poller.can_report()  # nothing on its way: poll(None) would wait for ever
    a.send(b"x")
    assert poller.can_report() and poller.time() == 0.0
    assert poller.poll(None) == [(b, EVENT_READ)] and poller.time() == loop.time() == 1.0
    poller.spend(0.5)
    assert loop.time() == 1.5
    with pytest.raises(TypeError, match="simulated sockets"):
        poller.key_for(socket.socket)
    with pytest.raises(TypeError, match="simulated course_lib.loop.Loop"):
        SimNetwork(object())
