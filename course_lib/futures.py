"""Futures: a result that is not there yet, and who to tell when it arrives.

What it is: asyncio's ``Future`` (``asyncio/futures.py``), rewritten to be read in one sitting.
``set_result`` or ``set_exception`` fills it once; the callbacks added with
``add_done_callback`` are then *scheduled* with ``loop.call_soon``, never called on the spot,
so whoever resolves a future never runs someone else's code in the middle of its own.
``await future`` inside a task hands the future up to the task ("wake me when this is
done"): that is all ``await`` ever waits for. ``course_lib.tasks`` builds tasks on it.

It follows asyncio's protocol (``_asyncio_future_blocking``, ``get_loop``), so asyncio's own
code can await a course future and a course task can await an asyncio future.

What it is not: asyncio's C-accelerated future; no debug tracebacks of where it was created.
"""

from __future__ import annotations

import asyncio
import contextvars

from course_lib import validate

__all__ = ["Future", "PENDING", "CANCELLED", "FINISHED"]

PENDING, CANCELLED, FINISHED = "PENDING", "CANCELLED", "FINISHED"  # asyncio's three states


class Future:
    """A result that will arrive later. ``await future`` waits for it inside a task."""

    _asyncio_future_blocking = False  # True while a task is being handed this future by __await__
    _log_traceback = False  # an exception nobody looked at yet: reported when garbage-collected

    def __init__(self, *, loop=None):
        self._loop = asyncio.get_running_loop() if loop is None else loop
        self._state, self._result, self._exception = PENDING, None, None
        self._callbacks = []  # (fn, context) pairs, scheduled when the future is done
        self._cancel_message = None
        self._cancelled_exc = None  # the CancelledError a cancelled task ended with

    def get_loop(self):
        return self._loop

    def done(self) -> bool:
        return self._state != PENDING

    def cancelled(self) -> bool:
        return self._state == CANCELLED

    def result(self):
        """The result; raises the exception set, ``CancelledError``, or ``InvalidStateError`` if not done."""
        if self._state == CANCELLED:
            raise self._make_cancelled_error()
        if self._state == PENDING:
            raise asyncio.InvalidStateError("Result is not ready.")
        self._log_traceback = False
        if self._exception is not None:
            raise self._exception.with_traceback(self._exception.__traceback__)
        return self._result

    def exception(self):
        """The exception set (or None); raises ``CancelledError`` or ``InvalidStateError`` like result()."""
        if self._state == CANCELLED:
            raise self._make_cancelled_error()
        if self._state == PENDING:
            raise asyncio.InvalidStateError("Exception is not set.")
        self._log_traceback = False
        return self._exception

    def set_result(self, result) -> None:
        self._check_pending()
        self._result, self._state = result, FINISHED
        self._schedule_callbacks()

    def set_exception(self, exception) -> None:
        self._check_pending()
        if isinstance(exception, type):
            exception = exception()
        if type(exception) is StopIteration:
            raise TypeError("StopIteration cannot be raised into a Future: it would end the awaiting generator")
        self._exception, self._state, self._log_traceback = exception, FINISHED, True
        self._schedule_callbacks()

    def cancel(self, msg=None) -> bool:
        """Cancel the future (its awaiter gets ``CancelledError``); False if it was already done."""
        self._log_traceback = False
        if self._state != PENDING:
            return False
        self._state, self._cancel_message = CANCELLED, msg
        self._schedule_callbacks()
        return True

    def add_done_callback(self, fn, *, context=None) -> None:
        """Call ``fn(future)`` through ``loop.call_soon`` once the future is done (at once if it is)."""
        validate.callback(fn)
        if context is None:
            context = contextvars.copy_context()
        if self._state != PENDING:
            self._loop._call_soon(fn, (self,), context)
        else:
            self._callbacks.append((fn, context))

    def remove_done_callback(self, fn) -> int:
        """Forget every registration of ``fn``; returns how many there were."""
        kept = [(f, ctx) for f, ctx in self._callbacks if f != fn]
        removed, self._callbacks[:] = len(self._callbacks) - len(kept), kept
        return removed

    def _schedule_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            self._loop._call_soon(fn, (self,), context)  # fn was looked at in add_done_callback

    def _check_pending(self) -> None:
        if self._state != PENDING:
            raise asyncio.InvalidStateError(f"{self._state}: {self!r}")

    def _make_cancelled_error(self):
        if self._cancelled_exc is not None:  # a task keeps the error its coroutine ended with
            exc, self._cancelled_exc = self._cancelled_exc, None
            return exc
        return (
            asyncio.CancelledError() if self._cancel_message is None else asyncio.CancelledError(self._cancel_message)
        )

    def __await__(self):
        if not self.done():
            self._asyncio_future_blocking = True
            yield self  # up through every `await` to the task's send(): "wake me when this is done"
        if not self.done():
            raise RuntimeError("await wasn't used with future")
        return self.result()

    __iter__ = __await__  # so `yield from future` works in generator-based coroutines too

    def __del__(self):
        if self._log_traceback:  # an exception nobody ever looked at: say so, as asyncio does
            self._loop.call_exception_handler({
                "message": f"{type(self).__name__} exception was never retrieved",
                "exception": self._exception, "future": self})

    def __repr__(self) -> str:
        if self._state == FINISHED:
            state = f"exception={self._exception!r}" if self._exception is not None else f"result={self._result!r}"
            return f"<{type(self).__name__} finished {state}>"
        return f"<{type(self).__name__} {self._state.lower()}>"
