"""Mark lecture notebooks for slides: ``python tools/slides.py notebooks/*.ipynb``.

A markdown cell that starts a section (``#`` or ``##``) begins a new slide; every other
cell continues the current one. Only cell metadata changes, so outputs stay as they are.
Then ``jupyter nbconvert --to slides notebooks/NN_*.ipynb`` makes a reveal.js deck.
"""

import sys

import nbformat


def mark(nb) -> bool:
    changed = False
    for cell in nb.cells:
        heading = cell.cell_type == "markdown" and cell.source.lstrip().startswith(("# ", "## "))
        wanted = "slide" if heading else "-"
        if cell.metadata.get("slideshow", {}).get("slide_type") != wanted:
            cell.metadata["slideshow"] = {"slide_type": wanted}
            changed = True
    return changed


if __name__ == "__main__":
    for path in sys.argv[1:]:
        nb = nbformat.read(path, as_version=4)
        if mark(nb):
            nbformat.write(nb, path)
            print(f"marked {path}")
