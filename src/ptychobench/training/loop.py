"""Training: Adam, ReduceLROnPlateau, EarlyStopping, validation split, NaN guard, throughput.

The loop reproduces the original ``model.fit`` settings: Adam lr 1e-3;
``ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=2, min_lr=1e-4)``;
``EarlyStopping(monitor='loss', patience=3)``; ``validation_split=0.05`` taken the way
the original takes it (:func:`validation_split_indices`); shuffled batches of ``batch_size``. It is a plain loop
over one traced step so that every batch's loss is checked for NaN/Inf and the time of
each epoch is measured without graph tracing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from ..errors import TrainingDivergedError
from ..model import physics_layers as phys
from ..progress import as_progress
from . import losses


@dataclass(frozen=True)
class TrainSettings:
    """Everything the loop needs besides the model and the data."""

    epochs: int
    batch_size: int = 16
    learning_rate: float = 1e-3
    validation_split: float = 0.05
    #: legacy ``True`` (sklearn's shuffle before the split), modern ``False`` (the container's tail)
    presplit_shuffle: bool = True
    weights: losses.LossWeights = field(default_factory=losses.LossWeights)
    nll_form: str = "mean"
    probe_big: bool = False
    plateau_monitor: str = "val_loss"
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    plateau_min_delta: float = 1e-4
    min_lr: float = 1e-4
    early_stop_monitor: str = "loss"
    early_stop_patience: int = 3
    seed: int = 0
    #: ``True`` (stderr), ``False`` or a :class:`ptychobench.progress.Progress`
    progress: object = True
    #: Compile the training step with XLA (``tf.function(jit_compile=True)``): the same
    #: computation to float32 rounding, about 1.3× the groups/s on 2 AVX2 cores (docs/training-profile.md);
    #: ``False`` runs TensorFlow's own kernels. The evaluation step and ``predict`` are not compiled.
    jit_compile: bool = True
    #: each epoch's batches in a fresh random order (Keras' ``fit(shuffle=True)``, the original's);
    #: ``False``: the training groups in their stored order (``shuffle=False``: the lockstep)
    shuffle: bool = True


@dataclass
class TrainResult:
    """History and speed of one training run."""

    history: dict
    lr_trace: list
    epochs_run: int
    stopped_early: bool
    samples_per_second: float
    epoch_seconds: list
    n_train: int
    n_val: int
    jit_compile: bool = False
    #: what ran, for the checks that observe it: the held-out group indices, each epoch's order of
    #: the training groups, and the size of every batch the training step was given (per epoch)
    val_indices: list = field(default_factory=list, repr=False)
    epoch_orders: list = field(default_factory=list, repr=False)
    batch_sizes: list = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        return {
            "history": self.history,
            "lr_trace": self.lr_trace,
            "epochs_run": self.epochs_run,
            "stopped_early": self.stopped_early,
            "samples_per_second": self.samples_per_second,
            "epoch_seconds": self.epoch_seconds,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "jit_compile": self.jit_compile,
            "batches_per_epoch": [len(sizes) for sizes in self.batch_sizes],
        }


class ReduceLROnPlateau:
    """Keras' ReduceLROnPlateau rule (mode 'min', cooldown 0) on a plain number."""

    def __init__(self, factor: float, patience: int, min_lr: float, min_delta: float):
        self.factor, self.patience, self.min_lr, self.min_delta = factor, patience, min_lr, min_delta
        self.best, self.wait = math.inf, 0

    def step(self, value: float, lr: float) -> float:
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            return lr
        self.wait += 1
        if self.wait >= self.patience and lr > self.min_lr:
            self.wait = 0
            return max(lr * self.factor, self.min_lr)
        return lr


class EarlyStopping:
    """Keras' EarlyStopping rule (mode 'min', min_delta 0): stop after ``patience`` bad epochs."""

    def __init__(self, patience: int):
        self.patience, self.best, self.wait = patience, math.inf, 0

    def should_stop(self, value: float) -> bool:
        if value < self.best:
            self.best, self.wait = value, 0
            return False
        self.wait += 1
        return self.wait >= self.patience


