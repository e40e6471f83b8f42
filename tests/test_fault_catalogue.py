"""The suite can fail, by name: every fault makes exactly its declared checks fail, and in them
exactly the comparisons (rows) it declares among the failures.

A set-up crash is never a catch: the fault must leave the pipelines buildable and fail the
checks it declares, and no other. Static faults need only the checks without training (and
the recorded numbers, recomputed whenever the fault touches the modules they are computed
with); trained faults break the inference path and are re-evaluated on the session's trained
models; the training_run check's faults train the tiny profile under the fault.
"""

import sys

import pytest

from ptychobench.parity import checks, faults, recorded, runner
from ptychobench.pipelines.profiles import get_profile

pytestmark = [pytest.mark.slow]

STATIC = sorted(n for n, f in faults.FAULTS.items() if f.tier == "static")
TRAINED = sorted(n for n, f in faults.FAULTS.items() if f.tier == "trained")
LOOP = sorted(n for n, f in faults.FAULTS.items() if f.tier == "loop")
#: The modules the recorded numbers are computed with (recorded.measure_data_path)
DATA_PATH = ("ptychobench.physics", "ptychobench.simulation")


def test_catalogue_covers_every_check_and_names_rows():
    assert len(faults.FAULTS) >= 24
    declared = set().union(*(f.checks for f in faults.FAULTS.values()))
    assert declared == set(checks.STATIC_CHECKS) | {"recorded_numbers", "training_run", "amplitude",
                                                   "amplitude_gs1_ideal"}
    for name, fault in faults.FAULTS.items():
        assert fault.rows, f"{name} names no row that must fail"


def _namespace(module) -> dict:
    """Every attribute of ``module`` and of the classes it defines, by identity."""
    out = {}
    for key, value in vars(module).items():
        out[key] = value
        if isinstance(value, type) and value.__module__ == module.__name__:
            out.update({f"{key}.{k}": v for k, v in vars(value).items()})
    return out


def touches_data_path(name: str) -> bool:
    """Whether fault ``name`` replaces anything in the modules the recorded numbers come from."""
    modules = [m for n, m in sorted(sys.modules.items()) if n.startswith(DATA_PATH) and m is not None]
    before = [_namespace(m) for m in modules]
    with faults.applied(name):
        after = [_namespace(m) for m in modules]
    return any(set(a) != set(b) or any(a[k] is not b[k] for k in a) for a, b in zip(after, before))


def test_touches_data_path_tells_a_physics_fault_from_a_model_fault():
    assert touches_data_path("fftshift_dropped") and touches_data_path("knn_seed_included")
    assert not touches_data_path("learning_rate_changed") and not touches_data_path("phase_sign_flipped")


def failed_rows(results, fault) -> list:
    """The declared rows of ``fault`` that no failed row of its declared checks starts with."""
    failed = [row["what"] for r in results if r.name in fault.checks for row in r.rows if not row["passed"]]
    return [want for want in fault.rows if not any(w.startswith(want) for w in failed)]


def test_clean_code_passes():
    results = runner.run_static("smoke")
    assert all(r.passed for r in results), [r.summary() for r in results if not r.passed]


@pytest.mark.parametrize("name", STATIC)
def test_static_fault_fails_its_checks_and_rows(name):
    fault = faults.FAULTS[name]
    data_path = touches_data_path(name)
    try:
        with faults.applied(name):
            results = runner.run_static("smoke")
            if data_path:
                recorded.measure_data_path.cache_clear()
                results.append(checks.check_recorded_numbers(get_profile("smoke")))
    finally:
        recorded.measure_data_path.cache_clear()
    failed = {r.name for r in results if not r.passed}
    assert "setup" not in failed, f"{name}: the pipelines crashed instead of a check catching it: {results[0].problems}"
    assert "recorded_numbers" not in fault.checks or data_path, f"{name}: declares recorded_numbers, touches nothing"
    assert failed == fault.checks, (f"{name}: failed {sorted(failed)}, declared {sorted(fault.checks)}\n"
                                    + "\n".join(r.summary() for r in results if not r.passed))
    assert not failed_rows(results, fault), f"{name}: these declared rows passed: {failed_rows(results, fault)}"


def trained_checks(runs: dict) -> list:
    """The trained checks of a parity outcome, on re-evaluated runs (as ``run_parity`` makes them)."""
    return [checks.check_amplitude(runs["legacy"], runs["modern"]),
            *(checks.check_amplitude(runs["legacy"], runs[key], name=f"amplitude_{key.removeprefix('modern_')}",
                                     modern_key=key) for key in runs if key not in ("legacy", "modern"))]


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


def observed_tiny(name: str | None):
    """Both pipelines of the tiny profile trained (under fault ``name``), as training_run sees them."""
    with faults.applied(name) if name else _nothing():
        out = []
        for prep in runner.prepare_both(get_profile("tiny"), 0):
            result = runner.common.train_model(prep, False)
            out.append(checks.observe_training(prep, result))
    return out


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def test_training_run_passes_on_clean_tiny_runs():
    check = checks.check_training_run(observed_tiny(None))
    assert check.passed, check.problems


@pytest.mark.parametrize("name", LOOP)
def test_loop_fault_fails_its_checks_and_rows(name):
    """Trained on the tiny profile under the fault: the static checks (tiny) and training_run;
    exactly the declared checks fail, with the declared rows among the failures."""
    fault = faults.FAULTS[name]
    with faults.applied(name):
        results = runner.run_static("tiny")
    results.append(checks.check_training_run(observed_tiny(name)))
    failed = {r.name for r in results if not r.passed}
    assert failed == fault.checks, (f"{name}: failed {sorted(failed)}, declared {sorted(fault.checks)}\n"
                                    + "\n".join(r.summary() for r in results if not r.passed))
    assert not failed_rows(results, fault), f"{name}: these declared rows passed: {failed_rows(results, fault)}"
