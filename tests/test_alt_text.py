"""Every picture a stored notebook shows has alternative text (course_lib/figures.py).

A figure's PNG output must carry ``metadata["image/png"]["alt"]``: the course's timelines get it
from ``plot_timeline``/``plot_models``; any other figure from ``describe(fig, "...")`` before it is
shown. ``MISSING`` lists, per notebook, how many pictures still lack it. The list may only
shrink: a new picture without alt text fails, and so does a notebook that now has fewer than its
entry says (lower the number, or delete the entry, in the same commit that fixes the cells).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

IMAGES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")

# notebook -> pictures still without alt text. Fix: describe(fig, "...") in the plotting cell
# (from course_lib.figures import describe), rebuild with `python -m tools.build NN`, lower the number.
MISSING = {
}


def stored_notebooks() -> list[Path]:
    return sorted(p for folder in ("notebooks", "solutions") for p in (ROOT / folder).glob("*.ipynb"))


def without_alt(path: Path) -> list[str]:
    """Each picture without alt text, named by its cell id and the cell's first line."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []):
            for mime in IMAGES:
                alt = str(out.get("metadata", {}).get(mime, {}).get("alt", "")).strip()
                if mime in out.get("data", {}) and not alt:
                    first = cell.source.strip().split("\n")[0][:60]
                    found.append(f"{cell.get('id')} ({first!r})")
    return found


@pytest.mark.parametrize("path", stored_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_picture_has_alt_text(path):
    key = f"{path.parent.name}/{path.name}"
    missing = without_alt(path)
    allowed = MISSING.get(key, 0)
    assert len(missing) <= allowed, (
        f"{key}: {len(missing)} picture(s) without alt text (allowed {allowed}): {', '.join(missing)}. "
        "Call course_lib.figures.describe(fig, 'what the picture shows') before the figure is shown, "
        "then `python -m tools.build NN`.")
    assert len(missing) == allowed, (
        f"{key}: only {len(missing)} picture(s) without alt text now: set MISSING[{key!r}] in "
        f"tests/test_alt_text.py to {len(missing)}" + (" (delete the entry)" if not missing else ""))


def test_the_allowlist_names_only_stored_notebooks():
    names = {f"{p.parent.name}/{p.name}" for p in stored_notebooks()}
    assert set(MISSING) <= names, f"entries for notebooks that do not exist: {set(MISSING) - names}"
