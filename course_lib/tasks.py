"""Tasks: how a loop that only calls callbacks runs coroutines.

What it is: asyncio's ``Task`` (``asyncio/tasks.py``), rewritten to be read in one sitting,
and three coroutines built on it and on ``course_lib.futures.Future`` (re-exported here):

- a **Task** is a future that drives a coroutine, one *step* at a time. A step sends a value
  into the coroutine (or throws an exception into it); the coroutine runs until it awaits a
  future that is not done yet, and that future comes out of ``send`` as if yielded. The
  task then asks the future to wake it (``add_done_callback(self._wakeup)``) and returns to
  the loop. No thread waits anywhere: between two steps a task is just an object that one
  future's callback list points to.
- ``sleep``, ``gather`` and ``wait_for``: a future plus a timer; one future watching many;
  a timer that cancels the waiting task.

The semantics and names are asyncio's (3.12's ``wait_for``), and the objects mix with
asyncio's: while the course loop runs them, asyncio's own ``gather``, ``Queue`` or
``TaskGroup`` create and await these futures, and a course task can await asyncio's futures
(both follow asyncio's ``_asyncio_future_blocking`` protocol). A task registers itself with
asyncio (``_register_task``, ``_enter_task``) so ``asyncio.current_task()`` finds it.

What it is not: all of asyncio. No eager tasks, no ``shield``/``wait``/``as_completed``,
no debug tracebacks; the C speed-ups are not used.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import types

from course_lib.futures import PENDING, Future

_enter_task, _leave_task = asyncio.tasks._enter_task, asyncio.tasks._leave_task  # so current_task() finds ours

__all__ = ["Future", "Task", "sleep", "gather", "wait_for", "ensure_future"]

_task_numbers = itertools.count(1)


class Task(Future):
    """A future that runs a coroutine, one step per callback, waiting on the futures it awaits."""

    def __init__(self, coro, *, loop=None, name=None, context=None):
        if not (hasattr(coro, "send") and hasattr(coro, "throw")):
            what = f"the function {coro.__name__}: call it, {coro.__name__}()" if callable(coro) else repr(coro)
            raise TypeError(f"coro must be a coroutine object, got {what}")
        super().__init__(loop=loop)
        self._coro = coro
        self._name = f"Task-{next(_task_numbers)}" if name is None else str(name)
        self._context = contextvars.copy_context() if context is None else context
        self._fut_waiter = None  # the future this task waits for between two steps
        self._must_cancel = False  # cancel() came while no future could carry it: throw at the next step
        self._num_cancels_requested = 0
        self._loop._call_soon(self._step, (), self._context)  # the first step runs soon
        asyncio.tasks._register_task(self)  # so asyncio.all_tasks() sees it

    def get_coro(self):
        return self._coro

    def get_name(self) -> str:
        return self._name

    def set_name(self, value) -> None:
        self._name = str(value)

    def cancel(self, msg=None) -> bool:
        """Ask the task to stop: ``CancelledError`` is thrown into the coroutine at its next step."""
        self._log_traceback = False
        if self.done():
            return False
        self._num_cancels_requested += 1
        if self._fut_waiter is not None and self._fut_waiter.cancel(msg=msg):
            return True  # the future it waits for is cancelled: its wake-up brings the CancelledError
        self._must_cancel, self._cancel_message = True, msg
        return True

    def cancelling(self) -> int:
        """How many cancel() requests are pending (``asyncio.timeout`` and TaskGroup count them)."""
        return self._num_cancels_requested

    def uncancel(self) -> int:
        """Take back one cancel() request; returns how many are left."""
        if self._num_cancels_requested > 0:
            self._num_cancels_requested -= 1
        return self._num_cancels_requested

    def _step(self, exc=None) -> None:
        """Run the coroutine to its next ``await`` of a pending future (or to its end)."""
        if self._state != PENDING:
            raise asyncio.InvalidStateError(f"_step(): already done: {self!r}")
        if self._must_cancel:
            if not isinstance(exc, asyncio.CancelledError):
                exc = self._make_cancelled_error()
            self._must_cancel = False
        self._fut_waiter = None
        _enter_task(self._loop, self)  # asyncio.current_task() is this task now
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:  # the coroutine returned
            if self._must_cancel:  # cancelled during its last step, too late to throw
                self._must_cancel = False
                super().cancel(msg=self._cancel_message)
            else:
                super().set_result(stop.value)
        except asyncio.CancelledError as error:
            self._cancelled_exc = error
            super().cancel()
        except (KeyboardInterrupt, SystemExit) as error:
            super().set_exception(error)
            raise
        except BaseException as error:
            super().set_exception(error)
        else:
            self._wait_for(result)
        finally:
            _leave_task(self._loop, self)

    def _wait_for(self, result) -> None:
        """The coroutine handed us ``result`` (what `await` yielded): arrange the next step."""
        if result is None:  # a bare `yield` (sleep(0)): step again in the next iteration
            self._loop._call_soon(self._step, (), self._context)
            return
        blocking = getattr(result, "_asyncio_future_blocking", None)
        if blocking and result.get_loop() is self._loop and result is not self:
            result._asyncio_future_blocking = False
            result.add_done_callback(self._wakeup, context=self._context)
            self._fut_waiter = result
            if self._must_cancel and self._fut_waiter.cancel(msg=self._cancel_message):
                self._must_cancel = False
        else:
            if blocking is None:
                problem = f"Task got bad yield: {result!r} (await futures or coroutines, do not yield values)"
            elif result is self:
                problem = f"Task cannot await on itself: {self!r}"
            elif blocking:
                problem = f"Task {self!r} got Future {result!r} attached to a different loop"
            else:
                problem = f"yield was used instead of yield from in task {self!r} with {result!r}"
            self._loop._call_soon(self._step, (RuntimeError(problem),), self._context)

    def _wakeup(self, future) -> None:
        """The awaited future is done: resume the coroutine with its result (or its exception)."""
        try:
            future.result()
        except BaseException as exc:
            self._step(exc)
        else:
            self._step()

    def __repr__(self) -> str:
        return super().__repr__().replace(type(self).__name__, f"{type(self).__name__} {self._name}", 1)


def ensure_future(aw, loop=None):
    """``aw`` itself if it is a future (course or asyncio), else a task running it."""
    if asyncio.isfuture(aw):
        return aw
    if loop is None:
        loop = asyncio.get_running_loop()
    if hasattr(aw, "send") and hasattr(aw, "throw"):
        return loop.create_task(aw)
    if hasattr(aw, "__await__"):
        async def _await():
            return await aw
        return loop.create_task(_await())
    raise TypeError(f"an awaitable (a coroutine, task or future) is required, got {aw!r}")


@types.coroutine
def _yield_once():
    yield  # a bare yield: the task's next step is scheduled with call_soon


def _set_result_unless_cancelled(future, result):
    if not future.cancelled():
        future.set_result(result)


async def sleep(delay, result=None):
    """Suspend the task for ``delay`` seconds (``sleep(0)``: just let the others run once)."""
    if delay <= 0:
        await _yield_once()
        return result
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    timer = loop.call_later(delay, _set_result_unless_cancelled, future, result)
    try:
        return await future
    finally:
        timer.cancel()


class _GatheringFuture(Future):
    """gather()'s outer future: cancelling it cancels every child."""

    def __init__(self, children, *, loop):
        super().__init__(loop=loop)
        self._children, self._cancel_requested = children, False

    def cancel(self, msg=None) -> bool:
        if self.done():
            return False
        cancelled = [child.cancel(msg=msg) for child in self._children]
        self._cancel_requested = self._cancel_requested or any(cancelled)
        return any(cancelled)


