"""Run the parity suite: prepare both pipelines, run the static checks, train, compare."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, PtychoBenchError, TrainingDivergedError
from ..evaluation.metrics import COLLAPSE_PEARSON  # noqa: F401 (also read as runner.COLLAPSE_PEARSON)
from ..pipelines import common, legacy, modern
from ..pipelines.profiles import Profile, get_profile
from ..progress import Progress, as_progress
from . import checks
from .explain import explain


@dataclass
class ParityOutcome:
    profile: Profile
    seed: int
    checks: list = field(default_factory=list)
    runs: dict = field(default_factory=dict)  # pipeline -> RunResult
    explanations: dict = field(default_factory=dict)
    dose_ladder: list = field(default_factory=list)  # rows: pipeline, nphotons, metrics
    #: kept only with ``keep_models=True``: pipeline -> (Prepared, TrainResult), for re-evaluation
    models: dict = field(default_factory=dict, repr=False)
    #: the report folder, once written
    report: object = None
    #: scenarios that did not run, one line each saying how to run them
    skipped: list = field(default_factory=list)
    #: with ``seeds > 1``: seed -> {pipeline: RunResult}, the first seed included
    seed_runs: dict = field(default_factory=dict, repr=False)

    def seed_summary(self) -> dict:
        """Median and spread over seeds of the trained quantities, and the collapse rate."""
        return seed_summary(self.seed_runs) if len(self.seed_runs) > 1 else {}

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def check(self, name: str) -> checks.CheckResult:
        return next(c for c in self.checks if c.name == name)


def prepare_both(profile: Profile, seed: int, nphotons=None, progress: bool | Progress = False, suffix: str = ""):
    """``(legacy, modern)`` prepared pipelines (legacy first: it owns the global cfg until modern resets it).

    ``progress`` reports them as ``legacy`` and ``modern gs2_ideal``, each followed by ``suffix``.
    """
    progress = as_progress(progress)
    return (legacy.prepare(profile, seed, nphotons, progress=progress.child(_label("legacy", suffix=suffix))),
            modern.prepare(profile, seed, nphotons, progress=progress.child(_label("modern", suffix=suffix))))


def static_checks(lp: common.Prepared, mp: common.Prepared, names=None, progress: bool | Progress = False) -> list:
    progress = as_progress(progress)
    out = []
    for name, check in checks.STATIC_CHECKS.items():
        if names is None or name in names:
            out.append(check(lp, mp))
            progress.check(out[-1])
    return out


def run_static(profile="smoke", seed: int = 0, names=None) -> list:
    """Only the checks that need no training; a set-up error becomes a failing ``setup`` check."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    try:
        lp, mp = prepare_both(profile, seed)
    except (PtychoBenchError, KeyError) as err:
        return [checks.CheckResult("setup", False, "", [f"pipeline set-up failed: {err!r}"])]
    return static_checks(lp, mp, names)


def _train_and_evaluate(prep: common.Prepared, progress: Progress):
    """``(RunResult, TrainResult or None)``."""
    try:
        result = common.train_model(prep, progress)
    except TrainingDivergedError as err:
        return common.failed(prep, err), None
    return evaluate(prep, result, progress), result


def evaluate(prep: common.Prepared, train_result, progress: bool | Progress = False) -> common.RunResult:
    """Predict, stitch and measure a trained pipeline."""
    module = legacy if prep.pipeline == "legacy" else modern
    return module.evaluate(prep, train_result, progress)


def _label(pipeline: str, scenario: str = modern.PARITY_SCENARIO, suffix: str = "") -> str:
    """``legacy`` or ``modern <scenario>``, then ``suffix``: whose progress a line is."""
    return f"legacy{suffix}" if pipeline == "legacy" else f"modern {scenario}{suffix}"


SEED_METRICS = ("pearson", "amplitude_ratio", "gauge_corrected_ratio", "amplitude_bias")


def seed_summary(seed_runs: dict) -> dict:
    """``{pipeline: {metric: {median, min, max, values}, collapse_rate, n}}`` over seeds."""
    out = {}
    for pipeline in ("legacy", "modern"):
        runs = [runs[pipeline] for runs in seed_runs.values() if not runs[pipeline].failure]
        if not runs:
            continue
        entry = {"n": len(runs), "seeds": [r.seed for r in runs]}
        for key in SEED_METRICS:
            values = [float(r.metrics[key]) for r in runs]
            entry[key] = {"median": float(np.median(values)), "min": min(values), "max": max(values),
                          "values": values}
        entry["collapse_rate"] = float(np.mean([r.metrics["pearson"] < COLLAPSE_PEARSON
                                                 or not np.isfinite(r.metrics["pearson"]) for r in runs]))
        entry["collapse_threshold"] = COLLAPSE_PEARSON
        out[pipeline] = entry
    return out


