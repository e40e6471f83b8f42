"""Simulation: legacy grid, modern non-grid, K-NN grouping, normalize_data, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_scope
from scipy.spatial import cKDTree

from ptychobench.errors import ConfigError
from ptychobench.physics import forward, probe
from ptychobench.simulation import grouping, illumination, legacy_grid, nongrid, normalization

N = 64
GS = 2
OFFSET = 4
OUTER = 20  # stride 10
SIZE = 128


@pytest.fixture(scope=shared_scope)
def norm_probe():
    return probe.normalize_probe(probe.default_probe(N, 0.7), 10.0)


@pytest.fixture(scope=shared_scope)
def grid_objects():
    """Two smooth-ish, asymmetric, positive objects (2, SIZE, SIZE)."""
    rng = np.random.default_rng(11)
    ramp = np.linspace(0.5, 2.0, SIZE)[None, None, :] * np.linspace(1.0, 1.5, SIZE)[None, :, None]
    return (rng.uniform(0.5, 4.0, size=(2, SIZE, SIZE)) * ramp).astype(np.float32)


@pytest.fixture(scope=shared_scope)
def grid_noiseless(grid_objects, norm_probe):
    return legacy_grid.simulate_grid(
        grid_objects,
        norm_probe,
        N=N,
        gridsize=GS,
        offset=OFFSET,
        outer_offset=OUTER,
        nphotons=1e6,
        seed=1,
        noise=False,
    )


def _grid(objects, probe_, seed, noise=True):
    data, _ = legacy_grid.simulate_grid(
        objects, probe_, N=N, gridsize=GS, offset=OFFSET, outer_offset=OUTER,
        nphotons=1e6, seed=seed, noise=noise,
    )
    return data


# --- legacy grid layout ---------------------------------------------------------------


@pytest.mark.parametrize("outer,per_axis", [(8, 82), (20, 33)])
def test_groups_per_axis_dose_sizes(outer, per_axis):
    layout = legacy_grid.grid_layout(2, 392, N, GS, OFFSET, outer)
    assert layout.bigN == 68
    assert layout.stride == outer // 2
    assert (layout.ny, layout.nx) == (per_axis, per_axis)
    assert layout.n_groups == 2 * per_axis**2


@pytest.mark.parametrize("size,N_,gs,off,outer", [(128, 64, 2, 4, 20), (100, 64, 1, 4, 8), (300, 128, 2, 4, 6)])
def test_groups_per_axis_formula(size, N_, gs, off, outer):
    bigN = N_ + (gs - 1) * off
    layout = legacy_grid.grid_layout(1, size, N_, gs, off, outer)
    assert layout.ny == (size - bigN) // (outer // 2) + 1


def test_grid_layout_object_too_small():
    with pytest.raises(ConfigError) as info:
        legacy_grid.grid_layout(1, 60, 64, 2, 4, 8)
    assert info.value.field == "size"


def test_channel_offsets_row_major():
    corners = legacy_grid.channel_offsets(2, OFFSET)
    assert corners.tolist() == [[0, 0], [0, 4], [4, 0], [4, 4]]
    corners3 = legacy_grid.channel_offsets(3, 5)
    assert corners3[5].tolist() == [5, 10]  # c=5 -> row 1, col 2


def test_grid_shapes_and_group_order(grid_noiseless):
    data, layout = grid_noiseless
    assert (layout.ny, layout.nx) == (7, 7)
    assert data.X.shape == (2 * 49, N, N, 4)
    assert data.Y_I.shape == data.X.shape
    assert data.coords_offsets.shape == (98, 1, 2, 1)
    assert data.coords_relative.shape == (98, 1, 2, 4)
    assert data.coords_nn.shape == (98, 1, 2, 4)
    assert data.image_index.tolist() == [0] * 49 + [1] * 49


def _expected_channel(objects, norm_probe, norm, img, gy, gx, c, stride):
    r = gy * stride + (c // GS) * OFFSET
    col = gx * stride + (c % GS) * OFFSET
    patch = objects[img, r : r + N, col : col + N] * np.float32(1.0 / norm)
    return forward.far_field_amplitude(norm_probe * patch), np.abs(norm_probe * patch)


@pytest.mark.parametrize("g", [0, 8, 13, 49 + 20])
def test_row_major_channel_order(grid_objects, norm_probe, grid_noiseless, g):
    data, layout = grid_noiseless
    norm = data.scale_factors["norm_Y_I"]
    img, rem = divmod(g, layout.ny * layout.nx)
    gy, gx = divmod(rem, layout.nx)
    expected = [
        _expected_channel(grid_objects, norm_probe, norm, img, gy, gx, c, layout.stride)
        for c in range(4)
    ]
    for c in range(4):
        amp, illum = expected[c]
        tol = 1e-5 * amp.max()
        np.testing.assert_allclose(data.X[g, :, :, c], amp, rtol=1e-5, atol=tol)
        np.testing.assert_allclose(data.Y_I[g, :, :, c], illum, rtol=1e-5, atol=1e-6)
    # the test discriminates: column-major order (channels 1 and 2 swapped) would not match
    assert not np.allclose(data.X[g, :, :, 1], expected[2][0], rtol=1e-5, atol=1e-5 * expected[2][0].max())


def test_coords_relative_sign_convention(grid_noiseless):
    data, _ = grid_noiseless
    rel = data.coords_relative
    for g in (0, 17, 97):
        assert rel[g, 0, 0].tolist() == [2.0, -2.0, 2.0, -2.0]  # x
        assert rel[g, 0, 1].tolist() == [2.0, 2.0, -2.0, -2.0]  # y


def test_coords_offsets_are_group_centres_x_is_column(grid_noiseless):
    data, layout = grid_noiseless
    # group 1 is (gy=0, gx=1); group 7 is (gy=1, gx=0); group 49 is image 1's first
    half = layout.bigN / 2
    assert data.coords_offsets[1, 0, :, 0].tolist() == [layout.stride + half, half]
    assert data.coords_offsets[7, 0, :, 0].tolist() == [half, layout.stride + half]
    assert data.coords_offsets[49, 0, :, 0].tolist() == [half, half]


def test_coords_nn_is_offsets_minus_relative(grid_noiseless):
    data, layout = grid_noiseless
    np.testing.assert_array_equal(data.coords_nn, data.coords_offsets - data.coords_relative)
    # and it is the centre pixel of the patch actually cut for that channel
    g, c = 8, 1  # gy=1, gx=1; channel 1 = row 0, col 1
    x = layout.stride + OFFSET + N / 2
    y = layout.stride + 0 + N / 2
    assert data.coords_nn[g, 0, :, c].tolist() == [x, y]


def test_gridsize1_relative_coords_zero(grid_objects, norm_probe):
    data, _ = legacy_grid.simulate_grid(
        grid_objects[:1], norm_probe, N=N, gridsize=1, offset=OFFSET, outer_offset=OUTER,
        nphotons=1e6, seed=0, noise=False,
    )
    assert data.X.shape[-1] == 1
    assert np.all(data.coords_relative == 0)


def test_clipped_truth_size_dose_test_set():
    truth = legacy_grid.clipped_truth(np.zeros((1, 392, 392), np.float32), N, GS, OFFSET, 20)
    assert truth.shape == (1, 330, 330)
    assert truth.shape[1] == 33 * 10  # = ny * outer/2, the stitched mosaic


def test_clipped_truth_content_offset():
    size = 392
    rows = np.arange(size, dtype=np.float32)
    obj = (rows[:, None] * 1000 + rows[None, :])[None]
    truth = legacy_grid.clipped_truth(obj, N, GS, OFFSET, 20)
    # extra = (392-68) % 10 = 4 dropped at the end; clip = (64-10)//2 + 4//2 = 29
    assert truth[0, 0, 0] == 29 * 1000 + 29
    assert truth[0, -1, -1] == (29 + 329) * 1000 + (29 + 329)


def test_norm_Y_I_is_mean_of_group_maxima(grid_objects, grid_noiseless):
    data, layout = grid_noiseless
    maxima = []
    for img in range(2):
        for gy in range(layout.ny):
            for gx in range(layout.nx):
                r, c = gy * layout.stride, gx * layout.stride
                maxima.append(grid_objects[img, r : r + layout.bigN, c : c + layout.bigN].max())
    expected = np.mean(maxima, dtype=np.float64)
    assert data.scale_factors["norm_Y_I"] == pytest.approx(expected, rel=1e-7)
    assert legacy_grid.object_normalization(grid_objects, layout) == pytest.approx(expected, rel=1e-7)
    # neither the global maximum nor the mean of the whole object
    assert expected < 0.95 * grid_objects.max()
    assert expected > 1.5 * grid_objects.mean()


def _direct_scale(objects, probe_, layout, norm, nphotons=1e6):
    """sqrt(nphotons / mean Σ|P·O/norm|²) over every channel patch, cut out group by group."""
    p2 = np.abs(probe_.astype(np.complex128)) ** 2
    energies = []
    for g in range(layout.n_groups):
        img, rem = divmod(g, layout.ny * layout.nx)
        gy, gx = divmod(rem, layout.nx)
        for c in range(GS * GS):
            r = gy * layout.stride + (c // GS) * OFFSET
            col = gx * layout.stride + (c % GS) * OFFSET
            patch = objects[img, r : r + N, col : col + N].astype(np.float64) / norm
            energies.append(np.sum(p2 * patch**2))
    return np.sqrt(nphotons / np.mean(energies))


def test_legacy_dataset_scale_direct(grid_objects, norm_probe, grid_noiseless):
    data, layout = grid_noiseless
    s_direct = _direct_scale(grid_objects, norm_probe, layout, data.scale_factors["norm_Y_I"])
    assert data.scale_factors["s_sim"] == pytest.approx(s_direct, rel=1e-5)
    # and the noiseless counts average to nphotons with it
    counts = np.sum((data.scale_factors["s_sim"] * data.X.astype(np.float64)) ** 2, axis=(1, 2))
    assert counts.mean() == pytest.approx(1e6, rel=1e-4)


def test_grid_reuses_given_scale_and_norm(grid_objects, norm_probe, grid_noiseless):
    data, _ = legacy_grid.simulate_grid(
        grid_objects, norm_probe, N=N, gridsize=GS, offset=OFFSET, outer_offset=OUTER,
        nphotons=1e6, seed=1, intensity_scale=55.0, norm_Y_I=2.0, noise=False,
    )
    assert data.scale_factors == {"s_sim": 55.0, "norm_Y_I": 2.0}
    ref = grid_noiseless[0]
    ratio = ref.scale_factors["norm_Y_I"] / 2.0
    np.testing.assert_allclose(data.Y_I, ref.Y_I * ratio, rtol=1e-5, atol=1e-6)


# --- modern non-grid ------------------------------------------------------------------


def test_extract_patches_integer_positions_are_crops():
    rng = np.random.default_rng(2)
    obj = rng.normal(size=(100, 120)).astype(np.float32)
    coords = np.array([[40, 50], [60, 32], [87, 67]], dtype=np.float32)  # [x, y]
    patches = nongrid.extract_patches(obj, coords, 16)
    assert patches.shape == (3, 16, 16) and patches.dtype == np.float32
    for k, (x, y) in enumerate(coords.astype(int)):
        np.testing.assert_array_equal(patches[k], obj[y - 8 : y + 8, x - 8 : x + 8])
        assert patches[k, 8, 8] == obj[y, x]  # centre pixel sits on the position


def test_extract_patches_outside_is_zero():
    obj = np.ones((40, 40), dtype=np.float32)
    patches = nongrid.extract_patches(obj, np.array([[2.0, 3.0]], np.float32), 16)
    assert np.all(patches[0, :5, :] == 0)  # rows y-8..y-4 = -5..-1
    assert np.all(patches[0, :, :6] == 0)  # cols x-8..x-3 = -6..-1
    assert np.all(patches[0, 5:, 6:] == 1)


def test_extract_patches_bilinear_half_pixel():
    rng = np.random.default_rng(3)
    obj = rng.normal(size=(64, 64))
    a = nongrid.extract_patches(obj, np.array([[30.0, 31.0]]), 8)[0]
    b = nongrid.extract_patches(obj, np.array([[31.0, 31.0]]), 8)[0]
    h = nongrid.extract_patches(obj, np.array([[30.5, 31.0]]), 8)[0]
    np.testing.assert_allclose(h, 0.5 * (a + b), rtol=1e-5, atol=1e-6)


def test_extract_patches_complex():
    obj = (np.arange(400).reshape(20, 20) * (1 + 1j)).astype(np.complex128)
    p = nongrid.extract_patches(obj, np.array([[10.0, 10.0]]), 4)
    assert p.dtype == np.complex64
    np.testing.assert_array_equal(p[0], obj[8:12, 8:12].astype(np.complex64))


def test_random_positions_in_range_and_seeded():
    a = nongrid.random_positions(500, 128, 10, seed=4)
    b = nongrid.random_positions(500, 128, 10, seed=4)
    assert a.shape == (500, 2) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert a.min() >= 10 and a.max() <= 118
    assert not np.array_equal(a, nongrid.random_positions(500, 128, 10, seed=5))


def _knn_sets(coords, k):
    _, nn = cKDTree(coords).query(coords, k=k + 1)
    return [set(row[row != i][:k].tolist()) for i, row in enumerate(nn)]


def test_grouping_members_are_knn_of_a_seed():
    coords = nongrid.random_positions(200, 128, 10, seed=0)
    idx = grouping.group_indices(coords, 60, gridsize=2, neighbor_count=4, seed=3)
    assert idx.shape == (60, 4)
    knn = _knn_sets(coords, 4)
    for members in idx:
        assert len(set(members.tolist())) == 4  # drawn without replacement (K >= C)
        assert any(set(members.tolist()) <= s for s in knn), members


def test_grouping_members_are_local():
    # guards against drawing members at random: K-NN members are close together
    coords = nongrid.random_positions(400, 400, 10, seed=1)
    idx = grouping.group_indices(coords, 100, gridsize=2, neighbor_count=4, seed=2)
    spans = np.ptp(coords[idx], axis=1).max(axis=1)
    assert spans.max() < 80


def test_grouping_few_neighbours_includes_seed_with_replacement():
    coords = nongrid.random_positions(50, 128, 10, seed=0)
    idx = grouping.group_indices(coords, 20, gridsize=2, neighbor_count=2, seed=3)
    assert idx.shape == (20, 4)
    knn = _knn_sets(coords, 2)
    for members in idx:
        m = set(members.tolist())
        assert any(m <= (knn[p] | {p}) for p in range(len(coords)))


def test_grouping_gridsize1_unique_seeds():
    coords = nongrid.random_positions(50, 128, 10, seed=0)
    idx = grouping.group_indices(coords, 50, gridsize=1, neighbor_count=4, seed=0)
    assert idx.shape == (50, 1)
    assert sorted(idx[:, 0].tolist()) == list(range(50))


@pytest.mark.parametrize("gridsize", [1, 2])
def test_grouping_too_many_groups_raises(gridsize):
    coords = nongrid.random_positions(20, 128, 10, seed=0)
    with pytest.raises(ConfigError) as info:
        grouping.group_indices(coords, 21, gridsize=gridsize, neighbor_count=4, seed=0)
    assert info.value.field == "n_groups"


def test_grouping_oversampling_allows_more_groups():
    coords = nongrid.random_positions(20, 128, 10, seed=0)
    idx = grouping.group_indices(coords, 50, 2, 4, seed=0, enable_oversampling=True)
    assert idx.shape == (50, 4)
    with pytest.raises(ConfigError):  # gridsize 1 cannot oversample
        grouping.group_indices(coords, 50, 1, 4, seed=0, enable_oversampling=True)


def test_relative_coords_sign():
    coords_nn = np.array([[[[10.0, 14.0, 10.0, 14.0], [20.0, 20.0, 26.0, 26.0]]]], np.float32)
    offsets, relative = grouping.relative_coords(coords_nn)
    assert offsets.shape == (1, 1, 2, 1)
    assert offsets[0, 0, :, 0].tolist() == [12.0, 23.0]
    assert relative[0, 0, 0].tolist() == [2.0, -2.0, 2.0, -2.0]
    assert relative[0, 0, 1].tolist() == [3.0, 3.0, -3.0, -3.0]
    np.testing.assert_array_equal(offsets - relative, coords_nn)


def test_group_gathers_patterns_by_index():
    rng = np.random.default_rng(0)
    sim = nongrid.SimulatedPatterns(
        diffraction=rng.normal(size=(10, 8, 8)).astype(np.float32),
        object_patches=rng.normal(size=(10, 8, 8)).astype(np.float32),
        coords=rng.uniform(0, 50, size=(10, 2)).astype(np.float32),
        intensity_scale=3.0,
    )
    idx = np.array([[3, 1, 4, 0], [9, 2, 6, 5]])
    g = grouping.group(sim, idx)
    assert g.X.shape == (2, 8, 8, 4)
    for b in range(2):
        for c in range(4):
            np.testing.assert_array_equal(g.X[b, :, :, c], sim.diffraction[idx[b, c]])
            np.testing.assert_array_equal(g.Y_I[b, :, :, c], np.abs(sim.object_patches[idx[b, c]]))
            np.testing.assert_array_equal(g.coords_nn[b, 0, :, c], sim.coords[idx[b, c]])
    np.testing.assert_allclose(g.coords_offsets - g.coords_relative, g.coords_nn, atol=1e-5)
    assert g.scale_factors == {"s_sim": 3.0}


def test_simulate_nongrid_noiseless(norm_probe):
    rng = np.random.default_rng(4)
    obj = rng.uniform(1, 3, size=(128, 128)).astype(np.float32)
    coords = nongrid.random_positions(20, 128, 10, seed=0)
    sim = nongrid.simulate_nongrid(obj, norm_probe, coords, nphotons=1e6, seed=0, noise=False)
    assert sim.diffraction.shape == (20, N, N)
    # labels are the raw object patches (not illuminated, not normalised)
    np.testing.assert_array_equal(sim.object_patches, nongrid.extract_patches(obj, coords, N))
    direct = forward.far_field_amplitude(sim.object_patches * norm_probe)
    np.testing.assert_allclose(sim.diffraction, direct, rtol=1e-5, atol=1e-5 * direct.max())
    counts = np.sum((sim.intensity_scale * sim.diffraction.astype(np.float64)) ** 2, axis=(1, 2))
    assert counts.mean() == pytest.approx(1e6, rel=1e-4)


# --- normalize_data -------------------------------------------------------------------


@pytest.mark.parametrize("n", [64, 32])
def test_normalize_data_mean_energy(n):
    rng = np.random.default_rng(n)
    X = rng.uniform(0, 5, size=(6, n, n, 4)).astype(np.float32)
    Xn, g = normalization.normalize_data(X, n)
    assert Xn.dtype == np.float32
    energy = np.sum(Xn.astype(np.float64) ** 2, axis=(1, 2))
    assert energy.mean() == pytest.approx((n / 2) ** 2, rel=1e-5)
    np.testing.assert_allclose(Xn, g * X, rtol=1e-6)


def test_normalize_data_independent_of_dose():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 5, size=(4, 64, 64, 1)).astype(np.float32)
    X1, g1 = normalization.normalize_data(X, 64)
    X2, g2 = normalization.normalize_data(X * np.float32(7.0), 64)
    assert g2 == pytest.approx(g1 / 7.0, rel=1e-6)
    np.testing.assert_allclose(X1, X2, rtol=1e-5)


# --- determinism ----------------------------------------------------------------------


def test_simulate_grid_bit_identical_rerun(grid_objects, norm_probe):
    a = _grid(grid_objects, norm_probe, seed=7)
    b = _grid(grid_objects, norm_probe, seed=7)
    c = _grid(grid_objects, norm_probe, seed=8)
    assert np.array_equal(a.X, b.X)
    assert np.array_equal(a.Y_I, b.Y_I)
    assert a.scale_factors == b.scale_factors
    assert not np.array_equal(a.X, c.X)
    assert np.array_equal(a.Y_I, c.Y_I)  # only the noise depends on the seed


def test_simulate_nongrid_bit_identical_rerun(norm_probe):
    rng = np.random.default_rng(6)
    obj = rng.uniform(1, 3, size=(128, 128)).astype(np.float32)
    coords = nongrid.random_positions(30, 128, 10, seed=2)
    a = nongrid.simulate_nongrid(obj, norm_probe, coords, nphotons=1e5, seed=3)
    b = nongrid.simulate_nongrid(obj, norm_probe, coords, nphotons=1e5, seed=3)
    c = nongrid.simulate_nongrid(obj, norm_probe, coords, nphotons=1e5, seed=4)
    assert np.array_equal(a.diffraction, b.diffraction)
    assert a.intensity_scale == b.intensity_scale
    assert not np.array_equal(a.diffraction, c.diffraction)


def test_group_indices_bit_identical_rerun():
    coords = nongrid.random_positions(100, 128, 10, seed=0)
    a = grouping.group_indices(coords, 40, 2, 4, seed=5)
    b = grouping.group_indices(coords, 40, 2, 4, seed=5)
    c = grouping.group_indices(coords, 40, 2, 4, seed=6)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_illuminate_thread_count_does_not_change_numbers(norm_probe, monkeypatch):
    monkeypatch.setattr(illumination, "PATTERNS_PER_BATCH", 16)  # many batches
    rng = np.random.default_rng(8)
    patches = rng.uniform(0.5, 2.0, size=(100, 1, N, N)).astype(np.float32)
    runs = [
        illumination.illuminate_and_diffract(patches, norm_probe, 1e5, seed=9, threads=t)
        for t in (1, 2, 4)
    ]
    X1, I1, s1 = runs[0]
    for X, I, s in runs[1:]:
        assert np.array_equal(X, X1)
        assert np.array_equal(I, I1)
        assert s == s1


def test_progress_hook_sees_every_batch_and_changes_nothing(norm_probe, monkeypatch):
    """``on_batch(done, total)``: 0 first, then after each batch in order; the same numbers."""
    monkeypatch.setattr(illumination, "PATTERNS_PER_BATCH", 8)  # 8 // C=4: 2 groups a batch
    patches = np.random.default_rng(8).uniform(0.5, 2.0, size=(5, 4, N, N)).astype(np.float32)
    calls = []
    hooked = illumination.illuminate_and_diffract(patches, norm_probe, 1e5, seed=9, threads=2,
                                                  on_batch=lambda done, total: calls.append((done, total)))
    plain = illumination.illuminate_and_diffract(patches, norm_probe, 1e5, seed=9, threads=2)
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert all(np.array_equal(a, b) for a, b in zip(hooked, plain))


def test_simulators_hand_the_progress_hook_on(grid_objects, norm_probe):
    grid_calls, nongrid_calls = [], []
    legacy_grid.simulate_grid(grid_objects, norm_probe, N=N, gridsize=GS, offset=OFFSET, outer_offset=OUTER,
                              nphotons=1e5, seed=1, on_batch=lambda *call: grid_calls.append(call))
    # 2 images × 7² groups ((128 − 68) // 10 + 1 = 7 per axis), all in one batch of 1024 // 4
    assert grid_calls == [(0, 98), (98, 98)]
    obj = np.random.default_rng(6).uniform(1, 3, size=(128, 128)).astype(np.float32)
    coords = nongrid.random_positions(30, 128, 10, seed=2)
    nongrid.simulate_nongrid(obj, norm_probe, coords, nphotons=1e5, seed=3,
                             on_batch=lambda *call: nongrid_calls.append(call))
    assert nongrid_calls == [(0, 30), (30, 30)]


# --- hand-computed cases and documented dtypes (issue 10: mutation survivors) -------------


def _bilinear_by_hand(obj, x, y, N):
    """patch[r, c] = O(y − N//2 + r, x − N//2 + c), bilinear, zero outside, pixel by pixel."""
    out = np.zeros((N, N), obj.dtype)
    for r in range(N):
        for c in range(N):
            yy, xx = y - N // 2 + r, x - N // 2 + c
            r0, c0 = int(np.floor(yy)), int(np.floor(xx))
            fr, fc = yy - r0, xx - c0
            for dr, wr in ((0, 1 - fr), (1, fr)):
                for dc, wc in ((0, 1 - fc), (1, fc)):
                    rr, cc = r0 + dr, c0 + dc
                    if 0 <= rr < obj.shape[0] and 0 <= cc < obj.shape[1]:
                        out[r, c] += wr * wc * obj[rr, cc]
    return out


@pytest.mark.parametrize("N", [5, 8, 32])
def test_extract_patches_bilinear_by_hand(N):
    """Fractional in both axes, and at the object's edges (where the padding must suffice)."""
    rng = np.random.default_rng(N)
    obj = rng.uniform(0.5, 2.0, (17, 19))
    coords = np.array([[7.3, 8.6], [0.25, 0.75], [18.6, 16.2], [3.0, 15.9]])
    patches = nongrid.extract_patches(obj, coords, N)
    for k, (x, y) in enumerate(coords):
        np.testing.assert_allclose(patches[k], _bilinear_by_hand(obj, x, y, N), rtol=2e-7, atol=1e-7)


def test_extract_patches_more_positions_than_one_chunk():
    obj = np.arange(40 * 40, dtype=np.float32).reshape(40, 40)
    n = 2 * nongrid.POSITION_CHUNK + 3
    coords = np.tile(np.array([[20.0, 20.0]], np.float32), (n, 1))
    coords[-1] = [10.0, 12.0]
    patches = nongrid.extract_patches(obj, coords, 4)
    np.testing.assert_array_equal(patches[-1], obj[10:14, 8:12])
    np.testing.assert_array_equal(patches[n // 2], obj[18:22, 18:22])


def test_random_positions_boundary_of_the_buffer():
    with pytest.raises(ConfigError) as info:
        nongrid.random_positions(3, 20, 10, seed=0)
    assert (info.value.field, info.value.message) == ("size", "object size 20 leaves no room inside buffer 10")
    inside = nongrid.random_positions(50, 21, 10, seed=0)
    assert inside.min() >= 10 and inside.max() <= 11


def _patterns(P=6):
    from ptychobench.simulation.data import SimulatedPatterns

    coords = np.array([[5.0, 9.0], [1.0, 3.0], [7.0, 3.0], [2.0, 8.0], [4.0, 1.0], [6.0, 5.0]], np.float32)[:P]
    return SimulatedPatterns(
        diffraction=np.arange(P, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32),
        object_patches=np.arange(P, dtype=np.float32)[:, None, None] + np.zeros((1, 2, 2), np.float32),
        coords=coords, intensity_scale=3.5,
    )


def test_split_by_axis_orders_by_y_then_cuts():
    data = _patterns()
    train, test = nongrid.split_by_axis(data)  # default: half, by y (stable for ties)
    assert train.coords[:, 1].tolist() == [1.0, 3.0, 3.0] and test.coords[:, 1].tolist() == [5.0, 8.0, 9.0]
    assert train.diffraction[:, 0, 0].tolist() == [4.0, 1.0, 2.0]
    assert train.object_patches[:, 0, 0].tolist() == [4.0, 1.0, 2.0]
    assert train.intensity_scale == test.intensity_scale == 3.5
    by_x, _ = nongrid.split_by_axis(data, 1 / 3, "x")
    assert by_x.coords[:, 0].tolist() == [1.0, 2.0]


def test_grouping_all_but_the_seed_when_k_reaches_every_other_point():
    """5 positions, K = 10: K is cut to 4 (every other point), so each group of 4 is the
    other 4 positions without repetition."""
    coords = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 5]], np.float32)
    idx = grouping.group_indices(coords, 5, gridsize=2, neighbor_count=10, seed=1)
    assert idx.dtype == np.int64 and idx.min() >= 0 and idx.max() <= 4
    for members in idx:
        assert len(set(members.tolist())) == 4
    assert sorted({(set(range(5)) - set(m.tolist())).pop() for m in idx}) == [0, 1, 2, 3, 4]


