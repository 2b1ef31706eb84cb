"""The key-value server on a simulated network: one client, one server, stepped event by event.

What it is: ``SimSession(scenario)`` puts the chapter 07 server and one scripted client
on a simulated course ``Loop()`` with ``course_lib.simnet`` sockets, so the protocol can
be watched byte by byte in the Stepper (``widgets.Stepper(lambda: SimSession("partial"))``).
The server side is the real one: the same ``KVProtocol`` and ``FlowTransport`` that serve
``redis-benchmark`` on real sockets (``course_lib.kv.protocol``), the same command table,
a ``Database`` whose deadlines are timers on the virtual clock. Only the sockets are
simulated. The scenarios (``SCENARIOS``):

- ``"partial"``: one command arrives in three pieces cut at awkward places (inside a
  word, between CR and LF); the parser holds the pieces until the command is complete;
- ``"pipelined"``: five commands in one send, answered by five replies in one write;
- ``"slow_reader"``: the client asks for many large values at once and then reads
  slowly; the server's output buffer passes its high-water mark, the server stops
  reading that client (backpressure) and resumes once the buffer has drained;
- ``"expiry"``: ``SET ... PX 200``; the key disappears on a timer of the loop.

``step()`` is one step of the loop, told in words: what the loop did, then what the
server and the client made of it. ``snapshot()`` shows the client (sent, replies),
the wire, the server's connection (parser, queued commands, output buffer, reading
or paused) and the keyspace. ``trace`` records the output buffer's size over time
(after each step, and at each resume_writing, the low point that the same step refills).

What it is not: TCP (see ``course_lib.simnet``), or a second implementation of the
server: everything on the server side is the code of ``course_lib.kv``.
"""

from __future__ import annotations

from course_lib import validate
from course_lib.kv.client import ServerState
from course_lib.kv.db import Database
from course_lib.kv.protocol import HIGH_WATER, LOW_WATER, FlowTransport, KVProtocol
from course_lib.kv.replies import Replies
from course_lib.loop import Loop
from course_lib.resp import encode
from course_lib.simnet import SimNetwork

__all__ = ["SimSession", "SCENARIOS"]

ADDRESS = "kvserver:6379"
SCENARIOS = ("partial", "pipelined", "slow_reader", "expiry")
BIG = 20_000  # bytes of each value in the slow-reader scenario


def _command(*words) -> bytes:
    return encode([w.encode() if isinstance(w, str) else w for w in words])


def _script(scenario: str):
    """(what the client sends at which time, how it reads, how many replies it waits for)."""
    if scenario == "partial":
        set_cmd = _command("SET", "greeting", "hello")  # *3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$5\r\nhello\r\n
        cut1, cut2 = set_cmd.index(b"ET") + 1, set_cmd.index(b"\nhello")  # inside "SET"; between CR and LF
        sends = [
            (0.0, set_cmd[:cut1]),
            (0.1, set_cmd[cut1:cut2]),
            (0.2, set_cmd[cut2:]),
            (0.3, _command("GET", "greeting")),
        ]
        return sends, None, 2
    if scenario == "pipelined":
        batch = b"".join([_command("SET", "n", "1"), _command("INCR", "n"), _command("INCR", "n"),
                          _command("GET", "n"), _command("DEL", "n")])
        return [(0.0, batch)], None, 5
    if scenario == "slow_reader":
        sends = [(0.0, _command("SET", "big", b"v" * BIG)), (0.05, _command("GET", "big") * 12)]
        return sends, (16_384, 0.1), 13
    if scenario == "expiry":
        sends = [(0.0, _command("SET", "session", "abc", "PX", "200")), (0.1, _command("GET", "session")),
                 (0.1, _command("PTTL", "session")), (0.3, _command("GET", "session"))]
        return sends, None, 4
    raise ValueError(f"scenario must be one of {', '.join(map(repr, SCENARIOS))}, got {scenario!r}")


def _show(data: bytes, limit: int = 60) -> str:
    """Bytes as a short readable string: CR and LF written out, long runs cut."""
    text = repr(bytes(data))[2:-1]
    return text if len(text) <= limit else f"{text[:limit - 20]}...{text[-12:]} ({len(data):,} bytes)"


def _reply_text(value) -> str:
    if isinstance(value, bytes):
        return repr(value) if len(value) <= 30 else f"{len(value):,} bytes"
    return repr(value) if not isinstance(value, Exception) else f"(error) {value}"


