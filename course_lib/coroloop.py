"""What the course loop adds to run coroutines (chapter 06), and what asyncio's code asks of it.

What it is: the methods ``course_lib.loop.Loop`` takes from ``CoroutineMethods``:

- ``create_future()``, ``create_task(coro, name=None)``: a ``course_lib.futures.Future`` and a
  ``course_lib.tasks.Task`` bound to this loop. Tasks are numbered per loop (``Task-1``,
  ``Task-2``, ...), so a replayed run names them the same way. Like asyncio, the loop holds
  its tasks only weakly, with one difference: its trace (``trace_limit`` steps, for
  ``timeline()``) keeps the callbacks it ran, so a finished task lives as long as its steps
  are in the trace (``Loop(trace_limit=0)`` keeps none).
- ``run_until_complete(aw)``: run a coroutine (as a task) or a future to its end and return
  its result, or raise its exception. On a virtual clock a program that waits for something
  that can never happen stops with an error instead of hanging.
- ``sock_recv``, ``sock_sendall``, ``sock_accept``, ``sock_connect``: coroutines that try the
  non-blocking call and, when it would block, wait for the socket with ``add_reader`` or
  ``add_writer`` and a future. They work on simulated sockets and on real ones.
- the few methods asyncio's own code calls on whatever loop is running (``get_debug``,
  ``call_exception_handler``, ``call_soon_threadsafe``, ``run_in_executor``, ...). While the
  course loop steps, it *is* asyncio's running loop (``asyncio.get_running_loop()`` returns
  it), so ``asyncio.sleep``, ``gather``, ``Queue``, ``Lock``, ``timeout`` or ``TaskGroup`` run
  on it unchanged: they only ever call ``create_future``, ``create_task``, ``call_soon``,
  ``call_at`` and these.

What it is not: asyncio's ``BaseEventLoop``. No transports, protocols, subprocesses, signals,
``run_forever``/``asyncio.Runner``, or async generator hooks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import weakref

from course_lib.futures import Future
from course_lib.handles import describe
from course_lib.tasks import Task, ensure_future

__all__ = ["CoroutineMethods"]

logger = logging.getLogger("course_lib.loop")


class CoroutineMethods:
    """Mixed into ``course_lib.loop.Loop``; expects its call_soon, call_at, add_reader, run, stop, ..."""

    _debug = False
    _exception_handler = None
    _tasks_created = 0
    _executor = None
    _wakeup = None  # (reader, writer) socket pair that wakes a real poller from another thread

    # -- futures and tasks -------------------------------------------------------------------
    def create_future(self) -> Future:
        """A new pending future whose callbacks run on this loop."""
        return Future(loop=self)

    def create_task(self, coro, *, name=None, context=None, **ignored) -> Task:
        """Run the coroutine ``coro`` as a task: its first step is scheduled with call_soon."""
        self._tasks_created += 1
        task = Task(coro, loop=self, name=f"Task-{self._tasks_created}" if name is None else name, context=context)
        if not hasattr(self, "_all_tasks"):
            self._all_tasks = weakref.WeakValueDictionary()  # number -> task; forgets tasks nobody holds
        self._all_tasks[self._tasks_created] = task
        return task

    def tasks(self) -> list:
        """This loop's tasks that still exist, oldest first (the Stepper shows them)."""
        return [task for _, task in sorted(getattr(self, "_all_tasks", {}).items())]

    def task_states(self) -> list:
        """Each task as plain data: its name, its state, the line its coroutine is suspended at,
        and what it awaits: the chain of coroutines it is inside, down to a future and who sets it."""
        rows = []
        for task in self.tasks():
            frames = _frames(task.get_coro()) if not task.done() else []
            chain = frames[1:] + [self._waiting_on(task)] if frames else []
            rows.append({"task": task.get_name(), "state": _state(task, self),
                         "at": frames[0] if frames else "", "awaits": " → ".join(chain)})
        return rows

    def _waiting_on(self, task) -> str:
        """What will resume ``task``: the future it waits for and who resolves that future."""
        future = task._fut_waiter
        if future is None:
            return "nothing: its next step is in the ready queue"
        if hasattr(future, "get_coro"):
            return f"task {future.get_name()}"
        if future.done():  # resolved in this batch: the task's wake-up callback is queued
            return f"a {type(future).__name__.lstrip('_')}, done: its wake-up is in the ready queue"
        children = getattr(future, "_children", None)  # gather()'s future (course's or asyncio's)
        if children is not None:
            names = [c.get_name() if hasattr(c, "get_name") else type(c).__name__ for c in children if not c.done()]
            if names:
                return f"gather, still waiting for {', '.join(names)}"
            return "gather: every child is done; a queued callback will set its result"
        for when, handle in self._timers.pending():
            if _sets(handle, future):
                return f"a future, set by a timer at t={when:.6g}"
        if any(_sets(handle, future) for handle in self._ready if not handle._cancelled):
            return "a future, set by a callback in the ready queue"
        for table, watched in ((self._waiters.readers, "readable"), (self._waiters.writers, "writable")):
            for key, handle in table.items():
                if _sets(handle, future):
                    return f"a future, set when {describe(key)} is {watched}"
        return f"a {type(future).__name__.lstrip('_')} that other code must set (no timer or socket of the loop will)"

    def run_until_complete(self, aw, *, max_steps=None):
        """Run ``aw`` (a coroutine or a future) to its end; return its result or raise its exception."""
        if self.is_running():
            raise RuntimeError("this loop is already running: await the coroutine instead of calling "
                               "run_until_complete() from inside it")
        future = ensure_future(aw, self)
        future.add_done_callback(lambda _: self.stop())
        self.run(max_steps=max_steps)
        if not future.done():
            raise RuntimeError(
                f"run_until_complete: nothing more can happen, but {future!r} is still waiting "
                "(it awaits a future nobody will resolve, or a reader with no data to come)")
        return future.result()

    # -- sockets -------------------------------------------------------------------------------
    async def _until_ready(self, add, remove, sock) -> None:
        """Wait until ``sock`` is readable (add=add_reader) or writable (add=add_writer)."""
        ready = self.create_future()
        add(sock, _resolve, ready)
        try:
            await ready
        finally:
            remove(sock)

    async def sock_recv(self, sock, n: int) -> bytes:
        """Receive up to ``n`` bytes; wait for the socket to be readable when nothing has arrived."""
        while True:
            try:
                return sock.recv(n)
            except (BlockingIOError, InterruptedError):
                await self._until_ready(self.add_reader, self.remove_reader, sock)

    async def sock_sendall(self, sock, data) -> None:
        """Send all of ``data``, waiting for room in the send buffer whenever it is full."""
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view):]
            except (BlockingIOError, InterruptedError):
                await self._until_ready(self.add_writer, self.remove_writer, sock)

    async def sock_accept(self, sock):
        """Accept a connection on the listening ``sock``: ``(conn, address)``."""
        while True:
            try:
                conn, address = sock.accept()
                conn.setblocking(False)
                return conn, address
            except (BlockingIOError, InterruptedError):
                await self._until_ready(self.add_reader, self.remove_reader, sock)

    async def sock_connect(self, sock, address) -> None:
        """Connect the non-blocking ``sock`` to ``address``; wait until the connection is made."""
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass
        await self._until_ready(self.add_writer, self.remove_writer, sock)
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if hasattr(sock, "getsockopt") else 0
        if error:
            raise OSError(error, f"connect to {address!r} failed: {socket.errno.errorcode.get(error, error)}")

    # -- what asyncio's own code calls on its running loop --------------------------------------
    def is_running(self) -> bool:
        return asyncio.events._get_running_loop() is self

    def is_closed(self) -> bool:
        return self._closed

    def get_debug(self) -> bool:
        return self._debug

    def set_debug(self, enabled: bool) -> None:
        self._debug = bool(enabled)

    def set_exception_handler(self, handler) -> None:
        self._exception_handler = handler

    def get_exception_handler(self):
        return self._exception_handler

    def call_exception_handler(self, context: dict) -> None:
        """Something went wrong where no caller can hear it ("Task exception was never retrieved")."""
        if self._exception_handler is None:
            self.default_exception_handler(context)
        else:
            self._exception_handler(self, context)

    def default_exception_handler(self, context: dict) -> None:
        exception = context.get("exception")
        lines = [context.get("message") or "Unhandled exception in event loop"]
        lines += [f"{key}: {value!r}" for key, value in sorted(context.items()) if key not in ("message", "exception")]
        logger.error("\n".join(lines), exc_info=(type(exception), exception, exception.__traceback__)
                     if exception is not None else False)

    def call_soon_threadsafe(self, fn, *args, context=None):
        """``call_soon`` from another thread: also wake the loop if it is waiting in its poller."""
        handle = self.call_soon(fn, *args, context=context)
        if self._wakeup is not None:
            try:
                self._wakeup[1].send(b"\0")
            except OSError:  # the buffer is full: the loop is awake anyway
                pass
        return handle

    def run_in_executor(self, executor, fn, *args):
        """Run the blocking ``fn(*args)`` in a thread pool; return a future the loop resolves."""
        if self.simulated:
            raise RuntimeError("a simulated Loop() has a virtual clock and cannot wait for real threads; "
                               "use Loop(poller='default') or asyncio")
        if executor is None:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="course-loop")
            executor = self._executor
        self._open_wakeup()
        return asyncio.wrap_future(executor.submit(fn, *args), loop=self)

    def _open_wakeup(self) -> None:
        if self._wakeup is None:
            self._wakeup = socket.socketpair()
            for end in self._wakeup:
                end.setblocking(False)
            self.add_reader(self._wakeup[0], _drain, self._wakeup[0])

    def _close_coroutine_methods(self) -> None:
        """Release the thread pool and the wake-up sockets (called by close())."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._wakeup is not None:
            for end in self._wakeup:
                end.close()
            self._wakeup = None


def _state(task, loop) -> str:
    if not task.done():
        return "running" if asyncio.current_task(loop) is task else "pending"
    if task.cancelled():
        return "cancelled"
    return f"failed: {type(task._exception).__name__}" if task._exception is not None else "done"


def _frames(coro) -> list:
    """``["main, line 12", "fetch, line 30"]``: where a task's coroutines are suspended, outermost first."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None or frame.f_code.co_name in ("__await__", "_yield_once"):  # a future, or sleep(0)
            break
        name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name).rsplit("<locals>.", 1)[-1]
        if frame.f_globals.get("__name__", "").startswith("asyncio"):
            name = f"asyncio's {name}"
        frames.append(f"{name.replace('CoroutineMethods.', 'loop.')}, line {frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


def _sets(handle, future) -> bool:
    """Does calling ``handle`` set ``future``? (``future.set_result`` itself, or a function given it.)"""
    return future in handle._args or getattr(handle._callback, "__self__", None) is future


def _resolve(future) -> None:
    if not future.done():
        future.set_result(None)


def _drain(sock) -> None:
    try:
        while sock.recv(4096):
            pass
    except (BlockingIOError, InterruptedError):
        pass
