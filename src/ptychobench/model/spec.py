"""Architecture settings of the PINN, read from the legacy dictionary.

Both front ends end up in the legacy ``cfg`` (the modern one through
``update_legacy_dict``); :meth:`ModelSpec.from_params` reads the model from there. Two
settings are not ``cfg`` keys because they are the documented architecture differences
between the original code bases and are chosen by the pipeline:

* ``amp_channels``: ``'single'`` (dose-experiments legacy: one amplitude channel
  broadcast against the C phase channels) or ``'per_patch'`` (main: C channels).
* the NLL form (in :mod:`ptychobench.training.losses`).

``intensity_scale.trainable`` is True in both front ends' ``cfg``, yet the original runs never
trained the scale: dose-experiments evaluates ``exp(log_scale)`` while the graph is built
(DE ``ptycho/model.py:122-126,146-153,349,383``), so it enters the model as a constant, and the
investigation recorded it unchanged after training (D4). :meth:`ModelSpec.from_params` is
therefore faithful by default (``scale_variant='constant'``); ``'trainable'`` honours the
``cfg`` flag and is the named variant for studying the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError

AMP_CHANNEL_MODES = ("single", "per_patch")
SCALE_VARIANTS = ("constant", "trainable")
#: the largest amplitude each bounded amplitude head can put out (``amp_activation``); the
#: others (swish, softplus, relu) are unbounded above
CEILINGS = {"sigmoid": 1.0}


def head_ceiling(amp_activation: str) -> float:
    """The amplitude head's ceiling: 1 for sigmoid, ``inf`` for the unbounded activations."""
    return CEILINGS.get(amp_activation, float("inf"))


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build one model.

    Sizes are in pixels; ``padded_size`` is the object canvas
    ``N + (gridsize − 1)·offset + max_position_jitter``.
    """

    N: int = 64
    gridsize: int = 2
    offset: int = 4
    padded_size: int = 78
    n_filters_scale: int = 2
    amp_activation: str = "sigmoid"
    object_big: bool = True
    probe_big: bool = False
    probe_mask: bool = True
    pad_object: bool = True
    probe_trainable: bool = False
    intensity_scale_trainable: bool = False
    gaussian_smoothing_sigma: float = 0.0
    amp_channels: str = "per_patch"

    def __post_init__(self) -> None:
        if self.N not in (64, 128, 256):
            raise ConfigError("N", f"must be one of (64, 128, 256), got {self.N!r}")
        if self.gridsize < 1:
            raise ConfigError("gridsize", f"must be >= 1, got {self.gridsize!r}")
        if self.amp_channels not in AMP_CHANNEL_MODES:
            raise ConfigError(
                "amp_channels", f"must be one of {AMP_CHANNEL_MODES}, got {self.amp_channels!r}"
            )
        if self.padded_size < self.N:
            raise ConfigError(
                "max_position_jitter", f"padded canvas {self.padded_size} is smaller than N={self.N}"
            )

    @property
    def channels(self) -> int:
        """C = gridsize², patterns per group."""
        return self.gridsize * self.gridsize

    @property
    def amp_out_channels(self) -> int:
        """Channels of the amplitude head."""
        if not self.object_big:
            return 1
        return 1 if self.amp_channels == "single" else self.channels

    @property
    def phase_out_channels(self) -> int:
        """Channels of the phase head (C with object.big, else 1)."""
        return self.channels if self.object_big else 1

    @property
    def ladder(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(encoder filters, decoder filters) before ``n_filters_scale``.

        N=64: (32, 64, 128), (64, 32); N=128: (16, 32, 64, 128), (128, 64, 32).
        The bottleneck is always 8×8; N=256 extends the same rule by one level.
        """
        depth = int(math.log2(self.N // 8))
        encoder = tuple(128 // 2 ** (depth - 1 - i) for i in range(depth))
        decoder = tuple(32 * 2 ** (depth - 2 - i) for i in range(depth - 1))
        return encoder, decoder

    @property
    def x2_filters(self) -> int:
        """Filters of the full-resolution (probe.big) branch: ``nfs · 2048 // N``."""
        return self.n_filters_scale * (2048 // self.N)

    @classmethod
    def from_params(cls, cfg: dict, amp_channels: str, scale_variant: str = "constant") -> "ModelSpec":
        """Read the model settings from a legacy ``cfg`` dictionary.

        ``scale_variant``: ``'constant'`` (faithful: ``exp(log_scale)`` never trains) or
        ``'trainable'`` (the scale trains when ``cfg['intensity_scale.trainable']``).
        """
        if scale_variant not in SCALE_VARIANTS:
            raise ConfigError("scale_variant", f"must be one of {SCALE_VARIANTS}, got {scale_variant!r}")
        N, gs, offset = int(cfg["N"]), int(cfg["gridsize"]), int(cfg["offset"])
        big_n = N + (gs - 1) * offset
        return cls(
            N=N,
            gridsize=gs,
            offset=offset,
            padded_size=big_n + int(cfg["max_position_jitter"]),
            n_filters_scale=int(cfg["n_filters_scale"]),
            amp_activation=cfg["amp_activation"],
            object_big=bool(cfg["object.big"]),
            probe_big=bool(cfg["probe.big"]),
            probe_mask=bool(cfg["probe.mask"]),
            pad_object=bool(cfg["pad_object"]),
            probe_trainable=bool(cfg["probe.trainable"]),
            intensity_scale_trainable=scale_variant == "trainable" and bool(cfg["intensity_scale.trainable"]),
            gaussian_smoothing_sigma=float(cfg["gaussian_smoothing_sigma"]),
            amp_channels=amp_channels,
        )
