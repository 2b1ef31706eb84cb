"""``python -m course_lib.grade PATH... --out grades.csv [--shard K/N]`` and ``python -m course_lib.grade merge``.

See ``--help``, ``course_lib/grade/__init__.py`` (grading), ``shards.py`` (the ``--shard`` rule) and
``merge.py`` (joining the shards' gradebooks).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from course_lib import validate
from course_lib.grade.batch import collect, grade_all, row_key, write_csv, write_feedback
from course_lib.grade.limits import Limits
from course_lib.grade.processes import PidsCgroup, clean_up, set_subreaper
from course_lib.grade.scoring import shorten
from course_lib.grade.shards import deal, duplicates, manifest_path, parse_shard, write_manifest

DEFAULT_COURSE = Path(__file__).resolve().parents[2]

DESCRIPTION = """\
Grade students' exercise notebooks of the course and write one CSV row per notebook.
(To join the CSVs of a class graded in shards: python -m course_lib.grade merge --help.)

PATH is a notebook file or a folder searched recursively for *.ipynb, e.g. nbgrader's
submitted/<student>/<assignment>/NN_name.ipynb or <student>/NN_name.ipynb. A notebook is
matched with solutions/NN_name.ipynb of the course by its file name.

Every notebook runs in a fresh kernel, in a temporary folder holding only that notebook,
with its locked cells (setup, demos, checks) restored from the course, under limits on
wall time per cell and in total, CPU time, memory, processes and output. The score comes
from the course's checks run by the grader itself: the notebook's own cases plus --hidden
extra runs with unseen random cases (check(..., extra=True)). A check cell worth 1 point
needs every run to pass; a cell worth more earns points * (runs passed / runs).
"""

EPILOG = """\
CSV columns: submission (the notebook's folder below PATH, e.g. alice/ps1), student (its
first part), notebook, score, max_score, status, detail
(one line), checks (exercise=score/points ..., e.g. 01.predict=2/2), seconds. status is one of
  ok       ran to the end within the limits (failed checks just score 0)
  error    the kernel died or exited (os._exit, crash) or the notebook did not run to its end
  timeout  a cell ran longer than --timeout, or the notebook longer than --total-timeout / --cpu-time
  killed   a limit was hit: memory, processes, output size
  invalid  not a notebook, empty, or no exercise of that name in solutions/
Checks that reported before an error/timeout/kill keep their points.

Progress goes to stderr. The exit code is 0 when every notebook got its row.

A large class on several machines: each grades one share with --shard K/N (K counts from 0,
so --shard $JOB_COMPLETION_INDEX/8 in a Kubernetes Indexed Job, $SLURM_ARRAY_TASK_ID/8 in a
SLURM array --array=0-7); the share depends only on the notebooks' paths below PATH. Each run
writes its CSV and, beside it, OUT with .manifest.json (the whole class and its share). Then
  python -m course_lib.grade merge shard-*.csv --out grades.csv [--feedback DIR --shard-feedback DIR...]
joins them into the gradebook a single run writes, refusing duplicate or missing notebooks
(python -m course_lib.grade merge --help).

