"""One connection as asyncio's callbacks see it, and the flow control the reactor lacked.

What it is: ``KVProtocol`` has asyncio's ``Protocol`` methods (``connection_made``,
``data_received``, ``eof_received``, ``pause_writing``, ``resume_writing``,
``connection_lost``) and hands the bytes to a ``Client``. The same class serves
connections on the course reactor and on asyncio: only the loop under it changes.

Its rule is *backpressure*: run the commands received while the output buffer has
room; once the transport says the buffer passed its high-water mark
(``pause_writing``), stop running commands and stop reading that socket
(``pause_reading``) until it drains below the low-water mark (``resume_writing``).
A client that sends and never reads then fills the kernel's socket buffers and
blocks in its own ``send``, and the server holds at most ``HIGH_WATER`` bytes plus
one reply for it.

``FlowTransport`` adds that flow control to chapter 05's ``Transport`` (which left
it out), with asyncio's names and meaning: ``set_write_buffer_limits``,
``pause_reading``/``resume_reading``, and the calls to ``pause_writing`` and
``resume_writing`` when the buffer crosses the marks.

What it is not: asyncio's transports (no ``write_eof``, no buffer of many chunks).
"""

from __future__ import annotations

from course_lib.kv.client import Client, ServerState
from course_lib.reactor import Transport

__all__ = ["KVProtocol", "FlowTransport", "HIGH_WATER", "LOW_WATER"]

HIGH_WATER = 64 * 1024  # stop reading a client whose unsent replies pass this many bytes...
LOW_WATER = 16 * 1024  # ...until they drain below this


class KVProtocol:
    """One connection, driven by asyncio's callbacks (course reactor or asyncio alike)."""

    __slots__ = ("client", "state", "transport", "paused", "eof")

    def __init__(self, state: ServerState):
        self.state, self.client = state, Client(state)
        self.transport, self.paused, self.eof = None, False, False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(HIGH_WATER, LOW_WATER)
        self.state.connected += 1

    def data_received(self, data: bytes) -> None:
        self.client.feed(data)
        self._serve()

    def eof_received(self):
        self.eof = True  # answer what was received, then close
        self._serve()
        return True

    def pause_writing(self) -> None:  # the output buffer passed HIGH_WATER
        self.paused = True

    def resume_writing(self) -> None:  # ...and drained below LOW_WATER
        self.paused = False
        self._serve()

    def connection_lost(self, exc) -> None:
        self.state.connected -= 1

    def _serve(self) -> None:
        """Run queued commands while the output has room; read only when everything is answered."""
        client, transport = self.client, self.transport
        while client.waiting and not self.paused and not transport.is_closing():
            room = HIGH_WATER - transport.get_write_buffer_size()
            transport.write(client.run(max(room, 1)))  # past HIGH_WATER, write() calls pause_writing()
        if transport.is_closing():
            return
        if client.closing or (self.eof and not client.waiting):
            transport.close()  # sends what is buffered first
        elif client.waiting or self.eof:
            transport.pause_reading()
        else:
            transport.resume_reading()


class FlowTransport(Transport):
    """The course reactor's ``Transport`` plus asyncio's flow control (names and meaning)."""

    high, low = HIGH_WATER, LOW_WATER  # class defaults: an idle connection stores none of these
    reading, writing_paused = True, False

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        if (high, low) != (self.high, self.low):
            self.high, self.low = high, low

    def pause_reading(self) -> None:
        if self.reading and not self._closing:
            self.reading = False
            self.loop.remove_reader(self.fd)

    def resume_reading(self) -> None:
        if not self.reading and not self._closing:
            self.reading = True
            self.loop.add_reader(self.fd, self._on_readable)

    def write(self, data) -> None:
        super().write(data)
        if len(self.buffer) > self.high and not self.writing_paused:
            self.writing_paused = True
            self.protocol.pause_writing()

    def _on_writable(self) -> None:
        super()._on_writable()
        if self.writing_paused and len(self.buffer) <= self.low and not self._closed:
            self.writing_paused = False
            try:
                self.protocol.resume_writing()
            except Exception as exc:  # a bug in the protocol: drop this connection only
                self._protocol_failed(exc)
