"""Export the lectures as offline slides: ``python -m tools.slides`` writes ``_build/slides/``.

What it is: every lecture notebook (``notebooks/*.ipynb``, as stored: nothing runs) turned into a
reveal.js slideshow of 1280 x 720 screens, cut where ``tools/slidemarks.py`` put the marks, styled
by ``notebooks/rise.css`` (the file RISE uses live), with each Stepper's static walk-through in
place of the widget (``tools/staticnb.py``) and a markdown cell holding several headings cut at
each (``split_at_headings``). The folder needs no network to view::

    _build/slides/index.html            a list of the lectures
    _build/slides/NN_name.html          one slideshow per lecture
    _build/slides/reveal.js/            reveal.js itself (dist/ and the notes plugin)

reveal.js comes from the npm registry at build time, pinned and checked (``npm pack``, then its
sha512 against ``REVEAL_INTEGRITY``), and is cached in ``_build/cache/``; ``--reveal DIR`` (or
``EDP_REVEAL_JS``) uses a copy you already have. Open ``_build/slides/index.html`` in a browser;
``F`` is full screen, ``S`` the speaker view, ``Esc`` the overview.

    python -m tools.slides                  # every lecture
    python -m tools.slides 04               # one chapter
    python -m tools.slides --out DIR        # somewhere else

What it is not: live. Code does not run here; to run cells while presenting, use RISE in
JupyterLab (``jupyterlab-rise``, in requirements.txt: View > Render as Reveal Slideshow, or Alt+R).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat

from tools.staticnb import ROOT, lectures, static_copy

REVEAL = "reveal.js@5.2.1"
REVEAL_INTEGRITY = "sha512-r7//6mIM5p34hFiDMvYfXgyjXqGRta+/psd9YtytsgRlrpRzFv4RbH76TXd2qD+7ZPZEbpBDhdRhJaFgfQ7zNQ=="
WIDTH, HEIGHT = 1280, 720
OUT = ROOT / "_build" / "slides"
CACHE = ROOT / "_build" / "cache"
TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS = ROOT / "notebooks" / "rise.css"


def fetch_reveal(cache: Path = CACHE) -> Path:
    """A folder holding reveal.js (``dist/``, ``plugin/``): from the cache, else ``npm pack`` into it."""
    folder = cache / REVEAL.replace("@", "-")
    if (folder / "dist" / "reveal.js").exists():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("reveal.js is needed once from the npm registry, and npm is not installed: install Node.js "
                         "(apt-get install npm), or give a copy with --reveal DIR")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        subprocess.run([npm, "pack", REVEAL, "--pack-destination", tmp, "--silent"], check=True,
                       stdout=subprocess.DEVNULL, cwd=tmp)
        tarball = next(Path(tmp).glob("*.tgz"))
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != REVEAL_INTEGRITY:
            raise SystemExit(f"{tarball.name}: sha512 {digest} is not the pinned {REVEAL_INTEGRITY}")
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.move(str(Path(tmp) / "package"), folder)
    return folder


def _exporter():
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.extra_template_basedirs = [str(TEMPLATES)]
    config.SlidesExporter.template_name = "edp_reveal"
    config.SlidesExporter.reveal_url_prefix = "reveal.js"
    config.SlidesExporter.reveal_theme = "white"  # its fonts ship with reveal.js; "simple" fetches them from Google
    config.SlidesExporter.reveal_width, config.SlidesExporter.reveal_height = str(WIDTH), str(HEIGHT)
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    return SlidesExporter(config=config)


def split_at_headings(nb) -> None:
    """Cut a markdown cell that holds a later ``#``/``##``/``###`` heading into one cell per heading.

    The later parts start a slide (``#``, ``##``) or a screen below it (``###``), as a cell of their
    own would (``tools/slidemarks.py``). Only the export is cut: live in RISE such a cell scrolls,
    and its author can put a ``+++`` line before the heading in the source to cut it there too.
    """
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        parts, fenced = [[]], False
        for line in cell.source.split("\n"):
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            if not fenced and re.match(r"#{1,3} ", line) and any(x.strip() for x in parts[-1]):
                parts.append([])
            parts[-1].append(line)
        cells.append(cell)
        cell.source = "\n".join(parts[0]).strip("\n")
        for k, part in enumerate(parts[1:], 1):
            level = len(re.match(r"#+", part[0]).group())
            kind = "slide" if level <= 2 else "subslide"
            cells.append(nbformat.v4.new_markdown_cell("\n".join(part).strip("\n"), id=f"{cell.get('id', 'md')}-{k}",
                                                       metadata={"slideshow": {"slide_type": kind}}))
    nb.cells = cells


class _MissingAlt(logging.Handler):
    """Counts nbconvert's "Alternative text is missing on N image(s)" warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record):
        if "Alternative text is missing" in record.getMessage():
            self.count += int(record.args[0]) if record.args else 1


def export(notebook: Path, out: Path, exporter=None) -> tuple[Path, int]:
    """Write ``out/<name>.html`` for one notebook; returns the page and its images without alt text."""
    exporter = exporter or _exporter()
    missing = _MissingAlt()
    exporter.log.addHandler(missing)
    try:
        nb = static_copy(nbformat.read(notebook, as_version=4))
        split_at_headings(nb)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem},
                                                             "edp": {"css": CSS.read_text()}})
    finally:
        exporter.log.removeHandler(missing)
    page = out / f"{notebook.stem}.html"
    page.write_text(body)
    return page, missing.count


def _index(pages: list[Path]) -> str:
    items = "".join(f'<li><a href="{p.name}">{html.escape(p.stem)}</a></li>' for p in pages)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Event-Driven Python: slides</title>"
            "</head><body><main><h1>Event-Driven Python: slides</h1>"
            f"<ul>{items}</ul><p>Keys: arrows move, F is full screen, S the speaker view, Esc the overview.</p>"
            "</main></body></html>")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.slides", description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers (04) or notebook names; default: every lecture")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--reveal", type=Path, default=os.environ.get("EDP_REVEAL_JS") or None,
                        help="a folder holding reveal.js (dist/, plugin/) instead of fetching it")
    args = parser.parse_args(argv)
    chosen = [p for p in lectures() if not args.chapters or any(p.name.startswith(c) for c in args.chapters)]
    if not chosen:
        raise SystemExit(f"no lecture notebook matches {args.chapters}")
    reveal = args.reveal or fetch_reveal()
    args.out.mkdir(parents=True, exist_ok=True)
    for part in ("dist", "plugin/notes"):
        shutil.copytree(reveal / part, args.out / "reveal.js" / part, dirs_exist_ok=True)
    exporter = _exporter()
    for notebook in chosen:
        page, missing = export(notebook, args.out, exporter)
        note = f"; {missing} image(s) without alt text (see course_lib/figures.py)" if missing else ""
        print(f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}{note}")
    every = sorted(p for p in args.out.glob("*.html") if p.name != "index.html")
    (args.out / "index.html").write_text(_index(every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
