"""benchmarks/echo.py still runs and prints a ratio (tiny run; no time is asserted)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_echo_benchmark_runs_and_prints_a_ratio():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "echo.py"), "--clients", "5", "--requests", "10", "--rounds", "1"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"course reactor\s+[\d,]+ requests/s", result.stdout)
    assert re.search(r"asyncio\s+[\d,]+ requests/s", result.stdout)
    assert re.search(r"ratio course reactor / asyncio: \d+\.\d\dx", result.stdout), result.stdout


def test_echo_benchmark_refuses_bad_arguments():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "echo.py"), "--clients", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert result.returncode != 0 and "--clients must be >= 1" in result.stderr
