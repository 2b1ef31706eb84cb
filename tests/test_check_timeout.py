"""run_in_thread: the one way a check calls student code that might never return."""

from __future__ import annotations

import threading
import time

import pytest

from course_lib.check import CheckFailed
from course_lib.check.timeout import run_in_thread


def test_a_call_that_returns_gives_its_value_and_times():
    outcome = run_in_thread(sum, [1, 2, 3], timeout=5)
    assert outcome.finished and outcome.value == 6 and outcome.error is None
    assert outcome.result("never") == 6 and outcome.cpu >= 0 and outcome.wall >= 0


def test_a_call_that_raises_hands_the_exception_back():
    outcome = run_in_thread(int, "not a number", timeout=5)
    assert outcome.finished and isinstance(outcome.error, ValueError)
    with pytest.raises(ValueError):
        outcome.result("never")


def test_a_call_that_hangs_is_given_up_and_can_be_unstuck():
    stop = threading.Event()
    outcome = run_in_thread(stop.wait, timeout=0.05, on_timeout=stop.set, name="hang")
    assert not outcome.finished and outcome.value is None
    with pytest.raises(CheckFailed, match="took too long"):
        outcome.result("took too long")
    deadline = time.monotonic() + 5
    while any(t.name == "check-hang" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "check-hang" for t in threading.enumerate())  # on_timeout unstuck it


def test_a_sleeping_call_uses_little_cpu():
    outcome = run_in_thread(time.sleep, 0.2, timeout=5)
    assert outcome.wall >= 0.15 and outcome.cpu < outcome.wall


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="timeout must be"):
        run_in_thread(print, timeout=-1)
    with pytest.raises(TypeError, match="timeout must be"):
        run_in_thread(print, timeout="5")


def test_a_call_that_spins_is_stopped_after_the_grace():
    def spin():
        while True:
            pass

    outcome = run_in_thread(spin, timeout=0.05, grace=0.05, name="spin")
    assert not outcome.finished
    deadline = time.monotonic() + 5
    while any(t.name == "check-spin" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "check-spin" for t in threading.enumerate())  # no core burnt for the rest of the session
