"""benchmarks/loop_overhead.py still runs and prints a ratio (no time is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_loop_overhead_benchmark_prints_a_ratio():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "loop_overhead.py"), "--n", "2000", "--rounds", "2"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r"ratio course/asyncio: \d+\.\d\dx", out.stdout), out.stdout
