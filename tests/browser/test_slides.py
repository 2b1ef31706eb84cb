"""The offline slides: every slide of every lecture fits a 1280 x 720 screen, with no network.

``python -m tools.slides --out <tmp>`` exports the stored lectures (reveal.js from the npm
registry the first time, then from ``_build/cache/``). Each page is opened from the disk in
headless Chromium at 1280 x 720: reveal.js must start (so it came from the folder, not a CDN),
no request may leave the machine, and each slide, shown in turn, must be no taller than the
slide (720 px): a code cell's input and output scroll inside their own boxes (``notebooks/rise.css``),
which is allowed; anything else that overflows is a slide to cut (``tools/slidemarks.py``). The
tallest slide of each lecture is saved as ``test-output/browser/slides/<lecture>.png``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools import slides  # noqa: E402
from tools.staticnb import lectures  # noqa: E402

pytestmark = pytest.mark.browser

# Show each slide in turn and measure it; images are awaited first (an unloaded one is 0 px tall).
MEASURE_JS = """
async () => {
  await Promise.all([...document.images].map((img) => img.complete ? null :
    new Promise((done) => { img.onload = img.onerror = done; })));
  const height = Reveal.getConfig().height, found = [];
  for (const slide of Reveal.getSlides()) {
    const {h, v} = Reveal.getIndices(slide);
    Reveal.slide(h, v);
    const title = (slide.querySelector('h1, h2, h3, p, pre') || {}).textContent || '';
    found.push({h, v, tall: slide.scrollHeight, fits: slide.scrollHeight <= height, title: title.trim().slice(0, 60),
                broken: [...slide.querySelectorAll('img')].filter((img) => !img.naturalWidth).length});
  }
  return found;
}
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    cached = (slides.CACHE / slides.REVEAL.replace("@", "-") / "dist").exists()
    if not (shutil.which("npm") or os.environ.get("EDP_REVEAL_JS") or cached):
        if os.environ.get("CI"):
            pytest.fail("npm is needed once to fetch reveal.js for the slides", pytrace=False)
        pytest.skip("npm is needed once to fetch reveal.js (or set EDP_REVEAL_JS to a copy)")
    out = tmp_path_factory.mktemp("slides")
    assert slides.main(["--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("lecture", [p.stem for p in lectures()])
def test_every_slide_fits_the_screen(lecture, exported, browser, output_dir):
    shots = output_dir / "slides"
    shots.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": slides.WIDTH, "height": slides.HEIGHT})
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    try:
        page.goto((exported / f"{lecture}.html").as_uri(), wait_until="load")
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=20_000)
        measured = page.evaluate(MEASURE_JS)
        assert len(measured) > 3, f"{lecture}: only {len(measured)} slides: reveal.js did not cut the notebook"
        tallest = max(measured, key=lambda s: s["tall"])
        page.evaluate(f"Reveal.slide({tallest['h']}, {tallest['v']})")
        page.wait_for_timeout(100)
        page.screenshot(path=str(shots / f"{lecture}.png"))
        too_tall = [s for s in measured if not s["fits"]]
        for s in too_tall[:5]:
            page.evaluate(f"Reveal.slide({s['h']}, {s['v']})")
            page.screenshot(path=str(shots / f"{lecture}-OVERFLOW-{s['h']}-{s['v']}.png"))
        print(f"{lecture}: {len(measured)} slides, tallest {tallest['tall']} px")
    finally:
        page.close()
        context.close()
    assert not outside, f"{lecture}: the slides asked the network for {outside[:3]}"
    assert not too_tall, f"{lecture}: {len(too_tall)} slide(s) taller than {slides.HEIGHT} px: " + "; ".join(
        f"#/{s['h']}/{s['v']} {s['tall']} px ({s['title']!r})" for s in too_tall)
    assert not [s for s in measured if s["broken"]], f"{lecture}: slides with images that did not load"
