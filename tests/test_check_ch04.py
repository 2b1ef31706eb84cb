"""Checks of chapter 04: each passes on a right answer and fails, with the right one-line hint,
on a blank one and on the typical wrong ones. The references agree with asyncio and the course loop."""

import asyncio
import bisect
import heapq
import random

import pytest
from checking import fails, passes
from notebook_code import cells, definitions, find

from course_lib import virtualclock
from course_lib.check import ch04, programs
from course_lib.loop import Loop

SOLUTION, EXERCISE = "solutions/04_event_loop_callbacks", "exercises/04_event_loop_callbacks"
ANSWERS = ("setup", "ready_loop", "timers_answer", "predict_answer", "client_answer", "chunks_measure", "chunks_answer")
SOL = definitions(SOLUTION, *ANSWERS)       # the notebook's given code and its answers
BLANK = definitions(EXERCISE, *ANSWERS)     # the same cells as the student gets them


# ---------------------------------------------------------------- 04.timers
TimerLoop = SOL.TimerLoop      # on the notebook's given ReadyLoop
Blank = BLANK.TimerLoop


class NoTieBreak(TimerLoop):
    def call_later(self, delay, fn, *args):
        heapq.heappush(self._timers, (self.now + delay, fn, args))

    def _move_due_timers(self):
        while self._timers and self._timers[0][0] <= self.now:
            when, fn, args = heapq.heappop(self._timers)
            self._ready.append((fn, args))


class LastInFirstOut(TimerLoop):
    def call_later(self, delay, fn, *args):
        heapq.heappush(self._timers, (self.now + delay, -next(self._seq), fn, args))


class MovesEveryTimer(TimerLoop):
    def _move_due_timers(self):
        while self._timers:
            self._ready.append(heapq.heappop(self._timers)[2:])


class NeverPops(TimerLoop):
    def _move_due_timers(self):
        if self._timers and self._timers[0][0] <= self.now:
            self._ready.append(self._timers[0][2:])


class NoNextTimer(TimerLoop):
    def _next_timer(self):
        return None


class RunsTimersAtOnce(TimerLoop):
    def _move_due_timers(self):
        while self._timers and self._timers[0][0] <= self.now:
            when, seq, fn, args = heapq.heappop(self._timers)
            fn(*args)


def test_timers_pass(capsys):
    passes("04.timers", TimerLoop, capsys)


@pytest.mark.parametrize("wrong, words", [
    (Blank, ["not written yet"]),
    (NoTieBreak, ["tie-break"]),
    (LastInFirstOut, ["order they were scheduled"]),
    (MovesEveryTimer, ["before it was due"]),
    (NeverPops, ["(and remove) every timer"]),
    (NoNextTimer, ["never ran", "_next_timer"]),
    (RunsTimersAtOnce, ["callbacks already queued first"]),
    (TimerLoop(), ["pass the class itself"]),
])
def test_timers_fail_with_hint(wrong, words):
    fails("04.timers", wrong, *words)


def test_fifo_asyncio_reference_agrees_with_the_course_loop_and_with_asyncio_without_ties():
    from course_lib.loop import Loop

    rng = random.Random(7)
    for _ in range(80):
        plan = programs.random_program(rng, rng.randint(3, 12))
        program = programs.program_from_plan(plan)
        loop, log = Loop(), []
        program(loop, lambda label, log=log, loop=loop: log.append((label, loop.time())))
        loop.run()
        want = virtualclock.record(program, fifo_ties=True).events
        assert log == want
        assert ch04._drive_mini_loop(TimerLoop, program) == want
        times = [t for _, t in want]
        if len(set(times)) == len(times):  # no two callbacks at one time: plain asyncio agrees too
            assert virtualclock.record(program).events == want


def test_plain_asyncio_leaves_equal_deadlines_unordered():
    plan = [(None, "later", 1, "a"), (None, "later", 1, "b"), (None, "soon", None, "c"), ("c", "later", 0, "d")]
    program = programs.program_from_plan(plan)
    assert [x for x, _ in virtualclock.record(program).events] == ["c", "d", "b", "a"]
    assert [x for x, _ in virtualclock.record(program, fifo_ties=True).events] == ["c", "d", "a", "b"]


