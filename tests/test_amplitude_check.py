"""The amplitude parity check on fabricated runs with known answers: on the gauge passes,
off it fails, at the tolerance boundary it flips, and a saturated head is predicted; the
faithful bands judge both directions, and a failed run, a missing distribution or a
non-finite number fails a row instead of crashing the check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ptychobench.parity import checks, trained
from ptychobench.pipelines.common import RunResult
from ptychobench.evaluation.metrics import amplitude_metrics, expected_gauge


def fake_run(pipeline: str, factor: float, g: float = 0.3) -> RunResult:
    """A run whose stitched amplitude is ``factor × min(G × truth, 1)``: factor 1 is what a
    physics-consistent sigmoid head gives (saturated where ``G·truth > 1``)."""
    rng = np.random.default_rng(0)
    truth = (0.5 + rng.random((40, 40))).astype(np.float32)  # with g 0.3, G·truth stays below 1
    s_c, exp_ls = 988.2, 1200.0
    factors = {"s_c": s_c, "exp_log_scale_final": exp_ls}
    if pipeline == "legacy":
        factors["object_normalization"] = 1 / 2.0
    else:
        factors["g"] = g
    gauge = expected_gauge(factors.get("object_normalization", 1.0), factors.get("g", 1.0), s_c, math.log(exp_ls))
    stitched = (factor * np.minimum(gauge * truth, 1.0)).astype(np.complex64)
    covered = np.ones(truth.shape, bool)
    metrics = amplitude_metrics(np.abs(stitched), truth, covered, gauge)
    metrics["head_saturation"] = 0.0
    metrics["output_level"] = float(np.abs(stitched).mean())
    return RunResult(pipeline=pipeline, profile="smoke", seed=0, nphotons=1e9, config={"amp_activation": "sigmoid"},
                     modern_config=None, scale_factors=factors, stages=[], metrics=metrics, training={},
                     architecture=[], trainable_params=0, provenance={},
                     arrays={"stitched": stitched, "truth": truth, "covered": covered})


def faithful(spread: float = 0.02, **factors) -> dict:
    """A distribution of 10 'seeds' per quantity around the factor-1 fake runs' values, spread
    over ``± spread`` of each value; ``factors`` moves one quantity's distribution by a factor."""
    runs = {}
    for pipeline in ("legacy", "modern"):
        m = fake_run(pipeline, 1.0).metrics
        runs[pipeline] = {q: list(np.linspace(1 - spread, 1 + spread, 10) * m[q] * factors.get(q, 1.0)
                                  + (q == "head_saturation") * np.linspace(0, 0.01, 10)) for q in trained.QUANTITIES}
    return {"smoke": {"nphotons": 1e9, "seeds": list(range(100, 110)), "commit": "fabricated", "runs": runs}}


def check_amplitude(legacy, modern, reference=None, **kwargs):
    return checks.check_amplitude(legacy, modern, reference=faithful() if reference is None else reference, **kwargs)


def test_on_gauge_passes():
    assert check_amplitude(fake_run("legacy", 1.0), fake_run("modern", 1.0)).passed


def physics_passed(result) -> bool:
    """The verdict of the physics rows alone (the bands are tested on their own below)."""
    return all(r["passed"] for r in result.rows if not r["tolerance"].startswith("trained."))


def _failed(result):
    return [row["what"] for row in result.rows if not row["passed"]]


@pytest.mark.parametrize("quantity", ["pearson", "ssim", "output_level", "gauge_corrected_ratio"])
@pytest.mark.parametrize("direction", [1.2, 1 / 1.2])
def test_band_fails_both_directions_and_names_the_quantity(quantity, direction):
    """A faithful distribution 20% above (or below) what the run gives: the run left the band
    on that side (a rescue fails as surely as a loss), and only that quantity's rows fail."""
    result = check_amplitude(fake_run("legacy", 1.0), fake_run("modern", 1.0),
                             reference=faithful(**{quantity: direction}))
    assert not result.passed
    assert {w.split(" (")[0] for w in _failed(result)} == {f"legacy {quantity}", f"modern {quantity}"}, _failed(result)
    side = "below" if direction > 1 else "above"
    assert any(f" is {side} [" in p for p in result.problems), result.problems


