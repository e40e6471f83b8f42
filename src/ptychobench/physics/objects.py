"""The synthetic 'lines' object (original ``diffsim.sim_object_image``, data_source='lines')."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage.draw import line

N_LINES = 400


def lines_object(size: int, rng: np.random.RandomState) -> np.ndarray:
    """One 'lines' amplitude image, drawing from ``rng`` exactly as the original draws.

    400 lines with integer endpoints ``int(2·size·u)`` (u uniform, drawn as r0, c0, r1, c1
    per line) are set to 1 on a ``2·size`` square canvas; the canvas is copied to three
    channels and blurred as ``gf(σ=1) + 2·gf(σ=5) + 5·gf(σ=10)`` (scipy, mode 'reflect',
    the channel axis blurred too); channel 0 is centre-cropped to ``size × size``.

    Parameters
    ----------
    size : int
        Output side length in pixels.
    rng : numpy.random.RandomState
        Legacy Mersenne-Twister stream; ``RandomState(seed)`` reproduces the original's
        ``np.random.seed(seed)``.

    Returns
    -------
    ndarray, float64, shape (size, size)
        Real, positive amplitude (arbitrary units; mean ≈ 2.7 for size 392). Zero phase.
    """
    big = 2 * size
    canvas = np.zeros((big, big), dtype=np.float64)
    draws = rng.uniform(size=4 * N_LINES)  # same stream as 1600 scalar uniform() calls
    ends = (big * draws).astype(np.int64).reshape(N_LINES, 4)
    for r0, c0, r1, c1 in ends:
        rr, cc = line(int(r0), int(c0), int(r1), int(c1))
        canvas[rr, cc] = 1.0
    img3 = np.repeat(canvas[:, :, None], 3, axis=2)
    blurred = gaussian_filter(img3, 1) + 2 * gaussian_filter(img3, 5) + 5 * gaussian_filter(img3, 10)
    return blurred[size // 2 : size // 2 + size, size // 2 : size // 2 + size, 0]


def make_lines_objects(size: int, count: int, seed: int) -> np.ndarray:
    """``count`` consecutive 'lines' images from one seeded stream.

    Returns
    -------
    ndarray, float32, shape (count, size, size)
    """
    rng = np.random.RandomState(seed)
    return np.stack([lines_object(size, rng) for _ in range(count)]).astype(np.float32)
