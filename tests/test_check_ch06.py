"""Checks of chapter 06: each passes on the notebook's answer and fails, with the right one-line
hint, on a blank one and on the typical wrong ones (written here as small changes to the answer).
The references agree with asyncio: the course programs with asyncio's own primitives, and the
written-out TaskGroup behaviour with TaskGroup itself."""

import asyncio
import contextlib
import random
import sys
import threading
import time

import pytest
from checking import fails, passes
from notebook_code import definitions

from course_lib.check import cancelprograms as cancel
from course_lib.check import coroprograms as cp

SOLUTION, EXERCISE = "solutions/06_coroutines_asyncio", "exercises/06_coroutines_asyncio"
ANSWERS = ("setup", "step_answer", "yield_once", "sleep_answer", "client_answer", "gather_answer", "unblock_given",
           "unblock_answer", "timeout_answer")
SOL = definitions(SOLUTION, *ANSWERS)
BLANK = definitions(EXERCISE, *ANSWERS)


# ---------------------------------------------------------------- 06.step
MiniTask = SOL.MiniTask


class StepsAtOnceAfterBareYield(MiniTask):
    def _step(self, exc=None):
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            self.set_result(stop.value)
        except BaseException as error:
            self.set_exception(error)
        else:
            if result is None:
                self._step()                      # "again", but without letting the others run
            else:
                result.add_done_callback(self._wakeup)


class IgnoresFutures(MiniTask):
    def _step(self, exc=None):
        try:
            self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            self.set_result(stop.value)
        except BaseException as error:
            self.set_exception(error)
        else:
            self._loop.call_soon(self._step)       # polls instead of waiting


class ForgetsTheReturnValue(MiniTask):
    def _step(self, exc=None):
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration:
            self.set_result(None)
        except BaseException as error:
            self.set_exception(error)
        else:
            if result is None:
                self._loop.call_soon(self._step)
            else:
                result.add_done_callback(self._wakeup)


class LetsErrorsEscape(MiniTask):
    def _step(self, exc=None):
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            self.set_result(stop.value)
        else:
            if result is None:
                self._loop.call_soon(self._step)
            else:
                result.add_done_callback(self._wakeup)


class NeverWakesUp(MiniTask):
    def _wakeup(self, future):
        pass


class WakesUpAnIterationLate(MiniTask):
    def _wakeup(self, future):
        self._loop.call_soon(super()._wakeup, future)


class WakesWithoutThrowing(MiniTask):
    """Valid too: a future's __await__ reads its result itself, and raises the exception there."""
    def _wakeup(self, future):
        self._step()


class TakesNoneForAFuture(MiniTask):  # forgets the bare yield: None has no add_done_callback
    def _step(self, exc=None):
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            self.set_result(stop.value)
        except BaseException as error:
            self.set_exception(error)
        else:
            result._asyncio_future_blocking = False
            result.add_done_callback(self._wakeup)


class WakesWithStep(MiniTask):  # add_done_callback(self._step): _step gets the future as its exc
    def _step(self, exc=None):
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            self.set_result(stop.value)
        except BaseException as error:
            self.set_exception(error)
        else:
            if result is None:
                self._loop.call_soon(self._step)
            else:
                result._asyncio_future_blocking = False
                result.add_done_callback(self._step)


def test_step_passes(capsys):
    passes("06.step", MiniTask, capsys)
    passes("06.step", WakesWithoutThrowing, capsys)


@pytest.mark.parametrize("wrong, words", [
    (BLANK.MiniTask, ["not written yet"]),
    (StepsAtOnceAfterBareYield, ["call_soon(self._step)", "sleep(0)"]),
    (IgnoresFutures, ["add_done_callback(self._wakeup)", "not done"]),
    (ForgetsTheReturnValue, ["stop.value", "'T0 done'"]),
    (LetsErrorsEscape, ["ValueError", "escaped", "set_exception"]),
    (NeverWakesUp, ["never finished", "_wakeup"]),
    (WakesUpAnIterationLate, ["on asyncio"]),
    (TakesNoneForAFuture, ["bare yield", "not a future", "call_soon(self._step)"]),
    (WakesWithStep, ["give it self._wakeup"]),
    ("MiniTask", ["pass the class itself"]),
])
def test_step_fails_with_hint(wrong, words):
    fails("06.step", wrong, *words)


