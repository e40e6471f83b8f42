"""The amplitude metrics on known answers, and each pipeline's gauge against its formula."""

from __future__ import annotations

import math

import numpy as np

from ...evaluation import metrics
from ...pipelines import common
from .. import reference as ref
from .rows import CheckResult, Rows, rel


def check_metrics(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """The amplitude metrics on a case with known answers, and each pipeline's gauge factors
    against the formula ``G = (object normalisation) × g × s_c / exp(log_scale)``.

    Reference: a seeded truth ``t`` and ``p = a·t`` on half the pixels (coverage 1/2, ratio
    ``a``, LS scale ``a``, pearson 1, gauge-corrected ``a/G``, bias ``|ln(a/G)|``); the
    gauge from the formulas of :mod:`.reference` and the model's own ``log_scale``.
    """
    r = Rows()
    rng = np.random.RandomState(5)
    t = (0.5 + rng.random_sample((40, 40))).astype(np.float32)
    covered = np.zeros((40, 40), bool)
    covered[:, :20] = True
    a, G = 0.37, 0.5
    p = np.where(covered, a * t, 0.0).astype(np.float32)
    m = metrics.amplitude_metrics(p, t, covered, G)
    for key, want in (("coverage", 0.5), ("amplitude_ratio", a), ("amplitude_ratio_ls", a), ("expected_gauge", G),
                      ("gauge_corrected_ratio", a / G), ("amplitude_bias", abs(math.log(a / G))), ("pearson", 1.0)):
        r.within(f"amplitude_metrics {key} vs known answer {want:.4g} (relative)", rel(m[key], want), "metrics",
                 "formula_rel")
    for prep in (legacy, modern):
        log_scale = prep.model.log_scale_value()
        got = metrics.expected_gauge(prep.object_normalization, prep.diffraction_gain, prep.s_c, log_scale)
        cfg = prep.config
        if prep.pipeline == "legacy":
            on, g = 1.0 / ref.norm_Y_I(prep.test_images, cfg["N"], cfg["gridsize"], cfg["offset"],
                                       cfg["outer_offset_test"] // 2), 1.0
        else:
            N = prep.spec.N
            on, g = 1.0, ref.normalize_gain(prep.test_raw_X.transpose(0, 3, 1, 2).reshape(-1, N, N), N)
        want = on * g * ref.closed_form_scale(prep.nphotons, prep.spec.N) / math.exp(log_scale)
        r.within(f"{prep.pipeline}: expected_gauge vs formula (relative)", rel(got, want), "metrics", "gauge_rel")
    return r.result("metrics", "known answers of a scaled truth; the gauge formula", {})


