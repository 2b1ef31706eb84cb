"""What the grader tells students: whole words (never a hint cut mid-word), checks named by their
exercise ids (``01.predict``, not the cell id ``predict_check``), and a blank notebook's "not written
yet" said once, not once per run and per check."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib.grade.batch import Submission, checks_summary, feedback_text
from course_lib.grade.scoring import check_name, row, shorten

ROOT = Path(__file__).resolve().parent.parent
NOT_WRITTEN = "not written yet: replace `raise NotImplementedError()` with your code, run that cell, then this one."


@given(st.lists(st.text(alphabet="abcdefghij:;,.`()", min_size=1, max_size=12), max_size=40),
       st.integers(min_value=5, max_value=120))
def test_shorten_cuts_after_a_whole_word(words, width):
    text = " ".join(words)
    got = shorten(text, width)
    assert len(got) <= width
    if len(text) <= width:
        assert got == text
    else:
        assert got.endswith("…")
        kept = got[:-1].split()
        if kept and len(words[0]) < width:  # whole words only (the last may lose a trailing ",;:")
            assert kept[:-1] == words[:len(kept) - 1]
            assert words[len(kept) - 1].rstrip(" ,;:") == kept[-1]


def test_shorten_the_hint_that_was_cut_mid_word():
    detail = "0/4 checks passed; predict_check: " + NOT_WRITTEN
    assert shorten(detail, 100) == ("0/4 checks passed; predict_check: not written yet: replace "
                                    "`raise NotImplementedError()` with your…")
    assert row("ok", "x " * 400)["detail"].endswith("x…")


def test_a_check_is_named_by_its_exercise_ids():
    assert check_name("predict_check", ["01.predict"]) == "01.predict"
    assert check_name("both_check", ["03.a", "03.b", "03.a"]) == "03.a, 03.b"
    assert check_name("odd_check", [None]) == "odd_check" and check_name("cell_check", []) == "cell_check"


def _blank_result(ids):
    def results(hint):
        return [{"key": "k", "run": i, "hidden": i > 0, "reported": True, "passed": False, "hint": hint}
                for i in range(3)]
    checks = [{"grade_id": f"{i.split('.')[1]}_check", "name": i, "points": 2, "score": 0, "passed": 0, "runs": 3,
               "results": results(NOT_WRITTEN), "error": ""} for i in ids]
    return {"score": 0, "max_score": 2 * len(ids), "status": "ok", "checks": checks,
            "detail": f"0/{len(ids)} checks passed; {ids[0]}: {NOT_WRITTEN}"}


def test_a_blank_notebooks_feedback_says_not_written_yet_once():
    sub = Submission(Path("x.ipynb"), "ann", "ann", "01_three_models.ipynb", _blank_result(["01.predict", "01.bounds"]))
    text = feedback_text(sub)
    body = text.split("\n## ", 1)[1]  # after the summary line (the CSV's detail)
    assert body.count("replace `raise NotImplementedError()`") == 1, text
    assert "## 01.predict: 0 of 2 points" in text and "## 01.bounds: 0 of 2 points" in text
    assert "predict_check" not in text
    assert "not written yet (see above)" in text
    assert "extra hidden cases: 0 of 2 runs passed\n" in text  # the same hint is not repeated for the hidden runs
    assert checks_summary(sub.result) == "01.predict=0/2 01.bounds=0/2"


def test_a_different_hidden_failure_is_still_shown():
    result = _blank_result(["01.predict"])
    result["checks"][0]["results"][0].update(passed=True, hint="")
    result["checks"][0]["results"][1]["hint"] = "for [3] you returned 2, expected 3"
    text = feedback_text(Submission(Path("x.ipynb"), "ann", "ann", "01.ipynb", result))
    assert "(first failure: for [3] you returned 2, expected 3)" in text


@pytest.mark.slow
def test_grading_a_blank_chapter_names_exercises_and_says_it_once(tmp_path):
    (tmp_path / "ann").mkdir()
    blank = (ROOT / "exercises" / "01_three_models.ipynb").read_bytes()
    (tmp_path / "ann" / "01_three_models.ipynb").write_bytes(blank)
    env = {**os.environ, "EDP_PROGRESS_FILE": "", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(tmp_path / "ann"), "--out",
                           str(tmp_path / "g.csv"), "--feedback", str(tmp_path / "fb"), "--course", str(ROOT),
                           "--jobs", "1"], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "g.csv", newline="") as f:
        (r,) = list(csv.DictReader(f))
    assert r["detail"].startswith("0/4 checks passed; 01.predict: not written yet"), r["detail"]
    assert r["checks"].startswith("01.predict=0/2 ") and "_check" not in r["checks"]
    feedback = next((tmp_path / "fb").rglob("*.md")).read_text()
    assert feedback.split("\n## ", 1)[1].count("raise NotImplementedError()") == 1, feedback
    assert "_check" not in feedback
    progress_line = next(line for line in proc.stderr.splitlines() if line.startswith("[1/1]"))
    last = progress_line.split()[-1]
    assert last.endswith("…") and last[:-1] in r["detail"].split(), progress_line  # cut after a whole word
