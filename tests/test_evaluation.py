"""Unit tests of ptychobench.evaluation: stitching, the gauge-aware amplitude metrics, FRC."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from ptychobench.evaluation import metrics
from ptychobench.evaluation.stitching import stitch_grid, stitch_positions
from ptychobench.model import physics_layers as phys
from ptychobench.physics.objects import make_lines_objects

# ---------------------------------------------------------------------------------------
# stitch_positions
# ---------------------------------------------------------------------------------------


def _square_union(centres, M, shape, extra: int = 0):
    """Union of the (M+extra)² squares whose top-left is floor(centre − M//2), clipped."""
    mask = np.zeros(shape, bool)
    for x, y in centres:
        r0 = int(math.floor(y - M // 2))
        c0 = int(math.floor(x - M // 2))
        mask[max(r0, 0) : max(r0 + M + extra, 0), max(c0, 0) : max(c0 + M + extra, 0)] = True
    return mask


def test_stitch_positions_constant_object_integer_centres():
    N, M, shape = 32, 8, (40, 44)
    # includes centres whose square is partly outside the canvas
    centres = np.array([[10, 10], [14, 12], [30, 20], [2, 37], [43, 1]], np.float64)
    patches = np.full((len(centres), N, N), 2.5 + 0j, np.complex64)
    image, weight = stitch_positions(patches, centres, shape, M=M)
    assert image.shape == shape
    assert image.dtype == np.complex64
    expected = _square_union(centres, M, shape)
    np.testing.assert_array_equal(weight > 0, expected)
    np.testing.assert_allclose(image[expected], 2.5, rtol=1e-6)
    assert np.all(image[~expected] == 0)
    # overlapping squares are averaged, not summed: weight counts the patches
    assert weight[10, 12] == pytest.approx(2.0)  # inside both the (10,10) and (14,12) squares


def test_stitch_positions_constant_object_fractional_centres():
    N, M, shape = 32, 8, (40, 40)
    centres = np.array([[10.5, 10.25], [14.75, 12.0], [30.3, 20.9], [20.0, 30.5]])
    patches = np.full((len(centres), N, N), 2.5 + 0j, np.complex64)
    image, weight = stitch_positions(patches, centres, shape, M=M)
    covered = weight > 0
    # bilinear splatting widens a fractional square by one pixel along the fractional axes
    assert np.all(covered[_square_union(centres, M, shape)])
    assert not np.any(covered[~_square_union(centres, M, shape, extra=1)])
    np.testing.assert_allclose(image[covered], 2.5, rtol=1e-5)
    assert np.all(image[~covered] == 0)


def test_stitch_positions_negligible_splat_counts_as_uncovered():
    # a centre 1e-9 px off an integer splats weight 1e-9 onto one extra column: that
    # sliver must read as uncovered (weight 0, value 0), not as a diluted pixel
    N, M, shape = 32, 8, (30, 30)
    centres = np.array([[12 + 1e-9, 15.0]])
    patches = np.full((1, N, N), 2.5 + 0j, np.complex64)
    image, weight = stitch_positions(patches, centres, shape, M=M)
    expected = _square_union(np.array([[12.0, 15.0]]), M, shape)
    np.testing.assert_array_equal(weight > 0, expected)
    np.testing.assert_allclose(image[expected], 2.5, rtol=1e-6)
    assert np.all(image[~expected] == 0)


def test_stitch_positions_places_central_crop_x_is_column():
    N, M, shape = 32, 8, (30, 40)
    rng = np.random.default_rng(0)
    patch = rng.normal(size=(1, N, N)).astype(np.float32)
    x, y = 25, 9
    image, _ = stitch_positions(patch, np.array([[x, y]], float), shape, M=M)
    lo = N // 2 - M // 2
    crop = patch[0, lo : lo + M, lo : lo + M]
    np.testing.assert_allclose(image[y - M // 2 : y - M // 2 + M, x - M // 2 : x - M // 2 + M], crop, rtol=1e-6)
    # the patch centre pixel (N//2, N//2) lands on the centre (row y, column x)
    assert image[y, x] == pytest.approx(patch[0, N // 2, N // 2], rel=1e-6)
    assert image.dtype == np.float32


# ---------------------------------------------------------------------------------------
# stitch_grid
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("outer", [8, 10, 12])
def test_stitch_grid_equals_stitch_positions_on_grid(outer):
    ny, nx, N = 3, 4, 32
    step = outer // 2
    rng = np.random.default_rng(outer)
    patches = (rng.normal(size=(ny * nx, N, N)) + 1j * rng.normal(size=(ny * nx, N, N))).astype(np.complex64)
    mosaic = stitch_grid(patches, ny, nx, outer)
    assert mosaic.shape == (ny * step, nx * step)
    gy, gx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")  # row-major groups
    centres = np.stack([gx.ravel() * step + step // 2, gy.ravel() * step + step // 2], axis=1).astype(float)
    image, weight = stitch_positions(patches, centres, mosaic.shape, M=step)
    np.testing.assert_allclose(weight, 1.0)
    np.testing.assert_allclose(mosaic, image, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------
# amplitude metrics and the gauge
# ---------------------------------------------------------------------------------------


def _truth_and_cover(seed=0, shape=(40, 48)):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.5, 2.0, shape)
    covered = np.zeros(shape, bool)
    covered[5:35, 3:30] = True
    covered[20:38, 30:45] = True
    return truth, covered


def test_amplitude_metrics_exact_gauge():
    G = 0.3
    truth, covered = _truth_and_cover()
    stitched = np.where(covered, G * truth, 0.0)
    m = metrics.amplitude_metrics(stitched, truth, covered, gauge=G)
    assert m["coverage"] == pytest.approx(covered.sum() / covered.size, abs=1e-12)
    assert m["amplitude_ratio"] == pytest.approx(G, abs=1e-9)
    assert m["amplitude_ratio_ls"] == pytest.approx(G, abs=1e-9)
    assert m["expected_gauge"] == G
    assert m["gauge_corrected_ratio"] == pytest.approx(1.0, abs=1e-9)
    assert m["amplitude_bias"] == pytest.approx(0.0, abs=1e-9)
    assert m["pearson"] == pytest.approx(1.0, abs=1e-9)
    assert m["mae"] == pytest.approx(0.0, abs=1e-9)
    assert m["stitched_mean"] == pytest.approx(G * truth[covered].mean(), rel=1e-12)
    assert m["truth_mean"] == pytest.approx(truth[covered].mean(), rel=1e-12)


def test_amplitude_metrics_ignore_uncovered_pixels():
    G = 0.3
    truth, covered = _truth_and_cover(1)
    stitched = np.where(covered, G * truth, 123.0)  # garbage outside the covered pixels
    m = metrics.amplitude_metrics(stitched, truth, covered, gauge=G)
    assert m["amplitude_ratio"] == pytest.approx(G, abs=1e-9)
    assert m["gauge_corrected_ratio"] == pytest.approx(1.0, abs=1e-9)
    assert m["mae"] == pytest.approx(0.0, abs=1e-9)


def test_amplitude_metrics_bias_is_log_of_excess():
    G = 0.3
    truth, covered = _truth_and_cover(2)
    stitched = np.where(covered, 1.1 * G * truth, 0.0)
    m = metrics.amplitude_metrics(stitched, truth, covered, gauge=G)
    assert m["amplitude_ratio"] == pytest.approx(1.1 * G, abs=1e-9)
    assert m["gauge_corrected_ratio"] == pytest.approx(1.1, abs=1e-9)
    assert m["amplitude_bias"] == pytest.approx(math.log(1.1), abs=1e-9)
    # an undershoot by the same factor has the same bias
    m2 = metrics.amplitude_metrics(np.where(covered, G * truth / 1.1, 0.0), truth, covered, gauge=G)
    assert m2["amplitude_bias"] == pytest.approx(math.log(1.1), abs=1e-9)


def test_expected_gauge_formula():
    assert metrics.expected_gauge(0.5, 2.0, 3.0, math.log(6.0)) == pytest.approx(0.5)
    assert metrics.expected_gauge(1.0, 1.0, 988.0, math.log(988.0)) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------
# FRC
# ---------------------------------------------------------------------------------------


def test_frc_of_image_with_itself_is_one():
    rng = np.random.default_rng(3)
    img = rng.normal(size=(64, 64)) + make_lines_objects(64, 1, 2)[0]
    curve = metrics.frc_curve(img, img)
    assert curve.shape == (32,)
    f = np.fft.fftshift(np.fft.fft2(img))
    y, x = np.indices(img.shape)
    r = np.hypot(y - 32, x - 32).astype(int).ravel()
    power = np.bincount(r, (np.abs(f) ** 2).ravel())[:32]
    has_power = power > 0
    assert has_power.all()
    np.testing.assert_allclose(curve[has_power], 1.0, rtol=1e-12)


def test_frc_threshold_interpolates_first_crossing():
    assert metrics.frc_threshold(np.array([1.0, 0.9, 0.7, 0.3, 0.1])) == pytest.approx(2.5)
    # a later recovery above the threshold does not matter: the first crossing counts
    assert metrics.frc_threshold(np.array([1.0, 0.8, 0.4, 0.9, 0.2])) == pytest.approx(1 + 0.3 / 0.4)
    # exactly at the threshold is not below it
    assert metrics.frc_threshold(np.array([1.0, 0.5, 0.2])) == pytest.approx(1.0)
    assert metrics.frc_threshold(np.array([1.0, 0.9, 0.1]), threshold=0.2) == pytest.approx(1.875)
    assert math.isnan(metrics.frc_threshold(np.array([1.0, 0.8, 0.6, 0.55])))


def test_frc_against_independent_noise_crosses_early():
    img = make_lines_objects(64, 1, 2)[0].astype(np.float64)
    rng = np.random.default_rng(4)
    noise = rng.uniform(0.0, 1.0, img.shape)
    assert metrics.frc_threshold(metrics.frc_curve(img, noise)) < 3.0
    # contrast: the same image with slight noise never drops below 0.5
    slightly = img + 0.01 * rng.normal(size=img.shape)
    f = metrics.frc_threshold(metrics.frc_curve(img, slightly))
    assert math.isnan(f) or f > 20


# ---------------------------------------------------------------------------------------
# the whole evaluation chain on a perfect object
# ---------------------------------------------------------------------------------------


def test_truth_object_through_reassembly_and_stitching_gives_unit_ratio():
    """Truth patches (as the model's head produces them) -> reassemble -> crop -> stitch_grid.

    Legacy grid layout: N=64, gridsize 2, offset 4, outer_offset 8 on a 96-pixel object:
    groups are bigN=68 windows on a stride of 4 (8×8 groups); channel c sits at
    ``(c // 2, c % 2) · offset`` inside its group with ``coords_relative = 2 − corner``.
    The mosaic's pixel (R, C) is the truth's (R + 32, C + 32) (= bigN/2 − step/2).
    """
    N, gs, offset, outer, P = 64, 2, 4, 8, 78
    truth = make_lines_objects(96, 1, 1)[0].astype(np.float64)
    bigN = N + (gs - 1) * offset
    stride = outer // 2
    n = (truth.shape[0] - bigN) // stride + 1
    corners = np.array([[0, 0], [0, offset], [offset, 0], [offset, offset]])  # (row, col)
    rel = bigN / 2 - (corners + N / 2)  # (C, [row, col])
    coords_relative = np.broadcast_to(
        np.stack([rel[:, 1], rel[:, 0]])[None, None], (n * n, 1, 2, gs * gs)
    ).astype(np.float32)
    mask = phys.central_mask(N)
    patches = np.empty((n * n, N, N, gs * gs), np.complex64)
    for g in range(n * n):
        oy, ox = (g // n) * stride, (g % n) * stride
        for c, (cy, cx) in enumerate(corners):
            patches[g, :, :, c] = truth[oy + cy : oy + cy + N, ox + cx : ox + cx + N] * mask
    canvas = phys.reassemble_patches(tf.constant(patches), tf.constant(coords_relative), P)
    trimmed = phys.center_crop(canvas, N).numpy()[..., 0]
    mosaic = np.abs(stitch_grid(trimmed, n, n, outer))
    off = bigN // 2 - stride // 2
    window = truth[off : off + mosaic.shape[0], off : off + mosaic.shape[1]]
    # pixel by pixel, up to the overlap normaliser 4/(4 + 0.001)
    np.testing.assert_allclose(mosaic, window, rtol=1e-3)
    m = metrics.amplitude_metrics(mosaic, window, np.ones(window.shape, bool), gauge=1.0)
    assert abs(m["gauge_corrected_ratio"] - 1.0) < 1e-3
    assert m["coverage"] == 1.0
    assert m["pearson"] > 0.999


# ---------------------------------------------------------------------------------------
# hand-computed small cases (issue 10: each number against a formula written out here)
# ---------------------------------------------------------------------------------------


def _explicit_bilinear(crop, x, y, M, shape):
    """Shift-and-sum of one M×M crop whose pixel (M//2, M//2) sits at (x, y), written pixel by
    pixel: crop pixel (i, j) lands at row top+i, col left+j with top = y − M//2; its value is
    split over the 4 neighbours with weights (1−fr)(1−fc), (1−fr)fc, fr(1−fc), fr·fc."""
    top, left = y - M // 2, x - M // 2
    r0, c0 = math.floor(top), math.floor(left)
    fr, fc = top - r0, left - c0
    acc, weight = np.zeros(shape), np.zeros(shape)
    for i in range(M):
        for j in range(M):
            for dr, wr in ((0, 1 - fr), (1, fr)):
                for dc, wc in ((0, 1 - fc), (1, fc)):
                    r, c = r0 + i + dr, c0 + j + dc
                    if 0 <= r < shape[0] and 0 <= c < shape[1]:
                        acc[r, c] += crop[i, j] * wr * wc
                        weight[r, c] += wr * wc
    return acc, weight


@pytest.mark.parametrize("x,y", [(3.25, 3.5), (4.75, 2.125), (1.5, 6.0)])
def test_stitch_positions_one_patch_fractional_by_hand(x, y):
    N, M, shape = 8, 4, (9, 10)
    patch = np.arange(N * N, dtype=np.float64).reshape(N, N) + 1.0
    crop = patch[N // 2 - M // 2 : N // 2 + M // 2, N // 2 - M // 2 : N // 2 + M // 2]
    image, weight = stitch_positions(patch[None], np.array([[x, y]]), shape, M=M)
    acc, expected_weight = _explicit_bilinear(crop, x, y, M, shape)
    np.testing.assert_allclose(weight, expected_weight, rtol=0, atol=1e-12)
    covered = expected_weight > 1e-6
    np.testing.assert_allclose(image[covered], (acc / (expected_weight + 1e-9))[covered], rtol=2e-7)
    assert np.all(image[~covered] == 0) and image.dtype == np.float32


def test_stitch_positions_original_denominator_guard():
    """A pixel reached with weight 1e-5 is divided by 1e-5 + 1e-9 (reassemble_position's guard)."""
    fc = 1e-5
    patch = np.full((1, 8, 8), 3.0)
    image, weight = stitch_positions(patch, np.array([[4.0 + fc, 4.0]]), (8, 8), M=4)
    assert weight[2, 6] == pytest.approx(fc, rel=1e-9)
    assert image[2, 6] == pytest.approx(3.0 * fc / (fc + 1e-9), rel=1e-6)
    assert image[2, 6] != pytest.approx(3.0 * fc / (fc - 1e-9), rel=1e-6)


def test_stitch_positions_default_crop_is_20_and_uncovered_weight_is_zero():
    image, weight = stitch_positions(np.ones((1, 64, 64)), np.array([[30.0, 30.0]]), (64, 64))
    assert weight.sum() == 400 and (weight > 0).sum() == 400
    assert weight[20:40, 20:40].min() == 1 and np.all(weight[:20] == 0) and np.all(weight[:, 40:] == 0)


def test_window_of_coverage_bounding_box():
    from ptychobench.evaluation.stitching import window_of_coverage

    weight = np.zeros((7, 9))
    weight[2, 3] = 0.5
    weight[4, 6] = 2.0
    assert window_of_coverage(weight) == (slice(2, 5), slice(3, 7))
    weight[0, 8] = 1e-3
    assert window_of_coverage(weight) == (slice(0, 5), slice(3, 9))


def _metrics_by_hand(stitched, truth, covered, gauge, win):
    p, t = stitched[covered], truth[covered]
    aligned = np.where(covered, stitched * t.mean() / p.mean(), 0.0)
    t_masked = np.where(covered, truth, 0.0)
    data_range = t.max() - t.min()
    mse = np.mean((t_masked - aligned) ** 2)
    pearson = np.sum((p - p.mean()) * (t - t.mean())) / math.sqrt(
        np.sum((p - p.mean()) ** 2) * np.sum((t - t.mean()) ** 2))
    from skimage.metrics import structural_similarity

    return {
        "coverage": covered.sum() / covered.size,
        "amplitude_ratio": p.mean() / t.mean(),
        "amplitude_ratio_ls": np.sum(p * t) / np.sum(t * t),
        "expected_gauge": gauge,
        "gauge_corrected_ratio": p.mean() / t.mean() / gauge,
        "amplitude_bias": abs(math.log(p.mean() / t.mean() / gauge)),
        "pearson": pearson,
        "mae": np.mean(np.abs(aligned[covered] - t)),
        "mae_flat": np.mean(np.abs(t - t.mean())),
        "psnr": 10 * math.log10(data_range**2 / mse),
        "ssim": structural_similarity(t_masked, aligned, data_range=data_range, win_size=win),
        "stitched_mean": p.mean(),
        "truth_mean": t.mean(),
    }


@pytest.mark.parametrize("size,win", [(10, 7), (6, 5), (5, 5)])
def test_amplitude_metrics_by_hand(size, win):
    """Every metric against its formula on a small noisy case with uncovered garbage; the SSIM
    window is 7, or the largest odd size that fits a smaller image."""
    rng = np.random.default_rng(size)
    truth = rng.uniform(1.0, 3.0, (size, size))
    covered = np.zeros((size, size), bool)
    covered[1:, : size - 1] = True
    stitched = np.where(covered, 0.4 * truth + rng.normal(0, 0.05, truth.shape), 9.0)
    got = metrics.amplitude_metrics(stitched, truth, covered, gauge=0.5)
    want = _metrics_by_hand(stitched, truth, covered, 0.5, win)
    assert set(got) == set(want) | {"frc50"}
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_amplitude_metrics_of_an_empty_reconstruction():
    truth = np.arange(1.0, 17.0).reshape(4, 4)
    m = metrics.amplitude_metrics(np.zeros((4, 4)), truth, np.ones((4, 4), bool), gauge=1.0)
    assert m["amplitude_ratio"] == 0.0 and m["amplitude_bias"] == math.inf and math.isnan(m["pearson"])


def test_frc_curve_rings_by_hand_odd_size():
    """Ring k holds the frequencies at integer distance k from the centre pixel (h//2, w//2)."""
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(9, 11)), rng.normal(size=(9, 11))
    fa, fb = np.fft.fftshift(np.fft.fft2(a)), np.fft.fftshift(np.fft.fft2(b))
    rings = 4
    num, da, db = np.zeros(rings), np.zeros(rings), np.zeros(rings)
    for y in range(9):
        for x in range(11):
            k = int(math.hypot(y - 4, x - 5))
            if k < rings:
                num[k] += (fa[y, x] * np.conj(fb[y, x])).real
                da[k] += abs(fa[y, x]) ** 2
                db[k] += abs(fb[y, x]) ** 2
    np.testing.assert_allclose(metrics.frc_curve(a, b), num / np.sqrt(da * db), rtol=1e-10)


def test_frc_threshold_plateau_and_flat_start():
    # a plateau exactly at the threshold is not below it: the crossing is the later ring
    assert metrics.frc_threshold(np.array([1.0, 0.5, 0.5, 0.2])) == pytest.approx(2.0)
    # already below at ring 0 and flat: ring 1, no interpolation through a zero slope
    assert metrics.frc_threshold(np.array([0.3, 0.3, 0.1])) == 1.0


def test_amplitude_metrics_flat_truth_uses_unit_data_range():
    """A constant truth has no range; PSNR then uses a data range of 1 (written out)."""
    truth = np.full((8, 8), 2.0)
    covered = np.ones((8, 8), bool)
    stitched = truth + np.linspace(-0.1, 0.1, 64).reshape(8, 8)
    m = metrics.amplitude_metrics(stitched, truth, covered, gauge=1.0)
    aligned = stitched * (2.0 / stitched.mean())
    assert m["psnr"] == pytest.approx(10 * math.log10(1.0 / np.mean((truth - aligned) ** 2)), rel=1e-9)
