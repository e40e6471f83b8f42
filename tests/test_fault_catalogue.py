"""The suite can fail, by name: every fault makes exactly its declared checks fail.

A set-up crash is never a catch: the fault must leave the pipelines buildable and fail the
checks it declares, and no other. Static faults need only the checks without training;
trained faults break the inference path and are re-evaluated on the session's trained models.
"""

import pytest

from ptychobench.parity import checks, faults, runner

pytestmark = [pytest.mark.slow]

STATIC = sorted(n for n, f in faults.FAULTS.items() if f.tier == "static")
TRAINED = sorted(n for n, f in faults.FAULTS.items() if f.tier == "trained")


def test_catalogue_covers_every_check():
    assert len(faults.FAULTS) >= 24
    declared = set().union(*(f.checks for f in faults.FAULTS.values()))
    assert declared == set(checks.STATIC_CHECKS) | {"amplitude"}


def test_clean_code_passes():
    results = runner.run_static("smoke")
    assert all(r.passed for r in results), [r.summary() for r in results if not r.passed]


@pytest.mark.parametrize("name", STATIC)
def test_static_fault_fails_its_checks(name):
    fault = faults.FAULTS[name]
    with faults.applied(name):
        results = runner.run_static("smoke")
    failed = {r.name for r in results if not r.passed}
    assert "setup" not in failed, f"{name}: the pipelines crashed instead of a check catching it: {results[0].problems}"
    assert failed == fault.checks, (f"{name}: failed {sorted(failed)}, declared {sorted(fault.checks)}\n"
                                    + "\n".join(r.summary() for r in results if not r.passed))


@pytest.mark.parametrize("name", TRAINED)
def test_trained_fault_fails_amplitude(parity_outcome, name):
    models = parity_outcome.models
    assert set(models) == {"legacy", "modern"} and all(result is not None for _, result in models.values())
    with faults.applied(name):
        runs = {p: runner.evaluate(prep, result) for p, (prep, result) in models.items()}
    check = checks.check_amplitude(runs["legacy"], runs["modern"])
    assert not check.passed, f"{name} went unnoticed by the amplitude check"
    clean = checks.check_amplitude(*(runner.evaluate(prep, result) for prep, result in models.values()))
    assert clean.passed, clean.problems  # re-evaluating without the fault passes again


def test_recorded_numbers_fail_under_a_scale_fault():
    """The recorded-numbers check is not a table that always passes: with the simulation's
    scale swapped for the closed form, the recorded s_sim and mean X no longer match."""
    from ptychobench.parity import recorded
    from ptychobench.pipelines.profiles import get_profile

    recorded.measure_data_path.cache_clear()
    try:
        with faults.applied("intensity_scale_closed_form"):
            check = checks.check_recorded_numbers(get_profile("smoke"))
    finally:
        recorded.measure_data_path.cache_clear()
    failed = [row["what"] for row in check.rows if not row["passed"]]
    assert not check.passed
    assert any(w.startswith("legacy dose: dataset-derived s of the 392² training set") for w in failed), failed
