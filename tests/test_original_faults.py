"""Planted faults in our trained runs fail the rows that judge them by the original's distribution.

The session's trained smoke models are re-evaluated under inference faults of the catalogue
(``parity/faults.py``): the reconstruction 5% brighter, 20% darker, or squared. The check
``original_distribution`` must fail on the named legacy rows (the legacy reference is
dose_experiments' tip, whose model is ours), and pass again without the fault.
"""

from __future__ import annotations

import pytest

from ptychobench.parity import checks, faults, runner

pytestmark = [pytest.mark.slow]


def _judge(models):
    runs = {p: runner.evaluate(prep, result) for p, (prep, result) in models.items() if p in ("legacy", "modern")}
    return checks.check_original(runs["legacy"], runs["modern"])


@pytest.mark.parametrize("fault, rows", [
    ("gauge_shifted_5pct", {"legacy gauge_corrected_ratio", "legacy output_level"}),
    ("prediction_scaled", {"legacy gauge_corrected_ratio", "legacy output_level"}),
    ("reconstruction_squared", {"legacy output_level"}),
])
def test_a_planted_fault_fails_the_original_distribution_rows(parity_outcome, fault, rows):
    with faults.applied(fault):
        result = _judge(parity_outcome.models)
    failed = {row["what"].split(" (")[0] for row in result.rows if not row["passed"]}
    assert rows <= failed, (fault, failed)
    assert all(name.startswith("legacy ") for name in failed)  # modern's reference builds another model


def test_the_clean_runs_pass_it(parity_outcome):
    result = _judge(parity_outcome.models)
    assert result.passed, result.problems
