"""The checks of chapter 03 pass good answers and fail wrong ones with a one-line hint."""

import concurrent.futures
import threading
import time

import pytest

from course_lib.check import CheckFailed, check
from course_lib.slowserver import fetch
from notebook_code import definitions

CELLS = ("setup", "transfer_unsafe_demo", "transfer_answer", "unsafe_counter_demo", "atomic_counter_answer",
         "naive_lock_order_demo", "lock_order_answer", "pool_fetch_answer")
SOL = definitions("solutions/03_threads", *CELLS)     # the notebook's given code and its answers
BLANK = definitions("exercises/03_threads", *CELLS)   # the same cells as the student gets them


def failure(*args):
    with pytest.raises(CheckFailed) as error:
        check(*args)
    hint = str(error.value)
    assert "\n" not in hint and len(hint) < 400, hint
    return hint


# --------------------------------------------------------------------------- 03.transfer
body = SOL.transfer_unsafe
transfer_good = SOL.transfer


def transfer_two_sections(src, dst, amount):  # each account update is atomic: the end balances are right
    b = body(src, dst, amount)
    return ["acquire bank"] + b[:3] + ["release bank", "acquire bank"] + b[3:] + ["release bank"]


def transfer_unlocked(src, dst, amount):
    return body(src, dst, amount)


def transfer_lock_too_late(src, dst, amount):
    b = body(src, dst, amount)
    return [b[0], "acquire bank"] + b[1:] + ["release bank"]


def transfer_wrong_amount(src, dst, amount):
    return ["acquire bank"] + body(src, dst, amount + 1) + ["release bank"]


def transfer_never_releases(src, dst, amount):
    return ["acquire bank"] + body(src, dst, amount)


def transfer_unknown_instruction(src, dst, amount):
    return ["acquire bank", f"move {src}, {dst}", "release bank"]


def test_transfer_passes_good_answers(capsys):
    check("03.transfer", transfer_good)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("function, words", [
    (transfer_unlocked, ["hold the lock"]),
    (transfer_two_sections, ["auditor", "money was missing"]),
    (transfer_lock_too_late, ["ends with", "schedule T"]),
    (transfer_wrong_amount, ["run alone"]),
    (transfer_never_releases, ["deadlocks"]),
    (transfer_unknown_instruction, ["does not run", "unknown instruction 'move'"]),
    (lambda src, dst, amount: "load r, a", ["list of instruction strings"]),
])
def test_transfer_fails_wrong_answers_with_a_hint(function, words):
    hint = failure("03.transfer", function)
    for word in words:
        assert word in hint, hint


def test_blank_stub_says_not_written():
    assert "not written yet" in failure("03.transfer", BLANK.transfer)


# --------------------------------------------------------------------------- 03.lock_order
lock_order_good = SOL.transfer_locked
lock_order_naive = SOL.transfer_locked_naive
lock_order_global = SOL.transfer


def lock_order_one_lock(src, dst, amount):
    return [f"acquire lock_{src}"] + body(src, dst, amount) + [f"release lock_{src}"]


def test_lock_order_passes_good_answer(capsys):
    check("03.lock_order", lock_order_good)
    assert "no deadlock" in capsys.readouterr().out


@pytest.mark.parametrize("function, words", [
    (lock_order_naive, ["deadlocks", "waits for", "same order"]),
    (lock_order_global, ["exactly the locks", "bank"]),
    (lock_order_one_lock, ["exactly the locks"]),
])
def test_lock_order_fails_wrong_answers_with_a_hint(function, words):
    hint = failure("03.lock_order", function)
    for word in words:
        assert word in hint, hint


# --------------------------------------------------------------------------- 03.atomic_counter
CounterGood = SOL.Counter
CounterUnlocked = SOL.UnsafeCounter


class CounterLeaksLockOnError(CounterGood):
    def update(self, fn):
        self._lock.acquire()
        self.value = fn(self.value)
        self._lock.release()
        return self.value


class CounterNoReturn(CounterGood):
    def update(self, fn):
        with self._lock:
            self.value = fn(self.value)


class CounterReturnsAfterRelease(CounterGood):
    def update(self, fn):
        with self._lock:
            self.value = fn(self.value)
        return self.value  # read after releasing: may be another thread's value


class CounterCallsTwice(CounterGood):
    def update(self, fn):
        with self._lock:
            fn(self.value)
            self.value = fn(self.value)
            return self.value


def test_atomic_counter_passes_good_answer(capsys):
    check("03.atomic_counter", CounterGood)
    assert "none lost" in capsys.readouterr().out


@pytest.mark.parametrize("cls, words", [
    (CounterUnlocked, ["updates were lost"]),
    (CounterLeaksLockOnError, ["waited forever", "with self._lock"]),
    (CounterNoReturn, ["should return 5"]),
    (CounterCallsTwice, ["call fn once"]),
    (CounterReturnsAfterRelease, ["returned twice"]),
])
def test_atomic_counter_fails_wrong_answers_with_a_hint(cls, words):
    hint = failure("03.atomic_counter", cls)
    for word in words:
        assert word in hint, hint


# --------------------------------------------------------------------------- 03.pool_fetch
fetch_all_good = SOL.fetch_all


def fetch_all_sequential(address, lines, max_workers):
    return [fetch(address, line) for line in lines]


def fetch_all_unbounded(address, lines, max_workers):
    results = [None] * len(lines)

    def one(i):
        results[i] = fetch(address, lines[i])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(lines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def fetch_all_completion_order(address, lines, max_workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(fetch, address, line) for line in lines]
        return [f.result() for f in reversed(futures)]


def test_pool_fetch_passes_good_answer(capsys):
    check("03.pool_fetch", fetch_all_good)
    assert "in order" in capsys.readouterr().out


@pytest.mark.parametrize("function, words", [
    (fetch_all_sequential, ["never saw two requests"]),
    (fetch_all_unbounded, ["in flight at once", "max_workers"]),
    (fetch_all_completion_order, ["order of the lines"]),
])
def test_pool_fetch_fails_wrong_answers_with_a_hint(function, words):
    hint = failure("03.pool_fetch", function)
    for word in words:
        assert word in hint, hint


def test_pool_fetch_gives_up_on_a_hanging_function(monkeypatch):
    import course_lib.check.ch03 as ch03
    monkeypatch.setattr(ch03, "TIMEOUT", 0.5)
    start = time.monotonic()
    hint = failure("03.pool_fetch", lambda address, lines, n: time.sleep(3))
    assert "did not return" in hint and time.monotonic() - start < 3
