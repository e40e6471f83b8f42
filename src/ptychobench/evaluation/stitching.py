"""Stitching reconstructed patches into one object image.

* :func:`stitch_positions` (modern, original ``reassemble_position``): the central
  M×M of every patch is shifted to its scan position (bilinear, sub-pixel) and summed;
  the sum is divided by the summed weights + 1e-9, so uncovered pixels are exactly 0.
* :func:`stitch_grid` (legacy, original grid ``reassemble`` with ``norm=False``): the
  central ``outer/2`` pixels of every group tile a mosaic.

Both work in the object's own pixel frame, so the ground truth is cropped with the same
indices (:func:`window_of_coverage`).
"""

from __future__ import annotations

import numpy as np


def stitch_positions(patches: np.ndarray, centres: np.ndarray, shape: tuple, M: int = 20):
    """Shift-and-sum the central M×M of each patch onto a canvas of ``shape``.

    Parameters
    ----------
    patches : (B, N, N), real or complex
        Reconstructed object patches; pixel ``(N//2, N//2)`` is the patch centre.
    centres : (B, 2)
        Patch centre ``[x, y]`` in canvas pixels (may be fractional).
    shape : (H, W)
        Canvas size (the object frame).
    M : int
        Side of the central crop that is kept.

    Returns
    -------
    image : (H, W), same dtype kind as ``patches``; 0 where nothing was placed
    weight : float64 (H, W), the summed bilinear weights (0 = uncovered)
    """
    N = patches.shape[1]
    lo = N // 2 - M // 2
    crop = patches[:, lo : lo + M, lo : lo + M]
    H, W = shape
    is_complex = np.iscomplexobj(patches)
    # Top-left of the crop in canvas pixels: centre − M//2 (crop index M//2 sits on the centre).
    top = centres[:, 1].astype(np.float64) - M // 2
    left = centres[:, 0].astype(np.float64) - M // 2
    r0, c0 = np.floor(top).astype(np.int64), np.floor(left).astype(np.int64)
    fr, fc = (top - r0)[:, None, None], (left - c0)[:, None, None]
    rows = r0[:, None, None] + np.arange(M)[None, :, None]
    cols = c0[:, None, None] + np.arange(M)[None, None, :]
    flat_index, flat_weight, flat_value = [], [], []
    for dr, dc, w in (
        (0, 0, (1 - fr) * (1 - fc)),
        (0, 1, (1 - fr) * fc),
        (1, 0, fr * (1 - fc)),
        (1, 1, fr * fc),
    ):
        R, Cc = np.broadcast_arrays(rows + dr, cols + dc)
        ok = (R >= 0) & (R < H) & (Cc >= 0) & (Cc < W)
        ww = np.broadcast_to(w, R.shape)
        flat_index.append((R * W + Cc)[ok])
        flat_weight.append(ww[ok])
        flat_value.append((crop * ww)[ok])
    index = np.concatenate(flat_index)
    weight = np.bincount(index, np.concatenate(flat_weight), minlength=H * W).reshape(H, W)
    value = np.concatenate(flat_value)
    acc = np.bincount(index, value.real, minlength=H * W).reshape(H, W)
    if is_complex:
        acc = acc + 1j * np.bincount(index, value.imag, minlength=H * W).reshape(H, W)
    image = acc / (weight + 1e-9)
    covered = weight > 1e-6
    image[~covered] = 0
    weight[~covered] = 0
    return image.astype(np.complex64 if is_complex else np.float32), weight


def stitch_grid(patches: np.ndarray, ny: int, nx: int, outer_offset: int) -> np.ndarray:
    """Tile the central ``outer/2`` pixels of each group into a (ny·outer/2)² mosaic.

    Parameters
    ----------
    patches : (ny·nx, N, N), groups in row-major order (one image)

    Returns
    -------
    (ny·outer/2, nx·outer/2), same dtype
    """
    step = outer_offset // 2
    N = patches.shape[1]
    lo = N // 2 - step // 2
    tiles = patches[:, lo : lo + step, lo : lo + step].reshape(ny, nx, step, step)
    return tiles.transpose(0, 2, 1, 3).reshape(ny * step, nx * step)


def window_of_coverage(weight: np.ndarray) -> tuple[slice, slice]:
    """Bounding box (rows, cols) of the covered pixels."""
    rows = np.flatnonzero(weight.sum(axis=1) > 0)
    cols = np.flatnonzero(weight.sum(axis=0) > 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
