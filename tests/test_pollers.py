"""Tests of course_lib.pollers and of the loop's real mode, on every backend this machine has.

Only socketpairs and 127.0.0.1 sockets on port 0; every socket is closed by its test."""

from __future__ import annotations

import select
import socket

import pytest

from course_lib.loop import Loop
from course_lib.pollers import EVENT_READ, EVENT_WRITE, Poller, available_pollers, default_poller_name, make_poller
from course_lib.pollers.base import INTERFACE

BACKENDS = available_pollers()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_available_pollers_match_the_select_module():
    assert "select" in BACKENDS
    for name in ("epoll", "kqueue", "poll"):
        assert (name in BACKENDS) == hasattr(select, name)
    assert default_poller_name() == BACKENDS[0]


def test_a_missing_backend_is_a_clear_error_naming_what_the_platform_has():
    missing = next(n for n in ("kqueue", "epoll") if n not in BACKENDS)
    with pytest.raises(ValueError, match=f"no '{missing}'.*has {', '.join(BACKENDS)}"):
        Loop(poller=missing)
    with pytest.raises(ValueError, match="unknown poller 'iocp'"):
        make_poller("iocp")
    with pytest.raises(TypeError, match="poller must be a name"):
        make_poller(3)


@pytest.mark.parametrize("name", BACKENDS)
def test_poller_reports_readable_and_writable(name, pair):
    a, b = pair
    poller = make_poller(name)
    try:
        poller.register(b.fileno(), EVENT_READ)
        assert poller.poll(0) == []
        a.send(b"x")
        assert poller.poll(1) == [(b.fileno(), EVENT_READ)]
        poller.modify(b.fileno(), EVENT_READ | EVENT_WRITE)
        assert poller.poll(0) == [(b.fileno(), EVENT_READ | EVENT_WRITE)]
        b.recv(1)
        assert poller.poll(0) == [(b.fileno(), EVENT_WRITE)]
        poller.unregister(b.fileno())
        assert poller.poll(0) == [] and len(poller) == 0
        with pytest.raises(KeyError, match="not registered"):
            poller.unregister(b.fileno())
        with pytest.raises(ValueError, match="events must be"):
            poller.register(b.fileno(), 4)
    finally:
        poller.close()


@pytest.mark.parametrize("name", BACKENDS)
def test_real_loop_reads_writes_and_removes_inside_callbacks(name, pair):
    a, b = pair
    log = []
    with Loop(poller=name) as loop:
        def on_readable():
            log.append(("read", b.recv(100)))
            loop.remove_reader(b)

        def on_writable():
            log.append(("write", b.send(b"pong")))
            loop.remove_writer(b)  # removing inside its own callback

        loop.add_reader(b, on_readable)
        loop.add_writer(b, on_writable)  # reader and writer on the same fd
        assert loop.snapshot()["readers"] == {f"fd {b.fileno()}": "on_readable()"}
        loop.call_later(0.02, a.send, b"ping")
        loop.run(max_steps=50)
        assert log == [("write", 4), ("read", b"ping")]
        assert loop.done and a.recv(100) == b"pong"


@pytest.mark.parametrize("name", BACKENDS)
def test_io_callbacks_are_queued_before_due_timers(name, pair):
    a, b = pair
    log = []
    with Loop(poller=name) as loop:
        a.send(b"ready")
        loop.call_later(-1, log.append, "timer")
        loop.add_reader(b.fileno(), log.append, "reader")  # an int fd works too
        step = loop.step()
        assert step.kind == "poll" and f"fd {b.fileno()} readable" in str(step) and "1 timer due" in str(step)
        loop.step()
        loop.step()
        assert log == ["reader", "timer"]
        loop.remove_reader(b)


def test_removing_a_queued_reader_cancels_its_call(pair):
    a, b = pair
    log = []
    with Loop(poller="default") as loop:
        a.send(b"x")
        loop.add_reader(a, log.append, "never")  # not readable; only b is
        loop.add_reader(b, loop.remove_reader, a)
        loop.add_writer(b, loop.remove_reader, b)  # same poll: writer runs after reader...
        loop.add_writer(a, log.append, "writer a")
        loop.step()  # queues b's reader, b's writer, a's writer
        loop.remove_writer(a)  # ...and a queued call that is removed never runs
        loop.run(until=lambda: not loop.snapshot()["readers"], max_steps=20)
        assert log == []
        loop.remove_writer(b)
        assert loop.done


