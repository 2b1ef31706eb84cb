"""check(): a pass prints one line, a failure is one hint, student exceptions become hints."""

import pytest

from course_lib import check as check_module
from course_lib.check import CheckFailed, check, exercise, expect


@exercise("99.double")
def _double(fn, *, rng, extra):
    for _ in range(30 if extra else 5):
        x = rng.randint(-100, 100)
        expect(fn(x) == 2 * x, f"double({x}) returned {fn(x)!r}, expected {2 * x}")
    return "5 random numbers"


def test_pass_prints_one_line(capsys):
    check("99.double", lambda x: x * 2)
    assert capsys.readouterr().out == "✔ 99.double passed: 5 random numbers\n"
    assert check_module.results[-1].passed


def test_failure_is_a_short_hint():
    with pytest.raises(CheckFailed) as info:
        check("99.double", lambda x: x + 2)
    message = str(info.value)
    assert message.startswith("99.double: double(") and "expected" in message and "\n" not in message
    rendered = info.value._render_traceback_()
    assert len(rendered) == 1 and "Traceback" not in rendered[0]


def test_student_exceptions_become_hints():
    def not_written(x):
        raise NotImplementedError()

    def broken(x):
        return x / 0

    with pytest.raises(CheckFailed, match="not written yet"):
        check("99.double", not_written)
    with pytest.raises(CheckFailed, match=r"ZeroDivisionError: division by zero \(in broken, line"):
        check("99.double", broken)
    with pytest.raises(CheckFailed, match="TypeError"):
        check("99.double", "not a function")


def test_unknown_exercises_get_a_hint():
    with pytest.raises(CheckFailed, match="exercise id like"):
        check("double", print)
    with pytest.raises(CheckFailed, match="no exercise '99.triple'.*99.double"):
        check("99.triple", print)


def test_progress_is_recorded(tmp_path, monkeypatch):
    from course_lib import progress

    monkeypatch.setenv("EDP_PROGRESS_FILE", str(tmp_path / "p.json"))
    check("99.double", lambda x: 2 * x)
    assert "99.double" in progress.passed()
    assert "99.double" in repr(progress.show())
    monkeypatch.setenv("EDP_PROGRESS_FILE", "")
    progress.record("99.other")
    assert progress.passed() == {}


def test_every_course_check_is_named_after_its_exercise():
    """The rule of course_lib/check/__init__.py: chapter NN's check of "NN.name" is chNN.check_<name>.

    A long chapter module may keep its checks in parts, ``chNN_<part>.py``, that ``chNN`` imports:
    the check is then defined there, and still listed in (and reached from) ``chNN``'s ``__all__``.
    """
    import importlib

    from course_lib import registry

    for exercise_id in registry.exercise_ids():
        function = registry.lookup(exercise_id).function
        if not function.__module__.startswith("course_lib."):
            continue  # registered by a test or an outside course
        chapter, name = exercise_id.split(".")
        chapter_module = f"course_lib.check.ch{chapter}"
        assert function.__module__ == chapter_module or function.__module__.startswith(chapter_module + "_"), \
            exercise_id
        assert function.__name__ == f"check_{name}", exercise_id
        for module in {chapter_module, function.__module__}:
            assert f"check_{name}" in importlib.import_module(module).__all__, exercise_id
            assert getattr(importlib.import_module(module), f"check_{name}") is function, exercise_id
