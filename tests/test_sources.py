"""Every stored notebook is what its source makes: one source for each notebook (tools/build.py).

- every source has a notebook, every notebook a source;
- each stored notebook's cells (ids, types, sources, metadata) equal the ones its source gives;
- a build without execution leaves a stored notebook byte for byte as it is (no churn);
- the sources are in jupytext's own form, and jupytext.toml pairs them as the build does;
- the comparison fails when a notebook or a source is edited alone (shown on a temporary copy).
"""

import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.config import load_jupytext_config
from jupytext.paired_paths import paired_paths

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools import build  # noqa: E402

PAIRS = build.pairs()
IDS = [str(n.relative_to(ROOT)) for _, n in PAIRS]


def test_every_source_has_a_notebook_and_every_notebook_a_source():
    assert {n.parent.name for _, n in PAIRS} >= {"notebooks", "solutions"}
    missing = [str(p.relative_to(ROOT)) for pair in PAIRS for p in pair if not p.exists()]
    assert not missing, f"missing (build with `python -m tools.build NN`): {missing}"


@pytest.mark.parametrize("source, notebook", PAIRS, ids=IDS)
def test_stored_notebook_equals_its_source(source, notebook):
    found = build.differences(build.read_source(source), nbformat.read(notebook, as_version=4))
    assert not found, "\n".join([f"{notebook.relative_to(ROOT)} differs from {source.relative_to(ROOT)}:", *found,
                                 "edit the source, then run `python -m tools.build NN`"])


@pytest.mark.parametrize("source, notebook", PAIRS, ids=IDS)
def test_building_without_executing_changes_nothing(source, notebook, tmp_path, capsys):
    copy = tmp_path / notebook.name
    shutil.copy(notebook, copy)
    build.build(source, copy, run=False)
    assert "outputs kept" in capsys.readouterr().out
    assert copy.read_bytes() == notebook.read_bytes()


@pytest.mark.parametrize("source", [s for s, _ in PAIRS], ids=[str(s.relative_to(ROOT)) for s, _ in PAIRS])
def test_sources_are_in_jupytext_form(source):
    """So jupytext (in JupyterLab, or `jupytext --sync`) rewrites none of them."""
    config = load_jupytext_config(str(source.parent))
    text = source.read_text()
    assert jupytext.writes(jupytext.read(source), fmt="md:myst", config=config) == text


@pytest.mark.parametrize("source, notebook", [p for p in PAIRS if p[1].parent.name in ("notebooks", "solutions")])
def test_jupytext_toml_pairs_each_notebook_with_its_source(source, notebook):
    formats = load_jupytext_config(str(ROOT)).default_formats(str(notebook))
    assert formats, f"jupytext.toml does not pair {notebook.relative_to(ROOT)}"
    assert {Path(p) for p, _ in paired_paths(str(notebook), "ipynb", formats)} == {notebook, source}


def _course(tmp_path, name="04_event_loop_callbacks"):
    """A temporary repository with one chapter's lecture and solution and their sources."""
    for sources, notebooks in list(build.FOLDERS.items())[:2]:
        (tmp_path / sources).mkdir(parents=True)
        (tmp_path / notebooks).mkdir(parents=True)
        shutil.copy(ROOT / sources / f"{name}.md", tmp_path / sources)
        shutil.copy(ROOT / notebooks / f"{name}.ipynb", tmp_path / notebooks)
    return tmp_path / "solutions" / f"{name}.ipynb", tmp_path / "sources" / "solutions" / f"{name}.md"


def _edit(path, change):
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def _first(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda nb: setattr(_first(nb, "timers_answer"), "source", _first(nb, "timers_answer").source + "\n"),
            ["timers_answer", "source differs"],
        ),
        (lambda nb: _first(nb, "timers_check").metadata["nbgrader"].update(points=5), ["metadata", "'points': 5"]),
        (
            lambda nb: nb.cells[3].metadata.setdefault("tags", []).append("nbval-ignore-output"),
            ["metadata", "nbval-ignore-output"],
        ),
        (lambda nb: nb.cells[5].metadata.pop("slideshow"), ["metadata"]),
        (lambda nb: nb.cells.__setitem__(0, nbformat.v4.new_raw_cell(nb.cells[0].source, id="c000")), ["a raw cell"]),
        (lambda nb: nb.cells.append(nbformat.v4.new_code_cell("1 + 1")), ["cells, the source has"]),
        (lambda nb: nb.cells[2].__setitem__("id", "x"), ["id 'x'"]),
    ],
    ids=["source", "nbgrader", "tag", "slide", "type", "extra cell", "id"],
)
def test_a_notebook_edited_without_its_source_is_found(tmp_path, change, words):
    solution, _ = _course(tmp_path)
    assert build.problems(tmp_path) == []
    _edit(solution, change)
    found = "\n".join(build.problems(tmp_path))
    assert found.startswith("solutions/04_event_loop_callbacks.ipynb: ")
    for word in words:
        assert word in found, found


def test_a_source_edited_alone_or_a_half_missing_is_found(tmp_path):
    solution, source = _course(tmp_path)
    source.write_text(source.read_text().replace("grade_id: timers_check", "grade_id: timers_checked"))
    assert any("timers_checked" in p for p in build.problems(tmp_path))
    source.unlink()
    (tmp_path / "sources" / "notebooks" / "99_new.md").write_text("# 99 · New\n")
    found = build.problems(tmp_path)
    assert (
        "solutions/04_event_loop_callbacks.ipynb: no source; write sources/solutions/04_event_loop_callbacks.md"
        in found
    )
    assert any(p.startswith("sources/notebooks/99_new.md: no notebook") for p in found)


def test_check_command_exits_1_when_a_notebook_differs(tmp_path, capsys):
    solution, _ = _course(tmp_path)
    assert build.main(["--check", "04"], root=tmp_path) == 0
    _edit(solution, lambda nb: nb.cells.pop())
    assert build.main(["--check", "04"], root=tmp_path) == 1
    assert "out of date" in capsys.readouterr().err
