"""Stitching reconstructed patches into one object image, and the windows they are scored on.

* :func:`stitch_positions` (modern, original ``reassemble_position``): the central
  M×M of every patch is shifted to its scan position (bilinear, sub-pixel) and summed;
  the sum is divided by the summed weights + 1e-9, so uncovered pixels are exactly 0.
  The canvas is either the original's (:func:`original_frame`: offsets taken relative to
  their mean, a canvas of M + 2·pad, so the mosaic lies on a lattice shifted by the
  fractional part of the mean offset) or the object's own integer grid (origin 0).
* :func:`stitch_grid` (legacy, original grid ``reassemble`` with ``norm=False``): the
  central ``outer/2`` pixels of every group tile a mosaic.

Windows: :func:`scan_bbox_window` (the original's ``align_for_evaluation``: the scan
bounding box ± M/2), :func:`window_of_coverage` (ours: the covered pixels' bounding box)
and :func:`trim` (the legacy evaluation's ``offset/2`` border).
"""

from __future__ import annotations

import numpy as np


def stitch_positions(patches: np.ndarray, centres: np.ndarray, shape: tuple, M: int = 20,
                     origin=(0.0, 0.0), min_weight: float | None = 1e-6):
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
    origin : ``[x, y]``
        Object coordinate of canvas pixel (0, 0) (0 for the object's own grid; the
        original's frame from :func:`original_frame`).
    min_weight : float or None
        Pixels whose summed weight is at or below it are set to 0 (ours, 1e-6); ``None``
        keeps every pixel at ``sum / (weight + 1e-9)`` as the original does.

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
    top = centres[:, 1].astype(np.float64) - origin[1] - M // 2
    left = centres[:, 0].astype(np.float64) - origin[0] - M // 2
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
    if min_weight is not None:
        covered = weight > min_weight
        image[~covered] = 0
        weight[~covered] = 0
    return image.astype(np.complex64 if is_complex else np.float32), weight


def original_frame(centres: np.ndarray, M: int = 20) -> tuple[np.ndarray, int]:
    """The canvas of the original ``shift_and_sum`` (M ``ptycho/tf_helper.py:1190-1277``).

    The offsets are taken relative to their mean (float32, as the original casts them);
    ``pad = ceil(max |offset − mean|)``, rounded up to even; the canvas is ``M + 2·pad``
    square and the crop of a patch at the mean offset sits at its centre. So canvas pixel
    ``i`` shows object coordinate ``i − pad − M//2 + mean``.

    Parameters
    ----------
    centres : (B, 2) patch centres ``[x, y]`` in object pixels

    Returns
    -------
    origin : float64 (2,) ``[x, y]`` object coordinate of canvas pixel (0, 0)
    size : int, the canvas side ``M + 2·pad``
    """
    offsets = centres.astype(np.float32)
    mean = offsets.mean(axis=0, dtype=np.float32)
    pad = int(np.ceil(np.abs(offsets - mean).max()))
    pad += pad % 2
    return mean.astype(np.float64) - pad - M // 2, M + 2 * pad


def scan_bbox_window(centres: np.ndarray, M: int, shape: tuple) -> tuple[slice, slice]:
    """Rows and columns of the object inside the scan bounding box ± M/2, clipped to it
    (the original's ``align_for_evaluation``, M ``ptycho/image/cropping.py:111-176``:
    ``int(min) − M//2`` to ``int(max) + M//2``).

    ``centres``: (B, 2) ``[x, y]``; ``shape``: the object's (H, W).
    """
    r = M // 2
    (min_x, min_y), (max_x, max_y) = centres.min(axis=0), centres.max(axis=0)
    rows = slice(max(0, int(min_y) - r), min(shape[0], int(max_y) + r))
    cols = slice(max(0, int(min_x) - r), min(shape[1], int(max_x) + r))
    return rows, cols


def registered_window(image: np.ndarray, origin, rows: slice, cols: slice) -> np.ndarray:
    """The pixels of a canvas with ``origin`` (``[x, y]``) that fall on the object's
    ``rows, cols``, registered to the nearest integer (0 outside the canvas).

    The original registers its mosaic to the truth before scoring; an integer registration
    leaves the fractional part of the origin, so the mosaic's pixels lie up to half a pixel
    off the truth's, as the original's do.
    """
    dy, dx = int(np.round(origin[1])), int(np.round(origin[0]))
    out = np.zeros((rows.stop - rows.start, cols.stop - cols.start), image.dtype)
    r0, r1 = max(rows.start - dy, 0), min(rows.stop - dy, image.shape[0])
    c0, c1 = max(cols.start - dx, 0), min(cols.stop - dx, image.shape[1])
    if r1 > r0 and c1 > c0:
        out[r0 + dy - rows.start : r1 + dy - rows.start, c0 + dx - cols.start : c1 + dx - cols.start] = \
            image[r0:r1, c0:c1]
    return out


def trim(image: np.ndarray, offset: int) -> np.ndarray:
    """Drop ``offset/2`` pixels on each side (the legacy evaluation's ``trim``, DE
    ``ptycho/evaluation.py:123-126``; ``offset`` is even)."""
    k = offset // 2
    return image[k:-k, k:-k] if k else image


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
