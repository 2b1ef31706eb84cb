"""The grader's one clean-up path: find every process a grading started, and kill them all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib.grade.processes import PidsCgroup, kill_all, stat

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")


def test_stat_describes_a_live_process():
    me = stat(os.getpid())
    assert me.ppid == os.getppid() and me.alive and me.cpu >= 0 and me.rss > 0
    assert stat(2**22 + 1) is None  # above pid_max: never a process


def test_kill_all_asks_again_until_nothing_is_left():
    children = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    rounds = []

    def find():
        rounds.append(1)
        return [c.pid for c in children]

    kill_all(find, pause=0.001)
    assert all(stat(c.pid) is None for c in children)  # killed and reaped (kill_all reaps our children)
    assert len(rounds) >= 2  # and asked once more, to be sure nothing was left


def test_clean_up_reaches_a_process_that_double_forked_away():
    """A subreaper keeps a double-forked orphan in its tree; clean_up then ends it."""
    script = textwrap.dedent("""
        import os, subprocess, sys, time
        from course_lib.grade.processes import clean_up, descendants, set_subreaper
        assert set_subreaper()
        subprocess.run(["sh", "-c", "(sleep 60 &) ; sleep 0"])   # the sleep's parent exits at once
        time.sleep(0.2)
        orphans = descendants(os.getpid())
        clean_up(os.getpid())
        print(len(orphans), len([p for p, st in descendants(os.getpid()).items() if st.alive]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0"]


def test_cgroups_are_found_only_by_their_pattern():
    assert PidsCgroup.matching(f"edp-grade-no-such-run-{os.getpid()}-*") == []
    cgroup = PidsCgroup.create(f"edp-grade-test-{os.getpid()}", 8)
    if cgroup is None:
        pytest.skip("no pids cgroup can be made here")
    try:
        assert [c.name for c in PidsCgroup.matching(f"edp-grade-test-{os.getpid()}")] == [cgroup.name]
    finally:
        cgroup.destroy()
    assert not cgroup.path.exists()
