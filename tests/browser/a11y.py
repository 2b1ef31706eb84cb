"""axe-core in a Playwright page: run the scan, keep what counts, save the report.

axe-core's own script comes inside the ``axe-playwright-python`` package (requirements-dev.txt),
so no CDN is involved: ``scan(page, include=[".edp-stepper"])`` injects it and runs it on the
whole page or on the elements named. ``blocking(results)`` keeps the serious and critical
violations, each as one line naming the rule, the element and axe's help text; ``save`` writes
the whole result (every impact, passes left out) as JSON under ``test-output/browser/axe/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")


def axe_script() -> str:
    try:
        import axe_playwright_python
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"axe-playwright-python is needed for the accessibility scan: {exc}", pytrace=False)
        pytest.skip("axe-playwright-python is not installed (pip install -r requirements-dev.txt)")
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def scan(page, include: list[str] | None = None, exclude: list[str] | None = None) -> dict:
    """axe-core's result for the page, or for the elements matching ``include`` (minus ``exclude``)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_script())
    context = {"include": [[s] for s in include]} if include else {"include": [["html"]]}
    if exclude:
        context["exclude"] = [[s] for s in exclude]
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    return page.evaluate("([context, options]) => axe.run(context, options)", [context, options])


def blocking(result: dict) -> list[str]:
    """The serious and critical violations, one line per element."""
    return [f"{v['id']} ({v['impact']}): {node['target']} {v['help']}"
            for v in result["violations"] if v["impact"] in BLOCKING for node in v["nodes"]]


def save(results: dict, name: str, output_dir: Path) -> Path:
    folder = output_dir / "axe"
    folder.mkdir(exist_ok=True)
    slim = {where: [{k: v[k] for k in ("id", "impact", "help", "helpUrl")}
                    | {"targets": [n["target"] for n in v["nodes"]]} for v in result["violations"]]
            for where, result in results.items()}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(slim, indent=1))
    return path
