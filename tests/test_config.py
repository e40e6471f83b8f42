"""Legacy global configuration (params) and the modern dataclasses with their bridge."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from ptychobench.config import params
from ptychobench.config.modern import (
    KEY_MAPPINGS,
    InferenceConfig,
    ModelConfig,
    TrainingConfig,
    update_legacy_dict,
)
from ptychobench.errors import ConfigError
from ptychobench.parity.reference import ORIGINAL_DOSE_RECIPE

# Reference: original params.DEFAULT_CFG, dose_experiments flavour (N=64, data_source
# 'lines', no use_xla_translate); reference facts section 8.
REFERENCE_DEFAULTS = {
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


# --- legacy defaults, get/set, capture_defaults ------------------------------------


def test_default_cfg_has_exactly_the_reference_keys():
    assert set(params.DEFAULT_CFG) == set(REFERENCE_DEFAULTS)


@pytest.mark.parametrize("key", sorted(REFERENCE_DEFAULTS))
def test_default_cfg_value(key):
    expected = REFERENCE_DEFAULTS[key]
    actual = params.DEFAULT_CFG[key]
    assert actual == expected
    # True == 1 and 1.0 == 1: check the kind as well so a bool/int swap is noticed.
    assert type(actual) is type(expected)


def test_global_cfg_starts_at_defaults_and_reset_restores_in_place():
    assert params.cfg == REFERENCE_DEFAULTS
    ref = params.cfg
    params.set("N", 128)
    params.set("intensity_scale", 5.0)
    params.reset()
    assert params.cfg is ref  # imported references stay valid
    assert params.cfg == REFERENCE_DEFAULTS
    assert "intensity_scale" not in params.cfg


def test_defaults_pass_validation():
    params.validate()
    params.validate(params.capture_defaults())


def test_capture_defaults_returns_independent_copy():
    params.init(1e6, "mae")  # cfg now differs from the defaults
    captured = params.capture_defaults()
    assert captured == REFERENCE_DEFAULTS  # defaults, not the current cfg
    assert captured is not params.DEFAULT_CFG
    assert captured is not params.cfg
    captured["N"] = 256
    captured["extra"] = 1
    assert params.DEFAULT_CFG["N"] == 64 and "extra" not in params.DEFAULT_CFG
    assert params.cfg["N"] == 64 and "extra" not in params.cfg
    assert params.cfg["mae_weight"] == 1.0  # capture did not touch cfg


def test_capture_defaults_is_deep(monkeypatch):
    monkeypatch.setitem(params.DEFAULT_CFG, "label", ["a"])
    captured = params.capture_defaults()
    captured["label"].append("b")
    assert params.DEFAULT_CFG["label"] == ["a"]


def test_get_and_set_roundtrip():
    params.set("offset", 6)
    assert params.get("offset") == 6
    assert params.cfg["offset"] == 6
    params.set("intensity_scale", 988.0)  # runtime key
    assert params.get("intensity_scale") == 988.0


def test_get_unknown_key_raises_naming_key():
    with pytest.raises(ConfigError) as info:
        params.get("no_such_key")
    assert info.value.field == "no_such_key"
    assert "no_such_key" in str(info.value)


def test_set_unknown_key_raises_and_does_not_insert():
    with pytest.raises(ConfigError) as info:
        params.set("gridsze", 2)  # typo
    assert info.value.field == "gridsze"
    assert "gridsze" not in params.cfg


def test_bigN_and_padded_size_gridsize2():
    # N64, gs2, offset 4, jitter 10 (defaults)
    assert params.bigN() == 68
    assert params.get_padded_size() == 78
    assert params.get("bigN") == 68
    assert params.get("padded_size") == 78
    p = params.params()
    assert p["bigN"] == 68 and p["padded_size"] == 78


def test_bigN_and_padded_size_gridsize1():
    params.set("gridsize", 1)
    assert params.bigN() == 64
    assert params.get_padded_size() == 74


def test_bigN_and_padded_size_follow_settings():
    params.set("N", 128)
    params.set("offset", 5)
    params.set("gridsize", 3)
    params.set("max_position_jitter", 7)
    assert params.bigN() == 128 + 2 * 5
    assert params.get_padded_size() == 138 + 7


# --- the dose recipe ----------------------------------------------------------------


def test_dose_init_nll_keeps_default_weights():
    params.init(1e6, "nll")
    assert params.cfg["mae_weight"] == 0.0
    assert params.cfg["nll_weight"] == 1.0


def test_dose_init_nll_keeps_current_weights_like_original():
    # the original only assigns the weights when loss_fn == 'mae'
    params.set("mae_weight", 1.0)
    params.set("nll_weight", 0.0)
    params.init(1e6, "nll")
    assert params.cfg["mae_weight"] == 1.0
    assert params.cfg["nll_weight"] == 0.0


def test_dose_init_mae_switches_weights():
    params.init(1e6, "mae")
    assert params.cfg["mae_weight"] == 1.0
    assert params.cfg["nll_weight"] == 0.0


#: What the dose recipe's ``init`` writes: the original's recipe table (parity/reference.py,
#: transcribed from DE notebooks/dose.py) as ``init`` leaves it, before ``execute`` sets the
#: jitter back to 10 and the prefix to "lines2".
_DOSE_INIT = {**ORIGINAL_DOSE_RECIPE, "max_position_jitter": 3, "output_prefix": "lines3"}


def test_dose_init_settings():
    params.init(1e5)
    expected = {**_DOSE_INIT, "nphotons": 1e5}
    assert {key: params.cfg[key] for key in expected} == expected
    assert params.get_padded_size() == 71


def test_dose_jitter_3_after_init_then_10_after_execute():
    params.init(1e6)
    assert params.cfg["max_position_jitter"] == 3
    params.execute(1e7)
    assert params.cfg["max_position_jitter"] == 10
    assert params.cfg["nphotons"] == 1e7
    assert params.cfg["output_prefix"] == "lines2"
    assert params.cfg["intensity_scale.trainable"] is True
    assert params.get_padded_size() == 78
    # execute does not touch the outer offsets / image counts init wrote
    assert params.cfg["outer_offset_train"] == 8
    assert params.cfg["outer_offset_test"] == 20
    assert params.cfg["nimgs_train"] == 2


def test_dose_init_unknown_loss_fn():
    with pytest.raises(ConfigError) as info:
        params.init(1e6, "l2")
    assert info.value.field == "loss_fn"
    assert params.cfg == REFERENCE_DEFAULTS  # nothing written


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan])
def test_dose_init_bad_nphotons(bad):
    with pytest.raises(ConfigError) as info:
        params.init(bad, "nll")
    assert info.value.field == "nphotons"
    assert params.cfg == REFERENCE_DEFAULTS


def test_dose_execute_bad_nphotons():
    params.init(1e6)
    with pytest.raises(ConfigError) as info:
        params.execute(0)
    assert info.value.field == "nphotons"


# --- invalid configurations: legacy validate() and the dataclasses ---------------------

LEGACY_INVALID = [
    ({"N": 100}, "N"),
    ({"N": 32}, "N"),
    ({"N": 64.0}, "N"),
    ({"nphotons": 0}, "nphotons"),
    ({"nphotons": -1e6}, "nphotons"),
    ({"nphotons": math.inf}, "nphotons"),
    ({"gridsize": 0}, "gridsize"),
    ({"gridsize": -2}, "gridsize"),
    ({"realspace_mae_weight": 1.0, "realspace_weight": 0.0}, "realspace_weight"),
    ({"data_source": "nope"}, "data_source"),
    ({"amp_activation": "tanh"}, "amp_activation"),
    ({"outer_offset_train": 7}, "outer_offset_train"),
    ({"probe_scale": 0.0}, "probe_scale"),
    ({"probe.mask": 1}, "probe.mask"),
]


@pytest.mark.parametrize("changes,field", LEGACY_INVALID)
def test_legacy_validate_rejects(changes, field):
    c = params.capture_defaults()
    c.update(changes)
    with pytest.raises(ConfigError) as info:
        params.validate(c)
    assert info.value.field == field


@pytest.mark.parametrize("changes,field", LEGACY_INVALID[:9])
def test_legacy_validate_rejects_global_cfg(changes, field):
    for key, value in changes.items():
        params.set(key, value)
    with pytest.raises(ConfigError) as info:
        params.validate()
    assert info.value.field == field


@pytest.mark.parametrize(
    "changes",
    [
        {"N": 128},
        {"N": 256},
        {"gridsize": 1},
        {"nphotons": 1e3},
        {"realspace_mae_weight": 1.0, "realspace_weight": 0.5},
        {"outer_offset_train": 8, "outer_offset_test": 20},
    ],
)
def test_legacy_validate_accepts_valid_neighbours(changes):
    c = params.capture_defaults()
    c.update(changes)
    params.validate(c)


@pytest.mark.parametrize(
    "factory,field",
    [
        (lambda: ModelConfig(N=100), "N"),
        (lambda: ModelConfig(N=32), "N"),
        (lambda: ModelConfig(gridsize=0), "gridsize"),
        (lambda: ModelConfig(probe_scale=0.0), "probe_scale"),
        (lambda: ModelConfig(amp_activation="tanh"), "amp_activation"),
        (lambda: TrainingConfig(nphotons=0), "nphotons"),
        (lambda: TrainingConfig(nphotons=-5.0), "nphotons"),
        (lambda: TrainingConfig(nphotons=math.nan), "nphotons"),
        # the dataclasses' loss selector is torch_loss_mode (the TF path uses the weights)
        (lambda: TrainingConfig(torch_loss_mode="l2"), "torch_loss_mode"),
        (lambda: TrainingConfig(realspace_mae_weight=1.0, realspace_weight=0.0), "realspace_weight"),
        (lambda: TrainingConfig(mae_weight=-1.0), "mae_weight"),
        (lambda: TrainingConfig(n_groups=0), "n_groups"),
        (lambda: TrainingConfig(model="not a model"), "model"),
        (lambda: TrainingConfig(backend="pytorch"), "backend"),
        (lambda: InferenceConfig(neighbor_count=0), "neighbor_count"),
        (lambda: InferenceConfig(debug="yes"), "debug"),
    ],
)
def test_dataclasses_reject(factory, field):
    with pytest.raises(ConfigError) as info:
        factory()
    assert info.value.field == field


def test_dataclasses_accept_valid_neighbours():
    ModelConfig(N=128, gridsize=2)
    ModelConfig(N=256)
    TrainingConfig(nphotons=1e3)
    TrainingConfig(realspace_mae_weight=1.0, realspace_weight=0.5)
    TrainingConfig(torch_loss_mode="mae")


def test_config_error_is_value_error():
    with pytest.raises(ValueError):
        ModelConfig(N=7)


# --- dataclass defaults -------------------------------------------------------------


def test_model_config_defaults():
    m = ModelConfig()
    assert dataclasses.asdict(m) == {
        "N": 64,
        "gridsize": 1,
        "n_filters_scale": 2,
        "model_type": "pinn",
        "amp_activation": "sigmoid",
        "object_big": True,
        "probe_big": True,
        "probe_mask": False,
        "pad_object": True,
        "probe_scale": 4.0,
        "gaussian_smoothing_sigma": 0.0,
    }


def test_training_config_defaults():
    t = TrainingConfig()
    d = {f.name: getattr(t, f.name) for f in dataclasses.fields(t)}
    assert d.pop("model") == ModelConfig()
    assert d == {
        "train_data_file": None,
        "test_data_file": None,
        "batch_size": 16,
        "nepochs": 50,
        "mae_weight": 0.0,
        "nll_weight": 1.0,
        "realspace_mae_weight": 0.0,
        "realspace_weight": 0.0,
        "nphotons": 1e9,
        "n_groups": 512,  # None -> 512
        "n_images": None,
        "n_subsample": None,
        "subsample_seed": None,
        "neighbor_count": 4,
        "enable_oversampling": False,
        "neighbor_pool_size": None,
        "positions_provided": True,
        "probe_trainable": False,
        "intensity_scale_trainable": True,
        "output_dir": "training_outputs",
        "sequential_sampling": False,
        "backend": "tensorflow",
        "torch_loss_mode": "poisson",
    }


def test_training_config_n_groups_resolution():
    assert TrainingConfig(n_groups=None).n_groups == 512
    assert TrainingConfig(n_images=100).n_groups == 100  # deprecated alias
    assert TrainingConfig(n_groups=7, n_images=100).n_groups == 7


def test_inference_config_defaults():
    i = InferenceConfig()
    d = {f.name: getattr(i, f.name) for f in dataclasses.fields(i)}
    assert d.pop("model") == ModelConfig()
    assert d == {
        "model_path": None,
        "test_data_file": None,
        "n_groups": None,
        "n_images": None,
        "n_subsample": None,
        "subsample_seed": None,
        "neighbor_count": 4,
        "enable_oversampling": False,
        "neighbor_pool_size": None,
        "debug": False,
        "output_dir": "inference_outputs",
        "backend": "tensorflow",
    }


@pytest.mark.parametrize(
    "obj,attr,value",
    [
        (ModelConfig(), "N", 128),
        (TrainingConfig(), "nphotons", 1e3),
        (TrainingConfig(), "n_groups", 3),
        (InferenceConfig(), "debug", True),
    ],
)
def test_dataclasses_are_frozen(obj, attr, value):
    before = getattr(obj, attr)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, attr, value)
    assert getattr(obj, attr) == before


# --- update_legacy_dict ---------------------------------------------------------------

# Non-default value for every renamed field, and which config carries it.
RENAMED_VALUES = {
    "object_big": ("model", False),
    "probe_big": ("model", False),
    "probe_mask": ("model", True),
    "probe_trainable": ("training", True),
    "intensity_scale_trainable": ("training", False),
    "positions_provided": ("training", False),
    "output_dir": ("training", "my_outputs"),
    "train_data_file": ("training", "train.npz"),
    "test_data_file": ("training", "test.npz"),
}


def _config_with(name, value):
    where, _ = RENAMED_VALUES[name]
    if where == "model":
        return TrainingConfig(model=ModelConfig(**{name: value}))
    return TrainingConfig(**{name: value})


@pytest.mark.parametrize("name", sorted(KEY_MAPPINGS))
def test_update_legacy_dict_renames(name):
    legacy_name = KEY_MAPPINGS[name]
    where, value = RENAMED_VALUES[name]  # KeyError: a new mapping needs a row here
    config = _config_with(name, value)
    # the value must differ from the dataclass default...
    default = getattr(ModelConfig() if where == "model" else TrainingConfig(), name)
    assert value != default
    # ...and a sentinel in the legacy slot proves the write went there
    cfg = params.capture_defaults()
    cfg[legacy_name] = "SENTINEL"
    out = update_legacy_dict(cfg, config)
    assert out is cfg
    assert cfg[legacy_name] == value
    assert name not in cfg  # not also written under the dataclass name


def test_key_mappings_table():
    assert KEY_MAPPINGS == {
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


def test_update_legacy_dict_copies_unrenamed_fields_under_same_name():
    cfg = params.capture_defaults()
    config = TrainingConfig(
        model=ModelConfig(N=128, gridsize=2, probe_scale=7.0),
        nphotons=1e4,
        n_groups=33,
        neighbor_count=6,
        mae_weight=0.25,
    )
    update_legacy_dict(cfg, config)
    assert cfg["N"] == 128
    assert cfg["gridsize"] == 2
    assert cfg["probe_scale"] == 7.0
    assert cfg["nphotons"] == 1e4
    assert cfg["n_groups"] == 33
    assert cfg["neighbor_count"] == 6
    assert cfg["mae_weight"] == 0.25


def test_update_legacy_dict_none_never_overwrites():
    cfg = params.capture_defaults()
    cfg["train_data_file_path"] = "existing_train.npz"
    cfg["test_data_file_path"] = "existing_test.npz"
    cfg["n_images"] = 77
    cfg["model_path"] = "existing_model"
    update_legacy_dict(cfg, TrainingConfig())  # all these are None
    assert cfg["train_data_file_path"] == "existing_train.npz"
    assert cfg["test_data_file_path"] == "existing_test.npz"
    assert cfg["n_images"] == 77
    update_legacy_dict(cfg, InferenceConfig())  # model_path None, n_groups None
    assert cfg["model_path"] == "existing_model"
    assert cfg["n_groups"] == 512  # from the TrainingConfig, not erased by None
    assert "n_subsample" not in cfg  # None is not written at all


def test_update_legacy_dict_leaves_untouched_legacy_keys():
    cfg = params.capture_defaults()
    untouched = {
        "offset": 6,
        "outer_offset_train": 8,
        "outer_offset_test": 20,
        "nimgs_train": 2,
        "nimgs_test": 2,
        "size": 256,
        "max_position_jitter": 3,
        "data_source": "grf",
        "tv_weight": 0.5,
        "default_probe_scale": 0.9,
        "set_phi": True,
        "sim_jitter_scale": 0.1,
    }
    cfg.update(untouched)
    update_legacy_dict(cfg, TrainingConfig(model=ModelConfig(gridsize=2)))
    for key, value in untouched.items():
        assert cfg[key] == value, key


def test_update_legacy_dict_paths_become_str():
    cfg = params.capture_defaults()
    config = TrainingConfig(
        train_data_file=Path("/data/train.npz"),
        test_data_file=Path("/data/test.npz"),
        output_dir=Path("/out/run1"),
    )
    update_legacy_dict(cfg, config)
    for key, expected in [
        ("train_data_file_path", "/data/train.npz"),
        ("test_data_file_path", "/data/test.npz"),
        ("output_prefix", "/out/run1"),
    ]:
        assert type(cfg[key]) is str, key
        assert cfg[key] == expected
    update_legacy_dict(cfg, InferenceConfig(model_path=Path("/models/m1")))
    assert type(cfg["model_path"]) is str and cfg["model_path"] == "/models/m1"


def test_update_legacy_dict_writes_only_known_keys_and_stays_valid():
    for config in (TrainingConfig(), InferenceConfig(model_path="m", test_data_file="t")):
        cfg = update_legacy_dict(params.capture_defaults(), config)
        unknown = set(cfg) - set(params.DEFAULT_CFG) - set(params.RUNTIME_KEYS)
        assert not unknown
        params.validate(cfg)


def test_legacy_vs_bridged_dataclass_defaults_differ_exactly_here():
    legacy = params.capture_defaults()
    bridged = update_legacy_dict(params.capture_defaults(), TrainingConfig())
    differ = {
        key: (legacy[key], bridged[key]) for key in legacy if bridged[key] != legacy[key]
    }
    assert differ == {
        "gridsize": (2, 1),
        "probe.big": (False, True),
        "probe.mask": (True, False),
        "probe_scale": (10.0, 4.0),
        "nepochs": (60, 50),
        "positions.provided": (False, True),
        "intensity_scale.trainable": (False, True),
        "output_prefix": ("outputs", "training_outputs"),
    }


# --- every field's rule, its boundary and its message (issue 10: mutation survivors) -------
#
# One row per field: a value just outside its rule, the exact message the user reads, and the
# value at the boundary that must still be accepted. The messages are the product here: a bad
# configuration is answered with one error naming the field and saying what it must be.

OPTIONAL_COUNT = ("must be an integer >= 1, got 0", 0, 1)
FLAG = ("must be True or False, got 'yes'", "yes", True)
PATH = ("must be a path or None, got int", 3, "out")
WEIGHT = ("must be a finite number >= 0, got -1", -1, 0)

DATACLASS_RULES = {
    ModelConfig: {
        "N": ("must be one of (64, 128, 256), got 32", 32, 128),
        "gridsize": OPTIONAL_COUNT,
        "n_filters_scale": OPTIONAL_COUNT,
        "model_type": ("must be 'pinn' or 'supervised', got 'gan'", "gan", "supervised"),
        "amp_activation": ("must be one of ('sigmoid', 'swish', 'softplus', 'relu'), got 'tanh'", "tanh", "relu"),
        "object_big": FLAG, "probe_big": FLAG, "probe_mask": FLAG, "pad_object": FLAG,
        "probe_scale": ("must be a finite number >= 0, got -1", -1, 0.5),
        "gaussian_smoothing_sigma": WEIGHT,
    },
    TrainingConfig: {
        "model": ("must be a ModelConfig, got str", "x", ModelConfig()),
        "train_data_file": PATH, "test_data_file": PATH, "output_dir": PATH,
        "batch_size": OPTIONAL_COUNT, "nepochs": OPTIONAL_COUNT, "n_groups": OPTIONAL_COUNT,
        "n_images": OPTIONAL_COUNT, "n_subsample": OPTIONAL_COUNT, "neighbor_count": OPTIONAL_COUNT,
        "neighbor_pool_size": OPTIONAL_COUNT,
        "subsample_seed": ("must be an integer >= 0, got -1", -1, 0),
        "mae_weight": WEIGHT, "nll_weight": WEIGHT, "realspace_mae_weight": WEIGHT,
        "realspace_weight": WEIGHT,
        "nphotons": ("must be a finite number > 0, got 0", 0, 0.5),
        "enable_oversampling": FLAG, "positions_provided": FLAG, "probe_trainable": FLAG,
        "intensity_scale_trainable": FLAG, "sequential_sampling": FLAG,
        "backend": ("only 'tensorflow' is implemented here, got 'pytorch'", "pytorch", "tensorflow"),
        "torch_loss_mode": ("must be 'poisson' or 'mae', got 'l2'", "l2", "mae"),
    },
    InferenceConfig: {
        "model": ("must be a ModelConfig, got str", "x", ModelConfig()),
        "model_path": PATH, "test_data_file": PATH, "output_dir": PATH,
        "n_groups": OPTIONAL_COUNT, "n_images": OPTIONAL_COUNT, "n_subsample": OPTIONAL_COUNT,
        "neighbor_pool_size": OPTIONAL_COUNT, "neighbor_count": OPTIONAL_COUNT,
        "subsample_seed": ("must be an integer >= 0, got -1", -1, 0),
        "enable_oversampling": FLAG, "debug": FLAG,
        "backend": ("only 'tensorflow' is implemented here, got 'pytorch'", "pytorch", "tensorflow"),
    },
}
RULE_CASES = [(cls, name) for cls, rules in DATACLASS_RULES.items() for name in rules]


def test_every_dataclass_field_has_a_rule():
    for cls, rules in DATACLASS_RULES.items():
        assert sorted(rules) == sorted(f.name for f in dataclasses.fields(cls)), cls.__name__


@pytest.mark.parametrize("cls,name", RULE_CASES, ids=[f"{c.__name__}.{n}" for c, n in RULE_CASES])
def test_dataclass_field_rule(cls, name):
    message, bad, boundary = DATACLASS_RULES[cls][name]
    with pytest.raises(ConfigError) as info:
        cls(**{name: bad})
    assert (info.value.field, info.value.message) == (name, message)
    assert getattr(cls(**{name: boundary}), name) == boundary


def test_dataclass_rules_that_join_two_fields():
    with pytest.raises(ConfigError) as info:
        ModelConfig(probe_scale=0)
    assert (info.value.field, info.value.message) == ("probe_scale", "must be > 0")
    with pytest.raises(ConfigError) as info:
        TrainingConfig(realspace_mae_weight=1.0)
    assert (info.value.field, info.value.message) == (
        "realspace_weight", "must be > 0 when realspace_mae_weight > 0")


LEGACY_RULES = {
    "N": ("must be one of (64, 128, 256), got 32", 32, 128),
    "gridsize": ("must be an integer >= 1, got 0", 0, 1),
    "offset": ("must be an integer >= 1, got 0", 0, 1),
    "batch_size": ("must be an integer >= 1, got 0", 0, 1),
    "nepochs": ("must be an integer >= 1, got 0", 0, 1),
    "n_filters_scale": ("must be an integer >= 1, got 0", 0, 1),
    "size": ("must be an integer >= 1, got 0", 0, 1),
    "max_position_jitter": ("must be an integer >= 0, got -1", -1, 0),
    "outer_offset_train": ("must be None or an even integer >= 2, got 0", 0, 2),
    "outer_offset_test": ("must be None or an even integer >= 2, got 3", 3, 2),
    "nphotons": ("must be a finite number > 0, got 0", 0, 0.5),
    "data_source": (f"must be one of {params.ALLOWED_DATA_SOURCES}, got 'x'", "x", "grf"),
    "amp_activation": ("must be one of ('sigmoid', 'swish', 'softplus', 'relu'), got 'tanh'", "tanh", "relu"),
    **{key: ("must be a finite number >= 0, got -1", -1, 0) for key in (
        "mae_weight", "nll_weight", "tv_weight", "realspace_mae_weight", "realspace_weight",
        "sim_jitter_scale", "gaussian_smoothing_sigma")},
    "probe_scale": ("must be > 0", 0, 0.5),
    "default_probe_scale": ("must be > 0", 0, 0.5),
    **{key: ("must be True or False, got 1", 1, False) for key in (
        "probe.trainable", "intensity_scale.trainable", "positions.provided", "object.big",
        "probe.big", "probe.mask", "set_phi", "pad_object")},
}


@pytest.mark.parametrize("key", sorted(LEGACY_RULES))
def test_legacy_validate_rule(key):
    message, bad, boundary = LEGACY_RULES[key]
    c = params.capture_defaults()
    c[key] = bad
    with pytest.raises(ConfigError) as info:
        params.validate(c)
    assert (info.value.field, info.value.message) == (key, message)
    c[key] = boundary
    params.validate(c)


def test_legacy_realspace_rule_message():
    c = params.capture_defaults()
    c["realspace_mae_weight"] = 1.0
    with pytest.raises(ConfigError) as info:
        params.validate(c)
    assert (info.value.field, info.value.message) == (
        "realspace_weight",
        "must be > 0 when realspace_mae_weight > 0 (the real-space term is otherwise dropped)")


@pytest.mark.parametrize("call", [lambda: params.get("no_such"), lambda: params.set("no_such", 1)])
def test_unknown_legacy_key_message(call):
    with pytest.raises(ConfigError) as info:
        call()
    assert (info.value.field, info.value.message) == ("no_such", "unknown legacy configuration key")


def test_is_finite_number_overflowing_int():
    assert params.is_finite_number(10**400) is False
    assert params.is_finite_number(10**300) is True


def _perturbed_cfg():
    """Every key the dose recipe writes holds another valid value first."""
    other = {
        "positions.provided": True, "data_source": "grf", "set_phi": True, "nepochs": 7,
        "offset": 6, "max_position_jitter": 5, "output_prefix": "elsewhere", "gridsize": 1,
        "n_filters_scale": 1, "object.big": False, "intensity_scale.trainable": False,
        "probe.trainable": True, "outer_offset_train": 4, "outer_offset_test": 4,
        "nimgs_train": 5, "nimgs_test": 5, "nphotons": 3.0,
    }
    for key, value in other.items():
        params.set(key, value)
    return other


def test_dose_init_overwrites_every_recipe_key_and_adds_none():
    _perturbed_cfg()
    params.init(0.5)  # the smallest dose is accepted: nphotons > 0
    expected = {**_DOSE_INIT, "nphotons": 0.5}
    assert {key: params.cfg[key] for key in expected} == expected
    assert set(params.cfg) == set(REFERENCE_DEFAULTS)



def test_dose_execute_overwrites_its_keys_and_adds_none():
    other = _perturbed_cfg()
    params.execute(2.0)
    written = ("data_source", "offset", "max_position_jitter", "output_prefix", "gridsize",
               "n_filters_scale", "object.big", "intensity_scale.trainable")
    assert {k: params.cfg[k] for k in written} == {k: ORIGINAL_DOSE_RECIPE[k] for k in written}
    assert params.cfg["nphotons"] == 2.0
    untouched = set(other) - set(written) - {"nphotons"}
    assert {k: params.cfg[k] for k in untouched} == {k: other[k] for k in untouched}
    assert set(params.cfg) == set(REFERENCE_DEFAULTS)


def test_snapshot_summarises_the_probe_and_copies_deeply():
    import numpy as np

    params.set("probe", np.ones((4, 6)))
    params.cfg["label"] = [[1]]
    snap = params.snapshot()
    assert snap["probe"] == "<array (4, 6)>"
    params.cfg["label"][0].append(2)
    assert snap["label"] == [[1]]
    params.set("probe", None)
    assert params.snapshot()["probe"] is None
    params.set("probe", [1, 2])  # no shape: still summarised
    assert params.snapshot()["probe"] == "<array ?>"
