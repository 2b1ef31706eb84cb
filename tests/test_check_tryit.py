"""try_it: a try cell's code runs with a time limit and a one-line report instead of a traceback or a hang."""

import socket
import time

import pytest

from course_lib.check.tryit import try_it


def test_returns_the_value(capsys):
    assert try_it(lambda a, b: a + b, 2, 3) == 5
    assert capsys.readouterr().out == ""


def test_an_endless_loop_is_stopped_with_a_hint(capsys):
    def spin():
        while True:
            pass

    start = time.monotonic()
    assert try_it(spin, timeout=0.3) is None
    assert time.monotonic() - start < 3
    out = capsys.readouterr().out
    assert out.startswith("⏱ still running after 0.3 s") and out.count("\n") == 1


def test_code_that_swallows_the_stop_once_is_stopped_again(capsys):
    def stubborn():
        try:
            while True:
                pass
        except BaseException:  # swallows the first stop
            pass
        while True:
            pass

    start = time.monotonic()
    try_it(stubborn, timeout=0.2)
    assert time.monotonic() - start < 6 and "still running" in capsys.readouterr().out


def test_on_timeout_unsticks_a_blocking_call(capsys):
    a, b = socket.socketpair()
    try:
        start = time.monotonic()
        try_it(a.recv, 10, timeout=0.3, on_timeout=lambda: b.close())
        assert time.monotonic() - start < 3
    finally:
        a.close()
        b.close()


def test_a_blank_answer_and_an_error_are_one_line_each(capsys):
    def stub():
        raise NotImplementedError()

    def broken():
        return [][1]

    try_it(stub)
    try_it(broken)
    first, second = capsys.readouterr().out.splitlines()
    assert "stub is not written yet" in first
    assert second.startswith("✘ your code raised IndexError") and "(in broken, line" in second


def test_no_stop_reaches_code_after_a_return(capsys):
    for _ in range(20):
        try_it(time.sleep, 0.01, timeout=0.011)  # finishes about when the watchdog fires
    time.sleep(0.1)
    assert sum(range(3)) == 3  # nothing pending was raised here


def test_bad_arguments():
    with pytest.raises(TypeError, match="function must be callable"):
        try_it("not a function")
    with pytest.raises(ValueError, match="timeout must be"):
        try_it(print, timeout=0)


def test_an_error_raised_inside_pythons_library_names_your_line(capsys):
    import json

    def reads_a_number():
        return json.loads(42)             # TypeError, raised inside the json module

    try_it(reads_a_number)
    line = capsys.readouterr().out
    assert "(in reads_a_number, line" in line, line
