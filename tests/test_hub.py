"""Binder and JupyterHub, offline: the links tools/hub.py writes, and the files Binder reads.

Binder (repo2docker) is not run here (it needs Docker and the network). What it relies on is
checked instead: with no ``binder/`` or ``.binder/`` folder it reads the root ``requirements.txt``;
a local requirement there (``-e .``) makes it install after copying the whole repository, from
the repository's root, so ``-e .`` finds ``pyproject.toml``; ``requires-python`` must admit a
Python it provides.
"""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import pytest
import tomllib
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools import hub  # noqa: E402

REPO = "https://github.com/example/event-driven-python"


def test_binder_reads_the_root_requirements_and_installs_the_course_package():
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists(), \
        "a binder/ folder would make Binder ignore the root requirements.txt"
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert "-e ." in lines, "Binder installs course_lib through the root requirements' `-e .`"
    for line in lines:
        if line != "-e .":
            Requirement(line)  # raises on a line pip would not read
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert {"project", "build-system"} <= set(project)
    assert any(v in SpecifierSet(project["project"]["requires-python"]) for v in ("3.10", "3.11", "3.12", "3.13"))


def test_jupyterlab_rise_is_a_student_requirement():
    names = {Requirement(line.split("#")[0]).name for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.split("#")[0].strip() and not line.startswith("-")}
    assert {"jupyterlab", "jupyterlab-rise", "ipywidgets"} <= names


def test_gitpuller_link_clones_into_a_folder_and_opens_the_first_notebook():
    url = hub.gitpuller_url("https://hub.example.edu/", REPO + ".git", branch="main")
    parts = urllib.parse.urlparse(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.edu", "/hub/user-redirect/git-pull")
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert query == {"repo": REPO + ".git", "branch": "main", "targetpath": "event-driven-python",
                     "urlpath": "lab/tree/event-driven-python/notebooks/00_start_here.ipynb"}


FOLDERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=30).filter(
    lambda s: s.strip(".")
)


@given(FOLDERS, st.sampled_from(["main", "fall-2026", "v1.0"]))
def test_gitpuller_link_round_trips_any_folder_and_branch(folder, branch):
    url = hub.gitpuller_url("https://hub.example.edu", REPO, branch=branch, targetpath=folder,
                            open_path="exercises/01_three_models.ipynb")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
    assert query["branch"] == branch and query["targetpath"] == folder
    assert query["urlpath"] == f"lab/tree/{folder}/exercises/01_three_models.ipynb"


def test_binder_link_opens_jupyterlab_on_the_first_notebook():
    url = hub.binder_url(REPO, "main")
    assert url == ("https://mybinder.org/v2/gh/example/event-driven-python/main"
                   "?urlpath=lab%2Ftree%2Fnotebooks%2F00_start_here.ipynb")


@pytest.mark.parametrize("call, message", [
    (lambda: hub.gitpuller_url("hub.example.edu", REPO), "hub must be"),
    (lambda: hub.gitpuller_url("https://hub.example.edu", REPO, interface="tree"), "interface must be one of"),
    (lambda: hub.gitpuller_url("https://hub.example.edu", ""), "repo must be a non-empty string"),
    (lambda: hub.binder_url("https://gitlab.com/a/b"), "repo must be https://github.com/OWNER/NAME"),
])
def test_bad_arguments_say_what_was_expected(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_command_line_prints_the_link(capsys):
    assert hub.main(["--hub", "https://hub.example.edu", "--repo", REPO]) == 0
    assert capsys.readouterr().out.startswith("https://hub.example.edu/hub/user-redirect/git-pull?repo=")
