"""The checks of chapter 07 pass the notebook's answers and reject plausible wrong ones with one short hint.

The answers are the solution notebook's own cells (tests/notebook_code.py); each wrong answer
is the right one with one plausible mistake, written as a subclass or a small function.
"""

import pytest
from notebook_code import definitions

from course_lib.check import CheckFailed, check, getrange_cases
from course_lib.kv.protocol import KVProtocol

CELLS = ("setup", "parser_answer", "store_answer", "handler_answer", "getrange_answer")
SOL = definitions("solutions/07_capstone_server", *CELLS)
BLANK = definitions("exercises/07_capstone_server", *CELLS)
ProtocolError, Error, integer, string_value = SOL.ProtocolError, SOL.Error, SOL.integer, SOL.string_value


def fails(exercise_id, answer, hint):
    with pytest.raises(CheckFailed, match=hint) as failure:
        check(exercise_id, answer)
    message = str(failure.value)
    assert "\n" not in message and len(message) < 400, message
    return message


# --------------------------------------------------------------------------- 07.parser
class SplitsOnCRLF(SOL.RespParser):
    """Finds words by searching for CR LF instead of counting their length."""

    def _one(self, buf):
        lines = buf.split(b"\r\n")
        if len(lines) < 2 or not lines[0][1:].isdigit():
            return None, 0
        n = int(lines[0][1:])
        if len(lines) < 2 + 2 * n:
            return None, 0
        words = lines[2:2 + 2 * n:2]
        return words, sum(len(line) + 2 for line in lines[:1 + 2 * n])


class FirstCommandOnly(SOL.RespParser):
    """Returns one command per feed; the others are lost."""

    def feed(self, data):
        return super().feed(data)[:1]


class DropsLeftover(SOL.RespParser):
    """Forgets the bytes after the last complete command."""

    def feed(self, data):
        commands = super().feed(data)
        if commands:
            self.buffer = b""
        return commands


class WaitsForLineEnd(SOL.RespParser):
    """Parses only when a piece ends with CR LF: complete commands come late."""

    def feed(self, data):
        if not (self.buffer + data).endswith(b"\r\n"):
            self.buffer += data
            return []
        return super().feed(data)


class IntParser(SOL.RespParser):
    """Reads lengths with int(): ValueError for '$x', accepts '$ 3' and '$-3'."""

    def _one(self, buf):
        end = buf.find(b"\r\n")
        if end < 0:
            return None, 0
        count, pos, words = int(buf[1:end]), end + 2, []
        for _ in range(count):
            end = buf.find(b"\r\n", pos)
            if end < 0:
                return None, 0
            length = int(buf[pos + 1:end])
            start = end + 2
            if len(buf) < start + length + 2:
                return None, 0
            words.append(buf[start:start + length])
            pos = start + length + 2
        return words, pos


class NoDollarCheck(SOL.RespParser):
    """Never looks at the '$' before a length."""

    def _one(self, buf):
        return super()._one(buf.replace(b"\r\n:", b"\r\n$"))


class ForgetsTrailingCRLF(SOL.RespParser):
    """Does not skip the CR LF after a word."""

    def _one(self, buf):
        words, used = super()._one(buf)
        return (words, used - 2) if words is not None else (None, 0)


class OwnErrorText(SOL.RespParser):
    """Raises ProtocolError, but with a text of its own: the client would not see Redis's error."""

    def _one(self, buf):
        try:
            return super()._one(buf)
        except ProtocolError:
            raise ProtocolError("bad input") from None


class ReusesTheCourseParser(SOL.RespParser):
    def __init__(self):
        super().__init__()
        from course_lib.resp import Parser

        self.inner = Parser()

    def feed(self, data):
        return self.inner.feed(data)


class Hangs(SOL.RespParser):
    def feed(self, data):
        self.buffer += data
        while not self.buffer.endswith(b"\r\n"):
            pass
        return super().feed(b"")


def test_parser_passes():
    check("07.parser", SOL.RespParser)


def test_parser_blank_is_not_written():
    fails("07.parser", BLANK.RespParser, "not written yet")


