"""The checks of chapter 03 pass good answers and fail wrong ones with a one-line hint."""

import concurrent.futures
import threading
import time

import pytest
from notebook_code import definitions

from course_lib.check import CheckFailed, check
from course_lib.slowserver import fetch

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


# --------------------------------------------------------------------------- more wrong answers, as students write them

def transfer_releases_before_last_store(src, dst, amount):
    b = body(src, dst, amount)
    return ["acquire bank"] + b[:5] + ["release bank", b[5]]


def transfer_lock_per_source(src, dst, amount):  # a lock, but not the same one in both threads
    return [f"acquire bank_{src}"] + body(src, dst, amount) + [f"release bank_{src}"]


def transfer_acquires_twice(src, dst, amount):  # as if the lock were re-entrant
    return ["acquire bank", "acquire bank"] + body(src, dst, amount) + ["release bank", "release bank"]


def transfer_credit_first(src, dst, amount):  # a valid alternative: the other half first
    b = body(src, dst, amount)
    return ["acquire bank"] + b[3:] + b[:3] + ["release bank"]


@pytest.mark.parametrize("function, words", [
    (transfer_releases_before_last_store, ["auditor"]),
    (transfer_lock_per_source, ["hold the lock 'bank'"]),
    (transfer_acquires_twice, ["never finishes", "waits for bank (held by T1)"]),
])
def test_transfer_rejects_more_wrong_answers(function, words):
    hint = failure("03.transfer", function)
    for word in words:
        assert word in hint, hint


def test_transfer_accepts_the_other_half_first():
    check("03.transfer", transfer_credit_first)


class CounterLockPerCall(CounterGood):
    def update(self, fn):
        with threading.Lock():  # a new lock each time: nobody else ever waits for it
            self.value = fn(self.value)
            return self.value


class CounterReadsOutsideTheLock(CounterGood):
    def update(self, fn):
        current = self.value
        with self._lock:
            self.value = fn(current)
            return self.value


class CounterCallsFnOutsideTheLock(CounterGood):
    def update(self, fn):
        new = fn(self.value)
        with self._lock:
            self.value = new
            return new


class CounterWithRLock(CounterGood):  # a valid alternative
    def __init__(self):
        super().__init__()
        self._lock = threading.RLock()


class CounterWithClassLock(CounterGood):  # a valid alternative: one lock for every counter
    shared = threading.Lock()

    def update(self, fn):
        with self.shared:
            self.value = fn(self.value)
            return self.value


@pytest.mark.parametrize("cls", [CounterLockPerCall, CounterReadsOutsideTheLock, CounterCallsFnOutsideTheLock])
def test_atomic_counter_rejects_more_wrong_answers(cls):
    assert "updates were lost" in failure("03.atomic_counter", cls)


@pytest.mark.parametrize("cls", [CounterWithRLock, CounterWithClassLock])
def test_atomic_counter_accepts_alternatives(cls):
    check("03.atomic_counter", cls)


def _ordered(key, reverse=False, release_in_order=False):
    def transfer_locked(src, dst, amount):
        first, second = sorted([src, dst], key=key, reverse=reverse)
        release = [first, second] if release_in_order else [second, first]
        return ([f"acquire lock_{first}", f"acquire lock_{second}"] + body(src, dst, amount)
                + [f"release lock_{name}" for name in release])
    return transfer_locked


def lock_order_one_at_a_time(src, dst, amount):  # both locks, never both at once: money in flight
    b = body(src, dst, amount)
    return [f"acquire lock_{src}"] + b[:3] + [f"release lock_{src}", f"acquire lock_{dst}"] + b[3:] + \
        [f"release lock_{dst}"]


@pytest.mark.parametrize("function, words", [
    (_ordered(len), ["deadlocks", "tie"]),                    # bob and ben are both 3 letters long
    (_ordered(lambda name: name[0]), ["deadlocks", "tie"]),   # bob and ben start alike
    (_ordered(lambda name: sorted(name)), ["deadlocks", "tie"]),  # amy and may are made of the same letters
    (lock_order_one_at_a_time, ["without holding both locks"]),
])
def test_lock_order_rejects_orders_that_are_not_total(function, words):
    hint = failure("03.lock_order", function)
    for word in words:
        assert word in hint, hint


@pytest.mark.parametrize("function", [_ordered(None, reverse=True), _ordered(None, release_in_order=True),
                                      _ordered(lambda name: (len(name), name))])
def test_lock_order_accepts_any_total_order(function):
    check("03.lock_order", function)


def fetch_all_never_shut_down(address, lines, max_workers):
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers)
    return list(pool.map(lambda line: fetch(address, line), lines))


def fetch_all_returns_the_map(address, lines, max_workers):  # forgets list(): an iterator comes back
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers) as pool:
        return pool.map(lambda line: fetch(address, line), lines)


def fetch_all_one_worker_too_many(address, lines, max_workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_workers + 1) as pool:
        return list(pool.map(lambda line: fetch(address, line), lines))


def fetch_all_threads_and_semaphore(address, lines, max_workers):  # a valid alternative, by hand
    slots, results = threading.Semaphore(max_workers), [None] * len(lines)

    def one(i):
        with slots:
            results[i] = fetch(address, lines[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(lines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def fetch_all_submit_in_order(address, lines, max_workers):  # a valid alternative
    with concurrent.futures.ThreadPoolExecutor(max_workers) as pool:
        futures = [pool.submit(fetch, address, line) for line in lines]
    return [f.result() for f in futures]


def fetch_all_waits_after_each_submit(address, lines, max_workers):  # a pool, used one job at a time
    with concurrent.futures.ThreadPoolExecutor(max_workers) as pool:
        return [pool.submit(fetch, address, line).result() for line in lines]


@pytest.mark.parametrize("function, words", [
    (fetch_all_waits_after_each_submit, ["one after another", "before you wait"]),
    (fetch_all_never_shut_down, ["still running", "shut the pool"]),
    (fetch_all_returns_the_map, ["should return a list"]),
    (fetch_all_one_worker_too_many, ["in flight at once"]),
])
def test_pool_fetch_rejects_more_wrong_answers(function, words):
    hint = failure("03.pool_fetch", function)
    for word in words:
        assert word in hint, hint


@pytest.mark.parametrize("function", [fetch_all_threads_and_semaphore, fetch_all_submit_in_order])
def test_pool_fetch_accepts_alternatives(function):
    check("03.pool_fetch", function)


def test_blank_stubs_say_not_written():
    assert "not written yet" in failure("03.lock_order", BLANK.transfer_locked)
    assert "not written yet" in failure("03.atomic_counter", BLANK.Counter)
    assert "not written yet" in failure("03.pool_fetch", BLANK.fetch_all)
