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
- ``close(obj)``: close ``obj`` if it can be closed;
- ``step(obj)``: ``obj.step()`` with what it printed caught: ``(its result, the printed text)``;
- ``replay(factory, max_steps)``: a fresh run from ``factory`` taken to its end, as a ``Run``
  (the lines its steps said, the snapshots, the timeline): what a Stepper's static copy shows.

What it is not: a base class. Nothing inherits from anything here; a steppable only
needs the names above.
"""

from __future__ import annotations

import contextlib
import inspect
import io
from dataclasses import dataclass, field

__all__ = ["missing", "check", "build", "snapshot", "deterministic", "close", "step", "replay", "Run"]

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


@dataclass
class Run:
    """A whole run: ``lines[i]`` is what step i+1 said, ``snapshots[i]`` the state after i steps."""

    lines: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    obj: object = None       # the steppable, at the end of the run (closed)
    timeline: object = None  # its timeline() at the end, if it has one
    done: bool = False       # whether it reached its end (read before it was closed)
    stopped: str = ""        # why the run ended before ``done`` ("" when it reached the end)


def step(obj):
    """One ``obj.step()``; returns (what it returned, what it printed meanwhile, stdout and stderr).

    The Stepper shows the printed text under its picture: printed from a button's click handler it
    would go to no cell at all (JupyterLab sends it to its log console)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        result = obj.step()
    return result, out.getvalue()


def replay(factory, max_steps: int) -> Run:
    """Build a fresh steppable with ``factory`` and step it until done, at most ``max_steps`` times.

    What its callbacks print is swallowed (the replay is not the run the reader watches), and a
    step that raises ends the run with the reason in ``stopped``.
    """
    run = Run()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run.obj = build(factory)
        try:
            run.snapshots.append(snapshot(run.obj))
            while not run.obj.done:
                if len(run.lines) >= max_steps:
                    run.stopped = f"stopped after {max_steps} steps (max_steps)"
                    break
                run.lines.append(str(run.obj.step()))
                run.snapshots.append(snapshot(run.obj))
        except Exception as exc:  # shown in the copy: the reader learns the run broke, and where
            run.stopped = f"step {len(run.lines) + 1} raised {type(exc).__name__}: {exc}"
        finally:
            timeline = getattr(run.obj, "timeline", None)
            run.timeline = timeline() if callable(timeline) else None
            run.done = bool(run.obj.done)
            close(run.obj)
    return run
