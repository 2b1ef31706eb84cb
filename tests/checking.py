"""What the tests of the checks assert about an answer: it passes with the pass line, or it
fails with one short line of hint that names the mistake (not a traceback)."""

from __future__ import annotations

import pytest

from course_lib.check import CheckFailed, check


def fails(exercise_id, obj, *hint_words):
    """``check(exercise_id, obj)`` fails with a one-line hint under 300 characters holding every word."""
    with pytest.raises(CheckFailed) as info:
        check(exercise_id, obj)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    for word in hint_words:
        assert word in message, message
    return message


def passes(exercise_id, obj, capsys):
    """``check(exercise_id, obj)`` passes and says so."""
    check(exercise_id, obj)
    assert capsys.readouterr().out.startswith(f"✔ {exercise_id} passed")
