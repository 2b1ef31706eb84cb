"""One share of a class per machine: the ``--shard K/N`` rule and the manifest a sharded run leaves.

What it is: how ``python -m course_lib.grade PATH... --shard K/N`` picks the notebooks it grades,
and the small JSON manifest it writes next to its CSV (``grades-2.csv`` -> ``grades-2.manifest.json``)
so that ``python -m course_lib.grade merge`` can check the shares without seeing the submissions.

The rule, the same on every machine whatever the file system's order, the clock or the folder the
class was copied to:

- a notebook is known by its row key: the ``submission`` and ``notebook`` cells the gradebook shows,
  e.g. ``("alice/ps1", "01_three_models.ipynb")``, which are relative to the PATH given;
- the keys are put in the order of their SHA-256 digests, then dealt round-robin like cards: the
  i-th key in that order goes to shard ``i mod N``;
- shards count from 0 (``0/8`` ... ``7/8``), as Kubernetes' ``JOB_COMPLETION_INDEX`` and a SLURM array
  ``--array=0-7`` do, so ``--shard $JOB_COMPLETION_INDEX/8`` needs no arithmetic.

So every notebook is in exactly one shard, shares differ in size by at most one, and a student's
notebooks, or one chapter of the whole class, are spread over the machines. (Hashing each key
``mod N`` alone leaves a small class unevenly split; striping the sorted order puts chapter k of every
student on shard k when each student hands in N notebooks.)

The manifest holds the whole class (every row key in the order a single run writes its rows, and
where its feedback goes), the shard's ``K/N`` and its share (positions in that list). Merge checks
that all shards saw the same class, that every shard is there once, and that the rows are the shares.

What it is not: a scheduler. Starting the N runs is Kubernetes', SLURM's or ssh's job.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from course_lib import validate
from course_lib.grade.batch import Submission, feedback_path, row_key

__all__ = ["parse_shard", "deal", "duplicates", "manifest_path", "write_manifest", "read_manifest", "MANIFEST_KIND"]

MANIFEST_KIND = "course_lib.grade shard manifest"


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> ``(2, 8)``: shard K of N, K counting from 0. A wrong value raises ``ValueError`` or
    ``TypeError`` saying what was expected (the command line puts "argument --shard:" before it)."""
    validate.text(text, "the shard")
    k, slash, n = text.partition("/")
    if not slash:
        raise ValueError(f"expected K/N, shard K of N counting from 0 (0/8 ... 7/8), got {text!r}")
    if not k.strip():
        raise ValueError(f"expected K/N with a number K, got {text!r} "
                         "(is $JOB_COMPLETION_INDEX or $SLURM_ARRAY_TASK_ID set?)")
    k = validate.count(_int(k), "K (this shard, counting from 0)", minimum=0)
    n = validate.count(_int(n), "N (the number of shards)", minimum=1)
    if k >= n:
        raise ValueError(f"K must be less than N (shards count from 0: the last of {n} is {n - 1}/{n}), "
                         f"got {text!r}")
    return k, n


def _int(text: str):
    try:
        return int(text)
    except ValueError:
        return text  # not a number: validate says what was expected


def _digest(key: tuple[str, str]) -> str:
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()


def deal(keys: list[tuple[str, str]], count: int) -> list[int]:
    """The shard (0 ... count-1) of each key, in the order given. The keys must be distinct."""
    validate.count(count, "count", minimum=1)
    order = sorted(range(len(keys)), key=lambda i: (_digest(keys[i]), keys[i]))
    shard = [0] * len(keys)
    for place, i in enumerate(order):
        shard[i] = place % count
    return shard


def duplicates(keys) -> list:
    """The keys that occur more than once, each once, in the order they first repeat."""
    seen, twice = set(), {}
    for key in keys:
        if key in seen:
            twice.setdefault(key, None)
        seen.add(key)
    return list(twice)


def manifest_path(csv_path: Path) -> Path:
    """The manifest beside a shard's CSV: ``out/grades-2.csv`` -> ``out/grades-2.manifest.json``."""
    return Path(csv_path).with_suffix(".manifest.json")


def write_manifest(csv_path: Path, subs: list[Submission], index: int, count: int, share: list[int],
                   feedback: bool) -> Path:
    """Write the manifest of shard ``index``/``count`` that graded ``subs[i] for i in share``."""
    path = manifest_path(csv_path)
    data = {"kind": MANIFEST_KIND, "version": 1, "shard": [index, count], "feedback": feedback,
            "class": [[*row_key(sub), feedback_path(sub)] for sub in subs], "share": share}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path


def read_manifest(path: Path) -> dict:
    """A manifest as written, checked for shape; ``ValueError`` says what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read the manifest {path}: {error}") from None
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND or data.get("version") != 1:
        raise ValueError(f"{path} is not a manifest of a sharded grading run (version 1)")
    try:
        index, count = data["shard"]
        entries = [(str(s), str(n), str(f)) for s, n, f in data["class"]]
        share = [int(i) for i in data["share"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"the manifest {path} is damaged (shard, class or share)") from None
    if not (isinstance(index, int) and isinstance(count, int) and 0 <= index < count) \
            or any(not 0 <= i < len(entries) for i in share):
        raise ValueError(f"the manifest {path} is damaged (shard {index}/{count}, share out of range)")
    return {"path": Path(path), "index": index, "count": count, "class": entries, "share": share,
            "feedback": bool(data.get("feedback"))}
