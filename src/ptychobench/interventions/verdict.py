"""Measured effects over seeds, and the verdicts they support.

Every intervention run is paired with the baseline at the same seed (same data, same initial
weights: the seed is the only draw). Its measured effect on a quantity is the median and range of
the paired differences ``intervention − baseline``; its predicted effect (made before it trained,
:mod:`.predict`) is paired with it seed by seed.

**Tolerance, and the correction for several interventions per hypothesis.** A hypothesis tested by
``k`` rows (intervention × pipeline) is judged on all ``k`` at once, so each row's tolerance is a
Bonferroni-corrected two-sided interval of level ``ALPHA / k`` on its median::

    τ = max(floor, z(1 − ALPHA / 2k) · 1.25 · sd / √n)

with ``sd`` the larger standard deviation of the paired differences and of the misses
(difference − predicted effect) over the ``n`` paired seeds (1.25·sd/√n: the median's standard
error) and ``floor`` the smallest change called an effect (:data:`FLOORS`). "Contradicted" needs any one row to
miss (a union over ``k``: the correction keeps the chance that seed noise alone contradicts a true
account at about ``ALPHA``); "supported" needs every row to land (an intersection, which needs no
correction; the same τ serves both, so a wider family lands a little more easily, bounded by the
seeds' own spread).

**One row** (an intervention in one pipeline), on the gauge-corrected ratio, the quantity the
investigation asked about:

* a seed whose intervention run *diverged* (failed where its baseline trained) is a result: the
  prediction was a finite ratio, so the row is **contradicted** (and the seed counts as collapsed);
  a seed whose baseline failed predicted nothing and is left out;
* it *lands* when ``|median miss| ≤ τ``; it *moved* when every paired difference has one sign and
  ``|median| > τ``; the prediction is *null* when ``|median predicted effect| ≤ floor`` (the
  change leaves the gauge and the ceiling: the decomposition predicts no change);
* **pinned baseline**: every baseline seed sits at the head's ceiling (saturation ≥
  :data:`PINNED_SATURATION`). A null prediction there cannot be tested on the ratio (the ceiling
  holds it whatever the intervention does), so an unmoved ratio is judged on what can still move:
  pearson, head saturation, the raw output level (amplitude ratio) and the paired collapse state.
  If any of them moved the prediction "no change" failed: **contradicted**; if none did:
  **inconclusive: baseline pinned**, never "ruled out";
* **ruled out**: a null prediction, an unpinned baseline and every paired difference within ±τ;
* **supported**: a predicted effect, landed and moved;
* **contradicted**: missed and either moved (an effect, not the predicted one: an overshoot is a
  miss) or stayed within ±τ of 0 where an effect was predicted;
* **inconclusive**: anything else (the seeds straddle), with the seeds that would settle it.

**One hypothesis**, from all its rows: **contradicted** when any row is; else **inconclusive** when
any row is open; else **supported** when at least one row predicted an effect and every such row
landed (rows with a null prediction that was met count for it, not against); else **ruled out**
when every row is; else (null predictions, some behind a pinned baseline) **inconclusive: baseline
pinned**. Rows that are not judged (coverage: an identity, see :mod:`.catalog`) do not count.

Collapse counts are reported, not tested: Fisher's exact test on them, at three seeds against
three, cannot go below p = 0.10 (it needs four against four for an all-to-none change to reach
p = 0.029), and the collapse state enters the verdict through the paired rule above.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..evaluation.metrics import COLLAPSE_PEARSON

#: the family-wise level of one hypothesis' rows
ALPHA = 0.05
#: the smallest change called an effect, per quantity; the amplitude ratio's is relative to the
#: baseline's (2% of the output level)
FLOORS = {"gauge_corrected_ratio": 0.02, "amplitude_ratio": 0.02, "head_saturation": 0.02, "pearson": 0.10}
TOLERANCE_FLOOR = FLOORS["gauge_corrected_ratio"]
#: a baseline seed at or above this head saturation sits at the ceiling
PINNED_SATURATION = 0.99
#: the target of the investigation: the modern ratio within 10% of 1 and a reconstruction
TARGET_RATIO, TARGET_PEARSON = 0.10, COLLAPSE_PEARSON
PINNED, NOT_JUDGED = "inconclusive: baseline pinned", "not judged"
VERDICTS = ("supported", "contradicted", "ruled out", "inconclusive", PINNED, NOT_JUDGED)
RATIO = "gauge_corrected_ratio"
SECONDARY = ("pearson", "head_saturation", "amplitude_ratio")


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


def _array(values) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)


def z(k: int) -> float:
    """The two-sided normal quantile of level ``ALPHA / k``."""
    return float(stats.norm.ppf(1 - ALPHA / (2 * max(k, 1))))


def tolerance(*samples: np.ndarray, floor: float, k: int) -> float:
    """``max(floor, z(k) · 1.25 · sd / √n)`` with the largest ``sd`` of the samples."""
    n = min(s.size for s in samples)
    sd = max(float(np.std(s, ddof=1)) for s in samples) if n > 1 else math.inf
    return max(floor, z(k) * 1.25 * sd / math.sqrt(n))


def moved(d: np.ndarray, tol: float) -> bool:
    """Every paired difference of one sign and the median beyond ``tol``."""
    return bool(d.size and (np.all(d > 0) or np.all(d < 0)) and abs(float(np.median(d))) > tol)


def seeds_to_settle(d: np.ndarray, effect: float, k: int = 1) -> int:
    """Seeds whose median would resolve ``effect`` at the row's level (``z(k)`` standard errors)."""
    sd = float(np.std(d, ddof=1)) if d.size > 1 else math.inf
    if not math.isfinite(sd) or effect <= 0:
        return -1
    return max(int(d.size) + 1, math.ceil((z(k) * 1.25 * sd / effect) ** 2))


