"""Checks of chapter 06 on tasks, sleep and cancellation, each compared with asyncio event by event.

What it is: four checks that run the student's piece inside programs of coroutines on the course
``Loop()`` (simulated clock) and compare what happens, event by event, with **asyncio itself on a
virtual clock** (``course_lib.virtualclock``). The programs are in ``coroprograms.py`` (06.step,
06.sleep) and ``cancelprograms.py`` (06.gather, 06.timeout); a failing one is shrunk
(``course_lib.check.shrink``), so the hint quotes a small counterexample.

- ``06.step``    the student's ``MiniTask._step``/``_wakeup``: random programs of tasks that
  sleep, ``sleep(0)``, await each other and futures, raise; same order and times as asyncio.
- ``06.sleep``   the student's ``sleep(delay, result)``: the same, with cancellations; a
  cancelled sleep must leave no timer behind (``loop.snapshot()["timers"]``, ``loop.errors``).
- ``06.gather``  a gather that cancels the rest at the first error and waits for them
  (``asyncio.TaskGroup``'s behaviour); same events at the same times.
- ``06.timeout`` the student's ``wait_for``, against ``asyncio.wait_for``.

``course_lib.check.ch06`` imports this module, so ``check("06.step", ...)`` finds it.

What it is not: a copy of the answers (the expected behaviour is asyncio's own, or, for
06.gather, TaskGroup's, written out and tested against it), nor the checks on sockets
(06.client, 06.unblock: ``ch06_sockets``).
"""

from __future__ import annotations

import asyncio
import inspect
from functools import partial
from unittest import mock

import course_lib.tasks
from course_lib.check import CheckFailed, exercise, expect
from course_lib.check import cancelprograms as cancel
from course_lib.check import coroprograms as cp
from course_lib.check.guard import Refuse
from course_lib.loop import TooManySteps

__all__ = ["check_step", "check_sleep", "check_gather", "check_timeout"]


# ---------------------------------------------------------------- 06.step: a Task's step
def _step_topic(got, want) -> str:
    if got and want and got[0] == want[0]:
        return "The right event at the wrong time: wait for the yielded future with add_done_callback(self._wakeup)."
    if want and "returned" in want[0] and got and "returned" in got[0]:
        return "When the coroutine returns (StopIteration), set the task's result to stop.value."
    if want and "sleep(0)" in want[0]:
        return "A bare yield (None) means: step again in the next iteration, with self._loop.call_soon(self._step)."
    return "Resume the task in _wakeup, directly, once its future is done; throw the future's exception into it."


def _step_failure(loop, error) -> str | None:
    if loop.errors and isinstance(loop.errors[0].error, NotImplementedError):
        raise loop.errors[0].error  # check() says "not written yet"
    if loop.errors and isinstance(loop.errors[0].error, AttributeError) and "'NoneType'" in str(loop.errors[0].error):
        return (f"{cp.escaped(loop)}: a bare yield (sleep(0)) hands _step None, not a future; then step again "
                "in the next iteration, with self._loop.call_soon(self._step).")
    if loop.errors:
        return (f"{cp.escaped(loop)}: in _step, catch StopIteration (set_result(stop.value)) and any other "
                "exception (set_exception(error)).")
    if isinstance(error, TypeError) and "deriving from BaseException" in str(error):
        return ("_step was given a future where it takes an exception: add_done_callback calls its callback "
                "with the future, so give it self._wakeup, which looks at the future and steps.")
    if isinstance(error, TooManySteps):
        return ("the loop never ran out of work: step again at once only after a bare yield, "
                "not while a future is pending.")
    if isinstance(error, RuntimeError) and "await wasn't used with future" in str(error):
        return ("a task was resumed while the future it awaits was not done: when the coroutine yields a future, "
                "call future.add_done_callback(self._wakeup) and return.")
    if isinstance(error, RuntimeError) and "nothing more can happen" in str(error):
        return ("a task never finished: does _wakeup step the task again, and does _step set the task's result "
                "when the coroutine returns?")
    return None


# the first programs, the smallest counterexamples: one list of actions per task
STEP_PLANS = [[[]], [[("sleep", 0.5)]], [[("sleep0",), ("sleep0",)], [("sleep0",)]], [[], [("sleep0",)]],
              [[("raise",)]], [[("await", 1)], [("sleep", 0.25)]], [[("future", 1.0)], [("sleep0",), ("sleep0",)]]]


def _step_case(task_class, plan) -> None:
    plan = cp.tidy(plan)
    got, loop, error = cp.run_student(partial(cp.run, plan, task_class=task_class), what="the program")
    hint = _step_failure(loop, error)
    if hint:
        raise CheckFailed(f"for {cp.short(cp.describe(plan), 80)}: {hint}")
    if error is not None:
        raise error
    cp.compare(cp.describe(plan), got, cp.run_on_asyncio(plan), _step_topic)


