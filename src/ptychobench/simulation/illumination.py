"""Illuminate object patches and simulate their noisy diffraction (original
``diffsim.illuminate_and_diffract``), vectorised over batches and run on every core.

Patches are laid out as groups ``(B, N, N, C)`` (C = 1 for single patterns). Batches of
groups are processed by a thread pool (NumPy's FFT and Poisson sampler release the
GIL); batch ``k`` draws its noise from ``default_rng([seed, k])``, so the numbers depend
only on the seed and the data, never on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..physics import forward

#: Patterns per batch; bounds the transient memory (a few arrays of BATCH·N² complex64).
PATTERNS_PER_BATCH = 1024


def _batches(n_groups: int, channels: int) -> list[slice]:
    step = max(1, PATTERNS_PER_BATCH // channels)
    return [slice(i, min(i + step, n_groups)) for i in range(0, n_groups, step)]


PatchSource = Callable[[slice], np.ndarray]


def _as_source(object_patches) -> tuple[PatchSource, int]:
    if callable(object_patches):
        return object_patches, object_patches.n_groups
    array = np.asarray(object_patches)
    return (lambda sl: array[sl]), array.shape[0]


def _nothing(*args) -> None:
    pass


def _map(func, n: int, threads: int | None, on_done: Callable[[int], None] = _nothing) -> list:
    """``[func(0), ..., func(n-1)]`` on a thread pool; ``on_done(k)`` after each, in order."""
    out = []
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        for k, value in enumerate(pool.map(func, range(n))):
            out.append(value)
            on_done(k)
    return out


def illuminate_and_diffract(
    object_patches,
    probe: np.ndarray,
    nphotons: float,
    seed: int,
    intensity_scale: float | None = None,
    noise: bool = True,
    threads: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Simulate ``X = sqrt(Poisson(|F(s·P·O)|²/N²)) / s`` for every patch.

    Parameters
    ----------
    object_patches : ndarray (B, C, N, N), float32 or complex64, or a patch source
        Object transmission of every pattern, grouped. A patch source is a callable
        ``source(slice) -> (b, C, N, N)`` with an ``n_groups`` attribute; it lets a
        simulator gather patches batch by batch instead of holding them all.
    probe : ndarray, complex64, shape (N, N)
        Normalised probe.
    nphotons : float
        Mean expected counts per pattern, for the dataset-derived scale.
    seed : int
        Seed of the Poisson draws.
    intensity_scale : float, optional
        Use this ``s`` instead of the dataset-derived one (the legacy test set reuses
        the training scale).
    noise : bool
        ``False`` gives the noiseless amplitude ``|F(P·O)|/N`` (for cross-checks).
    threads : int, optional
        Worker threads (default: the CPU count); does not change the numbers.
    on_batch : callable, optional
        Progress hook ``on_batch(groups_done, n_groups)``: called with 0 first, then in batch
        order after each batch is diffracted; it sees no data and changes nothing.

    Returns
    -------
    X : ndarray, float32, shape (B, N, N, C)
        Diffraction amplitude divided by ``s`` (the X/s symmetry).
    illuminated : ndarray, float32, shape (B, N, N, C)
        ``|P · O|`` (the legacy labels).
    s : float
        The intensity scale used: dataset-derived ``sqrt(nphotons / mean Σ|P·O|²)``
        unless given.
    """
    source, n_groups = _as_source(object_patches)
    probe_c = np.asarray(probe, dtype=np.complex64)
    probe_abs = np.abs(probe_c)
    first = source(slice(0, 1))
    channels, N = first.shape[1], first.shape[-1]
    batches = _batches(n_groups, channels)
    if intensity_scale is None:
        # Parseval: Σ|F ψ|²/N² = Σ|ψ|², so the energy needs no FFT.
        def energy(k: int) -> np.ndarray:
            illum = np.abs(source(batches[k])) * probe_abs
            return np.einsum("bcxy,bcxy->bc", illum, illum, dtype=np.float64).ravel()

        intensity_scale = forward.dataset_intensity_scale(
            np.concatenate(_map(energy, len(batches), threads)), nphotons
        )
    s = np.float32(intensity_scale)
    X = np.empty((n_groups, N, N, channels), dtype=np.float32)
    illuminated = np.empty((n_groups, N, N, channels), dtype=np.float32)

    def work(k: int) -> None:
        sl = batches[k]
        psi = source(sl) * probe_c  # (b, C, N, N)
        amplitude = forward.far_field_amplitude(psi, workers=1)
        if noise:
            amplitude = forward.poisson_amplitude(s * amplitude, np.random.default_rng([seed, k])) / s
        X[sl] = amplitude.transpose(0, 2, 3, 1)
        illuminated[sl] = np.abs(psi).transpose(0, 2, 3, 1)

    tick = on_batch or _nothing
    tick(0, n_groups)
    _map(work, len(batches), threads, lambda k: tick(batches[k].stop, n_groups))
    return X, illuminated, float(intensity_scale)
