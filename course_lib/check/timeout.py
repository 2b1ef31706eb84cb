"""Call a student's function with a time limit: ``run_in_thread(fn, *args, timeout=5)``.

What it is: the one way a check calls code that might never return (a ``while`` loop
that waits for data, a lock never released, a callback that blocks). The call runs in a
helper thread; the check waits at most ``timeout`` seconds for it and gets an ``Outcome``:
whether it finished, what it returned or raised, and the CPU and wall time it took::

    outcome = run_in_thread(wait_for_data, sock, timeout=10, on_timeout=sock.close)
    if not outcome.finished: ...                      # still running: give a hint
    value = outcome.result("wait_for_data did not return within 10 s")   # or, in one line

``on_timeout()`` is called when the time is up: a thread cannot be killed, but it can often
be unstuck (close the socket it spins on), and is then given ``grace`` seconds to end. If it
still runs, ``stop_thread`` raises an exception inside it (``TimeUp``, through CPython's
``PyThreadState_SetAsyncExc``): a ``while`` loop running Python code stops at once, so a
runaway student function does not burn a core for the rest of the session. The helper
threads are daemons named ``check-...``, so a stuck one never keeps Python alive.

What it is not: a sandbox. A thread blocked inside one system call (a ``recv`` with no
timeout) only sees ``TimeUp`` when that call returns; the grader runs every notebook in its
own kernel for that reason.
"""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass

from course_lib import validate
from course_lib.check import CheckFailed

__all__ = ["Outcome", "run_in_thread", "stop_thread", "TimeUp"]


class TimeUp(BaseException):
    """Raised inside code that ran out of time. A ``BaseException``, so ``except Exception`` can't swallow it."""


def stop_thread(ident: int, exception: type[BaseException] | None = TimeUp) -> bool:
    """Raise ``exception`` in the thread ``ident`` at its next Python instruction (``None``: cancel that).

    Returns True when the thread exists. CPython only (other Pythons: returns False, does nothing).
    """
    set_async_exc = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if set_async_exc is None:
        return False
    return set_async_exc(ctypes.c_ulong(ident), None if exception is None else ctypes.py_object(exception)) == 1


@dataclass(frozen=True)
class Outcome:
    """What became of one call made by ``run_in_thread``."""

    finished: bool  # False: still running when the time was up
    value: object = None  # what it returned
    error: BaseException | None = None  # what it raised, if it raised
    cpu: float = 0.0  # CPU seconds its thread used
    wall: float = 0.0  # wall seconds it took

    def result(self, timeout_hint: str):
        """The returned value; the call's exception raised again; ``CheckFailed(timeout_hint)`` if unfinished."""
        if not self.finished:
            raise CheckFailed(timeout_hint)
        if self.error is not None:
            raise self.error
        return self.value


def run_in_thread(function, *args, timeout: float, on_timeout=None, grace: float = 1.0,
                  name: str = "student") -> Outcome:
    """Call ``function(*args)`` in a daemon thread and wait at most ``timeout`` seconds for it."""
    timeout = validate.seconds(timeout, "timeout", minimum=0)
    grace = validate.seconds(grace, "grace", minimum=0)
    box: dict = {}

    def call():
        try:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                box["value"] = function(*args)
            except BaseException as error:  # handed back to the check, which decides what it means
                box["error"] = error
            box["cpu"], box["wall"] = time.thread_time() - cpu, time.perf_counter() - wall
        except TimeUp:  # stopped just as it finished: nothing left to report
            pass

    thread = threading.Thread(target=call, name=f"check-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        if on_timeout is not None:
            on_timeout()
            thread.join(grace)
        if thread.is_alive():
            stop_thread(thread.ident)  # still running: stop it where it spins
        return Outcome(finished=False)
    return Outcome(True, box.get("value"), box.get("error"), box["cpu"], box["wall"])
