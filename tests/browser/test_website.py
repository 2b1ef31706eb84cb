"""The course website: every page opens in Chromium, figures and Stepper walk-throughs render, links resolve.

``python -m tools.website --out <tmp>`` builds the site from the stored notebooks (Jupyter Book 1),
an HTTP server of this test serves it on 127.0.0.1, and headless Chromium opens every page:

- each figure a notebook stores is on its page, loaded (``naturalWidth > 0``), with alt text that is
  not just its file name once the output carries one (``course_lib/figures.py``);
- each Stepper a lecture stores shows its static walk-through (``.edp-stepper-static``), visible;
- every ``<a href>`` to a page of the site resolves to a file, and its ``#anchor`` to an element;
- nothing is fetched from outside the machine;
- a screenshot of each page goes to ``test-output/browser/website/``.

The last test scans every page with axe-core (``a11y.py``) and saves the report.
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools.staticnb import WIDGET_VIEW, lectures  # noqa: E402

pytestmark = pytest.mark.browser


class Site:
    """The built site on disk (``root``) and served (``url(path)``)."""

    def __init__(self, root: Path):
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def pages(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*.html")
                      if not p.relative_to(self.root).parts[0].startswith("_"))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _ids_of(path: Path) -> frozenset:
    parser = _Ids()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


@pytest.fixture(scope="module")
def website(tmp_path_factory):
    try:
        import jupyter_book  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"jupyter-book is needed for the website tests: {exc}", pytrace=False)
        pytest.skip("jupyter-book is not installed (pip install -r requirements-dev.txt)")
    from tools import website as tool

    tmp = tmp_path_factory.mktemp("website")
    site = Site(tool.build(out=tmp / "site", stage_dir=tmp / "src"))
    yield site
    site.stop()


def _stored(notebook: Path) -> tuple[int, int, int]:
    """(images, images with alt text, Stepper walk-throughs) among a notebook's stored outputs."""
    images = alts = steppers = 0
    for cell in nbformat.read(notebook, as_version=4).cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for mime in ("image/png", "image/jpeg", "image/svg+xml"):
                if mime in data:
                    images += 1
                    alts += bool(out.get("metadata", {}).get(mime, {}).get("alt"))
            steppers += WIDGET_VIEW in data and "edp-stepper-static" in str(data.get("text/html", ""))
    return images, alts, steppers


def _source_notebook(page: str) -> Path | None:
    folder, _, name = page.rpartition("/")
    if folder in ("notebooks", "exercises"):
        path = ROOT / folder / (name.removesuffix(".html") + ".ipynb")
        return path if path.exists() else None
    return None


PAGE_JS = """
() => {
  const main = document.querySelector('main') || document.body;
  const imgs = [...main.querySelectorAll('img')].map((i) => ({src: i.getAttribute('src'), alt: i.getAttribute('alt'),
    loaded: i.complete && i.naturalWidth > 0}));
  const steppers = [...document.querySelectorAll('.edp-stepper-static')].map((s) => {
    const r = s.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
  const links = [...document.querySelectorAll('a[href]')].map((a) => a.href);
  return {imgs, steppers, links};
}
"""


def test_site_has_every_chapter_and_exercise(website):
    pages = website.pages()
    for notebook in lectures():
        assert f"notebooks/{notebook.stem}.html" in pages, f"{notebook.name} has no page"
    for notebook in (ROOT / "exercises").glob("*.ipynb"):
        assert f"exercises/{notebook.stem}.html" in pages, f"exercises/{notebook.name} has no page"
        text = (website.root / "exercises" / f"{notebook.stem}.html").read_text()
        assert "NotImplementedError" in text, f"exercises/{notebook.stem}: the page shows no exercise stub"
    assert not any(p.startswith("solutions/") for p in pages), "the site must not publish the solutions"


def test_every_page_renders_with_figures_steppers_and_links(website, browser, output_dir):
    shots = output_dir / "website"
    shots.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside, problems = [], []
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith((website.base, "data:")) else None)
    page = context.new_page()
    try:
        for path in website.pages():
            page.goto(website.url(path), wait_until="load")
            page.wait_for_load_state("networkidle")
            found = page.evaluate(PAGE_JS)
            notebook = _source_notebook(path)
            if notebook is not None:
                images, alts, steppers = _stored(notebook)
                if len(found["imgs"]) < images:
                    problems.append(f"{path}: {len(found['imgs'])} images on the page, the notebook stores {images}")
                named = [i for i in found["imgs"] if i["alt"] and not i["alt"].endswith(Path(i["src"] or "").name)]
                if len(named) < alts:
                    problems.append(f"{path}: {len(named)} images with alt text, the notebook stores {alts}")
                if len(found["steppers"]) < steppers or not all(found["steppers"]):
                    problems.append(f"{path}: {sum(found['steppers'])} Stepper walk-throughs shown of {steppers}")
            problems += [f"{path}: image {i['src']} did not load" for i in found["imgs"] if not i["loaded"]]
            problems += _broken_links(website, path, found["links"])
            page.screenshot(path=str(shots / (path.replace("/", "__").removesuffix(".html") + ".png")))
            if path.startswith("notebooks/") and found["steppers"]:
                page.locator(".edp-stepper-static").first.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / (path.replace("/", "__").removesuffix(".html") + "-stepper.png")))
    finally:
        page.close()
        context.close()
    assert not problems, "\n".join(problems)
    assert not outside, f"pages fetched from outside the machine: {sorted(set(outside))[:5]}"


def _broken_links(website, page: str, links: list[str]) -> list[str]:
    broken = []
    for link in set(links):
        if not link.startswith(website.base):
            continue
        parsed = urllib.parse.urlparse(link)
        target = website.root / urllib.parse.unquote(parsed.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{page}: link to a missing page {parsed.path}")
        elif parsed.fragment and target.suffix == ".html" and parsed.fragment not in _ids_of(target):
            broken.append(f"{page}: link to a missing anchor {parsed.path}#{parsed.fragment}")
    return broken


def test_no_serious_accessibility_violation_on_any_page(website, browser, output_dir):
    """axe-core over every page; the report (every impact) goes to test-output/browser/axe/website.json.

    Code cells' inputs are coloured by one style sheet on every page, and checking the contrast
    of their thousands of highlighted words is most of axe's time: they are scanned on the
    first chapter's page only.
    """
    from a11y import blocking, save, scan

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    results, found = {}, []
    first = f"notebooks/{lectures()[0].stem}.html"
    try:
        for path in website.pages():
            page.goto(website.url(path), wait_until="load")
            results[path] = scan(page, exclude=None if path == first else [".cell_input"])
            found += [f"{path}: {line}" for line in blocking(results[path])]
    finally:
        page.close()
        context.close()
    report = save(results, "website", output_dir)
    assert not found, f"{len(found)} serious or critical violation(s) (report: {report}):\n" + "\n".join(found[:40])