def gather(*aws, return_exceptions=False):
    """A future for the list of the results of ``aws``, in order; coroutines run as tasks.

    The first exception (or cancellation) of a child fails the outer future at once, unless
    ``return_exceptions``; the other children keep running, as in asyncio.
    """
    loop = asyncio.get_running_loop() if not aws else None
    futures, children = {}, []
    for aw in aws:
        if aw not in futures:
            futures[aw] = fut = ensure_future(aw, loop)
            loop = loop or fut.get_loop()
            fut.add_done_callback(lambda child: _child_done(child, outer, children, return_exceptions))
        children.append(futures[aw])
    outer = _GatheringFuture(children, loop=loop)
    if not aws:
        outer.set_result([])
    return outer


def _child_done(child, outer, children, return_exceptions) -> None:
    if outer.done():
        if not child.cancelled():
            child.exception()  # mark it retrieved: nobody will look at it now
        return
    if not return_exceptions:
        if child.cancelled():
            return outer.set_exception(child._make_cancelled_error())
        if child.exception() is not None:
            return outer.set_exception(child.exception())
    if all(c.done() for c in children):
        if outer._cancel_requested:
            outer.set_exception(child._make_cancelled_error())
        else:
            outer.set_result([_outcome(c) for c in children])


def _outcome(child):
    """What gather() reports for a finished child: its result, its exception or a CancelledError."""
    if child.cancelled():
        return asyncio.CancelledError("" if child._cancel_message is None else child._cancel_message)
    return child.exception() if child.exception() is not None else child.result()


async def _cancel_and_wait(fut):
    """Cancel ``fut`` and wait until it has finished cancelling."""
    waiter = fut.get_loop().create_future()

    def release(_):
        if not waiter.done():
            waiter.set_result(None)

    fut.add_done_callback(release)
    try:
        fut.cancel()
        await waiter
    finally:
        fut.remove_done_callback(release)


async def wait_for(aw, timeout):
    """``await aw``, but after ``timeout`` seconds cancel it and raise ``TimeoutError``.

    As in asyncio 3.12: a coroutine runs inside the calling task (no new task); the timeout is
    a timer that cancels the calling task, and the ``CancelledError`` that comes back is turned
    into ``TimeoutError`` (unless someone else cancelled the task too).
    """
    loop = asyncio.get_running_loop()
    if timeout is None:
        return await aw
    if timeout <= 0:  # no time at all: do not even start it
        fut = ensure_future(aw, loop)
        if fut.done():
            return fut.result()
        await _cancel_and_wait(fut)
        try:
            return fut.result()
        except asyncio.CancelledError as exc:
            raise TimeoutError() from exc
    task = asyncio.current_task()
    cancelling, expired = task.cancelling(), []

    def expire():
        expired.append(True)
        task.cancel()

    timer = loop.call_at(loop.time() + timeout, expire)
    try:
        result = await aw
    except BaseException as exc:
        if expired and task.uncancel() <= cancelling and isinstance(exc, asyncio.CancelledError):
            raise TimeoutError() from exc  # our timer cancelled it, nobody else did
        raise
    else:
        if expired:  # the timer fired, but the result came first
            task.uncancel()
        return result
    finally:
        timer.cancel()
