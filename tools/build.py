"""Build the course's notebooks from their text sources: ``python -m tools.build 04``.

What it is: the one command between a notebook's source and the notebook students open.
Every notebook has one source, a MyST markdown file that jupytext reads (``jupytext.toml``
pairs them the same way, for authors who open notebooks with jupytext in JupyterLab)::

    sources/notebooks/NN_name.md  ->  notebooks/NN_name.ipynb   (the lecture)
    sources/solutions/NN_name.md  ->  solutions/NN_name.ipynb   (the solution) -> exercises/NN_name.ipynb
    tests/browser/fixtures/X.md   ->  tests/browser/fixtures/X.ipynb

A build reads the source, numbers the cells ``c000``, ``c001``, ... (stable ids, so a rebuild
does not churn diffs), marks slides (a lecture is cut into screens by ``tools/slidemarks.py``;
elsewhere a ``#`` or ``##`` heading starts a slide), executes the notebook in a fresh kernel
with nbclient (outputs and widget state are stored; progress goes to a throw-away file; the kernel
imports this checkout's ``course_lib``), keeps only the static copy of a widget that leaves one
(``static_copies``), writes it in place and, for a solution, makes its exercise with
``course_lib.exercises``.

    python -m tools.build 04                 # chapter 04: lecture and solution, executed; its exercise
    python -m tools.build 04 --no-execute    # cells from the source; outputs kept where a cell is unchanged
    python -m tools.build --check            # exit 1 when a stored notebook differs from its source
    python -m tools.build                    # every notebook (a few minutes)

Chapters are given by number or by path (of a source or a notebook). ``--check`` compares cell
ids, types, sources and metadata, and finds sources without a notebook and notebooks without a
source; over every notebook it also checks that exercises/ is up to date.

What it is not: an editor (write the source, in any editor or in JupyterLab with jupytext),
nor a test runner (``python -m pytest notebooks solutions`` compares outputs with nbval).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

from tools import slidemarks

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {  # folder of sources -> folder of their notebooks, relative to the repository
    "sources/notebooks": "notebooks",
    "sources/solutions": "solutions",
    "tests/browser/fixtures": "tests/browser/fixtures",
}
IGNORED_CELL_METADATA = {"execution"}  # timings nbclient records; never part of a source
BUILT_METADATA = ("kernelspec", "rise")  # notebook metadata the build writes (the rest is the kernel's)


def pairs(root: Path | None = None) -> list[tuple[Path, Path]]:
    """(source, notebook) paths below ``root`` (this repository); one of the two may be missing."""
    root = root or ROOT
    found = []
    for sources, notebooks in FOLDERS.items():
        names = {p.stem for p in (root / sources).glob("*.md")} | {p.stem for p in (root / notebooks).glob("*.ipynb")}
        found += [(root / sources / f"{name}.md", root / notebooks / f"{name}.ipynb") for name in sorted(names)]
    return found


def mark_slides(nb: nbformat.NotebookNode, lecture: bool = False) -> None:
    """Slide marks: a lecture is cut into screens (``tools/slidemarks.py``); elsewhere ``#``/``##`` starts a slide."""
    if lecture:
        slidemarks.mark(nb)
        return
    for cell in nb.cells:
        heading = cell.cell_type == "markdown" and cell.source.lstrip().startswith(("# ", "## "))
        cell.metadata["slideshow"] = {"slide_type": "slide" if heading else "-"}


def read_source(path: Path) -> nbformat.NotebookNode:
    """The notebook a MyST source describes, with stable cell ids and slide marks, no outputs."""
    nb = jupytext.read(path, fmt="md:myst")
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:03d}"
    mark_slides(nb, lecture=path.parent.name == "notebooks" and path.parent.parent.name == "sources")
    nbformat.validate(nb)
    return nb


def _name(cell) -> str:
    """How a message names a cell: its grade_id if it has one, and its first line."""
    first = cell.source.strip().split("\n")[0][:50] if cell.source.strip() else "empty"
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f"{grade_id}: {first!r}" if grade_id else repr(first)


def _cell_metadata(cell) -> dict:
    return {k: v for k, v in cell.metadata.items() if k not in IGNORED_CELL_METADATA}


def differences(built: nbformat.NotebookNode, stored: nbformat.NotebookNode) -> list[str]:
    """How the stored notebook's cells differ from the built ones (empty when they agree)."""
    found = []
    for key in BUILT_METADATA:
        if built.metadata.get(key) != stored.metadata.get(key):
            found.append(f"{key} {stored.metadata.get(key)} != {built.metadata.get(key)}")
    if len(built.cells) != len(stored.cells):
        found.append(f"{len(stored.cells)} cells, the source has {len(built.cells)}")
    for i, (want, got) in enumerate(zip(built.cells, stored.cells)):
        where = f"cell {i} ({_name(want)})"
        if got.get("id") != want.id:
            found.append(f"{where}: id {got.get('id')!r}, expected {want.id!r}")
        if got.cell_type != want.cell_type:
            found.append(f"{where}: a {got.cell_type} cell, the source has {want.cell_type}")
        if got.source != want.source:
            diff = list(difflib.unified_diff(want.source.split("\n"), got.source.split("\n"), lineterm="", n=0))[3:9]
            shown = [line if line[1:] and line == line.rstrip() else repr(line) for line in diff]  # blanks visible
            found.append(f"{where}: source differs (- source, + notebook)\n    " + "\n    ".join(shown))
        if _cell_metadata(got) != _cell_metadata(want):
            found.append(f"{where}: metadata {_cell_metadata(got)} != {_cell_metadata(want)}")
        if len(found) > 10:
            break
    return found


