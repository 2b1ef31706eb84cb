"""Join the shards' gradebooks: ``python -m course_lib.grade merge shard-*.csv --out grades.csv``.

What it is: the last step of a sharded grading run (``--shard K/N``, see ``shards.py``). It reads
the shards' CSVs and the manifest beside each, checks them, and only then writes one gradebook
with the rows in the order a single run writes them, and gathers the shards' feedback folders
into one. When anything is wrong it writes nothing, lists every problem and exits with 1:

- the class: taken from the manifests (every shard must have seen the same class, cut into the
  same N), or from ``--submissions PATH...``, the folders that were graded, collected as grading
  collects them (for CSVs without a manifest, e.g. one container per student);
- shards: each ``K/N`` once (duplicate: a shard run twice), all N of them (missing: a shard
  that failed or was not copied back), each CSV holding exactly the share its manifest lists;
- rows: each notebook of the class has exactly one row across all CSVs (a duplicate means two
  runs graded it, and their scores may differ), and no row belongs to a notebook outside the class;
- feedback (``--feedback DIR``): the files of the ``--shard-feedback`` folders are copied into DIR,
  none may come from two folders, and every notebook must then have its feedback file in DIR.

What it is not: a grader (it runs no notebook) or a scheduler (it does not start the shards).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

from course_lib.grade.batch import COLUMNS, collect, feedback_path, row_key
from course_lib.grade.shards import duplicates, manifest_path, read_manifest

__all__ = ["Refused", "merge", "main"]


class Refused(Exception):
    """Why merge wrote nothing: ``problems``, one sentence each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _some(items, limit: int = 5) -> str:
    items = list(items)
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _name(key) -> str:
    return "/".join(part for part in key[:2] if part)


