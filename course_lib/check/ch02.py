"""Checks of chapter 02, "Blocking I/O".

What it is: the checks behind ``exercises/02_blocking_io.ipynb``.

- ``02.recv_exactly``  the student's ``recv_exactly(sock, n)`` reads exactly ``n`` bytes from a
  real socket whose peer (a thread) writes in random chunk sizes with random pauses; it must not
  read past ``n`` (the bytes after belong to the next message) and must raise ``EOFError`` when
  the peer closes early. Last, a real exchange with the slow server, which sends in small chunks.
- ``02.wait_for_data`` the student's ``wait_for_data(sock)`` gets a *non-blocking* socket on
  which the slow server answers after a delay. It must return the first bytes that arrive while
  its thread sleeps: the check counts the ``recv`` calls that came back with ``EAGAIN`` (a busy
  poll makes thousands, even on a crowded machine), the thread's CPU time against the wall
  time (with a generous margin), and how late after the answer's arrival the function
  returned (the delays are random, so a fixed ``time.sleep`` cannot fit them all).
- ``02.io_models``     a dict classifying seven code snippets into the five Unix I/O models.

What it is not: a timing benchmark. Nothing here fails because a machine is slow; the only time
limits are generous time-outs that stop a student's function that would never return.
"""

from __future__ import annotations

import socket
import threading
import time

from course_lib.check import CheckFailed, exercise, expect
from course_lib.check.spysockets import CountingSocket, TimedServer, counting_select
from course_lib.check.timeout import run_in_thread
from course_lib.slowserver import SlowServer

__all__ = ["IO_MODELS", "check_recv_exactly", "check_wait_for_data", "check_io_models"]

IO_MODELS = ("blocking", "non-blocking", "multiplexing", "signal-driven", "asynchronous")

TIMEOUT = 10.0  # seconds a student's function may take before the check gives up on it
SOCKET_TIMEOUT = 5.0  # a recv that waits this long on a check's socket raises TimeoutError


def _hard_close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _raise_student_error(error):
    """Let ``check`` turn an unexpected exception of the student's code into its usual hint."""
    if error is not None:
        raise error


# ------------------------------------------------------------------------------ recv_exactly
def _feed(sock, data, rng, close):
    """Write ``data`` to ``sock`` in random chunks with short random pauses; maybe close after."""
    try:
        i = 0
        while i < len(data):
            size = rng.randint(1, 200)
            sock.sendall(data[i : i + size])
            i += size
            if rng.random() < 0.3:
                time.sleep(rng.uniform(0, 0.004))
    except OSError:
        pass
    finally:
        if close:
            _hard_close(sock)


def _one_case(recv_exactly, rng, n, extra_bytes, close_after):
    """One socketpair; returns a hint (str) or None when the student's code did the right thing."""
    reader, writer = socket.socketpair()
    reader.settimeout(SOCKET_TIMEOUT)
    rest = bytes(rng.randrange(256) for _ in range(extra_bytes))
    if close_after is None:
        message = bytes(rng.randrange(256) for _ in range(n))
        data = message + rest
    else:
        data = bytes(rng.randrange(256) for _ in range(close_after))
    feeder = threading.Thread(target=_feed, args=(writer, data, rng, close_after is not None), daemon=True)
    feeder.start()
    try:
        outcome = run_in_thread(
            recv_exactly, reader, n, timeout=TIMEOUT if close_after is None else 4.0,  # the peer closes within ms
            on_timeout=lambda: _hard_close(reader), grace=5, name="recv_exactly")
        value, error, finished = outcome.value, outcome.error, outcome.finished
        if not finished:
            if close_after is not None:
                return (f"recv_exactly(sock, {n}) never returned after the peer closed at {close_after} bytes: "
                        "recv returns b'' once the peer has closed; raise EOFError then")
            return f"recv_exactly(sock, {n}) did not return within {TIMEOUT:g} s: stop once you have n bytes"
        if isinstance(error, NotImplementedError):
            raise error
        if close_after is not None:
            if isinstance(error, EOFError):
                return None
            if error is not None:
                got = f"raised {type(error).__name__}"
            elif isinstance(value, (bytes, bytearray)):
                got = f"returned {len(value)} bytes"
            else:
                got = f"returned {_short(value)}"
            return (f"the peer closed after {close_after} of {n} bytes and recv_exactly {got}: "
                    "raise EOFError when recv returns b'' before you have n bytes")
        if isinstance(error, TimeoutError):
            return (f"recv_exactly(sock, {n}) waited {SOCKET_TIMEOUT:g} s for bytes that were not coming: "
                    "stop as soon as you have n bytes")
        if isinstance(error, EOFError):
            return (f"recv_exactly(sock, {n}) raised EOFError, but the peer had sent all {n} bytes and was still "
                    "connected: stop as soon as you have n bytes (recv(0) returns b'' too)")
        _raise_student_error(error)
        if not isinstance(value, (bytes, bytearray)):
            return f"recv_exactly must return bytes, got {type(value).__name__}"
        if len(value) != n:
            more = (" recv may return fewer bytes than asked for: call it again until you have n"
                    if len(value) < n else " ask recv for at most n - len(data) bytes")
            return f"recv_exactly(sock, {n}) returned {len(value)} bytes.{more}"
        if bytes(value) != message:
            return f"recv_exactly(sock, {n}) returned {n} bytes, but not the ones sent, in the order sent"
        feeder.join(TIMEOUT)
        writer.shutdown(socket.SHUT_WR)
        left = bytearray()
        while chunk := reader.recv(65536):
            left += chunk
        if bytes(left) != rest:
            return (f"after recv_exactly(sock, {n}) the bytes that followed on the socket were gone: "
                    "ask recv for at most n - len(data) bytes, so the next message stays in the kernel")
        return None
    finally:
        _hard_close(reader)
        _hard_close(writer)
        feeder.join(TIMEOUT)


