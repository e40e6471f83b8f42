"""The amplitude parity check on fabricated runs with known answers: on the gauge passes,
off it fails, at the tolerance boundary it flips, and a saturated head is predicted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ptychobench.parity.checks import check_amplitude
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
    return RunResult(pipeline=pipeline, profile="smoke", seed=0, nphotons=1e9, config={"amp_activation": "sigmoid"},
                     modern_config=None, scale_factors=factors, stages=[], metrics=metrics, training={},
                     architecture=[], trainable_params=0, provenance={},
                     arrays={"stitched": stitched, "truth": truth, "covered": covered})


def test_on_gauge_passes():
    assert check_amplitude(fake_run("legacy", 1.0), fake_run("modern", 1.0)).passed


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
        return check_amplitude(runs["legacy"], runs["modern"]).passed

    assert outcome(0.97 * TOL)
    assert not outcome(1.03 * TOL)


def test_saturated_head_is_predicted():
    """g = 3 asks the head for G·truth up to 2.4 > 1: the clipped reconstruction is what the
    physics predicts (it passes), and its bias equals |ln head clip|."""
    modern = fake_run("modern", 1.0, g=3.0)
    result = check_amplitude(fake_run("legacy", 1.0), modern)
    assert result.passed, result.problems
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
