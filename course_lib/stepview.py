"""What the Stepper shows, as HTML: the state view, the status line, the static copy.

What it is: pure functions from plain data to HTML strings, which ``widgets.Stepper``
puts into its ``ipywidgets.HTML`` views::

    render_state(snapshot)          # the clock, then one box per section of the snapshot
    render_line(text)               # what the last step did
    render_status(n, done, running) # "step 3 · done" beside the buttons
    render_static(title, lines, state, timeline, done=..., note=...)  # the copy left in the display bundle

A snapshot section that is a list of dicts or a dict of dicts becomes a table with a
column per key; other lists and dicts become rows; known sections get a title
(``"ready"`` is "ready queue (first runs first)"); stray scalars share one line at the
bottom. The timeline picture is ``course_lib.timeline.render_timeline_svg``.

The static copy is what a reader sees where no kernel runs (GitHub, nbviewer, a website): the
whole run, not step 0. A collapsed ``<details>`` transcript holds one line per step, worded as the
status line words it (``step 3: ran greet()``), then the final picture: state and timeline at the
end. A run that cannot be replayed (real I/O) gives no lines, and ``note`` says why.

Why HTML and not matplotlib: one click costs a few milliseconds to redraw, where a
matplotlib figure costs tens. The output is deterministic text (no widget ids, no
times), so nbval can compare the copy a stored notebook holds.

What it is not: a widget or a controller. Nothing here holds state or reacts to a
click; ``course_lib.widgets`` does.
"""

from __future__ import annotations

import html

__all__ = ["render_state", "render_line", "render_status", "render_title", "render_static", "step_line"]

_TITLES = {
    "ready": "ready queue (first runs first)", "timers": "timers (heap order)",
    "readers": "readers (waiting to read)", "writers": "writers (waiting to write)",
    "threads": "threads", "memory": "shared memory", "locks": "locks (owner)", "last": "ran last",
}
_SHOWN_ELSEWHERE = {"clock", "step", "done", "last_step"}  # the header line and the status line show these
_LABELS = {"batch_left": "callbacks left in this batch"}
_BOX = "border:1px solid #ccc;border-radius:4px;padding:4px 8px;margin:0 6px 6px 0;min-width:140px;vertical-align:top"
_TABLE = "border-collapse:collapse;font-family:monospace;font-size:12px"
_CELL = "padding:1px 6px;border-bottom:1px solid #eee;text-align:left"


def _esc(value) -> str:
    text = value if isinstance(value, str) else format(value, ".10g") if isinstance(value, float) else str(value)
    return html.escape(text, quote=False)


def _num(x) -> str:
    return f"{x:.6g}" if isinstance(x, (int, float)) else str(x)


def _table(rows, header=None) -> str:
    head = "".join(f"<th style='{_CELL}'>{_esc(h)}</th>" for h in header) if header else ""
    body = "".join("<tr>" + "".join(f"<td style='{_CELL}'>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table style='{_TABLE}'>" + (f"<tr>{head}</tr>" if head else "") + body + "</table>"


def _render_value(value) -> str:
    """Plain data as HTML: lists of dicts and dicts of dicts as tables, the rest as rows of text."""
    if isinstance(value, dict):
        if not value:
            return "<i>(empty)</i>"
        if all(isinstance(v, dict) for v in value.values()):
            cols = list(dict.fromkeys(k for v in value.values() for k in v))
            return _table([[k] + [v.get(c, "") for c in cols] for k, v in value.items()], [""] + cols)
        return _table([[k, "—" if v is None else v] for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        if not value:
            return "<i>(empty)</i>"
        if all(isinstance(v, dict) for v in value):
            cols = list(dict.fromkeys(k for v in value for k in v))
            return _table([[v.get(c, "") for c in cols] for v in value], cols)
        return _table([list(v) if isinstance(v, (list, tuple)) else [v] for v in value])
    return f"<span style='font-family:monospace'>{_esc(value)}</span>"


def render_state(snapshot: dict) -> str:
    """A snapshot dict as HTML: the clock first, then one box per section, unknown scalars together."""
    if not isinstance(snapshot, dict):
        raise TypeError(f"snapshot() must return a dict, got {type(snapshot).__name__}")
    parts, others = [], []
    for key, value in snapshot.items():
        if key in _SHOWN_ELSEWHERE:
            continue
        if key not in _TITLES and not isinstance(value, (dict, list, tuple)):
            others.append([_LABELS.get(key, key), value])
            continue
        title = _TITLES.get(key, str(key))
        parts.append(f"<div style='{_BOX};display:inline-block'><b>{_esc(title)}</b><br>{_render_value(value)}</div>")
    if others:  # unknown scalars: one compact line of key = value
        parts.append("<div style='font-family:monospace;font-size:12px;color:#555'>"
                     + " · ".join(f"{_esc(k)} = {_esc(v)}" for k, v in others) + "</div>")
    clock = snapshot.get("clock")
    unit = " s" if isinstance(clock, float) else ""
    head = "" if clock is None else \
        f"<div style='font-family:monospace;margin-bottom:4px'>clock = {_esc(_num(clock))}{unit}</div>"
    return (f"<div class='edp-stepper-state' style='font-family:sans-serif;font-size:13px;line-height:1.35'>"
            f"{head}<div>{''.join(parts)}</div></div>")


def render_line(text: str) -> str:
    """The line saying what the last step did."""
    return f"<span style='font-family:monospace'>{_esc(text)}</span>"


def render_status(steps: int, done: bool, running: bool) -> str:
    """The short status beside the buttons: how many steps, done, running."""
    flags = (" · done" if done else "") + (" · running" if running else "")
    return f"<span style='margin-left:8px'>step {steps}{flags}</span>"


def render_title(title: str | None) -> str:
    """The Stepper's heading ("" without a title)."""
    return f"<div><b>{_esc(title)}</b></div>" if title else ""


def step_line(n: int, line: str) -> str:
    """How the status line words step ``n``: ``"step 3: ran greet()"``."""
    return f"step {n}: {line}"


def render_static(title: str, lines: list[str], state: str, timeline: str, *, done: bool = True,
                  note: str = "") -> str:
    """The static copy: the title, the transcript (``lines``, one per step, in a collapsed
    ``<details>``), then the final state view and timeline (already HTML), and ``note`` if any."""
    n = len(lines)
    where = f"after step {n}" + (" · done" if done else "")
    parts = [title]
    if lines:
        rows = "".join(f"<div class='edp-stepper-step'>{_esc(step_line(i, line))}</div>"
                       for i, line in enumerate(lines, 1))
        parts.append(f"<details class='edp-stepper-transcript'><summary>the whole run, step by step "
                     f"({n} step{'s' if n != 1 else ''}): click to open</summary>"
                     f"<div style='font-family:monospace;font-size:12px;line-height:1.4;margin:4px 0 6px 12px'>"
                     f"{rows}</div></details>")
    if note:
        parts.append(f"<div class='edp-stepper-note' style='font-size:12px;color:#555'>{_esc(note)}</div>")
    parts.append(f"<div class='edp-stepper-final'><div style='margin:4px 0'><b>{_esc(where)}</b></div>"
                 f"{state}{timeline}</div>")
    return (f"<div class='edp-stepper-static' data-steps='{n}' style='font-family:sans-serif'>"
            f"{''.join(parts)}</div>")
