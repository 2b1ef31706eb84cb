"""Argument checks: one rule per kind of argument, one wording for every error.

What it is: the small functions every ``course_lib`` module calls on its arguments, so
a wrong argument always gets the same kind of message, naming the argument, what was
expected and what came::

    validate.seconds(delay, "delay")                  # a finite real number (not bool, NaN or inf)
    validate.seconds(latency, "latency", minimum=0)   # ... and >= 0
    validate.seconds(quantum, "quantum", above=0)     # ... and > 0
    validate.count(size, "buffer_size", minimum=1)    # an int (not bool) >= 1
    validate.callback(fn)                             # callable, and not an ``async def``
    validate.text(name, "name")                       # a non-empty string
    validate.one_of(mode, "mode", ("level", "edge"))  # one of a few known values

The rules:

- a wrong *type* raises ``TypeError``, a right type with a wrong *value* ``ValueError``;
- a number of seconds is a real number, never ``True``/``False``, never NaN, never infinite:
  "for ever" is spelled ``None`` where an argument allows it (``optional=True``);
- a count is an ``int`` (a ``bool`` is not a count);
- every function returns the value it checked (as a ``float`` for seconds), so a call
  can validate and convert in one line.

What it is not: a schema library or type checker. It checks what a student is likely
to get wrong at the call, and says so in one sentence.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["seconds", "count", "callback", "text", "one_of", "is_coroutine_function"]

_CO_COROUTINE = 0x80  # the code flag of an ``async def`` function


def _got(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def seconds(value, name: str, *, minimum=None, above=None, optional: bool = False):
    """``value`` as a float of seconds: a finite real number, ``>= minimum``, ``> above``.

    With ``optional=True``, ``None`` (meaning "no limit" or "for ever") is allowed and returned.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        what = "a number of seconds" + (" or None" if optional else "")
        raise TypeError(f"{name} must be {what}, got {_got(value)}")
    if not math.isfinite(value):
        hint = " (use None for no limit)" if optional else ""
        raise ValueError(f"{name} must be a finite number of seconds{hint}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be a number of seconds >= {minimum:g}, got {value!r}")
    if above is not None and value <= above:
        raise ValueError(f"{name} must be a number of seconds > {above:g}, got {value!r}")
    return float(value)


def count(value, name: str, *, minimum: int = 0, optional: bool = False, unit: str = ""):
    """``value`` as a whole number ``>= minimum`` (``None`` too with ``optional=True``)."""
    if value is None and optional:
        return None
    unit = f" ({unit})" if unit else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        what = f"an int >= {minimum}{unit}" + (" or None" if optional else "")
        raise TypeError(f"{name} must be {what}, got {_got(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}{unit}, got {value!r}")
    return int(value)


def is_coroutine_function(fn) -> bool:
    """True for an ``async def`` function (also behind ``functools.partial``)."""
    code = getattr(fn, "__code__", None)  # a function or a bound method
    if code is None:
        code = getattr(getattr(fn, "func", None), "__code__", None)  # functools.partial
    return code is not None and bool(code.co_flags & _CO_COROUTINE)


def callback(fn, name: str = "fn"):
    """``fn`` if it can be called as a loop callback: callable, and not an ``async def``."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable (the function the loop will call), got {_got(fn)}")
    code = getattr(fn, "__code__", None)
    if code is not None:  # a function or a method, decided at once: the loop asks on every call_soon
        coroutine = code.co_flags & _CO_COROUTINE
    else:
        coroutine = is_coroutine_function(fn)
    if coroutine:
        qualname = getattr(getattr(fn, "func", fn), "__qualname__", repr(fn))
        raise TypeError(f"{name} must be a plain function, got the coroutine function {qualname}: "
                        "a callback loop calls functions; run a coroutine as a task (chapter 06)")
    return fn


def text(value, name: str):
    """``value`` if it is a non-empty string (not only spaces)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_got(value)}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def one_of(value, name: str, options):
    """``value`` if it is one of ``options`` (compared with ``==``)."""
    options = tuple(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
