"""The amplitude parity check can fail: fabricated runs whose reconstruction is off the
gauge by a known factor fail it, and runs exactly on the gauge pass it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ptychobench.parity.checks import check_amplitude
from ptychobench.pipelines.common import RunResult
from ptychobench.evaluation.metrics import amplitude_metrics, expected_gauge


def fake_run(pipeline: str, factor: float) -> RunResult:
    """A run whose stitched amplitude is ``factor × G × truth`` (factor 1 = physics-consistent)."""
    rng = np.random.default_rng(0)
    truth = (0.5 + rng.random((40, 40))).astype(np.float32)  # G·truth stays below the sigmoid ceiling
    s_c, exp_ls = 988.2, 1200.0
    factors = {"s_c": s_c, "exp_log_scale_final": exp_ls}
    if pipeline == "legacy":
        factors["object_normalization"] = 1 / 2.0
    else:
        factors["g"] = 0.3
    gauge = expected_gauge(factors.get("object_normalization", 1.0), factors.get("g", 1.0), s_c, math.log(exp_ls))
    stitched = (factor * gauge * truth).astype(np.complex64)
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
