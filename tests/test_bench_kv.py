"""benchmarks/kv.py and kv_instructions.py still run and print their tables (tiny runs; no time is asserted)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kv_reference import need

ROOT = Path(__file__).resolve().parent.parent


def test_kv_benchmark_runs_in_tiny_mode():
    need("redis-benchmark")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kv.py"), "--tiny"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    for model in ("threads", "reactor", "asyncio", "coroutines"):
        assert re.search(rf"^{model}\s+[\d,]+\s+[\d.]+", result.stdout, re.MULTILINE), result.stdout
        assert re.search(rf"^{model}\s+requests/s [\d.]+x asyncio", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"ratio reactor / asyncio: \d+\.\d\dx", result.stdout), result.stdout
    for model in ("reactor", "coroutines"):
        assert re.search(rf"^{model}\s+resident memory per idle connection: [\d,]+ bytes", result.stdout,
                         re.MULTILINE), result.stdout
    assert re.search(r"throughput kept with them: \d+\.\d\dx", result.stdout), result.stdout


def test_kv_benchmark_refuses_bad_arguments():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kv.py"), "--clients", "0"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode != 0 and "--clients must be >= 1" in result.stderr


def test_kv_instructions_counts_a_tiny_run():
    """benchmarks/kv_instructions.py prints instructions per request (valgrind is optional: skipped without)."""
    need("redis-benchmark")
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (Debian: apt install valgrind)")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kv_instructions.py"), "--requests", "200",
                             "--models", "reactor", "--idle", "20"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"^  reactor\s+[\d,]+\s+\(its loop and transport: +-?[\d,]+\)", result.stdout, re.MULTILINE), \
        result.stdout
    assert re.search(r"^  protocol\s+[\d,]+\s", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^reactor with 20 idle connections held: [\d,]+ instructions per request; "
                     r"throughput kept \(instructions without / with them\): \d+\.\d\dx", result.stdout,
                     re.MULTILINE), result.stdout


def test_kv_instructions_refuses_bad_arguments():
    for bad, message in ((["--requests", "0"], "--requests must be >= 1"), (["--models", "nginx"], "'nginx'"),
                         (["--idle", "-1"], "--idle must be >= 0")):
        result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kv_instructions.py"), *bad],
                                capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert result.returncode != 0 and message in result.stderr, result.stderr
