"""Measured effects over seeds, and the verdicts they support.

Every intervention run is paired with the baseline at the same seed (same data, same
initial weights: the seed is the only draw). The measured effect on a quantity is the median
and range of the paired differences ``intervention − baseline``; the collapse rates are
compared with Fisher's exact test.

The verdict on one intervention reads the gauge-corrected ratio, the quantity the
investigation asked about:

* tolerance ``τ = max(half the range of the paired differences, TOLERANCE_FLOOR)``: the seed
  spread, never below the floor;
* the effect *differs from the baseline* when every paired difference has the same sign
  and ``|median| > τ``; it *matches the prediction* when ``|median − predicted| ≤ τ``;
* **supported**: an effect was predicted (``|predicted| > τ``), it differs and it matches;
* **ruled out**: every paired difference lies within ``±τ`` of 0 (whether the prediction was no
  effect, or one: no effect where the hypothesis needs one);
* **contradicted**: the effect differs from the baseline but not as predicted (a result, kept);
* **inconclusive**: anything else; with the number of seeds that would settle it (the paired
  differences' standard deviation against the effect to resolve).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..evaluation.metrics import COLLAPSE_PEARSON

#: the smallest change in the gauge-corrected ratio called an effect: 2%
TOLERANCE_FLOOR = 0.02
#: the target of the investigation: the modern ratio within 10% of 1 and a reconstruction
TARGET_RATIO, TARGET_PEARSON = 0.10, COLLAPSE_PEARSON
VERDICTS = ("supported", "ruled out", "contradicted", "inconclusive")


def collapsed(metrics: dict | None) -> bool:
    """A failed run, a non-finite pearson or one below :data:`COLLAPSE_PEARSON`."""
    if not metrics:
        return True
    p = metrics.get("pearson", math.nan)
    return not (isinstance(p, (int, float)) and math.isfinite(p) and p >= COLLAPSE_PEARSON)


def summary(values) -> dict:
    """Median, minimum and maximum of the finite values (NaN when there are none)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


def fisher(collapsed_base: list[bool], collapsed_int: list[bool]) -> float:
    """Two-sided p of Fisher's exact test on the 2×2 table of collapsed / not collapsed runs."""
    a, b = sum(collapsed_int), len(collapsed_int) - sum(collapsed_int)
    c, d = sum(collapsed_base), len(collapsed_base) - sum(collapsed_base)
    return float(stats.fisher_exact([[a, b], [c, d]])[1])


def seeds_to_settle(diffs: np.ndarray, effect: float) -> int:
    """Seeds whose median paired difference would resolve ``effect`` at about two standard
    errors (the median's standard error is ≈ 1.25·sd/√n)."""
    sd = float(np.std(diffs, ddof=1)) if diffs.size > 1 else math.inf
    if not math.isfinite(sd) or effect <= 0:
        return -1
    return max(int(diffs.size) + 1, math.ceil((2 * 1.25 * sd / effect) ** 2))


def judge(diffs, predicted_effects) -> dict:
    """The verdict on the gauge-corrected ratio from the paired differences and the per-seed
    predicted effects (same seeds; a failed run gives a NaN difference, and its seed is left out
    of both)."""
    d = np.asarray(diffs, dtype=np.float64)
    p = np.asarray(predicted_effects, dtype=np.float64)
    keep = np.isfinite(d) & np.isfinite(p)
    if keep.sum() < 2:
        return {"verdict": "inconclusive", "tolerance": None, "differs": False, "matches": False,
                "why": f"{int(keep.sum())} seed(s) with a measured and a predicted effect: too few to judge",
                "seeds_needed": -1, "median": None, "predicted": None}
    d, pred = d[keep], float(np.median(p[keep]))
    med = float(np.median(d))
    tol = max(float(d.max() - d.min()) / 2, TOLERANCE_FLOOR)
    differs = bool((np.all(d > 0) or np.all(d < 0)) and abs(med) > tol)
    matches = abs(med - pred) <= tol
    needed = -1
    if differs and matches and abs(pred) > tol:
        verdict, why = "supported", f"measured {med:+.3f} where {pred:+.3f} was predicted (±{tol:.3f})"
    elif np.all(np.abs(d) <= tol):
        verdict = "ruled out"
        why = (f"no effect ({d.min():+.3f} to {d.max():+.3f}), as predicted ({pred:+.3f})" if abs(pred) <= tol
               else f"no effect ({d.min():+.3f} to {d.max():+.3f}) where {pred:+.3f} was predicted")
    elif differs:
        verdict, why = "contradicted", f"measured {med:+.3f}, predicted {pred:+.3f} (±{tol:.3f})"
    else:
        verdict = "inconclusive"
        needed = seeds_to_settle(d, max(abs(pred), 2 * TOLERANCE_FLOOR))
        why = f"paired differences {d.min():+.3f} to {d.max():+.3f} straddle the effect; about {needed} seeds would settle it"
    return {"verdict": verdict, "tolerance": tol, "differs": differs, "matches": bool(matches), "why": why,
            "seeds_needed": needed, "median": med, "predicted": pred}


def toward_one(base_ratio: float, effect: float) -> bool:
    """Whether ``effect`` moves a ratio of ``base_ratio`` closer to 1."""
    return abs(base_ratio + effect - 1) < abs(base_ratio - 1)


def hypothesis_verdict(rows: list[dict]) -> tuple[str, str]:
    """One verdict per hypothesis from its interventions' rows (each with ``verdict``,
    ``for_hypothesis``, ``key``, ``pipeline``). ``for_hypothesis``: the effect is the one the
    hypothesis needs (the ratio toward 1; for ``coverage``, the undershoot recreated).

    Supported when one of them had that effect (as predicted, or by another amount); ruled out
    when none had any effect, or none had that effect and none is open; inconclusive otherwise."""
    def names(rs):
        return ", ".join(f"{r['key']} ({r['pipeline']})" for r in rs)

    helps = [r for r in rows if r["verdict"] in ("supported", "contradicted") and r["for_hypothesis"]]
    if helps:
        as_predicted = [r for r in helps if r["verdict"] == "supported"]
        other = [r for r in helps if r["verdict"] == "contradicted"]
        return "supported", "; ".join(([f"the predicted effect: {names(as_predicted)}"] if as_predicted else [])
                                      + ([f"an effect the hypothesis needs, not the predicted amount: {names(other)}"]
                                         if other else []))
    open_rows = [r for r in rows if r["verdict"] == "inconclusive"]
    if open_rows or not rows:
        return "inconclusive", f"not settled: {names(open_rows)}"
    if all(r["verdict"] == "ruled out" for r in rows):
        return "ruled out", f"no effect in {names(rows)}"
    return "ruled out", f"no intervention had the effect it needs ({names(rows)})"
