"""Loss terms and their weighted composition.

Total loss = ``realspace_weight · L_realspace + mae_weight · L_mae + nll_weight · L_nll``
(the original ``compile(loss_weights=[realspace, mae, nll])``). Targets are the
trimmed object labels, the amplitude ``s·X`` and the intensity ``(s·X)²``.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from ..errors import ConfigError
from ..model.physics_layers import central_mask

NLL_FORMS = ("mean", "full_sum")
_TINY = 1e-30  # floor inside log() so an exactly-dark predicted pixel gives a finite loss


@dataclass(frozen=True)
class LossWeights:
    """The four weights from the configuration, plus the TV weight of the real-space term."""

    mae_weight: float = 0.0
    nll_weight: float = 1.0
    realspace_weight: float = 0.0
    realspace_mae_weight: float = 0.0
    tv_weight: float = 0.0

    @classmethod
    def from_params(cls, cfg: dict) -> "LossWeights":
        return cls(
            mae_weight=float(cfg["mae_weight"]),
            nll_weight=float(cfg["nll_weight"]),
            realspace_weight=float(cfg["realspace_weight"]),
            realspace_mae_weight=float(cfg["realspace_mae_weight"]),
            tv_weight=float(cfg["tv_weight"]),
        )


def poisson_nll_mean(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Modern NLL: ``mean(λ − y·log λ)`` over every pixel (``log_poisson_loss``, not full)."""
    return tf.reduce_mean(y_pred - y_true * tf.math.log(tf.maximum(y_pred, _TINY)))


def poisson_nll_full_sum(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Legacy NLL: ``−log Poisson(y; λ)`` with the lgamma term, summed per sample, batch mean."""
    per_pixel = y_pred - y_true * tf.math.log(tf.maximum(y_pred, _TINY)) + tf.math.lgamma(y_true + 1.0)
    return tf.reduce_mean(tf.reduce_sum(per_pixel, axis=[1, 2, 3]))


def mae(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean absolute error on amplitudes."""
    return tf.reduce_mean(tf.abs(y_true - y_pred))


def total_variation(x: tf.Tensor) -> tf.Tensor:
    """Σ squared x and y differences of the real and imaginary parts of (B, H, W, K),
    summed over the whole batch (M ``ptycho/tf_helper.py:1460-1516``: one ``reduce_sum``
    over every axis; Keras reduces the scalar no further)."""
    parts = tf.concat([tf.math.real(x), tf.math.imag(x)], axis=-1)
    dy = parts[:, 1:, :, :] - parts[:, :-1, :, :]
    dx = parts[:, :, 1:, :] - parts[:, :, :-1, :]
    return tf.reduce_sum(dy**2) + tf.reduce_sum(dx**2)


def complex_mae(target: tf.Tensor, pred: tf.Tensor) -> tf.Tensor:
    """``mean|pred − target|`` of the complex difference, for the real target of the original.

    The original's ``complexify_sum_amp_phase`` decorator splits into amplitude and phase
    only when its *first* argument (the target) is complex; the target is the real
    ``center_channels(Y_I)[..., :1]``, so Keras' MAE runs on the complex difference
    (M ``ptycho/tf_helper.py:678-697,1519-1522``).
    """
    return tf.reduce_mean(tf.abs(pred - tf.cast(target, pred.dtype)))


def realspace_loss(target, pred, weights: LossWeights, probe_big: bool) -> tf.Tensor:
    """Real-space term on the trimmed object: TV and complex MAE, each with its weight.

    Without ``probe.big`` the prediction is restricted to the central N/2 first.
    """
    if not probe_big:
        pred = pred * tf.cast(central_mask(pred.shape[1])[None, :, :, None], pred.dtype)
    loss = tf.constant(0.0)
    if weights.tv_weight > 0:
        loss += weights.tv_weight * total_variation(pred)
    if weights.realspace_mae_weight > 0:
        loss += weights.realspace_mae_weight * complex_mae(target, pred)
    return loss


def nll_function(form: str):
    if form not in NLL_FORMS:
        raise ConfigError("nll_form", f"must be one of {NLL_FORMS}, got {form!r}")
    return poisson_nll_mean if form == "mean" else poisson_nll_full_sum


def composite_loss(outputs, targets, weights: LossWeights, nll_form: str, probe_big: bool):
    """Weighted total and each term.

    Parameters
    ----------
    outputs : (trimmed_obj, pred_amp, pred_intensity) from the model
    targets : (obj_target or None, amp_target, intensity_target)

    Returns
    -------
    total : scalar tensor
    terms : dict of scalar tensors, named as the original's history keys
        (``trimmed_obj_loss``, ``intensity_scaler_inv_loss``, ``pred_intensity_loss``)
    """
    trimmed, pred_amp, pred_int = outputs
    obj_target, amp_target, int_target = targets
    terms = {
        "intensity_scaler_inv_loss": mae(amp_target, pred_amp),
        "pred_intensity_loss": nll_function(nll_form)(int_target, pred_int),
    }
    total = tf.constant(0.0)
    if weights.realspace_weight > 0:
        terms["trimmed_obj_loss"] = realspace_loss(obj_target, trimmed, weights, probe_big)
        total += weights.realspace_weight * terms["trimmed_obj_loss"]
    # Terms with weight 0 are reported but never added: 0 · inf would poison the total.
    if weights.mae_weight > 0:
        total += weights.mae_weight * terms["intensity_scaler_inv_loss"]
    if weights.nll_weight > 0:
        total += weights.nll_weight * terms["pred_intensity_loss"]
    return total, terms
