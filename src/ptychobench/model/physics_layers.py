"""The differentiable physics of the PINN, in TensorFlow.

Conventions (identical to the simulators):

* offsets are ``[dx, dy]`` (x = column); translating by ``+d`` moves content towards
  ``+x/+y``;
* ``coords_relative`` (B, 1, 2, C) is ``centre − position``: a group's patches are
  placed on the canvas by translating by ``−coords_relative`` and extracted by
  translating by ``+coords_relative`` and cropping the centre N;
* the far field is ``sqrt(fftshift(|FFT2 ψ|²) / N²)`` (no padding).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def bilinear_matrices(n_out: int, n_in: int, shifts: tf.Tensor, start: int = 0) -> tf.Tensor:
    """Bilinear resampling along one axis as matrices: ``out = W @ in``.

    Row ``i`` of ``W[m]`` samples the input at coordinate ``i + start − shifts[m]`` with the
    hat weights ``max(0, 1 − |(i + start − j) − shifts[m]|)`` (the integer part exact, one
    float32 rounding per weight): ``1 − f`` and ``f`` on the two neighbours
    of a fractional coordinate, 1 on an integer one, and nothing from outside ``[0, n_in)``
    (zero fill, neighbour by neighbour, as ``ImageProjectiveTransformV3`` with
    ``fill_mode="CONSTANT"`` does).

    Parameters
    ----------
    n_out, n_in : int
        Output and input lengths (pixels).
    shifts : float32 (M,)
        Translation of each of M images along this axis (pixels, content moves towards +).
    start : int
        Output pixel ``i`` lies at input pixel ``i + start`` before the shift: a crop
        (``start > 0``) or a zero pad (``start < 0``) folded into the resampling.

    Returns
    -------
    float32 (M, n_out, n_in)
    """
    k = np.arange(n_out)[:, None] + start - np.arange(n_in)[None, :]  # exact integers
    return tf.nn.relu(1.0 - tf.abs(tf.constant(k, tf.float32)[None] - shifts[:, None, None]))


def _separable(planes: tf.Tensor, dx: tf.Tensor, dy: tf.Tensor, out_hw: tuple[int, int], start: int = 0):
    """``Wy(dy) @ plane @ Wx(dx)ᵀ`` for (..., h, w) planes and shifts broadcastable to (...)."""
    h, w = planes.shape[-2], planes.shape[-1]
    with tf.name_scope("translation"):  # the profiler's "translations" (training/profiling.py)
        batch = tf.shape(dy)
        wy = tf.reshape(bilinear_matrices(out_hw[0], h, tf.reshape(dy, [-1]), start),
                        tf.concat([batch, [out_hw[0], h]], 0))
        wx = tf.reshape(bilinear_matrices(out_hw[1], w, tf.reshape(dx, [-1]), start),
                        tf.concat([batch, [out_hw[1], w]], 0))
        return tf.matmul(tf.matmul(wy, planes), wx, transpose_b=True)


def translate(images: tf.Tensor, offsets: tf.Tensor) -> tf.Tensor:
    """Bilinear translation of each channel of each image by its own offset.

    The translation is separable, so it runs as two batched matrix products with
    :func:`bilinear_matrices` (plain matmuls: XLA compiles them, unlike
    ``ImageProjectiveTransformV3``, the op of the original's ``translate``, which gives the
    same values to float32 rounding; ``tests/test_model.py`` compares the two).

    Parameters
    ----------
    images : float32 (B, H, W, K)
    offsets : float32 (B, K, 2), ``[dx, dy]`` per channel

    Returns
    -------
    float32 (B, H, W, K); pixels shifted in from outside are 0.
    """
    h, w = images.shape[1], images.shape[2]
    planes = tf.transpose(images, [0, 3, 1, 2])  # (B, K, H, W)
    moved = _separable(planes, offsets[..., 0], offsets[..., 1], (h, w))
    return tf.transpose(moved, [0, 2, 3, 1])


def pad_to(x: tf.Tensor, size: int) -> tf.Tensor:
    """Zero-pad (B, n, n, K) to (B, size, size, K), centred (extra pixel at the end)."""
    n = x.shape[1]
    lo = (size - n) // 2
    hi = size - n - lo
    return tf.pad(x, [[0, 0], [lo, hi], [lo, hi], [0, 0]])


def center_crop(x: tf.Tensor, n: int) -> tf.Tensor:
    """Central (B, n, n, K) of (B, S, S, K), the inverse of :func:`pad_to`."""
    start = (x.shape[1] - n) // 2
    return x[:, start : start + n, start : start + n, :]


def central_mask(N: int) -> np.ndarray:
    """Ones in the central N/2 × N/2 of an N × N frame (float32 (N, N))."""
    m = np.zeros((N, N), np.float32)
    m[N // 4 : N // 4 + N // 2, N // 4 : N // 4 + N // 2] = 1.0
    return m


#: The overlap normaliser's guard: divide by the reassembled central mask + 0.001.
OVERLAP_EPS = 0.001


def _channel_offsets(coords_relative: tf.Tensor, sign: float) -> tf.Tensor:
    """(B, 1, 2, C) relative coords -> (B, C, 2) translation offsets times ``sign``."""
    return sign * tf.transpose(coords_relative[:, 0, :, :], [0, 2, 1])


def reassemble_patches(obj: tf.Tensor, coords_relative: tf.Tensor, padded_size: int) -> tf.Tensor:
    """``object.big`` reassembly: the C patches of a group onto one padded canvas.

    Each channel is padded to ``padded_size``, translated by ``−coords_relative_c`` and
    summed; the sum is divided by the same reassembly of the central-N/2 ones mask
    plus 0.001 (the original's overlap normaliser). Padding and translation are one
    (P × N) resampling per axis (:func:`bilinear_matrices` with the pad as its
    ``start``), real part, imaginary part and mask in one batched product.

    Parameters
    ----------
    obj : complex64 (B, N, N, C)
    coords_relative : float32 (B, 1, 2, C)

    Returns
    -------
    complex64 (B, P, P, 1)
    """
    N = obj.shape[1]
    lo = (padded_size - N) // 2  # pad_to's offset, folded into the resampling as start = -lo
    d = _channel_offsets(coords_relative, -1.0)[..., None]  # (B, C, 2, 1)
    planes = tf.transpose(obj, [0, 3, 1, 2])[:, :, None]  # (B, C, 1, N, N)
    mask = tf.ones_like(tf.math.real(planes)) * central_mask(N)
    stacked = tf.concat([tf.math.real(planes), tf.math.imag(planes), mask], axis=2)  # (B, C, 3, N, N)
    re, im, norm = tf.unstack(
        tf.reduce_sum(_separable(stacked, d[:, :, 0], d[:, :, 1], (padded_size, padded_size), -lo), axis=1), axis=1
    )
    norm = norm + OVERLAP_EPS
    return tf.complex(re / norm, im / norm)[..., None]


def extract_patches(canvas: tf.Tensor, coords_relative: tf.Tensor, N: int) -> tf.Tensor:
    """The C patches a group's canvas illuminates: translate by ``+coords_relative_c``, crop N.

    Translation and crop are one (N × P) resampling per axis (:func:`bilinear_matrices`
    with the crop as its ``start``), real and imaginary parts in one batched product.

    Parameters
    ----------
    canvas : complex64 (B, P, P, 1)
    coords_relative : float32 (B, 1, 2, C)

    Returns
    -------
    complex64 (B, N, N, C)
    """
    P = canvas.shape[1]
    start = (P - N) // 2  # center_crop's offset, folded into the resampling
    d = _channel_offsets(coords_relative, 1.0)[..., None]  # (B, C, 2, 1)
    planes = tf.transpose(canvas, [0, 3, 1, 2])[:, :, None]  # (B, 1, 1, P, P)
    stacked = tf.concat([tf.math.real(planes), tf.math.imag(planes)], axis=2)  # (B, 1, 2, P, P)
    re, im = tf.unstack(_separable(stacked, d[:, :, 0], d[:, :, 1], (N, N), start), axis=2)  # (B, C, N, N) each
    return tf.transpose(tf.complex(re, im), [0, 2, 3, 1])


def far_field_amplitude(field: tf.Tensor) -> tf.Tensor:
    """``sqrt(fftshift(|FFT2 ψ|²) / N²)`` per channel.

    Parameters
    ----------
    field : complex64 (B, N, N, C)

    Returns
    -------
    float32 (B, N, N, C)
    """
    N = field.shape[1]
    spectrum = tf.signal.fft2d(tf.transpose(field, [0, 3, 1, 2]))
    intensity = tf.math.square(tf.abs(spectrum)) / float(N * N)
    intensity = tf.signal.fftshift(intensity, axes=(-2, -1))
    return tf.transpose(tf.sqrt(intensity), [0, 2, 3, 1])


def gaussian_kernel_3x3(sigma: float) -> np.ndarray:
    """Normalised 3×3 Gaussian kernel (float32 (3, 3))."""
    x = np.arange(-1, 2, dtype=np.float64)
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    return (g / g.sum()).astype(np.float32)
