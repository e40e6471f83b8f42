"""The modern configuration: frozen dataclasses, bridged into the legacy dictionary.

``ModelConfig`` / ``TrainingConfig`` / ``InferenceConfig`` carry the original dataclass
fields and defaults (TensorFlow CNN path). Every instance is validated on construction,
so an invalid value never reaches the pipeline. :func:`update_legacy_dict` writes a
config into the legacy ``cfg`` with the original key mapping: nested ``model`` fields are
flattened, nine keys are renamed, ``None`` never overwrites, untouched keys stay.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .params import ALLOWED_ACTIVATIONS, ALLOWED_N, is_finite_number

#: Dataclass field name -> legacy ``cfg`` key, where they differ.
KEY_MAPPINGS: dict[str, str] = {
    "object_big": "object.big",
    "probe_big": "probe.big",
    "probe_mask": "probe.mask",
    "probe_trainable": "probe.trainable",
    "intensity_scale_trainable": "intensity_scale.trainable",
    "positions_provided": "positions.provided",
    "output_dir": "output_prefix",
    "train_data_file": "train_data_file_path",
    "test_data_file": "test_data_file_path",
}


def _require(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise ConfigError(name, message)


def _check_int(name: str, value: Any, minimum: int) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    _require(ok, name, f"must be an integer >= {minimum}, got {value!r}")


def _check_weight(name: str, value: Any) -> None:
    ok = is_finite_number(value) and value >= 0
    _require(ok, name, f"must be a finite number >= 0, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    _require(isinstance(value, bool), name, f"must be True or False, got {value!r}")


def _check_optional_int(name: str, value: Any, minimum: int) -> None:
    if value is not None:
        _check_int(name, value, minimum)


def _check_optional_path(name: str, value: Any) -> None:
    ok = value is None or isinstance(value, (str, Path))
    _require(ok, name, f"must be a path or None, got {type(value).__name__}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture settings (original ``ptycho.config.ModelConfig``, TF CNN path)."""

    N: int = 64
    gridsize: int = 1
    n_filters_scale: int = 2
    model_type: str = "pinn"
    amp_activation: str = "sigmoid"
    object_big: bool = True
    probe_big: bool = True
    probe_mask: bool = False
    pad_object: bool = True
    probe_scale: float = 4.0
    gaussian_smoothing_sigma: float = 0.0

    def __post_init__(self) -> None:
        _require(
            isinstance(self.N, int) and not isinstance(self.N, bool) and self.N in ALLOWED_N,
            "N",
            f"must be one of {ALLOWED_N}, got {self.N!r}",
        )
        _check_int("gridsize", self.gridsize, 1)
        _check_int("n_filters_scale", self.n_filters_scale, 1)
        _require(
            self.model_type in ("pinn", "supervised"),
            "model_type",
            f"must be 'pinn' or 'supervised', got {self.model_type!r}",
        )
        _require(
            self.amp_activation in ALLOWED_ACTIVATIONS,
            "amp_activation",
            f"must be one of {ALLOWED_ACTIVATIONS}, got {self.amp_activation!r}",
        )
        for name in ("object_big", "probe_big", "probe_mask", "pad_object"):
            _check_bool(name, getattr(self, name))
        _check_weight("probe_scale", self.probe_scale)
        _require(self.probe_scale > 0, "probe_scale", "must be > 0")
        _check_weight("gaussian_smoothing_sigma", self.gaussian_smoothing_sigma)


