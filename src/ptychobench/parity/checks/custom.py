"""The custom-probe path of the sim-lines scenarios (probe.big, no mask, probe_scale 4), built
from a probe file even when the user has none: the parts of the model and the data path that
only the custom scenarios use."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from ...model.network import count_params
from ...physics import probe as probe_mod
from ...pipelines import common
from .. import reference as ref
from .architecture import CODE_BASE, _large_input, heads
from .rows import CheckResult, Rows, rel

#: The custom scenarios' settings (facts §5.3, §9: sim_lines ``custom`` → probe.big True,
#: probe.mask False, probe_scale 4).
ORIGINAL_CUSTOM_SETTINGS = {"probe.big": True, "probe.mask": False, "probe_scale": 4.0}
#: The ideal probe at N = 64 normalised with probe_scale 4, as the investigation recorded it
#: (facts §2): max |P| 2.72, Σ|P|² 2505 (printed to 3 and 4 significant digits).
RECORDED_PS4_PROBE = {"max": (2.72, 0.005 / 2.72), "energy": (2505.0, 0.5 / 2505.0)}


def prepare_custom(modern: common.Prepared) -> common.Prepared:
    """The ``gs2_custom`` scenario with ``modern``'s model settings (N, gridsize, filters, dose,
    seed) on the tiny profile's data sizes (nothing checked here depends on them), its
    'measured' probe the ideal probe written to a temporary NPZ (so its normalisation has
    recorded values)."""
    from ...pipelines import modern as modern_pipeline
    from ...pipelines.profiles import get_profile

    tiny = get_profile("tiny")
    profile = dataclasses.replace(modern.profile, modern_size=tiny.modern_size, modern_positions=tiny.modern_positions,
                                  modern_train_groups=tiny.modern_train_groups,
                                  modern_test_groups=tiny.modern_test_groups)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.npz"
        np.savez(path, probeGuess=probe_mod.default_probe(modern.spec.N, 0.7))
        return modern_pipeline.prepare(profile, modern.seed, scenario="gs2_custom", probe_file=path)


def check_custom_path(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """The custom scenario's settings, probe, illumination and probe.big branch.

    Reference: the custom settings (``ORIGINAL_CUSTOM_SETTINGS``, facts §5.3, §9); the
    original's filter lists with the probe.big branch (:func:`.reference.original_blocks`) and
    its built model's trainable count (``ORIGINAL_TRAINABLE_PARAMS``); the recorded max and
    energy of the ideal probe at probe_scale 4 (facts §2); without the mask the illumination
    of an all-ones object is the probe itself; the border branch is swish (DE
    ``ptycho/model.py:255``): it fills the border outside the centre mask and can go below 0,
    which no sigmoid can.
    """
    r = Rows()
    custom = prepare_custom(modern)
    spec, cfg = custom.spec, custom.config
    for key, want in ORIGINAL_CUSTOM_SETTINGS.items():
        r.equal(f"custom cfg[{key!r}]", cfg[key], want)
    for name, (want, tol) in RECORDED_PS4_PROBE.items():
        got = float(np.abs(custom.probe).max()) if name == "max" else float(np.sum(np.abs(custom.probe) ** 2))
        r.inside(f"custom probe {name} vs the recorded {want:g} (relative, half a unit in its last digit)",
                 rel(got, want), 0.0, tol, "recorded digits")
    blocks = ref.original_blocks(spec.N, spec.channels, spec.n_filters_scale, CODE_BASE["modern"], spec.probe_big)
    ours = {row["layer"]: row for row in custom.model.architecture_table()}
    for block in ("amp_head", "phase_head"):
        got = ours[block]
        r.equal(f"custom {block} (output shape, parameters) vs the original's with the probe.big branch",
                (got["output_shape"], got["params"]), blocks[block])
    key = ("M", spec.gridsize, spec.n_filters_scale, spec.probe_big)
    r.equal(f"custom trainable parameters vs the original's built model {key}", count_params(custom.model),
            ref.ORIGINAL_TRAINABLE_PARAMS[key] + int(spec.intensity_scale_trainable))
    ones = tf.complex(tf.ones([1, spec.N, spec.N, spec.channels]), tf.zeros([1, spec.N, spec.N, spec.channels]))
    lit = custom.model.illumination(ones).numpy()[0, :, :, 0]
    r.equal("custom illumination of an all-ones object = the probe (no mask)", lit, custom.probe)
    amp, _, _ = heads(custom, _large_input(custom))
    border = ref.center_mask(spec.N) == 0
    outside = amp[:, border, :]
    r.equal("custom amplitude head fills the border (the probe.big branch is there)",
            bool(np.abs(outside).max() > 0), True)
    r.equal("custom border values go below 0 somewhere (swish, not a sigmoid)", bool(outside.min() < 0), True)
    return r.result("custom_path", "custom settings (facts §5.3, §9); original_blocks with probe.big; "
                    "recorded probe at probe_scale 4 (facts §2); the unmasked probe; swish border",
                    {"trainable": count_params(custom.model), "border_min": float(outside.min())})
