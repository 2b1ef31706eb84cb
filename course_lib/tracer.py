"""Tracer: record what real code did, when, so it can be drawn like a simulation.

What it is: a list of spans measured with ``time.perf_counter``. Wrap the parts of
real code you want to see — a ``time.sleep`` in a thread, an ``await`` in a
coroutine, a loop that burns CPU — and ask for a ``Timeline``::

    tracer = Tracer()
    def worker(name):
        with tracer.span(name, "cpu"):
            crunch()
        with tracer.span(name, "io"):
            time.sleep(0.2)
    ...
    plot_timeline(tracer.timeline("measured on threads"))

Times in the timeline are seconds since the tracer was created (or last
``reset()``), so a measured run and a simulated one share an axis. Recording is
thread-safe and works the same inside asyncio coroutines (a ``with`` block may
contain ``await``).

What it is not: a profiler. It records only the spans you mark, and the act of
recording costs about a microsecond per span.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from course_lib import validate
from course_lib.segments import Segment, Timeline

__all__ = ["Tracer"]


class Tracer:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every span and restart the clock at 0."""
        with self._lock:
            self.origin = time.perf_counter()
            self.spans: list[Segment] = []

    def now(self) -> float:
        """Seconds since the tracer's origin."""
        return time.perf_counter() - self.origin

    def record(self, task: str, kind: str, start: float, end: float) -> None:
        """Add a span whose ``start`` and ``end`` are ``time.perf_counter()`` readings."""
        validate.text(task, "task")
        validate.text(kind, "kind")
        if end < start:
            raise ValueError(f"end ({end}) is before start ({start})")
        segment = Segment(task, kind, start - self.origin, end - self.origin)
        with self._lock:
            self.spans.append(segment)

    @contextmanager
    def span(self, task: str | None = None, kind: str = "cpu"):
        """Record the time spent inside the ``with`` block as one span.

        ``task`` defaults to the current asyncio task's name, else the current thread's name.
        """
        name = task if task is not None else _current_name()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, kind, start, time.perf_counter())

    def timeline(self, title: str = "", tasks=None) -> Timeline:
        """The spans recorded so far, as a ``Timeline``."""
        with self._lock:
            spans = list(self.spans)
        return Timeline(spans, title=title, tasks=tasks)


def _current_name() -> str:
    try:
        import asyncio

        task = asyncio.current_task()
    except RuntimeError:  # no running event loop in this thread
        task = None
    return task.get_name() if task is not None else threading.current_thread().name
