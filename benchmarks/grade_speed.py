"""How fast the classroom grader is: ``python benchmarks/grade_speed.py [NOTEBOOK] [--copies N] [--jobs N]``.

Grades N copies of one chapter's solution notebook (default: solutions/01_three_models.ipynb,
else the grader's fixture notebook) with ``python -m course_lib.grade``, once with kernels
forked from the zygote (the default) and once started from scratch (``--no-preload``), and
prints for each the target's measure, seconds per submission per core = wall time * jobs /
copies (the target is at most 3 s), the CPU seconds per submission of everything the grader
started, and the ratio of the two ways. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "grade_fixtures"


def grade_copies(notebook: Path, copies: int, jobs: int, *extra: str) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of everything started, rows, ok rows) for ``copies`` submissions."""
    course = notebook.resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="edp-grade-bench-") as tmp:
        for i in range(copies):
            folder = Path(tmp) / "class" / f"student{i:02d}"
            folder.mkdir(parents=True)
            shutil.copy(notebook, folder / notebook.name)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(Path(tmp) / "class"), "--out",
                               str(Path(tmp) / "grades.csv"), "--course", str(course), "--jobs", str(jobs), *extra],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
        rows = (Path(tmp) / "grades.csv").read_text().splitlines()[1:] if proc.returncode == 0 else []
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, len(rows), sum(",ok," in row for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = ROOT / "solutions" / "01_three_models.ipynb"
    parser.add_argument("notebook", nargs="?", type=Path, default=default if default.exists() else None,
                        help="a solution notebook in a course's solutions/ (default: chapter 01, else the fixture)")
    parser.add_argument("--copies", type=int, default=None, help="submissions to grade (default: 6 per job)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    copies = args.copies or 6 * args.jobs
    if args.notebook is None:  # no chapter yet: the grader tests' fixture course, built in a temporary folder
        sys.path.insert(0, str(FIXTURES))
        from build_fixture import build

        args.notebook = build(Path(tempfile.mkdtemp(prefix="edp-grade-bench-course-")))
    args.notebook = args.notebook.resolve()
    shown = args.notebook.relative_to(ROOT) if args.notebook.is_relative_to(ROOT) else args.notebook
    print(f"notebook: {shown}; {copies} submissions, {args.jobs} jobs, {os.cpu_count()} cores")
    results = {}
    for label, extra in [("forked from the zygote", ()), ("started from scratch (--no-preload)", ("--no-preload",))]:
        wall, cpu, rows, ok = grade_copies(args.notebook, copies, args.jobs, *extra)
        per_core = wall * args.jobs / copies
        results[label] = (per_core, cpu / copies)
        print(f"kernels {label}: {rows} rows ({ok} ok) in {wall:.1f} s; per submission per core "
              f"{per_core:.2f} s wall (target <= 3 s: {'within' if per_core <= 3 else 'OVER'}), "
              f"{cpu / copies:.2f} s CPU")
    (fast_wall, fast_cpu), (slow_wall, slow_cpu) = results.values()
    print(f"ratio scratch/zygote: {slow_wall / fast_wall:.2f}x wall, {slow_cpu / fast_cpu:.2f}x CPU")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on the machine inflates "
          "wall times; CPU seconds per submission do not depend on it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