class _Watch(KVProtocol):
    """The server's protocol, unchanged, with a note of each event for the session's story."""

    __slots__ = ("notes", "trace")

    def say(self, text: str, at: int | None = None) -> None:
        """Add a line to the story of this step (at position ``at``: before what came since)."""
        self.notes.insert(len(self.notes) if at is None else at, text)

    def connection_made(self, transport):
        super().connection_made(transport)
        self.say(f"server: accepted a connection; its output buffer may hold {HIGH_WATER // 1024} KB before "
                 f"reading pauses (resumes below {LOW_WATER // 1024} KB)")

    def data_received(self, data):
        client, ran = self.client, self.state.commands
        queued, held = len(client.queue), client.parser.buffered if client.parser else 0
        self.say(f"server read {len(data):,} bytes '{_show(data)}'")
        at = len(self.notes)
        super().data_received(data)  # parse, run what is complete, write the replies
        complete = self.state.commands - ran + len(client.queue) - queued
        self.say(f"parser: with the {held:,} bytes it held, {complete} command(s) complete; "
                 f"{client.parser.buffered:,} bytes wait for the rest", at)

    def eof_received(self):
        self.say("server: end of file (the client closed): answer what is queued, then close")
        return super().eof_received()

    def pause_writing(self):
        super().pause_writing()
        self.say(f"server: output buffer {self.transport.get_write_buffer_size():,} bytes > high-water mark "
                 f"{HIGH_WATER:,}: stop running commands and stop reading this client")

    def resume_writing(self):
        self.trace.append((self.transport.loop.time(), self.transport.get_write_buffer_size()))  # the low point
        self.say(f"server: output buffer drained to {self.transport.get_write_buffer_size():,} bytes "
                 f"<= {LOW_WATER:,}: run the waiting commands, read again")
        super().resume_writing()

    def connection_lost(self, exc):
        super().connection_lost(exc)
        self.say("server: connection closed")


class _WatchedTransport(FlowTransport):
    """The server's transport, unchanged, noting what it writes and what the socket takes."""

    def write(self, data) -> None:
        before, at = len(self.buffer), len(self.protocol.notes)
        super().write(data)  # may call pause_writing(), which says so
        if data:
            kept = len(self.buffer) - before
            self.added += kept
            self.protocol.say(f"server wrote {len(data):,} bytes of replies '{_show(data)}'; the socket took "
                              f"{len(data) - kept:,}, the output buffer keeps {kept:,}", at)

    added = 0  # bytes write() has put in the output buffer so far

    def _on_writable(self) -> None:
        before, added, at = len(self.buffer), self.added, len(self.protocol.notes)
        super()._on_writable()  # may call resume_writing(), which runs more commands and writes
        taken = before + self.added - added - len(self.buffer)
        self.protocol.say(f"server socket writable: it took {taken:,} bytes of the output buffer, "
                          f"{before - taken:,} left", at)