# ---------------------------------------------------------------- 04.predict
def test_predict(capsys):
    passes("04.predict", SOL.predicted_order, capsys)
    fails("04.predict", lambda: ["A", "C", "B", "D", "F", "G", "E"], "position 2", "next iteration")
    fails("04.predict", lambda: ["A", "B", "D", "C", "F", "G", "E"], "position 3", "call_later(0")
    fails("04.predict", lambda: ["A", "B", "C", "D", "G", "F", "E"], "position 5", "clock moves on")
    fails("04.predict", lambda: ["A", "B", "C", "D", "F", "E", "G"], "position 6", "same deadline")
    fails("04.predict", lambda: ["A", "B"], "exactly once")
    fails("04.predict", lambda: None, "list of names", "got None")
    fails("04.predict", BLANK.predicted_order, "not written yet")


def test_predict_names_a_string_answer_and_shows_a_list():
    """The order written as one string, with or without spaces: the hint says it got a str and what
    a list looks like, but not the order."""
    for wrong in ("A B C D F G E", "ABCDFGE"):
        message = fails("04.predict", lambda wrong=wrong: wrong, "returned a str", repr(wrong), '["A", "B", ...]')
        assert '"C"' not in message, message


def test_predict_program_is_the_same_on_plain_asyncio_and_the_course_loop():
    from course_lib.loop import Loop

    loop, log = Loop(), []
    programs.predict_program(loop, lambda label: log.append((label, loop.time())))
    loop.run()
    assert (
        log
        == virtualclock.record(programs.predict_program).events
        == virtualclock.record(programs.predict_program, fifo_ties=True).events
    )


# ---------------------------------------------------------------- 04.chunks
chunked = SOL.chunked_sum_of_squares
blocking = SOL.blocking_sum_of_squares
blank_chunks = BLANK.chunked_sum_of_squares


class _LoopWith:
    """The student's loop with call_soon replaced: the notebook's answer, made wrong in one way."""

    def __init__(self, loop, call_soon):
        self._loop, self.call_soon = loop, call_soon

    def __getattr__(self, name):
        return getattr(self._loop, name)


def chunked_with_call_later(loop, numbers, work, done):
    chunked(_LoopWith(loop, lambda fn, *args: loop.call_later(0.05, fn, *args)), numbers, work, done)


def chunked_by_direct_recursion(loop, numbers, work, done):
    chunked(_LoopWith(loop, lambda fn, *args: fn(*args)), numbers, work, done)


def forgets_the_empty_list(loop, numbers, work, done, chunk=20):
    def step(start, total):
        for x in numbers[start:start + chunk]:
            total += work(x)
        if start + chunk < len(numbers):
            loop.call_soon(step, start + chunk, total)
        elif numbers:
            done(total)

    step(0, 0)


def never_stops(loop, numbers, work, done):
    loop.call_soon(never_stops, loop, numbers, work, done)


def wrong_sum(loop, numbers, work, done):
    chunked(loop, numbers, work, lambda total: done(total + 1))


def squares_on_its_own(loop, numbers, work, done, chunk=20):
    """Calls work(x) for each number, throws its result away and squares by itself."""
    def step(start):
        for x in numbers[start:start + chunk]:
            work(x)
        if start + chunk < len(numbers):
            loop.call_soon(step, start + chunk)
        else:
            done(sum(x * x for x in numbers))

    step(0)


def test_chunks_pass(capsys):
    passes("04.chunks", chunked, capsys)


@pytest.mark.parametrize("wrong, words", [
    (blank_chunks, ["not written yet"]),
    (blocking, ["heartbeat was", "late", "call_soon"]),
    (chunked_by_direct_recursion, ["heartbeat was"]),
    (chunked_with_call_later, ["not call_later"]),
    (forgets_the_empty_list, ["never called", "0 numbers"]),
    (never_stops, ["never ran out of work"]),
    (wrong_sum, ["sum of what work"]),
    (squares_on_its_own, ["work(x) returned x**3", "add up what work returns"]),
])
def test_chunks_fail_with_hint(wrong, words):
    fails("04.chunks", wrong, *words)


# ---------------------------------------------------------------- 04.client
fetch_all = SOL.fetch_all
blank_fetch_all = BLANK.fetch_all


def fetch_all_as_object(loop, net, address, requests, on_done):
    class Fetcher:
        def __init__(self):
            self.sock, self.i, self.reply, self.replies = net.connect(address), 0, b"", []
            self.sock.send(requests[0])
            loop.add_reader(self.sock, self.on_readable)

        def on_readable(self):
            chunk = self.sock.recv(3)
            if not chunk:                       # the server hung up: stop with what we have
                loop.remove_reader(self.sock)
                self.sock.close()
                on_done(self.replies)
                return
            self.reply += chunk
            if self.reply.endswith(b"\n"):
                self.replies.append(self.reply)
                self.reply, self.i = b"", self.i + 1
                if self.i == len(requests):
                    loop.remove_reader(self.sock)
                    self.sock.close()
                    on_done(self.replies)
                else:
                    self.sock.send(requests[self.i])

    Fetcher()


