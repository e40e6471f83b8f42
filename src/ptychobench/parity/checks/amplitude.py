"""The trained runs: the faithful seed distribution, the physics' prediction, the other pipeline."""

from __future__ import annotations

import math

import numpy as np

from .. import reference as ref
from .rows import CheckResult, Rows, abs_log


def predicted_ratio(run) -> dict:
    """What the physics predicts for ``run``'s amplitude ratio, written out from its arrays:
    the gauge ``G`` times the head clip ``mean(min(G·t, 1)) / mean(G·t)`` on covered pixels."""
    f = run.scale_factors
    G = f.get("object_normalization", 1.0) * f.get("g", 1.0) * f["s_c"] / f["exp_log_scale_final"]
    t = np.asarray(run.arrays["truth"], np.float64)[np.asarray(run.arrays["covered"], bool)]
    demand = G * t
    clip = float(np.minimum(demand, ref.ORIGINAL_AMP_ACTIVATION_CEILING).mean() / demand.mean())
    return {"gauge": G, "head_clip": clip, "predicted_ratio": G * clip}


def _as_list(runs):
    return list(runs) if isinstance(runs, (list, tuple)) else [runs]


def check_amplitude(legacy_runs, modern_runs, name: str = "amplitude", modern_key: str = "modern",
                    reference: dict | None = None) -> CheckResult:
    """The trained runs: each judged against the faithful seed distribution, and the amplitude
    against the physics' prediction (gauge × head clip) and against the other pipeline.

    ``legacy_runs`` / ``modern_runs``: one run, or one per seed; ``modern_key`` names the modern
    scenario's entry in the distribution (``modern`` is gs2_ideal, ``modern_gs1_ideal`` …).

    1. **The faithful distribution** (:func:`.trained.band_rows`): pearson, SSIM, head
       saturation, output level and gauge-corrected ratio of each pipeline, each in both
       directions, against ``faithful_seeds.json`` (the faithful code at seeds it never runs
       here). This is what judges a collapsed modern run: its saturation and level must be
       the faithful collapse's, and a rescue fails as surely as a darker output.
    2. **The physics' prediction** (:func:`predicted_ratio`, written out): ``|ln(ratio / (G ×
       clip))|`` per pipeline and between the pipelines. For legacy, whose head never clips,
       this is the gauge itself; for a saturated modern head, the prediction is the ceiling's
       and the row holds for any flat output at the ceiling (the bands judge that case).

    With several seeds the comparisons are made on the **median over seeds**: trained outcomes
    are bimodal across seeds and the median follows the majority basin; every seed's numbers
    are in the details. A failed run or a non-finite number fails its row with a message.

    Reference: ``faithful_seeds.json``; the gauge formula and head clip written out in
    :func:`predicted_ratio`; the other pipeline.
    """
    from .. import trained

    r = Rows()
    details, residual = {}, {}
    pairs = (("legacy", "legacy", _as_list(legacy_runs)), ("modern", modern_key, _as_list(modern_runs)))
    for pipeline, key, all_runs in pairs:
        trained.band_rows(r, key, all_runs, reference)
        runs = [run for run in all_runs if not run.failure]  # band_rows failed the others
        if not runs:
            continue
        per_seed = []
        for run in runs:
            pred = predicted_ratio(run)
            scored = trained.scored_metrics(run)  # the covered window the arrays hold
            per_seed.append({"seed": run.seed, **{k: scored.get(k, math.nan) for k in (
                "coverage", "amplitude_ratio", "amplitude_ratio_ls", "expected_gauge", "gauge_corrected_ratio",
                "amplitude_bias", "head_saturation", "output_level", "pearson", "ssim")}, **pred,
                "residual": scored["amplitude_ratio"] / pred["predicted_ratio"]})
        med = {k: float(np.median([p[k] for p in per_seed])) for k in ("residual", "amplitude_bias", "head_clip")}
        residual[pipeline] = med["residual"]
        details[pipeline] = {**per_seed[0], "key": key, "median": med, "seeds": per_seed}
        tag = f"{key}" + (f" (median of {len(runs)} seeds)" if len(runs) > 1 else "")
        r.within(f"{tag}: |ln(ratio / (G x head clip))| (the physics' prediction)",
                 abs_log(med["residual"]), "amplitude", "residual_abs_log")
        r.within(f"{tag}: |amplitude_bias - |ln head clip||",
                 abs(med["amplitude_bias"] - abs_log(med["head_clip"])), "amplitude", "residual_abs_log")
    if len(residual) == 2:
        r.within(f"legacy vs {modern_key}: |ln(residual_legacy / residual_modern)|",
                 abs_log(residual["legacy"] / residual["modern"]), "amplitude", "residual_abs_log")
    details["faithful"] = trained.reference_provenance(reference)
    return r.result(name, "regression guard: our faithful seed distribution (parity/faithful_seeds.json; parity "
                    "with the original is the check original_distribution); gauge formula x head clip "
                    "written out; the other pipeline", details)


