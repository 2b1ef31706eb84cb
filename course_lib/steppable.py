"""The steppable protocol: what the Stepper asks of the things it steps.

What it is: the protocol written down once, with the checks that turn a wrong object
into one clear sentence. Anything with these works in ``widgets.Stepper`` (the loop,
the thread interleaving explorer, the level/edge-triggered demo)::

    obj.step()        # advance one event; returns something whose str() is one line
    obj.done          # a property: True when nothing more can happen
    obj.snapshot()    # a dict of plain data: {"clock": ..., ...sections...}
    obj.timeline()    # optional: a course_lib.segments.Timeline of what happened so far
    obj.deterministic # optional: False (or obj.simulated = False) when a replay may differ
    obj.close()       # optional: called when the Stepper drops the object

- ``missing(obj)``: the names of the protocol that ``obj`` lacks;
- ``check(obj)``: ``obj`` if it is steppable, else a ``TypeError`` saying what is wrong;
- ``build(factory, previous)``: a fresh steppable from a zero-argument ``factory``;
- ``snapshot(obj)``: ``obj.snapshot()``, checked to be a dict;
- ``deterministic(obj)``: may a replay of ``obj`` be trusted to reach the same state?
- ``close(obj)``: close ``obj`` if it can be closed.

What it is not: a base class. Nothing inherits from anything here; a steppable only
needs the names above.
"""

from __future__ import annotations

import inspect

__all__ = ["missing", "check", "build", "snapshot", "deterministic", "close"]

PROTOCOL = ("step", "done", "snapshot")
_SEE = "(see 'The steppable protocol' in docs/DEVELOPING.md)"


def missing(obj) -> list[str]:
    """The names of the protocol that ``obj`` does not have."""
    return [name for name in PROTOCOL if not hasattr(obj, name)]


def check(obj):
    """``obj`` if it has ``step``, ``done`` (a property) and ``snapshot``; else a TypeError."""
    if missing(obj):
        raise TypeError(f"a {type(obj).__name__} is not steppable: it has no {', '.join(missing(obj))} {_SEE}")
    if callable(obj.done):
        raise TypeError(f"{type(obj).__name__}.done must be a property (read as obj.done), not a method")
    return obj


def build(factory, previous=None):
    """Call ``factory()`` and check that it built a fresh steppable (not ``previous`` again)."""
    try:
        inspect.signature(factory).bind()
    except TypeError as exc:
        raise TypeError(f"the factory must be callable with no arguments and build a steppable: {exc}") from None
    except ValueError:  # some builtins have no signature: just call them
        pass
    obj = factory()
    if missing(obj):
        raise TypeError(f"the factory returned a {type(obj).__name__}, which is not steppable: it has no "
                        f"{', '.join(missing(obj))} {_SEE}")
    check(obj)
    if previous is not None and obj is previous:
        raise ValueError("the factory returned the same object again; it must build a fresh steppable each call")
    return obj


def snapshot(obj) -> dict:
    """``obj.snapshot()``, which must be a dict."""
    snap = obj.snapshot()
    if not isinstance(snap, dict):
        raise TypeError(f"snapshot() must return a dict, got {type(snap).__name__}")
    return snap


def deterministic(obj) -> bool:
    """False when ``obj`` says a replay may differ (``deterministic = False`` or ``simulated = False``)."""
    return getattr(obj, "deterministic", True) is not False and getattr(obj, "simulated", True) is not False


def close(obj) -> None:
    """Close ``obj`` if it has a ``close()`` (a loop may hold sockets)."""
    closer = getattr(obj, "close", None)
    if callable(closer):
        closer()
