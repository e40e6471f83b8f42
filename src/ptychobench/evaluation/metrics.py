"""Amplitude-bias metrics and the gauge, and image-quality metrics.

The physics fixes the reconstruction only up to a gauge the pipeline's own
normalisations predict: a physics-consistent reconstruction is ``Ô = G · O`` with

``G = (object normalisation) × (diffraction normalisation gain) × s_c / exp(log_scale)``

(legacy: ``(1/norm_Y_I) × 1 × s_c/exp(log_scale)``; modern: ``1 × g × s_c/exp(log_scale)``).

* ``coverage`` — covered pixels / comparison window;
* ``amplitude_ratio`` — mean(stitched)/mean(truth) on the scored pixels (raw gauge; the
  faithful scoring counts every pixel of its window, zeros included, ours the covered ones);
* ``amplitude_ratio_ls`` — least-squares ``a`` minimising ``‖stitched − a·truth‖²``;
* ``expected_gauge`` — ``G`` above;
* ``gauge_corrected_ratio`` = ``amplitude_ratio / expected_gauge`` (1 is perfect);
* ``amplitude_bias`` = ``|ln gauge_corrected_ratio|`` (lower is better).

Quality metrics (MAE, PSNR, SSIM, FRC50) are computed after mean-scale alignment of the
prediction to the truth, as the reference evaluation does; ``mae_flat`` is the MAE of the
flat answer (the truth's mean on every covered pixel), the error of a reconstruction that
holds no structure at all.
"""

from __future__ import annotations

import math

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

#: Pearson below this is a collapsed (flat) reconstruction. The original's collapsed runs
#: scored 0.10-0.14 (facts §5.3 C4f) and our collapsed modern smoke runs about 0; its
#: reconstructions 0.888 (facts §11) and our legacy smoke runs about 0.84: 0.5 splits the two
#: basins with a wide margin on either side.
COLLAPSE_PEARSON = 0.5


def expected_gauge(object_normalization: float, diffraction_gain: float, s_c: float, log_scale: float) -> float:
    """``G = object_normalization × diffraction_gain × s_c / exp(log_scale)``.

    ``object_normalization`` is the factor applied to the object (legacy ``1/norm_Y_I``,
    modern 1); ``diffraction_gain`` is legacy 1, modern ``g``.
    """
    return float(object_normalization * diffraction_gain * s_c / math.exp(log_scale))


def frc_curve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fourier ring correlation of two equally sized 2-D images, one value per ring (radius 0…)."""
    fa, fb = np.fft.fftshift(np.fft.fft2(a)), np.fft.fftshift(np.fft.fft2(b))
    h, w = a.shape
    y, x = np.indices((h, w))
    r = np.hypot(y - h // 2, x - w // 2).astype(np.int64).ravel()
    nr = min(h, w) // 2
    num = np.bincount(r, (fa * np.conj(fb)).real.ravel())[:nr]
    da = np.bincount(r, (np.abs(fa) ** 2).ravel())[:nr]
    db = np.bincount(r, (np.abs(fb) ** 2).ravel())[:nr]
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / np.sqrt(da * db)


def frc_threshold(curve: np.ndarray, threshold: float = 0.5) -> float:
    """First ring where the FRC falls below ``threshold``, linearly interpolated; NaN if never."""
    below = np.flatnonzero(curve[1:] < threshold)
    if below.size == 0:
        return math.nan
    k = below[0] + 1
    c0, c1 = curve[k - 1], curve[k]
    return float(k - 1 + (c0 - threshold) / (c0 - c1)) if c0 != c1 else float(k)


def amplitude_metrics(stitched: np.ndarray, truth: np.ndarray, scored: np.ndarray, gauge: float,
                      *, covered: np.ndarray | None = None) -> dict:
    """Bias metrics on the scored pixels and quality metrics after mean-scale alignment.

    Parameters
    ----------
    stitched, truth : float (H, W)
        Reconstructed amplitude and true amplitude on the comparison window.
    scored : bool (H, W)
        Pixels the metrics count (the covered ones, or the whole window where zeros count).
    gauge : float
        The expected gauge ``G`` of this run.
    covered : bool (H, W), optional
        Pixels the reconstruction covers, for ``coverage`` (default ``scored``).
    """
    coverage = float((scored if covered is None else covered).mean())
    covered = scored.astype(bool)
    p, t = stitched[covered].astype(np.float64), truth[covered].astype(np.float64)
    ratio = float(p.mean() / t.mean())
    ls = float(np.dot(p, t) / np.dot(t, t))
    corrected = ratio / gauge
    aligned = np.where(covered, stitched * (t.mean() / p.mean()), 0.0).astype(np.float64)
    t_masked = np.where(covered, truth, 0.0).astype(np.float64)
    data_range = float(t.max() - t.min()) or 1.0
    min_side = min(truth.shape)
    win = min(7, min_side if min_side % 2 else min_side - 1)
    return {
        "coverage": coverage,
        "amplitude_ratio": ratio,
        "amplitude_ratio_ls": ls,
        "expected_gauge": float(gauge),
        "gauge_corrected_ratio": corrected,
        "amplitude_bias": abs(math.log(corrected)) if corrected > 0 else math.inf,
        "pearson": float(np.corrcoef(p, t)[0, 1]) if p.std() > 0 else math.nan,
        "mae": float(np.abs(aligned[covered] - t).mean()),
        # the MAE of the flat answer (the truth's mean everywhere), which no reconstruction
        # that has learned anything exceeds: a yardstick for structure that is not the truth's
        "mae_flat": float(np.abs(t - t.mean()).mean()),
        "psnr": float(peak_signal_noise_ratio(t_masked, aligned, data_range=data_range)),
        "ssim": float(structural_similarity(t_masked, aligned, data_range=data_range, win_size=win)),
        "frc50": frc_threshold(frc_curve(aligned, t_masked)),
        "stitched_mean": float(p.mean()),
        "truth_mean": float(t.mean()),
    }
