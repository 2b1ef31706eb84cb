"""Grade submitted notebooks one by one: ``python -m course_lib.grade.worker`` (one JSON job per stdin line).

What it is: the process the batch starts for every submission. It reads the notebook,
assembles it with the pristine course cells (``assemble.py``), makes a temporary folder
holding only that notebook (the kernel's working directory) plus a private folder (secret,
report file, kernelspec, IPython folder), starts a fresh kernel through the grader's own
kernelspec (``sandbox.py``: limits before any student code), runs every cell with nbclient
under the watchdog (``limits.py``), kills whatever is left (``processes.clean_up``), scores
the nonce-tagged report lines (``scoring.py``), and prints one JSON result: the CSV row plus
what the feedback needs.

What it is not: the batch. It grades exactly one notebook and trusts nothing the kernel says
except report lines that carry this run's nonce.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib.grade.assemble import assemble
from course_lib.grade.limits import Limits, Watchdog
from course_lib.grade.processes import PidsCgroup, clean_up, set_subreaper
from course_lib.grade.scoring import read_reports, result_row, row
from course_lib.grade.zygote import Zygote

MAX_NOTEBOOK_BYTES = 50 * 2**20  # an exercise notebook is kilobytes; anything this big is not one


def read_notebook(path: Path):
    """The notebook, or (None, why) when it is not one."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None, f"the file is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB"
        data = path.read_bytes()
    except OSError as error:
        return None, f"cannot read the file: {error.strerror or error}"
    if not data.strip():
        return None, "the file is empty"
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # JSON, encoding or format errors
        return None, f"not a notebook: {type(error).__name__}"
    if not isinstance(nb.get("cells"), list):
        return None, "not a notebook: no list of cells"
    for cell in nb.cells:
        if not isinstance(cell, dict) or "cell_type" not in cell or not isinstance(cell.get("source", ""), str):
            return None, "not a notebook: a cell without a type or source"
        cell.setdefault("metadata", {})
    return nb, ""


