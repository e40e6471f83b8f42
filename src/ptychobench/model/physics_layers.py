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


def translate(images: tf.Tensor, offsets: tf.Tensor) -> tf.Tensor:
    """Bilinear translation of each channel of each image by its own offset.

    Parameters
    ----------
    images : float32 (B, H, W, K)
    offsets : float32 (B, K, 2), ``[dx, dy]`` per channel

    Returns
    -------
    float32 (B, H, W, K); pixels shifted in from outside are 0.
    """
    shape = tf.shape(images)
    b, h, w, k = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [b * k, h, w, 1])
    d = tf.reshape(offsets, [b * k, 2])
    one, zero = tf.ones([b * k], tf.float32), tf.zeros([b * k], tf.float32)
    transforms = tf.stack([one, zero, -d[:, 0], zero, one, -d[:, 1], zero, zero], axis=1)
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=flat,
        transforms=transforms,
        output_shape=tf.stack([h, w]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.transpose(tf.reshape(moved, [b, k, h, w]), [0, 2, 3, 1])


def translate_complex(field: tf.Tensor, offsets: tf.Tensor) -> tf.Tensor:
    """:func:`translate` for complex64 (B, H, W, K): real and imaginary parts in one call."""
    both = tf.concat([tf.math.real(field), tf.math.imag(field)], axis=-1)
    moved = translate(both, tf.concat([offsets, offsets], axis=1))
    re, im = tf.split(moved, 2, axis=-1)
    return tf.complex(re, im)


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
    plus 0.001 (the original's overlap normaliser).

    Parameters
    ----------
    obj : complex64 (B, N, N, C)
    coords_relative : float32 (B, 1, 2, C)

    Returns
    -------
    complex64 (B, P, P, 1)
    """
    N = obj.shape[1]
    offsets = _channel_offsets(coords_relative, -1.0)
    summed = tf.reduce_sum(translate_complex(pad_to(obj, padded_size), offsets), -1, keepdims=True)
    ones = tf.ones_like(tf.math.real(obj)) * central_mask(N)[None, :, :, None]
    norm = tf.reduce_sum(translate(pad_to(ones, padded_size), offsets), -1, keepdims=True) + OVERLAP_EPS
    return tf.complex(tf.math.real(summed) / norm, tf.math.imag(summed) / norm)


def extract_patches(canvas: tf.Tensor, coords_relative: tf.Tensor, N: int) -> tf.Tensor:
    """The C patches a group's canvas illuminates: translate by ``+coords_relative_c``, crop N.

    Parameters
    ----------
    canvas : complex64 (B, P, P, 1)
    coords_relative : float32 (B, 1, 2, C)

    Returns
    -------
    complex64 (B, N, N, C)
    """
    C = coords_relative.shape[-1]
    repeated = tf.repeat(canvas, C, axis=-1)
    return center_crop(translate_complex(repeated, _channel_offsets(coords_relative, 1.0)), N)


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