@pytest.mark.parametrize("answer,hint", [
    (SplitsOnCRLF, "count its length"),
    (FirstCommandOnly, "all of them when several came at once"),
    (DropsLeftover, "expected|is valid, yet"),
    (WaitsForLineEnd, "as soon as its last byte has arrived"),
    (IntParser, "raise ProtocolError|was accepted"),
    (NoDollarCheck, "was accepted"),
    (ForgetsTrailingCRLF, "expected|is valid, yet"),
    (Hangs, "did not return within 5 s"),
    (OwnErrorText, "Redis names this fault ProtocolError\\('invalid bulk length'\\)"),
    (ReusesTheCourseParser, "write the parser yourself"),
])
def test_parser_rejects(answer, hint):
    fails("07.parser", answer, hint)


# --------------------------------------------------------------------------- 07.expiry
class NoLazyExpiry(SOL.Store):
    def lookup(self, key):
        return self.data.get(key)


class NoActiveExpiry(SOL.Store):
    def set_deadline(self, key, when):
        self.deadline[key] = when


class PlainSetKeepsDeadline(SOL.Store):
    def cmd_set(self, key, value, *options):
        if options:
            return super().cmd_set(key, value, *options)
        self.data[key] = value
        return "OK"


class NeverCancels(SOL.Store):
    def set_deadline(self, key, when):
        self.deadline[key] = when
        self.timers[key] = self.loop.call_at(when, self._expire_if_due, key)

    def _expire_if_due(self, key):  # careful enough not to delete a key early: only the count gives it away
        if key in self.deadline and self.loop.time() >= self.deadline[key]:
            self.timers.pop(key, None)
            self.forget(key)

    def forget(self, key):
        self.data.pop(key, None)
        self.deadline.pop(key, None)
        self.timers.pop(key, None)


class StrictlyAfterDeadline(SOL.Store):
    def lookup(self, key):
        when = self.deadline.get(key)
        if when is not None and self.loop.time() > when:
            self.forget(key)
        return self.data.get(key)


class PttlInSeconds(SOL.Store):
    def cmd_pttl(self, key):
        ms = super().cmd_pttl(key)
        return ms if ms < 0 else round(ms / 1000)


class ExpireMissingKey(SOL.Store):
    def cmd_expire(self, key, seconds):
        super().cmd_expire(key, seconds)
        return 1


class PastDeadlineKept(SOL.Store):
    def cmd_expire(self, key, seconds):
        seconds = integer(seconds)
        if self.lookup(key) is None:
            return 0
        self.set_deadline(key, self.loop.time() + max(seconds, 0) + 1)
        return 1


class PttlTruncated(SOL.Store):
    """int() instead of round(): 299.99999999999994 ms left becomes 299."""

    def cmd_pttl(self, key):
        if self.lookup(key) is None:
            return -2
        when = self.deadline.get(key)
        return -1 if when is None else int((when - self.loop.time()) * 1000)


class ExpireRevivesKey(SOL.Store):
    """EXPIRE looks in self.data, not through lookup(): a key whose deadline has come gets a new one."""

    def cmd_expire(self, key, seconds):
        seconds = integer(seconds)
        if key not in self.data:
            return 0
        if seconds <= 0:
            self.forget(key)
        else:
            self.set_deadline(key, self.loop.time() + seconds)
        return 1


class ZeroExpireAccepted(SOL.Store):
    """SET k v EX 0 stores the key without a deadline instead of refusing the expire time."""

    def cmd_set(self, key, value, *options):
        if len(options) == 2 and options[0].upper() in (b"EX", b"PX") and integer(options[1]) <= 0:
            options = ()
        return super().cmd_set(key, value, *options)


class BadOptionsAccepted(SOL.Store):
    def cmd_set(self, key, value, *options):
        if options and options[0].upper() not in (b"EX", b"PX"):
            options = ()
        return super().cmd_set(key, value, *options)


class WrapsTheCourseKeyspace(SOL.Store):
    def __init__(self, loop):
        super().__init__(loop)
        from course_lib.kv.db import Database

        self.inner = Database(loop.time, loop.call_at)


