"""Score one graded run: from what the kernel and the watchdog left behind to one CSV row.

What it is: ``read_reports`` reads the report file the graded kernel wrote (``harness.py``)
and keeps only the lines that carry this run's nonce; ``result_row`` turns those reports,
the executed notebook's error outputs and the watchdog's verdict into the row the batch
writes (status, score, detail) plus what the feedback needs (each check's runs and hints).

A check cell worth 1 point needs every run to pass (the notebook's own and the hidden ones);
a cell worth more earns ``points * runs passed / runs``. A run that never reported counts
as failed, so a notebook can lose points by crashing or tampering, never gain them.

Checks are named as students know them: by the exercise ids their cell checks (``01.predict``),
not by the cell's ``grade_id`` (``predict_check``), which is the fallback for a cell that names
none. Text from a run is shortened at a word boundary with an ellipsis (``shorten``), never
mid-word.

What it is not: the runner. Starting the kernel and executing the cells is ``worker.py``.
"""

from __future__ import annotations

import ast
import os

__all__ = ["row", "read_reports", "cell_errors", "result_row", "shorten", "check_name"]


def shorten(text: object, width: int) -> str:
    """``text`` on one line, at most ``width`` characters: cut after a whole word, with "…" added."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[:width]  # room for the ellipsis: the word cut in two is dropped, and the space before it
    cut = cut[:cut.rfind(" ")] if " " in cut else cut[:width - 1]
    return cut.rstrip(" ,;:") + "…"


def check_name(grade_id: str, exercise_ids) -> str:
    """How a student knows a check cell: its exercise ids (``01.predict``), else its ``grade_id``."""
    named = list(dict.fromkeys(e for e in exercise_ids if e))
    return ", ".join(named) if named else grade_id


def row(status: str, detail: str, score=0.0, max_score=0.0, **more) -> dict:
    """One result: the CSV row's own fields (detail on one line, at most 300 characters) and ``more``."""
    return {"status": status, "detail": shorten(detail, 300), "score": round(score, 2),
            "max_score": round(max_score, 2), **more}


