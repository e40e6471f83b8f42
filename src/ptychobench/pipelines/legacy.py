"""The legacy pipeline: dose recipe → grid simulation → training → grid stitching → metrics.

Faithful to the dose-experiments flow (``notebooks/dose.py`` + ``ptycho/train.py``):

1. ``params.init(nphotons, loss_fn)`` then ``params.execute(nphotons)``;
2. the default probe, normalised with ``cfg['probe_scale']``, stored in ``cfg['probe']``;
3. grid simulation of the train images (seed 1) and test images (seed 2); the test set
   reuses the training ``s_sim``; ``cfg['intensity_scale'] = s_sim``;
4. the model is built with ``log_scale = log s_sim`` (it is first imported after data
   generation), then training overwrites ``cfg['intensity_scale']`` with the closed form
   ``s_c``, which multiplies the inputs;
5. test prediction, grid tiling of the central ``outer/2`` pixels, comparison with the
   clipped raw-unit ground truth.

The profile sets the object size, image counts and epochs (recorded as overrides).
"""

from __future__ import annotations

import numpy as np

from ..config import params
from ..errors import ConfigError, TrainingDivergedError
from ..evaluation import stitching
from ..model.spec import ModelSpec
from ..physics import forward, objects, probe as probe_mod
from ..progress import Progress, as_progress
from ..simulation import legacy_grid
from ..stages import StageRecorder
from ..training import loop
from ..training.losses import LossWeights
from . import common
from .profiles import Profile, get_profile
from .variants import Variant

TRAIN_OBJECT_SEED = 1
TEST_OBJECT_SEED = 2
AMP_CHANNELS = "single"  # dose-experiments: one amplitude channel
NLL_FORM = "full_sum"  # dose-experiments: TFP log-pmf summed per sample


def configure(profile: Profile, nphotons: float, loss_fn: str) -> dict:
    """Run the dose recipe on a fresh ``cfg`` and apply the profile's sizes."""
    params.reset()
    params.init(nphotons, loss_fn)
    params.execute(nphotons)
    overrides = {
        "size": profile.legacy_size,
        "nimgs_train": profile.legacy_nimgs_train,
        "nimgs_test": profile.legacy_nimgs_test,
        "nepochs": profile.legacy_epochs,
        "N": profile.N,
        "gridsize": profile.gridsize,
        "n_filters_scale": profile.n_filters_scale,
    }
    for key, value in overrides.items():
        params.set(key, value)
    params.validate()
    if profile.legacy_train_groups is not None:  # not a cfg key: the caller's choice of groups for fit
        overrides["fit_groups"] = profile.legacy_train_groups
    return overrides


def prepare(
    profile: Profile | str | None = None,
    seed: int = 0,
    nphotons: float | None = None,
    loss_fn: str = "nll",
    deterministic: bool = True,
    progress: bool | Progress = False,
) -> common.Prepared:
    """Everything up to the built, untrained model (``progress``: a labelled :class:`Progress`)."""
    progress = as_progress(progress)
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    nphotons = profile.nphotons if nphotons is None else nphotons
    common.seed_everything(seed, deterministic)
    overrides = configure(profile, nphotons, loss_fn)
    cfg = params.cfg
    N, gs, offset = cfg["N"], cfg["gridsize"], cfg["offset"]

    raw_probe = probe_mod.default_probe(N, cfg["default_probe_scale"])
    cfg["probe"] = probe_mod.normalize_probe(raw_probe, cfg["probe_scale"])
    probe = cfg["probe"]

    with progress.stage("simulate"):
        train_objects = objects.make_lines_objects(cfg["size"], cfg["nimgs_train"], TRAIN_OBJECT_SEED)
        test_objects = objects.make_lines_objects(cfg["size"], cfg["nimgs_test"], TEST_OBJECT_SEED)
        sim = dict(N=N, gridsize=gs, offset=offset, nphotons=cfg["nphotons"])
        train, _ = legacy_grid.simulate_grid(
            train_objects, probe, outer_offset=cfg["outer_offset_train"], seed=seed * 1000 + 1,
            on_batch=progress.counter("simulate train", "group"), **sim
        )
        s_sim = train.scale_factors["s_sim"]
        test, test_layout = legacy_grid.simulate_grid(
            test_objects,
            probe,
            outer_offset=cfg["outer_offset_test"],
            seed=seed * 1000 + 2,
            intensity_scale=s_sim,
            on_batch=progress.counter("simulate test", "group"),
            **sim,
        )
    if profile.legacy_train_groups is not None and profile.legacy_train_groups < train.n_groups:
        # s_sim and norm_Y_I stay those of the whole simulated set, as the original computes them
        train = train.take(legacy_grid.fit_subset(train.n_groups, profile.legacy_train_groups))
    for data in (train, test):
        data.scale_factors["object_normalization"] = 1.0 / data.scale_factors["norm_Y_I"]
    cfg["intensity_scale"] = s_sim  # generate_data
    spec = ModelSpec.from_params(cfg, amp_channels=AMP_CHANNELS, scale_variant=profile.scale_variant)
    with progress.stage("build model"):
        model = common.build_model(spec, probe, s_sim, seed)  # model imported after generate_data
    s_c = forward.closed_form_intensity_scale(cfg["nphotons"], N)
    cfg["intensity_scale"] = s_c  # train_pinn.train overwrites it

    rec = StageRecorder()
    norm = test.scale_factors["norm_Y_I"]
    rec.record("object", test_objects)
    rec.record("object_normalized", test_objects / np.float32(norm), norm_Y_I=norm)
    rec.record("raw_diffraction", test.X, s_sim=s_sim)
    rec.same_as("grouped_diffraction", "raw_diffraction")  # the grid simulation yields groups
    rec.same_as("normalized_diffraction", "grouped_diffraction", g=1.0)  # no diffraction normalisation
    common.record_input_stages(rec, test, s_c)

    config = params.snapshot()
    config["profile_overrides"] = overrides
    config["loss_fn"] = loss_fn
    return common.Prepared(
        pipeline="legacy",
        profile=profile,
        seed=seed,
        nphotons=nphotons,
        deterministic=deterministic,
        config=config,
        modern_config=None,
        probe=probe,
        train=train,
        test=test,
        s_c=s_c,
        initial_log_scale=float(np.log(s_sim)),
        spec=spec,
        nll_form=NLL_FORM,
        weights=LossWeights.from_params(cfg),
        epochs=cfg["nepochs"],
        batch_size=cfg["batch_size"],
        recorder=rec,
        model=model,
        test_images=test_objects,
        train_images=train_objects,
        test_layout=test_layout,
    )


