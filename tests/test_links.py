"""Links in the course's markdown lead somewhere: every relative link of a notebook (lecture or
solution), of the glossary and of the README names a file that exists, relative to the notebook's
own folder, as JupyterLab serving the course folder resolves it; and every chapter with exercises
links its exercise notebook (``../exercises/NN_name.ipynb``) so a student can open it from there."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)[^)]*\)")
PAGES = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def _markdown(path: Path) -> str:
    if path.suffix == ".md":
        return path.read_text()
    return "\n\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def _targets(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", _markdown(path), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:|#", t)]


@pytest.mark.parametrize("path", PAGES + [ROOT / "README.md"], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_name_files_that_exist(path):
    missing = []
    for target in _targets(path):
        file = urllib.parse.unquote(target.split("#")[0])
        if file and not (path.parent / file).resolve().exists():
            missing.append(target)
    assert not missing, f"{path.relative_to(ROOT)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("exercise", sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_each_chapter_links_its_exercises(exercise):
    lecture = ROOT / "notebooks" / exercise.name
    assert f"../exercises/{exercise.name}" in _targets(lecture), \
        f"{lecture.relative_to(ROOT)} should end with a link [exercises/{exercise.name}](../exercises/{exercise.name})"
