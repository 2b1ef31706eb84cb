"""Run a "Try it" cell with a time limit: ``try_it(demo)`` instead of ``demo()``.

What it is: the watchdog of the exercise notebooks' "Try it" cells. A try cell runs your code
on one small example before the check does, and a wrong answer there should say what went
wrong, not hang the notebook. ``try_it(function, *args, timeout=5)`` calls
``function(*args)`` in the cell's own thread (so prints and plots appear as usual) while a
watchdog thread keeps time, and returns what the function returned. It prints one line and
returns ``None`` instead when

- the code is not written yet (it raised ``NotImplementedError``);
- it raised another exception (named, with the line of your code where it was raised);
- it was still running after ``timeout`` seconds. The watchdog then raises ``TimeUp`` inside
  it (see ``course_lib.check.timeout.stop_thread``), which ends a ``while`` loop at once, and
  calls ``on_timeout()`` if given: code stuck inside one system call (a ``recv`` with no
  timeout) sees ``TimeUp`` only when that call returns, and closing the socket it waits on
  makes it return. ``TimeUp`` is a ``BaseException``; code that swallows it anyway gets it
  again every second, a few times.

What it is not: a check. It tests nothing and never fails; the check cell below it does.
"""

from __future__ import annotations

import os
import sysconfig
import threading
import traceback

from course_lib import validate
from course_lib.check.timeout import TimeUp, stop_thread

__all__ = ["try_it"]

GRACE = 1.0  # seconds between the watchdog's attempts to stop the code
ATTEMPTS = 5  # attempts before the watchdog gives up (and the stop button is the way out)
_STDLIB = sysconfig.get_paths()["stdlib"]
_PYTHONS_OWN = (_STDLIB + os.sep, os.path.realpath(_STDLIB) + os.sep)  # Python's own library (and its site-packages)
ENDLESS = "look for a loop that never ends: a `while` that waits, or a callback that never returns"


class _Watchdog:
    """A thread that stops the code running in thread ``ident`` once ``timeout`` seconds have passed."""

    def __init__(self, ident: int, timeout: float, on_timeout):
        self.ident, self.timeout, self.on_timeout = ident, timeout, on_timeout
        self.fired = False
        self._done = False
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="try_it-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """The code returned: no exception may reach it from now on."""
        with self._lock:
            self._done = True
            if self.fired:
                stop_thread(self.ident, None)  # cancel a TimeUp not delivered yet
        self._finished.set()

    def _strike(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self.fired = True
            stop_thread(self.ident)
            return True

    def _watch(self) -> None:
        if self._finished.wait(self.timeout) or not self._strike():
            return
        if self.on_timeout is not None:
            try:
                self.on_timeout()
            except Exception:  # unsticking is best effort
                pass
        for _ in range(ATTEMPTS - 1):
            if self._finished.wait(GRACE) or not self._strike():
                return


def _where(error: BaseException) -> tuple[str, str]:
    """(function name, " (in f, line n)") of the innermost frame of your code: outside course_lib and,
    if any frame is, outside Python's own library (an error raised in a thread pool names your line)."""
    package_dir = __file__.rsplit("course_lib", 1)[0] + "course_lib"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(package_dir)]
    frames = [f for f in frames if not f.filename.startswith(_PYTHONS_OWN)] or frames
    if not frames:
        return "your code", ""
    return frames[-1].name, f" (in {frames[-1].name}, line {frames[-1].lineno})"


def try_it(function, *args, timeout: float = 5.0, hint: str = ENDLESS, on_timeout=None):
    """Call ``function(*args)``; stop it after ``timeout`` s. Its value, or None after a one-line note."""
    validate.callback(function, "function")
    timeout = validate.seconds(timeout, "timeout", above=0)
    watchdog = _Watchdog(threading.get_ident(), timeout, on_timeout)
    try:
        try:
            watchdog.start()
            return function(*args)
        finally:
            watchdog.stop()
    except TimeUp:
        print(f"⏱ still running after {timeout:g} s, so it was stopped: {hint}")
    except NotImplementedError as error:
        name, _ = _where(error)
        print(f"✎ {name} is not written yet: replace `raise NotImplementedError()` with your code, run that cell, "
              "then this one")
    except RecursionError:
        print("✘ your code recursed without end: look for a function or callback that calls itself at once")
    except Exception as error:
        _, where = _where(error)
        message = str(error).splitlines()[0][:160] if str(error) else ""
        print(f"✘ your code raised {type(error).__name__}{': ' + message if message else ''}{where}")
    return None
