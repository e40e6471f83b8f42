"""Containers for simulated and grouped data, shared by both front ends."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SimulatedPatterns:
    """One simulated data set, one entry per scan position (gridsize-1 layout).

    Attributes
    ----------
    diffraction : float32 (P, N, N)
        Stored amplitude ``X = sqrt(Poisson((s·A)²)) / s`` (units of ``|F(P·O)|/N``).
    object_patches : float32 (P, N, N)
        Object amplitude at each position, *before* illumination (modern labels).
    coords : float32 (P, 2)
        Scan position ``[x, y]`` (x = column) in object pixels; the patch's centre pixel
        ``(N//2, N//2)`` sits on it.
    intensity_scale : float
        The dataset-derived simulation scale ``s_sim``.
    """

    diffraction: np.ndarray
    object_patches: np.ndarray
    coords: np.ndarray
    intensity_scale: float


@dataclass
class GroupedData:
    """Groups of ``C = gridsize²`` patterns, the model's input layout.

    Attributes
    ----------
    X : float32 (B, N, N, C)
        Diffraction amplitude per group and channel (row-major channel order).
    Y_I : float32 (B, N, N, C)
        Label amplitude per channel (legacy: ``|P·O/norm_Y_I|``; modern: raw ``|O|``).
    coords_offsets : float32 (B, 1, 2, 1)
        Group centre ``[x, y]`` in object pixels (global offsets).
    coords_relative : float32 (B, 1, 2, C)
        ``centre − position`` per channel (local offsets, sign −1 convention).
    image_index : int32 (B,)
        Which object image each group comes from.
    coords_nn : float32 (B, 1, 2, C)
        Scan position ``[x, y]`` of every channel's pattern (the truth the offsets encode).
    scale_factors : dict
        The factors in force for this data (``s_sim``, ``norm_Y_I``, ``g``...).
    """

    X: np.ndarray
    Y_I: np.ndarray
    coords_offsets: np.ndarray
    coords_relative: np.ndarray
    image_index: np.ndarray
    coords_nn: np.ndarray
    scale_factors: dict = field(default_factory=dict)

    @property
    def n_groups(self) -> int:
        return int(self.X.shape[0])

    @property
    def gridsize(self) -> int:
        return int(round(np.sqrt(self.X.shape[-1])))

    def with_X(self, X: np.ndarray, **factors) -> "GroupedData":
        """Same groups with new diffraction and additional scale factors."""
        return GroupedData(
            X=X,
            Y_I=self.Y_I,
            coords_offsets=self.coords_offsets,
            coords_relative=self.coords_relative,
            image_index=self.image_index,
            coords_nn=self.coords_nn,
            scale_factors={**self.scale_factors, **factors},
        )

    def take(self, idx: np.ndarray) -> "GroupedData":
        """The groups ``idx`` (int array), in that order, with the same scale factors."""
        return GroupedData(
            X=self.X[idx],
            Y_I=self.Y_I[idx],
            coords_offsets=self.coords_offsets[idx],
            coords_relative=self.coords_relative[idx],
            image_index=self.image_index[idx],
            coords_nn=self.coords_nn[idx],
            scale_factors=dict(self.scale_factors),
        )
