"""Every configuration key against the original's literal tables, and the front ends against each other."""

from __future__ import annotations

from pathlib import Path

from ...config import TrainingConfig, flatten_config, params
from ...pipelines import common
from .. import reference as ref
from .. import tables
from .rows import CheckResult, Rows

IGNORED_CONFIG_KEYS = ("probe", "profile_overrides", "loss_fn")


#: The legacy sizes each profile promises (the table of ``pipelines/profiles.py``), written out
#: again: a pipeline that reads the wrong profile field, or a profile edited without its table,
#: fails here instead of agreeing with itself.
LEGACY_PROFILE_CFG = {
    "tiny": {"size": 96, "nimgs_train": 1, "nimgs_test": 1, "nepochs": 2, "N": 64, "gridsize": 2,
             "n_filters_scale": 1},
    "smoke": {"size": 160, "nimgs_train": 1, "nimgs_test": 1, "nepochs": 16, "N": 64, "gridsize": 2,
              "n_filters_scale": 1},
    "standard": {"size": 392, "nimgs_train": 1, "nimgs_test": 1, "nepochs": 20, "N": 64, "gridsize": 2,
                 "n_filters_scale": 2},
    "paper": {"size": 392, "nimgs_train": 2, "nimgs_test": 2, "nepochs": 60, "N": 64, "gridsize": 2,
              "n_filters_scale": 2},
    # facts §11: one 392² train and one test image, 5 epochs (fit on 1,600 of the groups: not a cfg key)
    "investigation": {"size": 392, "nimgs_train": 1, "nimgs_test": 1, "nepochs": 5, "N": 64, "gridsize": 2,
                      "n_filters_scale": 2},
    "investigation_232": {"size": 232, "nimgs_train": 1, "nimgs_test": 1, "nepochs": 5, "N": 64, "gridsize": 2,
                          "n_filters_scale": 2},
}


def _legacy_expected_runtime(legacy: common.Prepared) -> dict:
    """The original's cfg after the dose recipe, with this profile's literal sizes and the
    closed-form scale written out (``sqrt(nphotons) / (N/2)``); ``None`` for a profile without
    a literal table."""
    sizes = LEGACY_PROFILE_CFG.get(legacy.profile.name)
    if sizes is None:
        return None
    return {**ref.ORIGINAL_DEFAULT_CFG, **ref.ORIGINAL_DOSE_RECIPE, "nphotons": legacy.nphotons, **sizes,
            "intensity_scale": ref.closed_form_scale(legacy.nphotons, sizes["N"])}


def check_config(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Every configuration key against the original's literal tables, and the two front ends
    against each other.

    Reference: ``ORIGINAL_DEFAULT_CFG`` (DE ``params.py:8-23``), ``ORIGINAL_MODEL_CONFIG`` /
    ``ORIGINAL_TRAINING_CONFIG`` (M ``config.py:94-148``), ``ORIGINAL_KEY_MAPPINGS``
    (M ``config.py:570-579``), ``ORIGINAL_DOSE_RECIPE`` (DE ``dose.py``); differences between
    the front ends must be in ``known_differences.toml``.
    """
    r = Rows()
    legacy_defaults = params.capture_defaults()
    for key in sorted(set(legacy_defaults) | set(ref.ORIGINAL_DEFAULT_CFG)):
        r.equal(f"params.cfg default {key}", legacy_defaults.get(key, tables.ABSENT),
                ref.ORIGINAL_DEFAULT_CFG.get(key, tables.ABSENT))
    dc = flatten_config(TrainingConfig())
    original_dc = {**ref.ORIGINAL_MODEL_CONFIG, **ref.ORIGINAL_TRAINING_CONFIG}
    for key in sorted(set(dc) | set(original_dc)):
        got = dc.get(key, tables.ABSENT)
        r.equal(f"dataclass default {key}", str(got) if isinstance(got, Path) else got,
                original_dc.get(key, tables.ABSENT))
    # the bridge: every non-None field of the modern config under the original's key name
    bridged = {k: v for k, v in modern.config.items() if k not in IGNORED_CONFIG_KEYS}
    fields = {**modern.modern_config["model"], **{k: v for k, v in modern.modern_config.items()
                                                   if k not in ("model", "scenario")}}
    for name, value in sorted(fields.items()):
        if value is None:
            continue
        key = ref.ORIGINAL_KEY_MAPPINGS.get(name, name)
        r.equal(f"bridged cfg[{key!r}] (from {name})", bridged.get(key, tables.ABSENT),
                str(value) if isinstance(value, Path) else value)
    # the legacy set-up: the original's cfg after the dose recipe, key by key
    runtime = {k: v for k, v in legacy.config.items() if k not in IGNORED_CONFIG_KEYS}
    want = _legacy_expected_runtime(legacy)
    if want is None:
        r.fail(f"no literal legacy sizes for profile {legacy.profile.name!r}: add them to LEGACY_PROFILE_CFG")
        want = {}
    for key in sorted(set(runtime) | set(want)):
        if key in ("bigN", "padded_size"):
            continue
        r.equal(f"legacy cfg[{key!r}] after the dose recipe", runtime.get(key, tables.ABSENT),
                want.get(key, tables.ABSENT))
    # front end against front end: only documented differences
    modern_defaults = {ref.ORIGINAL_KEY_MAPPINGS.get(k, k): v for k, v in dc.items()}
    legacy_side = {k: v for k, v in legacy_defaults.items() if k in modern_defaults}
    default_rows, default_problems = tables.compare_tables(legacy_side, modern_defaults, "defaults")
    profile_values = {("legacy", "nimgs_train"): legacy.profile.legacy_nimgs_train,
                      ("legacy", "nimgs_test"): legacy.profile.legacy_nimgs_test,
                      ("legacy", "size"): legacy.profile.legacy_size,
                      ("modern", "n_groups"): modern.profile.modern_train_groups,
                      ("legacy", "nepochs"): legacy.profile.legacy_epochs,
                      ("modern", "nepochs"): modern.profile.modern_epochs}
    runtime_rows, runtime_problems = tables.compare_tables(runtime, bridged, "runtime", profile_values)
    for p in default_problems + runtime_problems:
        r.fail(p)
    details = {"defaults": default_rows, "runtime": runtime_rows}
    return r.result("config", "ORIGINAL_DEFAULT_CFG, ORIGINAL_MODEL/TRAINING_CONFIG, ORIGINAL_KEY_MAPPINGS, "
                    "ORIGINAL_DOSE_RECIPE (parity/reference.py); known_differences.toml", details)


