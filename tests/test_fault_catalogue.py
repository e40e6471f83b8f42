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
    assert declared == set(checks.STATIC_CHECKS) | {"amplitude", "amplitude_gs1_ideal"}


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


def trained_checks(runs: dict) -> list:
    """The trained checks of a parity outcome, on re-evaluated runs (as ``run_parity`` makes them)."""
    return [checks.check_amplitude(runs["legacy"], runs["modern"]),
            *(checks.check_amplitude(runs["legacy"], runs[key], name=f"amplitude_{key.removeprefix('modern_')}",
                                     modern_key=key) for key in runs if key not in ("legacy", "modern"))]


def failed_rows(results, fault) -> list:
    """The declared rows of ``fault`` that no failed row of its declared checks starts with."""
    failed = [row["what"] for r in results if r.name in fault.checks for row in r.rows if not row["passed"]]
    return [want for want in fault.rows if not any(w.startswith(want) for w in failed)]


def test_trained_faults_declare_rows_and_cover_every_trained_check(parity_outcome):
    trained = {c.name for c in parity_outcome.checks if c.name.startswith("amplitude")}
    for name in TRAINED:
        fault = faults.FAULTS[name]
        assert fault.rows, f"{name} declares no row"
        assert fault.checks == trained, f"{name}: declares {sorted(fault.checks)}, the trained checks are {sorted(trained)}"


@pytest.mark.parametrize("name", TRAINED)
def test_trained_fault_fails_its_rows(parity_outcome, name):
    """Every trained model of the session re-evaluated under the fault: exactly the declared
    checks fail, each declared row among the failures; without the fault they pass again."""
    fault = faults.FAULTS[name]
    models = parity_outcome.models
    assert set(models) == {"legacy", "modern", "modern_gs1_ideal"} and all(r is not None for _, r in models.values())
    with faults.applied(name):
        results = trained_checks({p: runner.evaluate(prep, result) for p, (prep, result) in models.items()})
    failed = {r.name for r in results if not r.passed}
    assert failed == fault.checks, (f"{name}: failed {sorted(failed)}, declared {sorted(fault.checks)}\n"
                                    + "\n".join(r.summary() for r in results if not r.passed))
    assert not failed_rows(results, fault), f"{name}: these declared rows passed: {failed_rows(results, fault)}"
    clean = trained_checks({p: runner.evaluate(prep, result) for p, (prep, result) in models.items()})
    assert all(c.passed for c in clean), [c.summary() for c in clean if not c.passed]


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
