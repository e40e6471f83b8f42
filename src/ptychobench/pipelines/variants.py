"""Named changes to a pipeline: one intervention of ``ptychobench intervene`` each.

A :class:`Variant` changes exactly one thing; the default changes nothing, so a pipeline
run with ``Variant()`` is the faithful run, bit for bit. The fields say where the change
enters:

* ``profile``: fields of :class:`.profiles.Profile` (``scale_variant``, ...);
* ``model`` / ``training``: fields of the modern ``ModelConfig`` / ``TrainingConfig``
  (``amp_activation``, ``probe_scale``, ``nepochs``, loss weights, ...) — what a user of the
  original would write in the dataclasses;
* ``normalization``: how the modern diffraction is normalised (:data:`NORMALIZATIONS`);
* ``intensity_scale``: where the modern intensity scale comes from (:data:`INTENSITY_SCALES`);
* ``presplit_shuffle``: whether the modern training groups are shuffled before the
  validation split (``None``: the profile's convention);
* ``nll_form``: the Poisson NLL's form (:data:`..training.losses.NLL_FORMS`; ``None``: the
  pipeline's own, ``mean`` in the modern one, ``full_sum`` in the legacy one).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

#: ``normalize_data`` (faithful: ``g`` brings the mean pattern energy to (N/2)²);
#: ``legacy_gauge`` (the dose recipe's: the object divided by ``norm_Y_I`` before
#: illumination, no diffraction gain, g = 1); ``ceiling_target`` (``normalize_data`` with the
#: target that puts max(g·|O|) of the training groups at :data:`CEILING_MARGIN` of the head's ceiling).
NORMALIZATIONS = ("normalize_data", "legacy_gauge", "ceiling_target")
#: ``closed_form`` (faithful: ``s = sqrt(nphotons)/(N/2)``); ``dataset`` (the paper branch's
#: D4f: ``s = sqrt(nphotons / mean_b Σ_xyc X_raw²)`` of the raw grouped training diffraction,
#: summed over the channel axis as the recorded 558 / 273 imply, facts §5.3).
INTENSITY_SCALES = ("closed_form", "dataset")
#: the Poisson NLL's forms, as :data:`..training.losses.NLL_FORMS` (not imported: that module
#: loads TensorFlow): the modern mean ``log_poisson_loss``, the legacy summed full log-pmf
NLL_FORMS = ("mean", "full_sum")
#: where ``ceiling_target`` puts the largest demanded amplitude, as a fraction of the ceiling:
#: a sigmoid reaches 0.9 at a logit of 2.2, and 1 only at infinity
CEILING_MARGIN = 0.9


@dataclass(frozen=True)
class Variant:
    """One change to a pipeline; ``Variant()`` is the faithful pipeline."""

    profile: tuple = ()
    model: tuple = ()
    training: tuple = ()
    normalization: str = "normalize_data"
    intensity_scale: str = "closed_form"
    presplit_shuffle: bool | None = None
    nll_form: str | None = None

    def __post_init__(self) -> None:
        if self.nll_form is not None and self.nll_form not in NLL_FORMS:
            raise ConfigError("nll_form", f"must be one of {NLL_FORMS}, got {self.nll_form!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError("normalization", f"must be one of {NORMALIZATIONS}, got {self.normalization!r}")
        if self.intensity_scale not in INTENSITY_SCALES:
            raise ConfigError("intensity_scale", f"must be one of {INTENSITY_SCALES}, got {self.intensity_scale!r}")

    @property
    def is_default(self) -> bool:
        return self == Variant()

    def apply_to_profile(self, profile):
        return dataclasses.replace(profile, **dict(self.profile)) if self.profile else profile

    def changes(self) -> dict:
        """The fields that differ from the faithful pipeline, as plain JSON."""
        out = {}
        for name in ("profile", "model", "training"):
            if getattr(self, name):
                out[name] = dict(getattr(self, name))
        for name, default in (("normalization", "normalize_data"), ("intensity_scale", "closed_form"),
                              ("presplit_shuffle", None), ("nll_form", None)):
            if getattr(self, name) != default:
                out[name] = getattr(self, name)
        return out


def object_normalization(object_patches: np.ndarray) -> float:
    """``norm_Y_I`` of grouped object patches: the mean over groups of the group's maximum.

    ``object_patches``: float (B, N, N, C) raw amplitudes. The legacy recipe takes the maximum
    over each group's window of the object (:func:`..simulation.legacy_grid.object_normalization`);
    a non-grid group has no window, so the maximum runs over its C patches.
    """
    return float(np.mean(np.max(object_patches, axis=(1, 2, 3)), dtype=np.float64))


def ceiling_target_gain(g: float, object_patches: np.ndarray, ceiling: float) -> float:
    """The factor ``k`` on ``normalize_data``'s gain that puts ``max(k·g·|O|)`` at
    ``CEILING_MARGIN · ceiling`` (the target becomes ``k²·(N/2)²``)."""
    if not np.isfinite(ceiling):
        raise ConfigError("normalization", "ceiling_target needs a bounded amplitude head (sigmoid)")
    return float(CEILING_MARGIN * ceiling / (g * float(np.max(object_patches))))


def dataset_intensity_scale(raw_X: np.ndarray, nphotons: float) -> float:
    """D4f's dataset-derived scale from the raw grouped diffraction ``raw_X`` (B, N, N, C):
    ``sqrt(nphotons / mean_b Σ_xyc X²)`` (the sum runs over the channels too)."""
    energy = np.sum(np.square(raw_X, dtype=np.float64), axis=(1, 2, 3))
    return float(np.sqrt(nphotons / np.mean(energy)))
