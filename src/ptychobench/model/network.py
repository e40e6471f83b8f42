"""The PINN: a CNN encoder with amplitude and phase decoders, followed by the physics.

Data flow of one group (shapes for N=64, gridsize 2, ``n_filters_scale`` 2):

1. input ``s_c·X`` (B, 64, 64, 4) ÷ ``exp(log_scale)``;
2. encoder: Conv-Conv-MaxPool ×3 (64, 128, 256 filters) → (B, 8, 8, 256);
3. two decoders (amplitude, phase), each Conv-Conv-UpSample ×2 (128, 64) → (B, 32, 32, 64);
4. heads: Conv2D 3×3 on channels ``[:-4]`` → activation (amplitude: sigmoid by default,
   phase: π·tanh) → zero-pad N/4 → (B, 64, 64, k); with ``probe.big`` a full-resolution
   swish branch fills the border;
5. ``object.big``: reassemble the C patches on the padded canvas (overlap normaliser
   +0.001) → output 1 ``trimmed_obj`` (B, 64, 64, 1), complex;
6. extract the C patches, multiply by the probe (and its mask), far field,
   × ``exp(log_scale)`` → output 2 ``pred_amp`` (B, 64, 64, 4); its square is output 3.

``log_scale`` is one variable per model, shared by the input and output scalers; it is
a weight of this model only (two models never share it).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from ..physics.probe import probe_mask
from . import physics_layers as phys
from .spec import ModelSpec


def _activation(name: str):
    if name == "pi_tanh":
        return lambda x: math.pi * tf.tanh(x)
    return keras.activations.get(name)


@tf.custom_gradient
def max_pool_2x2(x):
    """2×2 max pooling, stride 2, 'valid' (Keras ``MaxPooling2D(2)``), with an XLA-compilable gradient.

    The forward pass is TensorFlow's ``MaxPool``. The gradient goes to the first maximum of each
    window in row-major order, as TensorFlow's ``MaxPoolGrad`` does on the CPU, but is built
    from reshapes, ``argmax`` and ``one_hot``: XLA refuses ``MaxPoolGrad`` under
    ``enable_op_determinism`` (its GPU lowering scatters).

    Parameters
    ----------
    x : float32 (B, H, W, K); an odd last row or column is dropped, as 'valid' pooling does

    Returns
    -------
    float32 (B, H // 2, W // 2, K)
    """
    pooled = tf.nn.max_pool2d(x, 2, 2, "VALID")

    def grad(dy):
        with tf.name_scope("max_pool_grad"):  # the profiler's "pool/upsample/activation"
            b, k = tf.shape(x)[0], tf.shape(x)[3]
            h, w = x.shape[1] // 2, x.shape[2] // 2
            # (B, h, 2, w, 2, K) -> (B, h, w, K, 4): each window's four values in row-major order
            windows = tf.reshape(x[:, : 2 * h, : 2 * w, :], [b, h, 2, w, 2, k])
            windows = tf.reshape(tf.transpose(windows, [0, 1, 3, 5, 2, 4]), [b, h, w, k, 4])
            first = tf.argmax(windows, axis=-1, output_type=tf.int32)  # the first maximum on ties
            routed = tf.one_hot(first, 4, dtype=dy.dtype) * dy[..., None]  # (B, h, w, K, 4)
            routed = tf.transpose(tf.reshape(routed, [b, h, w, k, 2, 2]), [0, 1, 4, 2, 5, 3])
            routed = tf.reshape(routed, [b, 2 * h, 2 * w, k])
            return tf.pad(routed, [[0, 0], [0, x.shape[1] - 2 * h], [0, x.shape[2] - 2 * w], [0, 0]])

    return pooled, grad


class ConvPool(keras.layers.Layer):
    """Two 3×3 ReLU convolutions ('same'), then 2×2 max pooling (:func:`max_pool_2x2`)."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")
        self.conv2 = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")

    def call(self, x):
        return max_pool_2x2(self.conv2(self.conv1(x)))


