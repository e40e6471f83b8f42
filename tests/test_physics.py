"""Physics: lines object, probe, far-field forward model, Poisson noise, intensity scales.

The fixture arrays come from the original PtychoPINN implementation (see
``shared/fixtures/README.md``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import shared_scope

from ptychobench.physics import forward, objects, probe
from ptychobench.simulation import illumination

N = 64


@pytest.fixture(scope=shared_scope)
def norm_probe():
    return probe.normalize_probe(probe.default_probe(N, 0.7), 10.0)


def _rel_err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


# --- lines object ---------------------------------------------------------------------


def test_lines_object_reproduces_fixture(fixtures_dir):
    """Same seeded draws (integer line ends: exact) and float64 blurs whose SIMD summation
    order differs between AVX2 and AVX-512 machines: within the table's derived bound."""
    from ptychobench.parity.tables import tolerance

    ref = np.load(fixtures_dir / "lines_seed42_size392.npy")
    obj = objects.lines_object(392, np.random.RandomState(42))
    assert obj.shape == (392, 392)
    assert ref.shape == (392, 392)
    assert np.abs(obj - ref).max() <= tolerance("fixtures", "object_abs")


def test_fixture_patch_is_crop_of_object(fixtures_dir):
    full = np.load(fixtures_dir / "lines_seed42_size392.npy")
    patch = np.load(fixtures_dir / "lines_seed42_patch_r164_c164_N64.npy")
    assert np.array_equal(full[164:228, 164:228], patch)


def test_make_lines_objects_is_one_consecutive_stream():
    stack = objects.make_lines_objects(96, 2, seed=7)
    assert stack.shape == (2, 96, 96) and stack.dtype == np.float32
    rng = np.random.RandomState(7)
    first = objects.lines_object(96, rng)
    second = objects.lines_object(96, rng)
    assert np.array_equal(stack[0], first.astype(np.float32))
    assert np.array_equal(stack[1], second.astype(np.float32))
    assert not np.array_equal(stack[0], stack[1])


def test_lines_object_is_positive_and_seed_dependent():
    a = objects.lines_object(64, np.random.RandomState(1))
    b = objects.lines_object(64, np.random.RandomState(2))
    assert a.min() > 0
    assert not np.array_equal(a, b)


def test_lines_object_odd_size_has_requested_shape():
    assert objects.lines_object(65, np.random.RandomState(0)).shape == (65, 65)


# --- probe ------------------------------------------------------------------------------


def test_default_probe_raw_matches_fixture(fixtures_dir):
    ref = np.load(fixtures_dir / "probe_default_raw_N64.npy")
    raw = probe.default_probe(N, 0.7)
    assert raw.shape == (N, N)
    np.testing.assert_allclose(raw, ref, rtol=0, atol=1e-6)
    assert raw.sum() == pytest.approx(376.0, abs=1e-3)


def test_normalized_probe_matches_fixture(fixtures_dir, norm_probe):
    ref = np.load(fixtures_dir / "probe_default_norm_N64.npy")
    assert norm_probe.dtype == np.complex64
    np.testing.assert_allclose(norm_probe, ref, rtol=0, atol=1e-6)
    assert np.sum(np.abs(norm_probe) ** 2) == pytest.approx(400.819, rel=1e-5)


def test_normalized_probe_from_raw_fixture(fixtures_dir):
    raw = np.load(fixtures_dir / "probe_default_raw_N64.npy")
    ref = np.load(fixtures_dir / "probe_default_norm_N64.npy")
    np.testing.assert_allclose(probe.normalize_probe(raw, 10.0), ref, rtol=0, atol=1e-6)


