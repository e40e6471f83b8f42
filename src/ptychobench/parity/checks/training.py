"""What the training loop runs with, against the original's literal settings."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from ...pipelines import common
from ...simulation import grouping
from ...training import loop, losses
from .. import reference as ref
from .. import tables
from .data import legacy_train_patches
from .rows import CheckResult, Rows, rel


def training_parameters(prep: common.Prepared) -> dict:
    """What the loop will actually run with, read from the objects it builds."""
    s = common.train_settings(prep, progress=False)
    optimizer, _, _ = loop.make_steps(prep.model, s, prep.spec.N, prep.spec.channels)
    cfg = optimizer.get_config()
    trainable = {id(w) for w in prep.model.trainable_weights}
    return {
        "optimizer": type(optimizer).__name__,
        "learning_rate": float(cfg["learning_rate"]),
        "epsilon": float(cfg["epsilon"]),
        "beta_1": float(cfg["beta_1"]),
        "beta_2": float(cfg["beta_2"]),
        "plateau_monitor": s.plateau_monitor,
        "plateau_factor": s.plateau_factor,
        "plateau_patience": s.plateau_patience,
        "plateau_min_lr": s.min_lr,
        "plateau_min_delta": s.plateau_min_delta,
        "early_stop_monitor": s.early_stop_monitor,
        "early_stop_patience": s.early_stop_patience,
        "validation_split": s.validation_split,
        "presplit_shuffle": s.presplit_shuffle,
        "batch_size": s.batch_size,
        "epochs": s.epochs,
        "nll_form": s.nll_form,
        "scale_trains": id(prep.model.scaler.log_scale) in trainable,
        "initial_log_scale": prep.model.log_scale_value(),
    }


def _largest_y(positions: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` positions with the largest y, written out: sorted by y, the last ``k``."""
    by_y = positions[np.argsort(positions[:, 1], kind="stable")]
    return np.unique(by_y[len(by_y) - k:], axis=0)


def gs1_holds_out_the_y_strip(modern: common.Prepared) -> bool:
    """Group the modern training split as gs1 does with ``n_groups`` = every position (the
    investigation's gs1_ideal: 1,000 groups of 1,000 positions) and split it as the modern loop
    does: the original keeps the split's y-sorted order (M ``ptycho/raw_data.py:660-672``) and
    holds out the container's tail, so the held-out groups are the positions with the largest y."""
    positions = modern.train_positions
    idx = grouping.group_indices(positions, len(positions), 1, 4, seed=modern.seed)
    _, val = loop.validation_split_indices(len(idx), ref.ORIGINAL_TRAINING["validation_split"], False)
    return bool(np.array_equal(np.unique(positions[idx[val, 0]], axis=0), _largest_y(positions, len(val))))


FLOAT32_SETTINGS = ("learning_rate", "epsilon", "beta_1", "beta_2")


