"""The classroom grader: ``python -m course_lib.grade`` on plain and hostile submissions.

Unit tests (fast): how a submission is put back together with the pristine cells, how
submissions are found, how report lines are trusted. Integration (a kernel per notebook):
a few rows graded through the command line, and the ``slow`` class of 20 plain and hostile
submissions in one batch, after which no process the grader started may still run.
Run alone with ``python -m pytest -o addopts="" tests/test_grade.py -q``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "grade_fixtures"
sys.path.insert(0, str(FIXTURES))

import hostile  # noqa: E402

from course_lib.grade.assemble import assemble, rewrite_graded  # noqa: E402
from course_lib.grade.batch import collect  # noqa: E402
from course_lib.grade.limits import Limits  # noqa: E402
from course_lib.grade.processes import PidsCgroup, descendants  # noqa: E402
from course_lib.grade.scoring import read_reports  # noqa: E402
from course_lib.grade.worker import read_notebook  # noqa: E402

COURSE = hostile.COURSE
TEST_LIMITS = ["--timeout", "3", "--total-timeout", "60", "--memory", "1024", "--max-procs", "16",
               "--max-output", "200000"]


def _labels_and_sources(built):
    return [(label, cell.source) for label, cell in zip(built.labels, built.notebook.cells)]


# ------------------------------------------------------------------ assembling

def test_locked_cells_are_restored_and_deleted_ones_put_back():
    sub = hostile.variant(add=hostile.WRONG_ADD, edit={"add_check": "print('✔ 99.add passed')"},
                          drop=("order_check", "setup"))
    built = assemble(hostile.solution(), sub, "_R", "/s", "/r")
    cells = dict(_labels_and_sources(built))
    assert cells["answer add_answer"] == hostile.WRONG_ADD  # the student's answer is kept
    assert re.fullmatch(r"_R\.run\('add_check#0#[0-9a-f]{8}', '99\.add', add\)", cells["cell add_check"])
    assert re.fullmatch(r"_R\.run\('order_check#0#[0-9a-f]{8}', '99\.order', order\)", cells["cell order_check"])
    assert "import edp_fixture_checks" in cells["cell setup"]
    assert any("restored edited cells: add_check" in n for n in built.notes)
    assert any("put back deleted cells: setup, order_check" in n for n in built.notes)
    assert [(g.grade_id, g.points, len(g.keys)) for g in built.graded] == [
        ("add_check", 1.0, 1),
        ("order_check", 3.0, 1),
    ]
    assert "_R.seal(['99.add', '99.order'])" in [c.source for c in built.notebook.cells]


def test_a_deleted_answer_becomes_the_blank_stub_never_the_solution():
    built = assemble(hostile.solution(), hostile.variant(drop=("order_answer",)), "_R", "/s", "/r")
    source = dict(_labels_and_sources(built))["answer order_answer"]
    assert "raise NotImplementedError()" in source and "sorted" not in source


def test_grader_cells_frame_the_notebook_and_student_cells_never_run_before_the_seal():
    sub = hostile.variant()
    sub.cells.insert(0, nbformat.v4.new_code_cell("import builtins; builtins.len = None"))
    built = assemble(hostile.solution(), sub, "_R", "/secret", "/report")
    labels = built.labels
    assert labels[0] == "grader install"
    assert "_edp_install('/secret', '/report')" in built.notebook.cells[0].source
    assert labels.index("cell setup") < labels.index("grader seal") < labels.index("your cell 1")
    assert labels[-1] == "grader done"


def test_added_cells_keep_their_place_without_grading_metadata():
    sub = hostile.variant(insert_after={"add_check": "x = 1"})
    sub.cells[-1].metadata["nbgrader"] = {"grade": True, "points": 100, "grade_id": "add_check", "solution": False}
    built = assemble(hostile.solution(), sub, "_R", "/s", "/r")
    labels = built.labels
    at = labels.index("cell add_check")
    assert labels[at + 1].startswith("your cell")  # the added cell, right after the check it followed
    assert sum(g.points for g in built.graded) == 4  # a duplicate grade_id earns nothing


def test_graded_cells_without_check_calls_run_as_a_whole():
    source, keys, ids = rewrite_graded("assert add(1, 2) == 3", "_R", "t")
    assert ids == [] and source == f"_R.cell({keys[0]!r}, 'assert add(1, 2) == 3')"
    source, keys, ids = rewrite_graded("check('01.a', f)\ncheck('01.b', g, 2)", "_R", "t")
    assert len(keys) == 2 and len(set(keys)) == 2 and ids == ["01.a", "01.b"]
    assert f"_R.run({keys[1]!r}, '01.b', g, 2)" in source and keys[1].startswith("t#1#")


# ------------------------------------------------------------------ finding and trusting

def test_collect_follows_nbgrader_layout_and_flags_non_notebooks(tmp_path):
    for rel in ["submitted/alice/ps1/99_fixture.ipynb", "submitted/bob/ps1/99_fixture.ipynb",
                "submitted/bob/ps1/.ipynb_checkpoints/99_fixture-checkpoint.ipynb", "submitted/bob/ps1/notes.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    (tmp_path / "empty_folder").mkdir()
    (tmp_path / "essay.docx").write_text("x")
    subs = collect([str(tmp_path / "submitted"), str(tmp_path / "empty_folder"), str(tmp_path / "essay.docx")])
    rows = [(s.submission, s.student, s.notebook, s.result.get("status")) for s in subs]
    assert rows == [
        ("alice/ps1", "alice", "99_fixture.ipynb", None),
        ("bob/ps1", "bob", "99_fixture.ipynb", None),
        ("empty_folder", "empty_folder", "", "invalid"),
        (tmp_path.name, tmp_path.name, "essay.docx", "invalid"),
    ]


def test_only_report_lines_with_the_nonce_count(tmp_path):
    path = tmp_path / "report"
    path.write_text(repr(("n0nce", "run", "a#0", 0, True, "")) + "\n" + repr(("guess", "run", "a#0", 1, True, "")) +
                    "\n__import__('os').system('true')\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        reports, forged = read_reports(fd, "n0nce")
    finally:
        os.close(fd)
    assert reports == [("run", "a#0", 0, True, "")] and forged == 2


@pytest.mark.parametrize("content, why", [(b"", "empty"), (b"\xff\x00garbage", "not a notebook"),
                                          (b'{"cells": 3}', "not a notebook"), (b"[1, 2]", "not a notebook"),
                                          (b" " * 1001, "larger than")])
def test_files_that_are_not_notebooks_are_recognised(tmp_path, content, why, monkeypatch):
    monkeypatch.setattr("course_lib.grade.worker.MAX_NOTEBOOK_BYTES", 1000)
    path = tmp_path / "99_fixture.ipynb"
    path.write_bytes(content)
    nb, detail = read_notebook(path)
    assert nb is None and why in detail


# ------------------------------------------------------------------ the command

def _run_grader(tmp_path, paths, *extra, timeout=600):
    """Run the CLI with its own TMPDIR so every process it starts can be recognised afterwards."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "EDP_PROGRESS_FILE": "", "PYTHONPATH": str(ROOT)}
    out = tmp_path / "grades.csv"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", *map(str, paths), "--out", str(out),
                           "--course", str(COURSE), *TEST_LIMITS, *extra],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp_path)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return rows, proc, seconds, tmp


