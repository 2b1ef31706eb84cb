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
- ``sandbox``  the kernel's launcher: limits first, then ipykernel
- ``limits``   rlimits, a pids cgroup, the watchdog that kills the kernel's process tree
- ``harness``  the grader's code inside the kernel: undo patches, run checks, report with a nonce

Threat model
------------
Defended (a submission can do this and still gets exactly one honest row, and the batch goes on):

- Editing or deleting test/setup/demo cells: every locked cell is replaced by the course's
  pristine copy, keyed by nbgrader ``grade_id``; deleted cells are put back in place; a
  deleted answer cell becomes the blank stub. Cells the student added stay, ungraded.
- Faking results: scores never come from printed text, error outputs or ``check`` itself.
  The grader's cell rewrites every pristine ``check(...)`` call; it undoes patches to
  ``course_lib`` (module globals, function code, class attributes, the check registry),
  ``builtins``, a few standard modules, ``sys.stdout``/``stderr`` and trace/profile hooks,
  then runs the genuine check once as the notebook does and ``--hidden`` more times with
  ``extra=True`` and seeds the student never saw. Each run is reported as one line tagged
  with a per-run random nonce, on a file descriptor opened before any student code ran (the
  file is unlinked; the nonce file is deleted). The worker ignores lines without the nonce
  and counts every run that did not report as failed. So redefining ``check``, patching
  ``course_lib.check`` in ``sys.modules``, ``builtins``, ``print``, ``sys.stdout``, printing
  fake ``✔`` lines, raising ``SystemExit`` or swallowing errors earns nothing.
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
- Files that are not notebooks, empty files, unknown exercise names: status ``invalid``.

Not defended (needs a container or JupyterHub + nbgrader with per-user isolation):

- The kernel runs as the grader's user. Student code can read and write whatever that user
  can (other submissions, the grader's files, ``~/.ssh``), open network connections, and,
  when the grader runs as root, escape the cgroup or kill other processes.
- A student who reads this package can target the harness in memory: find the nonce or the
  hidden seeds with ``gc``/frame inspection/``ctypes``, patch classes of the standard library
  the checks use, leave a thread running that tampers with state during a check, or return
  objects whose ``__eq__`` lies (checks should compare ``type()`` and plain values, as the
  course's checks do with ``type(got) is int``). The grader flags forged report lines in
  ``detail``; look at submissions with a perfect score and odd code.
- Timing side channels and resource exhaustion of shared resources (disk in ``/tmp``, ports).

For high stakes, run it inside a throwaway container with no network, as an unprivileged
user, with a read-only copy of the course and the submissions mounted, e.g.::

    docker run --rm --network none --user 1000:1000 --memory 8g --pids-limit 512 \\
        -v "$PWD:/course:ro" -v "$PWD/submitted:/submitted:ro" -v "$PWD/out:/out" \\
        course-image python -m course_lib.grade /submitted --course /course \\
        --out /out/grades.csv --feedback /out/feedback

(or JupyterHub with nbgrader's ``autograde`` per student in its own container). Inside it,
``RLIMIT_NPROC`` works again because the user is not root.

What it is not: nbgrader. The notebooks keep nbgrader's cell metadata, so an instructor can
use ``nbgrader generate_assignment``/``autograde`` instead; this grader adds hidden cases,
partial credit, limits and a one-command batch for the course's own checks.
"""