class ConvUp(keras.layers.Layer):
    """Two 3×3 ReLU convolutions ('same'), then ×2 nearest upsampling."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")
        self.conv2 = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")
        self.up = keras.layers.UpSampling2D(2)

    def call(self, x):
        return self.up(self.conv2(self.conv1(x)))


class DecoderHead(keras.layers.Layer):
    """Last decoder stage (original ``create_decoder_last``).

    With ``pad_object``: ``x1 = act(conv(features[..., :-4]))`` zero-padded by N/4, so
    the object is predicted in the central N/2 only; with ``probe_big`` a branch
    ``x2 = swish(conv(ConvUp(features[..., -4:])))`` masked to the border is added.
    Without ``pad_object`` only a full-resolution branch with the activation is used.
    """

    def __init__(self, spec: ModelSpec, channels: int, activation: str, **kwargs):
        super().__init__(**kwargs)
        self.N, self.pad_object, self.probe_big = spec.N, spec.pad_object, spec.probe_big
        self.act = _activation(activation)
        self.conv1 = keras.layers.Conv2D(channels, 3, padding="same")
        if self.probe_big or not self.pad_object:
            self.up = ConvUp(spec.x2_filters)
            self.conv2 = keras.layers.Conv2D(channels, 3, padding="same")
        self.border = 1.0 - phys.central_mask(spec.N)[None, :, :, None]

    def call(self, features):
        if not self.pad_object:
            return self.act(self.conv2(self.up(features)))
        x1 = self.act(self.conv1(features[..., :-4]))
        q = self.N // 4
        x1 = tf.pad(x1, [[0, 0], [q, q], [q, q], [0, 0]])
        if self.probe_big:
            x2 = keras.activations.swish(self.conv2(self.up(features[..., -4:])))
            x1 = x1 + x2 * self.border
        return x1


class IntensityScale(keras.layers.Layer):
    """The shared intensity scaler: ``x / exp(log_scale)`` in, ``x · exp(log_scale)`` out."""

    def __init__(self, initial_scale: float, trainable_scale: bool, **kwargs):
        super().__init__(**kwargs)
        self.log_scale = self.add_weight(
            name="log_scale",
            shape=(),
            initializer=keras.initializers.Constant(math.log(initial_scale)),
            trainable=trainable_scale,
        )

    def call(self, x, inverse: bool = False):
        scale = tf.exp(self.log_scale)
        return x * scale if inverse else x / scale


class ProbeIllumination(keras.layers.Layer):
    """Multiply patches by the probe (optionally smoothed and masked)."""

    def __init__(self, probe: np.ndarray, spec: ModelSpec, **kwargs):
        super().__init__(**kwargs)
        probe = np.asarray(probe, np.complex64)
        self.probe_re = self.add_weight(
            name="probe_real",
            shape=probe.shape,
            initializer=keras.initializers.Constant(probe.real),
            trainable=spec.probe_trainable,
        )
        self.probe_im = self.add_weight(
            name="probe_imag",
            shape=probe.shape,
            initializer=keras.initializers.Constant(probe.imag),
            trainable=spec.probe_trainable,
        )
        self.mask = probe_mask(spec.N)[None, :, :, None] if spec.probe_mask else None
        sigma = spec.gaussian_smoothing_sigma
        self.kernel = (
            phys.gaussian_kernel_3x3(sigma)[:, :, None, None] if sigma > 0 else None
        )

    def probe(self) -> tf.Tensor:
        return tf.complex(self.probe_re, self.probe_im)[None, :, :, None]

    def call(self, patches):
        field = patches * self.probe()
        if self.kernel is not None:
            c = field.shape[-1]
            k = tf.tile(self.kernel, [1, 1, 2 * c, 1])
            parts = tf.concat([tf.math.real(field), tf.math.imag(field)], -1)
            parts = tf.nn.depthwise_conv2d(parts, k, [1, 1, 1, 1], "SAME")
            re, im = tf.split(parts, 2, axis=-1)
            field = tf.complex(re, im)
        if self.mask is not None:
            field = field * tf.cast(self.mask, tf.complex64)
        return field


class PtychoPINN(keras.Model):
    """The physics-informed network; ``call`` returns ``(trimmed_obj, pred_amp, pred_intensity)``.

    Parameters
    ----------
    spec : ModelSpec
    probe : complex64 (N, N)
        The normalised probe (the same one the simulation used).
    initial_scale : float
        Initial ``exp(log_scale)``: ``s_c`` in the modern flow, the simulation's
        ``s_sim`` in the legacy dose flow.
    """

    def __init__(self, spec: ModelSpec, probe: np.ndarray, initial_scale: float, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        nfs = spec.n_filters_scale
        enc, dec = spec.ladder
        self.scaler = IntensityScale(initial_scale, spec.intensity_scale_trainable, name="intensity_scale")
        self.encoder = [ConvPool(f * nfs, name=f"encoder_{i}") for i, f in enumerate(enc)]
        self.amp_decoder = [ConvUp(f * nfs, name=f"amp_decoder_{i}") for i, f in enumerate(dec)]
        self.phase_decoder = [ConvUp(f * nfs, name=f"phase_decoder_{i}") for i, f in enumerate(dec)]
        self.amp_head = DecoderHead(spec, spec.amp_out_channels, spec.amp_activation, name="amp_head")
        self.phase_head = DecoderHead(spec, spec.phase_out_channels, "pi_tanh", name="phase_head")
        self.illumination = ProbeIllumination(probe, spec, name="probe_illumination")
        self.layer_shapes: dict[str, tuple] = {}

    def _note(self, name: str, x):
        self.layer_shapes[name] = tuple(x.shape[1:])
        return x

    def object_patches(self, x):
        """The CNN part: complex object patches (B, N, N, C) from scaled diffraction."""
        h = self._note("scaled_input", self.scaler(x))
        for layer in self.encoder:
            h = self._note(layer.name, layer(h))
        a = p = h
        for layer in self.amp_decoder:
            a = self._note(layer.name, layer(a))
        for layer in self.phase_decoder:
            p = self._note(layer.name, layer(p))
        amp = self._note("amp_head", self.amp_head(a))
        phase = self._note("phase_head", self.phase_head(p))
        amp = tf.broadcast_to(amp, tf.shape(phase)) if amp.shape[-1] != phase.shape[-1] else amp
        return tf.complex(amp, 0.0 * amp) * tf.exp(tf.complex(0.0 * phase, phase))

    def call(self, inputs, training=False):
        x, coords_relative = inputs
        spec = self.spec
        obj = self.object_patches(x)
        if spec.object_big:
            canvas = phys.reassemble_patches(obj, coords_relative, spec.padded_size)
        else:
            canvas = phys.pad_to(obj, spec.padded_size)
        canvas = self._note("object_canvas", canvas)
        trimmed = self._note("trimmed_obj", phys.center_crop(canvas, spec.N))
        patches = self._note("extracted_patches", phys.extract_patches(canvas, coords_relative, spec.N))
        field = self._note("illuminated", self.illumination(patches))
        amp = phys.far_field_amplitude(field)
        pred_amp = self._note("pred_amp", self.scaler(amp, inverse=True))
        return trimmed, pred_amp, tf.square(pred_amp)

    def build_for(self, batch: int = 1) -> "PtychoPINN":
        """Create the weights by running one zero batch (records ``layer_shapes``)."""
        spec = self.spec
        x = tf.zeros([batch, spec.N, spec.N, spec.channels])
        c = tf.zeros([batch, 1, 2, spec.channels])
        self((x, c))
        return self

    def log_scale_value(self) -> float:
        return float(self.scaler.log_scale.numpy())

    def architecture_table(self) -> list[dict]:
        """Layer-by-layer output shape and parameter count (builds the model if needed)."""
        if not self.layer_shapes:
            self.build_for()
        params = {
            layer.name: int(sum(np.prod(w.shape) for w in layer.weights))
            for layer in self._flatten_layers(include_self=False, recursive=False)
        }
        rows = []
        for name, shape in self.layer_shapes.items():
            rows.append({"layer": name, "output_shape": list(shape), "params": params.get(name, 0)})
        rows.append({"layer": "intensity_scale", "output_shape": [], "params": params["intensity_scale"]})
        rows.append(
            {"layer": "probe_illumination", "output_shape": [], "params": params["probe_illumination"]}
        )
        return rows


def count_params(model: keras.Model, trainable: bool = True) -> int:
    weights = model.trainable_weights if trainable else model.non_trainable_weights
    return int(sum(np.prod(w.shape) for w in weights))
