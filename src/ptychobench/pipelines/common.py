"""What both pipelines share: the prepared state, the run result, model building,
training and the evaluation tail (stages, metrics)."""

from __future__ import annotations

import hashlib
import json
import math
import resource
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from ..errors import ConfigError, TrainingDivergedError
from ..evaluation import metrics
from ..model.network import PtychoPINN, count_params
from ..model.spec import ModelSpec, head_ceiling
from ..progress import Progress, as_progress
from ..simulation.data import GroupedData
from ..stages import StageRecorder, stage_ratios
from ..training import loop
from ..training.losses import LossWeights
from . import provenance
from .profiles import Profile

#: How a reconstruction is put together and scored (each pipeline's ``reconstruct``):
#: ``faithful`` the original's convention (the default, the run's ``metrics``); ``ptychobench``
#: ours (reported beside it, in ``alternative_metrics``).
FAITHFUL = "faithful"
SCORINGS = (FAITHFUL, "ptychobench")


def check_scoring(scoring: str) -> str:
    if scoring not in SCORINGS:
        raise ConfigError("scoring", f"must be one of {SCORINGS}, got {scoring!r}")
    return scoring


@dataclass
class Prepared:
    """A pipeline up to (and including) the built, untrained model.

    Everything the static parity checks need: configuration, data, stages, model.
    """

    pipeline: str
    profile: Profile
    seed: int
    nphotons: float
    deterministic: bool
    config: dict  # legacy cfg snapshot after set-up (the bridged dict for modern)
    modern_config: dict | None
    probe: np.ndarray
    train: GroupedData
    test: GroupedData
    s_c: float
    initial_log_scale: float
    spec: ModelSpec
    nll_form: str
    weights: LossWeights
    epochs: int
    batch_size: int
    recorder: StageRecorder
    model: PtychoPINN
    #: raw object images the test split was cut from, float32 (n, H, W)
    test_images: np.ndarray | None = None
    #: legacy: the training images (n, H, W); modern: None
    train_images: np.ndarray | None = None
    #: legacy: the test grid layout (:class:`..simulation.legacy_grid.GridLayout`)
    test_layout: object | None = None
    #: modern: the object patches of every simulated pattern (P, N, N), before the split
    simulated_patches: np.ndarray | None = None
    #: modern: positions (P_train, 2) ``[x, y]`` of the training split and its groups (B, C)
    train_positions: np.ndarray | None = None
    train_group_indices: np.ndarray | None = None
    #: modern: the grouped test diffraction before ``normalize_data`` (B, N, N, C)
    test_raw_X: np.ndarray | None = None
    #: whether the training groups are shuffled before the validation split (legacy: sklearn's
    #: shuffle; modern: no, unless the profile's ``modern_validation`` variant is ``shuffled``)
    presplit_shuffle: bool = True

    @property
    def object_normalization(self) -> float:
        """Factor applied to the object (legacy ``1/norm_Y_I``, modern 1)."""
        return self.test.scale_factors.get("object_normalization", 1.0)

    @property
    def diffraction_gain(self) -> float:
        """Gain applied to the diffraction (legacy 1, modern ``g``)."""
        return self.test.scale_factors.get("g", 1.0)


@dataclass
class RunResult:
    """Everything one pipeline run produced."""

    pipeline: str
    profile: str
    seed: int
    nphotons: float
    config: dict
    modern_config: dict | None
    scale_factors: dict
    stages: list
    metrics: dict
    training: dict
    architecture: list
    trainable_params: int
    provenance: dict
    weights_sha256: str = ""
    peak_rss_bytes: int = 0
    failure: str | None = None
    #: the metrics under each other scoring (:data:`SCORINGS`), beside ``metrics`` (faithful)
    alternative_metrics: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict, repr=False)

    def to_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "arrays"}
        out["stage_ratios"] = stage_ratios(self.stages) if self.stages else {}
        return json.loads(json.dumps(out, default=_jsonable))


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return f"<array {value.shape} {value.dtype}>"
    return str(value)


def weights_digest(model) -> str:
    """SHA-256 over every weight of ``model`` (shapes and bytes, in creation order).

    Variable names are left out: Keras numbers auto-named layers per process, so a second
    identical model in the same process gets other names.
    """
    h = hashlib.sha256()
    for w in model.weights:
        value = np.ascontiguousarray(w.numpy())
        h.update(repr(value.shape).encode())
        h.update(value.tobytes())
    return h.hexdigest()


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, NumPy and TensorFlow; optionally make TF ops deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def build_model(spec: ModelSpec, probe: np.ndarray, initial_scale: float, seed: int) -> PtychoPINN:
    """A fresh model whose weights depend only on ``seed``."""
    keras.utils.set_random_seed(seed)
    return PtychoPINN(spec, probe, initial_scale).build_for()


def train_settings(prep: Prepared, progress: bool | Progress) -> loop.TrainSettings:
    return loop.TrainSettings(
        epochs=prep.epochs,
        batch_size=prep.batch_size,
        weights=prep.weights,
        nll_form=prep.nll_form,
        presplit_shuffle=prep.presplit_shuffle,
        probe_big=prep.spec.probe_big,
        seed=prep.seed,
        progress=progress,
    )


def record_input_stages(rec: StageRecorder, data: GroupedData, s_c: float) -> None:
    """``model_input`` and ``training_labels`` (both ``s_c · X``) of the evaluated split."""
    scaled = data.X * np.float32(s_c)
    rec.record("model_input", scaled, s_c=s_c)
    rec.record("training_labels", scaled, s_c=s_c)


