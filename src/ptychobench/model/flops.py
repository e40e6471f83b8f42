"""Convolution FLOP counts read from a traced graph.

A 3×3 'same' convolution producing an (H, W, C_out) map from C_in channels costs
``2 · H · W · kh · kw · C_in · C_out`` FLOPs per sample (one multiply and one add per
kernel tap; the zero border of 'same' padding is counted like any other tap, as the
usual convention does). Bias, activations, pooling, the physics (translations, FFTs,
complex products) are not counted: for the PINN they add well under 1% (the original's
recorded count, facts §11: 731 M conv MACs → 1.462 GFLOP per group; FFTs ~1 MFLOP).

Training costs ≈ 3× the forward count: every convolution also runs once for the
filter gradient and once for the input gradient, at the forward cost each; the first
convolution's input gradient is needed too because its input ``x / exp(log_scale)``
depends on the trainable ``log_scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

CONV_OP_TYPES = ("Conv2D", "DepthwiseConv2dNative")


@dataclass(frozen=True)
class ConvCount:
    """One convolution of the graph: its op name, shapes (without batch) and FLOPs per sample."""

    name: str
    output_hw: tuple[int, int]
    kernel: tuple[int, int, int, int]  # (kh, kw, C_in, C_out) or, depthwise, (kh, kw, C_in, multiplier)
    flops: int


def conv_counts(fn, *input_signature: tf.TensorSpec) -> list[ConvCount]:
    """Every Conv2D / DepthwiseConv2dNative op that ``fn(*inputs)`` runs, with its FLOPs per sample.

    ``fn`` is traced with ``input_signature`` (static spatial shapes needed; the batch
    size is irrelevant: counts are per sample). Keras layers are inlined into the traced
    graph, so its own operations are all there is to read.
    """
    graph = tf.function(fn, input_signature=list(input_signature)).get_concrete_function().graph
    counts = []
    for op in graph.get_operations():
        if op.type not in CONV_OP_TYPES:
            continue
        out = op.outputs[0].shape
        kernel = tuple(int(d) for d in op.inputs[1].shape)
        h, w = int(out[1]), int(out[2])
        # Conv2D: every output channel sums kh·kw·C_in taps; depthwise: each of the
        # C_in·multiplier outputs sums kh·kw taps. Both are 2·H·W·prod(kernel).
        counts.append(ConvCount(op.name, (h, w), kernel, 2 * h * w * int(np.prod(kernel))))
    return counts


def model_forward_conv_flops(model) -> list[ConvCount]:
    """The convolutions of one PINN forward pass, per group (shapes from ``model.spec``)."""
    spec = model.spec
    signature = (
        tf.TensorSpec([1, spec.N, spec.N, spec.channels], tf.float32),
        tf.TensorSpec([1, 1, 2, spec.channels], tf.float32),
    )
    return conv_counts(lambda x, c: model((x, c), training=False), *signature)
