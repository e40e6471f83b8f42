"""The interventions: one per hypothesis of the original investigation (facts §5.3), each
changing exactly one thing in one pipeline.

Each :class:`Intervention` names its hypothesis, the pipelines it runs in (the modern
``gs2_ideal`` and ``gs1_ideal`` scenarios; the legacy dose recipe where the hypothesis concerns
it), the :class:`..pipelines.variants.Variant` that makes the change, and what a configuration
of the original would have to say to make it for real. An intervention sits under the
hypothesis whose factor it changes: ``probe_scale_4`` changes the gauge (g·|O| under the
ceiling), so it tests H-NORMALIZATION, not the head.

``coverage`` retrains nothing: it scores the baseline's own prediction on another window. It
gets no verdict (``judged=False``): the whole-frame ratio is the covered ratio times the covered
share of the truth by arithmetic (uncovered pixels add zeros), so its "prediction" agrees with
any outcome of training; the covered share is reported as a description, not tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config import params
from ..errors import ConfigError
from ..pipelines.profiles import Profile
from ..pipelines.variants import Variant

#: the baselines an intervention is paired with: run key -> ``ptychobench run`` arguments
PIPELINES = {
    "gs2_ideal": ("--pipeline", "modern", "--scenario", "gs2_ideal"),
    "gs1_ideal": ("--pipeline", "modern", "--scenario", "gs1_ideal"),
    "legacy": ("--pipeline", "legacy"),
}
MODERN = ("gs2_ideal", "gs1_ideal")

HYPOTHESES = {
    "H-LOSS-WEIGHT": "the modern run weighs or forms its losses differently from the legacy one (the four weights; "
                     "the NLL's mean log_poisson_loss against the legacy summed full log-pmf)",
    "H-NORMALIZATION": "the modern normalisation (normalize_data's gain g, the intensity scale) sets the amplitude scale",
    "H-ARCHITECTURE": "the bounded sigmoid amplitude head cannot put out the amplitudes the gauge asks for",
    "H-TRAINING-PARAMS": "the modern run trains too briefly or on another schedule",
    "H-SCALER-DRIFT": "exp(log_scale) drifts during training and rescales the output",
    "coverage": "the undershoot is the empty canvas: uncovered zeros in the mean",
}

#: the inference's ``group_limit`` (facts §5.4): 64 test groups on the whole object frame
COVERAGE_GROUPS = 64


@dataclass(frozen=True)
class Intervention:
    key: str
    hypothesis: str
    change: str
    #: what a configuration of the original would have to say (a key and value it accepts), or why none can
    config: str
    #: the investigation's own result, where it recorded one
    recorded: str
    pipelines: tuple
    #: builds the change for a profile; None: a change of scoring, nothing retrains
    variant: Callable[[Profile], Variant] | None
    #: whether it gets a verdict (coverage: an identity, see the module's docstring)
    judged: bool = True

    def to_json(self, profile: Profile) -> dict:
        return {"key": self.key, "hypothesis": self.hypothesis, "change": self.change, "config": self.config,
                "recorded": self.recorded, "pipelines": list(self.pipelines),
                "variant": self.variant(profile).changes() if self.variant else None}


def legacy_loss_weights() -> dict:
    """The four loss weights the legacy dose recipe leaves in ``cfg`` (``params.init`` with the
    nll loss, then ``params.execute``); the global ``cfg`` is reset afterwards."""
    try:
        params.reset()
        params.init(1e9, "nll")
        params.execute(1e9)
        return {k: float(params.cfg[k]) for k in ("mae_weight", "nll_weight", "realspace_mae_weight", "realspace_weight")}
    finally:
        params.reset()


def legacy_training(profile: Profile) -> Variant:
    """The legacy run's epochs and batch, and its validation split (sklearn's shuffle before
    the 5%); the schedule (Adam 1e-3, ReduceLROnPlateau, EarlyStopping) is the same loop."""
    try:
        params.reset()
        params.init(profile.nphotons, "nll")
        params.execute(profile.nphotons)
        batch = int(params.cfg["batch_size"])
    finally:
        params.reset()
    return Variant(training=(("nepochs", profile.legacy_epochs), ("batch_size", batch)), presplit_shuffle=True)


def _head(name: str) -> Intervention:
    return Intervention(
        f"head_{name}", "H-ARCHITECTURE", f"the amplitude head's activation {name} instead of sigmoid (no ceiling)",
        f"ModelConfig(amp_activation='{name}') (M ptycho/model.py:439-449)", "never run", MODERN,
        lambda profile: Variant(model=(("amp_activation", name),)))


CATALOG = {i.key: i for i in (
    Intervention(
        "loss_weights", "H-LOSS-WEIGHT", "the legacy loss weights (mae, nll, realspace_mae, realspace) in the modern run",
        "TrainingConfig(mae_weight=…, nll_weight=…, realspace_mae_weight=…, realspace_weight=…) with the legacy values",
        "D1: the weights are identical, no change", MODERN,
        lambda profile: Variant(training=tuple(legacy_loss_weights().items()))),
    Intervention(
        "nll_form", "H-LOSS-WEIGHT",
        "the legacy NLL form in the modern run: the full Poisson log-pmf (with lgamma) summed per sample, "
        "batch mean, instead of the mean log_poisson_loss (the one documented loss difference, facts §6)",
        "none: main always compiles tf.nn.log_poisson_loss (M ptycho/model.py); the summed form is DE's TFP "
        "DistributionLambda (DE:model.py:387-397)",
        "never run", MODERN, lambda profile: Variant(nll_form="full_sum")),
    Intervention(
        "legacy_gauge", "H-NORMALIZATION",
        "the legacy gauge: the object divided by norm_Y_I before illumination, no diffraction gain (g = 1)",
        "none: main has no key for it; normalize_data is always applied (M ptycho/raw_data.py:972-992)",
        "never run", MODERN, lambda profile: Variant(normalization="legacy_gauge")),
    Intervention(
        "ceiling_target", "H-NORMALIZATION",
        "normalize_data's target set so that max(g·|O|) of the training groups is 0.9 of the head's ceiling",
        "none: the target (N/2)² is hard-coded (M ptycho/raw_data.py:986-988)",
        "never run", MODERN, lambda profile: Variant(normalization="ceiling_target")),
    Intervention(
        "dataset_scale", "H-NORMALIZATION",
        "the dataset-derived intensity scale of D4f instead of the closed form sqrt(nphotons)/(N/2)",
        "none in main; the paper branch's D4f change (P ledger, facts §5.3)",
        "D4c/D4f: the bias persisted", MODERN, lambda profile: Variant(intensity_scale="dataset")),
    Intervention(
        "probe_scale_4", "H-NORMALIZATION", "probe_scale 4 with the ideal probe (the custom scenarios' setting)",
        "ModelConfig(probe_scale=4.0)", "B0f: the custom scenarios (probe_scale 4) undershot less, 3.8x vs 6.5x",
        MODERN, lambda profile: Variant(model=(("probe_scale", 4.0),))),
    _head("swish"),
    _head("softplus"),
    _head("relu"),
    Intervention(
        "legacy_training", "H-TRAINING-PARAMS",
        "the legacy run's epochs, batch size and validation split (the schedule is the same loop)",
        "TrainingConfig(nepochs=<legacy>, batch_size=16); the split has no key", "never run", MODERN, legacy_training),
    Intervention(
        "scale_trainable", "H-SCALER-DRIFT", "exp(log_scale) trains (the trainable-scale variant)",
        "TrainingConfig(intensity_scale_trainable=True) is already the default; the original's model never "
        "trained it (fidelity audit), so no configuration does this", "D4: exp(log_scale) = cfg to 6e-5, ruled out",
        (*MODERN, "legacy"), lambda profile: Variant(profile=(("scale_variant", "trainable"),))),
    Intervention(
        "epochs_60", "H-TRAINING-PARAMS", "60 epochs instead of the profile's (EarlyStopping may end it sooner)",
        "TrainingConfig(nepochs=60)", "D3/D3b: early-stopped at 30 epochs, no change", MODERN,
        lambda profile: Variant(training=(("nepochs", 60),))),
    Intervention(
        "coverage", "coverage",
        f"the ratio over the whole object frame with {COVERAGE_GROUPS} test groups stitched (zeros count) "
        "instead of over the covered pixels",
        "InferenceConfig group_limit=64 and the whole-canvas mean (the sim-lines inference)",
        "facts §5.4: gs1 covered 15% of the window", MODERN, None, judged=False),
)}


def get(key: str) -> Intervention:
    if key not in CATALOG:
        raise ConfigError("intervention", f"unknown intervention {key!r}; choose from {sorted(CATALOG)}")
    return CATALOG[key]


def check_keys(keys) -> list[str]:
    keys = list(keys)
    for key in keys:
        get(key)
    if not keys:
        raise ConfigError("interventions", f"none given; choose from {sorted(CATALOG)}")
    return keys
