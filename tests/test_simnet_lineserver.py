"""simnet.LineServer: the simulated server of exercise 04.client."""

from __future__ import annotations

import random

import pytest

from course_lib.loop import Loop
from course_lib.simnet import LineServer, SimNetwork


def test_replies_come_in_pieces_and_requests_are_counted():
    loop = Loop()
    net = SimNetwork(loop, latency=0.01)
    server = LineServer(net, "server:80", rng=random.Random(1), think=0.05, max_chunk=3)
    client = net.connect("server:80")
    got = bytearray()

    def on_readable():
        data = client.recv(100)
        got.extend(data)
        if got.endswith(b"\n"):
            loop.remove_reader(client)
            client.close()

    client.send(b"hel")
    loop.call_later(0.02, client.send, b"lo\n")
    loop.add_reader(client, on_readable)
    loop.run(max_steps=10_000)
    assert bytes(got) == b"ECHO HELLO\n" and server.served == 1 and server.overlapped == 0


@pytest.mark.parametrize("bad, error", [
    ({"think": -1}, ValueError), ({"max_chunk": 0}, ValueError), ({"max_chunk": 2.5}, TypeError),
    ({"gap": float("inf")}, ValueError), ({"close_after": -1}, ValueError), ({"close_after": "1"}, TypeError),
])
def test_bad_arguments_are_named(bad, error):
    net = SimNetwork(Loop())
    with pytest.raises(error, match=next(iter(bad))):
        LineServer(net, **bad)


def test_close_after_hangs_up_instead_of_answering():
    loop = Loop()
    net = SimNetwork(loop, latency=0.01)
    server = LineServer(net, "server:80", rng=random.Random(2), think=0.05, close_after=1)
    client = net.connect("server:80")
    got = []

    def on_readable():
        data = client.recv(100)
        got.append(data)
        if data.endswith(b"\n"):                 # the first reply is complete
            client.send(b"b\n")                  # the second request: the server hangs up
        if not data:
            loop.remove_reader(client)
            client.close()

    client.send(b"a\n")
    loop.add_reader(client, on_readable)
    loop.run(max_steps=10_000)
    assert b"".join(got) == b"ECHO A\n" and got[-1] == b"" and server.served == 1
