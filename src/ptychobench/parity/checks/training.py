"""What the training loop runs with, against the original's literal settings."""

from __future__ import annotations

import math

import numpy as np

from ...pipelines import common
from ...training import loop
from .. import reference as ref
from .. import tables
from .data import legacy_train_patches
from .rows import CheckResult, Rows


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
        "batch_size": s.batch_size,
        "epochs": s.epochs,
        "nll_form": s.nll_form,
        "scale_trains": id(prep.model.scaler.log_scale) in trainable,
        "initial_log_scale": prep.model.log_scale_value(),
    }


FLOAT32_SETTINGS = ("learning_rate", "epsilon", "beta_1", "beta_2")


def check_training_params(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Optimizer, schedule, stopping, split, epochs and the intensity scale, read from the
    built objects, against the original's literal settings.

    Reference: ``ORIGINAL_TRAINING`` (DE ``model.py:413,444-460``); the validation split of
    :func:`.reference.validation_split` (sklearn shuffle, ``random_state=0``, Keras' floor);
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
        ours = loop.validation_split_indices(n, g["validation_split"])
        theirs = ref.validation_split(n, ref.ORIGINAL_TRAINING["validation_split"])
        r.equal(f"{prep.pipeline} validation groups of {n}", np.sort(ours[1]), np.sort(theirs[1]))
        r.equal(f"{prep.pipeline} training groups of {n}", np.sort(ours[0]), np.sort(theirs[0]))
        variant = prep.profile.scale_variant == "trainable"
        r.equal(f"{prep.pipeline} exp(log_scale) trains", g["scale_trains"],
                ref.ORIGINAL_SCALE_TRAINS or (variant and bool(prep.config["intensity_scale.trainable"])))
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
    return r.result("training_params", "ORIGINAL_TRAINING, reference.validation_split, scale formulas, "
                    "ORIGINAL_SCALE_TRAINS; known_differences.toml", {**got, "differences": rows})


