"""What a stored notebook shows with no kernel: the form the website and the offline slides export.

What it is: one function shared by ``tools/website.py`` and ``tools/slides.py``::

    nb = static_copy(nbformat.read(path, as_version=4))

A displayed widget (a Stepper) is stored as a bundle: the widget's view, which needs a kernel or
ipywidgets' renderer from a CDN, and a ``text/html`` copy of what it showed (the Stepper's static
walk-through, ``course_lib.stepview``). The copy keeps the bundle's ``text/html`` and drops the
view, and the notebook's saved widget state, so every viewer shows the walk-through and no page
loads a script from the internet. A widget without an HTML copy (a progress bar) is left out:
its ``text/plain`` form (``HBox(children=...)``) means nothing to a reader.

What it is not: a converter. Cells, outputs and their metadata (``alt`` text included) pass
through untouched; nbconvert and Jupyter Book do the rendering.
"""

from __future__ import annotations

import copy
from pathlib import Path

__all__ = ["WIDGET_VIEW", "static_copy", "lectures", "ROOT"]

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def lectures(root: Path | None = None) -> list[Path]:
    """Every lecture notebook, in syllabus order (NN_name first, then others such as the glossary)."""
    found = sorted((root or ROOT).joinpath("notebooks").glob("*.ipynb"))
    return sorted(found, key=lambda p: (not p.name[:2].isdigit(), p.name))


def static_copy(nb):
    """A copy of ``nb`` without widget views or widget state (see the module docstring)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if "outputs" not in cell:
            continue
        kept = []
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                if "text/html" not in data:
                    continue
                del data[WIDGET_VIEW]
                out.get("metadata", {}).pop(WIDGET_VIEW, None)
            kept.append(out)
        cell.outputs = kept
    return nb
