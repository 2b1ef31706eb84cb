"""Timelines: what ran when, and the one function that draws it.

What it is: ``Segment(task, kind, start, end)`` is one stretch of time in which a
task was doing one kind of thing; a ``Timeline`` is a list of them. Every model,
every toy loop and every real measurement in the course produces a ``Timeline``,
and ``plot_timeline`` draws all of them the same way, so a simulated picture and a
measured one can sit side by side.

Kinds of segment, and how they are drawn:

- ``"cpu"``    the task runs on a processor (a solid bar in the task's colour)
- ``"io"``     the task waits for I/O and uses no processor (a grey bar)
- ``"ready"``  the task could run but waits for a processor (a hatched outline)
- ``"switch"`` a processor switches between threads (a thin black bar)
- anything else is drawn as a light bar with its kind as a label.

A cpu segment of zero length (a callback on a virtual clock takes no time) is drawn
as a diamond at its instant.

What it is not: a scheduler. Nothing here decides what runs; ``models``, ``loop``
and ``tracer`` make timelines, this module only holds and draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Segment", "Timeline", "plot_timeline", "plot_models", "PALETTE", "Tracer"]

# Okabe & Ito's palette: told apart by people with every common kind of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
IO_GREY = "#9a9a9a"


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
    """A list of segments, with the questions one asks of it."""

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


def _style(kind: str, colour: str) -> dict:
    if kind == "cpu":
        return dict(facecolor=colour, edgecolor="black", linewidth=0.6)
    if kind == "io":
        return dict(facecolor=IO_GREY, edgecolor=IO_GREY, alpha=0.55)
    if kind == "ready":
        return dict(facecolor="white", edgecolor=colour, hatch="///", linewidth=0.6)
    if kind == "switch":
        return dict(facecolor="black", edgecolor="black")
    return dict(facecolor="#dddddd", edgecolor="#888888", linewidth=0.5)


def plot_timeline(timeline: Timeline, ax=None, title: str | None = None, xmax: float | None = None, legend: bool = True):
    """Draw ``timeline`` on ``ax`` (a new figure if None), one row per task. Returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if not isinstance(timeline, Timeline):
        raise TypeError(f"timeline must be a Timeline, got {type(timeline).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.55 * max(len(timeline.tasks), 1) + 1.2))
    colours = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(timeline.tasks)}
    rows = {t: len(timeline.tasks) - 1 - i for i, t in enumerate(timeline.tasks)}
    kinds_seen = []
    for s in timeline.segments:
        if s.duration <= 0:  # an instant (a callback on a virtual clock): a tick mark
            if s.kind == "cpu":
                ax.plot([s.start], [rows[s.task]], marker="D", markersize=7, color=colours[s.task], markeredgecolor="black")
            continue
        height = 0.3 if s.kind in ("ready", "switch") else 0.6
        ax.broken_barh([(s.start, s.duration)], (rows[s.task] - height / 2, height), **_style(s.kind, colours[s.task]))
        if s.kind not in ("cpu", "io", "ready", "switch") and s.duration > 0.04 * max(timeline.makespan, 1e-9):
            ax.text(s.start + s.duration / 2, rows[s.task], s.kind, ha="center", va="center", fontsize=7)
        if s.kind not in kinds_seen:
            kinds_seen.append(s.kind)
    ax.set_yticks([rows[t] for t in timeline.tasks], timeline.tasks)
    ax.set_ylim(-0.6, len(timeline.tasks) - 0.4)
    right = xmax if xmax is not None else max(timeline.makespan, 1e-9) * 1.02
    ax.set_xlim(-0.012 * right, right)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    heading = timeline.title if title is None else title
    if heading:
        ax.set_title(heading, loc="left", fontsize=10)
    if legend and timeline.segments:
        runs = [t for t in timeline.tasks if any(s.kind == "cpu" for s in timeline.for_task(t))]
        handles = [Patch(**_style("cpu", colours[t]), label=f"{t} runs") for t in runs[:6]]
        names = {"io": "waiting (I/O or a timer)", "ready": "ready, waiting for a CPU", "switch": "context switch"}
        handles += [Patch(**_style(k, "#444444"), label=names[k]) for k in ("io", "ready", "switch") if k in kinds_seen]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


def plot_models(tasks, cores: int = 1, quantum: float = 0.5, figsize=None, timelines=None):
    """The three models of ``course_lib.models`` on ``tasks``, stacked on one time axis. Returns the figure.

    ``timelines`` may give the three timelines directly (e.g. measured ones) as a
    dict ``{title: Timeline}``; then ``tasks`` is only used for the row order.
    """
    import matplotlib.pyplot as plt

    from course_lib.models import run_event_driven, run_sequential, run_threaded

    if timelines is None:
        timelines = {
            "single-threaded (sequential)": run_sequential(tasks),
            f"threaded ({cores} core{'s' if cores > 1 else ''}, quantum {quantum:g} s)": run_threaded(
                tasks, cores=cores, quantum=quantum
            ),
            "event-driven (one thread, one loop)": run_event_driven(tasks),
        }
    n_tasks = max(len(t.tasks) for t in timelines.values())
    fig, axes = plt.subplots(
        len(timelines), 1, sharex=True, figsize=figsize or (9, (0.5 * n_tasks + 0.9) * len(timelines)), squeeze=False
    )
    xmax = max(t.makespan for t in timelines.values()) * 1.02
    for ax, (title, tl) in zip(axes[:, 0], timelines.items()):
        plot_timeline(tl, ax=ax, title=f"{title} — makespan {tl.makespan:.3g} s", xmax=xmax)
        if ax is not axes[-1, 0]:
            ax.set_xlabel("")
    fig.tight_layout()
    return fig


def __getattr__(name):  # the tracer lives in its own module; re-exported here for convenience
    if name == "Tracer":
        from course_lib.tracer import Tracer

        return Tracer
    raise AttributeError(name)