def problems(root: Path | None = None, chosen: list[tuple[Path, Path]] | None = None) -> list[str]:
    """Everything --check reports: missing halves of a pair, notebooks that differ from their source."""
    root = root or ROOT
    found = []
    for source, notebook in pairs(root) if chosen is None else chosen:
        if not notebook.exists():
            found.append(
                f"{source.relative_to(root)}: no notebook; "
                f"build it with `python -m tools.build {source.relative_to(root)}`"
            )
        elif not source.exists():
            found.append(f"{notebook.relative_to(root)}: no source; write {source.relative_to(root)}")
        else:
            stored = nbformat.read(notebook, as_version=4)
            found += [f"{notebook.relative_to(root)}: {d}" for d in differences(read_source(source), stored)]
    return found


def keep_outputs(built: nbformat.NotebookNode, stored: nbformat.NotebookNode) -> int:
    """Copy outputs and notebook metadata from the stored notebook for unchanged cells.

    Returns how many code cells lack them."""
    old = {(c.id, c.cell_type, c.source): c for c in stored.cells}
    missing = 0
    for cell in built.cells:
        if cell.cell_type != "code":
            continue
        match = old.get((cell.id, cell.cell_type, cell.source))
        if match is not None and match.execution_count is not None:
            cell.outputs, cell.execution_count = match.outputs, match.execution_count
        else:
            missing += 1
    # jupytext's notes stay in the source; what the build writes comes from the source
    kept = {k: v for k, v in stored.metadata.items() if k != "jupytext" and k not in BUILT_METADATA}
    built.metadata = {**kept, **{k: built.metadata[k] for k in BUILT_METADATA if k in built.metadata}}
    return missing


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_copies(nb: nbformat.NotebookNode) -> int:
    """Drop the widget view of every output that also holds a ``text/html`` copy (a Stepper, a quiz).

    A stored widget view shows a dead widget, or "model not found", wherever no kernel runs it:
    JupyterLab before the cell is run, nbconvert's HTML, nbviewer. Without it they all show the copy,
    which is written to teach without a kernel (the Stepper's whole run, the quiz's questions); a
    run in JupyterLab replaces it with the live widget. Widget state no output needs goes too.
    Returns how many views were dropped.
    """
    dropped, views_left = 0, False
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
                dropped += 1
            views_left = views_left or WIDGET_VIEW in data
    if not views_left:
        nb.metadata.pop("widgets", None)
    return dropped


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int) -> None:
    """Run every cell in a fresh kernel whose working folder is ``folder``; stops at the first error."""
    from nbclient import NotebookClient

    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # Progress goes to a fresh file that is thrown away: the run ticks nobody's progress, and a stored
    # progress.show() shows what a student's own run shows (chapter 00's warm-up ticked), not an empty table.
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["EDP_PROGRESS_FILE"] = os.path.join(scratch, "progress.json")
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
        finally:
            os.environ["EDP_PROGRESS_FILE"] = ""
    static_copies(nb)
    for cell in nb.cells:
        for key in IGNORED_CELL_METADATA:
            cell.metadata.pop(key, None)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def build(source: Path, notebook: Path, run: bool = True, timeout: int = 180) -> None:
    nb = read_source(source)
    start = time.perf_counter()
    if run:
        execute(nb, notebook.parent.resolve(), timeout)
        how = f"executed in {time.perf_counter() - start:.1f} s"
    else:
        missing = keep_outputs(nb, nbformat.read(notebook, as_version=4)) if notebook.exists() else len(nb.cells)
        how = f"not executed; {missing} code cells without outputs" if missing else "not executed; outputs kept"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, notebook)
    os.utime(source)  # the source stays the newer of the pair: jupytext refuses a notebook newer than its text
    print(f"{_shown(notebook)}: {how}")
    if notebook.parent == ROOT / "solutions":
        from course_lib import exercises

        exercise = ROOT / "exercises" / notebook.name
        exercise.write_text(exercises.render(exercises.make_exercise(nb)))
        print(f"{_shown(exercise)}: made from the solution")


def select(names: list[str], root: Path | None = None) -> list[tuple[Path, Path]]:
    """The pairs a command line names: chapter numbers ("04") or paths of sources or notebooks."""
    every = pairs(root)
    if not names:
        return every
    chosen = []
    for name in names:
        if re.fullmatch(r"\d\d", name):
            hits = [
                (s, n)
                for s, n in every
                if s.name.startswith(f"{name}_") and n.parent.name in ("notebooks", "solutions")
            ]
        else:
            path = Path(name).resolve()
            hits = [(s, n) for s, n in every if path in (s, n)]
        if not hits:
            raise SystemExit(f"no source or notebook for {name!r}: give a chapter number like 04, or a path")
        chosen += [pair for pair in hits if pair not in chosen]
    return chosen


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build", description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers (04) or paths; default: every notebook")
    parser.add_argument("--no-execute", action="store_true", help="write cells from the sources without running them")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a notebook differs from its source"
    )
    parser.add_argument("--timeout", type=int, default=180, help="seconds a cell may run (default 180)")
    args = parser.parse_args(argv)
    chosen = select(args.chapters, root)
    if args.check:
        found = problems(root, chosen)
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print("out of date: edit the source, then run `python -m tools.build NN`", file=sys.stderr)
        stale = 0
        if not args.chapters and root in (None, ROOT):
            from course_lib import exercises

            stale = exercises.main(["--check"])
        return 1 if found or stale else 0
    from nbclient.exceptions import CellExecutionError

    for source, notebook in chosen:
        if not source.exists():
            print(f"{notebook.relative_to(ROOT)}: no source to build it from", file=sys.stderr)
            return 1
        try:
            build(source, notebook, run=not args.no_execute, timeout=args.timeout)
        except CellExecutionError as error:
            print(f"{notebook.relative_to(ROOT)}: not written, a cell failed:\n{error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