def _leftovers(*markers: str) -> list[str]:
    """Processes whose command line mentions a marker (our private TMPDIR, the daemon probe), after a short grace."""
    for _ in range(50):
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if any(m in cmdline for m in markers) and state != "Z":
                found.append(f"{pid}: {cmdline[:120]}")
        if not found:
            return []
        time.sleep(0.1)
    return found


def test_help_explains_the_command():
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", "--help"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0
    for word in ["--out", "--feedback", "--jobs", "--timeout", "--memory", "--max-procs", "--hidden", "--course",
                 "ok", "error", "timeout", "killed", "invalid", "Threat model"]:
        assert word in proc.stdout


def _cgroups() -> set[str]:
    return {p.name for p in Path("/sys/fs/cgroup/pids").glob("edp-grade-*")}


def _fork_flood_is_contained() -> bool:
    """A fork flood is only tested where Linux itself caps it: a pids cgroup, or not root (RLIMIT_NPROC)."""
    if os.geteuid() != 0:
        return True
    probe = PidsCgroup.create(f"edp-grade-testprobe-{os.getpid()}", 64)
    if probe is None:
        return False
    probe.destroy()
    return True


def test_a_few_rows_and_feedback_without_the_zygote(tmp_path):
    chosen = ["solved", "blank", "patched_check", "garbage"]
    expected = hostile.make_class(tmp_path / "class")
    for student in set(expected) - set(chosen):
        for f in (tmp_path / "class" / student).iterdir():
            f.unlink()
        (tmp_path / "class" / student).rmdir()
    rows, proc, _, tmp = _run_grader(tmp_path, [tmp_path / "class"], "--feedback", tmp_path / "fb", "--jobs", "2",
                                     "--no-preload")  # kernels started from scratch; the other tests fork them
    assert {s: (r["status"], float(r["score"])) for s, r in rows.items()} == {s: expected[s] for s in chosen}
    assert all(r["max_score"] == "4" and r["notebook"] == "99_fixture.ipynb" for r in rows.values())
    assert rows["blank"]["detail"].startswith("0/2 checks passed; 99.add: not written yet")
    assert "[4/4]" in proc.stderr  # progress on stderr
    feedback = (tmp_path / "fb" / "patched_check" / "99_fixture.md").read_text()
    assert "✘ the check in your notebook failed: add(" in feedback and "extra hidden cases: 0 of 2" in feedback
    assert "_edp_" not in feedback and "extra=True" not in feedback  # no grader code in the feedback
    assert "✔ the check in your notebook passed" in (tmp_path / "fb" / "solved" / "99_fixture.md").read_text()
    assert _leftovers(str(tmp), hostile.DAEMON_MARKER) == []