def test_timers_on_the_wall_clock_keep_their_order():
    log = []
    with Loop(poller="default") as loop:
        start = loop.time()
        loop.call_at(start + 0.03, log.append, "b")
        loop.call_later(0.01, log.append, "a")
        loop.call_at(start + 0.03, log.append, "c")  # same deadline as b: scheduling order
        loop.run(max_steps=50)
        assert log == ["a", "b", "c"] and loop.time() - start >= 0.03


def test_real_sockets_on_localhost_with_accept(pair):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    client = socket.create_connection(server.getsockname())
    got = []
    try:
        with Loop(poller="default") as loop:
            def accept():
                conn, _ = server.accept()
                got.append(conn)
                loop.remove_reader(server)

            loop.add_reader(server, accept)
            loop.run(max_steps=20)
            assert len(got) == 1
    finally:
        for s in [server, client, *got]:
            s.close()


def test_bad_files_get_clear_errors():
    with Loop(poller="default") as loop:
        with pytest.raises(TypeError, match="f must be a file object"):
            loop.add_reader("socket", print)
        with pytest.raises(ValueError, match="invalid file descriptor -1"):
            loop.add_writer(-1, print)
        with pytest.raises(ValueError, match="callback_cost"):
            Loop(poller="default", callback_cost=-1)
        assert loop.remove_reader(12345) is False  # as asyncio: removing what is not there says False


def test_a_closed_socket_can_still_be_removed(pair):
    a, b = pair
    with Loop(poller="default") as loop:
        loop.add_reader(b, print)
        b.close()
        assert loop.remove_reader(b) is True and loop.done


def test_spend_in_real_mode_burns_real_time():
    with Loop(poller="default") as loop:
        start = loop.time()
        loop.spend(0.01)
        assert loop.time() - start >= 0.01


def test_callback_cost_on_the_real_clock_is_a_busy_wait_after_each_callback():
    """The same knob as on the virtual clock: the poller spends it (a lower bound, never a wall-clock limit)."""
    with Loop(poller="default", callback_cost=0.005) as loop:
        loop.call_soon(abs, -1)
        loop.step()
        step = loop.step()
        assert step.kind == "callback" and step.end - step.start >= 0.005


@pytest.mark.parametrize("name", BACKENDS)
def test_a_reused_fd_number_keeps_working(name):
    """Close a watched socket without removing it, and a new one gets its number: still fine."""
    a, b = socket.socketpair()
    log = []
    with Loop(poller=name) as loop:
        loop.add_reader(b, log.append, "old")
        loop.add_writer(b, log.append, "old writer")
        old_fd = b.fileno()
        b.close()
        c, d = socket.socketpair()
        try:
            if c.fileno() == old_fd:
                c, d = d, c
            if d.fileno() != old_fd:
                pytest.skip("the system did not reuse the fd number")
            loop.remove_writer(d)  # the stale writer goes; the reader stays and is replaced below
            loop.add_reader(d, log.append, "new")
            c.send(b"x")
            loop.step()
            loop.step()
            assert log == ["new"]
            loop.remove_reader(d)
        finally:
            for s in (a, c, d):
                s.close()


def test_a_loop_can_be_given_a_poller_object(pair):
    a, b = pair
    log = []
    with Loop(poller=make_poller("select")) as loop:
        assert not loop.simulated and loop.snapshot()["mode"] == "select"
        a.send(b"x")
        loop.add_reader(b, lambda: log.append(b.recv(1)) or loop.remove_reader(b))
        loop.run(max_steps=10)
        assert log == [b"x"]


# --------------------------------------------------------------------------------------
# kqueue where the platform has none: the same module, on a stand-in for select.kqueue
# built on select.select, so its translation (filters, add/delete changes) is still run.
# --------------------------------------------------------------------------------------


class _FakeKevent:
    def __init__(self, ident, filter, flags=0):
        self.ident, self.filter, self.flags = ident, filter, flags


class _FakeKqueue:
    READ, WRITE, ADD, DELETE = -1, -2, 1, 2

    def __init__(self):
        self.watched = []  # (fd, filter), in the order added

    def control(self, changes, max_events, timeout=None):
        for kev in changes or ():
            pair = (kev.ident, kev.filter)
            if kev.flags == self.ADD and pair not in self.watched:
                self.watched.append(pair)
            elif kev.flags == self.DELETE:
                if pair not in self.watched:
                    raise FileNotFoundError(2, "No such file or directory")
                self.watched.remove(pair)
        if not max_events:
            return []
        readers = [fd for fd, f in self.watched if f == self.READ]
        writers = [fd for fd, f in self.watched if f == self.WRITE]
        r, w, _ = select.select(readers, writers, [], timeout)
        return ([_FakeKevent(fd, self.READ) for fd in r] + [_FakeKevent(fd, self.WRITE) for fd in w])[:max_events]

    def close(self):
        self.watched = None


