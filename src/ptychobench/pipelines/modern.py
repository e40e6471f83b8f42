"""The modern pipeline: dataclass config → ``update_legacy_dict`` → non-grid simulation →
K-NN grouping → ``normalize_data`` → training → position stitching → metrics.

Faithful to the sim-lines flow (``scripts/studies/sim_lines_4x/pipeline.py``) in its four
scenarios (:data:`SCENARIOS`); ``gs2_ideal`` (default probe, ``probe_scale`` 10, ``probe_mask``
True, ``probe_big`` False, gridsize 2) is the one compared with the legacy dose recipe:

1. ``TrainingConfig(ModelConfig(...))`` bridged into ``cfg`` by ``update_legacy_dict``;
2. one lines object (seed 42) and the default probe normalised with ``probe_scale``;
3. random positions (seed 42), non-grid simulation with a dataset-derived ``s_sim``,
   split by y (first half train);
4. K-NN grouping (K = ``neighbor_count``) of each split, ``normalize_data`` per split;
5. closed-form ``s_c`` in ``cfg``; the model starts at ``log_scale = log s_c``;
6. test prediction, position stitching (M = 20) on the object frame, comparison with
   ``|objectGuess|`` on the covered window.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import params
from ..config.modern import ModelConfig, TrainingConfig, update_legacy_dict
from ..errors import TrainingDivergedError
from ..evaluation import stitching
from ..model.spec import ModelSpec, head_ceiling
from ..physics import forward, objects, probe as probe_mod
from ..progress import Progress, as_progress
from ..errors import ConfigError
from ..simulation import datafile, grouping, nongrid, normalization
from ..simulation.data import SimulatedPatterns
from ..stages import StageRecorder
from ..training import loop
from ..training.losses import LossWeights
from . import common, variants
from .profiles import Profile, get_profile
from .variants import Variant

OBJECT_SEED = 42
POSITION_SEED = 42
BUFFER = 10
AMP_CHANNELS = "per_patch"  # main: C amplitude channels
NLL_FORM = "mean"  # main: tf.nn.log_poisson_loss, mean over pixels

#: The sim-lines scenarios (facts §5.3, DESIGN "Scenarios"): the ideal default probe at
#: probe_scale 10 with the mask, or a measured probe from a file at probe_scale 4 with
#: probe.big and no mask; gridsize 1 or 2.
SCENARIOS = {
    "gs1_ideal": {"gridsize": 1, "probe_scale": 10.0, "probe_big": False, "probe_mask": True},
    "gs2_ideal": {"gridsize": 2, "probe_scale": 10.0, "probe_big": False, "probe_mask": True},
    "gs1_custom": {"gridsize": 1, "probe_scale": 4.0, "probe_big": True, "probe_mask": False},
    "gs2_custom": {"gridsize": 2, "probe_scale": 4.0, "probe_big": True, "probe_mask": False},
}
#: The scenario the legacy dose recipe is compared with stage by stage (same gridsize, probe).
PARITY_SCENARIO = "gs2_ideal"


def scenario_settings(name: str) -> dict:
    if name not in SCENARIOS:
        raise ConfigError("scenario", f"unknown scenario {name!r}; choose one of {sorted(SCENARIOS)}")
    return SCENARIOS[name]


def needs_probe_file(name: str) -> bool:
    return name.endswith("_custom")


def build_configs(profile: Profile, nphotons: float, data_file=None, scenario: str = PARITY_SCENARIO,
                  variant: Variant = Variant()) -> TrainingConfig:
    """The sim-lines ``build_training_config`` for this profile and scenario, with the
    ``variant``'s model and training fields (none by default)."""
    model = ModelConfig(**{"N": profile.N, "n_filters_scale": profile.n_filters_scale,
                           **scenario_settings(scenario), **dict(variant.model)})
    return TrainingConfig(**{
        "model": model,
        "n_groups": profile.modern_train_groups,
        "nphotons": nphotons,
        "neighbor_count": 4,
        "nepochs": profile.modern_epochs,
        "train_data_file": data_file,
        **dict(variant.training),
    })


def bridge(config: TrainingConfig) -> None:
    """CONFIG-001: write the dataclass config into the legacy ``cfg`` before anything reads it."""
    update_legacy_dict(params.cfg, config)


