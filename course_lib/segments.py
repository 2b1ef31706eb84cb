"""Segments and timelines: what ran when, as plain data.

What it is: ``Segment(task, kind, start, end)`` is one stretch of time in which a
task was doing one kind of thing; a ``Timeline`` is a list of them, with the
questions one asks of it (makespan, busy time, finish times). Every model, every
toy loop and every real measurement in the course produces a ``Timeline``:
``models`` on a virtual clock, ``loop`` from its step records, ``tracer`` from
``time.perf_counter``, ``threadsim`` and ``triggers`` from their simulations.

The usual kinds are ``"cpu"`` (runs on a processor), ``"io"`` (waits for I/O and
uses no processor), ``"ready"`` (could run, waits for a processor) and
``"switch"`` (a processor changes threads); any other string is allowed and is
drawn as a labelled bar.

What it is not: a picture. Nothing here draws; ``course_lib.timeline`` draws a
``Timeline`` (with matplotlib, or as the SVG the Stepper shows). Keeping the data
apart lets every producer import it without importing the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Segment", "Timeline"]


@dataclass(frozen=True)
class Segment:
    """``task`` did ``kind`` from ``start`` to ``end`` (seconds). ``step`` is the step index, if known."""

    task: str
    kind: str
    start: float
    end: float
    step: int | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


class Timeline:
    """A list of segments, sorted by start time, with the questions one asks of it."""

    def __init__(self, segments=(), title: str = "", tasks=None):
        segments = list(segments)
        for s in segments:
            if not isinstance(s, Segment):
                raise TypeError(f"segments must be Segment objects, got {type(s).__name__}")
            if s.end < s.start:
                raise ValueError(f"segment ends before it starts: {s}")
        self.segments: list[Segment] = sorted(segments, key=lambda s: (s.start, s.end))
        self.title = title
        names = list(tasks) if tasks is not None else []
        for s in self.segments:
            if s.task not in names:
                names.append(s.task)
        self.tasks: list[str] = names

    @property
    def makespan(self) -> float:
        """Time from 0 until the last segment ends."""
        return max((s.end for s in self.segments), default=0.0)

    def for_task(self, task: str) -> list[Segment]:
        return [s for s in self.segments if s.task == task]

    def of_kind(self, kind: str) -> list[Segment]:
        return [s for s in self.segments if s.kind == kind]

    def busy(self, kind: str = "cpu") -> float:
        """Total seconds spent in segments of ``kind``, summed over tasks."""
        return sum(s.duration for s in self.segments if s.kind == kind)

    def utilisation(self, cores: int = 1) -> float:
        """Fraction of the available processor time (``cores`` x makespan) spent on cpu segments."""
        span = self.makespan * cores
        return self.busy("cpu") / span if span else 0.0

    def finish_times(self) -> dict[str, float]:
        """When each task's last segment ended."""
        return {t: max(s.end for s in self.for_task(t)) for t in self.tasks if self.for_task(t)}

    def table(self) -> str:
        """The segments as a small text table (stable text for notebooks and tests)."""
        rows = [f"{'task':<8} {'kind':<7} {'start':>7} {'end':>7}"]
        rows += [f"{s.task:<8} {s.kind:<7} {s.start:>7.3g} {s.end:>7.3g}" for s in self.segments]
        return "\n".join(rows)

    def __len__(self) -> int:
        return len(self.segments)

    def __repr__(self) -> str:
        title = f"{self.title!r}, " if self.title else ""
        return f"Timeline({title}{len(self.tasks)} tasks, {len(self.segments)} segments, makespan {self.makespan:.4g})"