def test_step_counterexamples_are_small():
    message = fails("06.step", StepsAtOnceAfterBareYield)
    assert message.count("T") <= 8, message


# ---------------------------------------------------------------- 06.sleep
sleep, yield_once = SOL.sleep, SOL.yield_once


async def sleep_with_a_timer_for_zero(delay, result=None):
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    timer = loop.call_later(max(delay, 0), lambda: future.done() or future.set_result(result))
    try:
        return await future
    finally:
        timer.cancel()


async def sleep_leaving_its_timer(delay, result=None):
    if delay <= 0:
        await yield_once()
        return result
    future = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(delay, future.set_result, result)
    return await future


async def sleep_leaving_a_guarded_timer(delay, result=None):
    if delay <= 0:
        await yield_once()
        return result
    future = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(delay, lambda: future.done() or future.set_result(result))
    return await future


async def sleep_forgetting_the_result(delay, result=None):
    await sleep(delay)


async def sleep_blocking(delay, result=None):
    time.sleep(delay)
    return result


async def sleep_borrowed(delay, result=None):
    return await asyncio.sleep(delay, result)


def sleep_not_a_coroutine(delay, result=None):
    return result


async def sleep_with_call_at(delay, result=None):
    """Valid too: a deadline with call_at, the timer cancelled only when the sleep is."""
    loop = asyncio.get_running_loop()
    if delay <= 0:
        await yield_once()
        return result
    future = loop.create_future()
    timer = loop.call_at(loop.time() + delay, lambda: future.cancelled() or future.set_result(result))
    try:
        return await future
    except asyncio.CancelledError:
        timer.cancel()
        raise


async def sleep_until_delay(delay, result=None):  # call_at takes a moment on the loop's clock, not a delay
    loop = asyncio.get_running_loop()
    if delay <= 0:
        await yield_once()
        return result
    future = loop.create_future()
    timer = loop.call_at(delay, lambda: future.done() or future.set_result(result))
    try:
        return await future
    finally:
        timer.cancel()


def test_sleep_passes(capsys):
    passes("06.sleep", sleep, capsys)
    passes("06.sleep", sleep_with_call_at, capsys)


@pytest.mark.parametrize("wrong, words", [
    (BLANK.sleep, ["not written yet"]),
    (sleep_with_a_timer_for_zero, ["sleep(0) is no timer"]),
    (sleep_leaving_its_timer, ["InvalidStateError", "cancel its timer"]),
    (sleep_leaving_a_guarded_timer, ["a timer still ran", "cancel its timer"]),
    (sleep_forgetting_the_result, ["returns result"]),
    (sleep_blocking, ["too early", "time.sleep"]),
    (sleep_until_delay, ["too early", "seconds from now", "call_later"]),
    (sleep_borrowed, ["asyncio.sleep is what you rebuild"]),
    (sleep_not_a_coroutine, ["async def"]),
])
def test_sleep_fails_with_hint(wrong, words):
    fails("06.sleep", wrong, *words)


# ---------------------------------------------------------------- 06.client
async def reads_one_piece(loop, net, address, requests):
    sock = net.connect(address)
    replies = []
    for request in requests:
        await loop.sock_sendall(sock, request)
        replies.append(await loop.sock_recv(sock, 1024))
    sock.close()
    return replies


async def sends_everything_first(loop, net, address, requests):
    sock = net.connect(address)
    for request in requests:
        await loop.sock_sendall(sock, request)
    data = b""
    while data.count(b"\n") < len(requests):
        data += await loop.sock_recv(sock, 1024)
    sock.close()
    return [line + b"\n" for line in data.split(b"\n")[:-1]]


async def leaves_the_socket_open(loop, net, address, requests):
    sock = net.connect(address)
    replies = []
    for request in requests:
        await loop.sock_sendall(sock, request)
        reply = b""
        while not reply.endswith(b"\n"):
            reply += await loop.sock_recv(sock, 1024)
        replies.append(reply)
    return replies


