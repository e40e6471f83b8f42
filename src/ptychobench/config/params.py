"""The legacy configuration: one global dictionary ``cfg``.

This module mirrors the original ``ptycho.params`` of the dose-experiments branch. It is
the only place in ptychobench that holds process-wide state, because the legacy design
demands it: every legacy stage reads its settings from ``cfg``.

* ``DEFAULT_CFG`` is the framework default table (dose-experiments values: ``N=64``,
  ``data_source='lines'``; every other key as in the original ``DEFAULT_CFG``).
* :func:`get`, :func:`set`, :func:`params`, :func:`validate` follow the legacy rules.
* :func:`bigN` and :func:`get_padded_size` are the derived sizes.
* :func:`init` and :func:`execute` are the two halves of the ``notebooks/dose.py`` recipe.
* :func:`capture_defaults` deep-copies the framework defaults without touching ``cfg``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from ..errors import ConfigError

#: Legacy framework defaults (original ``params.DEFAULT_CFG``, dose-experiments flavour).
DEFAULT_CFG: dict[str, Any] = {
    "N": 64,
    "offset": 4,
    "gridsize": 2,
    "outer_offset_train": None,
    "outer_offset_test": None,
    "batch_size": 16,
    "nepochs": 60,
    "n_filters_scale": 2,
    "output_prefix": "outputs",
    "big_gridsize": 10,
    "max_position_jitter": 10,
    "sim_jitter_scale": 0.0,
    "default_probe_scale": 0.7,
    "mae_weight": 0.0,
    "nll_weight": 1.0,
    "tv_weight": 0.0,
    "realspace_mae_weight": 0.0,
    "realspace_weight": 0.0,
    "nphotons": 1e9,
    "nimgs_train": 9,
    "nimgs_test": 3,
    "data_source": "lines",
    "probe.trainable": False,
    "intensity_scale.trainable": False,
    "positions.provided": False,
    "object.big": True,
    "probe.big": False,
    "probe_scale": 10.0,
    "set_phi": False,
    "probe.mask": True,
    "pad_object": True,
    "model_type": "pinn",
    "label": "",
    "size": 392,
    "amp_activation": "sigmoid",
    "h5_path": "wts.h5",
    "npseed": 42,
    "debug": True,
    "gaussian_smoothing_sigma": 0.0,
}

#: Keys that are not defaults but are written at run time by the pipeline (the intensity
#: scale and the normalised probe) or copied in by ``update_legacy_dict``.
RUNTIME_KEYS = frozenset(
    {
        "intensity_scale",
        "probe",
        "train_data_file_path",
        "test_data_file_path",
        "n_groups",
        "n_images",
        "n_subsample",
        "subsample_seed",
        "neighbor_count",
        "enable_oversampling",
        "neighbor_pool_size",
        "sequential_sampling",
        "backend",
        "torch_loss_mode",
        "model_path",
    }
)

ALLOWED_N = (64, 128, 256)
ALLOWED_DATA_SOURCES = (
    "lines",
    "grf",
    "experimental",
    "points",
    "testimg",
    "diagonals",
    "xpp",
    "V",
    "generic",
)
ALLOWED_LOSS_FNS = ("nll", "mae")
ALLOWED_ACTIVATIONS = ("sigmoid", "swish", "softplus", "relu")

#: The global legacy configuration. Pipelines call :func:`reset` before they start.
cfg: dict[str, Any] = copy.deepcopy(DEFAULT_CFG)


def capture_defaults() -> dict[str, Any]:
    """Deep copy of the framework defaults; neither ``cfg`` nor ``DEFAULT_CFG`` changes."""
    return copy.deepcopy(DEFAULT_CFG)


def snapshot() -> dict[str, Any]:
    """Deep copy of the current ``cfg`` (the probe array is summarised, not copied)."""
    out = {}
    for key, value in cfg.items():
        if key == "probe" and value is not None:
            out[key] = f"<array {getattr(value, 'shape', '?')}>"
        else:
            out[key] = copy.deepcopy(value)
    return out


def reset() -> None:
    """Restore ``cfg`` to the framework defaults (in place, so imported references stay valid)."""
    cfg.clear()
    cfg.update(copy.deepcopy(DEFAULT_CFG))


def get(key: str) -> Any:
    """Value of ``key``; the derived keys ``bigN`` and ``padded_size`` are computed."""
    if key == "bigN":
        return bigN()
    if key == "padded_size":
        return get_padded_size()
    if key not in cfg:
        raise ConfigError(key, "unknown legacy configuration key")
    return cfg[key]


def set(key: str, value: Any) -> None:  # noqa: A001 - the legacy API is called ``set``
    """Set one key; unknown keys are refused (a typo would otherwise be silently ignored)."""
    if key not in DEFAULT_CFG and key not in RUNTIME_KEYS:
        raise ConfigError(key, "unknown legacy configuration key")
    cfg[key] = value


def params() -> dict[str, Any]:
    """Copy of ``cfg`` with the derived sizes added, as the legacy ``params()`` returns."""
    out = dict(cfg)
    out["bigN"] = bigN()
    out["padded_size"] = get_padded_size()
    return out


def bigN() -> int:
    """Solution-region (group) size: ``N + (gridsize - 1) * offset`` pixels."""
    return int(cfg["N"] + (cfg["gridsize"] - 1) * cfg["offset"])


def get_padded_size() -> int:
    """Model canvas size: ``bigN + max_position_jitter`` pixels."""
    return int(bigN() + cfg["max_position_jitter"])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A real int/float (not bool) that converts to a finite float."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def validate(c: dict[str, Any] | None = None) -> None:
    """Check the legacy rules; raise :class:`ConfigError` naming the first bad key."""
    c = cfg if c is None else c
    if not _is_int(c["N"]) or c["N"] not in ALLOWED_N:
        raise ConfigError("N", f"must be one of {ALLOWED_N}, got {c['N']!r}")
    if not _is_int(c["gridsize"]) or c["gridsize"] < 1:
        raise ConfigError("gridsize", f"must be an integer >= 1, got {c['gridsize']!r}")
    for key in ("offset", "batch_size", "nepochs", "n_filters_scale", "size"):
        if not _is_int(c[key]) or c[key] < 1:
            raise ConfigError(key, f"must be an integer >= 1, got {c[key]!r}")
    if not _is_int(c["max_position_jitter"]) or c["max_position_jitter"] < 0:
        raise ConfigError(
            "max_position_jitter", f"must be an integer >= 0, got {c['max_position_jitter']!r}"
        )
    for key in ("outer_offset_train", "outer_offset_test"):
        value = c[key]
        if value is not None and (not _is_int(value) or value < 2 or value % 2):
            raise ConfigError(key, f"must be None or an even integer >= 2, got {value!r}")
    if not is_finite_number(c["nphotons"]) or c["nphotons"] <= 0:
        raise ConfigError("nphotons", f"must be a finite number > 0, got {c['nphotons']!r}")
    if c["data_source"] not in ALLOWED_DATA_SOURCES:
        raise ConfigError(
            "data_source", f"must be one of {ALLOWED_DATA_SOURCES}, got {c['data_source']!r}"
        )
    if c["amp_activation"] not in ALLOWED_ACTIVATIONS:
        raise ConfigError(
            "amp_activation",
            f"must be one of {ALLOWED_ACTIVATIONS}, got {c['amp_activation']!r}",
        )
    for key in (
        "mae_weight",
        "nll_weight",
        "tv_weight",
        "realspace_mae_weight",
        "realspace_weight",
        "probe_scale",
        "default_probe_scale",
        "sim_jitter_scale",
        "gaussian_smoothing_sigma",
    ):
        if not is_finite_number(c[key]) or c[key] < 0:
            raise ConfigError(key, f"must be a finite number >= 0, got {c[key]!r}")
    for key in ("probe_scale", "default_probe_scale"):
        if c[key] == 0:
            raise ConfigError(key, "must be > 0")
    if c["realspace_mae_weight"] > 0 and c["realspace_weight"] == 0:
        raise ConfigError(
            "realspace_weight",
            "must be > 0 when realspace_mae_weight > 0 (the real-space term is otherwise dropped)",
        )
    for key in (
        "probe.trainable",
        "intensity_scale.trainable",
        "positions.provided",
        "object.big",
        "probe.big",
        "probe.mask",
        "set_phi",
        "pad_object",
    ):
        if not isinstance(c[key], bool):
            raise ConfigError(key, f"must be True or False, got {c[key]!r}")


# --- the dose recipe (notebooks/dose.py) -------------------------------------------


def init(nphotons: float, loss_fn: str = "nll") -> None:
    """First half of the dose recipe: the settings ``dose.py``'s ``init`` writes.

    ``loss_fn='mae'`` switches to MAE (mae 1 / nll 0); ``'nll'`` keeps the current
    weights (the framework defaults mae 0 / nll 1), exactly as the original's
    conditional assignment does.
    """
    if loss_fn not in ALLOWED_LOSS_FNS:
        raise ConfigError("loss_fn", f"must be one of {ALLOWED_LOSS_FNS}, got {loss_fn!r}")
    if not is_finite_number(nphotons) or nphotons <= 0:
        raise ConfigError("nphotons", f"must be a finite number > 0, got {nphotons!r}")
    cfg["positions.provided"] = False
    cfg["data_source"] = "lines"
    cfg["set_phi"] = False
    cfg["nepochs"] = 60
    cfg["offset"] = 4
    cfg["max_position_jitter"] = 3
    cfg["output_prefix"] = "lines3"
    cfg["gridsize"] = 2
    cfg["n_filters_scale"] = 2
    cfg["object.big"] = True
    cfg["intensity_scale.trainable"] = True
    cfg["probe.trainable"] = False
    cfg["outer_offset_train"] = 8
    cfg["outer_offset_test"] = 20
    cfg["nimgs_train"] = 2
    cfg["nimgs_test"] = 2
    cfg["nphotons"] = nphotons
    if loss_fn == "mae":
        cfg["mae_weight"] = 1.0
        cfg["nll_weight"] = 0.0
    # loss_fn == 'nll': keep the current weights, as the original does.
    validate()


def execute(nphotons: float) -> None:
    """Second half of the dose recipe: ``execute`` re-sets keys, jitter back to 10."""
    cfg["nphotons"] = nphotons
    cfg["data_source"] = "lines"
    cfg["offset"] = 4
    cfg["max_position_jitter"] = 10
    cfg["output_prefix"] = "lines2"
    cfg["gridsize"] = 2
    cfg["n_filters_scale"] = 2
    cfg["object.big"] = True
    cfg["intensity_scale.trainable"] = True
    validate()
