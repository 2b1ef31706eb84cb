"""Self-check quizzes (course_lib.quiz): answers and their feedback, the static copy, the widgets, the
colours, and every quiz stored in the course's notebooks (each question answerable, its copy complete).

A quiz cell in a notebook must run on its own after the notebook's setup cell: the last test runs
exactly those two cells (never a copy of them) and answers every question.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib import quiz as quiz_module
from course_lib.quiz import Feedback, Quiz, normalise

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    {"ask": "In which order?", "code": "loop.call_later(1, a)\nloop.call_soon(b)",
     "choices": [("a, then b", False, "a is due later."), ("b, then a", True, "b is due at once.")]},
    {"ask": "Which calls block?",
     "choices": [("`recv` on a blocking socket", True, "It waits for data"),
                 ("`send` on a non-blocking socket", False, "It returns at once, maybe with BlockingIOError."),
                 ("`time.sleep(1)`", True, "It waits one second.")]},
    {"ask": "When does a run?", "number": 1.0, "tolerance": 0.01, "unit": "s", "why": "One second after 0.",
     "wrong": {"0": "It is not due at once."}},
    {"ask": "Which call waits for many sockets?", "text": ["select", "select.select"], "why": "select takes lists.",
     "wrong": {"recv": "recv waits for one socket."}, "hint": "Chapter 05 starts with it."},
]


@pytest.fixture
def q():
    return Quiz(QUESTIONS, title="Test quiz")


def test_one_right_choice(q):
    assert q.answer(0, "B") == Feedback(True, "b is due at once.")
    assert q.answer(0, "b") == Feedback(True, "b is due at once.")
    assert q.answer(0, "A") == Feedback(False, "A: a is due later.")
    assert str(q.answer(0, "A")) == "✘ Not quite. A: a is due later."
    assert q.answer(0, "A,B") == Feedback(False, "Pick one answer.")
    assert q.answer(0, "") == Feedback(False, "Pick an answer first.")
    with pytest.raises(ValueError, match="letters A, B"):
        q.answer(0, "C")


def test_several_right_choices(q):
    assert q.answer(1, "A,C") == Feedback(True, "A: It waits for data. C: It waits one second.")
    assert q.answer(1, ["c", "a"]).right and q.answer(1, "A C").right
    assert q.answer(1, "A") == Feedback(False, "A: It waits for data. "
                                               "All you picked is right, but 1 more is right too.")
    got = q.answer(1, "A,B,C")
    assert not got.right and "B: It returns at once" in got.text


def test_number_answers(q):
    assert q.answer(2, 1) == Feedback(True, "One second after 0.")
    assert q.answer(2, "1.005 s").right and q.answer(2, " 0.995").right
    assert q.answer(2, "0") == Feedback(False, "It is not due at once.")
    assert q.answer(2, "3") == Feedback(False, "Too high.") and q.answer(2, "0.5") == Feedback(False, "Too low.")
    assert q.answer(2, "soon") == Feedback(False, "Give a number, like 0.5.")
    assert q.answer(2, "") == Feedback(False, "Type a number first.")


def test_text_answers(q):
    for said in ["select", " SELECT ", "`select()`", "select.select()", "'select'."]:
        assert q.answer(3, said) == Feedback(True, "select takes lists."), said
    assert q.answer(3, "recv()") == Feedback(False, "recv waits for one socket.")
    assert q.answer(3, "epoll") == Feedback(False, "Chapter 05 starts with it.")
    assert q.answer(3, "  ") == Feedback(False, "Type an answer first.")


@given(st.text(alphabet="abcXYZ_. ", min_size=1, max_size=12), st.sampled_from(["", " ", "`", "'", '"']),
       st.sampled_from(["", ".", "()", "()."]))
def test_normalise_ignores_case_spaces_quotes_and_a_final_dot(word, quote, tail):
    assert normalise(f"{quote} {word.upper()}{tail}{quote} ") == normalise(word)
    assert normalise(normalise(word)) == normalise(word)


@pytest.mark.parametrize("spec, error, words", [
    ("not a dict", TypeError, "questions[0] must be a dict"),
    ({"ask": "x"}, ValueError, "exactly one of 'choices', 'number', 'text'"),
    ({"ask": "x", "number": 1, "text": "a"}, ValueError, "exactly one of"),
    ({"ask": "", "text": "a"}, ValueError, "questions[0]['ask'] must be a non-empty string"),
    ({"ask": "x", "choices": [("a", False, ""), ("b", False, "")]}, ValueError, "at least one right"),
    ({"ask": "x", "choices": [("a", True, "")]}, ValueError, "2 to 10 choices"),
    ({"ask": "x", "choices": [("a", "yes", ""), ("b", False, "")]}, TypeError, "(text, right, why)"),
    ({"ask": "x", "number": "1"}, TypeError, "finite numbers"),
    ({"ask": "x", "number": 1, "tolerance": -1}, ValueError, "'tolerance'] must be >= 0"),
    ({"ask": "x", "text": []}, ValueError, "non-empty string"),
])
def test_a_wrong_question_says_which_and_why(spec, error, words):
    with pytest.raises(error) as info:
        Quiz([spec])
    assert words in str(info.value)


def test_markup():
    assert quiz_module._html("a `x*y*z` and *it* and **bold** <b>") == \
        "a <code>x*y*z</code> and <i>it</i> and <b>bold</b> &lt;b&gt;"


def test_wrong_arguments():
    with pytest.raises(TypeError):
        Quiz("questions")
    with pytest.raises(ValueError):
        Quiz([])
    with pytest.raises(ValueError, match="index must be < 4"):
        Quiz(QUESTIONS).answer(4, "A")


def test_static_copy_shows_questions_and_folds_the_answers(q):
    data = q._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"] == "<Quiz 'Test quiz': 4 question(s)>"
    page = data["text/html"]
    assert "edp-quiz-static" in page and page.count("<details") == 4
    for text in ["In which order?", "loop.call_soon(b)", "a, then b", "<code>recv</code> on a blocking socket"]:
        assert text in page, text
    outside = re.sub(r"<details.*?</details>", "", page)  # what shows before anything is opened
    assert "<b>A.</b> a, then b" in page and "<b>B.</b> b, then a" in page
    for secret in ["Right:", "b is due at once", "One second after 0", "select takes lists", "recv waits"]:
        assert secret not in outside and secret in page, secret
    assert Quiz(QUESTIONS, title="Test quiz").static_html() == page  # deterministic: nbval compares it
    assert "model_id" not in page and "0x" not in page


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    hi, lo = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0 and round(contrast("#777777", "#ffffff"), 2) == 4.48


@pytest.mark.parametrize("pair", ["RIGHT_COLOUR", "WRONG_COLOUR", "TEXT_COLOUR", "CODE_COLOUR"])
def test_colours_meet_wcag_aa(pair):
    text, background = getattr(quiz_module, pair)
    assert contrast(text, background) >= 4.5


def test_every_colour_in_the_html_is_a_checked_pair(q):
    pairs = {getattr(quiz_module, n) for n in ["RIGHT_COLOUR", "WRONG_COLOUR", "TEXT_COLOUR", "CODE_COLOUR"]}
    _ = q.widget  # built, so that its feedback widgets exist
    pages = [q.static_html(), q._feedback[0].value] + [w.value for w in _all(q.widget) if hasattr(w, "value")
                                                        and isinstance(w.value, str) and "<" in w.value]
    for page in pages:
        for style in re.findall(r"style='([^']*)'", page):
            colours = dict(re.findall(r"(?:^|;)(color|background):(#[0-9a-f]{6})", style))
            if colours:
                assert (colours.get("color"), colours.get("background")) in pairs, style


def _all(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _all(child)


def test_the_widgets_are_labelled_controls_and_check_buttons(q):
    import ipywidgets as w

    widgets = list(_all(q.widget))
    radios = [x for x in widgets if isinstance(x, w.RadioButtons)]
    boxes = [x for x in widgets if isinstance(x, w.Checkbox)]
    texts = [x for x in widgets if isinstance(x, w.Text)]
    buttons = [x for x in widgets if isinstance(x, w.Button)]
    assert len(radios) == 1 and radios[0].value is None and radios[0].description == "Answer 1:"
    assert [b.description for b in boxes] == ["A. recv on a blocking socket", "B. send on a non-blocking socket",
                                             "C. time.sleep(1)"]
    assert radios[0].options == (("A. a, then b", "A"), ("B. b, then a", "B"))
    assert len(texts) == 2 and all(t.description.startswith("Answer") and not t.continuous_update for t in texts)
    assert [b.description for b in buttons] == ["Check"] * 4
    radios[0].value = "A"
    buttons[0].click()
    assert "✘ Not quite.</b> A: a is due later." in q._feedback[0].value
    radios[0].value = "B"
    buttons[0].click()
    assert "✔ Right.</b> b is due at once." in q._feedback[0].value
    boxes[0].value = boxes[2].value = True
    buttons[1].click()
    assert "✔ Right." in q._feedback[1].value
    texts[1].value = "recv"  # what Enter in the box does: the value arrives, and the answer is checked
    assert "recv waits for one socket." in q._feedback[3].value
    texts[0].value = "soon"
    assert "Give a number" in q._feedback[2].value


def test_a_quiz_records_no_progress_and_no_check_result(q, tmp_path, monkeypatch):
    from course_lib import check as check_module

    monkeypatch.setenv("EDP_PROGRESS_FILE", str(tmp_path / "progress.json"))
    before = len(check_module.results)
    for i, answer in enumerate(["B", "A,C", 1, "select"]):
        assert q.answer(i, answer).right
    assert not (tmp_path / "progress.json").exists() and len(check_module.results) == before


# -- the quizzes stored in the course's notebooks ------------------------------------------------------
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def _quiz_cells(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    return code, [c for c in code if re.search(r"\bQuiz\(", c.source)]


def _run(source: str, namespace: dict, name: str):
    source = "\n".join("" if line.lstrip().startswith("%") else line for line in source.splitlines())
    exec(compile(source, name, "exec"), namespace)


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _quiz_cells(p)[1]], ids=lambda p: p.name)
def test_every_stored_quiz_is_answerable_and_left_its_static_copy(path):
    code, cells = _quiz_cells(path)
    for cell in cells:
        outputs = [o for o in cell.outputs if o.get("data", {}).get("text/plain", "").startswith("<Quiz ")]
        assert outputs, f"{path.name}: the quiz cell shows no quiz (end it with the quiz object)"
        namespace: dict = {}
        _run(code[0].source, namespace, f"{path.name}: setup")
        _run(cell.source, namespace, f"{path.name}: quiz cell")
        quizzes = [v for v in namespace.values() if isinstance(v, Quiz)]
        assert quizzes
        for quiz in quizzes:
            assert 5 <= len(quiz.questions) <= 8, f"{path.name}: a chapter's self-check has 5 to 8 questions"
            for i, question in enumerate(quiz.questions):
                if question.choices:
                    assert quiz.answer(i, sorted(question.right_letters())).right, (path.name, i)
                    for letter, (_, right, why) in zip("ABCDEFGHIJ", question.choices):
                        assert why.strip(), f"{path.name} question {i + 1}: choice {letter} has no feedback"
                        if not right:
                            assert not quiz.answer(i, letter).right
                else:
                    right = question.answers[0] if question.kind == "number" else question.shown
                    assert quiz.answer(i, right).right and question.why.strip(), (path.name, i)
                    assert question.hint or question.wrong or question.kind == "number", (path.name, i)
                    for wrong, note in question.wrong:
                        assert not quiz.answer(i, wrong).right and quiz.answer(i, wrong).text == note
            stored = [o["data"]["text/html"] for o in outputs]
            assert quiz.static_html() in stored, f"{path.name}: the stored copy is not this quiz's; rebuild"
            assert all("application/vnd.jupyter.widget-view+json" not in o["data"] for o in outputs), \
                f"{path.name}: the stored output keeps a widget view (tools/build.py drops it)"


def test_chapter_00_has_a_self_check():
    assert _quiz_cells(ROOT / "notebooks" / "00_start_here.ipynb")[1]
