"""Tests of course_lib.loop: the order is asyncio's (checked against asyncio itself on
random programs), plus step(), run(), snapshot(), timeline(), errors and arguments."""

from __future__ import annotations

import ast
import asyncio
import heapq
import itertools
import selectors
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from course_lib.loop import Handle, Loop, StepRecord, TimerHandle, TooManySteps
from course_lib.pollers.base import INTERFACE
from course_lib.pollers.sim_poller import SimPoller
from course_lib.simnet import SimNetwork
from course_lib.timeline import Timeline

# --------------------------------------------------------------------------------------
# asyncio on a virtual clock: the reference
# --------------------------------------------------------------------------------------


class _Idle(Exception):
    """asyncio would now block for ever: the program is over."""


class VirtualSelector(selectors.BaseSelector):
    """A selector on a virtual clock: it waits on simulated sockets through the same
    simulated poller the course loop uses (``select(timeout)`` moves the clock), and
    keeps asyncio's own self-pipe socket registered but never ready."""

    def __init__(self):
        self.poller = SimPoller()
        self._map = {}

    def register(self, fileobj, events, data=None):
        if hasattr(fileobj, "readiness"):
            self.poller.register(fileobj, events)
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = self._map[fileobj] = selectors.SelectorKey(fileobj, fd, events, data)
        return key

    def unregister(self, fileobj):
        if hasattr(fileobj, "readiness"):
            self.poller.unregister(fileobj)
        return self._map.pop(fileobj)

    def modify(self, fileobj, events, data=None):
        if hasattr(fileobj, "readiness"):
            self.poller.modify(fileobj, events)
        key = self._map[fileobj] = self._map[fileobj]._replace(events=events, data=data)
        return key

    def select(self, timeout=None):
        if timeout is None and not self.poller.can_report():
            raise _Idle
        return [(self._map[sock], events) for sock, events in self.poller.poll(timeout)]

    def get_map(self):
        return self._map


class FifoTimerHandle(asyncio.TimerHandle):
    """asyncio's TimerHandle, but equal deadlines are ordered by scheduling order."""

    __slots__ = ("_seq",)

    def __lt__(self, other):
        return (self._when, self._seq) < (other._when, other._seq)


class VirtualAsyncio(asyncio.SelectorEventLoop):
    """A real asyncio event loop whose clock is the VirtualSelector's.

    asyncio leaves the order of timers with exactly the same deadline undefined (its
    heap compares deadlines only); with ``fifo_ties=True`` they run in scheduling
    order, which is what the course loop promises."""

    def __init__(self, fifo_ties: bool):
        super().__init__(VirtualSelector())
        self._fifo_ties, self._counter = fifo_ties, itertools.count()
        self.poller = self._selector.poller  # so a SimNetwork can run on it
        self.errors = []
        self.set_exception_handler(lambda loop, context: self.errors.append(context["exception"]))

    def time(self):
        return self.poller.time()

    def spend(self, seconds):
        self.poller.spend(seconds)

    def call_at(self, when, callback, *args, context=None):
        if not self._fifo_ties:
            return super().call_at(when, callback, *args, context=context)
        timer = FifoTimerHandle(when, callback, args, self, context)
        timer._seq = next(self._counter)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer


# --------------------------------------------------------------------------------------
# random programs: callbacks that schedule, cancel, spend time and raise
# --------------------------------------------------------------------------------------

N_CALLBACKS = 8
BUDGET = 300  # at most this many scheduling actions per run, so every program ends

