"""The Stepper benchmark still runs and prints its numbers (never asserts a time)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stepper_benchmark_runs_and_prints_median_and_p90():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stepper_latency.py"), "--repeats", "1"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert re.search(r"40 steps x 1 runs", out.stdout), out.stdout
    assert re.search(r"median [\d.]+ ms, p90 [\d.]+ ms", out.stdout), out.stdout
