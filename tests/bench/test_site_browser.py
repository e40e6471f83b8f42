"""End to end on a clean clone: ``nox -s bench -- HEAD~1..HEAD`` records two commits,
``nox -s publish`` builds the site, and headless Chromium finds the amplitude-bias graph
with at least two commits plotted, and the landing page's verdict, sparklines and graph
links (screenshots saved).

Uses the ``tiny`` profile (machinery, not science) and only the science benchmarks to stay
within CI time; publish runs in this test's own Python (``--no-venv``). Needs git,
Debian's ``chromium`` and ``chromium-driver`` (the ``browser`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = Path(os.environ.get("PTYCHOBENCH_SCREENSHOTS", ROOT / "reports" / "screenshots"))


def run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=2400)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    clone = tmp_path_factory.mktemp("clone") / "ptychobench"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    count = int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=clone, capture_output=True,
                               text=True, check=True).stdout)
    assert count >= 2, "the repository needs two commits"
    env = {**os.environ, "PTYCHOBENCH_PROFILE": "tiny", "PTYCHOBENCH_REPORTS": str(clone / "reports"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("VIRTUAL_ENV", None)
    nox = [sys.executable, "-m", "nox", "--no-error-on-missing-interpreters"]
    run([*nox, "-s", "bench", "--", "HEAD~1..HEAD", "--bench", "bench_science"], clone, env)
    results = [p for p in (clone / ".asv" / "results").rglob("*.json") if p.name != "machine.json"]
    assert len(results) >= 2, f"expected results for two commits, found {results}"
    run([sys.executable, "-m", "ptychobench", "parity", "--profile", "tiny", "--static-only", "--quiet",
         "--reports", str(clone / "reports")], clone, env)
    run([*nox, "--no-venv", "-s", "publish"], clone, env)  # this Python has asv and ptychobench
    return clone / "site"


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


PLOTTED_COMMITS = """
var plot = window.jQuery && jQuery('#main-graph').data('plot');
if (!plot) { return -1; }
var xs = {};
plot.getData().forEach(function (s) { s.data.forEach(function (p) { if (p[1] !== null) { xs[p[0]] = 1; } }); });
return Object.keys(xs).length;
"""


def plotted_commits(browser) -> int:
    """Commits plotted in asv's main graph, once it shows two (or after 60 s)."""
    deadline, plotted = time.time() + 60, -1
    while time.time() < deadline:
        plotted = browser.execute_script(PLOTTED_COMMITS)
        if plotted >= 2:
            break
        time.sleep(0.5)
    return plotted


def screenshot(browser, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / name
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def test_amplitude_bias_graph_has_two_commits(server, browser):
    browser.get(f"{server}/asv/#bench_science.Amplitude.track_amplitude_bias")
    plotted = plotted_commits(browser)
    screenshot(browser, "amplitude_bias_graph.png")
    assert plotted >= 2, f"amplitude-bias graph shows {plotted} commit(s)"


def test_landing_page_shows_verdict_trends_and_graph_links(site, server, browser):
    from selenium.webdriver.common.by import By

    checks = json.loads((site / "parity" / "checks.json").read_text())
    browser.get(f"{server}/index.html")
    screenshot(browser, "landing.png")
    assert browser.find_element(By.CSS_SELECTOR, "#verdict .verdict").text == (
        "PASS" if all(c["passed"] for c in checks) else "FAIL")
    # two benchmarked commits: every tracked number has a drawn line
    lines = browser.find_elements(By.CSS_SELECTOR, "svg.spark polyline")
    assert lines and all(line.size["width"] > 0 for line in lines), "no sparkline drawn"
    link = browser.find_element(By.CSS_SELECTOR, 'td a[href^="asv/#bench_science.Amplitude.track_amplitude_bias?"]'
                                                 '[href$="&p-stat=%27median%27"]')
    href = link.get_attribute("href")
    link.click()  # one machine and parameter set of the graph
    plotted = plotted_commits(browser)
    screenshot(browser, "landing_link_graph.png")
    assert plotted >= 2, f"the landing page's link {href} shows {plotted} commit(s)"


def test_parity_report_is_linked(server, browser):
    browser.get(f"{server}/parity/index.html")
    assert "ptychobench parity report" in browser.page_source
    assert "../asv/index.html" in browser.page_source