delays = st.integers(-2, 12).map(lambda d: d / 4)  # quarter seconds: exact floats, many ties
action = st.one_of(
    st.tuples(st.just("soon"), st.integers(0, N_CALLBACKS - 1)),
    st.tuples(st.just("later"), st.integers(0, N_CALLBACKS - 1), delays),
    st.tuples(st.just("at"), st.integers(0, N_CALLBACKS - 1), st.integers(0, 16).map(lambda t: t / 4)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("spend"), st.sampled_from([0.0, 0.1, 0.25, 1.0])),
    st.tuples(st.just("raise")),
    st.tuples(st.just("stop")),  # run() returns at the end of the batch; the test runs it again
)
IO_ACTIONS = {"add_reader", "add_writer", "remove_reader", "remove_writer", "send", "recv", "close"}
RUNS = 150  # at most this many callback runs do something, so level-triggered readers stop
sockets = st.integers(0, 3)  # two connected pairs: 0 <-> 1 and 2 <-> 3
io_action = st.one_of(
    st.tuples(st.sampled_from(["add_reader", "add_writer"]), sockets, st.integers(0, N_CALLBACKS - 1)),
    st.tuples(st.sampled_from(["remove_reader", "remove_writer", "close"]), sockets),
    st.tuples(st.sampled_from(["send", "recv"]), sockets, st.integers(1, 12)),
)
io_programs = st.tuples(
    st.lists(st.one_of(action, io_action, io_action), min_size=1, max_size=10),
    st.lists(st.lists(st.one_of(action, io_action), max_size=4), min_size=N_CALLBACKS, max_size=N_CALLBACKS),
)
networks = st.tuples(st.sampled_from([0.0, 0.25, 1.0]), st.sampled_from([4, 10, 64]))  # latency, buffer size
programs = st.tuples(
    st.lists(action, min_size=1, max_size=8),  # what the program does before the loop runs
    st.lists(st.lists(action, max_size=4), min_size=N_CALLBACKS, max_size=N_CALLBACKS),  # what callback k does
)


def run_program(loop, program, spend, jitter=0.0, socks=()):
    """Set ``program`` up on ``loop`` (course or asyncio); return the log [(time, k)] it fills as it
    runs, the deadlines used, and a flag [bool] that a callback sets when it calls ``loop.stop()``."""
    main, bodies = program
    log, handles, deadlines, budget, runs, stopped = [], [], [], [BUDGET], [RUNS], [False]

    def do(actions):
        for act in actions:
            kind = act[0]
            if kind in IO_ACTIONS:
                do_io(*act)
                continue
            if kind in ("soon", "later", "at"):
                if budget[0] == 0:
                    continue
                budget[0] -= 1
            if kind == "soon":
                handles.append(loop.call_soon(callback, act[1]))
            elif kind == "later":
                delay = act[2] + jitter * len(handles)
                deadlines.append(loop.time() + delay)
                handles.append(loop.call_later(delay, callback, act[1]))
            elif kind == "at":
                when = act[2] + jitter * len(handles)
                deadlines.append(when)
                handles.append(loop.call_at(when, callback, act[1]))
            elif kind == "cancel" and handles:
                handles[act[1] % len(handles)].cancel()
            elif kind == "spend":
                spend(act[1])
            elif kind == "raise":
                raise ValueError("boom")
            elif kind == "stop":
                stopped[0] = True
                loop.stop()

    def do_io(kind, i, arg=None):
        sock = socks[i % len(socks)]
        if kind == "add_reader":
            loop.add_reader(sock, callback, arg, f"{sock} readable")
        elif kind == "add_writer":
            loop.add_writer(sock, callback, arg, f"{sock} writable")
        elif kind == "remove_reader":
            loop.remove_reader(sock)
        elif kind == "remove_writer":
            loop.remove_writer(sock)
        elif kind == "close":
            sock.close()
        else:  # send or recv: log what came back, or the exception's name
            try:
                result = sock.send(b"x" * arg) if kind == "send" else sock.recv(arg)
            except OSError as exc:
                result = type(exc).__name__
            log.append((loop.time(), kind, str(sock), result))

    def callback(k, why="timer"):
        log.append((loop.time(), k, why))
        runs[0] -= 1
        if runs[0] <= 0:  # enough: stop watching, so a level-triggered reader cannot go on for ever
            for sock in socks:
                loop.remove_reader(sock)
                loop.remove_writer(sock)
            return
        do(bodies[k])

    do([a for a in main if a[0] not in ("raise", "stop")])
    return log, deadlines, stopped


def simulated_sockets(loop, network):
    """Two connected pairs of simulated sockets (with a fileno(), which asyncio insists on)."""
    if network is None:
        return ()
    latency, buffer_size = network
    net = SimNetwork(loop, latency=latency, buffer_size=buffer_size)
    socks = [*net.socketpair(), *net.socketpair()]
    for i, sock in enumerate(socks):
        sock.fileno = lambda i=i: 1000 + i
    return socks


def run_on_course_loop(program, jitter=0.0, network=None):
    loop = Loop()
    log, deadlines, stopped = run_program(loop, program, loop.spend, jitter, simulated_sockets(loop, network))
    while True:
        loop.run()
        if not stopped[0]:
            break
        stopped[0] = False
        log.append((loop.time(), "run() returned"))
    assert loop.done
    return log, deadlines, len(loop.errors)


