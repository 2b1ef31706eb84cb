"""Timelines drawn: one style table, two pictures (matplotlib and SVG).

What it is: the course's one place that draws a ``Timeline`` (the data lives in
``course_lib.segments``; ``Segment`` and ``Timeline`` are re-exported here, so
``from course_lib.timeline import Segment, Timeline, plot_timeline`` works):

- ``plot_timeline(tl, ax=None)`` draws one timeline with matplotlib, one row per task, and
  describes it in words (``course_lib.figures``: the picture's alternative text);
- ``plot_models(tasks)`` stacks the three models of ``course_lib.models`` on one time axis;
- ``render_timeline_svg(tl, clock=...)`` writes the same picture as an inline SVG string,
  which the Stepper redraws at every click (a few milliseconds, where a matplotlib
  figure costs tens).

Both pictures read ``STYLE``, one ``Look`` per kind of segment:

- ``"cpu"``    the task runs on a processor: a solid bar in the task's colour
- ``"io"``     the task waits for I/O and uses no processor: a grey bar
- ``"ready"``  the task could run but waits for a processor: a white bar outlined in the
  task's colour, hatched (matplotlib) or with a dashed outline (SVG has no cheap hatching)
- ``"switch"`` a processor switches between threads: a black bar
- anything else is a light bar (labelled with its kind in matplotlib, in a tooltip in SVG).

Task colours come from ``PALETTE`` in the order of the timeline's tasks. A cpu segment
of zero length (a callback on a virtual clock takes no time) is drawn as a diamond at
its instant in matplotlib and as a sliver in SVG.

What it is not: a scheduler or a recorder. Nothing here decides what runs or measures
anything; ``models``, ``loop``, ``tracer``, ``threadsim`` and ``triggers`` make
timelines, this module only draws them.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from course_lib import validate
from course_lib.figures import describe, describe_timeline
from course_lib.models import run_event_driven, run_sequential, run_threaded
from course_lib.segments import Segment, Timeline

__all__ = ["Segment", "Timeline", "plot_timeline", "plot_models", "render_timeline_svg",
           "Look", "STYLE", "OTHER", "look_of", "PALETTE", "IO_GREY"]

# Okabe & Ito's palette: told apart by people with every common kind of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
IO_GREY = "#9a9a9a"
TASK = "task"  # in a Look: "the colour of the segment's task"


@dataclass(frozen=True)
class Look:
    """How one kind of segment is drawn, in both pictures."""

    fill: str                    # a colour, or TASK
    edge: str | None = None      # outline colour, TASK, or None for no outline
    width: float | None = None   # outline width in points (None: the picture's default)
    opacity: float | None = None  # of the fill
    hatched: bool = False        # matplotlib hatches the bar; SVG dashes its outline
    words: str = ""              # the look in words, for a key without swatches (the SVG's)
    label: str = ""              # what the kind means, for both legends


# The one style table. The SVG's key reads "solid: runs · grey: waits for I/O · ...".
STYLE = {
    "cpu": Look(fill=TASK, edge="black", width=0.6, words="solid", label="runs"),
    "io": Look(fill=IO_GREY, opacity=0.55, words="grey", label="waits for I/O"),
    "ready": Look(fill="white", edge=TASK, hatched=True, words="dashed", label="ready, waiting"),
    "switch": Look(fill="black", words="black", label="context switch"),
}
OTHER = Look(fill="#dddddd", edge="#888888", width=0.5)  # any other kind


def look_of(kind: str) -> Look:
    """The Look of segments of ``kind`` (``OTHER`` for a kind the table does not name)."""
    return STYLE.get(kind, OTHER)


def _task_colours(tasks) -> dict:
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(tasks)}


def _paint(value, colour):
    return colour if value == TASK else value


# -- matplotlib ---------------------------------------------------------------------------------
def _mpl_style(kind: str, colour: str) -> dict:
    """The Look of ``kind`` as matplotlib keyword arguments (``colour``: the task's)."""
    look = look_of(kind)
    style = dict(facecolor=_paint(look.fill, colour), edgecolor=_paint(look.edge, colour) or "none")
    if look.width is not None:
        style["linewidth"] = look.width
    if look.opacity is not None:
        style["alpha"] = look.opacity
    if look.hatched:
        style["hatch"] = "///"
    return style


def plot_timeline(timeline: Timeline, ax=None, title: str | None = None, xmax: float | None = None,
                  legend: bool = True):
    """Draw ``timeline`` on ``ax`` (a new figure if None), one row per task. Returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if not isinstance(timeline, Timeline):
        raise TypeError(f"timeline must be a Timeline, got {type(timeline).__name__}")
    xmax = validate.seconds(xmax, "xmax", above=0, optional=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.55 * max(len(timeline.tasks), 1) + 1.2))
    colours = _task_colours(timeline.tasks)
    rows = {t: len(timeline.tasks) - 1 - i for i, t in enumerate(timeline.tasks)}
    kinds_seen = []
    for s in timeline.segments:
        if s.duration <= 0:  # an instant (a callback on a virtual clock): a diamond
            if s.kind == "cpu":
                ax.plot([s.start], [rows[s.task]], marker="D", markersize=7, color=colours[s.task],
                        markeredgecolor="black")
            continue
        ax.broken_barh([(s.start, s.duration)], (rows[s.task] - 0.3, 0.6), **_mpl_style(s.kind, colours[s.task]))
        if s.kind not in STYLE and s.duration > 0.04 * max(timeline.makespan, 1e-9):
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
        handles = [Patch(**_mpl_style("cpu", colours[t]), label=f"{t} {STYLE['cpu'].label}") for t in runs[:6]]
        handles += [Patch(**_mpl_style(kind, "#444444"), label=look.label)
                    for kind, look in STYLE.items() if kind != "cpu" and kind in kinds_seen]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    describe(ax, describe_timeline(timeline, heading))  # the alternative text of the picture
    return ax


def plot_models(tasks, cores: int = 1, quantum: float = 0.5, figsize=None, timelines=None):
    """The three models of ``course_lib.models`` on ``tasks``, stacked on one time axis. Returns the figure.

    ``timelines`` may give the three timelines directly (e.g. measured ones) as a
    dict ``{title: Timeline}``; then ``tasks`` is only used for the row order.
    """
    import matplotlib.pyplot as plt

    if timelines is None:
        cores = validate.count(cores, "cores", minimum=1)
        quantum = validate.seconds(quantum, "quantum", above=0)
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


# -- SVG (the Stepper's picture) ----------------------------------------------------------------
HIGHLIGHT = "#d00"  # the Stepper's marks: the segments of the last step, the clock line


def _svg_style(kind: str, colour: str) -> dict:
    """The Look of ``kind`` as SVG attributes (``colour``: the task's)."""
    look = look_of(kind)
    attrs = {"fill": _paint(look.fill, colour)}
    if look.opacity is not None:
        attrs["fill-opacity"] = f"{look.opacity:g}"
    if look.edge is not None:
        attrs["stroke"] = _paint(look.edge, colour)
    if look.width is not None:
        attrs["stroke-width"] = f"{look.width:g}"
    if look.hatched:
        attrs["stroke-dasharray"] = "3,2"
    return attrs


def _ticks(xmax: float) -> list[float]:
    raw = xmax / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(xmax / step + 1e-9) + 1)]