def test_probe_mask_radius():
    mask = probe.probe_mask(N)
    assert mask.shape == (N, N)
    assert set(np.unique(mask)) == {0.0, 1.0}
    # centre pixels in, corners out; radius N//4 = 16 from pixel centres
    assert mask[N // 2, N // 2] == 1 and mask[0, 0] == 0
    assert mask[N // 2, N // 2 + 15] == 1  # centre distance 15.5 < 16
    assert mask[N // 2, N // 2 + 16] == 0  # centre distance 16.5
    assert mask.sum() == pytest.approx(np.pi * 16**2, rel=0.05)
    # centred between the middle four pixels: symmetric under both flips
    np.testing.assert_array_equal(mask, mask[::-1, :])
    np.testing.assert_array_equal(mask, mask[:, ::-1])


def test_normalize_probe_uses_the_mask():
    # a flat probe extends beyond the mask: only the masked area enters the norm
    flat = np.ones((N, N))
    p = probe.normalize_probe(flat, 2.0)
    fraction = probe.probe_mask(N).mean()
    np.testing.assert_allclose(np.abs(p), 1.0 / (2.0 * fraction), rtol=1e-6)


@pytest.mark.parametrize("scale", [10.0, 4.0, 1.5])
def test_normalized_probe_mean_masked_abs(scale):
    p = probe.normalize_probe(probe.default_probe(N, 0.7), scale)
    mean_masked = np.mean(np.abs(probe.probe_mask(N) * p))
    assert mean_masked == pytest.approx(1.0 / scale, rel=1e-6)


def test_normalize_probe_idempotent(norm_probe):
    again = probe.normalize_probe(norm_probe, 10.0)
    np.testing.assert_allclose(again, norm_probe, rtol=1e-6, atol=1e-7)
    # and it is not the identity on an unnormalised probe
    assert not np.allclose(probe.default_probe(N, 0.7), norm_probe)


def test_normalize_probe_complex_input():
    rng = np.random.default_rng(0)
    raw = probe.default_probe(N, 0.7) * np.exp(1j * rng.uniform(-1, 1, (N, N)))
    p = probe.normalize_probe(raw, 4.0)
    np.testing.assert_allclose(np.angle(p), np.angle(raw), atol=1e-5)
    assert np.mean(np.abs(probe.probe_mask(N) * p)) == pytest.approx(0.25, rel=1e-6)


# --- far field ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [32, 64])
def test_parseval(n):
    rng = np.random.default_rng(n)
    psi = (rng.normal(size=(5, n, n)) + 1j * rng.normal(size=(5, n, n))) * 3.0
    A = forward.far_field_amplitude(psi)
    assert A.dtype == np.float32 and A.shape == (5, n, n)
    lhs = np.sum(A.astype(np.float64) ** 2, axis=(1, 2))
    rhs = np.sum(np.abs(psi.astype(np.complex64)) ** 2, axis=(1, 2))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)


def test_fixture_diffraction(fixtures_dir, norm_probe):
    patch = np.load(fixtures_dir / "lines_seed42_patch_r164_c164_N64.npy")
    ref = np.load(fixtures_dir / "diffamp_noiseless_lines42_patch164_probeNorm_N64.npy")
    A = forward.far_field_amplitude(norm_probe * patch)
    assert A.shape == (N, N)
    assert _rel_err(A, ref) <= 1e-5
    assert np.unravel_index(np.argmax(A), A.shape) == (32, 32)
    assert np.sum(A.astype(np.float64) ** 2) == pytest.approx(2597.134, rel=1e-5)


@pytest.mark.parametrize("n", [64, 33])
def test_zero_frequency_at_centre(n):
    A = forward.far_field_amplitude(np.full((n, n), 2.0 + 0j))
    expected = np.zeros((n, n), dtype=np.float32)
    expected[n // 2, n // 2] = 2.0 * n  # sqrt(|2 n^2|^2 / n^2)
    np.testing.assert_allclose(A, expected, atol=1e-4)


def test_plane_wave_lands_at_centre_plus_k():
    n, ky, kx = 64, 3, -5
    r = np.arange(n)
    psi = np.exp(2j * np.pi * (ky * r[:, None] + kx * r[None, :]) / n)
    A = forward.far_field_amplitude(psi)
    assert np.unravel_index(np.argmax(A), A.shape) == (n // 2 + ky, n // 2 + kx)


def test_far_field_batched_equals_single():
    rng = np.random.default_rng(3)
    psi = rng.normal(size=(2, 3, 16, 16)) + 1j * rng.normal(size=(2, 3, 16, 16))
    batched = forward.far_field_amplitude(psi)
    np.testing.assert_allclose(batched[1, 2], forward.far_field_amplitude(psi[1, 2]), rtol=1e-6)


# --- Poisson ------------------------------------------------------------------------


def test_poisson_mean_and_variance_at_known_dose():
    lam = 1e4
    amp = np.full(200_000, np.sqrt(lam))
    counts = forward.poisson_amplitude(amp, np.random.default_rng(123)).astype(np.float64) ** 2
    assert counts.mean() == pytest.approx(lam, rel=0.01)
    assert counts.var() == pytest.approx(lam, rel=0.01)
    # counts are integers
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-2)


def test_poisson_seeded_and_shape_preserving():
    amp = np.abs(np.random.default_rng(0).normal(size=(4, 8, 8))) * 5
    a = forward.poisson_amplitude(amp, np.random.default_rng(9))
    b = forward.poisson_amplitude(amp, np.random.default_rng(9))
    c = forward.poisson_amplitude(amp, np.random.default_rng(10))
    assert a.shape == amp.shape and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


# --- intensity scales ---------------------------------------------------------------


def test_closed_form_intensity_scale():
    assert forward.closed_form_intensity_scale(1e9, 64) == pytest.approx(988.2117688, rel=1e-9)
    assert forward.closed_form_intensity_scale(1e6, 128) == pytest.approx(1000.0 / 64, rel=1e-12)


def test_dataset_intensity_scale_formula():
    energy = np.array([1.0, 2.0, 3.0, 10.0])
    assert forward.dataset_intensity_scale(energy, 1e6) == pytest.approx(
        np.sqrt(1e6 / 4.0), rel=1e-12
    )


def test_dataset_intensity_scale_fixture(fixtures_dir):
    patch = np.load(fixtures_dir / "lines_seed42_patch_r164_c164_N64.npy")
    p = np.load(fixtures_dir / "probe_default_norm_N64.npy")
    energy = np.sum(np.abs(p.astype(np.complex128) * patch) ** 2)
    assert energy == pytest.approx(2597.134068685348, rel=1e-6)
    s = forward.dataset_intensity_scale(np.array([energy]), 1e9)
    assert s == pytest.approx(620.5157586914946, rel=1e-6)


# --- the X/s symmetry -----------------------------------------------------------------


@pytest.fixture(scope=shared_scope)
def patches():
    rng = np.random.default_rng(5)
    return rng.uniform(0.5, 3.0, size=(12, 1, N, N)).astype(np.float32)


def test_noiseless_counts_sum_to_nphotons(patches, norm_probe):
    nphotons = 1e6
    X, illuminated, s = illumination.illuminate_and_diffract(
        patches, norm_probe, nphotons, seed=0, noise=False
    )
    per_pattern = np.sum((s * X.astype(np.float64)) ** 2, axis=(1, 2, 3))
    assert per_pattern.mean() == pytest.approx(nphotons, rel=1e-5)
    # but not per pattern: the patches have different energies
    assert per_pattern.std() / per_pattern.mean() > 1e-3


def test_noisy_counts_sum_to_nphotons_on_average(patches, norm_probe):
    nphotons = 1e6
    X, _, s = illumination.illuminate_and_diffract(patches, norm_probe, nphotons, seed=1)
    counts = (s * X.astype(np.float64)) ** 2
    assert counts.sum(axis=(1, 2, 3)).mean() == pytest.approx(nphotons, rel=1e-3)
    small = counts[counts < 1000]  # float32 round trip is exact enough to see integers here
    assert small.size > 1000
    np.testing.assert_allclose(small, np.round(small), atol=1e-2)


def test_noiseless_X_is_far_field_of_P_times_O(patches, norm_probe):
    X, illuminated, _ = illumination.illuminate_and_diffract(
        patches, norm_probe, 1e6, seed=0, noise=False
    )
    direct = forward.far_field_amplitude(patches[:, 0] * norm_probe)
    assert X.shape == (12, N, N, 1)
    assert _rel_err(X[..., 0], direct) <= 1e-6
    np.testing.assert_allclose(illuminated[..., 0], np.abs(patches[:, 0] * norm_probe), rtol=1e-6)


def test_dataset_scale_of_illuminate(patches, norm_probe):
    _, _, s = illumination.illuminate_and_diffract(patches, norm_probe, 1e6, seed=0, noise=False)
    energy = np.sum(np.abs(patches[:, 0].astype(np.float64) * norm_probe) ** 2, axis=(1, 2))
    assert s == pytest.approx(np.sqrt(1e6 / energy.mean()), rel=1e-6)


def test_noiseless_X_independent_of_dose_and_given_scale(patches, norm_probe):
    X1, _, s1 = illumination.illuminate_and_diffract(patches, norm_probe, 1e4, seed=0, noise=False)
    X2, _, s2 = illumination.illuminate_and_diffract(patches, norm_probe, 1e9, seed=0, noise=False)
    X3, _, s3 = illumination.illuminate_and_diffract(
        patches, norm_probe, 1e9, seed=0, intensity_scale=123.0, noise=False
    )
    assert s2 == pytest.approx(s1 * np.sqrt(1e5), rel=1e-6)
    assert s3 == 123.0
    assert np.array_equal(X1, X2)
    assert np.array_equal(X1, X3)


def test_object_scaling_leaves_X_times_s_invariant(patches, norm_probe):
    k = 3.0
    X1, _, s1 = illumination.illuminate_and_diffract(patches, norm_probe, 1e6, seed=0, noise=False)
    Xk, _, sk = illumination.illuminate_and_diffract(
        patches * np.float32(k), norm_probe, 1e6, seed=0, noise=False
    )
    assert sk == pytest.approx(s1 / k, rel=1e-6)  # s absorbs the object scale
    np.testing.assert_allclose(Xk, k * X1, rtol=1e-5, atol=1e-6 * Xk.max())  # X is |F(PO)|/N
    np.testing.assert_allclose(sk * Xk, s1 * X1, rtol=1e-5, atol=1e-6 * (s1 * X1).max())


def test_given_intensity_scale_is_used_for_noise(patches, norm_probe):
    # a given s sets the dose (s^2 * energy ~ 1.4e3 counts), not nphotons (1e9)
    X, _, s = illumination.illuminate_and_diffract(
        patches, norm_probe, 1e9, seed=0, intensity_scale=1.0
    )
    assert s == 1.0
    counts = (s * X.astype(np.float64)) ** 2
    expected = np.sum(np.abs(patches[:, 0] * norm_probe) ** 2, axis=(1, 2)).mean() * s**2
    assert 500 < expected < 5000
    assert counts.sum(axis=(1, 2, 3)).mean() == pytest.approx(expected, rel=0.05)
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-3)


# --- hand-computed cases (issue 10: mutation survivors) -----------------------------------


def test_dataset_intensity_scale_averages_in_float64():
    """float32 energies whose float32 mean rounds (2²⁴ + 1 is not a float32): the scale uses
    the exact mean, sqrt(1e6 / 8388608.5)."""
    energy = np.array([1.0, 2.0**24], np.float32)
    assert forward.dataset_intensity_scale(energy, 1e6) == pytest.approx(math.sqrt(1e6 / 8388608.5), rel=1e-12)


def test_default_probe_default_scale_and_positive_floor(fixtures_dir):
    """The default argument is the original's default_probe_scale 0.7, and the +1e-9 offset
    keeps the probe strictly positive where the blurred disk is exactly 0."""
    raw = np.load(fixtures_dir / "probe_default_raw_N64.npy")
    p = probe.default_probe(N)
    np.testing.assert_allclose(p, raw, rtol=1e-6, atol=1e-12)
    assert p.min() == pytest.approx(1e-9, rel=1e-6)


@pytest.mark.parametrize("n", [8, 64])
def test_probe_mask_radius_quarter_from_pixel_centres(n):
    """Pixel (r, c) is inside when hypot(r − n/2 + ½, c − n/2 + ½) < n/4, written out."""
    m = probe.probe_mask(n)
    want = np.array([[math.hypot(r - n / 2 + 0.5, c - n / 2 + 0.5) < n / 4 for c in range(n)] for r in range(n)])
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, want.astype(np.float32))