def prepare(
    profile: Profile | str | None = None,
    seed: int = 0,
    nphotons: float | None = None,
    deterministic: bool = True,
    data_file=None,
    scenario: str = PARITY_SCENARIO,
    probe_file=None,
    progress: bool | Progress = False,
    variant: Variant = Variant(),
) -> common.Prepared:
    """Everything up to the built, untrained model (``progress``: a labelled :class:`Progress`).

    ``data_file``: a raw-data NPZ (:mod:`..simulation.datafile`) to use instead of
    simulating; its positions, diffraction, probe and object replace the simulated ones.
    ``scenario``: one of :data:`SCENARIOS`; the custom ones read ``probeGuess`` from
    ``probe_file`` (an NPZ, validated like every data file).
    ``variant``: one named change (:class:`.variants.Variant`; the default changes nothing).
    """
    if needs_probe_file(scenario) and probe_file is None and data_file is None:
        raise ConfigError("probe_file", f"scenario {scenario!r} needs a measured probe: pass --probe-file PATH.npz")
    progress = as_progress(progress)
    profile = variant.apply_to_profile(profile if isinstance(profile, Profile) else get_profile(profile))
    nphotons = profile.nphotons if nphotons is None else nphotons
    common.seed_everything(seed, deterministic)
    params.reset()
    config = build_configs(profile, nphotons, data_file, scenario, variant)
    bridge(config)
    cfg = params.cfg
    N, gs = cfg["N"], cfg["gridsize"]

    if data_file is None:
        obj = objects.make_lines_objects(profile.modern_size, 1, OBJECT_SEED)[0]
        raw_probe = (datafile.load_probe_npz(probe_file, N) if needs_probe_file(scenario)
                     else probe_mod.default_probe(N, cfg["default_probe_scale"]))
        probe = probe_mod.normalize_probe(raw_probe, cfg["probe_scale"])
        coords = nongrid.random_positions(profile.positions(gs), profile.modern_size, BUFFER, POSITION_SEED)
        with progress.stage("simulate"):
            sim = nongrid.simulate_nongrid(obj, probe, coords, nphotons=cfg["nphotons"], seed=seed * 1000 + 42,
                                           on_batch=progress.counter("simulate", "position"))
    else:
        raw = datafile.load_raw_npz(data_file)
        if raw.diff3d.shape[1] != N:
            raise ConfigError("N", f"{data_file} holds {raw.diff3d.shape[1]}-pixel patterns, the model is N={N}")
        obj = np.abs(raw.obj).astype(np.float32)
        probe = probe_mod.normalize_probe(raw.probe, cfg["probe_scale"])
        coords = raw.coords
        sim = SimulatedPatterns(
            diffraction=raw.diff3d,
            object_patches=nongrid.extract_patches(obj, coords, N),
            coords=coords,
            intensity_scale=float("nan"),  # not recorded in the file
        )
    cfg["probe"] = probe
    train_raw, test_raw = nongrid.split_by_axis(sim, 0.5, "y")

    def grouped(raw, n_groups, group_seed):
        # create_ptycho_data_container reads the group count and K from the dataclass
        # (M ptycho/workflows/components.py:705-714)
        idx = grouping.group_indices(raw.coords, n_groups, gs, config.neighbor_count, group_seed)
        return idx, grouping.group(raw, idx)

    def normalized(data, k):
        """``normalize_data`` (its gain times ``k``: 1 unless the target is changed), or the
        legacy gauge: the object / norm_Y_I, to which the diffraction is linear (Y_I stays raw)."""
        if variant.normalization == "legacy_gauge":
            norm = variants.object_normalization(data.Y_I)
            X = (data.X * np.float32(1.0 / norm)).astype(np.float32)
            return data.with_X(X, g=1.0, object_normalization=1.0 / norm, norm_Y_I=norm)
        X, g = normalization.normalize_data(data.X, N)
        if k != 1.0:
            X, g = (X * np.float32(k)).astype(np.float32), g * k
        return data.with_X(X, g=g, object_normalization=1.0)

    with progress.stage("group"):
        train_idx, train_grouped = grouped(train_raw, config.n_groups, seed * 1000 + 1)
        _, test_grouped = grouped(test_raw, profile.modern_test_groups, seed * 1000 + 7)
        k = 1.0  # ceiling_target: one target for both splits, from the training groups
        if variant.normalization == "ceiling_target":
            k = variants.ceiling_target_gain(normalization.normalization_gain(train_grouped.X, N), train_grouped.Y_I,
                                             head_ceiling(config.model.amp_activation))
        train, test = normalized(train_grouped, k), normalized(test_grouped, k)
    if variant.intensity_scale == "dataset":
        s_c = variants.dataset_intensity_scale(train_grouped.X, cfg["nphotons"])
    else:
        s_c = forward.closed_form_intensity_scale(cfg["nphotons"], N)
    cfg["intensity_scale"] = s_c
    spec = ModelSpec.from_params(cfg, amp_channels=AMP_CHANNELS, scale_variant=profile.scale_variant)
    with progress.stage("build model"):
        model = common.build_model(spec, probe, s_c, seed)

    rec = StageRecorder()
    rec.record("object", obj)
    rec.record("object_normalized", obj)
    rec.record("raw_diffraction", test_raw.diffraction, s_sim=sim.intensity_scale)
    rec.record("grouped_diffraction", test_grouped.X)
    rec.record("normalized_diffraction", test.X, g=test.scale_factors["g"])
    common.record_input_stages(rec, test, s_c)

    modern_config = dataclasses.asdict(config)
    modern_config["scenario"] = {"name": scenario, **scenario_settings(scenario)}
    if not variant.is_default:
        modern_config["variant"] = variant.changes()
    return common.Prepared(
        pipeline="modern",
        profile=profile,
        seed=seed,
        nphotons=nphotons,
        deterministic=deterministic,
        config=params.snapshot(),
        modern_config=modern_config,
        probe=probe,
        train=train,
        test=test,
        s_c=s_c,
        initial_log_scale=float(np.log(s_c)),
        spec=spec,
        nll_form=variant.nll_form or NLL_FORM,
        weights=LossWeights.from_params(cfg),
        epochs=cfg["nepochs"],
        batch_size=cfg["batch_size"],
        recorder=rec,
        model=model,
        test_images=obj[None],
        simulated_patches=sim.object_patches,
        train_positions=train_raw.coords,
        train_group_indices=train_idx,
        test_raw_X=test_grouped.X,
        presplit_shuffle=(profile.modern_validation == "shuffled" if variant.presplit_shuffle is None
                          else variant.presplit_shuffle),
    )


