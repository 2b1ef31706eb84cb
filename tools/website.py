"""Build the course website: ``python -m tools.website`` writes ``_build/website/`` with Jupyter Book.

What it is: one command from the stored notebooks to a static site (Jupyter Book 1, Sphinx and
myst-nb; nothing is executed: the pages show the outputs the notebooks were stored with)::

    _build/website/index.html               the course: what it is, the chapters, the exercises
    _build/website/notebooks/NN_name.html   every lecture, the glossary too (any notebooks/*.ipynb)
    _build/website/exercises/NN_name.html   each exercise's instructions, without solutions

It stages copies in ``_build/website-src/`` (``tools/staticnb.py``: each Stepper shows its static
walk-through, and no page needs a widget script from a CDN), writes ``_config.yml`` and a table of
contents from what it finds, so a new chapter appears without a change here, and runs
``jupyter-book build``. Figures keep their alt text: myst-nb reads only an image's width and
height from a notebook's output, so this module is also a Sphinx extension (``setup``) that
gives each image its output's ``metadata["image/png"]["alt"]`` (``course_lib/figures.py``).

    python -m tools.website                 # build (about a minute)
    python -m tools.website --out DIR       # somewhere else
    python -m http.server -d _build/website # look at it on http://127.0.0.1:8000

Publishing is a copy of ``_build/website/`` to any static host; README.md shows GitHub Pages.

What it is not: a notebook runner (``python -m tools.build`` executes and stores the notebooks)
nor the slides (``python -m tools.slides``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from tools.staticnb import ROOT, lectures, static_copy

OUT = ROOT / "_build" / "website"
STAGE = ROOT / "_build" / "website-src"
TITLE = "Event-Driven Python"

CONFIG = {
    "title": TITLE,
    "author": "the Event-Driven Python authors",
    "copyright": "",
    "only_build_toc_files": True,
    "execute": {"execute_notebooks": "off"},
    "html": {"use_repository_button": False, "use_issues_button": False, "use_edit_page_button": False,
             "home_page_in_navbar": True},
    "launch_buttons": {"notebook_interface": "jupyterlab"},
    "parse": {"myst_enable_extensions": ["colon_fence", "deflist"], "myst_heading_anchors": 4},
    "sphinx": {
        "extra_extensions": ["tools.website"],
        "config": {"nb_merge_streams": True, "html_show_copyright": False, "html_show_sphinx": False,
                   "suppress_warnings": ["mystnb.unknown_mime_type"],
                   "html_theme_options": {"show_navbar_depth": 1}},
    },
}


def _title(notebook: Path) -> str:
    """A notebook's first heading, without Markdown marks (its file name if it has none)."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        match = re.search(r"^#\s+(.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if match:
            return re.sub(r"[*_`]", "", match.group(1)).strip()
    return notebook.stem


def _intro(chapters: list[Path], exercises: list[Path]) -> str:
    lines = [f"# {TITLE}", "",
             "An interactive course on how programs wait: blocking calls, threads, callbacks and event loops,",
             "`select`/`poll`/`epoll`, up to asyncio and an event-driven server. Each idea is shown first on a",
             "simulation you can step through one event at a time, then measured on a real machine.", "",
             "These pages show the notebooks as they were last run. To run them, step the loops and have your",
             "exercises checked, open the course in JupyterLab (see the repository's README).", "",
             "## Chapters", ""]
    lines += [f"- [{_title(p)}](notebooks/{p.stem}.ipynb)" for p in chapters]
    if exercises:
        lines += ["", "## Exercises", "",
                  "Each chapter's exercises, as a student gets them: the instructions and an empty function to",
                  "write. The checks run in JupyterLab.", ""]
        lines += [f"- [{_title(p)}](exercises/{p.stem}.ipynb)" for p in exercises]
    return "\n".join(lines) + "\n"


def stage(stage_dir: Path = STAGE) -> Path:
    """Write the book's sources (static copies of the notebooks, config, contents) into ``stage_dir``."""
    shutil.rmtree(stage_dir, ignore_errors=True)
    chapters = lectures()
    exercises = sorted((ROOT / "exercises").glob("*.ipynb"))
    for folder, notebooks in (("notebooks", chapters), ("exercises", exercises)):
        (stage_dir / folder).mkdir(parents=True)
        for notebook in notebooks:
            nb = static_copy(nbformat.read(notebook, as_version=4))
            nbformat.write(nb, stage_dir / folder / notebook.name)
    (stage_dir / "index.md").write_text(_intro(chapters, exercises))
    toc = {"format": "jb-book", "root": "index", "parts": [
        {"caption": "Chapters", "chapters": [{"file": f"notebooks/{p.stem}"} for p in chapters]}]}
    if exercises:
        toc["parts"].append({"caption": "Exercises", "chapters": [{"file": f"exercises/{p.stem}"} for p in exercises]})
    # YAML is a superset of JSON: no YAML writer needed
    (stage_dir / "_toc.yml").write_text(json.dumps(toc, indent=1))
    (stage_dir / "_config.yml").write_text(json.dumps(CONFIG, indent=1))
    return stage_dir


def build(out: Path = OUT, stage_dir: Path = STAGE) -> Path:
    """Stage the sources, run Jupyter Book, copy the HTML to ``out``; returns ``out``."""
    stage(stage_dir)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",  # no __main__ in Jupyter Book 1
               "build", str(stage_dir), "--builder", "html", "--keep-going"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"jupyter-book build failed ({done.returncode}):\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    warnings = [line for line in (done.stdout + done.stderr).splitlines() if "WARNING" in line]
    for line in warnings:
        print(line.replace(str(stage_dir) + os.sep, ""), file=sys.stderr)
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(stage_dir / "_build" / "html", out)
    return out


# -- the Sphinx extension: alt text from the notebook's output metadata -------------------------
def setup(app):
    """Give myst-nb's images the alt text stored in their output's metadata."""
    from myst_nb.core.render import NbElementRenderer

    original = NbElementRenderer.render_image
    if not getattr(original, "edp_alt", False):
        def render_image(self, data):
            nodes = original(self, data)
            alt = data.output_metadata.get(data.mime_type, {}).get("alt")
            for node in nodes:
                if alt and not node.get("alt"):
                    node["alt"] = str(alt)
            return nodes

        render_image.edp_alt = True
        NbElementRenderer.render_image = render_image
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.website", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    out = build(args.out.resolve())
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
