"""The default disk probe, its mask and the ``probe_scale`` normalisation."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.signal.windows import gaussian


def default_probe(N: int, default_probe_scale: float = 0.7) -> np.ndarray:
    """Unnormalised default probe (original ``probe.get_default_probe``).

    A Gaussian window of length N with ``std = N / (default_probe_scale · π²)``, scaled
    to max 1; its outer product thresholded at 0.5 gives a disk, which is blurred with
    ``σ = 1`` and offset by 1e-9.

    Returns
    -------
    ndarray, float64, shape (N, N)
        Real, max ≈ 1. For N=64: sum ≈ 376, disk diameter ≈ 22 px.
    """
    window = gaussian(N, std=N / (default_probe_scale * np.pi**2), sym=True)
    window = window / window.max()
    disk = (np.outer(window, window) > 0.5).astype(np.float64)
    return gaussian_filter(disk, 1) + 1e-9


def probe_mask(N: int) -> np.ndarray:
    """Circular mask of radius ``N // 4``, distance measured from pixel centres.

    Returns
    -------
    ndarray, float32, shape (N, N), values 0/1
    """
    centres = np.arange(N) - N // 2 + 0.5
    radius = np.hypot(centres[:, None], centres[None, :])
    return (radius < N // 4).astype(np.float32)


def normalize_probe(probe: np.ndarray, probe_scale: float) -> np.ndarray:
    """``P / (probe_scale · mean_{N×N} |mask · P|)`` (original ``set_probe``); idempotent.

    After normalisation the mean of ``|mask · P|`` over the whole frame is ``1/probe_scale``.

    Returns
    -------
    ndarray, complex64, shape (N, N)
    """
    probe = np.asarray(probe)
    mask = probe_mask(probe.shape[-1])
    norm = probe_scale * np.mean(np.abs(mask * probe))
    return (probe / norm).astype(np.complex64)