def test_band_edges_from_the_distribution():
    """The band is [min - R, max + R]: a value just inside passes, just outside fails."""
    ref = faithful()
    values = ref["smoke"]["runs"]["legacy"]["output_level"]
    lo, hi = trained.band(values, floor=0.0)
    R = max(values) - min(values)
    assert lo == pytest.approx(min(values) - R) and hi == pytest.approx(max(values) + R)

    def passes(level):
        run = fake_run("legacy", 1.0)
        run.metrics["output_level"] = level
        rows = [r for r in check_amplitude(run, fake_run("modern", 1.0), ref).rows
                if r["what"].startswith("legacy output_level")]
        return rows[0]["passed"]

    assert passes(hi * (1 - 1e-9)) and passes(lo * (1 + 1e-9))
    assert not passes(hi * (1 + 1e-6)) and not passes(lo * (1 - 1e-6))


def test_floor_widens_a_distribution_whose_values_coincide():
    assert trained.band([1.0] * 10, floor=0.01) == (0.99, 1.01)


def test_false_alarm_rate_of_the_band():
    """Monte Carlo: a fresh normal draw leaves the band of 10 normal draws about 0.2% of the
    time (the rate the module states); with half the widening it would be ~1.7%."""
    rate = trained.false_alarm_rate(10, draws=400_000, seed=3)
    assert 0.0012 < rate < 0.0026
    assert trained.false_alarm_rate(10, widen=0.5, draws=400_000, seed=3) > 5 * rate


def test_no_distribution_for_the_profile_fails_and_says_how_to_record_one():
    result = check_amplitude(fake_run("legacy", 1.0), fake_run("modern", 1.0), reference={})
    assert not result.passed
    assert any("scripts/faithful_seeds.py --profile smoke" in p for p in result.problems)


def test_distribution_at_another_dose_fails():
    ref = faithful()
    ref["smoke"]["nphotons"] = 1e5
    result = check_amplitude(fake_run("legacy", 1.0), fake_run("modern", 1.0), reference=ref)
    assert not result.passed and any("1e+05 photons" in p for p in result.problems)


def test_failed_run_fails_its_row():
    modern = fake_run("modern", 1.0)
    modern.failure = "loss became NaN at epoch 2"
    result = check_amplitude(fake_run("legacy", 1.0), modern)
    assert not result.passed
    assert any("modern (seed 0): training failed: loss became NaN" in p for p in result.problems)


def test_non_finite_numbers_fail_rows_instead_of_crashing():
    """A NaN pearson (flat output) and an all-zero reconstruction (ratio 0: ln would raise)
    each fail their rows with a message."""
    flat = fake_run("modern", 1.0)
    flat.metrics["pearson"] = float("nan")
    result = check_amplitude(fake_run("legacy", 1.0), flat)
    assert any(w.startswith("modern pearson") for w in _failed(result))
    dark = fake_run("legacy", 0.0)
    result = check_amplitude(dark, fake_run("modern", 1.0))
    assert not result.passed
    assert any("ln(ratio / (G x head clip))" in w for w in _failed(result))


@pytest.mark.parametrize("pipeline", ["legacy", "modern"])
def test_off_gauge_fails(pipeline):
    runs = {"legacy": fake_run("legacy", 1.0), "modern": fake_run("modern", 1.0)}
    runs[pipeline] = fake_run(pipeline, 0.7)  # 30% unexplained undershoot
    result = check_amplitude(runs["legacy"], runs["modern"])
    assert not result.passed
    assert any(pipeline in p for p in result.problems)


TOL = 0.1  # tolerances.toml [amplitude]


