"""``ptychobench explain``: decompose a measured amplitude ratio into known stage gains.

For a run with stitched amplitude ``p`` and truth ``t`` (raw units) on the comparison
window, the naive figure a user sees is ``mean_window(p) / mean_window(t)``. It factors as

``naive = coverage_factor × G × head_clip × residual``

* ``coverage_factor`` = mean of ``p`` over the whole window / mean over covered pixels
  (uncovered pixels are exact zeros);
* ``G`` = object normalisation × diffraction gain ``g`` × ``s_c / exp(log_scale)``,
  the gauge the pipeline's own normalisations predict (see :mod:`..evaluation.metrics`);
* ``head_clip`` = ``mean(min(G·t, ceiling)) / mean(G·t)`` on covered pixels: the loss of
  amplitude a bounded head (sigmoid, ceiling 1) must suffer when the gauge asks it for
  values above its ceiling;
* ``residual`` = whatever is left: the model's own error. Near 1 means fully explained.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.spec import head_ceiling
from . import trained


#: ``(key, label, meaning)`` of the factors of ``naive``, in the order of the product
FACTORS = (
    ("coverage_factor", "coverage factor",
     "mean over the window / mean over covered pixels (uncovered pixels are zeros), relative to the truth's"),
    ("object_normalization", "object normalisation", "the object divided by norm_Y_I (legacy)"),
    ("diffraction_gain_g", "diffraction gain g", "normalize_data's gain on the diffraction (modern)"),
    ("intensity_scale_ratio", "s_c / exp(log_scale)", "closed-form intensity scale over the model's"),
    ("head_clip", "amplitude-head clip", "what the bounded head loses where the gauge asks for more than its ceiling"),
    ("residual", "unexplained residual", "the model's own error: 1 = fully explained"),
)


def explain(run) -> dict:
    """Factors of ``run``'s amplitude ratio; needs ``run.arrays`` (stitched, truth, covered)."""
    if run.failure:
        raise ValueError(f"{run.pipeline} run failed ({run.failure}); nothing to explain")
    stitched = np.abs(run.arrays["stitched"]).astype(np.float64)
    truth = run.arrays["truth"].astype(np.float64)
    covered = run.arrays["covered"].astype(bool)
    f = run.scale_factors
    ceiling = head_ceiling(run.config.get("amp_activation", "sigmoid"))
    object_norm = f.get("object_normalization", 1.0)
    g = f.get("g", 1.0)
    intensity = f["s_c"] / f["exp_log_scale_final"]
    gauge = object_norm * g * intensity
    naive = stitched.mean() / truth.mean()
    coverage_factor = stitched.mean() / stitched[covered].mean()
    truth_cov = truth[covered]
    window_truth = truth.mean() / truth_cov.mean()  # truth is not uniform over the window
    demand = gauge * truth_cov
    head_clip = float(np.minimum(demand, ceiling).mean() / demand.mean())
    scored = trained.scored_metrics(run)  # the covered window the arrays hold
    measured = scored["amplitude_ratio"]
    residual = measured / (gauge * head_clip)
    return {
        "pipeline": run.pipeline,
        "naive_window_ratio": float(naive),
        "amplitude_ratio": float(measured),
        "coverage": scored["coverage"],
        "coverage_factor": float(coverage_factor / window_truth),
        "object_normalization": float(object_norm),
        "diffraction_gain_g": float(g),
        "intensity_scale_ratio": float(intensity),
        "expected_gauge": float(gauge),
        "head_ceiling": ceiling,
        "head_demand_mean": float(demand.mean()),
        "head_demand_over_ceiling": float(np.mean(demand > ceiling)),
        "head_saturation": run.metrics.get("head_saturation", math.nan),
        "head_clip": head_clip,
        "residual": float(residual),
        "scale_drift": float(math.exp(f.get("log_scale_final", 0.0) - f.get("initial_log_scale", f.get("log_scale_final", 0.0)))),
    }


def hypotheses(e: dict) -> dict:
    """What the measured factors say about each hypothesis of the original investigation."""
    r = e["residual"]
    explained = abs(math.log(r)) <= 0.1
    left = (f"no factor is left for it: the gauge and the head explain the ratio to a residual of {r:.3f}"
            if explained else f"a residual of {r:.3f} is left unexplained; it could carry part of it")
    gauge_parts = []
    if e["object_normalization"] != 1.0:
        gauge_parts.append(f"object normalisation {e['object_normalization']:.3f} (1/norm_Y_I)")
    if e["diffraction_gain_g"] != 1.0:
        gauge_parts.append(f"diffraction gain g = {e['diffraction_gain_g']:.3f} (normalize_data)")
    if abs(e["intensity_scale_ratio"] - 1) > 1e-6:
        gauge_parts.append(f"s_c/exp(log_scale) = {e['intensity_scale_ratio']:.3f}")
    drift = e.get("scale_drift", 1.0)
    return {
        "H-LOSS-WEIGHT": f"ruled out as a factor: both pipelines train with the same weights; {left}.",
        "H-NORMALIZATION": ("supported: the gauge G = " + " x ".join(gauge_parts) + f" = {e['expected_gauge']:.3f} sets the scale"
                            if gauge_parts else "no normalisation factor in this pipeline's gauge."),
        "H-TRAINING-PARAMS": f"not a scale factor: epochs, learning rate and schedule enter no gauge term; {left}.",
        "H-ARCHITECTURE": (f"supported: the bounded sigmoid head clips the demanded amplitude (mean {e['head_demand_mean']:.2f}, "
                           f"{100 * e['head_demand_over_ceiling']:.0f}% of pixels above 1) by a factor {e['head_clip']:.3f}"
                           if e["head_clip"] < 0.95 else
                           f"not a factor here: the head clip is {e['head_clip']:.3f}"),
        "H-SCALER-DRIFT": (f"ruled out: exp(log_scale) ended at {drift:.6f} x its start (the faithful constant scale)"
                           if abs(drift - 1) < 1e-4 else
                           f"present in this run (trainable-scale variant): exp(log_scale) moved by x{drift:.3f}, "
                           f"carried by the s_c/exp(log_scale) factor"),
    }


def explain_text(e: dict) -> str:
    """The decomposition as a few readable lines."""
    lines = [
        f"{e['pipeline']}: naive window ratio {e['naive_window_ratio']:.4f} "
        f"(truth/prediction {1 / e['naive_window_ratio']:.2f}x)",
        f"  = coverage factor       {e['coverage_factor']:.4f}   (coverage {e['coverage']:.3f})",
        f"  x object normalisation  {e['object_normalization']:.4f}",
        f"  x diffraction gain g    {e['diffraction_gain_g']:.4f}",
        f"  x s_c / exp(log_scale)  {e['intensity_scale_ratio']:.4f}",
        f"  x amplitude-head clip   {e['head_clip']:.4f}   (head asked for mean {e['head_demand_mean']:.3f}, "
        f"{100 * e['head_demand_over_ceiling']:.1f}% of pixels above its ceiling {e['head_ceiling']}; "
        f"{100 * e['head_saturation']:.1f}% of predicted amplitudes within 1% of it)",
        f"  x unexplained residual  {e['residual']:.4f}",
    ]
    if e["head_demand_over_ceiling"] > 0.25:
        lines.append(
            "  -> the gauge asks the bounded amplitude head for values above its ceiling: the head "
            "saturates and the reconstruction undershoots by the clip factor (and stops learning)."
        )
    lines += [f"  {name}: {text}" for name, text in hypotheses(e).items()]
    return "\n".join(lines)