def one_read_each(loop, net, address, requests, on_done):
    """Takes what one recv() returns for a whole reply."""
    sock = net.connect(address)
    unsent, replies = list(requests), []

    def on_readable():
        replies.append(sock.recv(1024))
        del unsent[0]
        if unsent:
            sock.send(unsent[0])
            return
        loop.remove_reader(sock)
        sock.close()
        on_done(replies)

    sock.send(unsent[0])
    loop.add_reader(sock, on_readable)


def all_at_once(loop, net, address, requests, on_done):
    sock = net.connect(address)
    for request in requests:
        sock.send(request)
    buffer = bytearray()

    def on_readable():
        buffer.extend(sock.recv(1024))
        if buffer.count(b"\n") == len(requests):
            loop.remove_reader(sock)
            sock.close()
            on_done([line + b"\n" for line in bytes(buffer).split(b"\n")[:-1]])

    loop.add_reader(sock, on_readable)


STATE = {"replies": [], "reply": b""}


def global_state(loop, net, address, requests, on_done):
    sock = net.connect(address)
    STATE["replies"], STATE["reply"] = [], b""

    def on_readable():
        STATE["reply"] += sock.recv(1024)
        if not STATE["reply"].endswith(b"\n"):
            return
        STATE["replies"].append(STATE["reply"])
        STATE["reply"] = b""
        if len(STATE["replies"]) < len(requests):
            sock.send(requests[len(STATE["replies"])])
        else:
            loop.remove_reader(sock)
            sock.close()
            on_done(STATE["replies"])

    sock.send(requests[0])
    loop.add_reader(sock, on_readable)


def waits_for_eof(loop, net, address, requests, on_done):
    sock = net.connect(address)
    sock.send(requests[0])
    reply = bytearray()

    def on_readable():
        chunk = sock.recv(1024)
        reply.extend(chunk)
        if not chunk:
            loop.remove_reader(sock)
            sock.close()
            on_done([bytes(reply)])

    loop.add_reader(sock, on_readable)


class _NoClose:
    def __init__(self, sock):
        self.sock = sock

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self.sock, name)


def without_close(loop, net, address, requests, on_done):
    class Net:
        def connect(self, address):
            return _NoClose(net.connect(address))

    def remove_reader_of_wrapped(sock):
        return loop.remove_reader(sock.sock)

    class L:
        def add_reader(self, sock, fn, *args):
            loop.add_reader(sock.sock, fn, *args)

        remove_reader = staticmethod(remove_reader_of_wrapped)

    fetch_all(L(), Net(), address, requests, on_done)


def busy_waiting(loop, net, address, requests, on_done):
    sock = net.connect(address)
    replies = []
    for request in requests:
        sock.send(request)
        reply = b""
        while not reply.endswith(b"\n"):
            try:
                reply += sock.recv(1024)
            except BlockingIOError:
                pass
        replies.append(reply)
    sock.close()
    on_done(replies)


@pytest.mark.parametrize("right", [fetch_all, fetch_all_as_object])
def test_client_pass(right, capsys):
    passes("04.client", right, capsys)


@pytest.mark.parametrize("wrong, words", [
    (blank_fetch_all, ["not written yet"]),
    (one_read_each, ["only the start", "pieces"]),
    (all_at_once, ["only after the whole reply"]),
    (global_state, ["not in globals"]),
    (waits_for_eof, ["never called"]),
    (without_close, ["close the socket"]),
])
def test_client_fail_with_hint(wrong, words):
    fails("04.client", wrong, *words)


@pytest.mark.slow
def test_client_check_unsticks_a_busy_wait():
    import threading

    before = set(threading.enumerate())  # other chapters' checks may have left stuck daemon threads
    fails("04.client", busy_waiting, "never returned")
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("check-")]


def test_chunks_with_call_later_pauses_fail():
    """A chunked computation that pauses with call_later between chunks is not 'as soon as the work allows'."""

    def paused(loop, numbers, work, done):
        total, items = 0, list(numbers)

        def chunk():
            nonlocal total
            for x in items[:20]:
                total += work(x)
            del items[:20]
            if items:
                loop.call_later(0.01, chunk)
            else:
                done(total)

        loop.call_soon(chunk)

    fails("04.chunks", paused, "call_soon, not call_later")


