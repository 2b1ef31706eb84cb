"""Alternative text for figures: every picture the course shows also says in words what it shows.

What it is: a place to hang a description on a matplotlib figure, and the hook that puts it
into the notebook next to the picture::

    fig, ax = plt.subplots()
    ax.plot(sizes, seconds)
    describe(fig, "Line chart: seconds per select() call against the number of idle sockets, "
                  "rising in a straight line from 0.1 ms at 100 sockets to 2 ms at 1,000.")
    plt.show()

- ``describe(fig_or_axes, text)`` stores ``text`` for a figure, or for one panel (an Axes);
- ``alt_text(fig)`` is what a reader without the picture gets: the figure's own description,
  else its panels' descriptions in order, else ``None`` (a panel without one makes it ``None``);
- ``describe_timeline(tl)`` puts a ``Timeline`` into words (who runs, waits and finishes when);
  ``timeline.plot_timeline`` and ``timeline.plot_models`` describe their panels with it, so the
  course's own timelines need nothing from the author.

How the words reach the page: Jupyter turns a figure into a PNG through IPython's display
formatter for ``Figure``. ``describe`` wraps that formatter (once per kernel, and again if
``%matplotlib inline`` replaced it), so the PNG output carries ``metadata["image/png"]["alt"]``.
nbconvert's HTML and slides write it as ``<img alt="...">``, so does the course website
(``tools/website.py``); JupyterLab 4.6's image renderer does not read it yet.

Write the description for someone who cannot see the picture: what kind of chart, what the axes
are, and the one thing the picture is there to show (a number, a trend, who finishes first).

What it is not: a chart reader. Nothing here looks at the pixels; authors say what their
own plots show, and only timelines are described from their data.
"""

from __future__ import annotations

import weakref

from course_lib import validate

__all__ = ["describe", "alt_text", "describe_timeline"]

_DESCRIPTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # Figure or Axes -> text
_MAX_TASKS = 8  # a timeline's description names this many tasks, then counts the rest


def describe(target, text: str):
    """Give a figure (or one Axes of it) its description; returns ``target``."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if not isinstance(target, (Figure, Axes)):
        raise TypeError(f"target must be a matplotlib Figure or Axes, got {type(target).__name__}")
    _DESCRIPTIONS[target] = validate.text(text, "text").strip()
    _install_formatter()
    return target


def alt_text(fig) -> str | None:
    """The figure's description, else its panels' in order, else None."""
    if fig in _DESCRIPTIONS:
        return _DESCRIPTIONS[fig]
    panels = [ax for ax in getattr(fig, "axes", []) if ax.get_visible()]
    texts = [_DESCRIPTIONS.get(ax) for ax in panels]
    if not texts or None in texts:
        return None
    if len(texts) == 1:
        return texts[0]
    return f"{len(texts)} charts, top to bottom. " + " ".join(f"Chart {i}: {t}" for i, t in enumerate(texts, 1))


def _seconds(x: float) -> str:
    return f"{x:.3g} s"


def describe_timeline(tl, title: str | None = None) -> str:
    """A timeline in words: its title, its time span, then per task what it did and when it finished."""
    heading = tl.title if title is None else title
    words = [f"Timeline chart{': ' + heading if heading else ''}.",
             f"Time runs left to right from 0 to {_seconds(tl.makespan)}, one row per task."]
    if not tl.segments:
        return " ".join(words + ["Nothing has happened yet."])
    finish = tl.finish_times()
    for task in tl.tasks[:_MAX_TASKS]:
        segs = tl.for_task(task)
        if not segs:
            continue
        parts = []
        for kind, verb in (("cpu", "runs"), ("io", "waits for I/O"), ("ready", "waits for a processor"),
                           ("switch", "switches")):
            total = sum(s.duration for s in segs if s.kind == kind)
            count = sum(1 for s in segs if s.kind == kind)
            if count and total > 0:
                parts.append(f"{verb} {_seconds(total)}")
            elif count:
                parts.append(f"{verb} {count} time{'s' if count > 1 else ''} in an instant")
        others = sorted({s.kind for s in segs} - {"cpu", "io", "ready", "switch"})
        parts += [f"is in '{k}'" for k in others]
        words.append(f"{task} {', '.join(parts)}; done at {_seconds(finish[task])}.")
    if len(tl.tasks) > _MAX_TASKS:
        words.append(f"And {len(tl.tasks) - _MAX_TASKS} more tasks.")
    return " ".join(words)


def _install_formatter() -> None:
    """Wrap IPython's PNG formatter for figures so the output carries ``alt`` (no-op outside IPython)."""
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        current = png.lookup_by_type(Figure)
    except KeyError:  # no inline backend: figures are not shown as PNG here
        return
    if getattr(current, "edp_alt", False):
        return

    def png_with_alt(fig, _inner=current):
        data = _inner(fig)
        text = alt_text(fig)
        if data is None or not text:
            return data
        data, meta = data if isinstance(data, tuple) else (data, None)
        return data, {**(meta or {}), "alt": text}

    png_with_alt.edp_alt = True
    png.for_type(Figure, png_with_alt)
