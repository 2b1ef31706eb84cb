"""course_lib.validate: one rule per kind of argument."""

import math

import pytest

from course_lib import validate


@pytest.mark.parametrize("bad", [True, "1", None, [1], object()])
def test_seconds_wrong_type_is_a_type_error_naming_the_argument(bad):
    with pytest.raises(TypeError, match="delay must be a number of seconds"):
        validate.seconds(bad, "delay")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_seconds_are_finite(bad):
    with pytest.raises(ValueError, match="delay must be a finite number of seconds"):
        validate.seconds(bad, "delay")


def test_seconds_bounds_and_conversion():
    assert validate.seconds(2, "d") == 2.0 and isinstance(validate.seconds(2, "d"), float)
    assert validate.seconds(-1, "d") == -1.0  # no bound unless asked
    with pytest.raises(ValueError, match=">= 0"):
        validate.seconds(-0.5, "latency", minimum=0)
    with pytest.raises(ValueError, match="> 0"):
        validate.seconds(0, "quantum", above=0)
    assert validate.seconds(None, "timeout", optional=True) is None
    with pytest.raises(ValueError, match="use None for no limit"):
        validate.seconds(math.inf, "timeout", optional=True)


def test_count():
    assert validate.count(3, "n", minimum=1) == 3
    assert validate.count(None, "n", optional=True) is None
    with pytest.raises(TypeError, match="n must be an int >= 1"):
        validate.count(True, "n", minimum=1)
    with pytest.raises(TypeError):
        validate.count(1.0, "n")
    with pytest.raises(ValueError, match="buffer_size must be an int >= 1 \\(bytes\\), got 0"):
        validate.count(0, "buffer_size", minimum=1, unit="bytes")


def test_callback_refuses_coroutine_functions():
    import functools

    async def fetch():
        pass

    assert validate.callback(print) is print
    with pytest.raises(TypeError, match="fn must be callable"):
        validate.callback(3)
    with pytest.raises(TypeError, match="coroutine function .*fetch"):
        validate.callback(fetch)
    with pytest.raises(TypeError, match="coroutine function"):
        validate.callback(functools.partial(fetch))


def test_text_and_one_of():
    assert validate.text("A", "name") == "A"
    with pytest.raises(ValueError, match="non-empty"):
        validate.text("  ", "name")
    with pytest.raises(TypeError, match="name must be a string"):
        validate.text(3, "name")
    assert validate.one_of("edge", "mode", ("level", "edge")) == "edge"
    with pytest.raises(ValueError, match="mode must be one of 'level', 'edge', got 'x'"):
        validate.one_of("x", "mode", ("level", "edge"))