# ---------------------------------------------------------------- more wrong answers, as students write them

class LessThan(TimerLoop):  # a timer due now is not moved: the loop never gets past it
    def _move_due_timers(self):
        while self._timers and self._timers[0][0] < self.now:
            self._ready.append(heapq.heappop(self._timers)[2:])


class NextTimerIsTheLast(TimerLoop):  # the heap's last slot is not its latest, nor its earliest
    def _next_timer(self):
        return self._timers[-1][0] if self._timers else None


class DelayAsDeadline(TimerLoop):  # forgets to add the clock
    def call_later(self, delay, fn, *args):
        heapq.heappush(self._timers, (delay, next(self._seq), fn, args))


class TieById(TimerLoop):  # a tie-break, but not the order of scheduling
    def call_later(self, delay, fn, *args):
        heapq.heappush(self._timers, (self.now + delay, -id(fn) % 1000003, next(self._seq), fn, args))

    def _move_due_timers(self):
        while self._timers and self._timers[0][0] <= self.now:
            self._ready.append(heapq.heappop(self._timers)[3:])


class SortedList(TimerLoop):  # a valid alternative: a list kept sorted with bisect
    def call_later(self, delay, fn, *args):
        bisect.insort(self._timers, (self.now + delay, next(self._seq), fn, args))

    def _next_timer(self):
        return self._timers[0][0] if self._timers else None

    def _move_due_timers(self):
        while self._timers and self._timers[0][0] <= self.now:
            when, seq, fn, args = self._timers.pop(0)
            self._ready.append((fn, args))


@pytest.mark.parametrize("wrong, words", [
    (LessThan, ["still busy", "<= self.now"]),
    (NextTimerIsTheLast, ["with the program"]),
    (DelayAsDeadline, ["plus the delay"]),
    (TieById, ["order they were scheduled"]),
])
def test_timers_reject_more_wrong_answers(wrong, words):
    fails("04.timers", wrong, *words)


def test_timers_accept_a_sorted_list(capsys):
    passes("04.timers", SortedList, capsys)


def test_timers_quote_a_shrunk_program():
    message = fails("04.timers", NextTimerIsTheLast, "with the program [")
    program = message.split("[", 1)[1].split("]", 1)[0]
    assert program.count(";") <= 2, message  # at most three callbacks, not seventeen


def predicted_on_the_course_loop():
    loop, log = Loop(), []
    programs.predict_program(loop, log.append)
    loop.run()
    return log


