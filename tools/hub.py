"""Links that hand the course to a class: ``python -m tools.hub --hub URL --repo URL``.

What it is: two URL builders, for the two usual ways a class gets the course without installing it.

- ``gitpuller_url(hub, repo)``: a link to a JupyterHub with nbgitpuller. The first click clones the
  repository into the student's home (``~/<targetpath>``) and opens a notebook; every later click
  pulls the course's updates and merges them, keeping what the student changed (nbgitpuller
  merges with ``-Xours`` and never overwrites a student's edit).
- ``binder_url(repo)``: a link to mybinder.org, which builds the repository as it is
  (``requirements.txt`` at the root, ``-e .`` included) and opens a notebook. Nothing a student
  does there is kept after the session.

    python -m tools.hub --hub https://hub.example.edu --repo https://github.com/ORG/event-driven-python
    python -m tools.hub --binder --repo https://github.com/ORG/event-driven-python --branch main

What it is not: a deployment tool. It only writes links; README.md says how a hub must be set up.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse

from course_lib import validate

START = "notebooks/00_start_here.ipynb"


def repo_name(repo: str) -> str:
    """The folder nbgitpuller clones ``repo`` into by default: the URL's last part, without ``.git``."""
    return validate.text(repo, "repo").rstrip("/").split("/")[-1].removesuffix(".git")


def gitpuller_url(hub: str, repo: str, branch: str = "main", open_path: str = START,
                  targetpath: str | None = None, interface: str = "lab") -> str:
    """A JupyterHub link that clones (first time) or updates ``repo`` and opens ``open_path`` in it."""
    hub = validate.text(hub, "hub").rstrip("/")
    if not hub.startswith(("https://", "http://")):
        raise ValueError(f"hub must be the hub's address, starting with https://, got {hub!r}")
    interface = validate.one_of(interface, "interface", ("lab", "notebooks"))
    folder = targetpath or repo_name(repo)
    query = {"repo": repo, "branch": validate.text(branch, "branch"), "targetpath": folder,
             "urlpath": f"{interface}/tree/{folder}/{validate.text(open_path, 'open_path').lstrip('/')}"}
    return f"{hub}/hub/user-redirect/git-pull?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="/")


def binder_url(repo: str, branch: str = "main", open_path: str = START, binder: str = "https://mybinder.org") -> str:
    """A Binder link for a GitHub repository, opening ``open_path`` in JupyterLab."""
    parts = urllib.parse.urlparse(validate.text(repo, "repo").removesuffix(".git"))
    path = parts.path.strip("/").split("/")
    if parts.netloc != "github.com" or len(path) != 2:
        raise ValueError(f"repo must be https://github.com/OWNER/NAME for this Binder link, got {repo!r}")
    urlpath = urllib.parse.quote(f"lab/tree/{open_path.lstrip('/')}", safe="")
    return f"{binder.rstrip('/')}/v2/gh/{path[0]}/{path[1]}/{urllib.parse.quote(branch, safe='')}?urlpath={urlpath}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.hub", description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True, help="the course repository's clone URL")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--open", default=START, dest="open_path", help=f"notebook to open (default {START})")
    parser.add_argument("--hub", help="the JupyterHub's address, e.g. https://hub.example.edu")
    parser.add_argument("--targetpath", help="folder in the student's home (default: the repository's name)")
    parser.add_argument("--binder", action="store_true", help="a mybinder.org link instead")
    args = parser.parse_args(argv)
    if args.binder:
        print(binder_url(args.repo, args.branch, args.open_path))
    elif args.hub:
        print(gitpuller_url(args.hub, args.repo, args.branch, args.open_path, args.targetpath))
    else:
        parser.error("give --hub URL, or --binder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