@dataclass(frozen=True)
class TrainingConfig:
    """Training settings (original ``ptycho.config.TrainingConfig``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train_data_file: str | Path | None = None
    test_data_file: str | Path | None = None
    batch_size: int = 16
    nepochs: int = 50
    mae_weight: float = 0.0
    nll_weight: float = 1.0
    realspace_mae_weight: float = 0.0
    realspace_weight: float = 0.0
    nphotons: float = 1e9
    n_groups: int | None = None
    n_images: int | None = None
    n_subsample: int | None = None
    subsample_seed: int | None = None
    neighbor_count: int = 4
    enable_oversampling: bool = False
    neighbor_pool_size: int | None = None
    positions_provided: bool = True
    probe_trainable: bool = False
    intensity_scale_trainable: bool = True
    output_dir: str | Path = "training_outputs"
    sequential_sampling: bool = False
    backend: str = "tensorflow"
    torch_loss_mode: str = "poisson"

    def __post_init__(self) -> None:
        _require(
            isinstance(self.model, ModelConfig),
            "model",
            f"must be a ModelConfig, got {type(self.model).__name__}",
        )
        # The original resolves the deprecated alias, then falls back to 512 groups.
        if self.n_groups is None:
            object.__setattr__(self, "n_groups", self.n_images if self.n_images else 512)
        _check_int("n_groups", self.n_groups, 1)
        _check_optional_int("n_images", self.n_images, 1)
        _check_optional_int("n_subsample", self.n_subsample, 1)
        _check_optional_int("subsample_seed", self.subsample_seed, 0)
        _check_optional_int("neighbor_pool_size", self.neighbor_pool_size, 1)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("nepochs", self.nepochs, 1)
        _check_int("neighbor_count", self.neighbor_count, 1)
        for name in ("mae_weight", "nll_weight", "realspace_mae_weight", "realspace_weight"):
            _check_weight(name, getattr(self, name))
        _require(
            is_finite_number(self.nphotons) and self.nphotons > 0,
            "nphotons",
            f"must be a finite number > 0, got {self.nphotons!r}",
        )
        if self.realspace_mae_weight > 0:
            _require(
                self.realspace_weight > 0,
                "realspace_weight",
                "must be > 0 when realspace_mae_weight > 0",
            )
        for name in (
            "enable_oversampling",
            "positions_provided",
            "probe_trainable",
            "intensity_scale_trainable",
            "sequential_sampling",
        ):
            _check_bool(name, getattr(self, name))
        _check_optional_path("train_data_file", self.train_data_file)
        _check_optional_path("test_data_file", self.test_data_file)
        _check_optional_path("output_dir", self.output_dir)
        _require(
            self.backend == "tensorflow",
            "backend",
            f"only 'tensorflow' is implemented here, got {self.backend!r}",
        )
        _require(
            self.torch_loss_mode in ("poisson", "mae"),
            "torch_loss_mode",
            f"must be 'poisson' or 'mae', got {self.torch_loss_mode!r}",
        )


@dataclass(frozen=True)
class InferenceConfig:
    """Inference settings (original ``ptycho.config.InferenceConfig``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    model_path: str | Path | None = None
    test_data_file: str | Path | None = None
    n_groups: int | None = None
    n_images: int | None = None
    n_subsample: int | None = None
    subsample_seed: int | None = None
    neighbor_count: int = 4
    enable_oversampling: bool = False
    neighbor_pool_size: int | None = None
    debug: bool = False
    output_dir: str | Path = "inference_outputs"
    backend: str = "tensorflow"

    def __post_init__(self) -> None:
        _require(
            isinstance(self.model, ModelConfig),
            "model",
            f"must be a ModelConfig, got {type(self.model).__name__}",
        )
        for name in ("n_groups", "n_images", "n_subsample", "neighbor_pool_size"):
            _check_optional_int(name, getattr(self, name), 1)
        _check_optional_int("subsample_seed", self.subsample_seed, 0)
        _check_int("neighbor_count", self.neighbor_count, 1)
        _check_bool("enable_oversampling", self.enable_oversampling)
        _check_bool("debug", self.debug)
        _check_optional_path("model_path", self.model_path)
        _check_optional_path("test_data_file", self.test_data_file)
        _check_optional_path("output_dir", self.output_dir)
        _require(
            self.backend == "tensorflow",
            "backend",
            f"only 'tensorflow' is implemented here, got {self.backend!r}",
        )


def flatten_config(config: ModelConfig | TrainingConfig | InferenceConfig) -> dict[str, Any]:
    """Field name -> value, with a nested ``model`` flattened into the top level."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, ModelConfig):
            out.update(flatten_config(value))
        else:
            out[f.name] = value
    return out


def update_legacy_dict(cfg: dict[str, Any], config) -> dict[str, Any]:
    """Write ``config`` into the legacy dictionary ``cfg`` in place and return it.

    Keys are renamed through :data:`KEY_MAPPINGS`; every other field keeps its name.
    ``None`` never overwrites an existing value; legacy keys the config does not
    carry (offset, outer offsets, nimgs, size, jitter, ...) keep their values.
    Paths are stored as strings, as the original does.
    """
    for name, value in flatten_config(config).items():
        if value is None:
            continue
        if isinstance(value, Path):
            value = str(value)
        cfg[KEY_MAPPINGS.get(name, name)] = value
    return cfg
