"""The Stepper: buttons that advance a loop (or any steppable) one event at a time.

What it is: ``Stepper(factory)`` shows **Reset**, **Back**, **Step** and **Run** buttons, one line
saying what the last step did, a view of the state (clock, ready queue, timers, readers and
writers, or threads, shared memory and locks), the timeline growing as you step, and under it what
the steps printed. It works with anything that follows the steppable protocol
(``course_lib.steppable``: ``step()``, ``done``, ``snapshot()`` and, optionally, ``timeline()``).

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

The Stepper is a controller: buttons, history, replay and the Run timer. The HTML it shows comes
from ``course_lib.stepview`` and ``course_lib.timeline`` (an inline SVG; the last step in red).

The static copy: the display bundle holds, next to the widget view, a ``text/html`` copy that
teaches without a kernel (GitHub, nbviewer, a website, and stored notebooks, whose dead widget views
the build drops): a fresh run from the factory replayed to its end (``steppable.replay``, at most
``max_steps``) as a collapsed step-by-step transcript, then the final state and timeline. A run that
cannot be replayed (real I/O, no factory) shows its state as it is and says why. Deterministic text.

What it is not: a debugger, or a scheduler. It never changes what the steppable does; it only
calls ``step()`` and reads ``snapshot()`` and ``timeline()``.
"""

from __future__ import annotations

import asyncio

from course_lib import steppable, validate
from course_lib.stepview import render_line, render_state, render_static, render_status, render_title, step_line
from course_lib.timeline import render_timeline_svg

__all__ = ["Stepper"]


