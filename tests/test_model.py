"""Unit tests of the PINN (ptychobench.model): parameter counts, weights, shapes, physics layers.

Parameter counts are written here from the layer shapes by hand (a 3×3 'same' Conv2D
from ``cin`` to ``cout`` channels has ``9·cin·cout + cout`` parameters), not read back
from the implementation's own ladder, so a change of the architecture fails the test.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ptychobench.model import physics_layers as phys
from ptychobench.model.network import PtychoPINN, count_params
from ptychobench.model.spec import ModelSpec
from ptychobench.physics import forward
from ptychobench.physics.probe import default_probe, normalize_probe
from ptychobench.training.loop import predict


def conv3(cin: int, cout: int) -> int:
    """Parameters of a 3×3 Conv2D with bias."""
    return 9 * cin * cout + cout


def probe_for(N: int) -> np.ndarray:
    return normalize_probe(default_probe(N), 10.0)


def spec_for(N: int, gridsize: int, nfs: int = 1, **kw) -> ModelSpec:
    offset = 4
    padded = N + (gridsize - 1) * offset + 10
    return ModelSpec(N=N, gridsize=gridsize, offset=offset, padded_size=padded, n_filters_scale=nfs, **kw)


def build(spec: ModelSpec, initial_scale: float = 100.0) -> PtychoPINN:
    return PtychoPINN(spec, probe_for(spec.N), initial_scale).build_for()


def holds(weights, variable) -> bool:
    """Whether ``variable`` (by identity) is one of ``weights``."""
    return any(w is variable for w in weights)


# ---------------------------------------------------------------------------------------
# parameter counts
# ---------------------------------------------------------------------------------------

# The original's N=64, gridsize 2, n_filters_scale 2 model with a trainable intensity scale,
# written layer by layer: encoder 64,128,256 on 4 input channels; two decoders 128,64;
# heads Conv2D 3×3 on the first 64-4=60 channels to 4 channels; + log_scale.
N64_GS2_NFS2 = (
    # encoder
    conv3(4, 64) + conv3(64, 64)
    + conv3(64, 128) + conv3(128, 128)
    + conv3(128, 256) + conv3(256, 256)
    # amplitude decoder
    + conv3(256, 128) + conv3(128, 128) + conv3(128, 64) + conv3(64, 64)
    # phase decoder
    + conv3(256, 128) + conv3(128, 128) + conv3(128, 64) + conv3(64, 64)
    # amplitude head (per patch: 4 channels) and phase head (4 channels)
    + conv3(60, 4) + conv3(60, 4)
    # log_scale
    + 1
)


def test_hand_count_matches_original_number():
    # Guards the hand-written ladder itself against the original's measured count.
    assert N64_GS2_NFS2 == 2_257_001


def test_param_count_n64_gs2_nfs2_per_patch_matches_original():
    spec = ModelSpec(
        N=64, gridsize=2, offset=4, padded_size=78, n_filters_scale=2,
        amp_channels="per_patch", intensity_scale_trainable=True,
    )
    model = build(spec)
    assert count_params(model) == 2_257_001
    # the probe (real + imaginary 64×64) is the only non-trainable state
    assert count_params(model, trainable=False) == 2 * 64 * 64


def test_param_count_single_amp_channel_is_1623_fewer():
    spec = ModelSpec(
        N=64, gridsize=2, offset=4, padded_size=78, n_filters_scale=2,
        amp_channels="single", intensity_scale_trainable=True,
    )
    model = build(spec)
    assert conv3(60, 4) - conv3(60, 1) == 1_623
    assert count_params(model) == 2_257_001 - 1_623


def test_param_count_n128_gs1_nfs1_from_ladder():
    # encoder 16,32,64,128 on 1 input channel; decoders 128,64,32; heads on 32-4=28 channels
    # to 1 channel each; log_scale not trainable (default).
    encoder = (
        conv3(1, 16) + conv3(16, 16)
        + conv3(16, 32) + conv3(32, 32)
        + conv3(32, 64) + conv3(64, 64)
        + conv3(64, 128) + conv3(128, 128)
    )
    decoder = (
        conv3(128, 128) + conv3(128, 128)
        + conv3(128, 64) + conv3(64, 64)
        + conv3(64, 32) + conv3(32, 32)
    )
    heads = conv3(28, 1) + conv3(28, 1)
    expected = encoder + 2 * decoder + heads
    spec = ModelSpec(N=128, gridsize=1, offset=4, padded_size=138, n_filters_scale=1)
    model = build(spec)
    assert count_params(model) == expected
    # and with the scale trainable exactly one more
    spec_t = ModelSpec(
        N=128, gridsize=1, offset=4, padded_size=138, n_filters_scale=1, intensity_scale_trainable=True
    )
    assert count_params(build(spec_t)) == expected + 1


# ---------------------------------------------------------------------------------------
# the intensity-scale variable
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("trainable", [True, False])
def test_log_scale_trainable_exactly_when_configured(trainable):
    spec = spec_for(64, 1, intensity_scale_trainable=trainable)
    model = build(spec, initial_scale=250.0)
    log_scale = model.scaler.log_scale
    assert holds(model.trainable_weights, log_scale) is trainable
    assert holds(model.non_trainable_weights, log_scale) is (not trainable)
    # it is a weight of the model either way, initialised to log(initial_scale)
    assert holds(model.weights, log_scale)
    assert model.log_scale_value() == pytest.approx(np.log(250.0), rel=1e-6)


def test_two_models_share_no_variables():
    spec = spec_for(64, 2, intensity_scale_trainable=True)
    a = build(spec, initial_scale=100.0)
    b = build(spec, initial_scale=100.0)
    ids_a = {id(w) for w in a.weights}
    ids_b = {id(w) for w in b.weights}
    assert ids_a and ids_b
    assert not ids_a & ids_b
    assert a.scaler.log_scale is not b.scaler.log_scale
    before = b.log_scale_value()
    a.scaler.log_scale.assign(7.5)
    assert a.log_scale_value() == pytest.approx(7.5)
    assert b.log_scale_value() == before


# ---------------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("N", [64, 128])
@pytest.mark.parametrize("gridsize", [1, 2])
def test_output_shapes_and_dtypes(N, gridsize):
    spec = spec_for(N, gridsize)
    model = build(spec)
    C = gridsize * gridsize
    B = 3
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 2, (B, N, N, C)).astype(np.float32))
    c = tf.constant(rng.uniform(-2, 2, (B, 1, 2, C)).astype(np.float32))
    trimmed, pred_amp, pred_int = model((x, c))
    assert trimmed.shape == (B, N, N, 1)
    assert trimmed.dtype == tf.complex64
    assert pred_amp.shape == (B, N, N, C)
    assert pred_amp.dtype == tf.float32
    assert pred_int.shape == (B, N, N, C)
    assert pred_int.dtype == tf.float32
    np.testing.assert_allclose(pred_int.numpy(), pred_amp.numpy() ** 2, rtol=1e-6, atol=0)
    assert np.all(np.isfinite(pred_amp.numpy()))
    assert np.abs(trimmed.numpy()).max() > 0


def test_single_amp_channel_output_shapes():
    spec = spec_for(64, 2, amp_channels="single")
    model = build(spec)
    x = tf.ones([2, 64, 64, 4])
    c = tf.zeros([2, 1, 2, 4])
    trimmed, pred_amp, _ = model((x, c))
    assert trimmed.shape == (2, 64, 64, 1)
    assert pred_amp.shape == (2, 64, 64, 4)


def test_predictions_independent_of_batch_size():
    keras.utils.set_random_seed(1)
    spec = spec_for(64, 2)
    model = build(spec)
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 3, (32, 64, 64, 4)).astype(np.float32)
    coords = rng.uniform(-3, 3, (32, 1, 2, 4)).astype(np.float32)
    obj1, amp1 = predict(model, X, coords, batch_size=1)
    obj16, amp16 = predict(model, X, coords, batch_size=16)
    assert obj1.shape == obj16.shape == (32, 64, 64, 1)
    assert amp1.shape == amp16.shape == (32, 64, 64, 4)
    np.testing.assert_allclose(obj16, obj1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(amp16, amp1, rtol=1e-5, atol=1e-6)
    # the groups really differ from one another (otherwise the check above is vacuous)
    assert not np.allclose(obj1[0], obj1[1])


# ---------------------------------------------------------------------------------------
# physics layers
# ---------------------------------------------------------------------------------------


def test_far_field_layer_matches_numpy_forward():
    rng = np.random.default_rng(5)
    shape = (2, 64, 64, 4)
    field = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    # a non-centred, structured part so that the fftshift matters
    field[:, 10:20, 30:34, :] += 5.0
    tf_amp = phys.far_field_amplitude(tf.constant(field)).numpy()
    np_amp = np.moveaxis(forward.far_field_amplitude(np.moveaxis(field, -1, 1)), 1, -1)
    assert tf_amp.shape == np_amp.shape == shape
    assert tf_amp.dtype == np.float32
    assert np.abs(tf_amp - np_amp).max() / np.abs(np_amp).max() < 1e-5


def test_translate_integer_moves_delta_x_is_column():
    H = W = 16
    img = np.zeros((1, H, W, 2), np.float32)
    r, c = 7, 5
    img[0, r, c, :] = 1.0
    offsets = np.array([[[3.0, -2.0], [-1.0, 4.0]]], np.float32)  # [dx, dy] per channel
    out = phys.translate(tf.constant(img), tf.constant(offsets)).numpy()
    expected = np.zeros_like(img)
    expected[0, r - 2, c + 3, 0] = 1.0
    expected[0, r + 4, c - 1, 1] = 1.0
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_translate_fills_zero_from_outside():
    img = np.ones((1, 8, 8, 1), np.float32)
    out = phys.translate(tf.constant(img), tf.constant([[[2.0, 0.0]]])).numpy()[0, :, :, 0]
    np.testing.assert_allclose(out[:, :2], 0.0)
    np.testing.assert_allclose(out[:, 2:], 1.0)


def bilinear_translate_float64(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The bilinear translation written out in float64: out(y, x) = sum over the four
    neighbours (y0, x0) of img(y0, x0)·(1 − |y − dy − y0|)·(1 − |x − dx − x0|), zero outside."""
    h, w = img.shape
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            sy, sx = y - dy, x - dx
            for y0 in (int(np.floor(sy)), int(np.floor(sy)) + 1):
                for x0 in (int(np.floor(sx)), int(np.floor(sx)) + 1):
                    if 0 <= y0 < h and 0 <= x0 < w:
                        out[y, x] += img[y0, x0] * max(0.0, 1 - abs(sy - y0)) * max(0.0, 1 - abs(sx - x0))
    return out