def test_grouping_with_replacement_draws_the_seed_too():
    coords = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    idx = grouping.group_indices(coords, 40, gridsize=2, neighbor_count=4, seed=0, enable_oversampling=True)
    assert any(len(set(m.tolist())) == 3 for m in idx)  # the seed and both neighbours in one group


def test_grouping_refusal_message():
    coords = nongrid.random_positions(20, 128, 10, seed=0)
    with pytest.raises(ConfigError) as info:
        grouping.group_indices(coords, 21, gridsize=2, neighbor_count=4, seed=0)
    assert info.value.message == "21 groups requested from 20 positions (set enable_oversampling for gridsize > 1)"


def test_grouped_data_has_the_documented_dtypes(grid_objects, norm_probe):
    """float64 inputs still give the documented layout: float32 arrays, int32 image index."""
    data, _ = legacy_grid.simulate_grid(
        grid_objects.astype(np.float64), norm_probe.astype(np.complex128), N=N, gridsize=GS, offset=OFFSET,
        outer_offset=OUTER, nphotons=1e6, seed=1, noise=False,
    )
    coords = nongrid.random_positions(30, 128, 34, seed=0).astype(np.float64)
    sim = nongrid.simulate_nongrid(grid_objects[0].astype(np.float64), norm_probe, coords, nphotons=1e6, seed=0)
    idx = grouping.group_indices(sim.coords, 10, gridsize=2, neighbor_count=4, seed=0)
    grouped = grouping.group(sim, idx)
    for g in (data, grouped):
        assert {k: getattr(g, k).dtype for k in ("X", "Y_I", "coords_offsets", "coords_relative", "coords_nn")} == {
            k: np.float32 for k in ("X", "Y_I", "coords_offsets", "coords_relative", "coords_nn")}
        assert g.image_index.dtype == np.int32 and g.image_index.shape == (g.X.shape[0],)
    assert sim.object_patches.dtype == np.float32 and sim.diffraction.dtype == np.float32