def _short(value):
    text = repr(value)
    return text if len(text) < 40 else text[:36] + "...'"


@exercise("02.recv_exactly", "Read exactly n bytes")
def check_recv_exactly(recv_exactly, *, rng, extra):
    expect(callable(recv_exactly), "pass your function itself: check('02.recv_exactly', recv_exactly)")
    cases = [(0, 5, None), (1, 0, None)]  # n = 0 must not wait for anything
    for _ in range(30 if extra else 14):
        n = rng.choice([rng.randint(1, 50), rng.randint(50, 3000)])
        cases.append((n, rng.randint(0, 300), None))
    for _ in range(4 if extra else 3):  # the peer closes early
        n = rng.randint(2, 2000)
        cases.append((n, 0, rng.randint(0, n - 1)))
    rng.shuffle(cases)
    for n, extra_bytes, close_after in cases:
        hint = _one_case(recv_exactly, rng, n, extra_bytes, close_after)
        expect(hint is None, hint)
    # a real exchange: the slow server sends 3-byte chunks with pauses, then closes
    reply = b"three bytes at a time, from a real server\n"
    with SlowServer(delay=0.05, response=reply, chunk_size=3, chunk_delay=0.005) as srv:
        with socket.create_connection(srv.address, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET\n")
            outcome = run_in_thread(recv_exactly, sock, len(reply), timeout=TIMEOUT,
                                    on_timeout=lambda: _hard_close(sock), grace=5, name="recv_exactly")
            value, error, finished = outcome.value, outcome.error, outcome.finished
            expect(finished, f"recv_exactly(sock, {len(reply)}) on the slow server did not return within {TIMEOUT:g} s")
            _raise_student_error(error)
            expect(value == reply, f"from the slow server you returned {_short(value)}, expected {_short(reply)}")
            outcome = run_in_thread(recv_exactly, sock, 1, timeout=TIMEOUT, on_timeout=lambda: _hard_close(sock),
                                    grace=5, name="recv_exactly")
            error, finished = outcome.error, outcome.finished
            expect(finished and isinstance(error, EOFError),
                   "after the slow server closed, recv_exactly(sock, 1) must raise EOFError")
    return f"{len(cases)} sockets fed in random chunks, 1 slow server"


# ------------------------------------------------------------------------------ wait_for_data
MAX_LAG = 0.3  # seconds between the answer's arrival and wait_for_data's return (a woken thread takes ~1 ms)


def _wait_case(wait_for_data, delay, reply):
    def timed(sock):
        value = wait_for_data(sock)
        return value, time.perf_counter()

    with TimedServer(delay=delay, response=reply) as srv:
        sock = CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(TIMEOUT)
            sock.connect(srv.address)
            sock.sendall(b"any news?\n")
            sock.setblocking(False)
            with counting_select(expire_once=True) as hurried:   # a select timeout "runs out" once
                outcome = run_in_thread(timed, sock, timeout=TIMEOUT, on_timeout=lambda: _hard_close(sock),
                                        grace=5, name="wait_for_data")
            value, error, finished = outcome.value, outcome.error, outcome.finished
            cpu, wall = outcome.cpu, outcome.wall
            sent_at = srv.sent_at
        finally:
            _hard_close(sock)
    what = f"answered after {delay:.2f} s" if reply else f"closed after {delay:.2f} s"
    expect(finished, f"wait_for_data did not return within {TIMEOUT:g} s although the server {what}")
    expect(not (isinstance(error, BlockingIOError) and hurried.expired),
           "select's timeout ran out with nothing readable, and recv raised BlockingIOError: look at what "
           "select returns before you call recv, or call select without a timeout")
    expect(not isinstance(error, BlockingIOError),
           "recv raised BlockingIOError: the socket is non-blocking and nothing had arrived yet; wait first")
    expect(not isinstance(error, TimeoutError),
           f"recv raised TimeoutError although the server {what}: wait until data (or a close) comes, "
           "with no time limit of your own")
    _raise_student_error(error)
    value, returned_at = value
    expect(value is not None, "wait_for_data returned None: return the bytes that recv gave you")
    expect(isinstance(value, (bytes, bytearray)), f"wait_for_data must return bytes, got {type(value).__name__}")
    if reply:
        expect(len(value) > 0 and reply.startswith(bytes(value)),
               f"wait_for_data returned {_short(value)}, but the server sent {_short(reply)}")
        expect(bytes(value) == reply, f"wait_for_data returned {_short(value)}, only the start of the "
                                      f"{len(reply)} bytes that had arrived: ask recv for up to 4096 bytes")
    else:
        expect(value == b"",
               f"the server closed without sending anything; wait_for_data should return b'', got {_short(value)}")
    expect(sock.eagain <= 1,
           f"while waiting, recv came back empty (EAGAIN) {sock.eagain} times: that is polling. "
           "Let the kernel wait: make the socket blocking, or wait with select, then recv once")
    expect(len(hurried) <= 2,
           f"select came back at once {len(hurried)} times (timeout 0): that is polling, and it keeps a CPU busy; "
           "call select without a timeout and let the kernel wait")
    lag = returned_at - sent_at
    expect(lag <= MAX_LAG,
           f"the server {what}, and wait_for_data returned {lag:.2f} s later: don't sleep for a fixed time, "
           "let the kernel wake you when data comes (blocking recv, or select)")
    # A sleeping thread uses almost no CPU (measured: well under 1%); a busy one up to 100%.
    expect(cpu <= max(0.15, 0.35 * wall),
           f"your thread used {cpu:.2f} s of CPU in {wall:.2f} s of waiting: it should sleep while it waits")
    return sock.eagain, cpu, wall


@exercise("02.wait_for_data", "Wait without burning a core")
def check_wait_for_data(wait_for_data, *, rng, extra):
    expect(callable(wait_for_data), "pass your function itself: check('02.wait_for_data', wait_for_data)")
    # a short, a middling and a long wait, in random order: no fixed sleep fits them all
    delays = [rng.uniform(0.2, 0.35), rng.uniform(0.5, 0.7), rng.uniform(0.9, 1.1)]
    rng.shuffle(delays)
    for delay in delays:
        reply = f"here is your data, after {delay:.2f} s\n".encode()
        _wait_case(wait_for_data, delay, reply)
    _wait_case(wait_for_data, rng.uniform(0.1, 0.3), b"")  # the peer closes: that wakes a waiting reader too
    return "slept through 3 waits of 0.2 to 1.1 s (no EAGAIN polling, awake at once), and saw a peer close"


# ------------------------------------------------------------------------------ io_models
_SNIPPET_HINTS = {
    "A": ("blocking", "A: one plain recv on a socket in its default mode; what happens while no data is there?"),
    "B": ("non-blocking", "B: the socket never makes the thread wait; who keeps asking, and how?"),
    "C": ("multiplexing", "C: one call waits for many sockets at once, then recv copies"),
    "D": ("signal-driven", "D: the kernel interrupts the program with a signal when data is ready"),
    "E": ("blocking", "E: threads let other code run, but look at how each thread's recv waits"),
    "F": ("multiplexing", "F: what does asyncio's default event loop call underneath to wait? (a selector)"),
    "G": ("asynchronous", "G: who copies the data, and when does the program hear about it?"),
}

_ALIASES = {
    "nonblocking": "non-blocking", "non blocking": "non-blocking", "busy polling": "non-blocking",
    "polling": "non-blocking", "i/o multiplexing": "multiplexing", "io multiplexing": "multiplexing",
    "select": "multiplexing", "signal driven": "signal-driven", "signal": "signal-driven", "sigio": "signal-driven",
    "async": "asynchronous", "asynchronous i/o": "asynchronous", "aio": "asynchronous",
}


def _normalise(answer):
    if not isinstance(answer, str):
        return None
    text = " ".join(answer.strip().lower().replace("_", " ").split())
    if text in IO_MODELS:
        return text
    return _ALIASES.get(text, _ALIASES.get(text.replace("-", " ")))


@exercise("02.io_models", "Name the I/O model")
def check_io_models(io_models, *, rng, extra):
    expect(callable(io_models), "pass your function itself: check('02.io_models', io_models)")
    answers = io_models()
    expect(isinstance(answers, dict),
           f"io_models() must return a dict like {{'A': 'blocking', ...}}, got {type(answers).__name__}")
    missing = [k for k in _SNIPPET_HINTS if k not in answers]
    expect(not missing, f"no answer for snippet{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for key in _SNIPPET_HINTS:
        expect(_normalise(answers[key]) is not None,
               f"{key}: {answers[key]!r} is not one of {', '.join(IO_MODELS)}")
    wrong = [k for k, (want, _) in _SNIPPET_HINTS.items() if _normalise(answers[k]) != want]
    if wrong:
        right = len(_SNIPPET_HINTS) - len(wrong)
        raise CheckFailed(f"{right} of {len(_SNIPPET_HINTS)} right. {_SNIPPET_HINTS[wrong[0]][1]}")
    return f"all {len(_SNIPPET_HINTS)} snippets classified"
