"""Legacy grid simulation (original ``diffsim.mk_simdata`` + ``preprocess_objects``).

Groups are ``bigN × bigN`` windows on a stride of ``outer_offset // 2`` (VALID), each
holding ``C = gridsize²`` patches of ``N × N`` on a stride-``offset`` grid in row-major
channel order (channel ``c = row · gridsize + col``). Objects are divided by
``norm_Y_I`` (mean over groups of the group maximum) before illumination; the ground
truth stays in raw units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import fftconvolve

from ..errors import ConfigError
from ..physics import forward
from . import illumination
from .data import GroupedData

@dataclass
class GridLayout:
    """Where the groups of a grid simulation sit.

    Attributes
    ----------
    n_images, ny, nx : int
        Images and groups per axis; groups are ordered image-major, then row, then column.
    stride : int
        ``outer_offset // 2`` pixels between group origins.
    bigN : int
        Group (solution-region) size in pixels.
    """

    n_images: int
    ny: int
    nx: int
    stride: int
    bigN: int

    @property
    def n_groups(self) -> int:
        return self.n_images * self.ny * self.nx


def grid_layout(n_images: int, size: int, N: int, gridsize: int, offset: int, outer_offset: int):
    """Layout of the groups on ``n_images`` objects of ``size × size`` pixels."""
    bigN = N + (gridsize - 1) * offset
    stride = outer_offset // 2
    if size < bigN:
        raise ConfigError("size", f"object size {size} is smaller than the group size bigN={bigN}")
    n_per_axis = (size - bigN) // stride + 1
    return GridLayout(n_images, n_per_axis, n_per_axis, stride, bigN)


def channel_offsets(gridsize: int, offset: int) -> np.ndarray:
    """Top-left corner ``(row, col)`` of each channel's patch inside its group.

    Returns
    -------
    ndarray, int64, shape (C, 2)
        Row-major: channel ``c`` is at ``(c // gridsize, c % gridsize) · offset``.
    """
    c = np.arange(gridsize * gridsize)
    return np.stack([c // gridsize, c % gridsize], axis=1) * offset


def grid_coordinates(layout: GridLayout, N: int, gridsize: int, offset: int):
    """Global group centres and relative channel offsets of a grid layout.

    Returns
    -------
    coords_offsets : float32 (B, 1, 2, 1)
        Group centre ``[x, y]`` = origin + bigN/2.
    coords_relative : float32 (B, 1, 2, C)
        ``group centre − patch centre`` as ``[x, y]``; for gridsize 2 / offset 4 the
        channels are ``x = [+2, −2, +2, −2]``, ``y = [+2, +2, −2, −2]``.
    coords_nn : float32 (B, 1, 2, C)
        Patch centres ``[x, y]`` (origin + corner + N/2).
    """
    gy, gx = np.meshgrid(np.arange(layout.ny), np.arange(layout.nx), indexing="ij")
    centre_x = np.tile(gx.ravel() * layout.stride + layout.bigN / 2, layout.n_images)
    centre_y = np.tile(gy.ravel() * layout.stride + layout.bigN / 2, layout.n_images)
    coords_offsets = np.stack([centre_x, centre_y], axis=1)[:, None, :, None]
    corners = channel_offsets(gridsize, offset)
    # patch centre inside the group = corner + N/2; group centre inside the group = bigN/2
    rel_x = layout.bigN / 2 - (corners[:, 1] + N / 2)
    rel_y = layout.bigN / 2 - (corners[:, 0] + N / 2)
    rel = np.stack([rel_x, rel_y], axis=0)[None, None, :, :]
    coords_relative = np.broadcast_to(rel, (layout.n_groups, 1, 2, corners.shape[0]))
    origin_x = coords_offsets[:, :, 0:1, :] - layout.bigN / 2
    origin_y = coords_offsets[:, :, 1:2, :] - layout.bigN / 2
    coords_nn = np.concatenate(
        [origin_x + corners[None, None, None, :, 1] + N / 2, origin_y + corners[None, None, None, :, 0] + N / 2],
        axis=2,
    )
    return (
        coords_offsets.astype(np.float32),
        np.ascontiguousarray(coords_relative, np.float32),
        coords_nn.astype(np.float32),
    )


def _group_windows(objects: np.ndarray, layout: GridLayout) -> np.ndarray:
    """Strided view (n_images, ny, nx, bigN, bigN) of every group window (no copy)."""
    windows = sliding_window_view(objects, (layout.bigN, layout.bigN), axis=(1, 2))
    return windows[:, :: layout.stride, :: layout.stride][:, : layout.ny, : layout.nx]


def object_normalization(objects: np.ndarray, layout: GridLayout) -> float:
    """``norm_Y_I``: mean over all groups of the maximum amplitude inside the group."""
    windows = _group_windows(objects, layout)
    return float(np.mean(windows.max(axis=(-2, -1)), dtype=np.float64))


def _patches(objects, layout, corners, N, group_ids) -> np.ndarray:
    """Channel patches (g, C, N, N) of the given groups (a copy)."""
    img, rem = np.divmod(group_ids, layout.ny * layout.nx)
    gy, gx = np.divmod(rem, layout.nx)
    rows = gy[:, None] * layout.stride + corners[None, :, 0]
    cols = gx[:, None] * layout.stride + corners[None, :, 1]
    view = sliding_window_view(objects, (N, N), axis=(1, 2))
    return view[img[:, None], rows, cols]


def _grid_pattern_energy(objects, probe, layout, corners) -> np.ndarray:
    """``Σ_xy |P·O|²`` of every grid pattern, as one FFT correlation of ``O²`` with ``|P|²``.

    Exact up to float64 rounding, and much cheaper than gathering every patch.
    """
    kernel = (np.abs(probe).astype(np.float64) ** 2)[::-1, ::-1]
    energy_map = fftconvolve(objects.astype(np.float64) ** 2, kernel[None], mode="valid", axes=(1, 2))
    ids = np.arange(layout.n_groups)
    img, rem = np.divmod(ids, layout.ny * layout.nx)
    gy, gx = np.divmod(rem, layout.nx)
    rows = gy[:, None] * layout.stride + corners[None, :, 0]
    cols = gx[:, None] * layout.stride + corners[None, :, 1]
    return energy_map[img[:, None], rows, cols].ravel()


def simulate_grid(
    objects: np.ndarray,
    probe: np.ndarray,
    *,
    N: int,
    gridsize: int,
    offset: int,
    outer_offset: int,
    nphotons: float,
    seed: int,
    intensity_scale: float | None = None,
    norm_Y_I: float | None = None,
    noise: bool = True,
    on_batch=None,
) -> tuple[GroupedData, GridLayout]:
    """Grid-simulate groups of diffraction patterns from whole object images.

    Parameters
    ----------
    objects : float32 (n_images, size, size)
        Raw object amplitudes (zero phase).
    probe : complex64 (N, N)
        Normalised probe.
    seed : int
        Seed of the Poisson draws.
    intensity_scale, norm_Y_I : float, optional
        Reuse these instead of deriving them from this data set.
    on_batch : callable, optional
        Progress hook ``on_batch(groups_done, n_groups)`` (see
        :func:`.illumination.illuminate_and_diffract`).

    Returns
    -------
    data : GroupedData
        ``X`` (B, N, N, C) = stored amplitude ``/ s``; ``Y_I`` = ``|P · O / norm_Y_I|``;
        scale factors ``s_sim`` and ``norm_Y_I``.
    layout : GridLayout
    """
    objects = np.asarray(objects, dtype=np.float32)
    layout = grid_layout(objects.shape[0], objects.shape[1], N, gridsize, offset, outer_offset)
    corners = channel_offsets(gridsize, offset)
    if norm_Y_I is None:
        norm_Y_I = object_normalization(objects, layout)
    inv_norm = np.float32(1.0 / norm_Y_I)

    def source(sl: slice) -> np.ndarray:
        """Normalised object patches (b, C, N, N) of groups ``sl``, gathered on demand."""
        ids = np.arange(sl.start, sl.stop)
        return _patches(objects, layout, corners, N, ids) * inv_norm

    source.n_groups = layout.n_groups
    if intensity_scale is None:
        intensity_scale = forward.dataset_intensity_scale(
            _grid_pattern_energy(objects * inv_norm, probe, layout, corners), nphotons
        )
    X, Y_I, intensity_scale = illumination.illuminate_and_diffract(
        source, probe, nphotons, seed, intensity_scale=intensity_scale, noise=noise, on_batch=on_batch
    )
    coords_offsets, coords_relative, coords_nn = grid_coordinates(layout, N, gridsize, offset)
    image_index = np.repeat(np.arange(layout.n_images, dtype=np.int32), layout.ny * layout.nx)
    data = GroupedData(
        X=X,
        Y_I=Y_I,
        coords_offsets=coords_offsets,
        coords_relative=coords_relative,
        image_index=image_index,
        coords_nn=coords_nn,
        scale_factors={"s_sim": float(intensity_scale), "norm_Y_I": float(norm_Y_I)},
    )
    return data, layout


def clipped_truth(objects: np.ndarray, N: int, gridsize: int, offset: int, outer_offset: int):
    """Ground truth matching the grid-tiled mosaic (original ``get_clipped_object``).

    Drops ``(size − bigN) % (outer/2)`` pixels at the end, then clips
    ``(N − outer/2)/2 + ((gridsize − 1)·offset)//2`` pixels from each side.

    Returns
    -------
    ndarray, float32 (n_images, H, W), raw units; H = W = ny · outer/2.
    """
    size = objects.shape[1]
    bigN = N + (gridsize - 1) * offset
    stride = outer_offset // 2
    extra = (size - bigN) % stride
    clip = (N - stride) // 2 + ((gridsize - 1) * offset) // 2
    kept = objects[:, : size - extra, : size - extra]
    return np.ascontiguousarray(kept[:, clip : kept.shape[1] - clip, clip : kept.shape[2] - clip])


def fit_subset(n_groups: int, n_fit: int) -> np.ndarray:
    """The first ``n_fit`` of ``n_groups`` training groups after the original's shuffle
    (``sklearn.utils.shuffle(random_state=0)``, i.e. ``RandomState(0).shuffle``; DE
    ``ptycho/data_preprocessing.py:60-68``): a random subset, for a ``fit`` on fewer groups
    than the grid yields (facts §11 trained on 1,600 of the 6,724)."""
    order = np.arange(n_groups)
    np.random.RandomState(0).shuffle(order)
    return np.sort(order[:n_fit])