def run_parity(profile="smoke", seed: int = 0, train: bool = True, doses: bool = False,
               progress: bool = True, keep_models: bool = False, seeds: int = 1,
               probe_file=None) -> ParityOutcome:
    """The whole suite on one profile (``keep_models``: keep the trained pipelines).

    The legacy dose recipe is compared stage by stage with the modern ``gs2_ideal``
    scenario; the other modern scenarios (``gs1_ideal`` always, ``gs1_custom`` and
    ``gs2_custom`` with a ``probe_file``) are trained too, each with its own amplitude check
    against the physics' prediction and the legacy run.

    ``seeds``: train the compared pair at ``seed, seed+1, …`` (``seeds`` of them); the
    amplitude check then compares the medians over seeds and the report shows the
    distributions.

    ``progress``: ``True`` (stderr), ``False`` (silent) or a :class:`Progress`; it reports
    every stage of every pipeline run and every check's verdict as it completes.
    """
    if not isinstance(seeds, int) or seeds < 1:
        raise ConfigError("seeds", f"must be an integer >= 1, got {seeds!r}")
    progress = as_progress(progress)
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    outcome = ParityOutcome(profile=profile, seed=seed)
    lp, mp = prepare_both(profile, seed, progress=progress)
    outcome.checks = static_checks(lp, mp, progress=progress)
    with progress.child("parity").stage("recorded numbers"):  # recomputed at the investigation's sizes
        outcome.checks.append(checks.check_recorded_numbers(profile))
    progress.check(outcome.checks[-1])
    if not train:
        return outcome
    observed = []  # what each training run did, for the training_run check
    for prep in (lp, mp):
        outcome.runs[prep.pipeline], result = _train_and_evaluate(prep, progress.child(_label(prep.pipeline)))
        observed.append(checks.observe_training(prep, result))
        if keep_models:
            outcome.models[prep.pipeline] = (prep, result)
    stages = {p: outcome.runs[p].stages for p in outcome.runs}
    # the stage check again, now with the trained stages (predicted ... truth)
    at = [c.name for c in outcome.checks].index("normalization")
    outcome.checks[at] = checks.check_normalization(lp, mp, stages["legacy"], stages["modern"])
    progress.check(outcome.checks[at], "again, with the trained stages")
    for name, run in outcome.runs.items():
        if not run.failure:
            outcome.explanations[name] = explain(run)
    del lp, mp
    gc.collect()
    extra = [n for n in modern.SCENARIOS if n != modern.PARITY_SCENARIO]
    if probe_file is None:
        custom = [n for n in extra if modern.needs_probe_file(n)]
        extra = [n for n in extra if n not in custom]
        outcome.skipped.append(f"skipped scenarios {', '.join(custom)}: they need a measured probe; run "
                               f"`ptychobench parity --probe-file PATH.npz` (an NPZ with a 64x64 'probeGuess')")
    scenario_checks = []
    for scenario in extra:
        live = progress.child(_label("modern", scenario))
        prep = modern.prepare(profile, seed, scenario=scenario, probe_file=probe_file, progress=live)
        key = f"modern_{scenario}"
        outcome.runs[key], result = _train_and_evaluate(prep, live)
        observed.append(checks.observe_training(prep, result))
        if keep_models:
            outcome.models[key] = (prep, result)
        del prep
        gc.collect()
        scenario_checks.append(checks.check_amplitude(outcome.runs["legacy"], outcome.runs[key],
                                                      name=f"amplitude_{scenario}", modern_key=key))
        progress.check(scenario_checks[-1])
        if not outcome.runs[key].failure:
            outcome.explanations[key] = {**explain(outcome.runs[key]), "pipeline": key}
    outcome.seed_runs = {seed: {p: outcome.runs[p] for p in ("legacy", "modern")}}
    for other in range(seed + 1, seed + seeds):
        outcome.seed_runs[other] = {}
        suffix = f" seed {other}"
        for prep in prepare_both(profile, other, progress=progress, suffix=suffix):
            outcome.seed_runs[other][prep.pipeline], _ = _train_and_evaluate(
                prep, progress.child(_label(prep.pipeline, suffix=suffix)))
            del prep
            gc.collect()
    by_pipeline = {p: [runs[p] for runs in outcome.seed_runs.values()] for p in ("legacy", "modern")}
    outcome.checks.append(checks.check_training_run(observed))
    progress.check(outcome.checks[-1])
    outcome.checks.append(checks.check_amplitude(by_pipeline["legacy"], by_pipeline["modern"]))
    progress.check(outcome.checks[-1])
    outcome.checks += scenario_checks
    outcome.checks.append(checks.check_original(by_pipeline["legacy"], by_pipeline["modern"]))
    progress.check(outcome.checks[-1])
    if doses:
        for nphotons in profile.doses:
            for name, module in (("legacy", legacy), ("modern", modern)):
                live = progress.child(_label(name, suffix=f" nphotons {nphotons:g}"))
                prep = module.prepare(profile, seed, nphotons, progress=live)
                run, _ = _train_and_evaluate(prep, live)
                outcome.dose_ladder.append({"pipeline": prep.pipeline, "nphotons": nphotons,
                                            "failure": run.failure, **run.metrics})
                del prep
                gc.collect()
    return outcome
