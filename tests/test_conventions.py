"""The original's conventions that the faithful defaults reproduce (issue 21): the modern
validation split, the modern stitching frame and window, the legacy scoring, and the
investigation profiles. References are written out here from the original's code."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from ptychobench.errors import ConfigError
from ptychobench.evaluation import stitching
from ptychobench.pipelines.profiles import PROFILES, get_profile
from ptychobench.simulation import grouping, legacy_grid
from ptychobench.training.loop import validation_split_indices

# --- the modern validation split ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [20, 64, 576, 1000, 1001])
def test_modern_split_is_the_containers_tail(n):
    """Keras: split_at = int(floor(n * (1 - 0.05))), validation = the rest, nothing shuffled."""
    train, val = validation_split_indices(n, 0.05, presplit_shuffle=False)
    split_at = int(math.floor(n * 0.95))
    assert val.tolist() == list(range(split_at, n))
    assert train.tolist() == list(range(split_at))


def test_legacy_split_still_shuffles_first():
    _, val = validation_split_indices(1000, 0.05)
    order = np.arange(1000)
    np.random.RandomState(0).shuffle(order)
    assert sorted(val.tolist()) == sorted(order[950:].tolist())
    assert val.tolist() != list(range(950, 1000))


def test_gs1_taking_every_position_keeps_their_order():
    """M ptycho/raw_data.py:660-672: all points as seeds, in stored order, when n_groups == n_points."""
    coords = np.random.RandomState(0).uniform(0, 100, (40, 2))
    idx = grouping.group_indices(coords, 40, gridsize=1, neighbor_count=4, seed=3)
    assert idx[:, 0].tolist() == list(range(40))
    fewer = grouping.group_indices(coords, 30, gridsize=1, neighbor_count=4, seed=3)
    assert len(set(fewer[:, 0].tolist())) == 30 and fewer[:, 0].tolist() != list(range(30))


# --- the modern stitching frame and window --------------------------------------------------------------------------


def test_original_frame_pads_to_even_and_centres_on_the_mean():
    centres = np.array([[10.0, 20.0], [13.5, 20.0], [10.0, 27.25]])
    origin, size = stitching.original_frame(centres, M=20)
    mean = centres.astype(np.float32).mean(axis=0)
    adjusted = np.abs(centres - mean).max()
    pad = math.ceil(adjusted)
    pad += pad % 2
    assert size == 20 + 2 * pad
    np.testing.assert_allclose(origin, mean - pad - 10, rtol=0, atol=1e-6)


def test_stitch_on_the_original_canvas_matches_shifted_crops():
    """One patch: the canvas pixel (pad + M//2 + d) holds the patch centre, d = offset - mean
    (here one patch, so d = 0 and the crop sits at the canvas centre)."""
    rng = np.random.RandomState(1)
    patches = rng.uniform(0.5, 1.5, (3, 64, 64))
    centres = np.array([[30.3, 40.6], [36.9, 41.2], [33.0, 47.8]])
    origin, size = stitching.original_frame(centres, 20)
    image, weight = stitching.stitch_positions(patches, centres, (size, size), 20, origin, min_weight=None)
    # written out: shift each zero-padded crop by its offset from the canvas origin
    acc, wsum = np.zeros((size, size)), np.zeros((size, size))
    for p, (x, y) in zip(patches, centres):
        crop, ones = np.zeros((size, size)), np.zeros((size, size))
        crop[:20, :20], ones[:20, :20] = p[22:42, 22:42], 1.0
        shift = (y - origin[1] - 10, x - origin[0] - 10)
        acc += ndimage.shift(crop, shift, order=1, mode="grid-constant")
        wsum += ndimage.shift(ones, shift, order=1, mode="grid-constant")
    np.testing.assert_allclose(image, acc / (wsum + 1e-9), rtol=0, atol=2e-5)
    np.testing.assert_allclose(weight, wsum, rtol=0, atol=1e-9)


def test_original_stitch_keeps_tiny_weights_ours_zeroes_them():
    patch = np.ones((1, 64, 64))
    centre = np.array([[20.0 + 1e-7, 20.0]])  # a weight of 1e-7 on the far column
    img_ours, _ = stitching.stitch_positions(patch, centre, (64, 64), 20)
    img_orig, _ = stitching.stitch_positions(patch, centre, (64, 64), 20, min_weight=None)
    assert (img_orig != 0).sum() > (img_ours != 0).sum()


def test_scan_bbox_window_is_int_min_to_int_max_plus_margin():
    centres = np.array([[15.7, 30.2], [80.9, 99.99], [40.0, 12.5]])
    rows, cols = stitching.scan_bbox_window(centres, 20, (392, 392))
    assert (rows.start, rows.stop) == (12 - 10, 99 + 10)
    assert (cols.start, cols.stop) == (15 - 10, 80 + 10)
    rows, _ = stitching.scan_bbox_window(np.array([[5.0, 3.0], [6.0, 391.5]]), 20, (392, 392))
    assert (rows.start, rows.stop) == (0, 392)  # clipped to the object


def test_registered_window_takes_the_nearest_integer_shift():
    image = np.arange(100.0).reshape(10, 10)
    out = stitching.registered_window(image, origin=(2.4, 3.6), rows=slice(4, 8), cols=slice(2, 6))
    # canvas pixel i shows object coordinate i + origin: object row r <- canvas row r - 4, col c <- c - 2
    np.testing.assert_array_equal(out, image[0:4, 0:4])
    edge = stitching.registered_window(image, origin=(0.0, 0.0), rows=slice(8, 12), cols=slice(0, 2))
    np.testing.assert_array_equal(edge[2:], 0)  # outside the canvas
    np.testing.assert_array_equal(edge[:2], image[8:10, 0:2])


# --- the legacy scoring ------------------------------------------------------------------------------------------------


def test_trim_drops_half_the_offset_on_each_side():
    image = np.arange(64.0).reshape(8, 8)
    np.testing.assert_array_equal(stitching.trim(image, 4), image[2:6, 2:6])


def test_fit_subset_is_the_first_of_sklearns_shuffle():
    order = np.arange(6724)
    np.random.RandomState(0).shuffle(order)
    np.testing.assert_array_equal(legacy_grid.fit_subset(6724, 1600), np.sort(order[:1600]))


# --- the investigation profiles ----------------------------------------------------------------------------------


def test_investigation_profiles_hold_the_recorded_configuration():
    p = get_profile("investigation")
    assert (p.legacy_size, p.legacy_nimgs_train, p.legacy_nimgs_test, p.legacy_epochs) == (392, 1, 1, 5)
    assert p.legacy_train_groups == 1600 and p.n_filters_scale == 2
    assert (p.positions(1), p.positions(2)) == (2000, 8000)  # total_images = 2000·gridsize²
    assert (p.modern_train_groups, p.modern_epochs) == (1000, 5)
    assert PROFILES["investigation_232"].legacy_size == 232
    assert PROFILES["investigation_232"].legacy_train_groups is None
    assert PROFILES["smoke"].positions(1) == PROFILES["smoke"].modern_positions


def test_profile_refuses_a_bad_validation_variant():
    import dataclasses

    with pytest.raises(ConfigError, match="modern_validation"):
        dataclasses.replace(PROFILES["smoke"], modern_validation="random")
    with pytest.raises(ConfigError, match="legacy_train_groups"):
        dataclasses.replace(PROFILES["smoke"], legacy_train_groups=0)


def test_faithful_window_counts_zeros_ours_only_covered_pixels():
    """The same mosaic scored both ways: the whole window (zeros count) and its covered pixels."""
    from ptychobench.evaluation.metrics import amplitude_metrics

    truth = 2.0 + np.add.outer(np.arange(10.0), np.arange(10.0)) / 10  # no column differs in mean
    covered = np.zeros((10, 10), bool)
    covered[:, :4] = True  # 40% covered, at half the truth
    stitched = np.where(covered, 0.5 * truth, 0.0)
    whole = amplitude_metrics(stitched, truth, np.ones_like(covered), 1.0, covered=covered)
    ours = amplitude_metrics(stitched, truth, covered, 1.0)
    assert whole["amplitude_ratio"] == pytest.approx(stitched.mean() / truth.mean())
    assert whole["amplitude_ratio"] < 0.5 * 0.45
    assert ours["amplitude_ratio"] == pytest.approx(0.5)
    assert whole["coverage"] == ours["coverage"] == pytest.approx(0.4)