def paired(row: dict) -> dict:
    """A row's per-seed measurements, as stored in a record: paired differences and predicted
    effects per quantity (NaN where missing), the seeds whose intervention diverged (no difference,
    a prediction made: its baseline trained) and the paired collapse flags of the seeds kept."""
    preds = row["predictions"]
    d = {q: _array(e["paired_differences"]) for q, e in row["effects"].items()}
    p = {q: _array([x["effect"][q] if x else None for x in preds]) for q in row["effects"]}
    diverged = [s for s, x, v in zip(row["seeds"], preds, d[RATIO]) if x and not math.isfinite(v)]
    keep = np.isfinite(d[RATIO]) & np.isfinite(p[RATIO])
    flips = np.asarray([int(ci) - int(cb) for ci, cb, k in zip(row["collapsed"], row["collapsed_baseline"], keep) if k])
    return {"d": {q: v[keep] for q, v in d.items()}, "p": {q: v[keep] for q, v in p.items()},
            "diverged": diverged, "flips": flips, "n": int(keep.sum())}


def _result(verdict: str, why: str, **extra) -> dict:
    out = {"verdict": verdict, "why": why, "tolerance": None, "median": None, "predicted": None, "miss": None,
           "lands": False, "moved": False, "pinned": False, "seeds_needed": -1, "diverged": [], "also_moved": []}
    return out | extra