class Stepper:
    """Step, run, go back and reset a steppable; see the module docstring."""

    def __init__(self, factory_or_steppable, *, interval: float = 0.5, title: str | None = None,
                 max_steps: int = 10_000):
        import ipywidgets as w

        obj = factory_or_steppable
        missing = steppable.missing(obj)
        if isinstance(obj, type) or (callable(obj) and missing):
            self._factory = obj
        elif not missing:
            self._factory = None
        else:
            raise TypeError(
                f"Stepper needs a steppable (an object with step(), done and snapshot()) or a zero-argument function "
                f"that builds one; got {type(obj).__name__!s}, which has no {', '.join(missing)}")
        self.interval = validate.seconds(interval, "interval", minimum=0)
        self.max_steps = validate.count(max_steps, "max_steps", minimum=1)
        self._obj = steppable.build(self._factory) if self._factory else steppable.check(obj)
        self._handle = None
        self._aloop = self._running_loop()
        self._static = None  # the static copy, made the first time it is asked for
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
        self.printed = w.Output()  # what the steps printed (steppable.step catches it)
        self._title = render_title(title)
        head = [w.HTML(self._title)] if title else []
        buttons = w.HBox([self.reset_button, self.back_button, self.step_button, self.run_button, self.status])
        self.widget = w.VBox(head + [buttons, self.last_line, self.state_view, self.timeline_view, self.printed])
        self.widget.add_class("edp-stepper")
        self._start()

    # -- building and replaying ------------------------------------------------------------------
    def _rebuild(self):
        """A fresh steppable from the factory, in place of the current one (which is closed)."""
        new = steppable.build(self._factory, previous=self._obj)
        steppable.close(self._obj)
        self._obj = new

    def _start(self):
        self._history, self._printed = [], []  # per step: the line it said, the text it printed
        self._snapshots = [steppable.snapshot(self._obj)]
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
        return self._factory is not None and steppable.deterministic(self._obj)

    def step(self):
        """One step; returns its one-line description, or None when already done."""
        if self.done:
            self._refresh("done: nothing more can happen")
            return None
        result, printed = steppable.step(self._obj)
        line = str(result)
        self._history.append(line)
        self._printed.append(printed)
        self._snapshots.append(steppable.snapshot(self._obj))
        self._refresh(line, stepped=True)
        return line

    def back(self):
        """Replay a fresh run to the step before the current one."""
        if not self.replayable:
            raise RuntimeError("Back needs a deterministic steppable built by a factory (Stepper(lambda: ...))")
        target = max(len(self._history) - 1, 0)
        self.pause()
        old_history, old_snaps = self._history[:target], self._snapshots[: target + 1]
        self._rebuild()
        self._seen = set()
        for i in range(target):
            if i == target - 1:
                self._seen = set(self._segments() or ())
            steppable.step(self._obj)  # what the replay prints was shown the first time
        self._history, self._snapshots, self._printed = old_history, old_snaps, self._printed[:target]
        now = steppable.snapshot(self._obj)
        warn = "" if now == old_snaps[-1] else \
            " (warning: the replay did not reach the same state; is the run deterministic?)"
        self._snapshots[-1] = now
        where = old_history[-1] if old_history else "the start"
        self._refresh(f"back to step {target}: {where}{warn}", stepped=True)

    def reset(self):
        """A fresh steppable from the factory, at step 0."""
        if self._factory is None:
            raise RuntimeError("Reset needs a factory: Stepper(lambda: make_loop()) rather than Stepper(loop)")
        self.pause()
        self._rebuild()
        self._start()

    def run_to_end(self, max_steps: int | None = None) -> int:
        """Step until done (or ``max_steps``, default the Stepper's); returns the number of steps taken."""
        limit = self.max_steps if max_steps is None else validate.count(max_steps, "max_steps")
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

    # -- what the views show (the HTML itself comes from stepview and timeline) ----------------
    def _segments(self):
        tl_fn = getattr(self._obj, "timeline", None)
        return tl_fn().segments if callable(tl_fn) else None

    def _timeline_html(self, stepped: bool) -> str:
        tl_fn = getattr(self._obj, "timeline", None)
        tl = tl_fn() if callable(tl_fn) else None
        if tl is not None:
            segs = set(tl.segments)
            if stepped:
                self._new = segs - self._seen
            self._seen = segs
        return self._draw(tl, self._snapshots, self._new)

    def _draw(self, tl, snapshots, new=()) -> str:
        """The timeline at the last of ``snapshots``: ``tl`` if the steppable has one, else the clock per step."""
        clock = snapshots[-1].get("clock")
        clock = clock - self._clock0 if isinstance(clock, (int, float)) else None
        if tl is not None:
            return render_timeline_svg(tl, clock=clock, new=new)
        points = [(i, s.get("clock", i)) for i, s in enumerate(snapshots[1:])]
        return render_timeline_svg(None, clock=clock, points=points)

    def _refresh(self, line, stepped=False):
        n, done, running = len(self._history), self.done, self.running
        if line is not None:
            plain = not n or line.startswith(("back", "⚠", "done"))
            self._line = line if plain else step_line(n, line)
            self.last_line.value = render_line(self._line)
            self.state_view.value = render_state(self.state)
            self.timeline_view.value = self._timeline_html(stepped)
            printed = "".join(self._printed)  # an Output widget's outputs, set whole: no capture, no thread issue
            self.printed.outputs = ({"output_type": "stream", "name": "stdout", "text": printed},) if printed else ()
        self.step_button.disabled = done
        self.run_button.disabled = done and not running
        self.run_button.description = "Pause" if running else "Run"
        self.back_button.disabled = n == 0 or not self.replayable
        self.reset_button.disabled = self._factory is None
        self.status.value = render_status(n, done, running)

    def static_html(self) -> str:
        """The copy left in exported notebooks (see the module docstring); a deterministic run is replayed once."""
        if self.replayable and self._static is None:
            run = steppable.replay(self._factory, self.max_steps)
            self._static = render_static(self._title, run.lines, render_state(run.snapshots[-1]),
                                         self._draw(run.timeline, run.snapshots), done=run.done,
                                         note=f"The replay {run.stopped}." if run.stopped else "")
        return self._static if self.replayable else self._as_it_is()

    def _as_it_is(self) -> str:
        why = ("it waits for real I/O, so a replay could differ" if self._factory is not None
               else "it was given a steppable, not a function that builds one, so it cannot be replayed")
        return render_static(self._title, self._history, self.state_view.value, self.timeline_view.value,
                             done=self.done, note=f"No transcript of the whole run: {why}. This is its state "
                             f"when the notebook ran; run the notebook to step it.")

    def _repr_mimebundle_(self, **kwargs):
        done = ", done" if self.done else ""
        return {**self.widget._repr_mimebundle_(**kwargs), "text/html": self.static_html(),
                "text/plain": f"Stepper({type(self._obj).__name__}, step {len(self._history)}{done})"}

    def __repr__(self) -> str:
        return f"<Stepper over {type(self._obj).__name__}: step {len(self._history)}{', done' if self.done else ''}>"
