"""The parity suite runs both pipelines once per session and writes one report folder.

``PTYCHOBENCH_PROFILE`` (default ``smoke``), ``PTYCHOBENCH_SEED`` (default 0) and
``PTYCHOBENCH_REPORTS`` (default ``reports``) choose what runs and where the report goes.
"""

from __future__ import annotations

import os

import pytest

from ptychobench.parity import report, runner


@pytest.fixture(scope="session")
def parity_outcome():
    """Both pipelines prepared, trained and compared; the report is written before any assertion."""
    outcome = runner.run_parity(
        os.environ.get("PTYCHOBENCH_PROFILE", "smoke"),
        seed=int(os.environ.get("PTYCHOBENCH_SEED", "0")),
        progress=False,
    )
    folder = report.write_report(outcome, os.environ.get("PTYCHOBENCH_REPORTS", "reports"))
    print(f"\nparity report: {folder}")
    return outcome


def assert_check(outcome, name: str) -> None:
    check = outcome.check(name)
    assert check.passed, f"{name} parity failed:\n" + "\n".join(check.problems)
