"""The suite can fail: every deliberately broken variant makes the static parity checks fail.

Each fault breaks something the configuration, data, stage or architecture checks guard,
so the checks that need no training suffice; the clean code passes them.
"""

import pytest

from ptychobench.parity import faults, runner

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_clean_code_passes():
    results = runner.run_static("smoke")
    assert all(r.passed for r in results), [r.summary() for r in results if not r.passed]


@pytest.mark.parametrize("name", sorted(faults.FAULTS))
def test_fault_is_caught(name):
    with faults.FAULTS[name]():
        results = runner.run_static("smoke")
    failed = [r.summary() for r in results if not r.passed]
    assert failed, f"fault {name!r} went unnoticed by every parity check"