def test_without_a_cgroup_the_watchdog_still_grades(tmp_path):
    hostile.make_class(tmp_path / "class")
    rows, _, _, tmp = _run_grader(tmp_path, [tmp_path / "class" / "solved" / hostile.NAME,
                                             tmp_path / "class" / "infinite_loop" / hostile.NAME,
                                             tmp_path / "class" / "leaves_a_daemon" / hostile.NAME], "--no-cgroup")
    assert (rows["solved"]["status"], rows["solved"]["score"]) == ("ok", "4")
    assert (rows["leaves_a_daemon"]["status"], rows["leaves_a_daemon"]["score"]) == ("ok", "4")
    assert (rows["infinite_loop"]["status"], rows["infinite_loop"]["score"]) == ("timeout", "3")
    assert _leftovers(str(tmp), hostile.DAEMON_MARKER) == []


@pytest.mark.slow
def test_a_class_of_twenty_plain_and_hostile_submissions(tmp_path):
    expected = hostile.make_class(tmp_path / "class")
    cgroups_before = _cgroups()
    if not _fork_flood_is_contained():  # root without a pids cgroup: Linux would not cap a fork flood
        shutil.rmtree(tmp_path / "class" / "fork_flood")
        del expected["fork_flood"]
    assert len(expected) >= 20
    rows, proc, seconds, tmp = _run_grader(tmp_path, [tmp_path / "class"], "--jobs", str(os.cpu_count() or 2))
    got = {s: (r["status"], float(r["score"])) for s, r in rows.items()}
    assert got == expected, "\n".join(f"{s}: got {got.get(s)} ({rows.get(s, {}).get('detail')}), expected {e}"
                                      for s, e in expected.items() if got.get(s) != e)
    assert "ignored 6 forged report lines" in rows["forged_reports"]["detail"]
    assert "runner was called from outside its check cells" in rows["calls_the_runner"]["detail"]
    assert "fork_flood" not in expected or rows["fork_flood"]["detail"].startswith("process limit")
    assert rows["big_alloc"]["detail"].startswith("memory limit")
    assert rows["output_flood"]["detail"].startswith("output limit")
    assert "put back deleted cells" in rows["deleted_checks"]["detail"]
    assert _leftovers(str(tmp), hostile.DAEMON_MARKER) == []
    assert _cgroups() <= cgroups_before  # every cgroup the grader made is gone
    print(f"\n20 submissions graded in {seconds:.1f} s with {os.cpu_count()} jobs")


