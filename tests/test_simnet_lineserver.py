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
    ({"gap": float("inf")}, ValueError),
])
def test_bad_arguments_are_named(bad, error):
    net = SimNetwork(Loop())
    with pytest.raises(error, match=next(iter(bad))):
        LineServer(net, **bad)