Student code runs as your user: for high stakes run this in a container (see
course_lib/grade/__init__.py, "Threat model").
"""


def _number(rule, **bounds):
    """An argparse ``type``: the text as a number that ``validate.<rule>`` accepts, else a usage error."""

    def parse(text: str):
        try:
            value = float(text) if rule is validate.seconds else int(text)
        except ValueError:
            value = text  # not a number at all: validate says what was expected
        try:
            return rule(value, "the value", **bounds)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _shard(text: str):
    try:
        return parse_shard(text)
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m course_lib.grade", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Limits()
    p.add_argument("paths", nargs="+", metavar="PATH", help="notebook files or folders of them")
    p.add_argument("--out", required=True, type=Path, help="the CSV file to write")
    p.add_argument("--feedback", type=Path, metavar="DIR",
                   help="write DIR/<submission>/<notebook>.md per notebook: checks passed and failed, with hints")
    p.add_argument("--jobs", type=_number(validate.count, minimum=1), default=os.cpu_count() or 1, metavar="N",
                   help="notebooks graded at once (default: the number of cores, %(default)s here)")
    p.add_argument("--timeout", type=_number(validate.seconds, above=0), default=d.cell_timeout, metavar="S",
                   help="wall seconds per cell before the kernel is interrupted (default %(default)g)")
    p.add_argument("--total-timeout", type=_number(validate.seconds, above=0), default=d.total_timeout, metavar="S",
                   help="wall seconds per notebook before it is killed (default %(default)g)")
    p.add_argument("--cpu-time", type=_number(validate.seconds, above=0), default=None, metavar="S",
                   help="CPU seconds per notebook, all its processes (default: --total-timeout)")
    p.add_argument("--memory", type=_number(validate.count, minimum=1), default=d.memory_mib, metavar="MiB",
                   help="address space per process and resident memory in total (default %(default)s)")
    p.add_argument("--max-procs", type=_number(validate.count, minimum=1), default=d.max_procs, metavar="N",
                   help="processes a notebook may run at once "
                        f"(default %(default)s; threads and processes: {d.max_tasks})")
    p.add_argument("--max-output", type=_number(validate.count, minimum=1), default=d.max_output, metavar="BYTES",
                   help="text a notebook may print, tracebacks included (default %(default)s); "
                        "pictures and other rich output may take 20 times that")
    p.add_argument("--hidden", type=_number(validate.count, minimum=0), default=2, metavar="N",
                   help="extra runs of each check with hidden cases and unseen seeds (default %(default)s)")
    p.add_argument("--course", type=Path, default=DEFAULT_COURSE, metavar="DIR",
                   help="course folder holding solutions/ (default: %(default)s); it is put on the kernel's "
                        "sys.path, so a course outside this package can register its checks from a module there")
    p.add_argument("--shard", type=_shard, metavar="K/N",
                   help="grade only shard K of N (K = 0 ... N-1) of the notebooks found, and write the "
                        "manifest merge needs beside --out; the same K/N picks the same notebooks on any machine")
    p.add_argument("--no-cgroup", action="store_true", help="do not use a pids cgroup even if one can be made")
    p.add_argument("--no-preload", action="store_true",
                   help="start every kernel from scratch instead of forking it from a pre-imported one (slower)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:  # a folder called merge: write ./merge
        from course_lib.grade.merge import main as merge

        return merge(argv[1:])
    args = parse_args(argv)
    if not (args.course / "solutions").is_dir():
        print(f"error: {args.course / 'solutions'} is not a folder (use --course DIR)", file=sys.stderr)
        return 2
    limits = Limits(cell_timeout=args.timeout, total_timeout=args.total_timeout,
                    cpu_time=args.cpu_time if args.cpu_time is not None else args.total_timeout,
                    memory_mib=args.memory, max_procs=args.max_procs, max_output=args.max_output)
    if not sys.platform.startswith("linux"):
        print("warning: the grader's limits and clean-up need Linux (/proc, prctl, cgroups); "
              "elsewhere only the rlimits and timeouts hold", file=sys.stderr)
    set_subreaper()
    subs = collect(args.paths)
    everyone, share = subs, list(range(len(subs)))
    if args.shard:
        index, count = args.shard
        keys = [row_key(sub) for sub in subs]
        twice = duplicates(keys)
        if twice:
            print(f"error: --shard needs each notebook to have its own row, but {len(twice)} submission/notebook "
                  f"pair(s) occur twice, e.g. {'/'.join(twice[0])}: grade one folder that holds them all",
                  file=sys.stderr)
            return 2
        share = [i for i, shard in enumerate(deal(keys, count)) if shard == index]
        subs = [everyone[i] for i in share]
    use_cgroup = not args.no_cgroup
    if use_cgroup:
        probe = PidsCgroup.create(f"edp-grade-probe-{os.getpid()}", limits.max_tasks)
        use_cgroup = probe is not None
        if probe:
            probe.destroy()
    if not use_cgroup and os.geteuid() == 0:
        print("warning: running as root without a pids cgroup: the process limit is only the watchdog's "
              "(see the threat model in course_lib/grade/__init__.py)", file=sys.stderr)
    of = f" (shard {args.shard[0]}/{args.shard[1]} of {len(everyone)})" if args.shard else ""
    print(f"grading {len(subs)} notebook(s){of} with {args.jobs} job(s)"
          f"{' (pids cgroup)' if use_cgroup else ''}", file=sys.stderr)
    start = time.monotonic()

    def progress(done, total, sub):
        r = sub.result
        print(f"[{done}/{total}] {sub.submission}/{sub.notebook}: {r.get('status')} "
              f"{float(r.get('score', 0)):g}/{float(r.get('max_score', 0)):g} ({r.get('seconds', '?')} s) "
              f"{shorten(r.get('detail', ''), 100)}", file=sys.stderr, flush=True)

    try:
        grade_all(subs, args.course, limits, args.jobs, hidden=args.hidden, use_cgroup=use_cgroup,
                  preload=not args.no_preload, progress=progress)
    finally:  # anything that escaped to us as subreaper, and the cgroups of killed workers (Ctrl-C, a hang)
        clean_up(os.getpid(), cgroups=f"edp-grade-{os.getpid()}-*")
    write_csv(subs, args.out)
    if args.feedback:
        write_feedback(subs, args.feedback)
    if args.shard:
        write_manifest(args.out, everyone, *args.shard, share, feedback=bool(args.feedback))
    else:  # an earlier sharded run's manifest would no longer describe this CSV
        manifest_path(args.out).unlink(missing_ok=True)
    counts = {}
    for sub in subs:
        counts[sub.result.get("status")] = counts.get(sub.result.get("status"), 0) + 1
    print(f"graded {len(subs)} notebook(s) in {time.monotonic() - start:.1f} s: "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f"; wrote {args.out}"
          + (" and its manifest" if args.shard else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
