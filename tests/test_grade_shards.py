"""Grading a class in shards: ``--shard K/N`` on several machines, then ``merge``.

The bar: a class graded in 3 shards by 3 separate processes and merged gives the gradebook of
one run, row for row (only ``seconds`` differs, and in the feedback the hint of a failed *hidden*
case, which comes from fresh random seeds on purpose). The rest needs no kernel: the values
``--shard`` refuses, the rule as a partition of any folder layout (hypothesis), and merge's refusals,
on a class of notebooks named after no exercise (graded ``invalid`` at once).
Run alone with ``python -m pytest -o addopts="" tests/test_grade_shards.py -q``.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent / "grade_fixtures"))

import hostile  # noqa: E402

from course_lib.grade.__main__ import parse_args  # noqa: E402
from course_lib.grade.batch import collect, row_key  # noqa: E402
from course_lib.grade.merge import main as merge_main  # noqa: E402
from course_lib.grade.shards import deal, duplicates, read_manifest  # noqa: E402

LIMITS = ["--timeout", "10", "--total-timeout", "60", "--memory", "1024", "--max-procs", "16",
          "--max-output", "200000"]


def _command(paths, out, *extra, course=hostile.COURSE):
    return [sys.executable, "-m", "course_lib.grade", *map(str, paths), "--out", str(out),
            "--course", str(course), *LIMITS, *map(str, extra)]


def _env(tmp: Path) -> dict:
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), "EDP_PROGRESS_FILE": "", "PYTHONPATH": str(ROOT)}


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ --shard K/N

@pytest.mark.parametrize("value, says", [
    ("0/0", "N (the number of shards) must be an int >= 1, got 0"),
    ("3/2", "K must be less than N (shards count from 0: the last of 2 is 1/2)"),
    ("3/3", "the last of 3 is 2/3"),
    ("x/y", "K (this shard, counting from 0) must be an int >= 0, got str 'x'"),
    ("1/y", "N (the number of shards) must be an int >= 1, got str 'y'"),
    ("2", "expected K/N, shard K of N counting from 0"),
    ("/8", "is $JOB_COMPLETION_INDEX or $SLURM_ARRAY_TASK_ID set?"),
])
def test_bad_shard_values_name_the_argument(value, says, capsys):
    with pytest.raises(SystemExit) as exit:
        parse_args(["class", "--out", "g.csv", f"--shard={value}"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "argument --shard: " in err and says in err, err


def test_shards_count_from_zero():
    assert parse_args(["c", "--out", "g.csv", "--shard", "0/8"]).shard == (0, 8)
    assert parse_args(["c", "--out", "g.csv", "--shard", "7/8"]).shard == (7, 8)
    assert parse_args(["c", "--out", "g.csv"]).shard is None


def test_help_shows_sharding_and_merge():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    grade = subprocess.run(
        [sys.executable, "-m", "course_lib.grade", "--help"], capture_output=True, text=True, env=env
    )
    merge = subprocess.run([sys.executable, "-m", "course_lib.grade", "merge", "--help"], capture_output=True,
                           text=True, env=env)
    assert grade.returncode == 0 and merge.returncode == 0
    assert "--shard K/N" in grade.stdout and "$JOB_COMPLETION_INDEX/8" in grade.stdout and "merge" in grade.stdout
    for word in ["--out", "--submissions", "--feedback", "--shard-feedback", "duplicate", "missing", "manifest"]:
        assert word in merge.stdout


keys_strategy = st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), unique=True, max_size=40)


@settings(max_examples=60)
@given(keys_strategy, st.integers(min_value=1, max_value=9), st.randoms(use_true_random=False))
def test_dealing_is_a_balanced_partition_whatever_the_order(keys, count, rng):
    shard = dict(zip(keys, deal(keys, count)))
    assert all(0 <= s < count for s in shard.values())  # every key in exactly one shard
    sizes = [list(shard.values()).count(k) for k in range(count)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(keys)
    shuffled = keys[:]
    rng.shuffle(shuffled)  # another file system's order: the same shard for every key
    assert dict(zip(shuffled, deal(shuffled, count))) == shard


NAMES = st.text(alphabet="ab-=é_", min_size=1, max_size=4)
LAYOUTS = st.lists(st.lists(NAMES, min_size=0, max_size=2).map(tuple), min_size=1, max_size=12, unique=True)


@settings(max_examples=40, deadline=None)
@given(LAYOUTS, st.integers(min_value=1, max_value=5), st.randoms(use_true_random=False))
def test_shards_of_a_submissions_folder_are_a_partition_on_any_machine(layout, count, rng):
    """The same folders, written in two places in two orders (two machines), split the same way;
    every notebook (or the row of a folder without any) is in exactly one share."""
    paths = [Path(*folders, f"{i % 3:02d}_nb.ipynb") for i, folders in enumerate(layout)]
    found = []
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        for base in (Path(one) / "class", Path(two) / "copied" / "class"):
            base.mkdir(parents=True)
            for path in rng.sample(paths, len(paths)):  # creation order differs
                (base / path).parent.mkdir(parents=True, exist_ok=True)
                (base / path).write_text("{}")
            found.append([row_key(sub) for sub in collect([str(base)])])
    assert found[0] == found[1]
    keys = found[0]
    assert not duplicates(keys)
    shares = [{key for key, s in zip(keys, deal(keys, count)) if s == k} for k in range(count)]
    assert set().union(*shares) == set(keys) and sum(map(len, shares)) == len(keys)


# ------------------------------------------------------------------ merge refuses

@pytest.fixture(scope="module")
def invalid_class(tmp_path_factory):
    """Six notebooks named after no exercise (graded invalid without a kernel), in 3 shards, with feedback."""
    base = tmp_path_factory.mktemp("shards")
    for student in ["ann", "bob", "cy", "dee", "eve"]:
        (base / "class" / student).mkdir(parents=True)
        (base / "class" / student / "42_none.ipynb").write_text("{}")
    (base / "class" / "ann" / "43_other.ipynb").write_text("{}")
    env = _env(base / "tmp")
    for k in range(3):
        proc = subprocess.run(_command([base / "class"], base / "out" / f"shard-{k}.csv", "--shard", f"{k}/3",
                                       "--feedback", base / "out" / f"fb-{k}", course=ROOT),
                              capture_output=True, text=True, env=env, timeout=120, cwd=base)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"(shard {k}/3 of 6)" in proc.stderr
    return base


@pytest.fixture
def shards(invalid_class, tmp_path):
    shutil.copytree(invalid_class / "out", tmp_path / "out")
    return tmp_path / "out"


def _merge(capsys, *argv):
    code = merge_main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_each_shard_holds_its_share_and_a_manifest_of_the_whole_class(shards):
    manifests = [read_manifest(shards / f"shard-{k}.manifest.json") for k in range(3)]
    assert all(m["class"] == manifests[0]["class"] and m["count"] == 3 for m in manifests)
    assert [m["index"] for m in manifests] == [0, 1, 2]
    assert sorted(i for m in manifests for i in m["share"]) == list(range(6))
    assert all(len(_rows(shards / f"shard-{k}.csv")) == 2 for k in range(3))


def test_merge_orders_rows_as_a_single_run_and_gathers_feedback(shards, capsys):
    code, err = _merge(capsys, *sorted(shards.glob("shard-*.csv")), "--out", shards / "grades.csv",
                       "--feedback", shards / "feedback", "--shard-feedback", *sorted(shards.glob("fb-*")))
    assert code == 0, err
    rows = _rows(shards / "grades.csv")
    assert [(r["submission"], r["notebook"]) for r in rows] == [
        ("ann", "42_none.ipynb"), ("ann", "43_other.ipynb"), ("bob", "42_none.ipynb"), ("cy", "42_none.ipynb"),
        ("dee", "42_none.ipynb"), ("eve", "42_none.ipynb")]
    assert all(r["status"] == "invalid" for r in rows)
    assert sorted(p.relative_to(shards / "feedback").as_posix() for p in (shards / "feedback").rglob("*.md")) == [
        "ann/42_none.md", "ann/43_other.md", "bob/42_none.md", "cy/42_none.md", "dee/42_none.md", "eve/42_none.md"]


def test_merge_refuses_a_shard_graded_twice(shards, capsys):
    for suffix in (".csv", ".manifest.json"):  # shard 1 run again, under another name
        shutil.copy(shards / f"shard-1{suffix}", shards / f"shard-1-again{suffix}")
    code, err = _merge(capsys, *sorted(shards.glob("shard-*.csv")), "--out", shards / "grades.csv")
    assert code == 1 and not (shards / "grades.csv").exists()
    assert "shard 1/3 is given 2 times (shard-1-again.csv, shard-1.csv)" in err
    assert "2 notebook(s) graded more than once: " in err and "(in shard-1-again.csv, shard-1.csv)" in err


def test_merge_refuses_duplicate_rows_without_manifests(shards, invalid_class, capsys):
    plain = shards / "plain"
    plain.mkdir()
    rows = [r for k in range(3) for r in _rows(shards / f"shard-{k}.csv")]
    for name, part in [("a.csv", rows[:4]), ("b.csv", rows[3:])]:  # row 3 in both
        with open(plain / name, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part)
    code, err = _merge(capsys, plain / "a.csv", plain / "b.csv", "--out", plain / "g.csv")
    assert code == 1 and "cannot tell which notebooks are missing: " in err and "--submissions" in err
    code, err = _merge(capsys, plain / "a.csv", plain / "b.csv", "--submissions", invalid_class / "class",
                       "--out", plain / "g.csv")
    key = f"{rows[3]['submission']}/{rows[3]['notebook']}"
    assert code == 1 and f"1 notebook(s) graded more than once: {key} (in a.csv, b.csv)" in err, err
    code, err = _merge(capsys, plain / "a.csv", "--submissions", invalid_class / "class", "--out", plain / "g.csv")
    assert code == 1 and "2 notebook(s) of the class have no row: " in err
    assert not (plain / "g.csv").exists()


def test_merge_refuses_a_missing_shard_naming_its_notebooks(shards, capsys):
    code, err = _merge(capsys, shards / "shard-0.csv", shards / "shard-2.csv", "--out", shards / "grades.csv")
    assert code == 1 and not (shards / "grades.csv").exists()
    missing = ", ".join(f"{r['submission']}/{r['notebook']}" for r in _rows(shards / "shard-1.csv"))
    assert "shard(s) 1/3 of 3 are missing" in err and f"2 notebook(s) of the class have no row: {missing}" in err


def test_merge_refuses_shards_that_saw_different_classes(shards, invalid_class, tmp_path, capsys):
    shutil.copytree(invalid_class / "class", tmp_path / "class")  # the class on another machine...
    (tmp_path / "class" / "fay").mkdir()  # ... with a late submission: shard 2 is graded there
    (tmp_path / "class" / "fay" / "42_none.ipynb").write_text("{}")
    proc = subprocess.run(_command([tmp_path / "class"], shards / "shard-2.csv", "--shard", "2/3", course=ROOT),
                          capture_output=True, text=True, env=_env(tmp_path / "tmp"), timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code, err = _merge(capsys, *sorted(shards.glob("shard-*.csv")), "--out", shards / "grades.csv")
    assert code == 1 and "shard-2.csv was graded on a different class than the class in shard-0.manifest.json: " \
                         "7 notebooks against 6, e.g. fay/42_none.ipynb" in err, err


def test_merge_refuses_missing_feedback_and_its_own_output_as_input(shards, capsys):
    code, err = _merge(capsys, *sorted(shards.glob("shard-*.csv")), "--out", shards / "grades.csv",
                       "--feedback", shards / "feedback", "--shard-feedback", shards / "fb-0", shards / "fb-1")
    assert code == 1 and "2 notebook(s) have no feedback file in " in err and not (shards / "feedback").exists()
    code, err = _merge(capsys, *sorted(shards.glob("shard-*.csv")), "--out", shards / "shard-0.csv")
    assert code == 1 and "is also one of the CSVs to merge" in err


# ------------------------------------------------------------------ the bar: shards == one run

def _comparable(path: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in _rows(path)]


def _feedback(folder: Path) -> dict[str, str]:
    """Each feedback file, with the hint of a failed hidden case (fresh random seeds each run) blanked."""
    return {p.relative_to(folder).as_posix(): re.sub(r"\(first failure: .*\)", "(first failure: ...)", p.read_text())
            for p in sorted(folder.rglob("*.md"))}


@pytest.mark.slow
def test_three_shards_in_three_processes_give_the_gradebook_of_one_run(tmp_path):
    chosen = ["solved", "blank", "patched_check", "garbage", "empty"]  # plain, hostile, invalid: 3 kernels
    expected = hostile.make_class(tmp_path / "class")
    for student in set(expected) - set(chosen):
        shutil.rmtree(tmp_path / "class" / student)
    env = _env(tmp_path / "tmp")
    single = subprocess.run(_command([tmp_path / "class"], tmp_path / "single.csv", "--feedback", tmp_path / "fb",
                                     "--jobs", "2"), capture_output=True, text=True, env=env, timeout=600,
                            cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    shards = [subprocess.Popen(_command([tmp_path / "class"], tmp_path / f"shard-{k}.csv", "--shard", f"{k}/3",
                                        "--feedback", tmp_path / f"fb-{k}", "--jobs", "1"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
              for k in range(3)]  # three machines, as far as two cores allow
    for k, proc in enumerate(shards):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"shard {k}: {err[-3000:]}"
    code = merge_main([*map(str, sorted(tmp_path.glob("shard-*.csv"))), "--out", str(tmp_path / "merged.csv"),
                       "--feedback", str(tmp_path / "merged-fb"),
                       "--shard-feedback", *map(str, sorted(tmp_path.glob("fb-*")))])
    assert code == 0
    one, merged = _comparable(tmp_path / "single.csv"), _comparable(tmp_path / "merged.csv")
    assert [r["student"] for r in one] == sorted(chosen)
    assert {r["student"]: (r["status"], float(r["score"])) for r in one} == {s: expected[s] for s in chosen}
    assert merged == one  # row for row
    assert _feedback(tmp_path / "merged-fb") == _feedback(tmp_path / "fb")
