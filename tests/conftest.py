"""Shared pytest fixtures for the ptychobench test suite.

* ``fixtures_dir``: where the cross-check arrays from the original PtychoPINN code live
  (the package data ``ptychobench/data/original``, the same copy the parity checks read; or
  ``$PTYCHOBENCH_FIXTURES``).
* ``parity_outcome`` (session): both pipelines prepared, trained and compared once per
  session on ``$PTYCHOBENCH_PROFILE`` (smoke) and ``$PTYCHOBENCH_SEED`` (0); the report folder
  goes to ``$PTYCHOBENCH_REPORTS`` (reports) before any assertion; its progress reaches the
  terminal through pytest's capture (``ptychobench.progress.terminal_progress``).
* ``_reset_legacy_cfg`` (autouse): restores the global legacy ``cfg`` after every test,
  so no test sees settings another test left behind.
* ``browser`` (session): headless Chromium driven by Selenium (Debian's ``chromium`` and
  ``chromium-driver``, installed by ``.ci/run``), started only by the tests that ask for it.
  Without them those tests are skipped, with the install line as the reason; with
  ``PTYCHOBENCH_REQUIRE_BROWSER=1`` (set by ``.ci/run``) they fail instead.
* ``shared_scope``: the scope of fixtures that several tests share ("module"), or "function"
  under mutation testing. mutmut maps a function to the tests during which it ran; a module
  fixture runs during its first test only, so the other tests that check its result would never
  be run against a mutant (``nox -s mutants``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ptychobench.config import params
from ptychobench.data import original_fixtures
from ptychobench.parity import report, runner
from ptychobench.progress import terminal_progress


def shared_scope(fixture_name: str, config: pytest.Config) -> str:
    """Pytest dynamic scope: "module", or "function" when mutmut runs the tests."""
    return "function" if "MUTANT_UNDER_TEST" in os.environ else "module"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Directory of the original implementation's fixture arrays (see its README.md)."""
    return original_fixtures().resolve()


@pytest.fixture(autouse=True)
def _reset_legacy_cfg():
    """Reset the legacy global configuration after each test."""
    yield
    params.reset()


@pytest.fixture(scope="session")
def parity_outcome(request):
    """Both pipelines prepared, trained and compared; the report is written before any assertion.

    Its progress (stages, bars, each check's verdict) goes to the terminal past pytest's
    capture; ``PTYCHOBENCH_PROGRESS=0`` silences it.
    """
    with terminal_progress(request.config) as live:
        outcome = runner.run_parity(
            os.environ.get("PTYCHOBENCH_PROFILE", "smoke"),
            seed=int(os.environ.get("PTYCHOBENCH_SEED", "0")),
            progress=live,
            keep_models=True,  # the trained tier of the fault catalogue re-evaluates them
        )
        with live.child("parity").stage("write report"):
            outcome.report = report.write_report(outcome, os.environ.get("PTYCHOBENCH_REPORTS", "reports"))
        live.line(f"parity report: {outcome.report}")
    return outcome


@pytest.fixture(scope="session")
def parity_report(parity_outcome) -> Path:
    """The report folder of the session's parity outcome (written before any assertion)."""
    return parity_outcome.report


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Selenium), 1400x900."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", chromedriver)) if not p)
        message = f"{missing} not on PATH: apt-get install chromium chromium-driver"
        # A newcomer's machine may lack a browser; CI may not (it sets the variable and fails here)
        if os.environ.get("PTYCHOBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (PTYCHOBENCH_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()