def evaluate(prep: Prepared, train_result, reconstruct, progress: bool | Progress = False) -> RunResult:
    """Predict the test groups, put them together with the pipeline's ``reconstruct(prep,
    trimmed, scoring) -> (stitched, truth, scored, covered)`` under every scoring and measure
    the result (the faithful scoring is the run's ``metrics``)."""
    progress = as_progress(progress)
    with progress.stage("predict"):
        trimmed, pred_amp = loop.predict(prep.model, prep.test.X * np.float32(prep.s_c), prep.test.coords_relative)
    with progress.stage("stitch"):
        views = {scoring: reconstruct(prep, trimmed, scoring) for scoring in SCORINGS}
    return finish(prep, views, pred_amp, trimmed, train_result)


def scoring_metrics(prep: Prepared, stitched, truth, scored, covered, log_scale: float) -> dict:
    """Bias and quality metrics of one scored window (:func:`..evaluation.metrics.amplitude_metrics`)."""
    gauge = metrics.expected_gauge(prep.object_normalization, prep.diffraction_gain, prep.s_c, log_scale)
    return metrics.amplitude_metrics(np.abs(stitched), truth, scored, gauge, covered=covered)


def finish(prep: Prepared, views: dict, pred_amp, trimmed, train_result):
    """Stages after the model, the metrics under each scoring and the run result.

    ``views``: ``{scoring: (stitched, truth, scored, covered)}`` with the faithful one.
    """
    log_scale = prep.model.log_scale_value()
    stitched, truth, scored, covered = views[FAITHFUL]
    rec = prep.recorder
    rec.record("predicted_amplitude", pred_amp, exp_log_scale=math.exp(log_scale))
    rec.record("object_patch", np.abs(trimmed))
    rec.record("stitched_object", np.abs(stitched)[scored])
    rec.record("truth_window", truth[scored])
    gauge = metrics.expected_gauge(prep.object_normalization, prep.diffraction_gain, prep.s_c, log_scale)
    result_metrics = scoring_metrics(prep, stitched, truth, scored, covered, log_scale)
    ceiling = head_ceiling(prep.spec.amp_activation)
    obj_amp = np.abs(trimmed)
    central = obj_amp[:, prep.spec.N // 4 : 3 * prep.spec.N // 4, prep.spec.N // 4 : 3 * prep.spec.N // 4]
    model_metrics = {
        "head_saturation": float(np.mean(central >= 0.99 * ceiling)),
        # the head's mean output in its own units over the same central N/2 x N/2 of every patch:
        # what a collapsed run collapses to, and what a gauge change moves
        "output_level": float(central.mean(dtype=np.float64)),
    }
    result_metrics.update(model_metrics)
    alternative = {name: {**scoring_metrics(prep, *view, log_scale), **model_metrics}
                   for name, view in views.items() if name != FAITHFUL}
    factors = {
        **prep.test.scale_factors,
        "s_c": prep.s_c,
        "initial_log_scale": prep.initial_log_scale,
        "log_scale_final": log_scale,
        "exp_log_scale_final": math.exp(log_scale),
        "expected_gauge": gauge,
        "train_scale_factors": prep.train.scale_factors,
    }
    return _run_result(
        prep,
        scale_factors=factors,
        stages=rec.table(),
        metrics=result_metrics,
        alternative_metrics=alternative,
        training=train_result.to_json(),
        weights_sha256=weights_digest(prep.model),
        arrays=_arrays(views, trimmed, prep.test.coords_offsets[:, 0, :, 0]),
    )


#: The scoring whose window the arrays ``stitched``, ``truth``, ``covered`` hold: the covered
#: pixels, where the trained checks, ``explain`` and the figures look (the faithful window's
#: arrays are kept as ``faithful_stitched``, ``faithful_truth``, ``faithful_scored``).
ARRAY_SCORING = "ptychobench"


def _arrays(views: dict, trimmed, centres) -> dict:
    stitched, truth, scored, _ = views[ARRAY_SCORING]
    f_stitched, f_truth, f_scored, f_covered = views[FAITHFUL]
    return {"stitched": stitched, "truth": truth, "covered": scored, "faithful_stitched": f_stitched,
            "faithful_truth": f_truth, "faithful_scored": f_scored, "faithful_covered": f_covered,
            "trimmed": trimmed, "test_centres": centres}


def _run_result(prep: Prepared, **fields) -> RunResult:
    """A run result with everything that does not depend on how the run ended."""
    return RunResult(
        pipeline=prep.pipeline,
        profile=prep.profile.name,
        seed=prep.seed,
        nphotons=prep.nphotons,
        config=prep.config,
        modern_config=prep.modern_config,
        architecture=prep.model.architecture_table(),
        trainable_params=count_params(prep.model),
        provenance=provenance.collect(prep.seed, prep.profile.name, prep.deterministic),
        peak_rss_bytes=peak_rss_bytes(),
        **fields,
    )


def failed(prep: Prepared, error: TrainingDivergedError) -> RunResult:
    """A run result that records a training failure instead of metrics."""
    return _run_result(
        prep,
        scale_factors={**prep.test.scale_factors, "s_c": prep.s_c},
        stages=prep.recorder.table(),
        metrics={},
        training={},
        failure=str(error),
    )


def train_model(prep: Prepared, progress: bool | Progress) -> loop.TrainResult:
    """Train ``prep.model`` on its training split (``progress``: a labelled :class:`Progress`)."""
    progress = as_progress(progress)
    X_in = prep.train.X * np.float32(prep.s_c)
    with progress.stage("train"):
        return loop.train(
            prep.model,
            X_in,
            prep.train.coords_relative,
            train_settings(prep, progress),
            Y_I=prep.train.Y_I,
        )