def _kqueue_poller(monkeypatch):
    import types

    from course_lib.pollers import kqueue_poller

    if hasattr(select, "kqueue"):
        return kqueue_poller.KqueuePoller()
    fake = types.SimpleNamespace(kqueue=_FakeKqueue, kevent=_FakeKevent, KQ_FILTER_READ=_FakeKqueue.READ,
                                 KQ_FILTER_WRITE=_FakeKqueue.WRITE, KQ_EV_ADD=_FakeKqueue.ADD,
                                 KQ_EV_DELETE=_FakeKqueue.DELETE)
    monkeypatch.setattr(kqueue_poller, "select", fake)
    return kqueue_poller.KqueuePoller()


def test_kqueue_poller_translates_masks_to_filters(monkeypatch, pair):
    a, b = pair
    poller = _kqueue_poller(monkeypatch)
    fd = b.fileno()
    poller.register(fd, EVENT_READ)
    assert poller.poll(0) == []
    a.send(b"x")
    assert poller.poll(1) == [(fd, EVENT_READ)]
    poller.modify(fd, EVENT_WRITE)  # delete the read filter, add the write filter
    assert poller.poll(0) == [(fd, EVENT_WRITE)]
    poller.modify(fd, EVENT_READ | EVENT_WRITE)
    assert poller.poll(0) == [(fd, EVENT_READ | EVENT_WRITE)]
    poller.unregister(fd)
    assert poller.poll(0) == []
    poller.close()


def test_real_loop_on_the_kqueue_poller(monkeypatch, pair):
    a, b = pair
    log = []
    with Loop(poller=_kqueue_poller(monkeypatch)) as loop:
        def on_readable():
            log.append(b.recv(10))
            loop.remove_reader(b)

        loop.add_reader(b, on_readable)
        loop.add_writer(b, lambda: log.append("writable") or loop.remove_writer(b))
        loop.call_later(0.01, a.send, b"hi")
        loop.run(max_steps=50)
        assert log == ["writable", b"hi"] and loop.done


# --------------------------------------------------------------------------------------
# the interface: every backend, the simulated one included, has all of it
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*BACKENDS, "kqueue (stand-in)", "simulated"])
def test_every_poller_implements_the_whole_interface(name, monkeypatch, pair):
    """What ``pollers.base.INTERFACE`` names, every backend has, with the meaning the loop relies on."""
    poller = _kqueue_poller(monkeypatch) if name.startswith("kqueue") else make_poller(name)
    try:
        missing = [attr for attr in INTERFACE if not hasattr(poller, attr)]
        assert not missing
        for method in ("register", "modify", "unregister", "events_for", "poll", "can_report", "key_for", "close",
                       "time", "spend"):
            assert callable(getattr(poller, method)), method
        assert isinstance(poller.name, str) and isinstance(poller.simulated, bool)
        assert poller.resolution > 0
        assert poller.runaway_limit is None or (isinstance(poller.runaway_limit, int) and poller.runaway_limit > 0)
        start = poller.time()
        poller.spend(0.002)  # a busy wait on the wall clock, a jump on the virtual one: both at least this much
        assert isinstance(start, float) and poller.time() - start >= 0.002
        assert poller.can_report() is False and poller.poll(0) == []  # nothing watched: nothing could come
        with pytest.raises(TypeError):
            poller.key_for("not a file")
        if not poller.simulated:
            fd = poller.key_for(pair[1])
            assert fd == pair[1].fileno() and poller.key_for(fd) == fd
            poller.register(fd, EVENT_READ)
            assert poller.can_report() and poller.events_for(fd) == EVENT_READ
    finally:
        poller.close()


@pytest.mark.parametrize("name", BACKENDS)
def test_real_pollers_share_the_wall_clock_and_write_only_how_they_wait(name):
    """The clock, spend and key_for of a real backend are the base class's: only the waiting differs."""
    poller = make_poller(name)
    poller.close()
    cls = type(poller)
    for attr in ("time", "resolution", "spend", "key_for", "can_report", "simulated", "runaway_limit"):
        assert getattr(cls, attr) is getattr(Poller, attr), attr
    for attr in ("poll", "_add", "_change", "_remove"):
        assert getattr(cls, attr) is not getattr(Poller, attr), attr
