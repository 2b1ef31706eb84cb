"""shrink: a failing list shrinks to a locally smallest one that still fails; smallest_failure raises its failure."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.check import CheckFailed
from course_lib.check.shrink import shrink, smallest_failure


def test_removes_what_does_not_matter():
    assert shrink(list(range(17)), lambda c: 3 in c and 11 in c) == [3, 11]


def test_keeps_at_least_minimum_items_and_returns_a_passing_case_unchanged():
    assert len(shrink([5, 6, 7], lambda c: True, minimum=1)) == 1
    assert shrink([1, 2], lambda c: False) == [1, 2]


def test_simplifies_items():
    def simpler(x):
        return [x // 2] if x > 1 else []

    assert shrink([40, 7, 90], lambda c: sum(c) >= 50, simpler=simpler, minimum=1) == [50] or \
        sum(shrink([40, 7, 90], lambda c: sum(c) >= 50, simpler=simpler, minimum=1)) >= 50


def test_an_exception_counts_as_a_failure_and_the_budget_is_kept():
    calls = []

    def fails(case):
        calls.append(case)
        return 1 / (len(case) - 1) > 0  # raises on a one-item list

    assert len(shrink(list(range(8)), fails)) == 1
    calls.clear()
    shrink(list(range(1000)), lambda c: calls.append(c) or True, simpler=lambda x: [0], budget=30)
    assert len(calls) <= 30


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=40), st.integers(0, 20))
def test_the_result_still_fails_and_is_locally_minimal(case, needle):
    def fails(c):
        return c.count(needle) >= 1

    small = shrink(case, fails)
    if fails(case):
        assert fails(small) and small == [needle]  # one item, the one that matters
    else:
        assert small == case


def test_smallest_failure_raises_the_failure_of_the_small_case():
    def one_case(case):
        if 13 in case:
            raise CheckFailed(f"13 is unlucky, in {case}")

    smallest_failure(one_case, [1, 2, 3])  # passes: returns
    with pytest.raises(CheckFailed, match=r"in \[13\]"):
        smallest_failure(one_case, [1, 2, 13, 4, 5])


def test_smallest_failure_raises_a_blank_answer_and_at_once_types_unshrunk():
    calls = []

    def blank(case):
        calls.append(case)
        raise NotImplementedError

    with pytest.raises(NotImplementedError):
        smallest_failure(blank, [1, 2, 3])
    assert len(calls) == 1

    class Hung(CheckFailed):
        pass

    def hangs(case):
        calls.append(case)
        raise Hung("did not return")

    calls.clear()
    with pytest.raises(Hung):
        smallest_failure(hangs, [1, 2, 3], at_once=(Hung,))
    assert len(calls) == 1