def test_with_X_keeps_every_other_field(grid_noiseless):
    data, _ = grid_noiseless
    new = data.with_X(data.X * 2, g=3.0)
    for name in ("Y_I", "coords_offsets", "coords_relative", "image_index", "coords_nn"):
        assert getattr(new, name) is getattr(data, name), name
    assert new.scale_factors == {**data.scale_factors, "g": 3.0}
    np.testing.assert_array_equal(new.X, data.X * 2)


def test_simulate_grid_draws_poisson_noise_by_default(grid_objects, norm_probe):
    kwargs = dict(N=N, gridsize=GS, offset=OFFSET, outer_offset=OUTER, nphotons=1e6, seed=1)
    noisy, _ = legacy_grid.simulate_grid(grid_objects, norm_probe, **kwargs)
    clean, _ = legacy_grid.simulate_grid(grid_objects, norm_probe, noise=False, **kwargs)
    assert not np.array_equal(noisy.X, clean.X)


def test_grid_layout_object_exactly_one_group():
    layout = legacy_grid.grid_layout(1, 68, N, GS, OFFSET, OUTER)  # size == bigN
    assert (layout.ny, layout.nx, layout.bigN) == (1, 1, 68)
    with pytest.raises(ConfigError) as info:
        legacy_grid.grid_layout(1, 67, N, GS, OFFSET, OUTER)
    assert (info.value.field, info.value.message) == ("size", "object size 67 is smaller than the group size bigN=68")