def validation_split_indices(n: int, fraction: float, presplit_shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` group indices as the original takes them.

    Keras' ``validation_split`` holds out the tail of the container's order after
    ``floor(n·(1 − fraction))`` (tf_keras ``data_adapter.py:1803``). The legacy path shuffles
    the training groups once before, with ``sklearn.utils.shuffle(..., random_state=0)``
    (DE ``ptycho/data_preprocessing.py:60-68,126``), which permutes with
    ``RandomState(0).shuffle``: its validation groups are a random 5%
    (``presplit_shuffle=True``). The modern path does not shuffle
    (``presplit_shuffle=False``): its validation groups are the last 5% of the container.
    """
    order = np.arange(n)
    if presplit_shuffle:
        np.random.RandomState(0).shuffle(order)
    split = int(math.floor(n * (1.0 - fraction)))
    return order[:split], order[split:]


def realspace_targets(Y_I: np.ndarray, coords_relative: np.ndarray) -> np.ndarray:
    """The real-space label: ``center_channels(Y_I, coords)[..., :1]``.

    The first label channel translated by ``−coords_relative`` of that channel, so that it
    sits on the group centre (M ``ptycho/model.py:618-622``, ``ptycho/tf_helper.py:661-671``).
    No overlap normaliser is involved.

    Returns float32 (B, N, N, 1).
    """
    out = []
    for start in range(0, Y_I.shape[0], 256):
        y = Y_I[start : start + 256, :, :, :1]
        offsets = -coords_relative[start : start + 256, 0, :, :1].transpose(0, 2, 1)  # (b, 1, 2)
        out.append(phys.translate(tf.constant(y, tf.float32), tf.constant(offsets, tf.float32)).numpy())
    return np.concatenate(out)


def make_steps(model, settings: TrainSettings, N: int, C: int):
    """The optimizer and the traced training and evaluation steps.

    Each step takes ``(x, coords_relative, obj_target)`` batches of shapes (b, N, N, C),
    (b, 1, 2, C), (b, N, N, 1) and returns ``(total_loss, {term: loss})``; the training
    step also applies one Adam update; with ``settings.jit_compile`` its full batches run
    XLA-compiled (one compilation), a shorter last batch on TensorFlow's kernels.
    """
    optimizer = keras.optimizers.Adam(learning_rate=settings.learning_rate)
    signature = [
        tf.TensorSpec([None, N, N, C], tf.float32),
        tf.TensorSpec([None, 1, 2, C], tf.float32),
        tf.TensorSpec([None, N, N, 1], tf.float32),
    ]

    def loss_of(x, pos, obj_t, training):
        outputs = model((x, pos), training=training)
        return losses.composite_loss(
            outputs, (obj_t, x, tf.square(x)), settings.weights, settings.nll_form, settings.probe_big
        )

    def step(x, pos, obj_t):
        with tf.GradientTape() as tape:
            total, terms = loss_of(x, pos, obj_t, True)
        grads = tape.gradient(total, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return total, terms

    plain_step = tf.function(step, input_signature=signature)
    compiled_step = tf.function(step, input_signature=signature, jit_compile=True)

    def train_step(x, pos, obj_t):
        # XLA compiles once per batch shape (seconds each): the epoch's last, shorter
        # batch runs on TensorFlow's kernels instead of paying a second compilation
        full = settings.jit_compile and x.shape[0] == settings.batch_size
        return (compiled_step if full else plain_step)(x, pos, obj_t)

    @tf.function(input_signature=signature)
    def eval_step(x, pos, obj_t):
        return loss_of(x, pos, obj_t, False)

    return optimizer, train_step, eval_step


def train(model, X_in, coords_relative, settings: TrainSettings, Y_I=None, observer=None) -> TrainResult:
    """Fit ``model`` to reproduce its scaled input diffraction.

    Parameters
    ----------
    model : PtychoPINN
    X_in : float32 (B, N, N, C)
        Model input ``s_c · X``; the targets are ``s_c · X`` and ``(s_c · X)²``.
    coords_relative : float32 (B, 1, 2, C)
    settings : TrainSettings
    Y_I : float32 (B, N, N, C), optional
        Label amplitudes, needed only when ``realspace_weight > 0``.

    observer : optional
        Told what the loop does, for the lockstep (:mod:`ptychobench.upstream.lockstep`):
        ``epoch_begin(epoch, lr)``, ``before_step(x, pos, obj_t)`` (the batch, weights not yet
        updated), ``after_step(total, terms)``, ``epoch_end(epoch, logs)``.

    Raises
    ------
    TrainingDivergedError
        The first time a batch loss is NaN or Inf (epoch and batch are 1-based).
    """
    X_in = np.asarray(X_in, np.float32)
    coords_relative = np.asarray(coords_relative, np.float32)
    n = X_in.shape[0]
    train_idx, val_idx = validation_split_indices(n, settings.validation_split, settings.presplit_shuffle)
    use_realspace = settings.weights.realspace_weight > 0
    obj_targets = realspace_targets(Y_I, coords_relative) if use_realspace else None

    N, C = X_in.shape[1], X_in.shape[-1]
    optimizer, train_step, eval_step = make_steps(model, settings, N, C)

    def batch(idx):
        obj_t = obj_targets[idx] if use_realspace else np.zeros((len(idx), N, N, 1), np.float32)
        return X_in[idx], coords_relative[idx], obj_t

    rng = np.random.RandomState(settings.seed)
    plateau = ReduceLROnPlateau(
        settings.plateau_factor, settings.plateau_patience, settings.min_lr, settings.plateau_min_delta
    )
    stopper = EarlyStopping(settings.early_stop_patience)
    history: dict[str, list] = {}
    lr_trace, epoch_seconds, epoch_orders, batch_sizes = [], [], [], []
    steady_samples, steady_seconds, stopped = 0, 0.0, False
    epoch = 0
    progress = as_progress(settings.progress)
    with progress.bar(settings.epochs, "epochs", unit="epoch") as epochs_bar:
        for epoch in range(1, settings.epochs + 1):
            lr = float(optimizer.learning_rate.numpy())
            lr_trace.append(lr)
            order = train_idx[rng.permutation(len(train_idx))] if settings.shuffle else train_idx
            if observer is not None:
                observer.epoch_begin(epoch, lr)
            batches = [order[i : i + settings.batch_size] for i in range(0, len(order), settings.batch_size)]
            epoch_orders.append(order.tolist())
            batch_sizes.append([])
            sums: dict[str, float] = {}
            start = time.perf_counter()
            with progress.bar(len(batches), f"epoch {epoch}/{settings.epochs}", unit="batch", leave=False,
                              plain=False) as bar:
                for b, idx in enumerate(batches, start=1):
                    data = batch(idx)
                    if observer is not None:
                        observer.before_step(*data)
                    total, terms = train_step(*data)
                    if observer is not None:
                        observer.after_step(total, terms)
                    batch_sizes[-1].append(len(idx))
                    value = float(total)
                    if not math.isfinite(value):
                        raise TrainingDivergedError(epoch, b, value)
                    sums["loss"] = sums.get("loss", 0.0) + value * len(idx)
                    for key, term in terms.items():
                        sums[key] = sums.get(key, 0.0) + float(term) * len(idx)
                    bar.set_postfix(loss=f"{value:.4g}")
                    bar.update(1)
            seconds = time.perf_counter() - start
            epoch_seconds.append(seconds)
            if epoch > 1:  # the first epoch includes graph tracing
                steady_samples += len(order)
                steady_seconds += seconds
            for key, value in sums.items():
                history.setdefault(key, []).append(value / len(order))
            if len(val_idx):
                val_sum = 0.0
                for i in range(0, len(val_idx), settings.batch_size):
                    v, _ = eval_step(*batch(val_idx[i : i + settings.batch_size]))
                    val_sum += float(v) * len(val_idx[i : i + settings.batch_size])
                history.setdefault("val_loss", []).append(val_sum / len(val_idx))
                new_lr = plateau.step(history[settings.plateau_monitor][-1], lr)
                if new_lr != lr:
                    optimizer.learning_rate.assign(new_lr)
            if observer is not None:
                observer.epoch_end(epoch, {key: values[-1] for key, values in history.items()})
            epochs_bar.set_postfix(loss=f"{history['loss'][-1]:.4g}", lr=f"{lr:.3g}")
            epochs_bar.update(1)
            if stopper.should_stop(history[settings.early_stop_monitor][-1]):
                stopped = True
                break
    throughput = steady_samples / steady_seconds if steady_seconds > 0 else math.nan
    return TrainResult(
        history=history,
        lr_trace=lr_trace,
        epochs_run=epoch,
        stopped_early=stopped,
        samples_per_second=throughput,
        epoch_seconds=epoch_seconds,
        n_train=len(train_idx),
        n_val=len(val_idx),
        jit_compile=settings.jit_compile,
        val_indices=val_idx.tolist(),
        epoch_orders=epoch_orders,
        batch_sizes=batch_sizes,
    )


def predict_step(model):
    """The traced inference step: ``(x (B, N, N, C), coords (B, 1, 2, C))`` → ``(trimmed_obj, pred_amp)``."""
    spec = model.spec
    signature = [
        tf.TensorSpec([None, spec.N, spec.N, spec.channels], tf.float32),
        tf.TensorSpec([None, 1, 2, spec.channels], tf.float32),
    ]
    return tf.function(lambda x, c: model((x, c), training=False)[:2], input_signature=signature)


def predict(model, X_in, coords_relative, batch_size: int = 16, step=None):
    """Run the model on every group; returns numpy ``(trimmed_obj, pred_amp)``.

    ``step``: a :func:`predict_step` of ``model`` to reuse (traced once); default a new one.
    """
    step = predict_step(model) if step is None else step
    objs, amps = [], []
    for i in range(0, X_in.shape[0], batch_size):
        o, a = step(X_in[i : i + batch_size], coords_relative[i : i + batch_size])
        objs.append(o.numpy())
        amps.append(a.numpy())
    return np.concatenate(objs), np.concatenate(amps)
