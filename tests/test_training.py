"""Unit tests of ptychobench.training: loss terms, their weighting, callbacks, the loop."""

from __future__ import annotations

import math
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from ptychobench.errors import TrainingDivergedError
from ptychobench.model.network import PtychoPINN
from ptychobench.model.spec import ModelSpec
from ptychobench.physics.objects import make_lines_objects
from ptychobench.physics.probe import default_probe, normalize_probe
from ptychobench.simulation.legacy_grid import simulate_grid
from ptychobench.training import losses
from ptychobench.training.loop import EarlyStopping, ReduceLROnPlateau, TrainSettings, train

# ---------------------------------------------------------------------------------------
# loss terms
# ---------------------------------------------------------------------------------------


def _amp_pair(seed: int, shape=(3, 8, 8, 4)):
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.0, 4.0, shape).astype(np.float32)
    pred = rng.uniform(0.1, 4.0, shape).astype(np.float32)
    return target, pred


def _np_nll_mean(y, lam):
    y, lam = y.astype(np.float64), lam.astype(np.float64)
    return float(np.mean(lam - y * np.log(lam)))


def _np_mae(a, b):
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def test_poisson_nll_mean_matches_numpy():
    amp_t, amp_p = _amp_pair(0)
    y, lam = amp_t**2, amp_p**2
    got = float(losses.poisson_nll_mean(tf.constant(y), tf.constant(lam)))
    assert got == pytest.approx(_np_nll_mean(y, lam), rel=1e-5)


def test_poisson_nll_mean_finite_on_dark_pixel():
    y = np.zeros((1, 4, 4, 1), np.float32)
    lam = np.zeros((1, 4, 4, 1), np.float32)
    lam[0, 0, 0, 0] = 2.0
    got = float(losses.poisson_nll_mean(tf.constant(y), tf.constant(lam)))
    assert got == pytest.approx(2.0 / 16)


def test_poisson_nll_full_sum_matches_scipy_logpmf():
    rng = np.random.default_rng(1)
    shape = (4, 8, 8, 2)
    lam = rng.uniform(0.5, 30.0, shape)
    y = rng.poisson(lam).astype(np.float64)
    expected = float(np.mean(-stats.poisson.logpmf(y, lam).sum(axis=(1, 2, 3))))
    got = float(losses.poisson_nll_full_sum(tf.constant(y, tf.float32), tf.constant(lam, tf.float32)))
    assert got == pytest.approx(expected, rel=1e-5)
    # per sample, not per pixel: the two forms differ by far more than a constant factor of 1
    mean_form = float(losses.poisson_nll_mean(tf.constant(y, tf.float32), tf.constant(lam, tf.float32)))
    assert abs(got) > 10 * abs(mean_form)


def _composite(weights: losses.LossWeights, nll_form="mean", seed=2):
    amp_t, amp_p = _amp_pair(seed)
    trimmed = tf.zeros([amp_p.shape[0], amp_p.shape[1], amp_p.shape[2], 1], tf.complex64)
    outputs = (trimmed, tf.constant(amp_p), tf.constant(amp_p**2))
    targets = (None, tf.constant(amp_t), tf.constant(amp_t**2))
    total, terms = losses.composite_loss(outputs, targets, weights, nll_form, probe_big=False)
    return float(total), {k: float(v) for k, v in terms.items()}, amp_t, amp_p


def test_composite_nll_only():
    total, terms, amp_t, amp_p = _composite(losses.LossWeights(mae_weight=0.0, nll_weight=1.0))
    nll = _np_nll_mean(amp_t**2, amp_p**2)
    assert terms["pred_intensity_loss"] == pytest.approx(nll, rel=1e-5)
    assert terms["intensity_scaler_inv_loss"] == pytest.approx(_np_mae(amp_t, amp_p), rel=1e-5)
    assert total == pytest.approx(nll, rel=1e-5)
    assert total == terms["pred_intensity_loss"]
    assert "trimmed_obj_loss" not in terms


def test_composite_mae_only():
    total, terms, amp_t, amp_p = _composite(losses.LossWeights(mae_weight=1.0, nll_weight=0.0))
    mae = _np_mae(amp_t, amp_p)
    assert total == pytest.approx(mae, rel=1e-5)
    assert total == terms["intensity_scaler_inv_loss"]


@pytest.mark.parametrize("w_mae,w_nll", [(2.0, 0.5), (0.25, 3.0), (7.0, 1.0)])
def test_composite_weights_are_honoured(w_mae, w_nll):
    total, terms, amp_t, amp_p = _composite(losses.LossWeights(mae_weight=w_mae, nll_weight=w_nll))
    expected = w_mae * _np_mae(amp_t, amp_p) + w_nll * _np_nll_mean(amp_t**2, amp_p**2)
    assert total == pytest.approx(expected, rel=1e-5)
    # changing one weight changes the total by exactly that weight times its term
    total2, _, _, _ = _composite(losses.LossWeights(mae_weight=w_mae + 1.0, nll_weight=w_nll))
    assert total2 - total == pytest.approx(terms["intensity_scaler_inv_loss"], rel=1e-4)