def test_translate_matches_the_formula_in_float64():
    # Our weights come from an exact integer minus the float32 shift (exact by Sterbenz where
    # the weight is non-zero) and one rounding of 1 − |·|: each product of two weights and a
    # value is off by <= 3 eps32 relative, four of them summed: 12 eps32 * max|img| < 1e-6.
    rng = np.random.default_rng(3)
    img = rng.normal(size=(1, 20, 28, 3)).astype(np.float32)  # not square: rows and columns kept apart
    offsets = np.array([[[2.25, -1.5], [-0.3, 4.7], [7.9, 0.0]]], np.float32)
    out = phys.translate(tf.constant(img), tf.constant(offsets)).numpy()
    for c in range(3):
        dx, dy = (float(v) for v in offsets[0, c])
        expected = bilinear_translate_float64(img[0, :, :, c].astype(np.float64), dx, dy)
        np.testing.assert_allclose(out[0, :, :, c], expected, atol=1e-6 * np.abs(img).max(), rtol=0)


def test_translate_agrees_with_the_originals_projective_op():
    # The original translates with ImageProjectiveTransformV3 (bilinear, constant fill). It
    # forms the sample coordinate i - d in float32 (half an ulp of 64: 3.8e-6 per weight), so
    # its values are off by up to 4 neighbours x 2 weights x 3.8e-6 = 3e-5 of max|img|.
    rng = np.random.default_rng(4)
    img = rng.normal(size=(4, 64, 64, 2)).astype(np.float32)
    offsets = rng.uniform(-6, 6, (4, 2, 2)).astype(np.float32)
    flat = tf.reshape(tf.transpose(img, [0, 3, 1, 2]), [8, 64, 64, 1])
    d = offsets.reshape(8, 2)
    transforms = np.stack([np.ones(8), np.zeros(8), -d[:, 0], np.zeros(8), np.ones(8), -d[:, 1],
                           np.zeros(8), np.zeros(8)], axis=1).astype(np.float32)
    theirs = tf.raw_ops.ImageProjectiveTransformV3(
        images=flat, transforms=transforms, output_shape=[64, 64], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")
    theirs = tf.transpose(tf.reshape(theirs, [4, 2, 64, 64]), [0, 2, 3, 1]).numpy()
    ours = phys.translate(tf.constant(img), tf.constant(offsets)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=3e-5 * np.abs(img).max(), rtol=0)


def test_bilinear_matrices_without_a_start_sample_from_the_first_input_pixel():
    # start defaults to 0: zero shifts give the identity; a shift of +1 moves every row down one
    eye = phys.bilinear_matrices(5, 5, tf.constant([0.0, 1.0])).numpy()
    np.testing.assert_array_equal(eye[0], np.eye(5, dtype=np.float32))
    np.testing.assert_array_equal(eye[1], np.eye(5, k=-1, dtype=np.float32))


def test_translation_ops_carry_the_profilers_scope():
    """``python scripts/speed.py profile`` counts the translations by their name scope."""
    from ptychobench.training import profiling

    graph = tf.function(lambda o, c: phys.extract_patches(phys.reassemble_patches(o, c, 70), c, 64)).get_concrete_function(
        tf.TensorSpec([1, 64, 64, 4], tf.complex64), tf.TensorSpec([1, 1, 2, 4], tf.float32)).graph
    products = [op for op in graph.get_operations() if op.type in ("MatMul", "BatchMatMulV2", "Einsum")]
    assert products
    assert {profiling.categorize(op.name, op.type) for op in products} == {profiling.TRANSLATIONS}


@pytest.mark.parametrize("P", [78, 77])  # an odd P - N: pad_to and center_crop put the extra pixel after
def test_reassembly_and_extraction_are_pad_translate_sum_and_translate_crop(P):
    # Written out with translate, pad and crop (the original's steps), against the folded
    # resampling of reassemble_patches and extract_patches: the same weights, the same sums
    # up to the order of 4 terms (a few eps32 of the largest value; the normaliser's
    # division is where the values are largest).
    rng = np.random.default_rng(5)
    B, N, C = 3, 64, 4
    obj = (rng.normal(size=(B, N, N, C)) + 1j * rng.normal(size=(B, N, N, C))).astype(np.complex64)
    rel = rng.uniform(-3, 3, (B, 1, 2, C)).astype(np.float32)
    offsets = -np.transpose(rel[:, 0], (0, 2, 1))

    def moved(x, d):  # complex translation through the real translate
        return (phys.translate(tf.constant(x.real), tf.constant(d)).numpy()
                + 1j * phys.translate(tf.constant(x.imag), tf.constant(d)).numpy())

    padded = phys.pad_to(tf.constant(obj), P).numpy()
    mask = phys.pad_to(tf.constant(np.broadcast_to(phys.central_mask(N)[None, :, :, None], (B, N, N, C)).copy()),
                       P).numpy()
    norm = phys.translate(tf.constant(mask), tf.constant(offsets)).numpy().sum(-1, keepdims=True) + phys.OVERLAP_EPS
    expected = moved(padded, offsets).sum(-1, keepdims=True) / norm
    canvas = phys.reassemble_patches(tf.constant(obj), tf.constant(rel), P).numpy()
    np.testing.assert_allclose(canvas, expected, atol=1e-6 * np.abs(expected).max(), rtol=0)

    repeated = np.repeat(canvas, C, axis=-1)
    expected_patches = phys.center_crop(tf.constant(moved(repeated, -offsets)), N).numpy()
    patches = phys.extract_patches(tf.constant(canvas), tf.constant(rel), N).numpy()
    np.testing.assert_allclose(patches, expected_patches, atol=1e-6 * np.abs(canvas).max(), rtol=0)


def test_reassemble_then_extract_roundtrips_single_patch_integer_offsets():
    # gridsize 1: any content in the central N/2 comes back exactly for integer offsets
    N, P, B = 64, 78, 4
    rng = np.random.default_rng(11)
    patches = (rng.normal(size=(B, N, N, 1)) + 1j * rng.normal(size=(B, N, N, 1))).astype(np.complex64)
    patches *= phys.central_mask(N)[None, :, :, None]
    coords = rng.integers(-5, 6, size=(B, 1, 2, 1)).astype(np.float32)
    canvas = phys.reassemble_patches(tf.constant(patches), tf.constant(coords), P)
    assert canvas.shape == (B, P, P, 1)
    back = phys.extract_patches(canvas, tf.constant(coords), N).numpy()
    inner = slice(N // 4, N // 4 + N // 2)
    # the overlap normaliser is (1 + 0.001) on a singly covered pixel
    np.testing.assert_allclose(
        back[:, inner, inner, :], patches[:, inner, inner, :] / 1.001, rtol=1e-5, atol=1e-5
    )


def test_reassemble_then_extract_roundtrips_consistent_group():
    # gridsize 2: patches cut from one canvas (masked to the central N/2) are reassembled
    # and extracted again; the content comes back up to the 0.001 normaliser.
    N, P, B, C = 64, 78, 3, 4
    rng = np.random.default_rng(12)
    truth = (rng.uniform(0.5, 1.5, (B, P, P, 1)) * np.exp(1j * rng.uniform(-1, 1, (B, P, P, 1))))
    truth = tf.constant(truth.astype(np.complex64))
    coords = rng.integers(-4, 5, size=(B, 1, 2, C)).astype(np.float32)
    mask = phys.central_mask(N)[None, :, :, None]
    patches = phys.extract_patches(truth, tf.constant(coords), N).numpy() * mask
    canvas = phys.reassemble_patches(tf.constant(patches), tf.constant(coords), P)
    back = phys.extract_patches(canvas, tf.constant(coords), N).numpy()
    inner = slice(N // 4, N // 4 + N // 2)
    np.testing.assert_allclose(back[:, inner, inner, :], patches[:, inner, inner, :], rtol=1.2e-3, atol=1e-5)
    # every channel's patch sits where the truth canvas says it does
    expected = phys.extract_patches(truth, tf.constant(coords), N).numpy()
    np.testing.assert_allclose(back[:, inner, inner, :], expected[:, inner, inner, :], rtol=1.2e-3, atol=1e-5)


def test_gaussian_kernel_3x3_formula():
    """exp(−(x² + y²)/(2σ²)) on x, y ∈ {−1, 0, 1}, divided by its sum: written out for σ = 1
    (centre 1, edges e^−½, corners e^−1) and for σ = 0.6."""
    e, c = np.exp(-0.5), np.exp(-1.0)
    total = 1 + 4 * e + 4 * c
    want = np.array([[c, e, c], [e, 1, e], [c, e, c]]) / total
    got = phys.gaussian_kernel_3x3(1.0)
    assert got.dtype == np.float32 and got.shape == (3, 3)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    e6, c6 = np.exp(-1 / 0.72), np.exp(-2 / 0.72)
    want6 = np.array([[c6, e6, c6], [e6, 1, e6], [c6, e6, c6]]) / (1 + 4 * e6 + 4 * c6)
    np.testing.assert_allclose(phys.gaussian_kernel_3x3(0.6), want6, rtol=1e-6)


@pytest.mark.parametrize("N", [8, 64])
def test_central_mask_is_the_central_half(N):
    m = phys.central_mask(N)
    want = np.zeros((N, N))
    want[N // 4 : 3 * N // 4, N // 4 : 3 * N // 4] = 1
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, want)


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (1, 7, 9, 2)])
def test_max_pool_matches_tensorflows_op_and_its_gradient(shape):
    # Values on a coarse grid so that windows hold ties: the gradient must go where
    # TensorFlow's MaxPoolGrad sends it (the first maximum, row-major), nowhere else.
    from ptychobench.model.network import max_pool_2x2

    rng = np.random.default_rng(6)
    x = tf.constant(rng.integers(0, 3, shape).astype(np.float32))
    dy = tf.constant(rng.normal(size=(shape[0], shape[1] // 2, shape[2] // 2, shape[3])).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours, theirs = max_pool_2x2(x), tf.nn.max_pool2d(x, 2, 2, "VALID")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(tape.gradient(ours, x, dy).numpy(), tape.gradient(theirs, x, dy).numpy())
