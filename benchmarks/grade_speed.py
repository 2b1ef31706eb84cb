"""How fast the classroom grader is: ``python benchmarks/grade_speed.py [NOTEBOOK] [--copies N] [--jobs N]``.

Grades N copies of one chapter's solution notebook (default: solutions/01_three_models.ipynb,
else the grader's fixture notebook) with ``python -m course_lib.grade`` and prints the wall time,
the CPU time of everything the grader started, and the target's measure: seconds per
submission per core = wall time * jobs / copies (the target is at most 3 s). Prints, never asserts.
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
FIXTURE = ROOT / "tests" / "grade_fixtures" / "course"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = ROOT / "solutions" / "01_three_models.ipynb"
    parser.add_argument("notebook", nargs="?", type=Path, default=default if default.exists() else FIXTURE / "solutions" / "99_fixture.ipynb")
    parser.add_argument("--copies", type=int, default=None, help="submissions to grade (default: 4 per job)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    copies = args.copies or 4 * args.jobs
    course = args.notebook.resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="edp-grade-bench-") as tmp:
        for i in range(copies):
            folder = Path(tmp) / "class" / f"student{i:02d}"
            folder.mkdir(parents=True)
            shutil.copy(args.notebook, folder / args.notebook.name)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "course_lib.grade", str(Path(tmp) / "class"), "--out",
                               str(Path(tmp) / "grades.csv"), "--course", str(course), "--jobs", str(args.jobs)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows = (Path(tmp) / "grades.csv").read_text().splitlines()[1:] if proc.returncode == 0 else []
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ok = sum(",ok," in row for row in rows)
    per_core = wall * args.jobs / copies
    print(f"notebook: {args.notebook.relative_to(ROOT) if args.notebook.is_relative_to(ROOT) else args.notebook}")
    print(f"graded {len(rows)} submissions ({ok} ok) with {args.jobs} jobs on {os.cpu_count()} cores in {wall:.1f} s")
    print(f"wall time per submission per core: {per_core:.2f} s (target: at most 3 s) -> "
          f"{'within' if per_core <= 3 else 'OVER'} target")
    print(f"CPU time per submission (grader, workers, kernels): {cpu / copies:.2f} s")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (other work on the machine slows this down)")
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