def judge(row: dict, k: int = 1) -> dict:
    """The verdict on one row (see the module's docstring); ``k``: the judged rows of its hypothesis."""
    s = paired(row)
    if s["diverged"]:
        return _result("contradicted", f"seed(s) {', '.join(map(str, s['diverged']))} diverged where a finite ratio "
                       "was predicted (a divergence is a result)", diverged=s["diverged"])
    if s["n"] < 2:
        return _result("inconclusive", f"{s['n']} seed(s) with a measured and a predicted effect: too few to judge")
    d, p = s["d"][RATIO], s["p"][RATIO]
    miss = d - p
    tol = tolerance(d, miss, floor=FLOORS[RATIO], k=k)
    med, pred, med_miss = float(np.median(d)), float(np.median(p)), float(np.median(miss))
    lands, has_moved, null = abs(med_miss) <= tol, moved(d, tol), abs(pred) <= FLOORS[RATIO]
    base_sat = row["effects"]["head_saturation"]["baseline"]["min"]
    pinned = base_sat is not None and math.isfinite(base_sat) and base_sat >= PINNED_SATURATION
    facts = dict(tolerance=tol, median=med, predicted=pred, miss=med_miss, lands=bool(lands), moved=has_moved,
                 pinned=bool(pinned))
    measured = f"measured {med:+.3f} ({d.min():+.3f} to {d.max():+.3f}), predicted {pred:+.3f} (τ {tol:.3f})"
    if null and not has_moved and pinned:
        also = []
        base_level = abs(row["effects"]["amplitude_ratio"]["baseline"]["median"] or 0.0)
        for q in SECONDARY:
            floor = FLOORS[q] * (base_level if q == "amplitude_ratio" else 1.0)
            if moved(s["d"][q], tolerance(s["d"][q], floor=floor, k=k)):
                also.append(f"{q} {float(np.median(s['d'][q])):+.3f}")
        if s["flips"].size and (np.all(s["flips"] > 0) or np.all(s["flips"] < 0)):
            also.append(f"collapse {'gained' if s['flips'][0] > 0 else 'lost'} at every seed")
        if also:
            return _result("contradicted", f"the ratio is held by the pinned head ({measured}), but "
                           f"{', '.join(also)} moved where no change was predicted", **facts, also_moved=also)
        return _result(PINNED, f"the baseline sits at the head's ceiling (saturation ≥ {base_sat:.4f}), so the ratio "
                       f"cannot move ({measured}); pearson, saturation, output level and collapse did not move either",
                       **facts)
    if null and np.all(np.abs(d) <= tol):
        return _result("ruled out", f"no effect, as predicted: {measured}", **facts)
    if not null and lands and has_moved:
        return _result("supported", measured, **facts)
    if not lands and (has_moved or np.all(np.abs(d) <= tol)):
        what = "an effect, not the predicted one" if has_moved else "no effect where one was predicted"
        return _result("contradicted", f"{what}: {measured}", **facts)
    needed = seeds_to_settle(d, max(abs(pred), 2 * FLOORS[RATIO]), k)
    return _result("inconclusive", f"the seeds straddle: {measured}; about {needed} seeds would settle it",
                   **facts, seeds_needed=needed)


def hypothesis_verdict(rows: list[dict]) -> tuple[str, str]:
    """One verdict per hypothesis from its judged rows (each with ``verdict``, ``key``,
    ``pipeline``, ``predicted``, ``tolerance``); see the module's docstring."""
    def names(rs):
        return ", ".join(f"{r['key']} ({r['pipeline']})" for r in rs)

    rows = [r for r in rows if r["verdict"] != NOT_JUDGED]
    by = {v: [r for r in rows if r["verdict"] == v] for v in VERDICTS}
    if not rows:
        return "inconclusive", "no judged intervention"
    if by["contradicted"]:
        return "contradicted", f"missed its prediction: {names(by['contradicted'])}"
    if by["inconclusive"]:
        needed = max(r.get("seeds_needed", -1) for r in by["inconclusive"])
        return "inconclusive", (f"not settled: {names(by['inconclusive'])}"
                                + (f"; about {needed} seeds would settle it" if needed > 0 else ""))
    if by["supported"]:
        rest = [r for r in rows if r["verdict"] != "supported"]
        return "supported", (f"every intervention that predicted an effect landed within τ of it: {names(by['supported'])}"
                             + (f"; no change predicted and none measured: {names(rest)}" if rest else ""))
    if len(by["ruled out"]) == len(rows):
        return "ruled out", f"no effect, as predicted, in {names(rows)}"
    return PINNED, (f"the pinned baseline holds the ratio in {names(by[PINNED])}; nothing else moved"
                    + (f"; ruled out in {names(by['ruled out'])}" if by["ruled out"] else ""))


def judge_rows(rows: list[dict], hypothesis_of=lambda r: r["hypothesis"], judged=lambda r: True) -> None:
    """Judge every row in place, each with the ``k`` of its hypothesis (its judged rows)."""
    counts: dict[str, int] = {}
    for r in rows:
        if judged(r):
            counts[hypothesis_of(r)] = counts.get(hypothesis_of(r), 0) + 1
    for r in rows:
        r["hypothesis"] = hypothesis_of(r)
        if judged(r):
            r |= judge(r, counts[r["hypothesis"]]) | {"family_size": counts[r["hypothesis"]]}
        else:
            r |= _result(NOT_JUDGED, "an identity: the whole-frame ratio is the covered ratio times the covered share "
                         "of the truth, whatever training does") | {"family_size": 0}
