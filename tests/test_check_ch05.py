"""The checks of chapter 05 pass good answers and fail wrong ones with a one-line hint, quickly."""

import importlib
import select
import selectors
import socket
import time

import pytest
from notebook_code import cells, definitions, find

from course_lib.check import CheckFailed, check
from course_lib.check.echo_bench import try_echo
from course_lib.reactor import Transport

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


def wait_readable_without_timeout(socks, timeout):  # forgets to give select the timeout: waits for ever
    readable, _, _ = select.select(socks, [], [])
    return [s for s in socks if s in readable]


def test_wait_readable_passes():
    check("05.wait_readable", wait_readable_good)


@pytest.mark.parametrize("answer,hint", [
    (wait_readable_any_order, "in the order given"),
    (wait_readable_reads, "only wait, never recv"),
    (wait_readable_ignores_timeout, "wait for the timeout"),
    (wait_readable_sleeps, "return as soon as one is ready"),
    (wait_readable_hangs, "did not return within"),
    (wait_readable_without_timeout, "give select the timeout"),
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
    (drain_returns_last_chunk, "return exactly what recv returned"),
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


# --------------------------------------------------------------------------- more wrong answers, as students write them

def wait_readable_checks_with_recv(socks, timeout):  # "checks" each ready socket by reading a byte
    readable, _, _ = select.select(socks, [], [], timeout)
    return [s for s in socks if s in readable and s.recv(1) is not None]


def wait_readable_poll_in_seconds(socks, timeout):  # poll() takes milliseconds
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    ready = {fd for fd, _ in poller.poll(timeout)}
    return [s for s in socks if s.fileno() in ready]


def wait_readable_peeks(socks, timeout):  # makes the caller's sockets non-blocking to peek
    readable = []
    deadline = time.monotonic() + timeout
    while not readable and time.monotonic() < deadline:
        for s in socks:
            s.setblocking(False)
            try:
                s.recv(1, socket.MSG_PEEK)
                readable.append(s)
            except BlockingIOError:
                pass
        time.sleep(0.01)
    return readable


def wait_readable_spins(socks, timeout):  # asks select again and again, without letting it wait
    deadline = time.monotonic() + timeout
    while True:
        readable, _, _ = select.select(socks, [], [], 0)
        if readable or time.monotonic() >= deadline:
            return [s for s in socks if s in readable]


def wait_readable_skips_the_last(socks, timeout):  # off by one
    readable, _, _ = select.select(socks, [], [], timeout)
    return [s for s in socks[:-1] if s in readable]


def wait_readable_with_poll(socks, timeout):  # a valid alternative
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    ready = {fd for fd, _ in poller.poll(timeout * 1000)}
    return [s for s in socks if s.fileno() in ready]


def wait_readable_with_selectors(socks, timeout):  # a valid alternative
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        ready = {key.fileobj for key, _ in sel.select(timeout)}
    return [s for s in socks if s in ready]


@pytest.mark.parametrize("answer, hint", [
    (wait_readable_checks_with_recv, "never recv"),
    (wait_readable_poll_in_seconds, "wait for the timeout"),
    (wait_readable_peeks, "blocking mode"),
    (wait_readable_spins, "CPU"),
    (wait_readable_skips_the_last, "in the order given"),
])
def test_wait_readable_rejects_more_wrong_answers(answer, hint):
    with pytest.raises(CheckFailed, match=hint) as failure:
        check("05.wait_readable", answer)
    assert "\n" not in str(failure.value) and len(str(failure.value)) < 300


def test_wait_readable_quotes_a_small_case():
    with pytest.raises(CheckFailed, match=r"socket 0 had 1 bytes? waiting"):
        check("05.wait_readable", wait_readable_checks_with_recv)


@pytest.mark.parametrize("answer", [wait_readable_with_poll, wait_readable_with_selectors])
def test_wait_readable_accepts_alternatives(answer):
    check("05.wait_readable", answer)


def drain_reads_the_buffer(sock):  # reads the simulated kernel's buffer, no recv at all
    data = bytes(sock.buffer)
    sock.buffer.clear()
    return data


def drain_reaches_behind_the_socket(sock):
    sim = sock._sim
    data = bytes(sim.buffer)
    sim.buffer.clear()
    return data


def drain_at_most_100_reads(sock):
    chunks = []
    for _ in range(100):
        try:
            chunk = sock.recv(1)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def drain_returns_the_chunks(sock):
    chunks = []
    while True:
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            return chunks
        if not chunk:
            return chunks
        chunks.append(chunk)


def drain_stops_at_a_short_read(sock):  # a valid alternative: a short read means the buffer is empty now
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            break
        data += chunk
        if len(chunk) < 4096:
            break
    return bytes(data)


@pytest.mark.parametrize("answer,hint", [
    (drain_reads_the_buffer, "recv\\(\\) only"),
    (drain_reaches_behind_the_socket, "while recv gave you"),
    (drain_at_most_100_reads, "left in the kernel buffer"),
    (drain_returns_the_chunks, "must return the bytes"),
])
def test_drain_rejects_more_wrong_answers(answer, hint):
    with pytest.raises(CheckFailed, match=hint) as failure:
        check("05.drain", answer)
    assert "\n" not in str(failure.value) and len(str(failure.value)) < 300


def test_drain_quotes_shrunk_arrivals():
    with pytest.raises(CheckFailed, match=r"after the arrival of \d+ bytes,"):
        check("05.drain", drain_once)


def test_drain_accepts_a_short_read_stop():
    check("05.drain", drain_stops_at_a_short_read)


class EchoBaseClassWrite(EchoGood):  # the reactor's own send path, reached through the base class
    def data_received(self, data):
        Transport.write(self.transport, data)


class EchoReloadedReactorWrite(EchoGood):
    def data_received(self, data):
        import course_lib.reactor as reactor

        importlib.reload(reactor).Transport.write(self.transport, data)


class EchoPrependsNewData(EchoGood):  # keeps the rest, but puts new bytes in front of it
    def data_received(self, data):
        self.pending[:0] = data
        self.send_pending()


class EchoDropsWhatWasReceived(EchoGood):  # removes len(data), not what send took
    def data_received(self, data):
        self.pending += data
        try:
            self.sock.send(self.pending)
        except BlockingIOError:
            pass
        except OSError:
            self.transport.abort()
            return
        del self.pending[:len(data)]
        if self.pending:
            self.loop.add_writer(self.sock.fileno(), self.send_pending)


class EchoStopsAskingTooSoon(EchoGood):  # asks to be woken only when nothing at all went out
    def send_pending(self):
        try:
            sent = self.sock.send(self.pending)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.transport.abort()
            return
        del self.pending[:sent]
        if self.pending and sent == 0:
            self.loop.add_writer(self.sock.fileno(), self.send_pending)
        else:
            self.loop.remove_writer(self.sock.fileno())


class EchoAbortsOnAFullBuffer(EchoGood):  # `except OSError` first: it catches BlockingIOError too, and closes
    def send_pending(self):
        try:
            sent = self.sock.send(self.pending)
        except OSError:
            self.transport.abort()
            return
        del self.pending[:sent]
        if self.pending:
            self.loop.add_writer(self.sock.fileno(), self.send_pending)
        else:
            self.loop.remove_writer(self.sock.fileno())


class EchoAlwaysViaTheWriter(EchoGood):  # a valid alternative: every send from the writer callback
    def data_received(self, data):
        self.pending += data
        self.loop.add_writer(self.sock.fileno(), self.send_pending)


@pytest.mark.parametrize("answer,hint", [
    (EchoBaseClassWrite, "switched off"),
    (EchoReloadedReactorWrite, "switched off"),
    (EchoPrependsNewData, "wrong order"),
    (EchoDropsWhatWasReceived, "never sent, or in the wrong order|did not get their whole echo"),
    (EchoStopsAskingTooSoon, "did not get their whole echo"),
    (EchoAbortsOnAFullBuffer, "BlockingIOError is an OSError too: catch it first"),
])
def test_echo_rejects_more_wrong_answers(answer, hint):
    with pytest.raises(CheckFailed, match=hint) as failure:
        check("05.echo", answer)
    assert "\n" not in str(failure.value)


def test_echo_accepts_sending_only_from_the_writer():
    check("05.echo", EchoAlwaysViaTheWriter)


# --------------------------------------------------------------------------- the try cell shows a broken server failing
def test_the_forgetful_server_of_the_notebook_loses_bytes(capsys):
    notebook = "solutions/05_select_poll_epoll"
    cells(notebook, "setup", "echo_forgetful_demo")  # the notebook's own broken server, run as the notebook does
    line = capsys.readouterr().out.strip()
    assert line.startswith("ForgetfulEcho:") and "not as sent" in line, line


@pytest.mark.parametrize("server, words", [
    (EchoGood, "byte-exact"),
    (EchoIgnoresPartialSends, "not as sent"),
    (EchoPrependsNewData, "not as sent"),
    (EchoStopsAskingTooSoon, "the rest was lost"),
    (EchoSendall, "BlockingIOError"),
    (EchoBlocks, "blocking"),
    (EchoAbortsOnAFullBuffer, "closed it on BlockingIOError"),
])
def test_try_echo_tells_a_working_server_from_broken_ones(server, words, capsys):
    try_echo(server)
    line = capsys.readouterr().out
    assert words in line and line.count("\n") == 1, line


def test_the_echo_try_cell_names_the_switched_off_write(capsys):
    module = cells("solutions/05_select_poll_epoll", "setup", "echo_answer")
    module.EchoServer = EchoBaseClassWrite
    exec(find("solutions/05_select_poll_epoll", "echo_try").source, vars(module))
    assert "switched off" in capsys.readouterr().out
