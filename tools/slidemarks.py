"""Slide marks for a lecture notebook: cut it into screens that fit a projector (about 1280 x 720).

What it is: the rules ``tools/build.py`` applies to every lecture (``sources/notebooks/``) when it
writes the ``slideshow`` metadata that RISE (live, in JupyterLab) and ``python -m tools.slides``
(the offline reveal.js export) read. Everything is decided from the source alone, so
``python -m tools.build --check`` can compare the marks without running anything::

    # or ## heading             -> "slide"     a new section: a new slide, left to right
    ### heading                 -> "subslide"  a new screen below it
    a code cell                 -> "subslide"  code and its output on a screen of their own,
                                               or "fragment" after a lead-in of a line or two:
                                               the question shows, the next key adds the code
    a markdown cell after code  -> "subslide"
    a markdown cell after text  -> "fragment"  while the screen's text still fits, else "subslide"

How tall a cell is gets estimated in pixels of a 1280 x 720 slide (the styles in
``notebooks/rise.css``: 20 px text, about 105 characters a line). A code cell's input is shown
in a box at most ``CODE_BOX`` tall and its output in one at most ``OUTPUT_BOX`` tall, both
scrolled inside (pictures are scaled down to fit), so a code screen always fits; only prose
longer than a screen cannot be cut here. An author who wants another cut writes
``slideshow: {slide_type: ...}`` in the cell's metadata in the source: the rules leave such a
cell as it is (see ``docs/DEVELOPING.md``).

What it is not: a layout engine. The estimate is deliberately rough; the browser test
``tests/browser/test_slides.py`` measures every exported slide and fails if one overflows.
"""

from __future__ import annotations

import math
import re

__all__ = ["mark", "RISE", "SCREEN", "CODE_BOX", "OUTPUT_BOX", "estimate_markdown"]

SCREEN = 640        # px of a 720 px slide that text may fill (reveal's margins take the rest)
CODE_BOX = 250      # px: the code of a cell scrolls beyond this (notebooks/rise.css)
OUTPUT_BOX = 330    # px: an output scrolls (text) or is scaled down (pictures) beyond this
LEAD_IN = 110       # px: prose this short may share a screen with the code that follows it
SHORT_CODE = 6      # lines: code this short may join its lead-in as a fragment
CHARS_PER_LINE = 100
LINE, CODE_LINE, GAP = 30, 24, 16
# What RISE (jupyterlab-rise) reads from the notebook's metadata: scroll a screen taller than the
# window rather than cut it, no transitions, start at the first slide, a theme with local fonts.
RISE = {"scroll": True, "transition": "none", "start_slideshow_at": "beginning", "theme": "white"}


def estimate_markdown(source: str) -> int:
    """Rough height in px of a markdown cell on a 1280 x 720 slide."""
    height, in_code = 0, False
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_code = not in_code
            height += GAP // 2
        elif in_code:
            height += CODE_LINE
        elif not stripped:
            height += GAP
        elif stripped.startswith("#"):
            height += 64 if re.match(r"#{1,2} ", stripped) else 44
        elif stripped.startswith("|"):
            height += LINE + 4 if not re.fullmatch(r"\|[\s:|-]+\|?", stripped) else 0
        else:
            height += LINE * max(1, math.ceil(len(stripped) / CHARS_PER_LINE))
    return height + GAP


def _estimate_code(source: str) -> int:
    return min(CODE_LINE * (source.count("\n") + 1) + 24, CODE_BOX) + OUTPUT_BOX


def _heading_level(cell) -> int:
    if cell.cell_type != "markdown":
        return 0
    match = re.match(r"(#{1,6}) ", cell.source.lstrip())
    return len(match.group(1)) if match else 0


def mark(nb) -> None:
    """Write ``slideshow.slide_type`` on every cell of ``nb`` and RISE's settings on the notebook."""
    used = 0            # px of the current screen taken so far
    screen_has_code = False
    for i, cell in enumerate(nb.cells):
        given = cell.metadata.get("slideshow", {}).get("slide_type")
        level = _heading_level(cell)
        if cell.cell_type == "code":
            tall = _estimate_code(cell.source)
            lines = cell.source.count("\n") + 1
            joins = i and not screen_has_code and used <= LEAD_IN and lines <= SHORT_CODE
            kind = "fragment" if joins else "subslide"
            used, screen_has_code = (used + tall if joins else tall), True
        else:
            tall = estimate_markdown(cell.source)
            if level in (1, 2) or i == 0:
                kind, used = "slide", tall
            elif level >= 3 or screen_has_code or used + tall > SCREEN:
                kind, used = "subslide", tall
            else:
                kind, used = "fragment", used + tall
            screen_has_code = False
        if given:  # the author's own cut wins; the estimate goes on from it
            kind = given
            if given in ("slide", "subslide"):
                used, screen_has_code = tall, cell.cell_type == "code"
        cell.metadata["slideshow"] = {"slide_type": kind}
    nb.metadata["rise"] = dict(RISE)