@pytest.mark.slow
def test_the_course_chapters_solutions_get_full_marks_and_blank_exercises_none(tmp_path):
    solutions = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if not solutions:
        pytest.skip("no chapter solutions yet")
    for folder, source in [("solved", ROOT / "solutions"), ("blank", ROOT / "exercises")]:
        (tmp_path / "class" / folder).mkdir(parents=True)
        for sol in solutions:
            if (source / sol.name).exists():
                (tmp_path / "class" / folder / sol.name).write_bytes((source / sol.name).read_bytes())
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(tmp_path / "class"), "--out", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path,
                          env={**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:
        assert row["status"] == "ok", row
        want = row["max_score"] if row["student"] == "solved" else "0"
        assert float(row["max_score"]) > 0 and row["score"] == want, row
    assert _leftovers(str(tmp), hostile.DAEMON_MARKER) == []


def test_a_report_for_the_right_key_but_another_exercise_does_not_count():
    from course_lib.grade.scoring import result_row

    built = assemble(hostile.solution(), hostile.variant(), "_R", "/s", "/r")
    add_key = built.graded[0].keys[0]

    class Client:
        nb, timed_out = built.notebook, []

    class Dog:
        reason, peak_procs, cgroup = None, 1, None

    reports = [("run", add_key, i, True, "", "00.trivial") for i in range(3)] + [("done",)]
    result = result_row(built, Client, Dog, None, 0, reports, 0, 2, Limits(), 1.0)
    assert result["checks"][0]["passed"] == 0
    reports = [("run", add_key, i, True, "", "99.add") for i in range(3)] + [("done",)]
    result = result_row(built, Client, Dog, None, 0, reports, 0, 2, Limits(), 1.0)
    assert result["checks"][0]["passed"] == 3 and result["score"] == 1


def test_the_zygote_forks_only_for_a_ticket_the_worker_registered(tmp_path):
    sock = tmp_path / "z.sock"
    zygote = subprocess.Popen(
        [sys.executable, "-m", "course_lib.grade.zygote", "serve", str(sock), "json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert zygote.stdout.readline().strip() == b"ready"
        import socket as socketlib

        for token in ["guessed", ""]:
            conn = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
            conn.connect(str(sock))
            conn.sendall(json.dumps({"token": token, "argv": []}).encode() + b"\n")
            conn.settimeout(10)
            assert conn.recv(100) == b""  # closed without forking anything
            conn.close()
        assert descendants(zygote.pid) == {}
    finally:
        zygote.stdin.close()
        zygote.wait(10)
    assert zygote.returncode == 0  # stdin closed: the zygote ends


@pytest.mark.slow
def test_total_and_cpu_time_limits_stop_what_an_interrupt_cannot(tmp_path):
    ignore = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    for student, loop in [("sleeper", "while True:\n    time.sleep(0.1)"), ("spinner", "while True:\n    pass")]:
        (tmp_path / "class" / student).mkdir(parents=True)
        nbformat.write(hostile.variant(order=ignore + loop), tmp_path / "class" / student / hostile.NAME)
    rows, _, _, tmp = _run_grader(tmp_path, [tmp_path / "class"], "--total-timeout", "12", "--cpu-time", "2",
                                  "--timeout", "2")
    assert (rows["sleeper"]["status"], rows["sleeper"]["score"]) == ("timeout", "1")
    assert rows["sleeper"]["detail"].startswith("time limit: more than 12 s")
    assert (rows["spinner"]["status"], rows["spinner"]["score"]) == ("timeout", "1")
    assert rows["spinner"]["detail"].startswith("CPU time limit: more than 2 s")
    assert _leftovers(str(tmp)) == []
