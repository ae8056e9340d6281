"""Screenshots of the acceptance dossiers for governance/screenshots/ (run once, by hand):
``.venv/bin/python -m scripts.html_screenshots``. Top of the page and each chart, in
headless Debian Chromium (/usr/bin/chromium) through Playwright; no request leaves the page.
"""

from __future__ import annotations

import sys

from scripts.html_goldens import GOLDEN, ROOT

SHOTS = ("d1-03-mismatch", "d1-04-matrix-3x4x5", "d1-02-overrun", "d5-01-verifier-compromised")
OUT = ROOT / "governance" / "screenshots"


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for name in SHOTS:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.route(
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
            )
            page.goto((GOLDEN / f"{name}.html").as_uri())
            page.screenshot(path=str(OUT / f"{name}-top.png"))
            figures = page.locator("figure[data-clause]")
            for i in range(figures.count()):
                clause = figures.nth(i).get_attribute("data-clause")
                figures.nth(i).screenshot(path=str(OUT / f"{name}-chart-{clause}.png"))
                print(f"wrote governance/screenshots/{name}-chart-{clause}.png")
            print(f"wrote governance/screenshots/{name}-top.png")
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
