"""A catalogue of deliberately broken variants: the proof that the parity suite can fail.

Each fault is a context manager that monkeypatches one thing the way a careless refactor
would break it. The suite must fail under every fault and pass without one
(``tests/parity/test_fault_catalogue.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from unittest import mock

import numpy as np

from ..config import modern as modern_config
from ..physics import forward
from ..pipelines import legacy, modern
from ..simulation import grouping, normalization


@contextlib.contextmanager
def loss_weights_swapped():
    """The bridge maps mae_weight and nll_weight onto each other."""
    swapped = {**modern_config.KEY_MAPPINGS, "mae_weight": "nll_weight", "nll_weight": "mae_weight"}
    with mock.patch.dict(modern_config.KEY_MAPPINGS, swapped):
        yield


@contextlib.contextmanager
def bridge_skipped():
    """The modern pipeline forgets ``update_legacy_dict`` (CONFIG-001)."""
    with mock.patch.object(modern, "bridge", lambda config: None):
        yield


@contextlib.contextmanager
def normalization_gain_twice():
    """``normalize_data`` multiplies by g twice."""
    original = normalization.normalize_data

    def twice(X, N):
        once, g = original(X, N)
        return (once * np.float32(g)).astype(np.float32), g

    with mock.patch.object(normalization, "normalize_data", twice):
        yield


@contextlib.contextmanager
def intensity_scale_swapped():
    """The simulation uses the closed-form scale where the dataset-derived one belongs."""
    def closed_form_instead(pattern_energy, nphotons):
        return float(np.sqrt(nphotons) / 32.0)

    with mock.patch.object(forward, "dataset_intensity_scale", closed_form_instead):
        yield


@contextlib.contextmanager
def probe_scale_default_changed():
    """``ModelConfig.probe_scale`` defaults to 5 instead of 4."""
    cls = modern_config.ModelConfig
    names = [f.name for f in dataclasses.fields(cls)]
    defaults = list(cls.__init__.__defaults__)
    defaults[names.index("probe_scale")] = 5.0
    with mock.patch.object(cls.__init__, "__defaults__", tuple(defaults)):
        yield


@contextlib.contextmanager
def coordinate_sign_flipped():
    """``local_offset_sign`` becomes +1."""
    with mock.patch.object(grouping, "LOCAL_OFFSET_SIGN", 1.0):
        yield


@contextlib.contextmanager
def fftshift_dropped():
    """The simulator's far field forgets its fftshift."""
    original = forward.far_field_amplitude

    def unshifted(psi, workers=-1):
        return np.fft.ifftshift(original(psi, workers), axes=(-2, -1))

    with mock.patch.object(forward, "far_field_amplitude", unshifted):
        yield


@contextlib.contextmanager
def amp_head_channels_changed():
    """The legacy model predicts C amplitude channels instead of one."""
    with mock.patch.object(legacy, "AMP_CHANNELS", "per_patch"):
        yield


FAULTS = {
    "loss_weights_swapped": loss_weights_swapped,
    "bridge_skipped": bridge_skipped,
    "normalization_gain_twice": normalization_gain_twice,
    "intensity_scale_swapped": intensity_scale_swapped,
    "probe_scale_default_changed": probe_scale_default_changed,
    "coordinate_sign_flipped": coordinate_sign_flipped,
    "fftshift_dropped": fftshift_dropped,
    "amp_head_channels_changed": amp_head_channels_changed,
}
