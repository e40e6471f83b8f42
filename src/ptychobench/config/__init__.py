"""Configuration: the legacy global dictionary (:mod:`.params`) and the modern dataclasses
(:mod:`.modern`) with the bridge between them."""

from . import params
from .modern import (
    KEY_MAPPINGS,
    InferenceConfig,
    ModelConfig,
    TrainingConfig,
    flatten_config,
    update_legacy_dict,
)

__all__ = [
    "params",
    "KEY_MAPPINGS",
    "InferenceConfig",
    "ModelConfig",
    "TrainingConfig",
    "flatten_config",
    "update_legacy_dict",
]