def test_object_normalization_averages_in_float64():
    """Group maxima 1 and 2²⁴ (float32): the mean 8388608.5 is exact only in float64."""
    layout = legacy_grid.grid_layout(2, 68, N, GS, OFFSET, OUTER)
    objects = np.ones((2, 68, 68), np.float32)
    objects[1, 30, 30] = 2.0**24
    assert legacy_grid.object_normalization(objects, layout) == 8388608.5


def test_loader_accepts_zero_counts_and_counts_negatives_exactly(tmp_path):
    from ptychobench.errors import DataError
    from ptychobench.simulation import datafile

    rng = np.random.default_rng(0)
    arrays = {"xcoords": np.full(2, 40.0), "ycoords": np.full(2, 40.0), "diff3d": np.zeros((2, 64, 64)),
              "probeGuess": np.ones((64, 64), np.complex64), "objectGuess": np.ones((80, 80))}
    np.savez(tmp_path / "zeros.npz", **arrays)
    assert datafile.load_raw_npz(tmp_path / "zeros.npz").diff3d.max() == 0  # no photon is valid data
    arrays["diff3d"] = rng.uniform(0.0, 0.9, (2, 64, 64))
    arrays["diff3d"][1, 3, 4] = -0.5
    arrays["diff3d"][0, :2, :2] = 0.0  # zero counts are not negative
    np.savez(tmp_path / "one.npz", **arrays)
    with pytest.raises(DataError) as err:
        datafile.load_raw_npz(tmp_path / "one.npz")
    assert err.value.message == "diff3d has 1 negative value(s); amplitudes are >= 0"


