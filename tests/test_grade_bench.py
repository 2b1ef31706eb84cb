"""benchmarks/grade_speed.py still runs and prints its measures and ratio (tiny run; no time is asserted)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent / "grade_fixtures"))


@pytest.mark.slow
def test_grade_speed_benchmark_runs(tmp_path):
    from build_fixture import build

    notebook = build(tmp_path / "course")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grade_speed.py"), str(notebook),
                           "--copies", "1", "--jobs", "1"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "per submission per core" in proc.stdout and "ratio scratch/zygote" in proc.stdout
    assert proc.stdout.count("1 rows (1 ok)") == 2