def run_on_asyncio(program, fifo_ties, jitter=0.0, network=None):
    loop = VirtualAsyncio(fifo_ties)
    try:
        log, _, stopped = run_program(loop, program, loop.spend, jitter, simulated_sockets(loop, network))
        while True:
            try:
                loop.run_forever()
            except _Idle:
                break
            assert stopped[0]
            stopped[0] = False
            log.append((loop.time(), "run() returned"))
        return log, len(loop.errors)
    finally:
        loop.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_same_order_and_times_as_asyncio(program):
    """Callbacks run in asyncio's order, at asyncio's (virtual) times, with the same errors."""
    log, _, errors = run_on_course_loop(program)
    assert (log, errors) == run_on_asyncio(program, fifo_ties=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs)
def test_same_as_unmodified_asyncio_when_no_deadlines_tie(program):
    """Against asyncio exactly as it ships: programs whose timers never share a deadline."""
    log, deadlines, errors = run_on_course_loop(program, jitter=1e-6)
    assume(len(set(deadlines)) == len(deadlines))
    assert (log, errors) == run_on_asyncio(program, fifo_ties=False, jitter=1e-6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(io_programs, networks)
def test_same_io_order_as_asyncio_on_simulated_sockets(program, network):
    """With readers and writers on simulated sockets too: same callbacks, same times, same
    bytes sent and received (asyncio waits on the sockets through the same simulated poller)."""
    log, _, errors = run_on_course_loop(program, network=network)
    assert (log, errors) == run_on_asyncio(program, fifo_ties=True, network=network)


# --------------------------------------------------------------------------------------
# step() and the batch rule, by example
# --------------------------------------------------------------------------------------


def test_one_iteration_is_a_poll_then_one_step_per_callback_of_the_batch():
    loop, log = Loop(), []

    def a():
        log.append("a")
        loop.call_soon(log.append, "c")  # scheduled during the batch: waits for the next poll

    loop.call_soon(a)
    loop.call_soon(log.append, "b")
    kinds = [loop.step().kind for _ in range(3)]
    assert kinds == ["poll", "callback", "callback"] and log == ["a", "b"]
    assert loop.snapshot()["ready"] == ["list.append('c')"]
    assert [loop.step().kind for _ in range(2)] == ["poll", "callback"] and log == ["a", "b", "c"]
    assert loop.done and loop.step().kind == "idle"


def test_poll_jumps_the_virtual_clock_and_describes_itself():
    loop = Loop()
    loop.call_later(0.5, print)
    loop.call_later(0.5, print)
    step = loop.step()
    assert isinstance(step, StepRecord) and loop.time() == 0.5
    assert str(step) == "poll: waited 0.5 s, 2 timers due -> 2 callbacks queued"
    assert str(loop.step()) == "ran print()"


def test_timers_due_together_run_by_deadline_then_scheduling_order():
    loop, log = Loop(), []
    loop.call_soon(loop.spend, 1.0)  # the loop is late: all three timers are due at the same poll
    for name, delay in [("x", 0.5), ("y", 0.2), ("z", 0.5), ("w", 0.2)]:
        loop.call_later(delay, log.append, name)
    loop.run()
    assert log == ["y", "w", "x", "z"]


def test_cancelled_handles_never_run():
    loop, log = Loop(), []
    loop.call_soon(log.append, 1).cancel()
    timer = loop.call_later(1, log.append, 2)
    loop.call_soon(timer.cancel)
    loop.call_later(2, log.append, 3)
    assert isinstance(timer, TimerHandle) and timer.when() == 1
    loop.run()
    assert log == [3] and loop.time() == 2


def test_snapshot_is_plain_data_with_the_documented_keys():
    loop = Loop()
    loop.call_soon(print, "hi")
    loop.call_later(2, print)
    loop.call_at(1, len, "abc")
    snap = loop.snapshot()
    assert set(snap) >= {"clock", "ready", "timers", "readers", "writers", "step", "done", "errors", "last_step"}
    assert snap["ready"] == ["print('hi')"]
    assert snap["timers"] == [{"when": 1, "callback": "len('abc')"}, {"when": 2.0, "callback": "print()"}]
    assert snap["clock"] == 0.0 and snap["step"] == 0 and snap["done"] is False


def test_run_until_a_time_and_until_a_condition():
    loop, log = Loop(), []

    def tick(n):
        log.append(loop.time())
        loop.call_later(1, tick, n + 1)

    loop.call_soon(tick, 0)
    loop.run(until=2.5)
    assert log == [0, 1, 2] and loop.time() == 2.5
    loop.run(until=lambda: len(log) == 5)
    assert log == [0, 1, 2, 3, 4]


def test_stop_returns_at_the_end_of_the_batch():
    loop, log = Loop(), []
    loop.call_soon(loop.stop)
    loop.call_soon(log.append, "same batch")
    loop.call_later(1, log.append, "later")
    loop.run()
    assert log == ["same batch"]
    loop.run()
    assert log == ["same batch", "later"]


def test_endless_program_raises_too_many_steps():
    loop = Loop()

    def again():
        loop.call_soon(again)

    loop.call_soon(again)
    with pytest.raises(TooManySteps, match="may never finish"):
        loop.run(max_steps=100)
    assert issubclass(TooManySteps, RuntimeError)


def test_an_error_in_a_callback_is_recorded_and_the_loop_goes_on():
    loop, log = Loop(), []

    def broken(x):
        raise KeyError(x)

    loop.call_soon(broken, "k")
    loop.call_soon(log.append, "after")
    loop.step()
    step = loop.step()
    assert isinstance(step.error, KeyError) and "raised KeyError" in str(step) and "broken('k')" in str(step)
    loop.run()
    assert log == ["after"] and loop.errors == [step]
    assert loop.snapshot()["errors"] == ["broken('k'): KeyError: 'k'"]


def test_a_slow_callback_freezes_the_virtual_clock_and_is_flagged():
    loop, log = Loop(), []

    def slow():
        loop.spend(2.0)

    loop.call_soon(slow)
    loop.call_later(0.5, lambda: log.append(loop.time()))
    loop.step()
    step = loop.step()
    assert step.slow and "slow: took 2 s" in str(step)
    loop.run()
    assert log == [2.0]  # the 0.5 s timer had to wait for the slow callback
    tl = loop.timeline()
    assert isinstance(tl, Timeline)
    assert [(s.task, s.kind, s.start, s.end) for s in tl.segments] == [
        ("slow", "cpu", 0.0, 2.0), ("<lambda>", "cpu", 2.0, 2.0)]


def test_poll_waits_show_as_io_segments_and_callback_cost_as_cpu():
    loop = Loop(callback_cost=0.1)
    loop.call_later(1, print)
    loop.run()
    assert [(s.task, s.kind, s.start, s.end) for s in loop.timeline().segments] == [
        ("poll", "io", 0.0, 1.0), ("print", "cpu", 1.0, 1.1)]


def test_instruments_hear_every_poll_and_callback():
    loop, heard = Loop(), []

    class Recorder:
        def before_poll(self, timeout):
            heard.append(("before_poll", timeout))

        def after_poll(self, events):
            heard.append(("after_poll", list(events)))

        def before_callback(self, handle):
            heard.append(("before_callback", handle.name))

        def after_callback(self, handle, step):
            heard.append(("after_callback", str(step)))

    loop.add_instrument(Recorder())
    loop.add_instrument(object())  # hooks are optional
    loop.call_later(1, abs, -1)
    loop.run()
    assert heard == [("before_poll", 1), ("after_poll", []), ("before_callback", "abs"),
                     ("after_callback", "ran abs(-1)")]


@pytest.mark.parametrize("call, message", [
    (lambda loop: loop.call_later("1", print), "delay must be a number"),
    (lambda loop: loop.call_later(None, print), "delay must be a number"),
    (lambda loop: loop.call_at("x", print), "when must be a number"),
    (lambda loop: loop.call_soon(42), "fn must be callable"),
    (lambda loop: loop.call_later(1, "print"), "fn must be callable"),
    (lambda loop: loop.spend("a"), "seconds must be a number"),
    (lambda loop: loop.run(max_steps=-1), "max_steps must be"),
    (lambda loop: loop.add_reader(3, print), "simulated sockets"),
])
def test_bad_arguments_get_errors_naming_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call(Loop())


def test_coroutine_functions_are_refused_with_a_hint():
    async def coro():
        pass

    with pytest.raises(TypeError, match="coroutine"):
        Loop().call_soon(coro)


def test_negative_delay_means_now_as_in_asyncio():
    loop, log = Loop(), []
    loop.call_later(-5, log.append, "late")
    loop.run()
    assert log == ["late"] and loop.time() == 0


def test_close_and_context_manager():
    with Loop() as loop:
        loop.call_soon(print)
    assert loop.done
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(print)
    with pytest.raises(RuntimeError, match="closed"):
        loop.step()
    loop.close()


def test_handles_describe_themselves():
    handle = Loop().call_soon(divmod, 7, 2)
    assert isinstance(handle, Handle) and handle.label == "divmod(7, 2)" and not handle.cancelled()
    handle.cancel()
    assert handle.cancelled() and "cancelled" in repr(handle)


# --------------------------------------------------------------------------------------
# the timer heap: many timers, most of them cancelled, against asyncio
# --------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 40), min_size=101, max_size=260), st.data())
def test_a_heap_of_mostly_cancelled_timers_keeps_asyncio_order_and_an_exact_count(deadlines, data):
    """Cancel timers before the run and from a callback; the survivors run as on asyncio, and the
    heap's count of cancelled timers is exact after every step (so it rebuilds when it should)."""
    n = len(deadlines)
    early = data.draw(st.sets(st.integers(0, n - 1)), label="cancelled before the run")
    late = data.draw(st.sets(st.integers(0, n - 1)), label="cancelled at t=2.5")

    def program(loop, log):
        handles = [loop.call_at(d / 4, lambda i=i: log.append((loop.time(), i))) for i, d in enumerate(deadlines)]
        for i in early:
            handles[i].cancel()
        loop.call_at(2.5, lambda: [handles[i].cancel() for i in late])

    loop, log = Loop(), []
    program(loop, log)
    heap = loop._timers
    while not loop.done:
        loop.step()
        assert heap._cancelled == sum(entry[2]._cancelled for entry in heap)
        assert len(heap) <= 100 or heap._cancelled <= len(heap) // 2 or loop.snapshot()["batch_left"]
    reference = VirtualAsyncio(fifo_ties=True)
    try:
        expected = []
        program(reference, expected)
        with pytest.raises(_Idle):
            reference.run_forever()
    finally:
        reference.close()
    assert log == expected and not heap


# --------------------------------------------------------------------------------------
# the seam: the loop never asks which backend it has
# --------------------------------------------------------------------------------------


def _loop_source_tree():
    import course_lib.loop

    return ast.parse(Path(course_lib.loop.__file__).read_text())


def test_the_loop_has_no_branch_on_its_backend():
    """``simulated`` appears in loop.py only as the read-only fact it passes on from its poller; no
    test (if, while, and/or, conditional expression) looks at a poller's kind, name or class."""
    tree = _loop_source_tree()
    tests = [node.test for node in ast.walk(tree) if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert))]
    tests += [value for node in ast.walk(tree) if isinstance(node, ast.BoolOp) for value in node.values]
    for test in tests:
        for node in ast.walk(test):
            assert not (isinstance(node, ast.Attribute) and node.attr in ("simulated", "name")), ast.unparse(test)
            assert not (isinstance(node, ast.Constant) and node.value == "simulated"), ast.unparse(test)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("isinstance", "type", "issubclass"):
                assert ast.unparse(node).endswith(", Poller)"), ast.unparse(test)  # a poller or a name, any backend
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "simulated"]
    [prop] = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "simulated"]
    assert [ast.unparse(node) for node in uses] == ["self._poller.simulated"]
    assert uses[0] in set(ast.walk(prop)) and [ast.unparse(d) for d in prop.decorator_list] == ["property"]
    assert "SimPoller" not in ast.unparse(tree) and "sim_poller" not in ast.unparse(tree)


def test_the_loop_asks_its_poller_only_what_the_interface_names():
    """Every ``self._poller.X`` in loop.py and waiters.py is in ``pollers.base.INTERFACE``."""
    import course_lib.waiters

    trees = [_loop_source_tree(), ast.parse(Path(course_lib.waiters.__file__).read_text())]
    asked = {node.attr for tree in trees for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "self._poller"}
    assert asked and asked <= set(INTERFACE), asked - set(INTERFACE)


def test_simulated_is_a_read_only_fact_of_the_poller():
    loop = Loop()
    assert loop.simulated is True and loop.poller.simulated is True
    with pytest.raises(AttributeError):
        loop.simulated = False
    with Loop(poller="select") as real:
        assert real.simulated is False and real.poller.name == "select"
