"""Slide marks (tools/slidemarks.py), the export's cuts (tools/slides.py) and static copies (tools/staticnb.py).

The browser tests measure real slides; these check the rules on small notebooks, and that an
author's own mark in a MyST source survives the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools import build, slidemarks, slides  # noqa: E402
from tools.staticnb import WIDGET_VIEW, lectures, static_copy  # noqa: E402

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def kinds(*cells) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    slidemarks.mark(nb)
    assert nb.metadata["rise"] == slidemarks.RISE
    return [c.metadata["slideshow"]["slide_type"] for c in nb.cells]


LONG = "\n\n".join(["A paragraph of prose that runs on for a while, " * 4] * 6)


def test_headings_code_and_prose_get_their_screens():
    assert kinds(md("# Title\n\nIntro."), md("## A section\n\nText."), code("x = 1\n" * 10), md("After the code."),
                 md("### A part"), md(LONG), md(LONG)) == \
        ["slide", "slide", "subslide", "subslide", "subslide", "fragment", "subslide"]


def test_a_short_question_and_short_code_share_a_screen():
    assert kinds(md("## S"), code("x = 1\n" * 10), md("**Predict**: which runs first?"), code("loop.run()")) == \
        ["slide", "subslide", "subslide", "fragment"]
    assert kinds(md("## S"), code("loop.run()")) == ["slide", "fragment"]
    assert kinds(md("## S"), md(LONG), code("loop.run()")) == ["slide", "fragment", "subslide"]
    assert kinds(md("## S"), md("Short."), code("x = 1\n" * 12)) == ["slide", "fragment", "subslide"]


def test_an_authors_mark_wins():
    cell = code("x = 1")
    cell.metadata["slideshow"] = {"slide_type": "skip"}
    assert kinds(md("## S"), md("Short."), cell) == ["slide", "fragment", "skip"]


def test_an_authors_mark_in_a_myst_source_survives_the_build(tmp_path):
    source = tmp_path / "sources" / "notebooks" / "98_marks.md"
    source.parent.mkdir(parents=True)
    source.write_text('---\nkernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n'
                      '# Title\n\n+++ {"slideshow": {"slide_type": "subslide"}}\n\nShort.\n\n'
                      '```{code-cell} ipython3\n---\nslideshow:\n  slide_type: skip\n---\nx = 1\n```\n')
    nb = build.read_source(source)
    assert [c.metadata["slideshow"]["slide_type"] for c in nb.cells] == ["slide", "subslide", "skip"]
    assert nb.metadata["rise"] == slidemarks.RISE


@given(st.lists(st.text(alphabet="abc de", max_size=300), min_size=1, max_size=30))
def test_more_text_is_never_shorter(lines):
    text = "\n".join(lines)
    assert slidemarks.estimate_markdown(text + "\nmore words here") >= slidemarks.estimate_markdown(text)


def test_the_export_cuts_a_cell_at_each_later_heading():
    text = "## One\n\nText.\n\n```\n## not a heading\n```\n\n## Two\n\nMore.\n### Three"
    nb = nbformat.v4.new_notebook(cells=[md(text), code("x = 1")])
    slides.split_at_headings(nb)
    assert [c.source.split("\n")[0] for c in nb.cells] == ["## One", "## Two", "### Three", "x = 1"]
    assert [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells[1:3]] == ["slide", "subslide"]


def test_a_static_copy_keeps_the_html_walk_through_and_drops_widget_only_outputs():
    bundle = nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "x"},
                                                          "text/html": "<div>copy</div>", "text/plain": "Stepper(...)"})
    bar = nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "y"}, "text/plain": "HBox(...)"})
    cell = code("Stepper(f)")
    cell.outputs = [bundle, bar]
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": {"state": {}}})
    copy = static_copy(nb)
    assert "widgets" not in copy.metadata and "widgets" in nb.metadata
    assert [sorted(o.data) for o in copy.cells[0].outputs] == [["text/html", "text/plain"]]


def test_lectures_come_in_syllabus_order(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for name in ("glossary", "01_b", "00_a", "10_c"):
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text("{}")
    assert [p.stem for p in lectures(tmp_path)] == ["00_a", "01_b", "10_c", "glossary"]
