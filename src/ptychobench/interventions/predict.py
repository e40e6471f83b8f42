"""What the decomposition predicts an intervention will do, from the baseline run alone.

``explain`` writes the gauge-corrected ratio of a run as ``head_clip(G, c) × residual``, where
``G`` is the gauge (object normalisation × g × s_c/exp(log_scale)), ``c`` the amplitude head's
ceiling and ``head_clip(G, c) = mean(min(G·t, c)) / mean(G·t)`` over the covered truth ``t``.
An intervention changes ``G`` or ``c`` (or neither). The prediction recomputes the factors with
the changed ``G'``, ``c'`` and keeps everything else of the baseline, the residual included:

* gauge-corrected ratio ``= head_clip(G', c') × residual``, and the raw ratio ``G'`` times it;
* head saturation ``= mean(G'·t ≥ 0.99·c')``, and pearson ``= pearson(min(G'·t, c'), t)``: what
  a model that puts out the demanded amplitude, clipped by its head, would score.

``G'`` and ``c'`` are read off the intervention's own prepared model before it trains (its
data, normalisation, scale and head), so nothing about the trained outcome enters.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np

from ..model.spec import head_ceiling
from ..parity.trained import scored_metrics as scored

#: what is predicted and measured; the verdicts read the first, the gauge-corrected ratio; the
#: raw ``amplitude_ratio`` (mean prediction / mean truth, = gauge × gauge-corrected ratio) is
#: what a user sees as the undershoot
QUANTITIES = ("gauge_corrected_ratio", "amplitude_ratio", "head_saturation", "pearson")


def demand_model(gauge: float, ceiling: float, truth: np.ndarray) -> dict:
    """What a head of ``ceiling`` asked for ``gauge · truth`` puts out, and how it scores."""
    demand = gauge * truth
    out = np.minimum(demand, ceiling)
    clip = float(out.mean() / demand.mean())
    pearson = float(np.corrcoef(out, truth)[0, 1]) if out.std() > 0 else 0.0
    return {"head_clip": clip, "head_saturation": float(np.mean(demand >= 0.99 * ceiling)), "pearson": pearson}


def baseline_view(run: dict, arrays: dict) -> dict:
    """The baseline's gauge, ceiling, covered truth and measured quantities (covered window)."""
    metrics = scored(run)
    return {
        "gauge": start_gauge(run),
        "ceiling": head_ceiling(run["config"].get("amp_activation", "sigmoid")),
        "truth": arrays["truth"][arrays["covered"].astype(bool)].astype(np.float64),
        "measured": {**{q: float(metrics[q]) for q in QUANTITIES if q != "gauge_corrected_ratio"},
                     "gauge_corrected_ratio": float(metrics["amplitude_ratio"]) / start_gauge(run)},
    }


def predict(run: dict, arrays: dict, gauge_after: float, ceiling_after: float) -> dict:
    """The predicted quantities of the intervention and their predicted change from the
    baseline's measured ones; ``run``/``arrays`` are the baseline's JSON and arrays."""
    base = baseline_view(run, arrays)
    before = demand_model(base["gauge"], base["ceiling"], base["truth"])
    after = demand_model(gauge_after, ceiling_after, base["truth"])
    residual = base["measured"]["gauge_corrected_ratio"] / before["head_clip"]
    predicted = {
        "gauge_corrected_ratio": after["head_clip"] * residual,
        "amplitude_ratio": gauge_after * after["head_clip"] * residual,
        "head_saturation": after["head_saturation"],
        "pearson": after["pearson"],
    }
    return {
        "predicted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gauge_before": base["gauge"], "gauge_after": float(gauge_after),
        "ceiling_before": base["ceiling"], "ceiling_after": float(ceiling_after),
        "head_clip_before": before["head_clip"], "head_clip_after": after["head_clip"],
        "residual": residual,
        "predicted": predicted,
        "baseline": base["measured"],
        "effect": {q: predicted[q] - base["measured"][q] for q in QUANTITIES},
    }


def start_gauge(run: dict) -> float:
    """A run JSON's gauge with exp(log_scale) at its start (object normalisation × g × s_c /
    exp(initial log_scale)); the gauge of a constant-scale run."""
    f = run["scale_factors"]
    return float(f.get("object_normalization", 1.0) * f.get("g", 1.0) * f["s_c"] / math.exp(f["initial_log_scale"]))


def prepared_gauge(prep) -> tuple[float, float]:
    """``(G, c)`` of a prepared (untrained) pipeline: its gauge at the start and its head's ceiling."""
    gauge = prep.object_normalization * prep.diffraction_gain * prep.s_c / math.exp(prep.initial_log_scale)
    return float(gauge), head_ceiling(prep.spec.amp_activation)
