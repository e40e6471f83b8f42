"""Modern non-grid simulation (original ``nongrid_simulation`` + ``RawData.from_simulation``).

Scan positions are uniform in ``[buffer, size − buffer]``; each N×N patch is a bilinear
sample of the object centred on its position; the dataset-derived scale is computed per
call and the stored diffraction is ``X / s`` (``diff3d``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from . import illumination
from .data import SimulatedPatterns

POSITION_CHUNK = 1024


def random_positions(n: int, size: int, buffer: float, seed: int) -> np.ndarray:
    """``n`` scan positions ``[x, y]``, both uniform in ``[buffer, size − buffer]``.

    Returns
    -------
    ndarray, float32 (n, 2)
    """
    if size - 2 * buffer <= 0:
        raise ConfigError("size", f"object size {size} leaves no room inside buffer {buffer}")
    rng = np.random.RandomState(seed)
    x = rng.uniform(buffer, size - buffer, n)
    y = rng.uniform(buffer, size - buffer, n)
    return np.stack([x, y], axis=1).astype(np.float32)


def extract_patches(obj: np.ndarray, coords: np.ndarray, N: int) -> np.ndarray:
    """Bilinear N×N patches of ``obj`` whose centre pixel ``(N//2, N//2)`` sits on ``coords``.

    ``patch[r, c] = O(y − N/2 + r, x − N/2 + c)`` with zero outside the object. The same
    patches as ``scipy.ndimage.map_coordinates(order=1, mode='grid-constant')`` (tested), and
    faster here: ``python scripts/extract_patches_speed.py`` prints the ratio of the two.

    Parameters
    ----------
    obj : ndarray (H, W), real or complex
    coords : ndarray (P, 2), ``[x, y]`` in pixels

    Returns
    -------
    ndarray (P, N, N), float32 (or complex64 for a complex object)
    """
    pad = N // 2 + 2
    padded = np.pad(obj, pad)
    out_dtype = np.complex64 if np.iscomplexobj(obj) else np.float32
    out = np.empty((coords.shape[0], N, N), dtype=out_dtype)
    grid = np.arange(N, dtype=np.float64) - N // 2 + pad
    for start in range(0, coords.shape[0], POSITION_CHUNK):
        xy = coords[start : start + POSITION_CHUNK].astype(np.float64)
        rows = xy[:, 1:2] + grid[None, :]
        cols = xy[:, 0:1] + grid[None, :]
        r0, c0 = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
        fr, fc = (rows - r0)[:, :, None], (cols - c0)[:, None, :]
        R, Cc = r0[:, :, None], c0[:, None, :]
        value = (
            (1 - fr) * (1 - fc) * padded[R, Cc]
            + (1 - fr) * fc * padded[R, Cc + 1]
            + fr * (1 - fc) * padded[R + 1, Cc]
            + fr * fc * padded[R + 1, Cc + 1]
        )
        out[start : start + POSITION_CHUNK] = value
    return out


def simulate_nongrid(
    obj: np.ndarray,
    probe: np.ndarray,
    coords: np.ndarray,
    *,
    nphotons: float,
    seed: int,
    noise: bool = True,
    on_batch=None,
) -> SimulatedPatterns:
    """Simulate one diffraction pattern per scan position.

    Parameters
    ----------
    obj : float32 (size, size)
        Raw object amplitude (zero phase; not normalised).
    probe : complex64 (N, N)
        Normalised probe.
    coords : float32 (P, 2)
        Scan positions ``[x, y]``.
    seed : int
        Seed of the Poisson draws.
    on_batch : callable, optional
        Progress hook ``on_batch(positions_done, P)`` (see
        :func:`.illumination.illuminate_and_diffract`).
    """
    N = probe.shape[-1]
    patches = extract_patches(np.asarray(obj, dtype=np.float32), coords, N)
    diff, _, s = illumination.illuminate_and_diffract(
        patches[:, None], probe, nphotons, seed, noise=noise, on_batch=on_batch
    )
    return SimulatedPatterns(
        diffraction=diff[..., 0], object_patches=patches, coords=coords, intensity_scale=s
    )


def split_by_axis(data: SimulatedPatterns, fraction: float = 0.5, axis: str = "y"):
    """Split positions by sorted coordinate: the first ``fraction`` is train, the rest test."""
    column = {"x": 0, "y": 1}[axis]
    order = np.argsort(data.coords[:, column], kind="stable")
    cut = int(len(order) * fraction)

    def take(idx):
        return SimulatedPatterns(
            diffraction=data.diffraction[idx],
            object_patches=data.object_patches[idx],
            coords=data.coords[idx],
            intensity_scale=data.intensity_scale,
        )

    return take(order[:cut]), take(order[cut:])
