"""The Stepper's text passes WCAG AA contrast: 4.5:1 against its (white) background.

Renders what the Stepper shows (``course_lib.stepview`` state views and status lines, the
timeline SVG of ``course_lib.timeline``, empty and full) and measures every colour given to
text: CSS ``color:`` in the HTML and ``fill`` on SVG ``<text>``. The axe-core scan in the browser
(tests/browser/test_lecturing.py) measures the page as drawn, JupyterLab's buttons included.
"""

from __future__ import annotations

import re

import pytest

from course_lib import stepview
from course_lib.timeline import Segment, Timeline, render_timeline_svg

AA = 4.5


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rgb`` or ``#rrggbb``."""
    hexa = colour.lstrip("#")
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    channels = [int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str = "#ffffff") -> float:
    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_colours(html: str) -> set[str]:
    found = set(re.findall(r"(?<![-\w])color\s*:\s*(#[0-9a-fA-F]{3,6})\b", html))
    found |= set(re.findall(r"<text[^>]*\bfill='(#[0-9a-fA-F]{3,6})'", html))
    return found


def rendered() -> dict[str, str]:
    tl = Timeline([Segment("A", "cpu", 0, 1), Segment("A", "io", 1, 3), Segment("B", "ready", 0, 1),
                   Segment("B", "cpu", 1, 2), Segment("C", "odd", 0, 2)])
    snapshot = {"clock": 1.5, "ready": ["a()", "b()"], "timers": [{"when": 2.0, "callback": "c()"}],
                "readers": {}, "mode": "simulated", "batch_left": 1}
    return {
        "state": stepview.render_state(snapshot),
        "line": stepview.render_line("ran a()"),
        "status": stepview.render_status(3, True, False),
        "title": stepview.render_title("a title"),
        "timeline": render_timeline_svg(tl, clock=1.5, new={tl.segments[0]}),
        "empty timeline": render_timeline_svg(None),
        "points": render_timeline_svg(None, clock=2.0, points=[(0, 0.0), (1, 2.0)]),
    }


def test_contrast_formula_matches_wcag_examples():
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#767676") == pytest.approx(4.54, abs=0.01)   # the lightest grey that passes AA on white
    assert contrast("#777777") < AA


@pytest.mark.parametrize("what, html", rendered().items())
def test_stepper_text_passes_aa(what, html):
    weak = {c: round(contrast(c), 2) for c in text_colours(html) if contrast(c) < AA}
    assert not weak, f"{what}: text colours below {AA}:1 on white: {weak}"