def _make_client(nb, km, limits: Limits, watchdog: Watchdog, cwd: Path):
    from nbclient import NotebookClient

    class GradingClient(NotebookClient):
        timed_out: list[int] = []
        kernel_process = None

        async def _async_handle_timeout(self, timeout, cell=None):
            if cell is not None:
                self.timed_out.append(next((i for i, c in enumerate(self.nb.cells) if c is cell), -1))
            return await super()._async_handle_timeout(timeout, cell)

        def output(self, outs, msg, display_id, cell_index):
            # printed text and tracebacks count fully; pictures and other rich output get 20 times as much room
            size = len(str(msg.get("content", "")))
            if msg.get("msg_type") in ("stream", "error"):
                watchdog.output_bytes += size
            watchdog.rich_output_bytes += size
            if watchdog.output_bytes > limits.max_output:
                watchdog.trip("killed", f"output limit: printed more than {limits.max_output} bytes")
                return None
            if watchdog.rich_output_bytes > 20 * limits.max_output:
                watchdog.trip("killed", f"output limit: more than {20 * limits.max_output} bytes of output")
                return None
            return super().output(outs, msg, display_id, cell_index)

    client = GradingClient(
        nb, km=km, timeout=max(1, int(limits.cell_timeout)), interrupt_on_timeout=True, allow_errors=True,
        startup_timeout=60, shutdown_kernel="immediate", record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.timed_out = []

    def started(notebook=None, **_):
        client.kernel_process = getattr(getattr(client.km, "provisioner", None), "process", None)

    client.on_notebook_start = started
    return client


def grade(job: dict) -> dict:
    started_at = time.monotonic()
    notebook_path = Path(job["notebook"])
    limits = Limits(**job.get("limits", {}))
    hidden = int(job.get("hidden", 2))
    solution_path = Path(job["solution"]) if job.get("solution") else None
    if solution_path is None or not solution_path.exists():
        return row("invalid", f"no exercise named {notebook_path.name} in the course's solutions/")
    submission, why = read_notebook(notebook_path)
    if submission is None:
        return row("invalid", why)
    solution = nbformat.read(solution_path, as_version=4)

    base = Path(tempfile.mkdtemp(prefix="edp-grade-"))
    cgroup = None
    try:
        work, private = base / "notebook", base / "private"
        work.mkdir()
        private.mkdir(mode=0o700)
        shutil.copyfile(notebook_path, work / notebook_path.name)
        nonce = secrets.token_hex(16)
        seeds = [secrets.randbelow(2**31 - 1) + 1 for _ in range(hidden)]
        secret_path, report_path = private / "secret", private / "report"
        secret_path.write_text(" ".join([nonce, *map(str, seeds)]))
        report_path.write_text("")
        report_fd = os.open(report_path, os.O_RDONLY)
        runner = "_edp_" + secrets.token_hex(4)
        built = assemble(solution, submission, runner, str(secret_path), str(report_path))

        cgroup = PidsCgroup.create(job.get("cgroup_name") or f"edp-grade-{os.getpid()}-{secrets.token_hex(3)}",
                                   limits.max_tasks) if job.get("use_cgroup", True) else None
        sys_path = [str(p) for p in job.get("sys_path", [])]
        inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env = {
            "HOME": str(work), "IPYTHONDIR": str(private / "ipython"), "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": job.get("mpl_dir") or str(private / "mpl"), "EDP_PROGRESS_FILE": "",
            "PYTHONPATH": os.pathsep.join(sys_path + inherited),
            "MALLOC_ARENA_MAX": "2", "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_RUNTIME_DIR": str(private / "runtime"), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        sandbox_json = private / "sandbox.json"
        sandbox_json.write_text(json.dumps({"limits": limits.to_dict(), "cgroup": str(cgroup.path) if cgroup else "",
                                            "env": env, "sys_path": sys_path}))
        spec_dir = private / "kernels" / "edp-grade"
        spec_dir.mkdir(parents=True)
        argv = [sys.executable, "-m", "course_lib.grade.sandbox", str(sandbox_json), "-f", "{connection_file}"]
        if job.get("preload", True) and ZYGOTE.ensure(sys_path, env):
            token = secrets.token_hex(16)
            ZYGOTE.ticket(token, str(sandbox_json))
            argv = [sys.executable, "-m", "course_lib.grade.zygote", "launch", ZYGOTE.socket_path, token,
                    "-f", "{connection_file}"]
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": argv,
            "display_name": "graded", "language": "python", "interrupt_mode": "signal",
            "env": {"PYTHONPATH": env["PYTHONPATH"]},
        }))
        os.environ["JUPYTER_RUNTIME_DIR"] = str(private / "runtime")
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import AsyncKernelManager

        ksm = KernelSpecManager(kernel_dirs=[str(private / "kernels")])
        km = AsyncKernelManager(kernel_name="edp-grade", kernel_spec_manager=ksm)

        watchdog = Watchdog(limits, cgroup, exclude={ZYGOTE.pid} if ZYGOTE.pid else ())
        watchdog.start()
        client = _make_client(built.notebook, km, limits, watchdog, work)
        crash = None
        try:
            client.execute(cwd=str(work))
        except Exception as error:  # DeadKernelError, startup failures, anything nbclient raises
            crash = error
        finally:
            watchdog.stop()
            clean_up(os.getpid(), cgroups=cgroup.name if cgroup else "", exclude={ZYGOTE.pid} if ZYGOTE.pid else ())
        exit_code = getattr(client.kernel_process, "returncode", None)
        reports, forged = read_reports(report_fd, nonce)
        os.close(report_fd)
        return result_row(built, client, watchdog, crash, exit_code, reports, forged, hidden, limits,
                          time.monotonic() - started_at)
    finally:
        if cgroup is not None:
            cgroup.destroy()
        shutil.rmtree(base, ignore_errors=True)


ZYGOTE = Zygote()  # this worker's pre-warmed kernel factory, started on first use


def main() -> int:
    """Grade one job per line of stdin, answering one JSON line each (the batch reuses workers)."""
    set_subreaper()
    # Keep the batch's pipes on private descriptors (not inherited) and give every process we start
    # /dev/null as stdin and stdout: a kernel must not be able to write a result line for itself.
    jobs = os.fdopen(os.dup(0), "r")
    out = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    sys.stdin, sys.stdout = open(os.devnull), sys.stderr
    for line in jobs:
        if not line.strip():
            continue
        try:
            result = grade(json.loads(line))
        except Exception as error:  # a grader bug must still produce a row
            result = row("error", f"grader failure: {type(error).__name__}: {error}")
        out.write(json.dumps(result) + "\n")
        out.flush()
    ZYGOTE.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
