"""Run profiles: how big each pipeline's data and training are.

| profile  | where                  | legacy                                  | modern                               |
|----------|------------------------|-----------------------------------------|--------------------------------------|
| tiny     | tests of the machinery | 96² images, 64 groups, 2 epochs         | 256 positions, 64 groups, 2 epochs   |
| smoke    | CI, 2 CPU cores        | 1+1 images of 160², 576 train groups, 16 epochs | 1,152 positions on 160², 576 groups, 5 epochs |
| standard | a workstation          | 1+1 images of 392², 6,724 groups, 20 epochs   | 4,000 positions, 2,000 groups, 20 epochs    |
| paper    | a GPU in the container | dose recipe: 2+2 images of 392², outer 8/20, 60 epochs | sim-lines: 2000·C positions, 1,000 groups, 50 epochs |
| investigation | ``ptychobench reproduce`` | dose recipe at 392², 1,600 of the 6,724 groups, 5 epochs | sim-lines: 2000·C positions, 1,000 groups, 5 epochs |
| investigation_232 | ``ptychobench reproduce`` | dose recipe at 232², all 1,764 groups, 5 epochs (the original dose_experiments flow's measured configuration) | as investigation |

Both pipelines use gridsize 2 and N=64 in every profile; the dose ladder is thinned for
the smaller profiles. The smoke profile declares ``n_filters_scale = 1`` (a quarter of the
convolution FLOPs); the other profiles keep the reference's 2. Its legacy run trains 16
epochs because the legacy reconstruction leaves its first plateau after about 13 (seed 0:
pearson 0.840 after 12 epochs, 0.868 after 16, 0.866 after 24); its modern runs train 5
epochs, as the investigation's sim-lines runners did (facts §5.3 D3), since the ideal
scenarios saturate the sigmoid head and collapse whatever the epoch count.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..model.spec import SCALE_VARIANTS


@dataclass(frozen=True)
class Profile:
    """Sizes of one run. Object sizes in pixels; groups of C = gridsize² patterns."""

    name: str
    N: int
    gridsize: int
    # legacy (dose recipe)
    legacy_size: int
    legacy_nimgs_train: int
    legacy_nimgs_test: int
    legacy_epochs: int
    # modern (sim-lines)
    modern_size: int
    modern_positions: int
    modern_train_groups: int
    modern_test_groups: int
    modern_epochs: int
    # shared
    nphotons: float
    doses: tuple
    n_filters_scale: int = 2
    reassemble_M: int = 20
    #: 'constant' (faithful: the original never trained exp(log_scale)) or 'trainable'
    #: (the named variant: the scale trains wherever cfg['intensity_scale.trainable'] says so)
    scale_variant: str = "constant"
    #: the modern validation split: 'tail' (faithful: Keras holds out the last 5% of the
    #: container, which the original never shuffles) or 'shuffled' (the named variant: a
    #: random 5%, as the legacy path's sklearn shuffle gives)
    modern_validation: str = "tail"
    #: modern positions per channel: when set, the scenario simulates this × gridsize²
    #: positions (the sim-lines runners' ``total_images = 2000·gridsize²``), else ``modern_positions``
    modern_positions_per_channel: int | None = None
    #: legacy groups given to ``fit`` (validation included): the first this many of the
    #: training groups after the original's sklearn shuffle (a random subset); None: all
    legacy_train_groups: int | None = None

    def __post_init__(self) -> None:
        if self.N not in (64, 128, 256):
            raise ConfigError("N", f"must be one of (64, 128, 256), got {self.N!r}")
        big_n = self.N + (self.gridsize - 1) * 4
        canvas = big_n + 10  # the padded model canvas, and the modern position buffer
        for name in ("legacy_size", "modern_size"):
            if getattr(self, name) < canvas:
                raise ConfigError(
                    name, f"{getattr(self, name)} px does not fit the {canvas} px canvas of N={self.N}"
                )
        for name in ("legacy_nimgs_train", "legacy_nimgs_test", "legacy_epochs", "modern_positions",
                     "modern_train_groups", "modern_test_groups", "modern_epochs", "n_filters_scale"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(name, f"must be an integer >= 1, got {getattr(self, name)!r}")
        if self.modern_train_groups > self.positions(1) // 2:
            raise ConfigError("modern_train_groups", "exceeds the positions of the training half")
        if self.modern_validation not in MODERN_VALIDATION:
            raise ConfigError("modern_validation", f"must be one of {MODERN_VALIDATION}, got {self.modern_validation!r}")
        for name in ("modern_positions_per_channel", "legacy_train_groups"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(name, f"must be None or an integer >= 1, got {value!r}")
        if self.scale_variant not in SCALE_VARIANTS:
            raise ConfigError("scale_variant", f"must be one of {SCALE_VARIANTS}, got {self.scale_variant!r}")
        if not self.nphotons > 0:
            raise ConfigError("nphotons", f"must be > 0, got {self.nphotons!r}")

    def positions(self, gridsize: int) -> int:
        """Scan positions the modern scenario of this gridsize simulates."""
        if self.modern_positions_per_channel is None:
            return self.modern_positions
        return self.modern_positions_per_channel * gridsize * gridsize

    def to_json(self) -> dict:
        out = asdict(self)
        out["doses"] = list(self.doses)
        return out

    def estimated_peak_bytes(self) -> int:
        """Rough peak memory of a run: the larger pipeline's arrays plus TensorFlow itself.

        Counts X, labels and model inputs (float32, N²·C per group, ≈ 4 copies) for train
        and test, plus 1.5 GiB for TensorFlow, the model and its optimizer state.
        """
        c = self.gridsize**2
        per_group = 4 * self.N * self.N * c * 4
        stride_train, stride_test = 4, 10
        big_n = self.N + (self.gridsize - 1) * 4
        legacy_groups = self.legacy_nimgs_train * ((self.legacy_size - big_n) // stride_train + 1) ** 2
        legacy_groups += self.legacy_nimgs_test * ((self.legacy_size - big_n) // stride_test + 1) ** 2
        modern_groups = self.modern_train_groups + self.modern_test_groups + self.modern_positions
        return int(max(legacy_groups, modern_groups) * per_group + 1.5 * 2**30)


MODERN_VALIDATION = ("tail", "shuffled")

PROFILES = {
    # Machinery tests only (asv, the container): seconds, not science.
    "tiny": Profile(
        name="tiny",
        N=64,
        gridsize=2,
        legacy_size=96,
        legacy_nimgs_train=1,
        legacy_nimgs_test=1,
        legacy_epochs=2,
        modern_size=96,
        modern_positions=256,
        modern_train_groups=64,
        modern_test_groups=32,
        modern_epochs=2,
        nphotons=1e9,
        doses=(1e9,),
        n_filters_scale=1,
    ),
    "smoke": Profile(
        name="smoke",
        N=64,
        gridsize=2,
        legacy_size=160,
        legacy_nimgs_train=1,
        legacy_nimgs_test=1,
        legacy_epochs=16,
        modern_size=160,
        modern_positions=1152,
        modern_train_groups=576,
        modern_test_groups=256,
        modern_epochs=5,
        nphotons=1e9,
        doses=(1e5, 1e9),
        n_filters_scale=1,
    ),
    "standard": Profile(
        name="standard",
        N=64,
        gridsize=2,
        legacy_size=392,
        legacy_nimgs_train=1,
        legacy_nimgs_test=1,
        legacy_epochs=20,
        modern_size=392,
        modern_positions=4000,
        modern_train_groups=2000,
        modern_test_groups=1000,
        modern_epochs=20,
        nphotons=1e9,
        doses=(1e4, 1e6, 1e9),
    ),
    "paper": Profile(
        name="paper",
        N=64,
        gridsize=2,
        legacy_size=392,
        legacy_nimgs_train=2,
        legacy_nimgs_test=2,
        legacy_epochs=60,
        modern_size=392,
        modern_positions=8000,
        modern_positions_per_channel=2000,
        modern_train_groups=1000,
        modern_test_groups=1000,
        modern_epochs=50,
        nphotons=1e9,
        doses=(1e4, 1e5, 1e6, 1e7, 1e8, 1e9),
    ),
    # The configuration the investigation's trained numbers were recorded at (facts §5.3, §9,
    # §11): the dose recipe at 392² with one train and one test image (the 330² test mosaic),
    # 1,600 groups given to fit, 5 epochs; the sim-lines scenarios with 2000·C positions
    # (392², seed 42), 1,000 groups and 5 epochs; n_filters_scale 2, batch 16.
    "investigation": Profile(
        name="investigation",
        N=64,
        gridsize=2,
        legacy_size=392,
        legacy_nimgs_train=1,
        legacy_nimgs_test=1,
        legacy_epochs=5,
        legacy_train_groups=1600,
        modern_size=392,
        modern_positions=8000,
        modern_positions_per_channel=2000,
        modern_train_groups=1000,
        modern_test_groups=1000,
        modern_epochs=5,
        nphotons=1e9,
        doses=(1e9,),
    ),
}
# The configuration the original dose_experiments flow was run at on these machines (issue 21,
# fidelity audit "Turn 3"): the dose recipe at 232² with one train and one test image, all
# 1,764 training groups (170² test mosaic), 5 epochs. Only its legacy run is used.
PROFILES["investigation_232"] = dataclasses.replace(
    PROFILES["investigation"], name="investigation_232", legacy_size=232, legacy_train_groups=None)

PROFILE_ENV = "PTYCHOBENCH_PROFILE"


def get_profile(name: str | None = None) -> Profile:
    """Profile by name; ``None`` reads ``$PTYCHOBENCH_PROFILE`` (default ``smoke``)."""
    name = name or os.environ.get(PROFILE_ENV, "smoke")
    if name not in PROFILES:
        raise ConfigError("profile", f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]