def reconstruct(prep: common.Prepared, trimmed: np.ndarray, scoring: str = common.FAITHFUL):
    """The evaluation geometry: object patches (B, N, N, 1) of the test groups stitched at their
    centres, and the window of the object they are scored on.

    ``scoring`` (:data:`.common.SCORINGS`):

    * ``faithful`` — the original's: the mosaic on the canvas of the original ``shift_and_sum``
      (:func:`..evaluation.stitching.original_frame`; every pixel ``sum / (weight + 1e-9)``),
      registered to the integer, on the scan bounding box ± M/2 of the test groups
      (``align_for_evaluation``); every pixel of that window counts, zeros included.
    * ``ptychobench`` — ours: the mosaic on the object's integer grid, pixels with weight
      ≤ 1e-6 set to 0, on the covered pixels of their bounding box.

    Returns ``(stitched, truth, scored, covered)`` on that window: the stitched amplitude
    (complex where ``trimmed`` is), the true object, the pixels the metrics count and the
    pixels the mosaic covers (bool).
    """
    obj = prep.test_images[0]
    M = prep.profile.reassemble_M
    centres = prep.test.coords_offsets[:, 0, :, 0]  # (B, [x, y]) group centres
    if common.check_scoring(scoring) == common.FAITHFUL:
        origin, size = stitching.original_frame(centres, M)
        image, weight = stitching.stitch_positions(trimmed[..., 0], centres, (size, size), M, origin,
                                                   min_weight=None)
        rows, cols = stitching.scan_bbox_window(centres, M, obj.shape)
        stitched = stitching.registered_window(image, origin, rows, cols)
        covered = stitching.registered_window(weight, origin, rows, cols) > 0
        return stitched, obj[rows, cols], np.ones(stitched.shape, bool), covered
    image, weight = stitching.stitch_positions(trimmed[..., 0], centres, obj.shape, M)
    rows, cols = stitching.window_of_coverage(weight)
    covered = weight[rows, cols] > 0
    return image[rows, cols], obj[rows, cols], covered, covered


def evaluate(prep: common.Prepared, train_result: loop.TrainResult,
             progress: bool | Progress = False) -> common.RunResult:
    """Predict the test groups, stitch them at their positions, compare on the covered window."""
    return common.evaluate(prep, train_result, reconstruct, progress)


def run(profile=None, seed: int = 0, nphotons=None, deterministic=True, progress: bool | Progress = True,
        data_file=None, scenario: str = PARITY_SCENARIO, probe_file=None, variant: Variant = Variant(),
        on_prepared=None):
    """The whole modern pipeline; a NaN in training is recorded as the run's failure.

    ``on_prepared(prep)``, when given, is called with the built model before it trains."""
    progress = as_progress(progress).child(f"modern {scenario}")
    prep = prepare(profile, seed, nphotons, deterministic, data_file, scenario, probe_file, progress, variant)
    if on_prepared is not None:
        on_prepared(prep)
    try:
        result = common.train_model(prep, progress)
    except TrainingDivergedError as err:
        return common.failed(prep, err)
    return evaluate(prep, result, progress)