def predicted_on_asyncio():
    loop, log = asyncio.new_event_loop(), []
    try:
        programs.predict_program(loop, log.append)
        loop.call_later(2, loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    return log


def predicted_on_my_own_loop():
    loop, log = TimerLoop(), []  # the student's TimerLoop of exercise 1
    programs.predict_program(loop, log.append)
    loop.run()
    return log


def predicted_on_a_reloaded_loop():
    import importlib

    import course_lib.check.programs as again

    again = importlib.reload(again)
    loop, log = virtualclock.virtual_asyncio_loop(), []
    again.predict_program(loop, log.append)
    loop.run_forever()
    return log


@pytest.mark.parametrize("wrong", [predicted_on_the_course_loop, predicted_on_asyncio, predicted_on_my_own_loop,
                                   predicted_on_a_reloaded_loop])
def test_predict_refuses_running_the_program(wrong):
    fails("04.predict", wrong, "must not run the program")


def test_predict_accepts_a_tuple_in_lower_case(capsys):
    passes("04.predict", lambda: tuple(" a b c d f g e".split(" ")[1:]), capsys)


def chunk_too_big(loop, numbers, work, done, chunk=100):  # 100 x 2 ms = 200 ms per callback
    total = [0]

    def step(start):
        for x in numbers[start:start + chunk]:
            total[0] += work(x)
        if start + chunk < len(numbers):
            loop.call_soon(step, start + chunk)
        else:
            done(total[0])

    step(0)


def chunks_miss_the_last_number(loop, numbers, work, done):
    chunked(loop, numbers[:-1], work, done)


def chunks_queued_all_at_once(loop, numbers, work, done):
    total, pieces = [0], [numbers[i:i + 20] for i in range(0, len(numbers), 20)]

    def one(piece, last):
        for x in piece:
            total[0] += work(x)
        if last:
            done(total[0])

    for i, piece in enumerate(pieces):
        loop.call_soon(one, piece, i == len(pieces) - 1)
    if not pieces:
        done(0)


def chunks_done_every_chunk(loop, numbers, work, done):
    total = [0]

    def step(start):
        for x in numbers[start:start + 20]:
            total[0] += work(x)
        done(total[0])
        if start + 20 < len(numbers):
            loop.call_soon(step, start + 20)

    step(0)


def chunks_from_a_generator(loop, numbers, work, done):  # a valid alternative
    def sums():
        total = 0
        for i, x in enumerate(numbers, 1):
            total += work(x)
            if i % 10 == 0:
                yield None
        yield total

    steps = sums()

    def step():
        value = next(steps)
        if value is None:
            loop.call_soon(step)
        else:
            done(value)

    step()


@pytest.mark.parametrize("wrong, words", [
    (chunk_too_big, ["heartbeat was", "under the 50 ms"]),
    (chunks_miss_the_last_number, ["exactly once"]),
    (chunks_queued_all_at_once, ["heartbeat was", "queued together"]),
    (chunks_done_every_chunk, ["call it once"]),
])
def test_chunks_reject_more_wrong_answers(wrong, words):
    fails("04.chunks", wrong, *words)


def test_chunks_accept_a_generator(capsys):
    passes("04.chunks", chunks_from_a_generator, capsys)


def client_keeps_its_reader(loop, net, address, requests, on_done):
    fetch_all(_KeepsReader(loop), net, address, requests, on_done)


class _KeepsReader:
    def __init__(self, loop):
        self._loop = loop

    def remove_reader(self, sock):
        pass

    def __getattr__(self, name):
        return getattr(self._loop, name)


def client_on_done_per_reply(loop, net, address, requests, on_done):
    seen = []

    def each(replies):
        for reply in replies:
            seen.append(reply)
            on_done(list(seen))

    fetch_all(loop, net, address, requests, each)


def client_connects_per_request(loop, net, address, requests, on_done):
    replies = []

    def next_one():
        if len(replies) == len(requests):
            on_done(replies)
            return
        fetch_all(loop, net, address, [requests[len(replies)]], lambda got: (replies.extend(got), next_one()))

    next_one()


def client_with_partition(loop, net, address, requests, on_done, stop_at_eof=True):  # a valid alternative
    sock, buffer, replies = net.connect(address), [b""], []

    def readable():
        chunk = sock.recv(4096)
        buffer[0] += chunk
        line, newline, rest = buffer[0].partition(b"\n")
        if not newline and (chunk or not stop_at_eof):
            return
        buffer[0] = rest
        if newline:
            replies.append(line + newline)
        if len(replies) == len(requests) or not newline:
            loop.remove_reader(sock)
            sock.close()
            on_done(replies)
        else:
            sock.send(requests[len(replies)])

    loop.add_reader(sock, readable)
    sock.send(requests[0])


def client_ignores_eof(loop, net, address, requests, on_done):  # b"" is not a reply piece: it is the end
    client_with_partition(loop, net, address, requests, on_done, stop_at_eof=False)


@pytest.mark.parametrize("wrong, words", [
    (client_ignores_eof, ["hung up", "b''"]),
    (client_keeps_its_reader, ["remove your reader"]),
    (client_on_done_per_reply, ["call it once"]),
    (client_connects_per_request, ["connect once per call"]),
])
def test_client_rejects_more_wrong_answers(wrong, words):
    fails("04.client", wrong, *words)


def test_client_accepts_partition(capsys):
    passes("04.client", client_with_partition, capsys)


# ---------------------------------------------------------------- the try cells stop a wrong answer
def _run_try_cell(notebook_cells, try_cell, **wrong):
    """Run the notebook's own cells, swap in a wrong answer, then run its own try cell."""
    module = cells(SOLUTION, *notebook_cells)
    vars(module).update(wrong)
    cell = find(SOLUTION, try_cell)
    exec(compile("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")), try_cell, "exec"),
         vars(module))


@pytest.mark.slow
def test_the_timers_try_cell_stops_a_heap_compared_with_less_than(capsys):
    _run_try_cell(("setup", "ready_loop", "timers_answer"), "timers_try", TimerLoop=LessThan)
    assert "still running after 5 s" in capsys.readouterr().out


@pytest.mark.slow
def test_the_client_try_cell_stops_a_busy_wait(capsys):
    _run_try_cell(("setup", "client_answer"), "client_try", fetch_all=busy_waiting)
    assert "still running after 5 s" in capsys.readouterr().out