def test_split_by_axis_keeps_the_order_of_ties():
    from ptychobench.simulation.data import SimulatedPatterns

    y = np.array([i % 2 for i in range(200)], np.float32)
    data = SimulatedPatterns(diffraction=np.arange(200, dtype=np.float32)[:, None, None],
                             object_patches=np.zeros((200, 1, 1), np.float32),
                             coords=np.stack([np.zeros(200, np.float32), y], 1), intensity_scale=1.0)
    train, test = nongrid.split_by_axis(data)
    assert train.diffraction[:, 0, 0].tolist() == list(range(0, 200, 2))
    assert test.diffraction[:, 0, 0].tolist() == list(range(1, 200, 2))


def test_batching_does_not_change_the_numbers(grid_objects, norm_probe, monkeypatch):
    kwargs = dict(N=N, gridsize=GS, offset=OFFSET, outer_offset=OUTER, nphotons=1e6, seed=1, noise=False)
    whole, _ = legacy_grid.simulate_grid(grid_objects, norm_probe, **kwargs)
    monkeypatch.setattr(illumination, "PATTERNS_PER_BATCH", 12)  # 3 groups of 4 per batch
    batched, _ = legacy_grid.simulate_grid(grid_objects, norm_probe, **kwargs)
    np.testing.assert_array_equal(batched.X, whole.X)
    np.testing.assert_array_equal(batched.Y_I, whole.Y_I)


