"""The Stepper: buttons that advance a loop (or any steppable) one event at a time.

What it is: ``Stepper(factory)`` shows **Reset**, **Back**, **Step** and **Run** buttons, one line
saying what the last step did, a view of the state (clock, ready queue, timers, readers and
writers, or threads, shared memory and locks) and the timeline growing as you step. It works with
anything that follows the steppable protocol (docs/DEVELOPING.md)::

    obj.step()      # one event; returns something whose str() is one line
    obj.done        # True when nothing more can happen
    obj.snapshot()  # {"clock": float, ...sections of plain data...}
    obj.timeline()  # optional: a course_lib.timeline.Timeline of what happened so far

Give it a zero-argument function that builds a *fresh* steppable: then Reset builds a new one and
Back replays the same run to the previous step (the simulations are deterministic, so a replay
lands on exactly the same state). Given the steppable itself, Reset and Back are disabled; Back is
also disabled when the steppable says it is not deterministic (``deterministic = False`` or
``simulated = False``, as a loop on real sockets does).

Use::

    stepper = Stepper(make_loop, title="three callbacks", interval=0.5)   # make_loop() builds a fresh Loop
    stepper                      # display it: Reset, Back, Step, Run (reads Pause while running)
    stepper.step(); stepper.back(); stepper.reset(); stepper.run_to_end()  # what the buttons do
    stepper.state, stepper.history                                         # current snapshot, one line per step

Run steps every ``interval`` seconds on the kernel's own asyncio loop (a timer, not a blocking
loop), so the next click still reaches the kernel and pauses it. Without a running asyncio loop
(plain Python, tests), Run runs to the end at once. A step that blocks (a real loop waiting for
I/O with no timer due) blocks the kernel for as long as it waits.

How it draws, and why: the state view and the timeline are plain HTML with an inline SVG that
this module writes itself. One click costs a few milliseconds, where redrawing a matplotlib
figure costs tens; the picture uses the palette and the conventions of ``plot_timeline``
(solid = runs, grey = waits for I/O, outline = ready); the segments of the last step are outlined
in red, and a dashed line marks the clock.

The static picture left behind: displaying a Stepper gives the widget view *and*, in the same
display bundle, a ``text/html`` copy of the state view and timeline as they were at display time.
A live JupyterLab shows the widget. Where a notebook was saved *without* widget state (JupyterLab's
default), ``jupyter nbconvert --to html``, nbviewer and other viewers show the HTML copy. Where it
was saved *with* widget state (nbclient, so ``tools/run_notebook.py``, stores it), JupyterLab
without a kernel and nbconvert's HTML show the widget itself as it was last drawn, buttons inert
(nbconvert's page loads the widget renderer from a CDN, so offline it shows nothing there). We
chose the bundle over displaying a separate static figure because that would show the same
picture twice in every live session. The copy is deterministic text (no widget ids, no times),
so nbval can compare it. One limit: JupyterLab opening a notebook saved without widget state and
not running it shows ipywidgets' "model not found" placeholder instead of the copy.

What it is not: a debugger, or a scheduler. It never changes what the steppable does; it only
calls ``step()`` and reads ``snapshot()`` and ``timeline()``.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import math

__all__ = ["Stepper", "render_state", "render_timeline_svg"]

_PROTOCOL = ("step", "done", "snapshot")
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


def _missing(obj) -> list[str]:
    return [name for name in _PROTOCOL if not hasattr(obj, name)]


def _check_done(obj):
    if callable(obj.done):
        raise TypeError(f"{type(obj).__name__}.done must be a property (read as obj.done), not a method")
    return obj


def _esc(value) -> str:
    return html.escape(value if isinstance(value, str) else format(value, ".10g") if isinstance(value, float) else str(value), quote=False)


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
    head = f"<div style='font-family:monospace;margin-bottom:4px'>clock = {_esc(_num(clock))}{unit}</div>" if clock is not None else ""
    return f"<div class='edp-stepper-state' style='font-family:sans-serif;font-size:13px;line-height:1.35'>{head}<div>{''.join(parts)}</div></div>"


def _num(x) -> str:
    return f"{x:.6g}" if isinstance(x, (int, float)) else str(x)


def _ticks(xmax: float) -> list[float]:
    raw = xmax / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(xmax / step + 1e-9) + 1)]


def render_timeline_svg(timeline, clock=None, new=(), points=(), width=640) -> str:
    """Draw a Timeline (or, if None, ``points`` = [(step, clock)]) as an inline SVG string.

    Segments in ``new`` (what the last step added) and the last point are outlined in red.
    """
    from course_lib.timeline import IO_GREY, PALETTE

    if timeline is not None:
        tasks, segs = timeline.tasks, timeline.segments
        end = max([timeline.makespan] + [s.start for s in segs])
    else:
        tasks, segs = ["steps"] if points else [], []
        end = max((c for _, c in points), default=0.0)
    if not tasks:
        return "<div style='color:#888;font-size:12px'>(the timeline appears as you step)</div>"
    xmax = max(end, clock or 0.0)
    xmax = xmax * 1.05 if xmax > 0 else 1.0
    labels = [str(name) if len(str(name)) <= 22 else str(name)[:21] + "…" for name in tasks]
    left, row_h, top = int(min(max(6.5 * max(map(len, labels)) + 14, 50), 160)), 22, 6
    plot_w = width - left - 14
    height = top + row_h * len(tasks) + 30
    x = lambda t: left + plot_w * t / xmax  # noqa: E731
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif' font-size='11'>"]
    for t in _ticks(xmax):
        out.append(f"<line x1='{x(t):.1f}' y1='{top}' x2='{x(t):.1f}' y2='{height - 24}' stroke='#e4e4e4'/>")
        out.append(f"<text x='{x(t):.1f}' y='{height - 12}' text-anchor='middle' fill='#444'>{t:.4g}</text>")
    unit = "time (s)" if isinstance(clock, float) or clock is None else "time"
    out.append(f"<text x='{left + plot_w}' y='{height - 1}' text-anchor='end' fill='#444'>{unit}</text>")
    rows = {name: i for i, name in enumerate(tasks)}
    for i, label in enumerate(labels):
        out.append(f"<text x='{left - 6}' y='{top + row_h * i + 15}' text-anchor='end'>{_esc(label)}</text>")
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(tasks)}
    for s in segs:
        y, h, w = top + row_h * rows[s.task] + 3, row_h - 6, max(x(s.end) - x(s.start), 2.0)
        style = {"cpu": {"fill": colours[s.task], "stroke": "black", "stroke-width": "0.6"},
                 "io": {"fill": IO_GREY, "fill-opacity": "0.55"},
                 "ready": {"fill": "white", "stroke": colours[s.task], "stroke-dasharray": "3,2"},
                 "switch": {"fill": "black"}}.get(s.kind, {"fill": "#dddddd", "stroke": "#888888", "stroke-width": "0.5"})
        if s in new:
            style.update({"stroke": "#d00", "stroke-width": "2"})
        attrs = " ".join(f"{k}='{v}'" for k, v in style.items())
        out.append(f"<rect x='{x(s.start):.1f}' y='{y}' width='{w:.1f}' height='{h}' {attrs}><title>{_esc(s.task)} {_esc(s.kind)} "
                   f"{s.start:.4g}-{s.end:.4g} s</title></rect>")
    for step, c in points:
        colour = "#d00" if step == len(points) - 1 else PALETTE[0]
        out.append(f"<circle cx='{x(c):.1f}' cy='{top + row_h / 2}' r='4' fill='{colour}'><title>step {step} at {c:.4g} s</title></circle>")
    if clock is not None:
        out.append(f"<line x1='{x(clock):.1f}' y1='{top}' x2='{x(clock):.1f}' y2='{height - 24}' stroke='#d00' stroke-dasharray='4,3'/>")
    out.append("</svg>")
    kinds = {s.kind for s in segs}
    key = [text for kind, text in (("cpu", "solid: runs"), ("io", "grey: waits for I/O"), ("ready", "dashed: ready, waiting"))
           if kind in kinds] + (["red outline: the last step", "dashed red line: the clock"] if segs else [])
    legend = f"<div style='font-family:sans-serif;font-size:11px;color:#555'>{' · '.join(key)}</div>" if key else ""
    return f"<div style='line-height:1.2'>{''.join(out)}{legend}</div>"


class Stepper:
    """Step, run, go back and reset a steppable; see the module docstring."""

    def __init__(self, factory_or_steppable, *, interval: float = 0.5, title: str | None = None, max_steps: int = 10_000):
        import ipywidgets as w

        obj = factory_or_steppable
        if isinstance(obj, type) or (callable(obj) and _missing(obj)):
            self._factory = obj
        elif not _missing(obj):
            self._factory = None
        else:
            raise TypeError(
                f"Stepper needs a steppable (an object with step(), done and snapshot()) or a zero-argument function "
                f"that builds one; got {type(obj).__name__!s}, which has no {', '.join(_missing(obj))}")
        if not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
        self.interval, self.max_steps = float(interval), max_steps
        self._obj = self._build() if self._factory else _check_done(obj)
        self._handle = None
        self._aloop = self._running_loop()
        self.reset_button = w.Button(description="Reset", tooltip="build a fresh run from the start")
        self.back_button = w.Button(description="Back", tooltip="replay the run to the previous step")
        self.step_button = w.Button(description="Step", button_style="primary", tooltip="one event")
        self.run_button = w.Button(description="Run", tooltip="step every interval until done; click again to pause")
        for b, fn in ((self.reset_button, self.reset), (self.back_button, self.back),
                      (self.step_button, self.step), (self.run_button, self._toggle_run)):
            b.layout.width = "92px"
            b.on_click(self._handler(fn))
        self.status = w.HTML()
        self.last_line = w.HTML()
        self.state_view = w.HTML()
        self.timeline_view = w.HTML()
        self._title = f"<div><b>{_esc(title)}</b></div>" if title else ""
        head = [w.HTML(self._title)] if title else []
        buttons = w.HBox([self.reset_button, self.back_button, self.step_button, self.run_button, self.status])
        self.widget = w.VBox(head + [buttons, self.last_line, self.state_view, self.timeline_view])
        self.widget.add_class("edp-stepper")
        self._start()

    # -- building and replaying ------------------------------------------------------------------
    def _build(self):
        try:
            inspect.signature(self._factory).bind()
        except TypeError as exc:
            raise TypeError(f"the factory must be callable with no arguments and build a steppable: {exc}") from None
        except ValueError:  # some builtins have no signature: just call them
            pass
        obj = self._factory()
        if _missing(obj):
            raise TypeError(f"the factory returned a {type(obj).__name__}, which is not steppable: it has no "
                            f"{', '.join(_missing(obj))} (see 'The steppable protocol' in docs/DEVELOPING.md)")
        _check_done(obj)
        if getattr(self, "_obj", None) is obj:
            raise ValueError("the factory returned the same object again; it must build a fresh steppable each call")
        return obj

    def _replace(self, new):
        """Close the steppable we built before (a loop may hold sockets); return the new one."""
        close = getattr(self._obj, "close", None)
        if callable(close):
            close()
        return new

    def _snapshot(self) -> dict:
        snap = self._obj.snapshot()
        if not isinstance(snap, dict):
            raise TypeError(f"snapshot() must return a dict, got {type(snap).__name__}")
        return snap

    def _start(self):
        self._history: list[str] = []
        self._snapshots = [self._snapshot()]
        self._seen, self._new = set(), set()
        # A real clock (time.monotonic) has no meaningful zero: draw it from when this run began.
        clock = self._snapshots[0].get("clock")
        real = getattr(self._obj, "simulated", True) is False and isinstance(clock, (int, float))
        self._clock0 = clock if real else 0
        self._refresh("ready: click Step for one event")

    @staticmethod
    def _running_loop():
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    # -- the public, programmatic API --------------------------------------------------------------
    @property
    def steppable(self):
        """The object being stepped (a fresh one after Reset or Back)."""
        return self._obj

    @property
    def state(self) -> dict:
        """The current snapshot."""
        return self._snapshots[-1]

    @property
    def history(self) -> list[str]:
        """What each step did, one line per step so far."""
        return list(self._history)

    @property
    def done(self) -> bool:
        return bool(self._obj.done)

    @property
    def replayable(self) -> bool:
        """True when Back can replay: built by a factory and deterministic."""
        o = self._obj
        return self._factory is not None and getattr(o, "deterministic", True) is not False and getattr(o, "simulated", True) is not False

    def step(self):
        """One step; returns its one-line description, or None when already done."""
        if self.done:
            self._refresh("done: nothing more can happen")
            return None
        line = str(self._obj.step())
        self._history.append(line)
        self._snapshots.append(self._snapshot())
        self._refresh(line, stepped=True)
        return line

    def back(self):
        """Replay a fresh run to the step before the current one."""
        if not self.replayable:
            raise RuntimeError("Back needs a deterministic steppable built by a factory (Stepper(lambda: ...))")
        target = max(len(self._history) - 1, 0)
        self.pause()
        old_history, old_snaps = self._history[:target], self._snapshots[: target + 1]
        self._obj = self._replace(self._build())
        self._seen = set()
        for i in range(target):
            if i == target - 1:
                self._seen = set(self._segments() or ())
            self._obj.step()
        self._history, self._snapshots = old_history, old_snaps
        now = self._snapshot()
        warn = "" if now == old_snaps[-1] else " (warning: the replay did not reach the same state; is the run deterministic?)"
        self._snapshots[-1] = now
        self._refresh((f"back to step {target}: " + (old_history[-1] if old_history else "the start")) + warn, stepped=True)

    def reset(self):
        """A fresh steppable from the factory, at step 0."""
        if self._factory is None:
            raise RuntimeError("Reset needs a factory: Stepper(lambda: make_loop()) rather than Stepper(loop)")
        self.pause()
        self._obj = self._replace(self._build())
        self._start()

    def run_to_end(self, max_steps: int | None = None) -> int:
        """Step until done (or ``max_steps``, default the Stepper's); returns the number of steps taken."""
        limit = self.max_steps if max_steps is None else max_steps
        n = 0
        while not self.done and n < limit:
            self.step()
            n += 1
        return n

    # -- Run: animation on the kernel's own asyncio loop, so clicks still arrive -------------------
    @property
    def running(self) -> bool:
        return self._handle is not None

    def play(self):
        """Start stepping every ``interval`` seconds (on the running asyncio loop; without one, run to the end)."""
        aloop = self._running_loop() or (self._aloop if self._aloop and self._aloop.is_running() else None)
        if aloop is None:
            self.run_to_end()
            return
        self._aloop = aloop
        self._handle = aloop.call_soon_threadsafe(self._tick)
        self._refresh(None)

    def pause(self):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._refresh(None)

    def _tick(self):
        self._handle = None
        try:
            self.step()
        except Exception as exc:  # shown in the widget; a tick has nobody else to tell
            self._refresh(f"⚠ step raised {type(exc).__name__}: {exc}")
            return
        if not self.done and len(self._history) < self.max_steps:
            self._handle = self._aloop.call_later(self.interval, self._tick)
        self._refresh(None)

    def _toggle_run(self):
        self.pause() if self.running else self.play()

    def _handler(self, fn):
        def on_click(_button):
            if fn != self._toggle_run:
                self.pause()
            try:
                fn()
            except Exception as exc:  # a click handler's exception would vanish into the kernel log
                self._refresh(f"⚠ {type(exc).__name__}: {exc}")
        return on_click

    # -- drawing ------------------------------------------------------------------------------------
    def _segments(self):
        tl_fn = getattr(self._obj, "timeline", None)
        return tl_fn().segments if callable(tl_fn) else None

    def _timeline_html(self, stepped: bool) -> str:
        clock = self.state.get("clock")
        clock = clock - self._clock0 if isinstance(clock, (int, float)) else None
        tl_fn = getattr(self._obj, "timeline", None)
        if callable(tl_fn):
            tl = tl_fn()
            segs = set(tl.segments)
            if stepped:
                self._new = segs - self._seen
            self._seen = segs
            return render_timeline_svg(tl, clock=clock, new=self._new)
        points = [(i, s.get("clock", i)) for i, s in enumerate(self._snapshots[1:])]
        return render_timeline_svg(None, clock=clock, points=points)

    def _refresh(self, line, stepped=False):
        n, done, running = len(self._history), self.done, self.running
        if line is not None:
            prefix = f"step {n}: " if n and not line.startswith(("back", "⚠", "done")) else ""
            self._line = prefix + line
            self.last_line.value = f"<span style='font-family:monospace'>{_esc(self._line)}</span>"
            self.state_view.value = render_state(self.state)
            self.timeline_view.value = self._timeline_html(stepped)
        self.step_button.disabled = done
        self.run_button.disabled = done and not running
        self.run_button.description = "Pause" if running else "Run"
        self.back_button.disabled = n == 0 or not self.replayable
        self.reset_button.disabled = self._factory is None
        self.status.value = f"<span style='margin-left:8px'>step {n}{' · done' if done else ''}{' · running' if running else ''}</span>"

    def static_html(self) -> str:
        """The state view and timeline as one HTML string (the picture left in exported notebooks)."""
        return (f"<div class='edp-stepper-static' style='font-family:sans-serif'>{self._title}{self.last_line.value}"
                f"{self.state_view.value}{self.timeline_view.value}</div>")

    def _repr_mimebundle_(self, **kwargs):
        data = self.widget._repr_mimebundle_(**kwargs)
        data["text/plain"] = f"Stepper({type(self._obj).__name__}, step {len(self._history)}{', done' if self.done else ''})"
        data["text/html"] = self.static_html()
        return data

    def __repr__(self) -> str:
        return f"<Stepper over {type(self._obj).__name__}: step {len(self._history)}{', done' if self.done else ''}>"