def _esc(text) -> str:
    return html.escape(str(text), quote=False)


def render_timeline_svg(timeline: Timeline | None, clock=None, new=(), points=(), width: int = 640) -> str:
    """Draw a Timeline (or, if None, ``points`` = [(step, clock)]) as HTML holding an inline SVG.

    Segments in ``new`` (what the last step added) and the last point are outlined in red,
    and a dashed red line marks ``clock``.
    """
    if timeline is not None and not isinstance(timeline, Timeline):
        raise TypeError(f"timeline must be a Timeline or None, got {type(timeline).__name__}")
    width = validate.count(width, "width", minimum=100, unit="pixels")
    if timeline is not None:
        tasks, segs = timeline.tasks, timeline.segments
        end = max([timeline.makespan] + [s.start for s in segs])
    else:
        tasks, segs = ["steps"] if points else [], []
        end = max((c for _, c in points), default=0.0)
    if not tasks:
        return "<div style='color:#666;font-size:12px'>(the timeline appears as you step)</div>"
    xmax = max(end, clock or 0.0)
    xmax = xmax * 1.05 if xmax > 0 else 1.0
    labels = [str(name) if len(str(name)) <= 22 else str(name)[:21] + "…" for name in tasks]
    left, row_h, top = int(min(max(6.5 * max(map(len, labels)) + 14, 50), 160)), 22, 6
    plot_w = width - left - 14
    height = top + row_h * len(tasks) + 30
    x = lambda t: left + plot_w * t / xmax  # noqa: E731
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           "font-family='sans-serif' font-size='11'>"]
    for t in _ticks(xmax):
        out.append(f"<line x1='{x(t):.1f}' y1='{top}' x2='{x(t):.1f}' y2='{height - 24}' stroke='#e4e4e4'/>")
        out.append(f"<text x='{x(t):.1f}' y='{height - 12}' text-anchor='middle' fill='#444'>{t:.4g}</text>")
    seconds = isinstance(clock, float) or clock is None  # an int clock counts something else (ms, steps)
    unit = "time (s)" if seconds else "time"
    out.append(f"<text x='{left + plot_w}' y='{height - 1}' text-anchor='end' fill='#444'>{unit}</text>")
    rows = {name: i for i, name in enumerate(tasks)}
    for i, label in enumerate(labels):
        out.append(f"<text x='{left - 6}' y='{top + row_h * i + 15}' text-anchor='end'>{_esc(label)}</text>")
    colours = _task_colours(tasks)
    for s in segs:
        y, h, w = top + row_h * rows[s.task] + 3, row_h - 6, max(x(s.end) - x(s.start), 2.0)
        style = _svg_style(s.kind, colours[s.task])
        if s in new:
            style.update({"stroke": HIGHLIGHT, "stroke-width": "2"})
        attrs = " ".join(f"{k}='{v}'" for k, v in style.items())
        out.append(f"<rect x='{x(s.start):.1f}' y='{y}' width='{w:.1f}' height='{h}' {attrs}>"
                   f"<title>{_esc(s.task)} {_esc(s.kind)} {s.start:.4g}-{s.end:.4g}{' s' * seconds}</title></rect>")
        if s.kind not in STYLE and w >= 5 * len(s.kind) + 4:  # a kind the table does not name: written on its bar
            out.append(f"<text x='{x(s.start) + w / 2:.1f}' y='{y + h / 2 + 3:.1f}' text-anchor='middle' "
                       f"font-size='8'>{_esc(s.kind)}</text>")
    for step, c in points:
        colour = HIGHLIGHT if step == len(points) - 1 else PALETTE[0]
        out.append(f"<circle cx='{x(c):.1f}' cy='{top + row_h / 2}' r='4' fill='{colour}'>"
                   f"<title>step {step} at {c:.4g} s</title></circle>")
    if clock is not None:
        out.append(f"<line x1='{x(clock):.1f}' y1='{top}' x2='{x(clock):.1f}' y2='{height - 24}' "
                   f"stroke='{HIGHLIGHT}' stroke-dasharray='4,3'/>")
    out.append("</svg>")
    kinds = {s.kind for s in segs}
    key = [f"{look.words}: {look.label}" for kind, look in STYLE.items() if kind in kinds]
    key += ["light: named on the bar"] if kinds - set(STYLE) else []
    key += ["red outline: the last step", "dashed red line: the clock"] if segs else []
    legend = f"<div style='font-family:sans-serif;font-size:11px;color:#555'>{' · '.join(key)}</div>" if key else ""
    return f"<div style='line-height:1.2'>{''.join(out)}{legend}</div>"