def reconstruct(prep: common.Prepared, trimmed: np.ndarray, scoring: str = common.FAITHFUL):
    """The evaluation geometry: object patches (B, N, N, 1) of the test groups tiled per image,
    and the clipped truth of each image.

    ``scoring`` (:data:`.common.SCORINGS`):

    * ``faithful`` — the original's: test image 0 only (DE ``ptycho/data_preprocessing.py:128-129``,
      ``ptycho/export.py``), ``offset/2`` trimmed off each side (DE ``ptycho/evaluation.py:123-126``);
    * ``ptychobench`` — ours: every test image's mosaic, stacked along rows, untrimmed.

    Returns ``(stitched, truth, scored, covered)``; every pixel of a grid mosaic is covered and counts.
    """
    cfg = prep.config  # the snapshot: another pipeline may have reset the global cfg since
    layout = prep.test_layout
    per_image = layout.ny * layout.nx
    faithful = common.check_scoring(scoring) == common.FAITHFUL
    n_images = 1 if faithful else layout.n_images
    mosaics = [
        stitching.stitch_grid(trimmed[i * per_image : (i + 1) * per_image, :, :, 0], layout.ny, layout.nx,
                              cfg["outer_offset_test"])
        for i in range(n_images)
    ]
    truth = legacy_grid.clipped_truth(
        prep.test_images[:n_images], cfg["N"], cfg["gridsize"], cfg["offset"], cfg["outer_offset_test"]
    )
    if faithful:
        stitched, truth = stitching.trim(mosaics[0], cfg["offset"]), stitching.trim(truth[0], cfg["offset"])
    else:
        stitched, truth = np.concatenate(mosaics, axis=0), np.concatenate(list(truth), axis=0)
    every = np.ones(stitched.shape, dtype=bool)
    return stitched, truth, every, every


def evaluate(prep: common.Prepared, train_result: loop.TrainResult,
             progress: bool | Progress = False) -> common.RunResult:
    """Predict the test groups, tile them per image and compare with the clipped truth."""
    return common.evaluate(prep, train_result, reconstruct, progress)


def run(profile=None, seed: int = 0, nphotons=None, loss_fn: str = "nll", deterministic=True,
        progress: bool | Progress = True, variant: Variant = Variant(), on_prepared=None) -> common.RunResult:
    """The whole legacy pipeline; a NaN in training is recorded as the run's failure.

    ``variant``: a named change; the legacy pipeline takes profile fields only
    (``scale_variant``, ...). ``on_prepared(prep)`` is called with the built model before it trains."""
    if variant.changes().keys() - {"profile"}:
        raise ConfigError("variant", f"the legacy pipeline takes profile changes only, got {variant.changes()}")
    progress = as_progress(progress).child("legacy")
    profile = variant.apply_to_profile(profile if isinstance(profile, Profile) else get_profile(profile))
    prep = prepare(profile, seed, nphotons, loss_fn, deterministic, progress)
    if on_prepared is not None:
        on_prepared(prep)
    try:
        result = common.train_model(prep, progress)
    except TrainingDivergedError as err:
        return common.failed(prep, err)
    return evaluate(prep, result, progress)