def test_expiry_passes():
    check("07.expiry", SOL.Store)


def test_expiry_blank_is_not_written():
    fails("07.expiry", BLANK.Store, "not written yet")


@pytest.mark.parametrize("answer,hint", [
    (NoLazyExpiry, "before its timer ran"),
    (NoActiveExpiry, "active expiry"),
    (PlainSetKeepsDeadline, "a plain SET, PERSIST or deleting a key removes its deadline"),
    (NeverCancels, "cancel a key's timer"),
    (StrictlyAfterDeadline, "before its timer ran"),
    (PttlInSeconds, "milliseconds left"),
    (ExpireMissingKey, "expected 0"),
    (PastDeadlineKept, "should be gone"),
    (BadOptionsAccepted, "syntax error"),
    (PttlTruncated, "rounded"),
    (ExpireRevivesKey, "even before its timer ran"),
    (ZeroExpireAccepted, "invalid expire time"),
    (WrapsTheCourseKeyspace, "write the keyspace yourself"),
])
def test_expiry_rejects(answer, hint):
    fails("07.expiry", answer, hint)


# --------------------------------------------------------------------------- 07.handler
class NoBackpressure(SOL.Handler):
    def serve(self):
        if self.client.waiting:
            self.transport.write(self.client.run())
        if self.client.closing or (self.eof and not self.client.waiting):
            self.transport.close()


class NeverResumes(SOL.Handler):
    def resume_writing(self):
        self.paused = False


class KeepsReading(SOL.Handler):
    def serve(self):
        client, transport = self.client, self.transport
        while client.waiting and not self.paused and not transport.is_closing():
            transport.write(client.run(max(SOL.HIGH_WATER - transport.get_write_buffer_size(), 1)))
        if not transport.is_closing() and (client.closing or (self.eof and not client.waiting)):
            transport.close()


class OneCommandPerRead(SOL.Handler):
    def serve(self):
        if self.client.waiting and not self.transport.is_closing():
            self.transport.write(self.client.run(1))
        if self.client.closing:
            self.transport.close()


class IgnoresClosing(SOL.Handler):
    def serve(self):
        client, transport = self.client, self.transport
        while client.waiting and not self.paused and not transport.is_closing():
            transport.write(client.run(max(SOL.HIGH_WATER - transport.get_write_buffer_size(), 1)))
            client.closing = False
        if transport.is_closing():
            return
        if self.eof and not client.waiting:
            transport.close()
        elif client.waiting:
            transport.pause_reading()
        else:
            transport.resume_reading()


class IgnoresEOF(SOL.Handler):
    def eof_received(self):
        return True


def _close_or_pause(handler) -> None:
    """The end of the solution's serve(), for the variants below that change only how they write."""
    client, transport = handler.client, handler.transport
    if transport.is_closing():
        return
    if client.closing or (handler.eof and not client.waiting):
        transport.close()
    elif client.waiting:
        transport.pause_reading()
    else:
        transport.resume_reading()


class AlwaysHighWater(SOL.Handler):
    """Asks for HIGH_WATER bytes of replies on every write, whatever is already buffered."""

    def serve(self):
        client, transport = self.client, self.transport
        while client.waiting and not self.paused and not transport.is_closing():
            transport.write(client.run(SOL.HIGH_WATER))
        _close_or_pause(self)


class CourseHandler(KVProtocol):
    """The course's own protocol class, handed in as the answer."""


class BlockingSendall(SOL.Handler):
    """Writes with a blocking sendall on the socket: the loop waits for the client that reads nothing."""

    def serve(self):
        sock = self.transport.get_extra_info("socket")
        while self.client.waiting:
            sock.setblocking(True)
            sock.sendall(self.client.run(SOL.HIGH_WATER))
            sock.setblocking(False)
        if self.client.closing or (self.eof and not self.client.waiting):
            self.transport.close()


class Crashes(SOL.Handler):
    def data_received(self, data):
        if b"ECHO" in data:
            raise KeyError("oops")
        super().data_received(data)


