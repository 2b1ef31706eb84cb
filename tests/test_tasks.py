"""course_lib.futures, course_lib.tasks and the loop's coroutine methods, one behaviour at a time.

The orders and times of whole programs are compared with asyncio in test_tasks_vs_asyncio.py;
here: the API, its errors, the socket helpers, threads, and the task view the Stepper shows.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import threading
import time

import pytest

from course_lib import tasks
from course_lib.loop import Loop
from course_lib.simnet import SimNetwork
from course_lib.simservers import EchoServer


def run(coro_function, loop=None):
    loop = loop or Loop()
    try:
        return loop.run_until_complete(coro_function())
    finally:
        loop.close()


# -- futures ------------------------------------------------------------------------------------
def test_done_callbacks_are_scheduled_never_called_inline():
    loop = Loop()
    future, calls = loop.create_future(), []
    future.add_done_callback(lambda f: calls.append(f.result()))
    future.set_result(42)
    assert calls == []  # not inline...
    loop.step()  # the poll that starts the batch
    loop.step()
    assert calls == [42]  # ...but on the next iteration
    future.add_done_callback(lambda f: calls.append("late"))  # already done: scheduled at once
    loop.run()
    assert calls == [42, "late"]


def test_future_states_and_errors():
    loop = Loop()
    future = loop.create_future()
    with pytest.raises(asyncio.InvalidStateError):
        future.result()
    with pytest.raises(asyncio.InvalidStateError):
        future.exception()
    future.set_exception(ValueError("boom"))
    assert future.done() and not future.cancelled()
    assert isinstance(future.exception(), ValueError)
    with pytest.raises(ValueError, match="boom"):
        future.result()
    with pytest.raises(asyncio.InvalidStateError):
        future.set_result(1)
    assert future.cancel() is False
    with pytest.raises(TypeError, match="StopIteration"):
        loop.create_future().set_exception(StopIteration)
    cancelled = loop.create_future()
    assert cancelled.cancel("because") and cancelled.cancelled()
    with pytest.raises(asyncio.CancelledError, match="because"):
        cancelled.result()


def test_remove_done_callback_counts_and_forgets():
    loop = Loop()
    future, calls = loop.create_future(), []

    def note(f):
        calls.append("x")

    future.add_done_callback(note)
    future.add_done_callback(note)
    assert future.remove_done_callback(note) == 2
    future.set_result(None)
    loop.run()
    assert calls == []


def test_course_futures_are_futures_to_asyncio():
    loop = Loop()
    assert asyncio.isfuture(loop.create_future())
    assert asyncio.isfuture(tasks.ensure_future(asyncio.sleep(0), loop))
    loop.run()


def test_an_exception_nobody_retrieved_is_reported(caplog):
    loop = Loop(trace_limit=0)  # a trace would keep the finished task alive (see course_lib.coroloop)

    async def fails():
        raise KeyError("lost")

    loop.create_task(fails())  # fire and forget, never awaited
    loop.run()
    gc.collect()
    assert "exception was never retrieved" in caplog.text and "lost" in caplog.text


# -- tasks ----------------------------------------------------------------------------------------
def test_a_coroutine_function_instead_of_a_coroutine_gets_a_hint():
    async def main():
        pass

    with pytest.raises(TypeError, match=r"call it, main\(\)"):
        Loop().create_task(main)


def test_tasks_are_numbered_per_loop_so_replays_name_them_alike():
    async def nothing():
        pass

    for _ in range(2):
        loop = Loop()
        names = [loop.create_task(nothing()).get_name() for _ in range(3)]
        loop.run()
        assert names == ["Task-1", "Task-2", "Task-3"]


def test_bad_yields_become_errors_in_the_task():
    import types

    @types.coroutine
    def yields(value):
        yield value

    async def main(value):
        await yields(value)

    with pytest.raises(RuntimeError, match="bad yield"):
        run(lambda: main(42))

    async def awaits_itself():
        await asyncio.current_task()

    with pytest.raises(RuntimeError, match="cannot await on itself"):
        run(awaits_itself)


def test_cancel_throws_into_the_coroutine_and_uncancel_counts():
    log = []

    async def worker():
        try:
            await tasks.sleep(10)
        except asyncio.CancelledError as error:
            log.append(("cancelled", error.args))
            raise

    async def main():
        task = asyncio.get_running_loop().create_task(worker())
        await tasks.sleep(1)
        assert task.cancel("enough") and task.cancelling() == 1
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled() and task.uncancel() == 0
        return asyncio.get_running_loop().time()

    assert run(main) == 1.0
    assert log == [("cancelled", ("enough",))]


def test_run_until_complete_says_what_is_stuck():
    async def waits_for_ever():
        await asyncio.get_running_loop().create_future()

    with pytest.raises(RuntimeError, match="nothing more can happen"):
        run(waits_for_ever)


def test_run_until_complete_refuses_to_nest():
    loop = Loop()

    async def main():
        inner = tasks.sleep(0)
        try:
            loop.run_until_complete(inner)
        finally:
            inner.close()

    with pytest.raises(RuntimeError, match="already running"):
        loop.run_until_complete(main())


def test_the_running_loop_is_put_back_after_each_step():
    outer = asyncio.new_event_loop()
    seen = []

    async def inside():
        seen.append(asyncio.get_running_loop())

    async def kernel_cell():  # like a Jupyter cell: another loop is running in this thread
        loop = Loop()
        loop.create_task(inside())
        while not loop.done:
            loop.step()
        seen.append(asyncio.get_running_loop())
        return loop

    loop = outer.run_until_complete(kernel_cell())
    outer.close()
    assert seen == [loop, outer]


def test_asyncio_primitives_run_unchanged_on_the_course_loop():
    async def main():
        loop, log = asyncio.get_running_loop(), []
        queue, event, lock = asyncio.Queue(), asyncio.Event(), asyncio.Lock()

        async def producer():
            for i in range(3):
                await queue.put(i)
                await asyncio.sleep(0.5)
            event.set()

        async def locked(name):
            async with lock:
                log.append((name, loop.time()))
                await asyncio.sleep(1)

        loop.create_task(producer())
        got = [await queue.get() for _ in range(3)]
        await event.wait()
        await asyncio.gather(locked("a"), locked("b"))
        try:
            await asyncio.wait_for(asyncio.sleep(5), 1)
        except TimeoutError:
            log.append(("wait_for", loop.time()))
        try:
            async with asyncio.timeout(0.5):
                await asyncio.sleep(5)
        except TimeoutError:
            log.append(("timeout", loop.time()))
        if sys.version_info >= (3, 11):
            async with asyncio.TaskGroup() as group:
                group.create_task(asyncio.sleep(0.25))
        log.append((asyncio.current_task().get_name(), loop.time()))
        return got, log

    got, log = run(main)
    assert got == [0, 1, 2]
    assert log == [("a", 1.5), ("b", 2.5), ("wait_for", 4.5), ("timeout", 5.0), ("Task-1", 5.25)]


# -- sockets --------------------------------------------------------------------------------------
def test_socket_helpers_on_simulated_sockets():
    loop = Loop()
    net = SimNetwork(loop, latency=0.25, buffer_size=8)
    EchoServer(net, "server:80")

    async def main():
        sock = net.socket()
        await loop.sock_connect(sock, "server:80")
        await loop.sock_sendall(sock, b"0123456789" * 3)  # more than the window: sendall must wait
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while data := await loop.sock_recv(sock, 100):
            reply += data
        return reply

    assert run(main, loop) == b"0123456789" * 3


def test_socket_helpers_on_real_sockets():
    loop = Loop(poller="default")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)

    async def serve():
        conn, _ = await loop.sock_accept(listener)
        with conn:
            while data := await loop.sock_recv(conn, 1024):
                await loop.sock_sendall(conn, data.upper())

    async def main():
        server = loop.create_task(serve())
        with socket.socket() as client:
            client.setblocking(False)
            await loop.sock_connect(client, listener.getsockname())
            await loop.sock_sendall(client, b"hello")
            reply = await loop.sock_recv(client, 1024)
        await server
        return reply

    try:
        assert run(main, loop) == b"HELLO"
    finally:
        listener.close()


def test_a_refused_connection_raises():
    loop = Loop(poller="default")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()

    async def main():
        with socket.socket() as client:
            client.setblocking(False)
            await loop.sock_connect(client, address)

    with pytest.raises(OSError):
        run(main, loop)


# -- threads --------------------------------------------------------------------------------------
def test_run_in_executor_and_to_thread_on_a_real_loop():
    loop = Loop(poller="default")

    def blocking(x):
        time.sleep(0.05)
        return x * 2, threading.current_thread() is not threading.main_thread()

    async def main():
        a = await loop.run_in_executor(None, blocking, 2)
        b = await asyncio.to_thread(blocking, 3)
        return a, b

    assert run(main, loop) == ((4, True), (6, True))


def test_a_simulated_loop_refuses_threads_with_a_reason():
    loop = Loop()
    with pytest.raises(RuntimeError, match="virtual clock"):
        loop.run_in_executor(None, print)


# -- what the Stepper shows -----------------------------------------------------------------------
def test_task_states_show_the_line_and_what_each_task_awaits():
    loop = Loop()

    async def sleeper():
        await asyncio.sleep(1)

    async def main():
        child = loop.create_task(sleeper(), name="sleeper")
        await child

    loop.create_task(main(), name="main")
    for _ in range(4):  # poll, main's step, poll, sleeper's step (which sets the timer)
        loop.step()
    rows = {row["task"]: row for row in loop.snapshot()["tasks"]}
    assert rows["main"]["state"] == "pending" and rows["main"]["awaits"] == "task sleeper"
    assert rows["main"]["at"].startswith("main, line ")
    assert rows["sleeper"]["awaits"].endswith("a future, set by a timer at t=1")
    assert "asyncio's sleep" in rows["sleeper"]["awaits"]
    loop.run()
    assert [row["state"] for row in loop.snapshot()["tasks"]] == ["done", "done"]


def test_a_callback_only_loop_shows_no_task_table():
    loop = Loop()
    loop.call_soon(print)
    assert "tasks" not in loop.snapshot()


def test_task_steps_are_named_after_their_task_in_the_trace():
    loop = Loop()

    async def worker():
        await tasks.sleep(1)

    loop.create_task(worker(), name="A")
    loop.run()
    assert {seg.task for seg in loop.timeline().segments if seg.kind == "cpu"} == {"A", "_set_result_unless_cancelled"}
    ran = [s for s in map(str, loop._trace) if s.startswith("ran")]
    assert [line.split("(")[0] for line in ran] == ["ran A: step", "ran _set_result_unless_cancelled", "ran A: wake up"]