@exercise("06.step", "A Task's step: drive a coroutine")
def check_step(task_class, *, rng, extra):
    expect(isinstance(task_class, type), f"pass the class itself (MiniTask), not {type(task_class).__name__}")
    plans = STEP_PLANS + [cp.random_plan(rng, size) for size in [2, 2, 3, 3, 4, 4, 4] * (4 if extra else 2)]
    for plan in plans:  # a failing program is shrunk to the fewest tasks and actions that still fail
        cp.shrunk(partial(_step_case, task_class), plan, simpler=cp.simpler_task, minimum=1)
    return f"{len(plans)} programs ran in asyncio's order at asyncio's times"


# ---------------------------------------------------------------- 06.sleep
def _no_course_sleep(*args, **kwargs):
    raise CheckFailed(_BORROWED)


_BORROWED = "build sleep from loop.create_future() and loop.call_later(): asyncio.sleep is what you rebuild"


def _sleep_topic(got, want) -> str:
    if got and want and got[0] == want[0] and got[1] < want[1]:
        return ("It ended too early on the loop's clock: the timer must fire `delay` seconds from now "
                "(loop.call_later), and time.sleep does not move the loop's clock.")
    if got and want and got[0] == want[0]:
        return "sleep(delay) resumes the task `delay` seconds after it was called (loop.call_later)."
    if want and "got" in want[0] and got and "got" in got[0]:
        return "sleep(delay, result) returns result."
    return "sleep(0) is no timer: await yield_once(), so the task steps again in the very next iteration."


SLEEP_PLANS = [[[("sleep", 0.25)]], [[("sleep", 0.5)], [("cancel", 0), ("sleep0",)]],
               [[("sleep", 1.0)], [("cancel", 0)]], [[("sleep", 0.5), ("sleep0",)], [("sleep0",), ("sleep", 0.25)]]]


def _sleep_case(sleep, plan) -> None:
    plan = cp.tidy(plan)
    # asyncio's own sleep refused by the file it is in, the course's by name
    with Refuse(asyncio.tasks, hint=_BORROWED), mock.patch.object(course_lib.tasks, "sleep", _no_course_sleep):
        got, loop, error = cp.run_student(partial(cp.run, plan, sleep=sleep), what="the program")
    program = cp.short(cp.describe(plan), 80)
    if isinstance(error, NotImplementedError):
        raise error
    if error is None:
        loop.run(max_steps=1000)  # what a timer left behind does after the program ended
    if loop.errors or error is None and got and loop.time() > got[-1][1]:
        what = cp.escaped(loop) if loop.errors else f"a timer still ran at t={loop.time():g}"
        raise CheckFailed(f"for {program}: {what}. When sleep is cancelled, cancel its timer "
                          "(try: ... finally: timer.cancel()).")
    if isinstance(error, TooManySteps):
        raise CheckFailed(f"for {program}: the loop never ran out of work; does sleep(0) yield only once?")
    if error is not None:
        raise error
    cp.compare(program, got, cp.run_on_asyncio(plan), _sleep_topic)


@exercise("06.sleep", "sleep(): a future and a timer")
def check_sleep(sleep, *, rng, extra):
    expect(inspect.iscoroutinefunction(sleep),
           "sleep must be a coroutine function: async def sleep(delay, result=None)")
    kinds = ("sleep", "sleep0", "sleep", "await", "cancel", "raise")
    plans = SLEEP_PLANS + [cp.random_plan(rng, size, kinds) for size in [2, 2, 3, 3, 4, 4] * (4 if extra else 2)]
    for plan in plans:  # a failing program is shrunk to the fewest tasks and actions that still fail
        cp.shrunk(partial(_sleep_case, sleep), plan, simpler=cp.simpler_task, minimum=1)
    return f"{len(plans)} programs ran in asyncio's order at asyncio's times, cancelled sleeps left no timer"


# ---------------------------------------------------------------- 06.gather: the first error cancels the rest
def _gather_case(gather, children) -> None:
    got, _, error = cp.run_student(cancel.run_gather, gather, children, what="the gather")
    if type(error).__name__ in ("ExceptionGroup", "BaseExceptionGroup"):
        raise CheckFailed("raise the failed child's own exception (ValueError), not an exception group")
    if isinstance(error, TooManySteps):
        raise CheckFailed("the loop never ran out of work: await the tasks, do not poll them with sleep(0)")
    if error is not None:
        raise error
    want, program = cancel.expected_gather(children), cancel.describe_children(children)
    expect(children or got == want, f"with no awaitables at all, return [] (careful: asyncio.wait refuses an "
                                    f"empty set); yours: {cp.short(', '.join(e for e, _ in got) or 'nothing', 60)}")
    if got and want and got[-1] != want[-1] and got[-1][0].split()[0:2] == want[-1][0].split()[0:2] == \
            ["gather", "returned"]:
        raise CheckFailed(f"for {program}: you returned {got[-1][0][16:]}, expected {want[-1][0][16:]}: "
                          "the results in the order of the arguments.")
    cp.compare_in_time(program, got, want, _gather_topic)
    expect(got[-1] == want[-1], f"for {program}: you raised before the cancelled children had ended: "
                                "wait until they have finished, then raise")


