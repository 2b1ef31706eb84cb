"""Classroom grading: ``python -m course_lib.grade PATH... --out grades.csv [--feedback DIR]``.

What it is: a batch grader for the exercise notebooks. Each submitted ``NN_name.ipynb`` is
matched with ``solutions/NN_name.ipynb`` by file name, its pristine cells are restored, it runs
in a fresh kernel in its own temporary folder under time, CPU, memory, process and output
limits, and the checks (the notebook's own and extra hidden cases, ``check(..., extra=True)``
with fresh random seeds) score it. One CSV row per notebook, whatever the notebook does.

Modules, in the order a notebook meets them:

- ``batch``    find notebooks, run workers in parallel, write the CSV and the feedback
- ``worker``   grade one notebook: temporary folders, kernel, nbclient, result
- ``assemble`` student answers inside the pristine course notebook, checks rewritten
- ``zygote``   a pre-imported interpreter that forks each fresh kernel (saves ~1 CPU s each)
- ``sandbox``  the kernel's start: cgroup, limits, environment, then ipykernel
- ``limits``   the numbers, the rlimits, the watchdog that measures the kernel's processes
- ``processes`` find every process a grading started (``/proc``, a pids cgroup) and kill them
  all: ``clean_up``, the one way every grading, a hung worker and the batch itself end
- ``harness``  the grader's code inside the kernel: undo patches, run checks, report with a nonce
- ``scoring``  the kernel's nonce-tagged reports and the watchdog's verdict -> one CSV row
- ``shards``   ``--shard K/N``: which notebooks one machine grades, and the manifest it leaves
- ``merge``    ``python -m course_lib.grade merge``: the shards' CSVs and feedback -> one gradebook

Scoring: each check call runs once as the notebook runs it and ``--hidden`` (2) more times
with ``extra=True`` and fresh random seeds. A check cell worth 1 point needs every run to
pass; a cell worth more gets ``points * runs passed / runs`` (passing the notebook's own
cases but not the hidden ones earns a third). A course's checks for a notebook outside this
package are found by putting its folder (``--course DIR``) on the kernel's ``sys.path``: the
pristine setup cell imports a module there that registers them (see tests/grade_fixtures).

Threat model
------------
Defended (a submission can do this and still gets exactly one honest row, and the batch goes on):

- Editing or deleting test/setup/demo cells: every locked cell is replaced by the course's
  pristine copy, keyed by nbgrader ``grade_id``; deleted cells are put back in place; a
  deleted answer cell becomes the blank stub. Cells the student added stay, ungraded, and
  never run before the grader's seal (right after the pristine setup cell).
- Faking results: scores never come from printed text, error outputs or ``check`` itself.
  Every pristine ``check(...)`` call is rewritten into a call of the grader's runner with a
  random per-call token. Before each run the runner undoes patches to ``course_lib``
  (module globals, function code, class attributes, the check registry), to ``builtins``
  and the Python classes and functions of the standard modules checks use (``random``,
  ``socket``, ``threading``, ...), ``sys.stdout``/``stderr``, the recursion limit and
  trace/profile hooks, then runs the genuine check once as the notebook does and
  ``--hidden`` more times with ``extra=True`` and seeds the student never saw. Each run is
  reported as one line tagged with a per-run random nonce, written to a file descriptor
  opened before any student code ran (the file and the secret file are unlinked at once).
  The worker ignores lines without the nonce, with a key no check cell has, or naming
  another exercise, and counts every run that did not report as failed. So redefining
  ``check``, patching ``course_lib.check`` in ``sys.modules``, ``builtins``, ``print``,
  ``sys.stdout``, ``random.Random``, printing fake ``✔`` lines, writing forged lines to the
  report descriptor, calling the runner from another cell, raising ``SystemExit`` or
  swallowing errors earns nothing; forged lines, stray runner calls and threads still
  running during checks are named in ``detail`` for a human to look at.
- Hanging, crashing, exiting: per-cell wall time (the kernel is interrupted, the next cell
  runs), total wall time and total CPU time (the process tree is killed), ``sys.exit`` (just
  an error in that cell), ``os._exit`` or a segfault (status ``error``, checks that already
  reported keep their points).
- Resource abuse: ``RLIMIT_AS`` per process plus the watchdog's total resident memory,
  process count (a pids cgroup with ``pids.max`` when one can be created, which Linux
  enforces even for root; ``RLIMIT_NPROC`` when not root; the watchdog's count always),
  output bytes, file size. When grading ends, every process in the cgroup and every
  descendant of the worker (a child subreaper, so double-forked orphans stay in its tree)
  is killed. Output on stderr and warnings costs nothing (within the output limit).
- A fresh kernel per submission: a kernel is a new process (forked from the zygote, which
  never runs student code, or started from scratch with ``--no-preload``) in a temporary
  folder holding only that notebook; the zygote forks only for one-time tickets the worker
  registered, so finding its socket does not buy an unlimited process.
- Files that are not notebooks, empty files, unknown exercise names: status ``invalid``.

Not defended (needs a container, or JupyterHub + nbgrader with per-user isolation):

- The kernel runs as the grader's user. Student code can read and write whatever that user
  can (other students' submissions, the grader's files, ``~/.ssh``, the CSV being written,
  files later kernels read such as the course folder or the shared matplotlib cache),
  open network connections, and, when the grader runs as root, leave the cgroup, read the
  worker's memory or kill other processes.
- Python has no wall inside one process. A student who reads this package can target the
  harness in memory: find the nonce or the hidden seeds with ``gc``, frames or ``ctypes``;
  patch what the runner does not restore (C-level state, modules it does not guard, objects
  the checks share with the student's code); leave a thread that tampers with state while a
  check runs; install an IPython input transformer that rewrites later cells; or return
  objects whose ``__eq__`` lies (checks should compare ``type()`` and plain values, as the
  course's checks do with ``type(got) is int``). Forged report lines, stray runner calls and
  threads during checks are named in ``detail``: read the code of those submissions, and of
  perfect scores with odd code.
- Timing side channels, and exhaustion of shared resources (disk in ``/tmp``, ports).

For high stakes, grade each student in a throwaway container: no network, an unprivileged
user, the course read-only, only that student's folder mounted, e.g.::

    for student in submitted/*/; do
      name=$(basename "$student")
      docker run --rm --network none --user 1000:1000 --memory 4g --pids-limit 512 --cpus 2 \
        -v "$PWD:/course:ro" -v "$PWD/$student:/submitted/$name:ro" -v "$PWD/out:/out" \
        course-image python -m course_lib.grade /submitted --course /course --jobs 2 \
        --out "/out/$name.csv" --feedback /out/feedback
    done
    python -m course_lib.grade merge out/*.csv --submissions submitted/ --out grades.csv

(``course-image``: any Python 3.10+ image with ``pip install -r requirements.txt`` and this
repository.) Inside, ``RLIMIT_NPROC`` holds again because the user is not root, and one
student cannot read another's work. nbgrader on JupyterHub with per-user containers gives
the same isolation with nbgrader's own autograder (the notebooks carry its metadata).

What it is not: nbgrader. The notebooks keep nbgrader's cell metadata, so an instructor can
use ``nbgrader generate_assignment``/``autograde`` instead; this grader adds hidden cases,
partial credit, limits and a one-command batch for the course's own checks.
"""