def check_training_params(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Optimizer, schedule, stopping, split, epochs and the intensity scale, read from the
    built objects, against the original's literal settings.

    Reference: ``ORIGINAL_TRAINING`` (DE ``model.py:413,444-460``); the validation split recorded
    from scikit-learn itself for legacy (``reference.ORIGINAL_VALIDATION_SPLIT``, by digest) and
    Keras' unshuffled tail for modern (``reference.keras_tail_split``);
    the profile's epochs; the initial ``log_scale`` from the formulas (legacy: log of the
    dataset scale over its patches, DE ``train.py:79,87``; modern: log s_c); whether the scale
    trains (``ORIGINAL_SCALE_TRAINS``, or the profile's named variant).
    """
    r = Rows()
    got = {p.pipeline: training_parameters(p) for p in (legacy, modern)}
    for prep in (legacy, modern):
        g = got[prep.pipeline]
        for key, want in ref.ORIGINAL_TRAINING.items():
            if key in FLOAT32_SETTINGS:  # Keras keeps these in float32 variables
                r.equal(f"{prep.pipeline} {key} (float32)", np.float32(g[key]), np.float32(want))
            else:
                r.equal(f"{prep.pipeline} {key}", g[key], want)
        want_epochs = prep.profile.legacy_epochs if prep.pipeline == "legacy" else prep.profile.modern_epochs
        r.equal(f"{prep.pipeline} epochs (profile)", g["epochs"], want_epochs)
        n = prep.train.X.shape[0]
        ours = loop.validation_split_indices(n, g["validation_split"], g["presplit_shuffle"])
        r.equal(f"{prep.pipeline} validation groups of {n} vs the original's split (digest)",
                ref.split_digest(ours[1]), ref.validation_split_digest(prep.pipeline, n, prep.profile.modern_validation))
        r.equal(f"{prep.pipeline} training groups of {n}: the others", np.sort(ours[0]),
                np.setdiff1d(np.arange(n), ours[1]))
        variant = prep.profile.scale_variant == "trainable"
        r.equal(f"{prep.pipeline} exp(log_scale) trains", g["scale_trains"],
                ref.ORIGINAL_SCALE_TRAINS or (variant and bool(prep.config["intensity_scale.trainable"])))
    r.equal("modern gridsize 1 taking every training position: held-out groups = the positions with the largest y",
            gs1_holds_out_the_y_strip(modern), True)
    s_sim = ref.dataset_scale(legacy_train_patches(legacy), legacy.probe, legacy.nphotons)
    r.within("legacy: model log_scale vs log s_sim(formula)", abs(got["legacy"]["initial_log_scale"] - math.log(s_sim)),
             "training", "log_scale_abs")
    r.within("modern: model log_scale vs log(sqrt(nphotons)/(N/2))",
             abs(got["modern"]["initial_log_scale"] - math.log(ref.closed_form_scale(modern.nphotons, modern.spec.N))),
             "training", "log_scale_abs")
    # legacy vs modern: only documented differences
    a = {k: v for k, v in got["legacy"].items() if k not in ("epochs", "initial_log_scale")}
    b = {k: v for k, v in got["modern"].items() if k not in ("epochs", "initial_log_scale")}
    rows, problems = tables.compare_tables(a, b, "training")
    for p in problems:
        r.fail(p)
    return r.result("training_params", "ORIGINAL_TRAINING, ORIGINAL_VALIDATION_SPLIT (sklearn digests) and keras_tail_split, scale formulas, "
                    "ORIGINAL_SCALE_TRAINS; known_differences.toml", {**got, "differences": rows})


def _weighted_total(history: dict, weights: dict, epoch: int) -> float:
    return sum(weights[w] * history[term][epoch] for term, w in HISTORY_TERMS.items() if weights[w] > 0)


EPS32 = 2.0**-24

#: The history key of each loss term and the weight that multiplies it (the original's Keras
#: output names, DE ``ptycho/model.py:399-411``).
HISTORY_TERMS = {"pred_intensity_loss": "nll_weight", "intensity_scaler_inv_loss": "mae_weight",
                 "trimmed_obj_loss": "realspace_weight"}


def batch_loss(prep: common.Prepared, idx: np.ndarray) -> tuple[float, float, float]:
    """``(loop, formula, condition)``: the loss of the trained model on the groups ``idx``, from the loss the
    loop trains with (its settings, its composite loss), and from the model's predicted intensity with the original's NLL form
    written out in float64 (:mod:`.reference`), weighted by the original's table; and the
    condition number of the NLL, ``Σ(|λ| + |y log λ| + |lgamma(y + 1)|) / |Σ(λ − y log λ + lgamma(y + 1))|``
    (no lgamma in the mean form), which sets its float32 rounding: at 1e9 photons the three
    parts of a pixel's term are ~1e6 and nearly cancel."""
    s = common.train_settings(prep, progress=False)
    x = prep.train.X[idx] * np.float32(prep.s_c)
    pos = prep.train.coords_relative[idx]
    outputs = prep.model((x, pos), training=False)
    zeros = np.zeros((len(idx), prep.spec.N, prep.spec.N, 1), np.float32)
    total, _ = losses.composite_loss(outputs, (zeros, x, np.square(x)), s.weights, s.nll_form, s.probe_big)
    pred_amp = outputs[1]
    rate = np.maximum(np.square(pred_amp.numpy().astype(np.float64)), 1e-30)
    counts = np.square(x.astype(np.float64))
    full = ref.ORIGINAL_NLL_FORM[prep.pipeline] == "full_sum"
    nll = (ref.poisson_nll_full_sum if full else ref.poisson_nll_mean)(counts, rate)
    mae = float(np.mean(np.abs(np.sqrt(counts) - np.sqrt(rate))))
    w = ref.ORIGINAL_DEFAULT_CFG
    parts = [rate, counts * np.log(rate), gammaln(counts + 1.0) if full else 0.0 * rate]
    condition = float(sum(np.abs(part).sum() for part in parts) / abs((parts[0] - parts[1] + parts[2]).sum()))
    return float(total), w["nll_weight"] * nll + w["mae_weight"] * mae, condition


def observe_training(prep: common.Prepared, result) -> dict:
    """What one training run did, collected while its model is still alive: the held-out
    groups, each epoch's order and batch sizes, the history, the learning rates, the epochs
    run, and the loss of one held-out batch from the loop and from the formula
    (:func:`batch_loss`). ``result``: its ``TrainResult``, or ``None`` when training failed."""
    name = prep.pipeline if prep.pipeline == "legacy" else f"modern {prep.modern_config['scenario']['name']}"
    if result is None:
        return {"name": name, "failed": True}
    val = np.asarray(result.val_indices, np.int64)
    n = int(prep.train.X.shape[0])
    strip = None
    if prep.pipeline == "modern" and prep.spec.gridsize == 1 and prep.train_positions is not None \
            and n == len(prep.train_positions):
        # every training position is a group: the original keeps the split's y-sorted order, so the
        # held-out tail must be the positions with the largest y
        held = prep.train.coords_offsets[val, 0, :, 0]
        strip = bool(np.array_equal(np.unique(held, axis=0), _largest_y(prep.train_positions, len(val))))
    return {"name": name, "failed": False, "n": n, "val": val.tolist(), "y_strip": strip,
            "want_split": ref.validation_split_digest(prep.pipeline, n, prep.profile.modern_validation),
            "epoch_orders": result.epoch_orders, "batch_sizes": result.batch_sizes, "history": result.history,
            "lr_trace": result.lr_trace, "epochs_run": result.epochs_run, "epochs": prep.epochs,
            "batch_loss": batch_loss(prep, val[: ref.ORIGINAL_TRAINING["batch_size"]])}


def check_training_run(observed) -> CheckResult:
    """What the training loop did, observed (:func:`observe_training`), against the original's
    settings and Keras' rules. Per trained pipeline:

    * the held-out groups: exactly the original's split of ``n`` (legacy:
      ``reference.ORIGINAL_VALIDATION_SPLIT``, recorded from scikit-learn by digest; modern: the
      container's tail, ``reference.keras_tail_split``), never drawn for training;
    * every epoch draws every training group once, in batches of the original's batch size
      (``n_train // 16`` full batches and the remainder);
    * the learning rate at each epoch against Keras' ``ReduceLROnPlateau`` rule on the observed
      ``val_loss`` (:func:`.reference.plateau_lr_trace`), and the epochs run against the
      ``EarlyStopping`` rule on the observed ``loss`` (:func:`.reference.early_stopping_epochs`);
    * the reported total against the terms the original's weights keep, every epoch (a term
      the configuration does not have shows up here);
    * the loss of the trained model on one held-out batch against the original's NLL form
      written out in float64.
    """
    r = Rows()
    train = ref.ORIGINAL_TRAINING
    details = {}
    for o in observed:
        name = o["name"]
        if o["failed"]:
            r.fail(f"{name}: training failed, nothing to observe")
            continue
        n, val = o["n"], np.asarray(o["val"], np.int64)
        r.equal(f"{name}: held-out groups of {n} vs the original's split (digest)", ref.split_digest(val),
                o["want_split"])
        if o.get("y_strip") is not None:
            r.equal(f"{name}: held-out groups = the positions with the largest y (the y-sorted container's tail)",
                    o["y_strip"], True)
        train_set = np.setdiff1d(np.arange(n), val)
        r.equal(f"{name}: every epoch draws each of the {len(train_set)} training groups once, no held-out one",
                all(np.array_equal(np.sort(np.asarray(e, np.int64)), train_set) for e in o["epoch_orders"]), True)
        bs = train["batch_size"]
        want_sizes = [bs] * (len(train_set) // bs) + ([len(train_set) % bs] if len(train_set) % bs else [])
        r.equal(f"{name}: batch sizes of every epoch vs batches of {bs}",
                all(sizes == want_sizes for sizes in o["batch_sizes"]), True)
        h = o["history"]
        want_lr = ref.plateau_lr_trace(h["val_loss"], train["learning_rate"], train["plateau_factor"],
                                       train["plateau_patience"], train["plateau_min_lr"], train["plateau_min_delta"])
        r.equal(f"{name}: learning rate per epoch vs ReduceLROnPlateau on the observed val_loss",
                np.float32(o["lr_trace"]), np.float32(want_lr))
        r.equal(f"{name}: epochs run vs EarlyStopping(loss, patience {train['early_stop_patience']})",
                o["epochs_run"], ref.early_stopping_epochs(h["loss"], train["early_stop_patience"], o["epochs"]))
        weights = {w: ref.ORIGINAL_DEFAULT_CFG[w] for w in HISTORY_TERMS.values()}
        worst = max(rel(h["loss"][e], _weighted_total(h, weights, e)) for e in range(len(h["loss"])))
        r.within(f"{name}: reported loss vs the original's weighted terms, worst epoch (relative)", worst,
                 "loss", "epoch_mean_rel")
        got, want, condition = o["batch_loss"]
        r.within(f"{name}: held-out batch loss vs the original's NLL written out, in units of "
                 f"eps32 x condition ({condition:.3g})", rel(got, want) / (EPS32 * condition),
                 "loss", "nll_rounding_units")
        details[name] = {"n": n, "held_out": len(val), "lr_trace": o["lr_trace"], "lr_rule": want_lr,
                         "epochs_run": o["epochs_run"],
                         "batch_loss": {"loop": got, "formula": want, "condition": condition}}
    return r.result("training_run", "the original's split (sklearn digests), batch size, Keras' plateau and "
                    "early-stopping rules, the original's loss weights and NLL form", details)