class SimSession:
    """One scripted client and the real server on a simulated loop. See the module docstring."""

    simulated = True

    def __init__(self, scenario: str = "partial", latency: float = 0.01, window: int = 16_384):
        validate.one_of(scenario, "scenario", SCENARIOS)
        self.scenario = scenario
        self.loop = Loop()
        self.net = SimNetwork(self.loop, latency=validate.seconds(latency, "latency", minimum=0),
                              buffer_size=validate.count(window, "window", minimum=1, unit="bytes"))
        self.db = Database(self.loop.time, self.loop.call_at, epoch=0.0)
        self.state = ServerState(self.db, "simulated")
        self.notes: list[str] = []  # what happened since the last step, in words
        self.trace: list[tuple[float, int]] = []  # (time, bytes in the server's output buffer)
        self.protocol = self.transport = None
        self.listener = self.net.listen(ADDRESS)
        self.loop.add_reader(self.listener, self._accept)
        # the client
        sends, reading, self.expected = _script(scenario)
        self.sock = self.net.connect(ADDRESS)
        self.sent, self.outbox, self.replies, self._replies = 0, bytearray(), [], Replies()
        for when, data in sends:
            self.loop.call_at(when, self._send, data)
        if reading is None:
            self.loop.add_reader(self.sock, self._read, 65536)
        else:
            self.read_size, self.read_every = reading
            self.loop.call_at(self.read_every, self._read_slowly)

    # -- the server side: accept, then the real protocol on the real transport ----------------
    def _accept(self):
        conn, _ = self.listener.accept()
        conn.fileno = lambda: conn  # the simulated loop waits on the socket object itself: it is its own "fd"
        self.protocol = _Watch(self.state)
        self.protocol.notes, self.protocol.trace = self.notes, self.trace
        self.transport = _WatchedTransport(self.loop, conn, self.protocol)
        self.loop.add_reader(conn, self.transport._on_readable)
        self.protocol.connection_made(self.transport)
        self.loop.remove_reader(self.listener)  # one client in this story: stop listening
        self.listener.close()

    # -- the client side: a script of sends, and a fast or a slow reader ---------------------
    def _send(self, data: bytes):
        self.outbox += data
        self._flush()

    def _flush(self):
        """Send what the window takes now; the rest when the socket is writable again."""
        try:
            taken = self.sock.send(self.outbox)
        except BlockingIOError:
            taken = 0
        if taken:
            self.notes.append(f"client sent {taken:,} bytes '{_show(self.outbox[:taken])}'")
            self.sent += taken
            del self.outbox[:taken]
        if self.outbox:
            self.loop.add_writer(self.sock, self._flush)
            self.notes.append(f"client: {len(self.outbox):,} bytes wait for room in the window")
        else:
            self.loop.remove_writer(self.sock)

    def _read(self, size: int):
        try:
            data = self.sock.recv(size)
        except BlockingIOError:
            self.notes.append("client: nothing to read yet")
            return
        if not data:
            self.loop.remove_reader(self.sock)
            self.sock.close()
            self.notes.append("client: the server closed; client closed too")
            return
        new = self._replies.feed(data)
        self.replies += new
        said = "; ".join(_reply_text(r) for r in new[:5]) + (" ..." if len(new) > 5 else "")
        self.notes.append(
            f"client read {len(data):,} bytes"
            + (f": {len(new)} repl{'y' if len(new) == 1 else 'ies'}: {said}" if new else " (no complete reply yet)")
        )
        if len(self.replies) >= self.expected:
            self.loop.remove_reader(self.sock)
            self.sock.close()
            self.notes.append("client: got every reply, closed the connection")

    def _read_slowly(self):
        if self.sock.closed:
            return
        self._read(self.read_size)
        if not self.sock.closed:
            self.loop.call_later(self.read_every, self._read_slowly)

    # -- the steppable protocol ------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.loop.done

    def step(self) -> str:
        self.notes.clear()
        keys, expired = set(self.db.data), self.db.expired
        record = self.loop.step()
        if self.db.expired > expired:
            gone = ", ".join(repr(k.decode()) for k in keys - set(self.db.data))
            self.notes.append(f"keyspace: {gone} expired on its timer (no client asked for it)")
        if self.transport is not None:
            self.trace.append((self.loop.time(), self.transport.get_write_buffer_size()))
        return " | ".join([str(record)] + self.notes)

    def run(self, max_steps: int = 10_000) -> "SimSession":
        """Step to the end (at most ``max_steps`` steps); returns self."""
        for _ in range(validate.count(max_steps, "max_steps", minimum=1)):
            if self.done:
                break
            self.step()
        return self

    def snapshot(self) -> dict:
        c = self.protocol.client if self.protocol else None
        queue = [b" ".join(args[:3]).decode("latin-1")[:40] for args in c.queue] if c else []
        out = self.transport.get_write_buffer_size() if self.transport else 0
        reading = "—" if c is None else "closed" if self.transport.is_closing() else (
            "reading" if self.transport.reading else "PAUSED (backpressure)")
        return {
            "clock": round(self.loop.time(), 6),
            "client": {"sent": f"{self.sent:,} bytes", "replies": [_reply_text(r) for r in self.replies[-6:]],
                       "waiting for": f"{max(0, self.expected - len(self.replies))} more"},
            "server connection": {
                "parser holds": f"{c.parser.buffered if c and c.parser else 0:,} bytes (an incomplete command)",
                "commands queued": queue or "none",
                "output buffer": f"{out:,} bytes (high-water mark {HIGH_WATER:,})",
                "socket": reading},
            "keyspace": {k.decode(): _reply_text(v) + (f", expires at {self.db.expires[k]} ms" if k in self.db.expires
                                                       else "") for k, v in self.db.data.items()},
            "readers": self.loop.snapshot()["readers"],
            "timers": self.loop.snapshot()["timers"],
        }

    def timeline(self):
        return self.loop.timeline(title=f"simulated session: {self.scenario}")

    def close(self) -> None:
        self.loop.close()
