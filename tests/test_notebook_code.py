"""tests/notebook_code.py runs a notebook's own cells: chosen by grade_id or by what they define."""

import nbformat
import pytest
from notebook_code import cells, definitions, find


def test_definitions_leave_out_the_demonstration_around_them(capsys):
    demo = definitions("solutions/03_threads", "setup", "unsafe_counter_demo")
    assert demo.UnsafeCounter().update(lambda v: v + 1) == 1
    assert not hasattr(demo, "unsafe") and capsys.readouterr().out == ""   # its four threads never ran


def test_cells_run_whole_in_one_module(capsys):
    ran = cells("solutions/03_threads", "setup", "transfer_unsafe_demo")
    assert set(ran.two) == {"T1", "T2"} and capsys.readouterr().out   # the demo ran and printed
    assert ran.transfer_unsafe("a", "b", 1)[0] == "load r, a"


def test_a_lecture_cell_is_found_by_what_it_defines_and_its_setup_is_the_first_code_cell():
    assert find("notebooks/04_event_loop_callbacks", "setup").source.startswith("%matplotlib inline\n")
    lecture = definitions("notebooks/04_event_loop_callbacks", "setup", "Loop1")   # the magic is skipped
    loop, seen = lecture.Loop1(), []
    loop.call_soon(seen.append, "ran")
    loop.run()
    assert seen == ["ran"]


def test_the_exercise_gives_the_stub():
    blank = definitions("exercises/02_blocking_io", "setup", "recv_exactly_answer")
    with pytest.raises(NotImplementedError):
        blank.recv_exactly(None, 1)


def test_unknown_or_ambiguous_names_are_refused(tmp_path):
    with pytest.raises(LookupError, match="no cell"):
        find("solutions/04_event_loop_callbacks", "no_such_cell")
    with pytest.raises(ValueError, match="at least one"):
        definitions("solutions/04_event_loop_callbacks")
    twice = tmp_path / "twice.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def f():\n    return 1"),
                                                   nbformat.v4.new_code_cell("def f():\n    return 2")]), twice)
    with pytest.raises(LookupError, match="defined in cells"):
        find(str(twice), "f")
