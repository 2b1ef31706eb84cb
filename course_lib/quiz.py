"""Self-check quizzes: a few auto-checked questions at the end of a chapter, with feedback per answer.

What it is: ``Quiz(questions, title=...)`` shows each question with real, labelled widgets (radio
buttons, check boxes or a text box, and a **Check** button; Enter in a text box checks too) and
says under it whether the answer is right, and why. Questions are data, one dict each::

    Quiz([{"ask": "In which order do they run?", "code": "loop.call_later(1, a)\nloop.call_soon(b)",
           "choices": [("a, then b", False, "a was asked for first, but it is due later."),
                       ("b, then a", True, "b is due at once, a after one second.")]},
          {"ask": "At what time does a run?", "number": 1.0, "tolerance": 0.01, "unit": "s", "why": "..."},
          {"ask": "Which call waits for many sockets?", "text": ["select", "select.select"], "why": "...",
           "wrong": {"recv": "recv waits for one socket."}, "hint": "Chapter 05 starts with it."}])

A choice is ``(text, right, why)``, and ``why`` is shown when it is picked; one right choice gives
radio buttons, several give check boxes (all the right ones must be picked). A ``number`` is right
within ``tolerance``; a ``text`` answer when it equals an accepted one after ``normalise`` (case,
spaces, quotes, backticks, a final ``.`` or ``()``). ``wrong`` gives feedback to a given wrong
answer, ``hint`` to any other, ``why`` to a right one. In all text, `backticks` mark code.

``quiz.answer(0, "B")`` answers from Python (``"A,C"`` for several; a number or a string for short
answers) and returns a ``Feedback`` (``.right``, ``.text``); tests use it.

Where no kernel runs it (GitHub, nbviewer, a web page, JupyterLab before the cell runs), a static
copy in the same display bundle (``text/html``, deterministic, as the Stepper's) shows every
question, with answers and feedback folded away in ``<details>`` blocks.

What it is not: an exercise. Nothing is recorded in your progress, nothing is graded, a wrong
answer raises nothing: it is for you alone. Exercises and their checks are ``course_lib.check``.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from dataclasses import dataclass

from course_lib import validate

__all__ = ["Quiz", "Question", "Feedback", "normalise"]

# (text, background) colours for contrast (WCAG AA: 4.5:1; tests/test_quiz.py measures), backgrounds set too
RIGHT_COLOUR, WRONG_COLOUR, TEXT_COLOUR = ("#116329", "#f0fff4"), ("#a40e26", "#fff5f5"), ("#1f2328", "#ffffff")
CODE_COLOUR = ("#1f2328", "#f6f8fa")
LETTERS = "ABCDEFGHIJ"


def normalise(text: object) -> str:
    """A short answer as it is compared: lower case, one space, no quotes/backticks, no final ``.`` or ``()``."""
    text, old = " ".join(str(text).casefold().split()), None
    while text != old:  # peel quotes, a final "." and "()" in any order: "`select()`." -> "select"
        text, old = re.sub(r"(\(\)|\.)$", "", text.strip("`'\" ")), text
    return text


def _html(text: str) -> str:
    """Escape, then `code` as <code>, **bold** as <b>, *italic* as <i>: the little markup questions use."""
    parts = re.split(r"`([^`]+)`", html.escape(text, quote=False))  # odd parts are code: no markup there
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<i>\1</i>",
                          re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", parts[i]))
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _number(text: str) -> float | None:
    number = re.fullmatch(r"[+-]?(\d[\d_]*\.?\d*|\.\d+)(e[+-]?\d+)?", str(text).strip(), re.I)
    return float(number.group().replace("_", "")) if number else None


def _sentence(text: str) -> str:
    text = text.strip().rstrip(":").strip()
    return text if text.endswith((".", "!", "?", ")")) else text + "."


@dataclass(frozen=True)
class Feedback:
    """What a checked answer gets: right or not, and why (``str()`` starts with ✔ or ✘)."""
    right: bool
    text: str

    def __str__(self) -> str:
        return ("✔ Right. " if self.right else "✘ Not quite. ") + self.text


@dataclass(frozen=True)
class Question:
    """One question, checked: ``kind`` is "one" (radio), "several" (check boxes), "number" or "text"."""
    ask: str
    kind: str
    choices: tuple = ()          # ((text, right, why), ...)
    answers: tuple = ()          # text: the accepted answers, normalised; number: (value, tolerance)
    why: str = ""
    hint: str = ""
    wrong: tuple = ()            # ((normalised wrong answer, feedback), ...)
    code: str = ""
    unit: str = ""
    shown: str = ""              # text: the first accepted answer, as written

    @classmethod
    def from_dict(cls, spec: dict, where: str) -> Question:
        if not isinstance(spec, dict):
            raise TypeError(f"{where} must be a dict with 'ask' and 'choices', 'number' or 'text', got {spec!r:.60}")
        kinds = [k for k in ("choices", "number", "text") if k in spec]
        if len(kinds) != 1:
            raise ValueError(f"{where} needs exactly one of 'choices', 'number', 'text'; it has {kinds or 'none'}")
        common = {"ask": validate.text(spec.get("ask"), f"{where}['ask']"), "code": spec.get("code", ""),
                  "why": spec.get("why", ""), "hint": spec.get("hint", ""), "unit": spec.get("unit", ""),
                  "wrong": tuple((normalise(k), v) for k, v in spec.get("wrong", {}).items())}
        if "choices" in spec:
            choices = tuple(cls._choice(c, f"{where}['choices'][{i}]") for i, c in enumerate(spec["choices"]))
            right = sum(c[1] for c in choices)
            if not 2 <= len(choices) <= len(LETTERS) or right == 0:
                raise ValueError(f"{where} needs 2 to {len(LETTERS)} choices with at least one right, "
                                 f"got {len(choices)} with {right} right")
            return cls(kind="one" if right == 1 else "several", choices=choices, **common)
        if "number" in spec:
            value, tol = spec["number"], spec.get("tolerance", 0)
            if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
                       for v in (value, tol)):
                raise TypeError(f"{where}: 'number' and 'tolerance' must be finite numbers, got {value!r}, {tol!r}")
            if tol < 0:
                raise ValueError(f"{where}['tolerance'] must be >= 0, got {tol!r}")
            return cls(kind="number", answers=(float(value), float(tol)), **common)
        accepted = [spec["text"]] if isinstance(spec["text"], str) else list(spec["text"]) or [""]
        return cls(kind="text", answers=tuple(normalise(validate.text(a, f"{where}['text']")) for a in accepted),
                   shown=accepted[0], **common)

    @staticmethod
    def _choice(c, where: str) -> tuple:
        if isinstance(c, dict):
            c = (c.get("text"), c.get("right", False), c.get("why", ""))
        if not (isinstance(c, (tuple, list)) and len(c) == 3 and isinstance(c[1], bool)):
            raise TypeError(f"{where} must be (text, right, why) with right True or False, got {c!r:.60}")
        return (validate.text(c[0], f"{where} text"), c[1], str(c[2]))

    def right_letters(self) -> set[str]:
        return {LETTERS[i] for i, c in enumerate(self.choices) if c[1]}

    def check(self, response) -> Feedback:
        """The feedback on ``response``: letters for choices, a number or a string for short answers."""
        if self.kind in ("one", "several"):
            return self._check_choices(response)
        if self.kind == "number":
            return self._check_number(response)
        said = normalise(response)
        if not said:
            return Feedback(False, "Type an answer first.")
        if said in self.answers:
            return Feedback(True, self.why)
        return Feedback(False, dict(self.wrong).get(said, self.hint or "That is not the answer we had in mind."))

    def _check_choices(self, response) -> Feedback:
        if isinstance(response, str):
            response = re.split(r"[,\s]+", response.strip())
        picked = {str(r).strip().upper() for r in (response or []) if str(r).strip()}
        if not picked <= set(LETTERS[:len(self.choices)]):
            raise ValueError(f"answer with the letters {', '.join(LETTERS[:len(self.choices)])}, got "
                             f"{', '.join(sorted(picked - set(LETTERS)))}")
        if not picked or (self.kind == "one" and len(picked) > 1):
            return Feedback(False, "Pick one answer." if picked else "Pick an answer first.")
        right = self.right_letters()
        notes = [_sentence(f"{letter}: {self.choices[LETTERS.index(letter)][2]}") for letter in sorted(picked)]
        missing = len(right - picked)
        if picked == right:  # one right choice: its own words; several: a note on each
            return Feedback(True, " ".join(notes) if len(right) > 1 else self.choices[LETTERS.index(min(right))][2])
        if missing and not picked - right:
            notes.append(f"All you picked is right, but {missing} more {'is' if missing == 1 else 'are'} right too.")
        return Feedback(False, " ".join(notes))

    def _check_number(self, response) -> Feedback:
        text = str(response).replace(self.unit, "").strip() if self.unit else str(response).strip()
        value, (target, tol) = _number(text), self.answers
        if value is None:
            return Feedback(False, "Give a number, like 0.5." if text else "Type a number first.")
        if abs(value - target) <= tol + 1e-12:
            return Feedback(True, self.why)
        near = [note for wrong, note in self.wrong if _number(wrong) is not None and abs(_number(wrong) - value) <= tol]
        return Feedback(False, near[0] if near else self.hint or ("Too high." if value > target else "Too low."))

    def answer_html(self) -> str:
        """The answer and every feedback, as HTML (folded away in the static copy)."""
        if self.kind in ("one", "several"):
            rows = "".join(f"<li><b>{LETTERS[i]}</b> {'✔ right' if right else '✘ wrong'}: {_html(why)}</li>"
                           for i, (_, right, why) in enumerate(self.choices))
            return f"<p>Right: <b>{', '.join(sorted(self.right_letters()))}</b></p><ul>{rows}</ul>"
        if self.kind == "number":
            value, tol = self.answers
            shown = html.escape(f"{value:g}{' ± ' + format(tol, 'g') if tol else ''} {self.unit}".strip())
        else:
            shown = f"<code>{html.escape(self.shown)}</code>"
        notes = "".join(f"<li>{html.escape(w)}: {_html(note)}</li>" for w, note in self.wrong)
        return f"<p>Right: <b>{shown}</b>. {_html(self.why)}</p>" + (notes and f"<p>Other answers:</p><ul>{notes}</ul>")

    def ask_html(self, number: int) -> str:
        code = f"<pre style='{_CODE}'><code>{html.escape(self.code)}</code></pre>" if self.code else ""
        how = {"one": "", "several": " <i>(pick every right answer)</i>"}.get(self.kind, "")
        return f"<p><b>{number}.</b> {_html(self.ask)}{how}</p>{code}"


_CODE = f"color:{CODE_COLOUR[0]};background:{CODE_COLOUR[1]};padding:6px 8px;border-radius:4px;font-size:12px"


class Quiz:
    """A self-check: questions as data (see the module docstring); display it, or ``answer(i, ...)``."""

    def __init__(self, questions, *, title: str = "Self-check"):
        if isinstance(questions, (str, dict)) or not hasattr(questions, "__iter__"):
            raise TypeError(f"questions must be a list of dicts, got {type(questions).__name__}")
        self.title = validate.text(title, "title")
        self.questions = [q if isinstance(q, Question) else Question.from_dict(q, f"questions[{i}]")
                          for i, q in enumerate(questions)]
        if not self.questions:
            raise ValueError("questions must hold at least one question")
        self._widget = None
        self._inputs, self._feedback = [], []

    def answer(self, index: int, response) -> Feedback:
        """The feedback on ``response`` to question ``index`` (0-based); the widget is left as it is."""
        if validate.count(index, "index") >= len(self.questions):
            raise ValueError(f"index must be < {len(self.questions)} (the number of questions), got {index}")
        return self.questions[index].check(response)

    @property
    def widget(self):
        """The ipywidgets view, built the first time it is asked for."""
        if self._widget is None:
            import ipywidgets as w

            rows = [w.HTML(f"<h3 style='margin:4px 0'>{html.escape(self.title)}</h3>")]
            for i, q in enumerate(self.questions):
                field, get = _input(w, q, i)
                button = w.Button(description="Check", tooltip=f"check your answer to question {i + 1}",
                                  button_style="primary")
                out = w.HTML("")
                self._inputs.append(field), self._feedback.append(out)
                button.on_click(lambda _b, i=i, get=get: self._check_from_widget(i, get))
                if isinstance(field, w.Text):  # Enter (or leaving the box) checks
                    field.observe(lambda _c, i=i, get=get: self._check_from_widget(i, get), names="value")
                rows.append(w.VBox([w.HTML(q.ask_html(i + 1)), field, w.HBox([button]), out]).add_class("edp-quiz-q"))
            self._widget = w.VBox(rows).add_class("edp-quiz")
        return self._widget

    def _check_from_widget(self, index, get):
        try:
            feedback = self.answer(index, get())
        except ValueError as exc:  # shown where the student looks, not in the kernel log
            feedback = Feedback(False, str(exc))
        self._feedback[index].value = _feedback_html(feedback)

    def static_html(self) -> str:
        """The copy for readers with no kernel: questions and choices, answers folded in <details>."""
        parts = [f"<div class='edp-quiz-static' style='font-family:sans-serif;color:{TEXT_COLOUR[0]};"
                 f"background:{TEXT_COLOUR[1]};padding:4px 10px'>",
                 f"<h3>{html.escape(self.title)}</h3>",
                 "<p><i>Run this cell in Jupyter to answer and be told why; or think of your answer, then open "
                 "each “Answer” below.</i></p>"]
        for i, q in enumerate(self.questions):
            parts.append(q.ask_html(i + 1))
            if q.choices:  # letters written out: viewers' CSS often numbers an <ol type='A'> 1, 2, 3
                parts.append("<ul style='list-style:none;padding-left:1em'>" + "".join(
                    f"<li><b>{LETTERS[j]}.</b> {_html(t)}</li>" for j, (t, _, _) in enumerate(q.choices)) + "</ul>")
            else:
                parts.append(f"<p><i>(a {'number' if q.kind == 'number' else 'short answer'})</i></p>")
            parts.append(f"<details style='margin-bottom:1em'><summary>Answer {i + 1}</summary>"
                         f"{q.answer_html()}</details>")
        return "".join(parts) + "</div>"

    def _repr_mimebundle_(self, **kwargs):
        return {**self.widget._repr_mimebundle_(**kwargs), "text/plain": repr(self), "text/html": self.static_html()}

    def __repr__(self) -> str:
        return f"<Quiz {self.title!r}: {len(self.questions)} question(s)>"


def _input(w, q: Question, i: int):
    """The answer widget of ``q`` and a function reading it. Each radio button is its own tab stop: in
    JupyterLab the arrow keys move between cells, so Tab goes from choice to choice, Space picks."""
    labels = [f"{LETTERS[j]}. {text.replace('`', '')}" for j, (text, _, _) in enumerate(q.choices)]
    if q.kind == "one":
        options = [(label, LETTERS[j]) for j, label in enumerate(labels)]
        field = w.RadioButtons(options=options, value=None, description=f"Answer {i + 1}:",
                               layout=w.Layout(width="auto"), style={"description_width": "initial"})
        return field, lambda: field.value or ""
    if q.kind == "several":
        boxes = [w.Checkbox(value=False, description=label, indent=False, layout=w.Layout(width="auto"))
                 for label in labels]
        return w.VBox(boxes), lambda: [LETTERS[j] for j, b in enumerate(boxes) if b.value]
    field = w.Text(value="", placeholder="a number" if q.kind == "number" else "your answer",
                   description=f"Answer {i + 1}:", continuous_update=False, style={"description_width": "initial"})
    return field, lambda: field.value


def _feedback_html(feedback: Feedback) -> str:
    text, background = RIGHT_COLOUR if feedback.right else WRONG_COLOUR
    return (f"<div class='edp-quiz-feedback' role='status' style='color:{text};background:{background};"
            f"padding:4px 8px;margin:2px 0 10px 0;border-left:4px solid {text}'>"
            f"<b>{'✔ Right.' if feedback.right else '✘ Not quite.'}</b> {_html(feedback.text)}</div>")
