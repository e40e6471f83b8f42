"""The session's parity report as a reader sees it: headless Chromium opens index.html.

The verdict banner shows the verdict of checks.json; every table renders with rows; every
figure loads; no Markdown syntax (``**``, backticks) is left in the visible text of any page;
every link points to a file of the report. A full-page screenshot goes to
``$PTYCHOBENCH_SCREENSHOTS/parity_report.png`` (default reports/screenshots). Costs only the
browser: the report is the session fixture ``parity_report``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_DIR = Path(os.environ.get("PTYCHOBENCH_SCREENSHOTS", ROOT / "reports" / "screenshots"))
WIDTH = 1280  # the width the report is laid out for

IMAGES = """
return Array.from(document.images).map(function (i) {
  return {src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth}; });
"""
TABLES = """
return Array.from(document.querySelectorAll('table')).map(function (t) {
  return {id: t.id, rows: t.querySelectorAll('tbody tr').length}; });
"""
LINKS = "return Array.from(document.links).map(function (a) { return a.getAttribute('href'); });"


def _open(browser, path: Path) -> None:
    browser.get(path.resolve().as_uri())
    deadline = time.time() + 30
    while time.time() < deadline and browser.execute_script("return document.readyState") != "complete":
        time.sleep(0.1)


def _full_page_screenshot(browser, path: Path) -> None:
    before = browser.get_window_size()
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(WIDTH, height + 100)  # headless: the window is the page
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(path))
    finally:
        browser.set_window_size(before["width"], before["height"])


def test_report_in_a_browser(parity_report, browser):
    folder = Path(parity_report)
    verdicts = json.loads((folder / "checks.json").read_text())
    _open(browser, folder / "index.html")
    browser.set_window_size(WIDTH, 900)
    _full_page_screenshot(browser, SCREENSHOT_DIR / "parity_report.png")
    print(f"screenshot: {SCREENSHOT_DIR / 'parity_report.png'}")

    banner = browser.find_element("id", "verdict")
    expected = "PASS" if all(v["passed"] for v in verdicts) else "FAIL"
    assert banner.is_displayed() and banner.text.startswith(expected), banner.text

    tables = {t["id"]: t["rows"] for t in browser.execute_script(TABLES)}
    assert tables["checks-table"] == len(verdicts)
    for table in ("stage-table", "amplitude-table", "explain-table", "recorded-table", "files-table"):
        assert tables.get(table, 0) > 0, f"{table}: no rows in {tables}"

    images = browser.execute_script(IMAGES)
    assert {i["src"] for i in images} >= {"reconstruction.png", "explain_waterfall.png", "stage_waterfall.png"}
    assert all(i["complete"] and i["width"] > 0 for i in images), images

    links = [h for h in browser.execute_script(LINKS) if not h.startswith("#")]
    assert links and all((folder / h).is_file() for h in links), [h for h in links if not (folder / h).is_file()]

    for page in sorted(folder.glob("*.html")):
        _open(browser, page)
        text = browser.execute_script("return document.body.innerText")
        assert "**" not in text and "`" not in text, f"Markdown syntax shown in {page.name}"