async def polls_with_sleep(loop, net, address, requests):
    sock = net.connect(address)
    replies = []
    for request in requests:
        sock.send(request)
        reply = b""
        while not reply.endswith(b"\n"):
            try:
                reply += sock.recv(1024)
            except BlockingIOError:
                await asyncio.sleep(0.01)
        replies.append(reply)
    sock.close()
    return replies


async def recv_without_waiting(loop, net, address, requests):
    sock = net.connect(address)
    sock.send(requests[0])
    return [sock.recv(1024)]


def not_a_coroutine(loop, net, address, requests):
    return []


async def reads_a_byte_at_a_time(loop, net, address, requests):
    """Valid too: tiny reads, a bytearray, no end-of-data check."""
    sock = net.connect(address)
    replies = []
    for request in requests:
        await loop.sock_sendall(sock, request)
        reply = bytearray()
        while not reply.endswith(b"\n"):
            reply += await loop.sock_recv(sock, 1)
        replies.append(bytes(reply))
    sock.close()
    return replies


def test_client_passes(capsys):
    passes("06.client", SOL.fetch_all, capsys)
    passes("06.client", reads_a_byte_at_a_time, capsys)


@pytest.mark.parametrize("wrong, words", [
    (BLANK.fetch_all, ["not written yet"]),
    (reads_one_piece, ["comes in pieces"]),
    (sends_everything_first, ["only after the whole reply"]),
    (leaves_the_socket_open, ["close the socket"]),
    (polls_with_sleep, ["returned at", "sock_recv"]),
    (recv_without_waiting, ["BlockingIOError", "loop.sock_recv"]),
    (not_a_coroutine, ["async def"]),
])
def test_client_fails_with_hint(wrong, words):
    fails("06.client", wrong, *words)


@pytest.mark.slow
def test_a_client_that_spins_on_recv_is_stopped_with_a_hint():
    async def spins(loop, net, address, requests):
        sock = net.connect(address)
        sock.send(requests[0])
        while True:
            try:
                return [sock.recv(1024)]
            except BlockingIOError:
                continue

    fails("06.client", spins, "within 5 s", "sock_recv")


# ---------------------------------------------------------------- 06.gather
gather_or_cancel = SOL.gather_or_cancel


async def plain_gather(*aws):
    return await asyncio.gather(*aws)


async def cancels_without_waiting(*aws):
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in tasks:
        if task.done() and task.exception() is not None:
            for other in pending:
                other.cancel()
            raise task.exception()
    return [t.result() for t in tasks]


async def waits_for_everyone_first(*aws):
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


async def in_completion_order(*aws):
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    results = []
    for next_done in asyncio.as_completed(tasks):
        results.append(await next_done)
    return results


async def raises_the_group(*aws):
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(aw) for aw in aws]
    return [t.result() for t in tasks]


async def unwrapped_task_group(*aws):
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(aw) for aw in aws]
    except BaseExceptionGroup as failures:  # noqa: F821 (3.11+)
        raise failures.exceptions[0] from None
    return [t.result() for t in tasks]


async def forgets_no_children(*aws):  # asyncio.wait() refuses an empty set
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = [t for t in tasks if t in done and not t.cancelled() and t.exception() is not None]
    if not failed:
        return [t.result() for t in tasks]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    raise failed[0].exception()


def test_gather_passes(capsys):
    passes("06.gather", gather_or_cancel, capsys)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is new in Python 3.11")
def test_gather_passes_with_a_task_group(capsys):
    passes("06.gather", unwrapped_task_group, capsys)