@exercise("06.gather", "gather where the first error cancels the rest")
def check_gather(gather, *, rng, extra):
    expect(inspect.iscoroutinefunction(gather), "gather_or_cancel must be a coroutine function: async def ...(*aws)")
    cases = [(), ((1.0, False, 0), (0.5, False, 0)), ((1.0, False, 0), (0.5, True, 0)),
             ((0.5, True, 0), (1.0, False, 0.5))]
    cases += [cancel.random_children(rng, size) for size in [2, 3, 3, 4, 4] * (4 if extra else 2)]
    for children in cases:  # a failing group is shrunk to the fewest, simplest children that still fail
        cp.shrunk(partial(_gather_case, gather), children, simpler=cancel.simpler_child)
    return f"{len(cases)} groups of children: same events at the same times as a TaskGroup"


def _gather_topic(got, want) -> str:
    wanted = want[0] if want else ""
    if "cleaned up" in wanted:
        return "Cancel the others, and wait until they have finished (their cleanup too) before raising."
    if "cancelled" in wanted:
        return "After the first error the other children kept running: cancel them."
    return "Run every child as a task at once; at the first error cancel the rest, wait for them, raise that error."



# ---------------------------------------------------------------- 06.timeout: wait_for
def _timeout_topic(got, want, cancel_at=None) -> str:
    wanted, extra = (want[0] if want else ""), (got[0] if got else "")
    if "inner cancelled" in wanted and cancel_at is not None and want[1] == cancel_at:  # never a timer's moment
        return "wait_for was cancelled: cancel the coroutine too."
    if "task goes on" in wanted or not wanted and ("task cancelled" in extra or "CancelledError" in extra):
        return "Once the result is there, cancel your timer: left behind, it cancels the task later."
    if "cleaned up" in wanted or not wanted and "TimeoutError" in extra:
        return "After cancelling the coroutine, wait until it has ended (its cleanup too), then raise TimeoutError."
    if "CancelledError" in wanted or "task cancelled" in wanted:
        return "A cancellation from outside (not your timer) must stay a CancelledError."
    if "TimeoutError" in wanted:
        return "When your timer has cancelled the coroutine and it has ended, raise TimeoutError."
    if "inner cancelled" in wanted:
        return "At the timeout, cancel the coroutine (run it as a task, and cancel that task)."
    return "Return the coroutine's result, or raise its exception, as soon as it ends."


def _refused_wait_for(borrowed, aw, *args, **kwargs):
    borrowed.append(True)  # noted, so that a student's `except Exception` cannot hide it
    if inspect.iscoroutine(aw):
        aw.close()
    raise CheckFailed("asyncio.wait_for is what you rebuild")


@exercise("06.timeout", "wait_for: a timeout")
def check_timeout(wait_for, *, rng, extra):
    expect(inspect.iscoroutinefunction(wait_for),
           "wait_for must be a coroutine function: async def wait_for(aw, timeout)")
    cases = [(0.5, False, 0, 1.0, None), (1.0, False, 0, 0.5, None), (1.0, False, 0.5, 0.5, None),
             (1.0, True, 0, 1.5, None), (1.0, False, 0, 1.5, 0.5)]
    cases += [cancel.random_timeout(rng) for _ in range(30 if extra else 15)]
    for case in cases:
        borrowed = []
        with mock.patch.object(asyncio, "wait_for", partial(_refused_wait_for, borrowed)), \
                mock.patch.object(asyncio.tasks, "wait_for", partial(_refused_wait_for, borrowed)):
            got, loop, error = cp.run_student(cancel.run_timeout, wait_for, case, what="the program")
        expect(not borrowed, "write wait_for from a task and loop.call_later: asyncio.wait_for is what you rebuild")
        if isinstance(error, TooManySteps):
            raise CheckFailed("the loop never ran out of work: await the task, do not poll it")
        if error is not None:
            raise error
        cp.compare_in_time(cancel.describe_timeout(case), got, cancel.timeout_on_asyncio(case),
                           partial(_timeout_topic, cancel_at=case[4]))
    return f"{len(cases)} timeouts: same events at the same times as asyncio.wait_for"
