"""The checks of chapter 05 pass good answers and fail wrong ones with a one-line hint, quickly."""

import select
import time

import pytest

from course_lib.check import CheckFailed, check
from notebook_code import definitions

CELLS = ("setup", "wait_readable_answer", "on_readable_answer", "echo_answer")
SOL = definitions("solutions/05_select_poll_epoll", *CELLS)     # the notebook's answers
BLANK = definitions("exercises/05_select_poll_epoll", *CELLS)   # the same cells as the student gets them


# --------------------------------------------------------------------------- 05.wait_readable
wait_readable_good = SOL.wait_readable


def wait_readable_any_order(socks, timeout):
    readable, _, _ = select.select(socks, [], [], timeout)
    return list(reversed(readable))


def wait_readable_reads(socks, timeout):
    readable, _, _ = select.select(socks, [], [], timeout)
    for s in readable:
        s.recv(1000)
    return [s for s in socks if s in readable]


def wait_readable_ignores_timeout(socks, timeout):
    readable, _, _ = select.select(socks, [], [], 0)
    return [s for s in socks if s in readable]


def wait_readable_sleeps(socks, timeout):
    time.sleep(timeout)
    readable, _, _ = select.select(socks, [], [], 0)
    return [s for s in socks if s in readable]


def wait_readable_hangs(socks, timeout):
    time.sleep(60)


def test_wait_readable_passes():
    check("05.wait_readable", wait_readable_good)


@pytest.mark.parametrize("answer,hint", [
    (wait_readable_any_order, "in the order given"),
    (wait_readable_reads, "only wait, not read"),
    (wait_readable_ignores_timeout, "wait for the timeout"),
    (wait_readable_sleeps, "return as soon as one is ready"),
    (wait_readable_hangs, "did not return within"),
])
def test_wait_readable_fails_with_hint(answer, hint):
    with pytest.raises(CheckFailed, match=hint) as failure:
        check("05.wait_readable", answer)
    assert "\n" not in str(failure.value)


# --------------------------------------------------------------------------- 05.drain
drain_good = SOL.on_readable


def drain_once(sock):
    try:
        return sock.recv(4096)
    except BlockingIOError:
        return b""


def drain_ignores_eof(sock):
    chunks = []
    while True:
        try:
            chunks.append(sock.recv(4096))
        except BlockingIOError:
            return b"".join(chunks)


def drain_spins_on_eagain(sock):
    chunks = []
    while True:
        try:
            chunks.append(sock.recv(4096))
        except Exception:  # swallows everything it can: the check must still stop it
            continue


def drain_retries_after_eagain(sock):
    chunks = []
    for _ in range(2):
        while True:
            try:
                chunk = sock.recv(4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def drain_returns_last_chunk(sock):
    last = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            return last
        if not chunk:
            return last
        last = chunk


def test_drain_passes():
    check("05.drain", drain_good)
    check("05.drain", drain_good, extra=True)


@pytest.mark.parametrize("answer,hint", [
    (drain_once, "left in the kernel buffer"),
    (drain_ignores_eof, "without end"),
    (drain_spins_on_eagain, "without end"),
    (drain_retries_after_eagain, "again after it raised BlockingIOError"),
    (drain_returns_last_chunk, "differ from those that arrived"),
])
def test_drain_fails_with_hint(answer, hint):
    start = time.monotonic()
    with pytest.raises(CheckFailed, match=hint):
        check("05.drain", answer)
    assert time.monotonic() - start < 10


# --------------------------------------------------------------------------- 05.echo
EchoGood = SOL.EchoServer   # the wrong answers below are the given class with one method broken


class EchoIgnoresPartialSends(EchoGood):
    def send_pending(self):
        try:
            self.sock.send(self.pending)
        except OSError:
            pass
        self.pending.clear()


class EchoNeverAsksToWrite(EchoGood):
    def send_pending(self):
        try:
            sent = self.sock.send(self.pending)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.transport.abort()
            return
        del self.pending[:sent]


class EchoKeepsWriteInterest(EchoGood):
    def send_pending(self):
        try:
            sent = self.sock.send(self.pending)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.transport.abort()
            return
        del self.pending[:sent]
        self.loop.add_writer(self.sock.fileno(), self.send_pending)


class EchoCrashesOnVanish(EchoGood):
    def send_pending(self):
        try:
            sent = self.sock.send(self.pending)
        except BlockingIOError:
            sent = 0
        del self.pending[:sent]
        if self.pending:
            self.loop.add_writer(self.sock.fileno(), self.send_pending)
        else:
            self.loop.remove_writer(self.sock.fileno())


class EchoSendall(EchoGood):
    def data_received(self, data):
        self.sock.sendall(data)


class EchoUsesTransportWrite(EchoGood):
    def data_received(self, data):
        self.transport.write(data)


EchoStub = BLANK.EchoServer


def test_echo_passes():
    start = time.monotonic()
    check("05.echo", EchoGood)
    assert time.monotonic() - start < 15


@pytest.mark.parametrize("answer,hint", [
    (EchoStub, "not written yet"),
    (EchoIgnoresPartialSends, "never sent, or in the wrong order|did not get their whole echo|BlockingIOError"),
    (EchoNeverAsksToWrite, "did not get their whole echo"),
    (EchoKeepsWriteInterest, "the loop spins"),
    (EchoCrashesOnVanish, "vanished"),
    (EchoSendall, "BlockingIOError"),
    (EchoUsesTransportWrite, "send with self.sock.send"),
])
def test_echo_fails_with_hint(answer, hint):
    start = time.monotonic()
    with pytest.raises(CheckFailed, match=hint) as failure:
        check("05.echo", answer)
    assert "\n" not in str(failure.value)
    assert time.monotonic() - start < 30


class EchoBlocks(EchoGood):
    def data_received(self, data):
        self.sock.setblocking(True)
        self.sock.sendall(data)


class EchoSleeps(EchoGood):
    def data_received(self, data):
        time.sleep(30)


@pytest.mark.parametrize("answer,hint", [
    (EchoBlocks, "blocking mode"),
    (EchoSleeps, "stuck inside data_received"),
])
def test_echo_that_blocks_the_loop_fails_quickly(answer, hint):
    start = time.monotonic()
    with pytest.raises(CheckFailed, match=hint):
        check("05.echo", answer)
    assert time.monotonic() - start < 15