def test_handler_passes():
    check("07.handler", SOL.Handler)


class OneReplyPerWrite(SOL.Handler):
    """A valid alternative: one reply per write, while the buffer is below HIGH_WATER."""

    def serve(self):
        client, transport = self.client, self.transport
        while client.waiting and transport.get_write_buffer_size() < SOL.HIGH_WATER and not transport.is_closing():
            transport.write(client.run(1))
        _close_or_pause(self)


def test_handler_passes_one_reply_per_write():
    check("07.handler", OneReplyPerWrite)


def test_handler_blank_is_not_written():
    fails("07.handler", BLANK.Handler, "not written yet")


@pytest.mark.parametrize("answer,hint", [
    (NoBackpressure, "stop running commands"),
    (NeverResumes, "after resume_writing"),
    (KeepsReading, "pause_reading"),
    (AlwaysHighWater, r"HIGH_WATER - transport\.get_write_buffer_size\(\) = [0-9,]+: pass that room to client\.run"),
    (OneCommandPerRead, "pipelining|answer them all"),
    (IgnoresClosing, "QUIT"),
    (IgnoresEOF, "eof_received"),
    (Crashes, "your Handler raised KeyError"),
    (BlockingSendall, "blocking call"),
    (CourseHandler, "write the handler yourself"),
])
def test_handler_rejects(answer, hint):
    fails("07.handler", answer, hint)


# --------------------------------------------------------------------------- 07.getrange
def getrange_python_slice(c, args):
    start, end = integer(args[2]), integer(args[3])
    value = string_value(c, args[1])
    return b"" if value is None else value[start:end + 1]


def getrange_null_for_missing(c, args):
    if c.db.lookup(args[1]) is None:
        integer(args[2]), integer(args[3])
        return None
    return SOL.getrange(c, args)


def getrange_type_first(c, args):
    string_value(c, args[1])
    return SOL.getrange(c, args)


def getrange_str(c, args):
    return SOL.getrange(c, args).decode("latin-1")


def getrange_redis8(c, args):
    end, value = integer(args[3]), string_value(c, args[1])
    if value is not None and end < -len(value):
        integer(args[2])
        return b""
    return SOL.getrange(c, args)


def getrange_float_indexes(c, args):
    args = list(args)
    for i in (2, 3):
        try:
            args[i] = b"%d" % int(float(args[i]))
        except ValueError:
            pass
    return SOL.getrange(c, args)


def getrange_int(c, args):
    """int() instead of integer(): a ValueError where Redis answers 'not an integer'."""
    return SOL.getrange(c, [*args[:2], b"%d" % int(args[2]), b"%d" % int(args[3])])


def getrange_null_for_empty(c, args):
    return SOL.getrange(c, args) or None


def test_getrange_passes():
    check("07.getrange", SOL.getrange)


def test_getrange_blank_is_not_written():
    fails("07.getrange", BLANK.getrange, "not written yet")


@pytest.mark.parametrize("answer,hint", [
    (getrange_python_slice, "redis-server replies"),
    (getrange_null_for_missing, "empty string, not null"),
    (getrange_type_first, "their error comes first"),
    (getrange_str, "return bytes, not str"),
    (getrange_redis8, "redis-server replies b'\\$1"),
    (getrange_float_indexes, "not an integer|redis-server replies"),
    (getrange_int, "raised ValueError .* integer\\(...\\)"),
    (getrange_null_for_empty, "an empty range, or a missing key"),
])
def test_getrange_rejects(answer, hint):
    fails("07.getrange", answer, hint)


def test_getrange_stored_replies_without_a_live_server(monkeypatch):
    """Where no redis-server 7.0 is installed the stored replies decide, and they still reject."""
    import course_lib.check.ch07_protocol as ch07_protocol

    monkeypatch.setattr(ch07_protocol, "_live_server", lambda: None)
    check("07.getrange", SOL.getrange)
    fails("07.getrange", getrange_python_slice, "redis-server replies")
    assert len(getrange_cases.CASES) == len(getrange_cases.case_list()) > 400