@pytest.mark.parametrize("wrong, words", [
    (BLANK.gather_or_cancel, ["not written yet"]),
    (plain_gather, ["kept running", "cancel them"]),
    (cancels_without_waiting, ["wait until they have finished"]),
    (waits_for_everyone_first, ["kept running"]),
    (in_completion_order, ["order of the arguments"]),
    (forgets_no_children, ["no awaitables at all, return []", "empty set"]),
    pytest.param(raises_the_group, ["not an exception group"],
                 marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is new in Python 3.11")),
])
def test_gather_fails_with_hint(wrong, words):
    fails("06.gather", wrong, *words)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is new in Python 3.11")
def test_the_written_out_gather_behaviour_is_task_groups():
    """expected_gather (what the check wants) is what asyncio.TaskGroup does, on asyncio's own loop too."""
    from course_lib import virtualclock

    rng = random.Random(6)
    for _ in range(150):
        children = cancel.random_children(rng, rng.randint(0, 5))
        on_course_loop, _, error = cancel.run_gather(unwrapped_task_group, children)
        assert error is None
        want = cancel.expected_gather(children)
        assert sorted(on_course_loop, key=lambda e: (e[1], e[0])) == sorted(want, key=lambda e: (e[1], e[0]))
        assert on_course_loop[-1] == want[-1]

        def program(loop, log, children=children):
            async def parent():
                coroutines = [cancel._child(i, *child, log) for i, child in enumerate(children)]
                try:
                    log(f"gather returned {await unwrapped_task_group(*coroutines)!r}")
                except ValueError as exc:
                    log(f"gather raised {exc!r}")
            return parent()

        on_asyncio = virtualclock.record(program, fifo_ties=True).events  # TaskGroup keeps its tasks in a set:
        assert sorted(on_asyncio) == sorted(on_course_loop)                # the order it cancels them in varies
        assert on_asyncio[-1] == on_course_loop[-1]


# ---------------------------------------------------------------- 06.unblock
handle = SOL.handle


async def skips_the_lookup(loop, conn, lookup):
    key = (await loop.sock_recv(conn, 1024)).decode().strip()
    await asyncio.sleep(0.25)
    await loop.sock_sendall(conn, key.upper().encode() + b"\n")
    conn.close()


async def calls_lookup_before_the_executor(loop, conn, lookup):
    key = (await loop.sock_recv(conn, 1024)).decode().strip()
    answer = await loop.run_in_executor(None, lookup(key))
    await loop.sock_sendall(conn, answer.encode() + b"\n")
    conn.close()


async def forgets_to_await(loop, conn, lookup):
    key = (await loop.sock_recv(conn, 1024)).decode().strip()
    answer = asyncio.to_thread(lookup, key)
    try:
        await loop.sock_sendall(conn, answer.encode() + b"\n")
    finally:
        answer.close()
    conn.close()


async def joins_its_thread(loop, conn, lookup):
    key = (await loop.sock_recv(conn, 1024)).decode().strip()
    box = []
    worker = threading.Thread(target=lambda: box.append(lookup(key)))
    worker.start()
    worker.join()
    await loop.sock_sendall(conn, box[0].encode() + b"\n")
    conn.close()


async def run_in_executor_version(loop, conn, lookup):
    key = (await loop.sock_recv(conn, 1024)).decode().strip()
    answer = await loop.run_in_executor(None, lookup, key)
    await loop.sock_sendall(conn, answer.encode() + b"\n")
    conn.close()


def test_unblock_passes(capsys):
    passes("06.unblock", handle, capsys)
    passes("06.unblock", run_in_executor_version, capsys)


@pytest.mark.parametrize("wrong, words", [
    (BLANK.handle, ["not written yet"]),
    (SOL.handle_blocking, ["froze the loop", "to_thread"]),
    (skips_the_lookup, ["called lookup 0 times"]),
    (calls_lookup_before_the_executor, ["froze the loop"]),
    (forgets_to_await, ["coroutine"]),
    (joins_its_thread, ["froze the loop"]),
])
def test_unblock_fails_with_hint(wrong, words):
    fails("06.unblock", wrong, *words)


# ---------------------------------------------------------------- 06.timeout
wait_for = SOL.wait_for


async def keeps_its_timer(aw, timeout):
    task = asyncio.ensure_future(aw)
    me = asyncio.current_task()
    asyncio.get_running_loop().call_later(timeout, me.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        raise TimeoutError() from None


async def never_says_timeout(aw, timeout):
    task = asyncio.ensure_future(aw)
    timer = asyncio.get_running_loop().call_later(timeout, task.cancel)
    try:
        return await task
    finally:
        timer.cancel()


async def every_cancel_is_a_timeout(aw, timeout):
    task = asyncio.ensure_future(aw)
    timer = asyncio.get_running_loop().call_later(timeout, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        raise TimeoutError() from None
    finally:
        timer.cancel()


async def does_not_wait_for_the_cleanup(aw, timeout):
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if done:
        return task.result()
    task.cancel()
    raise TimeoutError()


async def does_not_cancel(aw, timeout):
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if done:
        return task.result()
    raise TimeoutError()


async def wait_for_with_wait(aw, timeout):
    """Valid too: asyncio.wait with a timeout, then cancel and wait for the task by hand."""
    task = asyncio.ensure_future(aw)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise
    if done:
        return task.result()
    task.cancel()
    try:
        return await task
    except asyncio.CancelledError:
        raise TimeoutError() from None


async def wait_for_with_a_timeout_block(aw, timeout):
    """Valid too (3.11+): the coroutine runs in the calling task, under asyncio.timeout."""
    async with asyncio.timeout(timeout):
        return await aw


async def borrows_wait_for(aw, timeout):
    return await asyncio.wait_for(aw, timeout)


async def races_a_sleep(aw, timeout):  # asyncio.wait does not pass a cancellation on to the coroutine
    task = asyncio.ensure_future(aw)
    timer = asyncio.ensure_future(asyncio.sleep(timeout))
    done, _ = await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        timer.cancel()
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise TimeoutError()


def test_timeout_passes(capsys):
    passes("06.timeout", wait_for, capsys)
    passes("06.timeout", wait_for_with_wait, capsys)
    if sys.version_info >= (3, 11):
        passes("06.timeout", wait_for_with_a_timeout_block, capsys)


@pytest.mark.parametrize("wrong, words", [
    (BLANK.wait_for, ["not written yet"]),
    (keeps_its_timer, ["cancel your timer"]),
    (never_says_timeout, ["raise TimeoutError"]),
    (every_cancel_is_a_timeout, ["from outside"]),
    (does_not_wait_for_the_cleanup, ["its cleanup too"]),
    (does_not_cancel, ["cancel the coroutine"]),
    (borrows_wait_for, ["asyncio.wait_for is what you rebuild"]),
    (races_a_sleep, ["wait_for was cancelled", "cancel the coroutine too"]),
])
def test_timeout_fails_with_hint(wrong, words):
    fails("06.timeout", wrong, *words)


# ---------------------------------------------------------------- the programs themselves agree with asyncio
def test_random_programs_with_asyncios_primitives_run_alike_on_the_course_loop():
    rng = random.Random(11)
    for _ in range(200):
        plan = cp.random_plan(rng, rng.randint(1, 4), ("sleep", "sleep0", "await", "future", "raise", "cancel"))
        log, loop, error = cp.run(plan)
        assert error is None and not loop.errors
        assert log == cp.run_on_asyncio(plan), cp.describe(plan)


def test_random_timeouts_with_asyncios_wait_for_run_alike_on_the_course_loop():
    rng = random.Random(12)
    for _ in range(200):
        case = cancel.random_timeout(rng)
        log, _, error = cancel.run_timeout(asyncio.wait_for, case)
        assert error is None
        assert log == cancel.timeout_on_asyncio(case), cancel.describe_timeout(case)


def test_descriptions_are_short_and_readable():
    assert cp.describe([[("sleep", 0.5), ("sleep0",)], [("await", 0)]]) == "T0: sleep(0.5), sleep(0) · T1: await T0"
    assert cancel.describe_children([(1.0, False, 0), (0.5, True, 0.25)]) == \
        "C0: returns at 1 · C1: fails at 0.5, cleanup 0.25"
    assert cancel.describe_timeout((1.0, False, 0, 0.5, None)) == \
        "wait_for(coroutine returning after 1 s, timeout=0.5)"
    assert cancel.describe_timeout((1.0, True, 0.5, 1.5, None)) == \
        "wait_for(coroutine failing after 1 s, cleanup 0.5 s, timeout=1.5)"
