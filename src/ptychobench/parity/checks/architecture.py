"""The models' layers, parameter counts, overlap normaliser, head range and far field."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ...model import physics_layers as phys
from ...model.network import count_params
from ...physics import forward
from ...pipelines import common
from .. import reference as ref
from .. import tables
from .rows import CheckResult, Rows


def expected_trainable_params(spec, include_log_scale: bool) -> int:
    """Trainable parameters from the layer shapes alone (3×3 convolutions, weights + biases)."""
    def conv(cin, cout):
        return 9 * cin * cout + cout

    nfs = spec.n_filters_scale
    enc, dec = spec.ladder
    total, cin = 0, spec.channels
    for f in enc:
        total += conv(cin, f * nfs) + conv(f * nfs, f * nfs)
        cin = f * nfs
    for _ in range(2):  # amplitude and phase decoders
        c = cin
        for f in dec:
            total += conv(c, f * nfs) + conv(f * nfs, f * nfs)
            c = f * nfs
    last = dec[-1] * nfs
    for k in (spec.amp_out_channels, spec.phase_out_channels):
        if spec.pad_object:
            total += conv(last - 4, k)
        if spec.probe_big or not spec.pad_object:
            src = 4 if spec.pad_object else last
            total += conv(src, spec.x2_filters) + conv(spec.x2_filters, spec.x2_filters) + conv(spec.x2_filters, k)
    if spec.probe_trainable:
        total += 2 * spec.N * spec.N
    return total + (1 if include_log_scale else 0)


def forward_layer_error(prep: common.Prepared) -> float:
    """Model far-field layer vs the (fixture-checked) physics forward model on one random field."""
    rng = np.random.default_rng(0)
    N = prep.spec.N
    field_ = (rng.random((2, N, N, 2)) + 1j * rng.random((2, N, N, 2))).astype(np.complex64)
    model_amp = phys.far_field_amplitude(tf.constant(field_)).numpy()
    want = np.moveaxis(forward.far_field_amplitude(np.moveaxis(field_, 3, 1)), 1, 3)
    return float(np.abs(model_amp - want).max() / want.max())


def overlap_normaliser_error(prep: common.Prepared) -> float:
    """Reassembling C all-ones patches at zero offsets gives ``C / (C·mask + 0.001)``: the sum
    over C patches divided by the reassembled central-N/2 mask plus 0.001 (M
    ``tf_helper.py:1092-1131``), so ``C/(C + 0.001)`` inside and ``C/0.001`` outside (the
    original's 1000× amplification of anything outside the central N/2). Largest relative
    deviation from that formula."""
    N, C = prep.spec.N, prep.spec.channels
    ones = tf.complex(tf.ones([1, N, N, C]), tf.zeros([1, N, N, C]))
    canvas = phys.center_crop(phys.reassemble_patches(ones, tf.zeros([1, 1, 2, C]), prep.spec.padded_size), N)
    want = C / (C * phys.central_mask(N) + ref.ORIGINAL_OVERLAP_EPS)
    return float((np.abs(np.real(canvas.numpy()[0, :, :, 0]) - want) / want).max())


def amplitude_head_range(prep: common.Prepared) -> tuple[float, float]:
    """Smallest and largest amplitude the model's head produces on large random inputs."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(0, 50, (4, prep.spec.N, prep.spec.N, prep.spec.channels)).astype(np.float32))
    amp = np.abs(prep.model.object_patches(x * float(np.exp(prep.model.log_scale_value()))).numpy())
    return float(amp.min()), float(amp.max())


def _large_input(prep: common.Prepared, seed: int = 3) -> tf.Tensor:
    """Diffraction-shaped inputs large enough to drive every head into its range, pre-multiplied by
    ``exp(log_scale)`` so the scaler hands the network N(0, 50²) values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 50, (4, prep.spec.N, prep.spec.N, prep.spec.channels)) * np.exp(prep.model.log_scale_value())
    return tf.constant(x.astype(np.float32))


def scaler_errors(prep: common.Prepared) -> dict:
    """The shared intensity scaler on a random batch against ``x / exp(log_scale)`` (input side)
    and ``x · exp(log_scale)`` (output side), written out in float64 from the variable's value
    (DE ``ptycho/model.py`` IntensityScaler / IntensityScaler_inv). Largest relative errors."""
    x = np.random.default_rng(5).uniform(0.5, 2.0, (2, prep.spec.N, prep.spec.N, prep.spec.channels))
    x = x.astype(np.float32)
    s = math.exp(prep.model.log_scale_value())
    got_in = prep.model.scaler(tf.constant(x)).numpy().astype(np.float64)
    got_out = prep.model.scaler(tf.constant(x), inverse=True).numpy().astype(np.float64)
    return {"input": float(np.abs(got_in / (x / s) - 1).max()), "output": float(np.abs(got_out / (x * s) - 1).max())}


def heads(prep: common.Prepared, x: tf.Tensor):
    """``(amp, phase, object)``: the two heads' outputs and the model's complex object patches for
    input ``x``, the heads reached by walking the model's layers in the original's order
    (scaler, encoder, each decoder, its head)."""
    m = prep.model
    h = m.scaler(x)
    for layer in m.encoder:
        h = layer(h)
    a = p = h
    for layer in m.amp_decoder:
        a = layer(a)
    for layer in m.phase_decoder:
        p = layer(p)
    return m.amp_head(a).numpy(), m.phase_head(p).numpy(), m.object_patches(x).numpy()


def check_architecture(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Layers of the two models against each other; parameter counts, overlap normaliser,
    head range and far field against formulas.

    Reference: the other pipeline (layer by layer); counts from the layer shapes; the
    overlap normaliser ``C/(C + 0.001)``; the sigmoid head's ceiling 1 (DE ``params.py:20``);
    the fixture-checked physics far field; ``known_differences.toml`` for the amp head.
    """
    r = Rows()
    tl, tm = legacy.model.architecture_table(), modern.model.architecture_table()
    doc = tables.known_differences()["architecture"]["amp_head_channels"]
    expected_heads = {"legacy": doc["legacy"],
                      "modern": legacy.spec.channels if doc["modern"] == tables.CHANNELS else doc["modern"]}
    by_name = {row["layer"]: row for row in tm}
    layer_rows = []
    for row in tl:
        m = by_name.get(row["layer"])
        if m is None:
            r.fail(f"layer {row['layer']} exists only in legacy")
            continue
        same = row["output_shape"] == m["output_shape"] and row["params"] == m["params"]
        layer_rows.append({"layer": row["layer"], "legacy_shape": row["output_shape"], "legacy_params": row["params"],
                           "modern_shape": m["output_shape"], "modern_params": m["params"], "same": same})
        if row["layer"] != "amp_head":
            r.equal(f"layer {row['layer']} (shape, params) legacy vs modern",
                    (row["output_shape"], row["params"]), (m["output_shape"], m["params"]))
    for row in tm:
        if row["layer"] not in {x["layer"] for x in tl}:
            r.fail(f"layer {row['layer']} exists only in modern")
    counts = {}
    for prep in (legacy, modern):
        r.equal(f"{prep.pipeline} amplitude head channels", prep.spec.amp_out_channels, expected_heads[prep.pipeline])
        got = count_params(prep.model)
        want = expected_trainable_params(prep.spec, prep.spec.intensity_scale_trainable)
        counts[prep.pipeline] = {"trainable": got, "expected_from_shapes": want}
        r.equal(f"{prep.pipeline} trainable parameters vs layer shapes", got, want)
        r.within(f"{prep.pipeline}: model far field vs physics forward model", forward_layer_error(prep),
                 "architecture", "forward_rel_to_max")
        r.within(f"{prep.pipeline}: overlap normaliser vs C/(C mask + 0.001) (relative)",
                 overlap_normaliser_error(prep), "architecture", "normaliser_rel")
        lo, hi = amplitude_head_range(prep)
        ok = lo >= 0.0 and hi <= ref.ORIGINAL_AMP_ACTIVATION_CEILING
        r.equal(f"{prep.pipeline}: amplitude head stays in [0, 1] (sigmoid)", ok, True)
        errors = scaler_errors(prep)
        for side, formula in (("input", "x / exp(log_scale)"), ("output", "x * exp(log_scale)")):
            r.within(f"{prep.pipeline}: intensity scaler {side} side vs {formula} (relative)", errors[side],
                     "architecture", "scaler_rel")
        amp, phase, obj = heads(prep, _large_input(prep))
        want = amp.astype(np.float64) * np.exp(1j * phase.astype(np.float64))  # amp broadcast over C
        r.within(f"{prep.pipeline}: object patches vs amp * exp(+i phase) of the heads (relative to max)",
                 float(np.abs(obj - want).max() / np.abs(want).max()), "architecture", "combine_rel_to_max")
        r.inside(f"{prep.pipeline}: phase head max |phase| / pi (pi tanh: within (0.9, 1])",
                 float(np.abs(phase).max() / math.pi), 0.9, 1.0, "architecture: pi tanh saturates on N(0, 50^2)")
    details = {"layers": layer_rows, "legacy": tl, "modern": tm, "param_counts": counts,
               "amp_head_channels": {p.pipeline: p.spec.amp_out_channels for p in (legacy, modern)},
               "amp_head_why": doc["why"]}
    return r.result("architecture", "the other pipeline; layer-shape formula; C/(C+0.001); sigmoid ceiling; "
                    "physics far field", details)


