"""Grade a class: find the submitted notebooks, farm them out to workers, write the CSV and feedback.

What it is: ``collect(paths)`` (one ``Submission`` per notebook file found, folders searched
recursively as nbgrader lays them out: ``submitted/<student>/<assignment>/NN_name.ipynb``),
``grade_all`` (``jobs`` worker processes, each grading one notebook at a time; a worker that
does not answer in time is killed with everything it started and replaced), ``write_csv`` and
``write_feedback``; ``row_key`` and ``feedback_path`` say which row and which feedback file a
notebook gets (``shards`` and ``merge`` rely on both).

What it is not: the part that touches student code; that is ``worker.py`` and the kernel.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import secrets
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.grade.limits import Limits
from course_lib.grade.processes import clean_up

COLUMNS = ["submission", "student", "notebook", "score", "max_score", "status", "detail", "checks", "seconds"]
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git"}


@dataclass
class Submission:
    path: Path
    submission: str  # the notebook's folder below the PATH given (student/assignment), or its folder's name
    student: str
    notebook: str
    result: dict = field(default_factory=dict)


def collect(paths: list[str]) -> list[Submission]:
    found: list[Submission] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            notebooks = sorted(p for p in path.rglob("*.ipynb")
                               if p.is_file() and not (set(p.relative_to(path).parts[:-1]) & SKIP_DIRS)
                               and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not notebooks:
                found.append(Submission(path, path.resolve().name, path.resolve().name, "",
                                        {"status": "invalid", "detail": "no notebook (.ipynb) in this folder"}))
            for nb in notebooks:
                rel = nb.parent.relative_to(path)
                folder = rel.as_posix() if rel.parts else path.resolve().name
                student = rel.parts[0] if rel.parts else path.resolve().name
                found.append(Submission(nb, folder, student, nb.name))
        else:
            folder = path.resolve().parent.name
            sub = Submission(path, folder, folder, path.name)
            if not path.exists():
                sub.result = {"status": "invalid", "detail": "no such file"}
            elif path.suffix != ".ipynb":
                sub.result = {"status": "invalid", "detail": "not a notebook file (.ipynb)"}
            found.append(sub)
    return found


def max_points(solution: Path) -> float:
    try:
        cells = json.loads(solution.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return 0.0
    return float(sum((c.get("metadata", {}).get("nbgrader", {}) or {}).get("points", 0) or 0
                     for c in cells if (c.get("metadata", {}).get("nbgrader", {}) or {}).get("grade")))


class Worker:
    """One ``python -m course_lib.grade.worker`` process; restarted when it fails or hangs."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def _start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "course_lib.grade.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True, text=True, bufsize=1,
        )

    def grade(self, job: dict, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            line = self.proc.stdout.readline() if ready else ""
        except (OSError, ValueError):
            line = ""
        if line:
            try:
                return json.loads(line)
            except ValueError:
                pass
        hung = self.proc.poll() is None
        self.kill(job.get("cgroup_name"))
        if hung:
            return {"status": "timeout", "detail": f"the grader's worker did not finish within {timeout:g} s; killed"}
        return {"status": "error", "detail": "the grader's worker process died"}

    def kill(self, cgroup_name: str | None = None):
        """Kill the worker with everything it started, and the pids cgroup of its notebook."""
        if self.proc is None:
            return
        clean_up(self.proc.pid, cgroups=cgroup_name or "", include_root=True)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


def grade_all(subs: list[Submission], course: Path, limits: Limits, jobs: int, hidden: int = 2,
              use_cgroup: bool = True, preload: bool = True, progress=None) -> list[Submission]:
    mpl_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"edp-grade-mpl-{os.getuid()}"
    sys_path = [str(course.resolve()), str(Path(__file__).resolve().parents[2])]
    todo: queue.Queue = queue.Queue()
    for sub in subs:
        if sub.result:
            sub.result.setdefault("score", 0.0)
            sub.result.setdefault("max_score", max_points(course / "solutions" / sub.notebook) if sub.notebook else 0.0)
            continue
        solution = course / "solutions" / sub.notebook
        if not solution.exists():
            sub.result = {"status": "invalid", "score": 0.0, "max_score": 0.0,
                          "detail": f"no exercise named {sub.notebook} in {course / 'solutions'}"}
            continue
        todo.put(sub)
    done_count = [0]
    lock = threading.Lock()
    for sub in subs:  # rows decided without running anything come first
        if sub.result:
            done_count[0] += 1
            if progress:
                progress(done_count[0], len(subs), sub)
    per_job = limits.total_timeout + 60  # kernel start, teardown, a loaded machine

    def work():
        worker = Worker()
        try:
            while True:
                try:
                    sub = todo.get_nowait()
                except queue.Empty:
                    return
                solution = course / "solutions" / sub.notebook
                job = {"notebook": str(sub.path.resolve()), "solution": str(solution.resolve()),
                       "limits": limits.to_dict(), "hidden": hidden, "sys_path": sys_path, "mpl_dir": str(mpl_dir),
                       "use_cgroup": use_cgroup, "preload": preload,
                       "cgroup_name": f"edp-grade-{os.getpid()}-{secrets.token_hex(4)}"}
                started = time.monotonic()
                sub.result = worker.grade(job, per_job)
                sub.result.setdefault("seconds", round(time.monotonic() - started, 2))
                if sub.result.get("status") in ("invalid", "error", "timeout") and not sub.result.get("max_score"):
                    sub.result["max_score"] = max_points(solution)
                with lock:
                    done_count[0] += 1
                    if progress:
                        progress(done_count[0], len(subs), sub)
        finally:
            worker.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return subs


def _name(check: dict) -> str:
    return check.get("name") or check["grade_id"]


def checks_summary(result: dict) -> str:
    """The CSV's checks column: ``01.predict=2/2 01.bounds=0/2``."""
    return " ".join(f"{_name(c).replace(', ', '+')}={c['score']:g}/{c['points']:g}" for c in result.get("checks", []))


def _once(hint: str, said: set) -> str:
    """A hint in full the first time; after that a short reminder (a blank notebook says "not written yet" once)."""
    if hint not in said:
        said.add(hint)
        return hint
    return "not written yet (see above)" if hint.startswith("not written yet") else "the same hint as above"


def _cell(text: object) -> str:
    """One line, and never a spreadsheet formula (folder names and hints can come from students)."""
    text = " ".join(str(text).split())
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def row_key(sub: Submission) -> tuple[str, str]:
    """A row's identity in the gradebook: its ``submission`` and ``notebook`` cells, as the CSV shows them."""
    return _cell(sub.submission), _cell(sub.notebook)


def write_csv(subs: list[Submission], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for sub in subs:
            r = sub.result
            writer.writerow({
                "submission": row_key(sub)[0], "student": _cell(sub.student), "notebook": row_key(sub)[1],
                "score": f"{float(r.get('score', 0)):g}", "max_score": f"{float(r.get('max_score', 0)):g}",
                "status": r.get("status", "error"), "detail": _cell(r.get("detail", "")),
                "checks": checks_summary(r), "seconds": r.get("seconds", ""),
            })


def feedback_text(sub: Submission) -> str:
    r = sub.result
    lines = [f"# Feedback: {sub.notebook} ({sub.submission})", "",
             f"Score: {float(r.get('score', 0)):g} of {float(r.get('max_score', 0)):g} points. "
             f"Status: {r.get('status')}.",
             f"{r.get('detail', '')}", ""]
    said: set = set()  # hints given in full so far (the summary line above is the CSV's, and not counted)
    for c in r.get("checks", []):
        lines.append(f"## {_name(c)}: {c['score']:g} of {c['points']:g} points")
        public = [x for x in c["results"] if not x["hidden"]]
        hidden = [x for x in c["results"] if x["hidden"]]
        for x in public:
            if x["passed"]:
                lines.append("- ✔ the check in your notebook passed")
            elif x["reported"]:
                lines.append(f"- ✘ the check in your notebook failed: {_once(x['hint'], said)}")
            else:
                lines.append(f"- ✘ the check did not run{': ' + c['error'] if c['error'] else ''}")
        if hidden:
            ok = sum(x["passed"] for x in hidden)
            line = f"- {'✔' if ok == len(hidden) else '✘'} extra hidden cases: {ok} of {len(hidden)} runs passed"
            hint = next((x["hint"] for x in hidden if x["reported"] and not x["passed"]), "")
            shown = {x["hint"] for x in public if x["reported"] and not x["passed"]}
            lines.append(line + (f" (first failure: {_once(hint, said)})" if hint and hint not in shown else ""))
        lines.append("")
    errors = r.get("cell_errors", [])
    if errors:
        lines.append("## Errors in your cells")
        lines += [f"- {e['label']}: {e['ename']}: {e['evalue']}" for e in errors[:20]]
        lines.append("")
    return "\n".join(lines)


def feedback_path(sub: Submission) -> str:
    """Where a notebook's feedback goes, below the feedback folder: ``alice/ps1/01_three_models.md``."""
    parts = [p for p in Path(sub.submission).parts if p not in ("/", "..", ".", "\\")]
    return Path(*parts, (Path(sub.notebook).stem or "submission") + ".md").as_posix()


def write_feedback(subs: list[Submission], folder: Path) -> None:
    for sub in subs:
        target = folder / feedback_path(sub)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback_text(sub))