def read_reports(fd: int, nonce: str):
    """``(reports, forged)``: the fields of every report line that carries ``nonce``, and how many did not."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
        if sum(map(len, chunks)) > 16 << 20:
            break
    reports, forged = [], 0
    for line in b"".join(chunks).decode(errors="replace").splitlines():
        if not line.startswith(f"('{nonce}', "):  # not even worth parsing
            forged += 1
            continue
        try:
            fields = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            forged += 1
            continue
        if isinstance(fields, tuple) and fields and fields[0] == nonce:
            reports.append(fields[1:])
        else:
            forged += 1
    return reports, forged


def cell_errors(nb, labels):
    """The error outputs of the executed notebook: ``[{"label", "ename", "evalue"}, ...]``."""
    errors = []
    for cell, label in zip(nb.cells, labels):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append({"label": label, "ename": str(out.get("ename", "")),
                               "evalue": shorten(out.get("evalue", ""), 200)})
    return errors


def result_row(built, client, watchdog, crash, exit_code, reports, forged, hidden, limits, seconds) -> dict:
    """The row of one graded notebook: each check cell's score from its runs, then the status
    (the first of: a limit the watchdog hit, a dead kernel, a cell timeout, memory, processes,
    a run that did not reach the end) and a one-line detail."""
    runs = {}
    events = set()
    threads_seen = False
    wanted_exercise = {}  # key -> the exercise its pristine check call names (None: not a constant)
    for g in built.graded:
        for key, eid in zip(g.keys, [""] if g.whole_cell else g.exercise_ids):
            wanted_exercise[key] = eid
    for fields in reports:
        if fields and fields[0] == "run" and len(fields) == 6:
            _, key, index, passed, hint, exercise_id = fields
            if key not in wanted_exercise or wanted_exercise[key] not in (None, exercise_id):
                events.add("refused")  # a key no check cell has, or another exercise's check: not a result
                continue
            runs.setdefault((str(key), int(index)), (bool(passed), str(hint)))
        elif fields:
            events.add(str(fields[0]))
            if fields[0] == "threads":
                threads_seen = True
    errors = cell_errors(client.nb, built.labels)
    checks, total, max_total, n_passed = [], 0.0, 0.0, 0
    for g in built.graded:
        expected = [(g.keys[0], 0)] if g.whole_cell else [(key, i) for key in g.keys for i in range(1 + hidden)]
        got = [runs.get(k) for k in expected]
        passed = sum(1 for r in got if r and r[0])
        fraction = passed / len(expected)
        score = g.points * fraction if g.points > 1 else (g.points if fraction == 1 else 0.0)
        cell_error = next((f"{e['ename']}: {e['evalue']}" for e in errors if e["label"] == f"cell {g.grade_id}"), "")
        checks.append({
            "grade_id": g.grade_id, "name": check_name(g.grade_id, g.exercise_ids), "points": g.points,
            "score": round(score, 2), "passed": passed,
            "runs": len(expected),
            "results": [{"key": k, "run": i, "hidden": i > 0, "reported": r is not None,
                         "passed": bool(r and r[0]), "hint": r[1] if r else ""} for (k, i), r in zip(expected, got)],
            "error": cell_error,
        })
        total += score
        max_total += g.points
        n_passed += fraction == 1
    timed_out = [built.labels[i] for i in client.timed_out if 0 <= i < len(built.labels)]
    memory = next((e["label"] for e in errors if e["ename"] == "MemoryError"), None)
    fork_failed = next((e["label"] for e in errors if e["ename"] == "BlockingIOError" and "11" in e["evalue"]), None)
    if watchdog.reason:
        status, detail = watchdog.reason
    elif crash is not None and type(crash).__name__ == "DeadKernelError":
        how = f"signal {-exit_code}" if isinstance(exit_code, int) and exit_code < 0 else \
            f"exit code {exit_code}" if exit_code is not None else "no exit code"
        status, detail = "error", f"the kernel died ({how}), e.g. os._exit() or a crash; later cells did not run"
    elif crash is not None:
        said = shorten(str(crash).splitlines()[0], 150) if str(crash) else ""
        status, detail = "error", f"grading stopped: {type(crash).__name__}: {said}"
    elif timed_out:
        status, detail = "timeout", f"{timed_out[0]} ran longer than {limits.cell_timeout:g} s and was interrupted"
    elif memory:
        status, detail = "killed", f"memory limit ({limits.memory_mib} MiB): MemoryError in {memory}"
    elif fork_failed:
        status, detail = "killed", f"process limit: could not start a process in {fork_failed}"
    elif "done" not in events:
        status, detail = "error", "the notebook did not run to its end (the grader's last cell never reported)"
    else:
        status, detail = "ok", ""
    summary = f"{n_passed}/{len(built.graded)} checks passed"
    if status != "ok":
        detail = f"{detail}; {summary}"
    else:
        failed = [c for c in checks if c["passed"] < c["runs"]]
        detail = summary
        if failed:
            first = failed[0]
            hint = next((r["hint"] for r in first["results"] if r["reported"] and not r["passed"]), "")
            hint = hint or first["error"] or "no result"
            detail += f"; {first['name']}: {hint}"
    if forged:
        detail += f"; ignored {forged} forged report lines"
    if "refused" in events:
        detail += "; the grader's runner was called from outside its check cells"
    if threads_seen:
        detail += "; threads started by the notebook were running during the checks"
    if built.notes:
        detail += "; " + "; ".join(built.notes)
    students = [e for e in errors if e["label"].startswith(("your cell", "answer"))]
    return row(status, detail, total, max_total, checks=checks, cell_errors=students,
                seconds=round(seconds, 2), peak_procs=watchdog.peak_procs, cgroup=bool(watchdog.cgroup))
