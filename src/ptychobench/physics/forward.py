"""Far-field forward model, Poisson observation and intensity scales.

Units: a complex exit wave ``ψ`` (N×N) maps to the diffraction *amplitude*
``A = sqrt(fftshift(|FFT2(ψ)|²) / N²)``; with the 1/N normalisation Parseval holds,
``Σ A² = Σ |ψ|²``. Counts are ``(s·A)²`` for an intensity scale ``s``.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def far_field_amplitude(psi: np.ndarray, workers: int = -1) -> np.ndarray:
    """Diffraction amplitude of exit waves (no padding, no ifftshift before the FFT).

    Parameters
    ----------
    psi : ndarray, complex, shape (..., N, N)

    Returns
    -------
    ndarray, float32, shape (..., N, N)
        ``sqrt(fftshift(|FFT2 ψ|²) / N²)`` with the zero frequency at index (N//2, N//2).
    """
    psi = np.asarray(psi, dtype=np.complex64)
    n = psi.shape[-1]
    spectrum = scipy.fft.fft2(psi, axes=(-2, -1), workers=workers, overwrite_x=False)
    intensity = np.square(spectrum.real)
    intensity += np.square(spectrum.imag)
    intensity /= np.float32(n * n)
    np.sqrt(intensity, out=intensity)
    return np.fft.fftshift(intensity, axes=(-2, -1))


def poisson_amplitude(amplitude: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy amplitude ``sqrt(Poisson(A²))`` for expected counts ``A²``.

    Parameters
    ----------
    amplitude : ndarray, float, any shape
        Amplitude in counts^½ (already multiplied by the intensity scale).
    rng : numpy.random.Generator
        Seeded generator; the same seed gives the same counts bit for bit.

    Returns
    -------
    ndarray, float32, same shape
    """
    counts = rng.poisson(np.square(amplitude, dtype=np.float64)).astype(np.float32)
    return np.sqrt(counts, out=counts)


def dataset_intensity_scale(pattern_energy: np.ndarray, nphotons: float) -> float:
    """Dataset-derived scale ``s = sqrt(nphotons / mean_b Σ_xy |P·O|²)``.

    Parameters
    ----------
    pattern_energy : ndarray, shape (B,)
        ``Σ_xy |P·O|²`` of every pattern (equal to ``Σ A²`` by Parseval).
    nphotons : float
        Mean expected photon count per pattern.
    """
    return float(np.sqrt(nphotons / np.mean(np.asarray(pattern_energy, dtype=np.float64))))


def closed_form_intensity_scale(nphotons: float, N: int) -> float:
    """Closed-form training scale ``s = sqrt(nphotons) / (N/2)`` (ignores the data)."""
    return float(np.sqrt(nphotons) / (N / 2))
