"""The golden HTML dossiers opened in a real browser (headless Chromium, Debian's
/usr/bin/chromium, driven by Playwright; never a downloaded browser).

Without the browser (or Playwright) the tests skip, unless VLAB_REQUIRE_BROWSER=1 (set by
.ci/run, which installs chromium): then they fail. One browser per module. A screenshot of
each page (top, and each chart) is written under the test's tmp folder for a person.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripts.html_goldens import CASES, DIFF, GOLDEN

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = os.environ.get("VLAB_REQUIRE_BROWSER") == "1"


def _unavailable(why: str) -> None:
    if REQUIRED:
        pytest.fail(f"VLAB_REQUIRE_BROWSER=1 but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any, path: Path, width: int = 1000) -> tuple[Any, list[str], list[str]]:
    """The page loaded, with its console errors and every request that was not the page
    itself or a data:/about: URL (each is aborted)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    target = path.resolve().as_uri()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r: Any) -> None:
        url = r.request.url
        if url == target or url.startswith(("data:", "about:")):
            r.continue_()
        else:
            requests.append(url)
            r.abort()

    page.route("**/*", route)
    page.goto(target)
    return page, errors, requests


@pytest.mark.parametrize("name", [*sorted(CASES), DIFF[0]])
def test_golden_dossier_renders(browser: Any, name: str, tmp_path: Path) -> None:
    page, errors, requests = open_page(browser, GOLDEN / f"{name}.html")
    try:
        # Non-blank: text laid out with a real height.
        assert page.evaluate("document.body.innerText.trim().length") > 200
        assert page.evaluate("document.body.scrollHeight") > 300
        badge = page.locator("#topline")
        badge.scroll_into_view_if_needed()
        box = badge.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
        page.screenshot(path=str(tmp_path / f"{name}-top.png"))
        figures = page.locator("figure[data-clause]")
        for i in range(figures.count()):
            figure = figures.nth(i)
            svg = figure.locator("svg[role=img]")
            assert figure.locator("svg[role=img] > title").count() == 1
            svg.scroll_into_view_if_needed()
            chart = svg.bounding_box()
            assert chart is not None and chart["width"] > 0 and chart["height"] > 0
            viewport = page.viewport_size
            assert chart["y"] < viewport["height"] and chart["y"] + chart["height"] > 0
            clause = figure.get_attribute("data-clause")
            figure.screenshot(path=str(tmp_path / f"{name}-{clause}.png"))
        assert errors == []
        assert requests == []
    finally:
        page.close()


def test_readable_on_a_phone(browser: Any, tmp_path: Path) -> None:
    """At a phone's width the page does not scroll sideways (the charts scale down)."""
    page, errors, _ = open_page(browser, GOLDEN / "d1-03-mismatch.html", width=380)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 380 + 1
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        assert errors == []
    finally:
        page.close()
