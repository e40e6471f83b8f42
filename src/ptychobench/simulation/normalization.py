"""Diffraction normalisation of the modern front end (original ``normalize_data``)."""

from __future__ import annotations

import numpy as np


def normalization_gain(X: np.ndarray, N: int) -> float:
    """``g = sqrt((N/2)² / mean_{b,c} Σ_xy X²)``.

    Parameters
    ----------
    X : ndarray (B, N, N, C)
        Grouped diffraction amplitude.

    Returns
    -------
    float
        The gain that brings the mean per-pattern energy to ``(N/2)²`` (1024 for N=64),
        independent of the dose.
    """
    energy = np.sum(np.square(X, dtype=np.float64), axis=(1, 2))  # (B, C)
    return float(np.sqrt((N / 2) ** 2 / np.mean(energy)))


def normalize_data(X: np.ndarray, N: int) -> tuple[np.ndarray, float]:
    """Return ``(g · X, g)`` with ``g`` from :func:`normalization_gain`, float32."""
    g = normalization_gain(X, N)
    return (X * np.float32(g)).astype(np.float32), g