def test_composite_zero_weight_term_is_not_added():
    # a term with weight 0 must not reach the total even when it is not finite (0·inf = NaN)
    amp_t, amp_p = _amp_pair(4)
    bad_amp_target = amp_t.copy()
    bad_amp_target[0, 0, 0, 0] = np.inf
    trimmed = tf.zeros([amp_p.shape[0], amp_p.shape[1], amp_p.shape[2], 1], tf.complex64)
    outputs = (trimmed, tf.constant(amp_p), tf.constant(amp_p**2))
    targets = (None, tf.constant(bad_amp_target), tf.constant(amp_t**2))
    total, terms = losses.composite_loss(
        outputs, targets, losses.LossWeights(mae_weight=0.0, nll_weight=1.0), "mean", probe_big=False
    )
    assert not np.isfinite(float(terms["intensity_scaler_inv_loss"]))
    assert float(total) == pytest.approx(_np_nll_mean(amp_t**2, amp_p**2), rel=1e-5)


def test_composite_full_sum_form():
    total, terms, amp_t, amp_p = _composite(losses.LossWeights(mae_weight=0.0, nll_weight=1.0), "full_sum")
    y, lam = (amp_t.astype(np.float64)) ** 2, (amp_p.astype(np.float64)) ** 2
    from scipy.special import gammaln

    expected = float(np.mean((lam - y * np.log(lam) + gammaln(y + 1)).sum(axis=(1, 2, 3))))
    assert total == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------------------------------
# callbacks
# ---------------------------------------------------------------------------------------


def _run_plateau(values, lr=1e-3, factor=0.5, patience=2, min_lr=1e-4, min_delta=1e-4):
    p = ReduceLROnPlateau(factor, patience, min_lr, min_delta)
    out = []
    for v in values:
        lr = p.step(v, lr)
        out.append(lr)
    return out


def _keras_plateau(values, lr=1e-3, factor=0.5, patience=2, min_lr=1e-4, min_delta=1e-4):
    cb = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", mode="min", factor=factor, patience=patience, min_lr=min_lr, min_delta=min_delta
    )
    opt = keras.optimizers.Adam(learning_rate=lr)
    cb.set_model(types.SimpleNamespace(optimizer=opt))
    out = []
    for epoch, v in enumerate(values):
        cb.on_epoch_end(epoch, {"val_loss": float(v)})
        out.append(float(opt.learning_rate.numpy()))
    return out


def test_plateau_hand_sequence():
    # no improvement for 2 epochs -> halve; the counter restarts after a reduction
    values = [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0]
    assert _run_plateau(values) == pytest.approx(
        [1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 1.25e-4]
    )


def test_plateau_min_delta_counts_small_gains_as_no_improvement():
    # 0.99995 and 0.99991 are not below best - 1e-4 = 0.9999
    assert _run_plateau([1.0, 0.99995, 0.99991]) == pytest.approx([1e-3, 1e-3, 5e-4])
    # 0.9998 is an improvement
    assert _run_plateau([1.0, 0.9998, 0.9997]) == pytest.approx([1e-3, 1e-3, 1e-3])


def test_plateau_floors_at_min_lr():
    lrs = _run_plateau([1.0] + [2.0] * 12)
    assert min(lrs) == pytest.approx(1e-4)
    assert lrs[-1] == pytest.approx(1e-4)
    assert lrs == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 1.25e-4, 1.25e-4] + [1e-4] * 5)


@pytest.mark.parametrize("seed", range(4))
def test_plateau_matches_keras_callback(seed):
    rng = np.random.default_rng(seed)
    # a noisy, slowly decreasing curve with stalls: plenty of plateaus and improvements
    values = np.round(np.cumsum(rng.choice([-0.3, 0.0, 0.2, -0.00005, -0.00005], size=25)) + 10.0, 6)
    ours = _run_plateau(values.tolist(), patience=2)
    ref = _keras_plateau(values.tolist(), patience=2)
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def _run_early(values, patience=3):
    s = EarlyStopping(patience)
    for i, v in enumerate(values):
        if s.should_stop(v):
            return i
    return None


def _keras_early(values, patience=3):
    cb = keras.callbacks.EarlyStopping(monitor="loss", mode="min", patience=patience)
    stub = types.SimpleNamespace(stop_training=False)
    cb.set_model(stub)
    for i, v in enumerate(values):
        cb.on_epoch_end(i, {"loss": float(v)})
        if stub.stop_training:
            return i
    return None


