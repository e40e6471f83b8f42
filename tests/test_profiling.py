"""The step profile's op categories and wall-time split, and the conv FLOP count (no timings)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ptychobench.model.flops import conv_counts
from ptychobench.training import profiling as prof
from ptychobench.training.profiling import Event

# op name and type as TF 2.21 names them in a trace of the training step → expected category
OPS = [
    ("ptycho_pinn_1/encoder_0_1/conv2d_1/Relu", "_FusedConv2D", prof.CONV_FORWARD),
    ("ptycho_pinn_1/encoder_0_1/conv2d_1/convolution", "Conv2D", prof.CONV_FORWARD),
    ("ptycho_pinn_1/probe_illumination_1/depthwise", "DepthwiseConv2dNative", prof.CONV_FORWARD),
    ("gradient_tape/ptycho_pinn_1/encoder_1_1/conv2d_3_1/convolution/Conv2DBackpropFilter",
     "Conv2DBackpropFilter", prof.CONV_BACKWARD),
    ("gradient_tape/ptycho_pinn_1/phase_head_1/conv2d_15_1/convolution/Conv2DBackpropInput",
     "Conv2DBackpropInput", prof.CONV_BACKWARD),
    ("gradient_tape/ptycho_pinn_1/encoder_1_1/conv2d_3_1/BiasAdd/BiasAddGrad", "BiasAddGrad", prof.CONV_BACKWARD),
    ("gradient_tape/ptycho_pinn_1/probe_illumination_1/depthwise/DepthwiseConv2dNativeBackpropInput",
     "DepthwiseConv2dNativeBackpropInput", prof.CONV_BACKWARD),
    ("ptycho_pinn_1/ImageProjectiveTransformV3", "ImageProjectiveTransformV3", prof.TRANSLATIONS),
    ("gradient_tape/ptycho_pinn_1/ImageProjectiveTransformV3_1", "ImageProjectiveTransformV3", prof.TRANSLATIONS),
    ("ptycho_pinn_1/translation/MatMul_1", "BatchMatMulV2", prof.TRANSLATIONS),
    ("ptycho_pinn_1/translation_1/MatMul", "BatchMatMulV2", prof.TRANSLATIONS),  # the scope's second use
    ("ptycho_pinn_1/translation/Relu", "Relu", prof.TRANSLATIONS),  # the hat weights, not an activation
    ("gradient_tape/ptycho_pinn_1/translation_1/MatMul_1/MatMul", "BatchMatMulV2", prof.TRANSLATIONS),
    ("ptycho_pinn_1/translational/MatMul", "BatchMatMulV2", prof.OTHER),  # not the scope
    ("max_pool_grad_2/one_hot", "OneHot", prof.CNN_OTHER),  # a custom gradient's ops: top level
    ("max_pool_grad/transpose", "Transpose", prof.CNN_OTHER),
    ("ptycho_pinn_1/FFT2D", "FFT2D", prof.FFT),
    ("gradient_tape/ptycho_pinn_1/IFFT2D", "IFFT2D", prof.FFT),
    ("ptycho_pinn_1/fftshift", "Roll", prof.FFT),
    ("ptycho_pinn_1/probe_illumination_1/Complex", "Complex", prof.COMPLEX),
    ("ptycho_pinn_1/Abs", "ComplexAbs", prof.COMPLEX),
    ("gradient_tape/ptycho_pinn_1/probe_illumination_1/mul/Conj", "Conj", prof.COMPLEX),
    ("ptycho_pinn_1/Imag", "Imag", prof.COMPLEX),
    ("gradient_tape/ptycho_pinn_1/encoder_2_1/max_pooling2d_2_1/MaxPool2d/MaxPoolGrad", "MaxPoolGrad", prof.CNN_OTHER),
    ("gradient_tape/ptycho_pinn_1/phase_decoder_1_1/conv2d_13_1/ReluGrad", "ReluGrad", prof.CNN_OTHER),
    ("ptycho_pinn_1/phase_decoder_0_1/up_sampling2d_2_1/Repeat/Tile", "Tile", prof.CNN_OTHER),
    ("ptycho_pinn_1/phase_head_1/Tanh", "Tanh", prof.CNN_OTHER),
    ("adam/truediv_4", "RealDiv", prof.OPTIMIZER),
    ("adam/AssignAddVariableOp_17", "AssignAddVariableOp", prof.OPTIMIZER),
    ("adam/Sub_83/ReadVariableOp", "ReadVariableOp", prof.OPTIMIZER),
    ("Log", "Log", prof.LOSS),
    ("Mean_1", "Mean", prof.LOSS),
    ("gradient_tape/sub_1/Sum", "Sum", prof.LOSS),
    ("gradient_tape/SelectV2", "SelectV2", prof.LOSS),
    ("AddN_4", "AddN", prof.OTHER),
    ("gradient_tape/ptycho_pinn_1/strided_slice_21/StridedSliceGrad", "StridedSliceGrad", prof.OTHER),
    ("ptycho_pinn_1/probe_illumination_1/mul_1", "Mul", prof.OTHER),
    ("ptycho_pinn_1/phase_head_1/Pad", "Pad", prof.OTHER),
    ("ptycho_pinn_1/Square", "Square", prof.OTHER),
]


@pytest.mark.parametrize("name, op_type, expected", OPS, ids=[f"{t}:{n}" for n, t, _ in OPS])
def test_categorize(name, op_type, expected):
    assert prof.categorize(name, op_type) == expected


def test_wall_time_split_by_hand():
    # line 1: A 0-10, inside it B 2-4 (nested); line 2: C 5-15. Window 0-20.
    # 0-2 A; 2-4 B; 4-5 A; 5-10 A and C share (2.5 each); 10-15 C; 15-20 nothing.
    ops = [Event(1, 0, 10, "a", "A"), Event(1, 2, 4, "b", "B"), Event(2, 5, 15, "c", "C")]
    got = prof.attribute_wall_time(ops, (0, 20), key=lambda op: op.op_type)
    assert got == pytest.approx({"A": 2 + 1 + 2.5, "B": 2, "C": 2.5 + 5})
    # a window cuts events: 3-12 → B 3-4, A 4-5, A|C 5-10, C 10-12
    got = prof.attribute_wall_time(ops, (3, 12), key=lambda op: op.op_type)
    assert got == pytest.approx({"A": 1 + 2.5, "B": 1, "C": 2.5 + 2})


def test_summary_partitions_the_steps():
    ms = 10**9  # picoseconds
    marker = dict(line=0, op_type=None)
    events = [
        Event(name=prof.STEP_MARKER, start=0, end=10 * ms, **marker),
        Event(name=prof.INPUT_MARKER, start=0, end=1 * ms, **marker),
        Event(name=prof.CALL_MARKER, start=1 * ms, end=9 * ms, **marker),
        Event(name=prof.STEP_MARKER, start=12 * ms, end=20 * ms, **marker),
        Event(name=prof.CALL_MARKER, start=12 * ms, end=20 * ms, **marker),
        Event(1, 2 * ms, 8 * ms, "ptycho_pinn_1/FFT2D", "FFT2D"),
        Event(1, 13 * ms, 19 * ms, "adam/Sqrt", "Sqrt"),
    ]
    summary = prof.summarize(events)
    rows = {r["category"]: r["ms_per_step"] * 2 for r in summary["categories"]}
    assert summary["steps"] == 2 and summary["wall_ms"] == pytest.approx(20)
    assert rows[prof.FFT] == pytest.approx(6) and rows[prof.OPTIMIZER] == pytest.approx(6)
    assert rows[prof.IDLE_IN_STEP] == pytest.approx(2 + 2)  # (8 − 6) in each call
    assert rows[prof.INPUT] == pytest.approx(1)
    assert rows[prof.BETWEEN] == pytest.approx(1 + 2)  # 9-10 inside step 1, the gap 10-12
    assert sum(r["share"] for r in summary["categories"]) == pytest.approx(1)


def test_conv_flops_of_a_small_stack():
    conv_same = keras.layers.Conv2D(5, 3, padding="same")
    conv_valid = keras.layers.Conv2D(2, 3, padding="valid")
    depthwise = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    counts = conv_counts(
        lambda x: depthwise(conv_valid(conv_same(x))), tf.TensorSpec([1, 8, 8, 3], tf.float32)
    )
    # per sample: 2 · H_out · W_out · kh · kw · C_in · C_out (depthwise: C_in · multiplier)
    expected = [2 * 8 * 8 * 3 * 3 * 3 * 5, 2 * 6 * 6 * 3 * 3 * 5 * 2, 2 * 6 * 6 * 3 * 3 * 2 * 2]
    assert [c.flops for c in counts] == expected


def test_trace_of_a_small_step_is_read(tmp_path):
    """The xplane route works with this TensorFlow: a traced conv + FFT step shows up by category."""
    x = tf.random.normal([2, 16, 16, 3])
    k = tf.random.normal([3, 3, 3, 4])
    step = tf.function(lambda: tf.signal.fft2d(tf.complex(tf.nn.conv2d(x, k, 1, "SAME"), 0.0)))
    step()
    tf.profiler.experimental.start(str(tmp_path))
    with tf.profiler.experimental.Trace(prof.STEP_MARKER):
        with tf.profiler.experimental.Trace(prof.CALL_MARKER):
            np.asarray(step())
    tf.profiler.experimental.stop()
    summary = prof.summarize(prof.read_host_events(prof.find_xplane(tmp_path)))
    busy = {r["category"] for r in summary["categories"] if r["ms_per_step"] > 0}
    assert {prof.CONV_FORWARD, prof.FFT, prof.COMPLEX} <= busy