@pytest.mark.parametrize("pipeline", ["legacy", "modern"])
@pytest.mark.parametrize("sign", [1, -1])
def test_tolerance_boundary(pipeline, sign):
    """|ln residual| just inside the tolerance passes, just outside fails."""
    def outcome(log_factor):
        runs = {"legacy": fake_run("legacy", 1.0), "modern": fake_run("modern", 1.0)}
        runs[pipeline] = fake_run(pipeline, math.exp(sign * log_factor))
        return physics_passed(check_amplitude(runs["legacy"], runs["modern"]))

    assert outcome(0.97 * TOL)
    assert not outcome(1.03 * TOL)


def test_saturated_head_is_predicted():
    """g = 3 asks the head for G·truth up to 2.4 > 1: the clipped reconstruction is what the
    physics predicts (it passes), and its bias equals |ln head clip|."""
    modern = fake_run("modern", 1.0, g=3.0)
    result = check_amplitude(fake_run("legacy", 1.0), modern)
    assert physics_passed(result), result.problems
    clip = result.details["modern"]["head_clip"]
    assert clip < 0.7
    assert modern.metrics["amplitude_bias"] == pytest.approx(abs(math.log(clip)), rel=1e-6)


def test_saturated_head_that_is_also_dim_fails():
    result = check_amplitude(fake_run("legacy", 1.0), fake_run("modern", 0.8, g=3.0))
    assert not result.passed
    assert any("modern" in p for p in result.problems)


def _seeded(pipeline, factor, seed, g=0.3):
    run = fake_run(pipeline, factor, g=g)
    run.seed = seed
    return run


def test_median_over_seeds_follows_the_majority_basin():
    """One of three seeds 30% off: the median residual stays on the prediction (pass);
    two of three off: it fails."""
    legacy = [_seeded("legacy", f, s) for s, f in enumerate((1.0, 0.7, 1.0))]
    modern = [_seeded("modern", 1.0, s) for s in range(3)]
    result = check_amplitude(legacy, modern)
    assert result.passed, result.problems
    assert len(result.details["legacy"]["seeds"]) == 3
    legacy = [_seeded("legacy", f, s) for s, f in enumerate((1.0, 0.7, 0.7))]
    assert not check_amplitude(legacy, modern).passed


def test_seed_summary_medians_and_collapse_rate():
    from ptychobench.parity.runner import COLLAPSE_PEARSON, seed_summary

    runs = {s: {"legacy": _seeded("legacy", 1.0, s), "modern": _seeded("modern", 1.0, s)} for s in range(3)}
    runs[1]["modern"].metrics["pearson"] = 0.02  # a collapsed draw
    summary = seed_summary(runs)
    assert summary["legacy"]["n"] == 3 and summary["legacy"]["collapse_rate"] == 0.0
    assert summary["modern"]["collapse_rate"] == pytest.approx(1 / 3)
    assert summary["modern"]["pearson"]["min"] == pytest.approx(0.02)
    assert summary["legacy"]["pearson"]["median"] > COLLAPSE_PEARSON


def test_structure_worse_than_flat_fails_and_flat_passes():
    """The flat answer scores mae / mae_flat = 1 (passes); a reconstruction whose structure is
    not the truth's (here: the truth mirrored) scores above 1.05 and fails that row."""
    legacy = fake_run("legacy", 1.0)
    flat = dict(legacy.metrics, mae=legacy.metrics["mae_flat"])
    legacy.metrics = flat
    result = check_amplitude(legacy, fake_run("modern", 1.0))
    assert not any(w.startswith("legacy mae / mae of the flat answer") for w in _failed(result))
    truth = legacy.arrays["truth"]
    mirrored = amplitude_metrics(truth[::-1, ::-1].astype(np.float32), truth, np.ones(truth.shape, bool), 1.0)
    assert mirrored["mae"] / mirrored["mae_flat"] > 1.05  # uniform noise: E|t - t'| = 4/3 E|t - mean|
    legacy.metrics = dict(flat, mae=mirrored["mae"], mae_flat=mirrored["mae_flat"])
    result = check_amplitude(legacy, fake_run("modern", 1.0))
    assert any(w.startswith("legacy mae / mae of the flat answer") for w in _failed(result))