def read_gradebook(path: Path) -> list[dict]:
    """The rows of a grader's CSV; ``Refused`` when it is not one."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise Refused([f"cannot read {path}: {error}"]) from None
    if reader.fieldnames != COLUMNS:
        raise Refused([f"{path} is not a gradebook of this grader: its columns are {reader.fieldnames}, "
                       f"expected {', '.join(COLUMNS)}"])
    return rows


def _the_class(books: dict, manifests: dict, submissions):
    """(entries, where they come from): every notebook as (submission, notebook, feedback path), in row order."""
    if submissions:
        subs = collect([str(p) for p in submissions])
        entries = [(*row_key(sub), feedback_path(sub)) for sub in subs]
        twice = duplicates(entry[:2] for entry in entries)
        if twice:
            raise Refused([f"the submissions given hold {len(twice)} notebook(s) twice under the same "
                           f"submission/notebook, e.g. {_name(twice[0])}: a gradebook cannot tell them apart"])
        return entries, "the submissions given (--submissions)"
    without = [str(p) for p in books if p not in manifests]
    if without:
        raise Refused([f"cannot tell which notebooks are missing: {_some(without)} has no manifest beside it "
                       "(a run with --shard writes NAME.manifest.json next to its CSV); give the graded folders "
                       "with --submissions PATH..."])
    first = next(iter(manifests.values()))
    return first["class"], f"the class in {first['path'].name}"


def _check_shards(manifests: dict, entries: list, source: str, books: dict) -> list[str]:
    problems = []
    for path, m in manifests.items():
        if m["class"] != entries:
            theirs, ours = set(m["class"]), set(entries)
            differ = [_name(e) for e in entries if e not in theirs] + [_name(e) for e in m["class"] if e not in ours]
            problems.append(f"{path.name} was graded on a different class than {source}: {len(m['class'])} "
                            f"notebooks against {len(entries)}"
                            + (f", e.g. {_some(differ, 3)}" if differ else " (in another order)"))
        graded = sorted((r["submission"], r["notebook"]) for r in books[path])
        share = sorted(tuple(m["class"][i][:2]) for i in m["share"])
        if graded != share:
            problems.append(f"{path.name} does not hold the share its manifest lists ({len(graded)} rows, "
                            f"{len(share)} in the share): written over or edited after grading?")
    given: dict = {}
    for path, m in manifests.items():
        given.setdefault((m["index"], m["count"]), []).append(path.name)
    for (k, n), names in sorted(given.items()):
        if len(names) > 1:
            problems.append(f"shard {k}/{n} is given {len(names)} times ({', '.join(names)}): "
                            "keep one run of each shard")
    counts = sorted({n for _, n in given})
    if len(counts) > 1:
        problems.append("the shards were cut into different numbers of shares: "
                        + _some((f"{path.name} is {m['index']}/{m['count']}" for path, m in manifests.items()), 8))
    elif counts and len(manifests) == len(books):
        n = counts[0]
        absent = [f"{k}/{n}" for k in range(n) if (k, n) not in given]
        if absent:
            problems.append(f"shard(s) {_some(absent, 8)} of {n} are missing: run them, or copy their CSV and "
                            "manifest here")
    return problems


def _check_rows(books: dict, entries: list, source: str) -> tuple[dict, list[str]]:
    where: dict = {}
    for path, rows in books.items():
        for r in rows:
            where.setdefault((r["submission"], r["notebook"]), []).append((path.name, r))
    problems = []
    twice = {key: found for key, found in where.items() if len(found) > 1}
    if twice:
        problems.append(f"{len(twice)} notebook(s) graded more than once: "
                        + _some(f"{_name(key)} (in {', '.join(name for name, _ in found)})"
                                for key, found in twice.items()))
    known = {entry[:2] for entry in entries}
    stray = [key for key in where if key not in known]
    if stray:
        problems.append(f"{len(stray)} row(s) for notebooks not in {source}: {_some(map(_name, stray))}")
    missing = [entry for entry in entries if entry[:2] not in where]
    if missing:
        problems.append(f"{len(missing)} notebook(s) of the class have no row: {_some(map(_name, missing))}")
    return {key: found[0][1] for key, found in where.items()}, problems


def _check_feedback(entries: list, feedback: Path, sources: list[Path]) -> tuple[dict, list[str]]:
    problems, files = [], {}
    for folder in sources:
        if not folder.is_dir():
            problems.append(f"--shard-feedback {folder} is not a folder")
            continue
        for f in sorted(folder.rglob("*.md")):
            files.setdefault(f.relative_to(folder).as_posix(), []).append(folder)
    twice = {rel: folders for rel, folders in files.items() if len(folders) > 1}
    if twice:
        problems.append(f"{len(twice)} feedback file(s) are in more than one --shard-feedback folder: "
                        + _some(f"{rel} (in {', '.join(map(str, folders))})" for rel, folders in twice.items()))
    have = set(files) | ({f.relative_to(feedback).as_posix() for f in feedback.rglob("*.md")}
                         if feedback.is_dir() else set())
    lacking = [entry for entry in entries if entry[2] not in have]
    if lacking:
        also = " or the --shard-feedback folders" if sources else ""
        problems.append(f"{len(lacking)} notebook(s) have no feedback file in {feedback}{also}: "
                        f"{_some(map(_name, lacking))}")
    return {rel: folders[0] for rel, folders in files.items()}, problems


def merge(csvs: list[Path], out: Path, submissions=None, feedback: Path | None = None,
          shard_feedback: list[Path] = ()) -> str:
    """Check the shards' CSVs (and feedback) and write ``out``; ``Refused`` lists every problem, and
    then nothing was written. Returns a one-line summary."""
    csvs = [Path(p) for p in csvs]
    problems = [f"{p} is given more than once" for p in duplicates(p.resolve() for p in csvs)]
    if Path(out).resolve() in {p.resolve() for p in csvs}:
        problems.append(f"--out {out} is also one of the CSVs to merge: write the gradebook elsewhere")
    books, manifests = {}, {}
    for path in dict.fromkeys(csvs):
        try:
            books[path] = read_gradebook(path)
            if manifest_path(path).exists():
                manifests[path] = read_manifest(manifest_path(path))
        except Refused as refused:
            problems += refused.problems
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise Refused(problems)
    entries, source = _the_class(books, manifests, submissions)
    problems = _check_shards(manifests, entries, source, books)
    rows, more = _check_rows(books, entries, source)
    problems += more
    copies: dict = {}
    if feedback is not None:
        copies, more = _check_feedback(entries, Path(feedback), [Path(f) for f in shard_feedback])
        problems += more
    if problems:
        raise Refused(problems)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows[entry[:2]] for entry in entries)
    for rel, folder in copies.items():
        target = Path(feedback) / rel
        if (folder / rel).resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / rel, target)
    return (f"merged {len(books)} gradebook(s) into {len(entries)} row(s) in the order of {source}; wrote {out}"
            + (f" and the feedback in {feedback}" if feedback is not None else ""))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m course_lib.grade merge",
        description="Join the CSVs of a sharded grading run (python -m course_lib.grade PATH... --shard K/N) into "
                    "one gradebook, ordered as a single run orders it. Refuses (exit code 1, nothing written) "
                    "duplicate rows or shards, missing notebooks or shards, shards that saw different classes, "
                    "and missing feedback.",
        epilog="What 'missing' means comes from the manifests the shards wrote beside their CSVs "
               "(OUT.manifest.json: the whole class and the shard's share), or from --submissions.")
    p.add_argument("csvs", nargs="+", type=Path, metavar="CSV", help="the shards' gradebooks")
    p.add_argument("--out", required=True, type=Path, help="the gradebook to write")
    p.add_argument("--submissions", nargs="+", type=Path, metavar="PATH",
                   help="the PATHs that were graded, in the same order: the class, for CSVs without a manifest")
    p.add_argument("--feedback", type=Path, metavar="DIR",
                   help="the class's feedback folder: gather the --shard-feedback folders here and check that "
                        "every notebook has its file")
    p.add_argument("--shard-feedback", nargs="+", type=Path, default=[], metavar="DIR",
                   help="the shards' feedback folders (not needed when the shards all wrote into --feedback DIR)")
    args = p.parse_args(argv)
    if args.shard_feedback and args.feedback is None:
        p.error("--shard-feedback needs --feedback DIR, the folder to gather them in")
    try:
        print(merge(args.csvs, args.out, args.submissions, args.feedback, args.shard_feedback), file=sys.stderr)
    except Refused as refused:
        print("merge refused, nothing written:\n" + "\n".join(f"- {line}" for line in refused.problems),
              file=sys.stderr)
        return 1
    return 0
