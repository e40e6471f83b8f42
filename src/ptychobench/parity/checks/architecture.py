"""The models' layers, parameter counts, overlap normaliser, head range and far field."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ...model import physics_layers as phys
from ...model.network import count_params
from ...data import original_fixtures
from ...pipelines import common
from .. import reference as ref
from .. import tables
from .rows import CheckResult, Rows


def forward_layer_error() -> float:
    """The model's far-field layer on the original's patch times the original's probe against the
    original's noiseless far field of that product (``ptychobench/data/original``:
    ``fftshift(|FFT2(P·O)| / N)``), relative to its max."""
    folder = original_fixtures()
    patch = np.load(folder / "lines_seed42_patch_r164_c164_N64.npy")
    probe = np.load(folder / "probe_default_norm_N64.npy")
    want = np.load(folder / "diffamp_noiseless_lines42_patch164_probeNorm_N64.npy").astype(np.float64)
    field_ = (patch * probe).astype(np.complex64)[None, :, :, None]
    got = phys.far_field_amplitude(tf.constant(field_)).numpy()[0, :, :, 0]
    return float(np.abs(got - want).max() / want.max())


def overlap_normaliser_error(prep: common.Prepared) -> float:
    """Reassembling C all-ones patches at zero offsets gives ``C / (C·mask + 0.001)``: the sum
    over C patches divided by the reassembled central-N/2 mask plus 0.001 (M
    ``tf_helper.py:1092-1131``), so ``C/(C + 0.001)`` inside and ``C/0.001`` outside (the
    original's 1000× amplification of anything outside the central N/2). Largest relative
    deviation from that formula."""
    N, C = prep.spec.N, prep.spec.channels
    ones = tf.complex(tf.ones([1, N, N, C]), tf.zeros([1, N, N, C]))
    canvas = phys.center_crop(phys.reassemble_patches(ones, tf.zeros([1, 1, 2, C]), prep.spec.padded_size), N)
    want = C / (C * ref.center_mask(N) + ref.ORIGINAL_OVERLAP_EPS)
    return float((np.abs(np.real(canvas.numpy()[0, :, :, 0]) - want) / want).max())


def amplitude_head_range(prep: common.Prepared) -> tuple[float, float]:
    """Smallest and largest amplitude the model's head produces on large random inputs."""
    amp = np.abs(prep.model.object_patches(_large_input(prep)).numpy())
    return float(amp.min()), float(amp.max())


#: Which original code base each pipeline follows: DE (dose_experiments) for the legacy dose
#: recipe, M (main) for the modern front end.
CODE_BASE = {"legacy": "DE", "modern": "M"}


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
    """Both models block by block against the original's, and the physics layers against the
    original's definitions.

    Reference: the original's filter lists at N = 64 (:func:`.reference.original_blocks`: output
    shape and parameters of every block, DE for legacy, M for modern) and the trainable
    parameters of its built models (``ORIGINAL_TRAINABLE_PARAMS``); the overlap normaliser
    ``C/(C·mask + 0.001)`` with the original's centre mask (:func:`.reference.center_mask`); the
    sigmoid head's ceiling 1 (DE ``params.py:20``); the intensity scaler ``x / exp(log_scale)``
    in and ``x · exp(log_scale)`` out; the phase head ``π·tanh`` and the object ``amp·exp(+iφ)``
    (DE ``tf_helper.py:42-45``); the original's far field of its own patch and probe (fixture).
    """
    r = Rows()
    doc = tables.known_differences()["architecture"]["amp_head_channels"]
    tables_ = {p.pipeline: {row["layer"]: row for row in p.model.architecture_table()} for p in (legacy, modern)}
    layer_rows, counts = {}, {}
    # both models share the far-field layer: one row
    r.within("model far field of the original's patch x probe vs the original's (fixture)", forward_layer_error(),
             "architecture", "forward_rel_to_max")
    for prep in (legacy, modern):
        code_base = CODE_BASE[prep.pipeline]
        spec, ours = prep.spec, tables_[prep.pipeline]
        try:
            blocks = ref.original_blocks(spec.N, spec.channels, spec.n_filters_scale, code_base, spec.probe_big)
        except KeyError as err:
            r.fail(f"{prep.pipeline}: {err.args[0]}")
            blocks = {}
        for block, (shape, params) in blocks.items():
            got = ours.get(block)
            layer_rows.setdefault(block, {"layer": block})[prep.pipeline] = (
                (got["output_shape"], got["params"]) if got else None)
            layer_rows[block][code_base] = (shape, params)
            r.equal(f"{prep.pipeline} {block} (output shape, parameters) vs the original's ({code_base})",
                    (got["output_shape"], got["params"]) if got else "missing", (shape, params))
        key = (code_base, spec.gridsize, spec.n_filters_scale, spec.probe_big)
        got = count_params(prep.model)
        want = ref.ORIGINAL_TRAINABLE_PARAMS.get(key)
        counts[prep.pipeline] = {"trainable": got, "original": want, "key": list(key)}
        if want is None:
            r.fail(f"{prep.pipeline}: no trainable-parameter count of the original recorded for {key}")
        else:
            scale = int(prep.spec.intensity_scale_trainable)  # M adds its log_scale when it trains
            r.equal(f"{prep.pipeline} trainable parameters vs the original's built model {key}", got, want + scale)
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
    details = {"layers": list(layer_rows.values()), "param_counts": counts,
               "legacy": list(tables_["legacy"].values()), "modern": list(tables_["modern"].values()),
               "amp_head_channels": {p.pipeline: p.spec.amp_out_channels for p in (legacy, modern)},
               "amp_head_why": doc["why"]}
    return r.result("architecture", "the original's filter lists and built-model parameter counts "
                    "(reference.original_blocks, ORIGINAL_TRAINABLE_PARAMS); C/(C+0.001); sigmoid ceiling; the "
                    "scaler, phase head and complex combination written out; the original's far field", details)


