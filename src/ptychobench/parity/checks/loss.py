"""Loss configuration (Phase D1) and the loss terms against their formulas."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ...config import TrainingConfig, flatten_config, params
from ...pipelines import common
from ...training import losses
from .. import reference as ref

LOSS_KEYS = ("mae_weight", "nll_weight", "realspace_weight", "realspace_mae_weight")

from .rows import CheckResult, Rows, rel


def dose_loss_snapshot(nphotons: float, loss_fn: str) -> dict:
    """The four loss weights after the dose recipe's ``init``, on a fresh ``cfg``."""
    saved = params.snapshot()
    try:
        params.reset()
        params.init(nphotons, loss_fn)
        return {k: params.cfg[k] for k in LOSS_KEYS}
    finally:
        params.reset()
        params.cfg.update({k: v for k, v in saved.items() if k != "probe"})


def check_loss_config(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Loss weights against the original's literal tables (Phase D1).

    Reference: DE ``ptycho/params.py:8-23`` (framework defaults), M ``config.py:130-133``
    (dataclass defaults), DE ``notebooks/dose.py:3-33`` (``loss_fn='mae'`` gives mae 1 /
    nll 0, otherwise the defaults stay), and the other pipeline.
    """
    r = Rows()
    defaults = params.capture_defaults()
    dataclass_defaults = flatten_config(TrainingConfig())
    for key in LOSS_KEYS:
        r.equal(f"params.cfg default {key}", defaults[key], ref.ORIGINAL_DEFAULT_CFG[key])
        r.equal(f"TrainingConfig default {key}", dataclass_defaults[key], ref.ORIGINAL_TRAINING_CONFIG[key])
    dose = {fn: dose_loss_snapshot(legacy.nphotons, fn) for fn in ("nll", "mae")}
    expected_dose = {"nll": {k: ref.ORIGINAL_DEFAULT_CFG[k] for k in LOSS_KEYS},
                     "mae": {**{k: ref.ORIGINAL_DEFAULT_CFG[k] for k in LOSS_KEYS}, "mae_weight": 1.0, "nll_weight": 0.0}}
    for fn in dose:
        r.equal(f"dose recipe loss_fn={fn!r} weights", dose[fn], expected_dose[fn])
    effective = {p.pipeline: {k: getattr(p.weights, k) for k in LOSS_KEYS} for p in (legacy, modern)}
    expected = {"legacy": expected_dose[legacy.config.get("loss_fn", "nll")],
                "modern": {k: modern.modern_config[k] for k in LOSS_KEYS}}
    for name in effective:
        r.equal(f"{name} trains with", effective[name], expected[name])
    r.equal("legacy and modern train with the same weights", effective["legacy"], effective["modern"])
    details = {"defaults": {"params_cfg": {k: defaults[k] for k in LOSS_KEYS},
                            "TrainingConfig": {k: dataclass_defaults[k] for k in LOSS_KEYS}},
               "legacy_params_cfg_defaults": defaults, "dose_loss_weights": dose, "effective": effective}
    return r.result("loss_config", "DE params.py:8-23, M config.py:130-133, DE dose.py:3-33; the other pipeline", details)


def check_loss_form(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Each loss term against its formula written out on a small seeded case.

    Reference: :mod:`.reference` (NLL forms of DE ``model.py:387-397`` and M
    ``model.py:485-498``; TV and complex MAE of M ``tf_helper.py:1460-1545``); each
    pipeline's NLL form against the original's (``ORIGINAL_NLL_FORM``).
    """
    r = Rows()
    rng = np.random.RandomState(7)
    rate = (0.5 + 20 * rng.random_sample((3, 8, 8, 2))).astype(np.float32)
    counts = rng.poisson(rate).astype(np.float32)
    for prep in (legacy, modern):
        r.equal(f"{prep.pipeline} NLL form", prep.nll_form, ref.ORIGINAL_NLL_FORM[prep.pipeline])
        fn = losses.nll_function(prep.nll_form)
        got = float(fn(tf.constant(counts), tf.constant(rate)))
        want = (ref.poisson_nll_full_sum if ref.ORIGINAL_NLL_FORM[prep.pipeline] == "full_sum"
                else ref.poisson_nll_mean)(counts.astype(np.float64), rate.astype(np.float64))
        r.within(f"{prep.pipeline} NLL vs formula (relative)", rel(got, want), "loss", "float32_sum_rel")
    pred = (rng.standard_normal((2, 8, 8, 1)) + 1j * rng.standard_normal((2, 8, 8, 1))).astype(np.complex64)
    target = rng.random_sample((2, 8, 8, 1)).astype(np.float32)
    tv = float(losses.total_variation(tf.constant(pred)))
    r.within("TV vs batch-summed formula (relative)", rel(tv, ref.total_variation_batch(pred.astype(np.complex128))),
             "loss", "float32_sum_rel")
    cm = float(losses.complex_mae(tf.constant(target), tf.constant(pred)))
    r.within("complex MAE vs mean|pred - target| (relative)",
             rel(cm, ref.complex_mae_real_target(target.astype(np.float64), pred.astype(np.complex128))),
             "loss", "float32_sum_rel")
    amp_t, amp_p = rng.random_sample((2, 8, 8, 2)), rng.random_sample((2, 8, 8, 2))
    mae = float(losses.mae(tf.constant(amp_t, tf.float32), tf.constant(amp_p, tf.float32)))
    r.within("MAE vs mean|a - b| (relative)", rel(mae, float(np.mean(np.abs(amp_t - amp_p)))), "loss", "float32_sum_rel")
    return r.result("loss_form", "formulas written out in parity/reference.py; ORIGINAL_NLL_FORM", {})


