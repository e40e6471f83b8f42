"""Modern grouping: sample seeds, then K-nearest-neighbour groups of C patterns.

Coordinates follow the original: ``coords_nn`` is (B, 1, 2, C) with axis 2 = ``[x, y]``;
``coords_offsets`` is the group centre (mean over C); ``coords_relative =
local_offset_sign · (coords_nn − centre)`` with ``local_offset_sign = −1``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import ConfigError
from .data import GroupedData, SimulatedPatterns

LOCAL_OFFSET_SIGN = -1.0


def group_indices(
    coords: np.ndarray,
    n_groups: int,
    gridsize: int,
    neighbor_count: int,
    seed: int,
    enable_oversampling: bool = False,
) -> np.ndarray:
    """Indices (B, C) of the patterns in each group ("sample-then-group").

    Seeds: ``n_groups`` positions drawn without replacement; when ``n_groups`` equals the
    number of positions, every position in its stored order (the original draws only when
    it needs fewer, M ``ptycho/raw_data.py:660-672``: a y-sorted split keeps its order).
    gridsize 1: one pattern per group, the seed.
    gridsize > 1: for each seed, its ``neighbor_count`` nearest neighbours (self dropped)
    and ``C`` of them drawn without replacement; with fewer than C neighbours the seed is
    included and drawing is with replacement.
    """
    n_points = coords.shape[0]
    C = gridsize * gridsize
    rng = np.random.RandomState(seed)
    if n_groups > n_points and not (C > 1 and enable_oversampling):
        raise ConfigError(
            "n_groups",
            f"{n_groups} groups requested from {n_points} positions "
            "(set enable_oversampling for gridsize > 1)",
        )
    replace = n_groups > n_points
    seeds = np.arange(n_points) if n_groups == n_points else rng.choice(n_points, size=n_groups, replace=replace)
    if C == 1:
        return seeds[:, None].astype(np.int64)
    k = min(neighbor_count, n_points - 1)
    _, nn = cKDTree(coords).query(coords[seeds], k=k + 1)
    nn = np.asarray(nn).reshape(n_groups, k + 1)
    # the seed itself is dropped from its neighbours (it need not be first when positions tie)
    neighbours = np.stack([row[row != s][:k] for row, s in zip(nn, seeds)])
    if k >= C:
        picks = np.argsort(rng.random_sample((n_groups, k)), axis=1)[:, :C]
        return np.take_along_axis(neighbours, picks, axis=1).astype(np.int64)
    pool = np.concatenate([seeds[:, None], neighbours], axis=1)
    picks = rng.randint(0, pool.shape[1], size=(n_groups, C))
    return np.take_along_axis(pool, picks, axis=1).astype(np.int64)


def relative_coords(coords_nn: np.ndarray):
    """Group centres and local offsets from per-channel positions.

    Parameters
    ----------
    coords_nn : float32 (B, 1, 2, C)

    Returns
    -------
    coords_offsets : float32 (B, 1, 2, 1)
    coords_relative : float32 (B, 1, 2, C)
    """
    centre = coords_nn.mean(axis=3, keepdims=True)
    return centre.astype(np.float32), (LOCAL_OFFSET_SIGN * (coords_nn - centre)).astype(np.float32)


def group(data: SimulatedPatterns, indices: np.ndarray) -> GroupedData:
    """Gather patterns into groups: ``X`` (B, N, N, C), labels, coordinates."""
    X = np.ascontiguousarray(data.diffraction[indices].transpose(0, 2, 3, 1))
    Y_I = np.ascontiguousarray(data.object_patches[indices].transpose(0, 2, 3, 1))
    coords_nn = data.coords[indices].transpose(0, 2, 1)[:, None, :, :]
    coords_offsets, coords_relative = relative_coords(coords_nn)
    return GroupedData(
        X=X,
        Y_I=np.abs(Y_I).astype(np.float32),
        coords_offsets=coords_offsets,
        coords_relative=coords_relative,
        image_index=np.zeros(indices.shape[0], dtype=np.int32),
        coords_nn=coords_nn.astype(np.float32),
        scale_factors={"s_sim": data.intensity_scale},
    )