def test_early_stopping_hand_sequences():
    assert _run_early([5.0, 4.0, 4.5, 4.2, 4.1]) == 4
    # equal values are not improvements
    assert _run_early([1.0, 1.0, 1.0, 1.0]) == 3
    # an improvement restarts the count
    assert _run_early([3.0, 2.0, 2.5, 2.5, 1.0, 1.5, 1.5, 1.5]) == 7
    # steady improvement never stops
    assert _run_early([5.0, 4.0, 3.0, 2.0, 1.0, 0.5]) is None
    # NaN is never an improvement
    assert _run_early([1.0, math.nan, math.nan, math.nan]) == 3


@pytest.mark.parametrize("seed", range(4))
def test_early_stopping_matches_keras_callback(seed):
    rng = np.random.default_rng(100 + seed)
    values = (np.cumsum(rng.choice([-0.3, 0.0, 0.1, 0.2], size=30)) + 10.0).tolist()
    assert _run_early(values) == _keras_early(values)


# ---------------------------------------------------------------------------------------
# the training loop
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def legacy_like():
    probe = normalize_probe(default_probe(64), 10.0)
    data, _ = simulate_grid(
        make_lines_objects(96, 1, 1), probe, N=64, gridsize=2, offset=4, outer_offset=8, nphotons=1e9, seed=1
    )
    return data, probe


def test_smoke_training_lowers_loss(legacy_like):
    data, probe = legacy_like
    s = math.sqrt(1e9) / 32
    X_in = data.X * s
    keras.utils.set_random_seed(0)
    model = PtychoPINN(ModelSpec(n_filters_scale=1, intensity_scale_trainable=True), probe, initial_scale=s).build_for()
    log_scale_before = model.log_scale_value()
    result = train(model, X_in, data.coords_relative, TrainSettings(epochs=2, progress=False, seed=0))
    loss = result.history["loss"]
    assert len(loss) == 2
    assert all(np.isfinite(loss))
    assert loss[-1] < loss[0]
    assert result.epochs_run == 2
    assert result.n_train + result.n_val == data.X.shape[0]
    # the scale is trainable here, so it moved
    assert model.log_scale_value() != log_scale_before


def _small_problem(n=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 3.0, (n, 64, 64, 1)).astype(np.float32)
    coords = np.zeros((n, 1, 2, 1), np.float32)
    return X, coords


def _small_model(seed: int) -> PtychoPINN:
    keras.utils.set_random_seed(seed)
    spec = ModelSpec(N=64, gridsize=1, offset=4, padded_size=74, n_filters_scale=1, intensity_scale_trainable=True)
    return PtychoPINN(spec, normalize_probe(default_probe(64), 10.0), initial_scale=3.0).build_for()


def test_nan_input_raises_training_diverged_at_epoch1_batch1():
    X, coords = _small_problem()
    X[:] = np.nan
    model = _small_model(0)
    with pytest.raises(TrainingDivergedError) as info:
        train(model, X, coords, TrainSettings(epochs=2, batch_size=8, progress=False))
    err = info.value
    assert err.epoch == 1
    assert err.batch == 1
    assert math.isnan(err.loss)
    assert "epoch 1" in str(err)
    assert "batch 1" in str(err)


@pytest.fixture
def op_determinism():
    """Enable TF op determinism for one test and restore the previous state afterwards."""
    from tensorflow.python.framework import config as tf_config  # private, only to restore

    was_enabled = getattr(tf_config, "is_op_determinism_enabled", lambda: True)()
    tf.config.experimental.enable_op_determinism()
    yield
    if not was_enabled and hasattr(tf_config, "disable_op_determinism"):
        tf_config.disable_op_determinism()


def test_same_seed_gives_identical_history_and_weights(op_determinism):
    X, coords = _small_problem(n=16)  # no validation split: one traced step only
    settings = TrainSettings(epochs=2, batch_size=8, progress=False, seed=0)

    def weights_of(model):
        return [keras.ops.convert_to_numpy(w) for w in model.weights]

    def run(global_state):
        model = _small_model(0)
        initial = weights_of(model)
        # the loop's shuffling must depend on settings.seed only, not on global RNG state
        np.random.seed(global_state)
        tf.random.set_seed(global_state)
        result = train(model, X, coords, settings)
        return result.history, initial, weights_of(model)

    h1, init1, w1 = run(1)
    h2, init2, w2 = run(2)
    assert h1 == h2
    assert len(w1) == len(w2)
    assert all(np.array_equal(a, b) for a, b in zip(init1, init2))
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    # not vacuous: training changed the weights
    assert not all(np.array_equal(a, b) for a, b in zip(init1, w1))


