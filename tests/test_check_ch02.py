"""The checks of chapter 02 pass good answers and fail wrong ones with a one-line hint."""

import select
import socket
import threading
import time

import pytest
from notebook_code import definitions

from course_lib.check import CheckFailed, check

CELLS = ("setup", "recv_exactly_answer", "busy_poll_demo", "wait_for_data_answer", "io_models_answer")
SOL = definitions("solutions/02_blocking_io", *CELLS)     # the notebook's given code and its answers
BLANK = definitions("exercises/02_blocking_io", *CELLS)   # the same cells as the student gets them


# --------------------------------------------------------------------------- recv_exactly
recv_exactly_good = SOL.recv_exactly


def recv_exactly_single_recv(sock, n):
    return sock.recv(n)


def recv_exactly_overreads(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError
        data += chunk
    return data[:n]


def recv_exactly_spins_on_eof(sock, n):
    data = b""
    while len(data) < n:
        data += sock.recv(n - len(data))  # never notices b"": loops forever once the peer closed
    return data


def recv_exactly_returns_short(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def recv_exactly_value_error(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ValueError("closed")
        data += chunk
    return data


def _hint(exercise_id, function):
    with pytest.raises(CheckFailed) as info:
        check(exercise_id, function)
    text = str(info.value)
    assert "\n" not in text and len(text) < 300
    return text


def test_recv_exactly_passes_a_correct_answer(capsys):
    check("02.recv_exactly", recv_exactly_good)
    assert "✔ 02.recv_exactly passed" in capsys.readouterr().out


def test_recv_exactly_passes_with_asyncio_style_error():
    import asyncio

    def good(sock, n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise asyncio.IncompleteReadError(data, n)  # a subclass of EOFError
            data += chunk
        return data

    check("02.recv_exactly", good)


@pytest.mark.parametrize(
    "function, words",
    [
        (BLANK.recv_exactly, "not written yet"),
        (recv_exactly_single_recv, "fewer bytes"),
        (recv_exactly_overreads, "n - len(data)"),
        (recv_exactly_returns_short, "EOFError"),
        (recv_exactly_value_error, "EOFError"),
    ],
)
def test_recv_exactly_fails_with_a_hint(function, words):
    assert words in _hint("02.recv_exactly", function)


def test_recv_exactly_stops_a_loop_that_spins_on_eof():
    before = {t for t in threading.enumerate()}
    start = time.perf_counter()
    assert "EOFError" in _hint("02.recv_exactly", recv_exactly_spins_on_eof)
    assert time.perf_counter() - start < 60
    time.sleep(0.2)
    assert {t for t in threading.enumerate() if t.is_alive()} <= before  # the spinning thread was stopped


def test_recv_exactly_check_is_repeatable(capsys):
    check("02.recv_exactly", recv_exactly_good)
    check("02.recv_exactly", recv_exactly_good)
    first, second = capsys.readouterr().out.splitlines()
    assert first == second


# --------------------------------------------------------------------------- wait_for_data
def wait_blocking(sock):
    sock.setblocking(True)
    return sock.recv(4096)


wait_select = SOL.wait_for_data
busy_poll = SOL.busy_wait_for_data


def no_wait(sock):
    return sock.recv(4096)


@pytest.mark.parametrize("function", [wait_blocking, wait_select])
def test_wait_for_data_passes_sleeping_waits(function, capsys):
    check("02.wait_for_data", function)
    assert "passed" in capsys.readouterr().out


def test_wait_for_data_catches_a_busy_poll():
    assert "EAGAIN" in _hint("02.wait_for_data", busy_poll)


def napping_poll(sock):  # polls, but sleeps 50 ms between tries: still polling
    while True:
        try:
            return sock.recv(4096)
        except BlockingIOError:
            time.sleep(0.05)


def test_wait_for_data_catches_a_poll_that_naps():
    assert "EAGAIN" in _hint("02.wait_for_data", napping_poll)


def test_wait_for_data_explains_blocking_io_error():
    assert "BlockingIOError" in _hint("02.wait_for_data", no_wait)


def test_wait_for_data_blank():
    assert "not written yet" in _hint("02.wait_for_data", BLANK.wait_for_data)


# --------------------------------------------------------------------------- io_models
RIGHT = SOL.io_models()


def test_io_models_passes_and_accepts_spelling_variants(capsys):
    check("02.io_models", lambda: RIGHT)
    check("02.io_models", lambda: {**RIGHT, "B": "Non blocking", "C": "I/O multiplexing", "G": "async"})
    assert capsys.readouterr().out.count("passed") == 2


@pytest.mark.parametrize(
    "answers, words",
    [
        ({**RIGHT, "E": "non-blocking"}, "6 of 7 right. E:"),
        ({**RIGHT, "F": "asynchronous"}, "F:"),
        ({k: v for k, v in RIGHT.items() if k != "D"}, "no answer for snippet D"),
        ({**RIGHT, "C": "epoll-ish"}, "not one of"),
        ([1, 2], "must return a dict"),
    ],
)
def test_io_models_fails_with_a_hint(answers, words):
    assert words in _hint("02.io_models", lambda: answers)


def test_io_models_blank():
    assert "not written yet" in _hint("02.io_models", BLANK.io_models)


def test_checks_leave_no_threads_or_servers():
    before = {t for t in threading.enumerate()}
    check("02.wait_for_data", wait_blocking)
    check("02.recv_exactly", recv_exactly_good)
    with pytest.raises(CheckFailed):
        check("02.wait_for_data", busy_poll)
    time.sleep(0.2)
    assert {t for t in threading.enumerate() if t.is_alive()} <= before


# --------------------------------------------------------------------------- more wrong answers, as students write them

def recv_exactly_off_by_one(sock, n):
    data = b""
    while len(data) <= n:  # one turn too many: asks recv for 0 bytes, gets b""
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("closed")
        data += chunk
    return data


def recv_exactly_asks_for_n_each_time(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n)
        if not chunk:
            raise EOFError("closed")
        data += chunk
    return data


def recv_exactly_returns_text(sock, n):
    return SOL.recv_exactly(sock, n).decode("latin-1")


def recv_exactly_eof_only_if_nothing(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            if not data:
                raise EOFError("nothing came")
            break
        data += chunk
    return data


def recv_exactly_waitall(sock, n):  # a valid alternative: the kernel collects the n bytes
    data = sock.recv(n, socket.MSG_WAITALL) if n else b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"{len(data)} of {n}")
        data += chunk
    return data


def recv_exactly_into(sock, n):  # a valid alternative: recv_into a preallocated buffer
    buffer = bytearray(n)
    view, got = memoryview(buffer), 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError(f"{got} of {n}")
        got += k
    return bytes(buffer)


@pytest.mark.parametrize("function, words", [
    (recv_exactly_off_by_one, "stop as soon as you have n bytes"),
    (recv_exactly_asks_for_n_each_time, "n - len(data)"),
    (recv_exactly_returns_text, "must return bytes"),
    (recv_exactly_eof_only_if_nothing, "raise EOFError"),
])
def test_recv_exactly_rejects_more_wrong_answers(function, words):
    assert words in _hint("02.recv_exactly", function)


@pytest.mark.parametrize("function", [recv_exactly_waitall, recv_exactly_into])
def test_recv_exactly_accepts_alternatives(function):
    check("02.recv_exactly", function)


def wait_fixed_sleep(sock):  # outlasts a fixed delay: the data is there when it wakes up
    time.sleep(1.2)
    return sock.recv(4096)


def wait_napping_half_seconds(sock):
    while True:
        try:
            return sock.recv(4096)
        except BlockingIOError:
            time.sleep(0.5)


def wait_select_then_one_byte(sock):
    select.select([sock], [], [])
    return sock.recv(1)


def wait_with_own_timeout(sock):
    sock.settimeout(0.5)
    return sock.recv(4096)


def wait_select_ignoring_its_timeout(sock):
    select.select([sock], [], [], 5)   # a time limit of its own, and what select returned is never looked at
    return sock.recv(4096)


def wait_select_without_timeout_busy(sock):
    while not select.select([sock], [], [], 0)[0]:  # asks the kernel, and does not let it wait
        pass
    return sock.recv(4096)


def wait_select_in_steps(sock):  # a valid alternative: select with a timeout, in a loop
    while not select.select([sock], [], [], 0.1)[0]:
        pass
    return sock.recv(4096)


def wait_try_then_select(sock):  # a valid alternative: what asyncio's sock_recv does
    try:
        return sock.recv(4096)
    except BlockingIOError:
        select.select([sock], [], [])
        return sock.recv(4096)


@pytest.mark.parametrize("function, words", [
    (wait_fixed_sleep, "don't sleep for a fixed time"),
    (wait_napping_half_seconds, "that is polling"),
    (wait_select_then_one_byte, "up to 4096 bytes"),
    (wait_with_own_timeout, "no time limit of your own"),
    (wait_select_ignoring_its_timeout, "look at what select returns"),
    (wait_select_without_timeout_busy, "CPU"),
])
def test_wait_for_data_rejects_more_wrong_answers(function, words):
    assert words in _hint("02.wait_for_data", function)


@pytest.mark.parametrize("function", [wait_select_in_steps, wait_try_then_select])
def test_wait_for_data_accepts_alternatives(function):
    check("02.wait_for_data", function)


@pytest.mark.parametrize("answers, words", [
    ({**RIGHT, "G": "multiplexing"}, "G:"),        # completion ports: the kernel copies too
    ({**RIGHT, "B": "blocking"}, "B:"),            # the socket never makes the thread wait
    ({**RIGHT, "D": "asynchronous"}, "D:"),        # a signal says "ready", the program still copies
])
def test_io_models_rejects_more_wrong_answers(answers, words):
    assert words in _hint("02.io_models", lambda: answers)


def test_io_models_accepts_a_tuple_free_spelling():
    check("02.io_models", lambda: {k: v.upper().replace("-", "_") for k, v in RIGHT.items()})