def test_legacy_dataset_scale_with_an_asymmetric_probe(grid_objects):
    """Σ|P·O|² with a probe lit only in its top-left corner: the energy is not the same for
    the probe flipped, so the convolution's kernel orientation matters."""
    probe_ = np.zeros((N, N), np.complex64)
    probe_[:20, :12] = np.linspace(0.5, 2.0, 12)[None, :]
    data, layout = legacy_grid.simulate_grid(grid_objects, probe_, N=N, gridsize=GS, offset=OFFSET,
                                             outer_offset=OUTER, nphotons=1e6, seed=1, noise=False)
    s_direct = _direct_scale(grid_objects, probe_, layout, data.scale_factors["norm_Y_I"])
    assert data.scale_factors["s_sim"] == pytest.approx(s_direct, rel=1e-5)


def test_normalization_gain_sums_in_float64():
    X = np.full((2, 64, 64, 1), 1.0, np.float32)
    X[0, 0, 0, 0] = 2.0**12  # 2²⁴ + 4095 is not a float32: the energy must be summed in float64
    energy = (64 * 64 - 1 + 2.0**24 + 64 * 64) / 2
    assert normalization.normalization_gain(X, 64) == pytest.approx(np.sqrt(32.0**2 / energy), rel=1e-12)


@pytest.mark.parametrize("gridsize,neighbor_count", [(1, 4), (2, 2), (2, 4)])
def test_group_indices_are_int64_on_every_path(gridsize, neighbor_count):
    """gridsize 1 (seeds only), K < C (seed pool with replacement), K >= C (K-NN draw)."""
    coords = nongrid.random_positions(30, 128, 10, seed=0)
    idx = grouping.group_indices(coords, 10, gridsize, neighbor_count, seed=0)
    assert idx.dtype == np.int64 and idx.shape == (10, gridsize * gridsize)


def test_extract_patches_equals_map_coordinates():
    """scipy's order-1 ``map_coordinates`` (mode 'grid-constant': zero outside, interpolated
    across the edge) is an independent bilinear sampler; ours must give the same patches."""
    from scipy.ndimage import map_coordinates

    rng = np.random.default_rng(7)
    obj = rng.uniform(0.5, 3.0, (70, 90)).astype(np.float32)
    coords = np.concatenate([rng.uniform(0, 90, (40, 1)), rng.uniform(0, 70, (40, 1))], axis=1)
    g = np.arange(16) - 8
    rows = coords[:, 1, None, None] + g[None, :, None] + np.zeros((1, 1, 16))
    cols = coords[:, 0, None, None] + g[None, None, :] + np.zeros((1, 16, 1))
    want = map_coordinates(obj.astype(np.float64), [rows, cols], order=1, mode="grid-constant", cval=0.0)
    # float32 output of a 4-term weighted sum of values <= 3: a few float32 ulps
    np.testing.assert_allclose(nongrid.extract_patches(obj, coords, 16), want, rtol=0, atol=3 * 4 * 2**-23 * 3)