# ---------------------------------------------------------------------------------------
# the original's validation split and real-space loss, on cases computed by hand
# ---------------------------------------------------------------------------------------


def test_validation_split_is_the_originals_shuffled_floor():
    """n = 10: ``sklearn.utils.shuffle(arange(10), random_state=0)`` is [2 8 4 9 1 6 7 3 0 5]
    (RandomState(0).shuffle); Keras keeps floor(10 · 0.95) = 9, so group 5 validates."""
    from ptychobench.training.loop import validation_split_indices

    train_idx, val_idx = validation_split_indices(10, 0.05)
    assert train_idx.tolist() == [2, 8, 4, 9, 1, 6, 7, 3, 0]
    assert val_idx.tolist() == [5]
    # 100 groups: floor(95) = 95 train, 5 validation (the old ceil rule held out 5 too, but a strip)
    train_idx, val_idx = validation_split_indices(100, 0.05)
    assert len(train_idx) == 95 and len(val_idx) == 5
    assert sorted(val_idx.tolist()) != [95, 96, 97, 98, 99]
    # 30 groups: floor(28.5) = 28 train, 2 validation (ceil would have held out 1)
    assert len(validation_split_indices(30, 0.05)[1]) == 2


def test_total_variation_sums_over_the_batch():
    """Two 2×2 samples: real parts [[0,1],[0,1]] and [[0,0],[2,2]], imaginary [[0,0],[0,1]] in
    the first. x-differences: 1,1 | 0,0 (real), 0,1 (imag); y-differences: 0,0 | 2,2 (real),
    0,1 (imag); squares sum to 1+1+1 + 4+4+1 = 12 for the batch (not 6 per sample)."""
    re = np.array([[[0, 1], [0, 1]], [[0, 0], [2, 2]]], np.float32)[..., None]
    im = np.zeros_like(re)
    im[0, 1, 1, 0] = 1.0
    x = tf.complex(tf.constant(re), tf.constant(im))
    assert float(losses.total_variation(x)) == 12.0


def test_complex_mae_is_the_modulus_of_the_complex_difference():
    """target 1, prediction 1+1j and -1: |1j| = 1 and |-2| = 2, mean 1.5 (amplitude MAE +
    phase MAE would give 0 + π/2 ... instead)."""
    target = tf.constant(np.array([1.0, 1.0], np.float32).reshape(1, 1, 2, 1))
    pred = tf.constant(np.array([1 + 1j, -1], np.complex64).reshape(1, 1, 2, 1))
    assert float(losses.complex_mae(target, pred)) == pytest.approx(1.5, rel=1e-7)


def test_realspace_target_is_the_first_channel_centred():
    """``center_channels(Y_I)[..., :1]``: channel 0 moved by −coords_relative of channel 0.
    A single bright pixel at (row 10, col 12) with coords_relative (x=+2, y=−3) lands on
    (row 13, col 10); no overlap normaliser scales it."""
    from ptychobench.training.loop import realspace_targets

    Y = np.zeros((1, 64, 64, 4), np.float32)
    Y[0, 10, 12, 0] = 5.0
    Y[0, 30, 30, 1:] = 7.0  # other channels are ignored
    rel = np.zeros((1, 1, 2, 4), np.float32)
    rel[0, 0, :, 0] = [2.0, -3.0]
    t = realspace_targets(Y, rel)
    assert t.shape == (1, 64, 64, 1)
    assert np.argwhere(t[0, :, :, 0] > 0).tolist() == [[13, 10]]
    assert t[0, 13, 10, 0] == pytest.approx(5.0, rel=1e-6)


def test_scale_is_constant_by_default_and_trains_as_the_variant():
    """Faithful: ``exp(log_scale)`` is a constant even though cfg says trainable; the
    'trainable' variant makes it a trained weight."""
    from ptychobench.config import params

    params.reset()
    params.init(1e9, "nll")
    params.execute(1e9)
    assert params.cfg["intensity_scale.trainable"] is True
    faithful = ModelSpec.from_params(params.cfg, amp_channels="single")
    variant = ModelSpec.from_params(params.cfg, amp_channels="single", scale_variant="trainable")
    assert faithful.intensity_scale_trainable is False
    assert variant.intensity_scale_trainable is True
    probe = normalize_probe(default_probe(64, 0.7), 10.0)
    model = PtychoPINN(faithful, probe, initial_scale=988.2).build_for()
    assert all("log_scale" not in w.path for w in model.trainable_weights)
    model = PtychoPINN(variant, probe, initial_scale=988.2).build_for()
    assert any("log_scale" in w.path for w in model.trainable_weights)
