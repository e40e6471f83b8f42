"""The parity suite: one test per check, and the test's outcome is the check's verdict.

Every assertion the suite makes lives in a check (``ptychobench.parity.checks``) with a
tolerance-table entry, so the report's PASS/FAIL and pytest's outcome are the same thing:
``test_report_verdict_is_pytest_verdict`` ties them together.
"""

import json
from pathlib import Path

import pytest

from ptychobench.parity import checks

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]

CHECK_NAMES = [*checks.STATIC_CHECKS, "recorded_numbers", "training_run", "amplitude", "amplitude_gs1_ideal",
               "original_distribution"]


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_check(parity_outcome, name):
    assert_check(parity_outcome, name)


def test_every_check_ran_and_names_its_reference(parity_outcome):
    assert [c.name for c in parity_outcome.checks] == CHECK_NAMES
    for c in parity_outcome.checks:
        assert c.reference and c.rows, c.name


def test_both_ideal_scenarios_ran_and_custom_ones_say_how(parity_outcome):
    assert {"legacy", "modern", "modern_gs1_ideal"} <= set(parity_outcome.runs)
    assert parity_outcome.runs["modern"].modern_config["scenario"]["name"] == "gs2_ideal"
    assert parity_outcome.runs["modern_gs1_ideal"].modern_config["scenario"]["gridsize"] == 1
    assert len(parity_outcome.skipped) == 1 and "--probe-file" in parity_outcome.skipped[0]


def test_report_verdict_is_pytest_verdict(parity_outcome, parity_report):
    """The report's verdict is computed from the same checks the tests above assert."""
    verdicts = json.loads((Path(parity_report) / "checks.json").read_text())
    assert {v["name"]: v["passed"] for v in verdicts} == {c.name: c.passed for c in parity_outcome.checks}
    banner = "**Result: PASS**" if parity_outcome.passed else "**Result: FAIL**"
    assert banner in (Path(parity_report) / "index.md").read_text()
