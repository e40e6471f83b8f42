"""Regression thresholds with a stated false-alarm rate, derived from redraws.

A science entry of the asv suite is a statistic over the same few seeds (3 on smoke): the
median or the spread (max - min) of a lower-is-better quantity, or a rate of seeds (collapsed,
failed). The same code on the same machine reproduces it bit for bit, so a false alarm comes
from a change that redraws the training's randomness without making anything worse: then
the base and the head are two independent draws of the statistic. asv calls the head worse
when ``base < head / (1 + t)``; the false-alarm rate of a threshold ``t`` is the probability
of that between two independent draws.

The rate is computed from a pool of K redraws of every run (seeds 0..K-1; ``python -m
benchmarks.history measure``): over the ordered pairs of disjoint seed sets (A, B) of the
suite's size, the fraction with ``stat(A) < stat(B) / (1 + t)``. Exactly, by enumerating
every pair where there are at most :data:`MAX_PAIRS`, else from that many pairs drawn with
a fixed seed. The pool's own rate underestimates a new pair's (its largest ratios are not
the largest to come), so a median's threshold must also hold the rate for a new pair under a
log-normal fit of the pool, and a spread's under normal redraws (:func:`row`). The speed
families' pools are whole asv runs of one commit (``measure-speed``), one draw each.

Standard library at import time (asv imports the suite's modules in every benchmarked
environment); scipy and numpy only inside the functions that derive thresholds.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re

#: the false-alarm rate per entry and per comparison that thresholds are chosen for
RATE = 0.01
MAX_PAIRS = 200_000
PAIR_SEED = 20261204


def median(values) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


#: A spread below this fraction of the values' size is the rounding of one number (float64
#: sums of the same float32 values in another order, about 1e-16 of them): it is tracked as 0,
#: since no relative threshold holds against a base of 0 and a head of rounding noise.
NOISE = 1e-9


def spread(values) -> float:
    """max - min, 0 where that is rounding (:data:`NOISE`)."""
    s = max(values) - min(values)
    return 0.0 if s <= NOISE * max(abs(v) for v in values) else s


STATISTICS = {
    "median": median,
    "spread": spread,
    # rates of seeds: the values are indicators (1 collapsed / failed, 0 not)
    "rate": lambda v: sum(v) / len(v),
}


def _pairs(k: int, size: int):
    """Ordered pairs of disjoint index sets of ``size`` out of ``k``: all of them, or
    :data:`MAX_PAIRS` drawn with :data:`PAIR_SEED`."""
    if k < 2 * size:
        raise ValueError(f"a pool of {k} redraws cannot hold two disjoint sets of {size} seeds")
    total = math.comb(k, size) * math.comb(k - size, size)
    if total <= MAX_PAIRS:
        for a in itertools.combinations(range(k), size):
            rest = [i for i in range(k) if i not in a]
            for b in itertools.combinations(rest, size):
                yield a, b
        return
    rng = random.Random(PAIR_SEED)
    for _ in range(MAX_PAIRS):
        both = rng.sample(range(k), 2 * size)
        yield both[:size], both[size:]


def pair_statistics(values, stat: str, size: int = 3) -> list[tuple[float, float]]:
    """``(stat(A), stat(B))`` for the pairs of :func:`_pairs`."""
    f = STATISTICS[stat]
    return [(f([values[i] for i in a]), f([values[i] for i in b])) for a, b in _pairs(len(values), size)]


def false_alarm_rate(pairs: list[tuple[float, float]], threshold: float) -> float:
    """Fraction of the pairs asv would flag at ``threshold``, by asv's own expression
    (``asv.commands.compare._is_result_better(a, b, ...)``: ``a < b / factor``)."""
    factor = 1.0 + threshold
    return sum(1 for a, b in pairs if a < b / factor) / len(pairs)


def round_up(t: float, digits: int = 3) -> float:
    """The smallest number of ``digits`` significant figures that is at least ``t``."""
    if t <= 0:
        return 0.0
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(t)))
    c = math.ceil(round(t * scale, 9)) / scale
    while c < t:
        c += 1.0 / scale
    return float(f"{c:.{digits}g}")


#: The threshold of a rate of seeds that no threshold holds at 1% with the suite's seeds (a
#: pipeline that collapses on some seeds and not others): it fires on one more collapsed (or
#: failed, or recovered) seed, as it must; its false-alarm rate is stated beside it.
ONE_SEED = 0.3
#: No threshold below this: float32 rounding of a mean moves a stage ratio by about 6e-8
#: between instruction sets; an entry equal over seeds to that precision alarms on 1e-6.
FLOOR = 1e-6


def median_variance(n: int) -> float:
    """Variance of the median of ``n`` (odd) standard normal draws: 1 for one, 0.4487 for three."""
    if n == 1:
        return 1.0
    from scipy import integrate, stats

    m = n // 2
    c = math.factorial(n) / math.factorial(m) ** 2
    v, _ = integrate.quad(lambda x: x * x * c * (stats.norm.cdf(x) * stats.norm.sf(x)) ** m * stats.norm.pdf(x),
                          -12, 12)
    return v


def _log_scale(values, size: int) -> float | None:
    """``s sqrt(2 v_size)``: the standard deviation of ln stat(A) - ln stat(B) for two new
    medians of ``size`` redraws, with ``s`` the pool's standard deviation of ln value; None
    where a value is not positive (no log-normal model)."""
    if min(values) <= 0:
        return None
    logs = [math.log(v) for v in values]
    mean = sum(logs) / len(logs)
    s = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    return s * math.sqrt(2 * median_variance(size))


def predicted_rate(values, size: int, t: float) -> float | None:
    """The false-alarm rate of ``t`` for a *new* pair of medians of ``size`` redraws, under a
    log-normal model of the redraws fitted to the pool: ``(ln a - ln b) / (s sqrt(2 v))``
    follows Student's t with K - 1 degrees of freedom (a prediction: ``s`` is itself an
    estimate from K values), and asv flags ``ln b - ln a > ln(1 + t)``. None without a model."""
    from scipy import stats

    scale = _log_scale(values, size)
    if scale is None:
        return None
    return 0.0 if scale == 0 else float(stats.t.sf(math.log1p(t) / scale, len(values) - 1))


def predictive_threshold(values, size: int, rate: float = RATE) -> float | None:
    """The threshold whose :func:`predicted_rate` is ``rate``: ``ln(1 + t) = t_{1-rate, K-1} s sqrt(2 v)``."""
    from scipy import stats

    scale = _log_scale(values, size)
    if scale is None:
        return None
    return math.expm1(float(stats.t.isf(rate, len(values) - 1)) * scale)


@functools.lru_cache(maxsize=None)
def _range_ratios(size: int):
    """Sorted ratios R_B / R_A of two independent ranges (max - min) of ``size`` standard
    normal draws, 10^6 of them drawn with :data:`PAIR_SEED`: for normal redraws of any mean and
    standard deviation, the ratio of two spreads has this distribution (the sd cancels)."""
    import numpy as np

    x = np.random.default_rng(PAIR_SEED).standard_normal((2, 1_000_000, size))
    r = x.max(axis=2) - x.min(axis=2)
    return np.sort(r[1] / r[0])


def spread_predicted_rate(size: int, t: float) -> float:
    """The false-alarm rate of ``t`` for a new pair of spreads of ``size`` normal redraws."""
    ratios = _range_ratios(size)
    return float(1.0 - ratios.searchsorted(1.0 + t, side="right") / len(ratios))


def spread_threshold(size: int, rate: float = RATE) -> float:
    """The threshold whose :func:`spread_predicted_rate` is ``rate`` (about 8.9 for 3 redraws at 1%)."""
    ratios = _range_ratios(size)
    return float(ratios[math.ceil((1.0 - rate) * len(ratios)) - 1]) - 1.0


def threshold_for_rate(values, stat: str, rate: float = RATE, size: int = 3) -> tuple[float, float]:
    """``(t, its false-alarm rate)``: the smallest relative threshold of three significant
    figures (at least :data:`FLOOR` for a median or spread) whose rate is at most ``rate``; ``t = inf`` where no
    finite one is (a rate of seeds, with too few seeds to hold it: every finite threshold
    fires when the head's seeds hold one more collapse than the base's). Values: one per
    redraw, lower is better."""
    pairs = pair_statistics(list(values), stat, size)
    ratios = sorted(1.0 if a == b else math.inf if a <= 0 else b / a for a, b in pairs)
    allowed = math.floor(rate * len(pairs))  # pairs that may be flagged
    r = ratios[len(ratios) - 1 - allowed]  # the smallest factor flagging at most `allowed` pairs
    if math.isinf(r):
        return math.inf, false_alarm_rate(pairs, 1e300)
    # from just under r - 1 (whose float may sit a rounding above the exact ratio) up, by
    # asv's own expression, to the first three-figure threshold that holds the rate
    t = round_up(max((r - 1.0) * (1 - 1e-12), 0.0 if stat == "rate" else FLOOR))
    while false_alarm_rate(pairs, t) > rate:
        t = round_up(t * (1 + 1e-3))
    return t, false_alarm_rate(pairs, t)


# --- from a pool of redraws to asv.conf.json's thresholds -------------------------------------

def _dose_repr(nphotons: float) -> str:
    """The dose as asv writes it in an entry name (``repr`` of the float parameter)."""
    return repr(float(nphotons))


def entry_name(family: str, quantity: str, pipeline: str, nphotons: float, stat: str | None) -> str:
    """The name asv gives one entry (one pipeline, dose and statistic) of a science family."""
    from .common import MAIN_DOSE

    if family == "StageRatios":
        if nphotons != MAIN_DOSE:
            raise ValueError("stage ratios are tracked at the main dose only")
        name = f"bench_science.StageRatios.track_stage_log_ratio('{pipeline}', '{quantity}', '{stat}')"
    elif stat is None:
        module = "bench_speed" if family == "ScienceCost" else "bench_science"
        name = f"{module}.{family}.track_{quantity}('{pipeline}', {_dose_repr(nphotons)})"
    else:
        name = f"bench_science.{family}.track_{quantity}('{pipeline}', {_dose_repr(nphotons)}, '{stat}')"
    return name


def regex_of(name: str) -> str:
    """A regex matching the entry ``name`` and nothing longer (asv matches from the start; a
    branch may follow an ``@``)."""
    return re.sub(r"([.()+*?\[\]$^])", r"\\\1", name) + "(@.*)?$"


def entry_regex(family: str, quantity: str, pipeline: str, nphotons: float, stat: str | None) -> str:
    """The regex of one entry of a science family (:func:`entry_name`)."""
    return regex_of(entry_name(family, quantity, pipeline, nphotons, stat))


def pool_values(runs: dict, collapse_pearson: float) -> dict:
    """``{(family, quantity, pipeline, dose): [value per seed]}`` of a pool (``{"pipeline|dose|
    seed": run}`` as ``measure`` writes it): the tracked lower-is-better forms of the runs that
    did not fail (with their costs: ScienceCost), and indicators (1/0) of every run for the rates."""
    from .common import AMPLITUDE, abs_log, collapsed, run_failure

    head = {"head_saturation": "saturation", "output_log_level": "output_log_level"}
    out: dict = {}
    for name, run in sorted(runs.items(), key=lambda kv: int(kv[0].rsplit("|", 1)[1])):
        pipeline, dose, _ = name.split("|")
        dose = float(dose)
        failed = run_failure(run) is not None
        down = failed or collapsed(run["metrics"], collapse_pearson)
        for quantity, value in (("failed_runs", failed), ("collapse_rate", down), ("recovery_rate", not down)):
            family = "Failures" if quantity == "failed_runs" else "Collapse"
            out.setdefault((family, quantity, pipeline, dose), []).append(float(value))
        if failed:
            continue
        costs = {"peak_rss": run.get("peak_rss_bytes"),
                 "train_seconds_per_group": 1.0 / run["samples_per_second"] if run.get("samples_per_second") else None}
        for quantity, v in costs.items():
            if v is not None and math.isfinite(v):
                out.setdefault(("ScienceCost", quantity, pipeline, dose), []).append(v)
        for metric, (f, _) in AMPLITUDE.items():
            family, quantity = ("Head", head[metric]) if metric in head else ("Amplitude", metric)
            v = f(run["metrics"])
            if v is not None and math.isfinite(v):
                out.setdefault((family, quantity, pipeline, dose), []).append(v)
        ratios = run.get("stage_ratios", {})
        stages = {**ratios.get("ratios", {}), "chain_product": ratios.get("chain_product")}
        for stage, r in stages.items():
            v = abs_log(r)
            if v is not None and math.isfinite(v):
                out.setdefault(("StageRatios", stage, pipeline, dose), []).append(v)
    return out


def derive(runs: dict, collapse_pearson: float, suite_seeds: int = 3, rate: float = RATE) -> list[dict]:
    """One row per science entry: its regex, threshold, false-alarm rate and the pool behind it.

    The statistic of an entry is over as many seeds as the suite runs at its dose
    (``suite_seeds`` at the main dose, one elsewhere, where no spread is tracked:
    common.seeds_at). ScienceCost's entries are medians over the same seeds. See :func:`row`."""
    from .common import MAIN_DOSE, seeds_at

    rows = []
    for (family, quantity, pipeline, dose), values in sorted(pool_values(runs, collapse_pearson).items()):
        if family == "StageRatios" and dose != MAIN_DOSE:
            continue
        size = len(seeds_at(dose, list(range(suite_seeds))))
        stats = ([None] if family in ("Collapse", "Failures", "ScienceCost")
                 else ["median", "spread"] if size > 1 else ["median"])
        for stat in stats:
            statistic = stat or ("median" if family == "ScienceCost" else "rate")
            rows.append(row(entry_name(family, quantity, pipeline, dose, stat), values, statistic, size, rate))
    return rows


def row(entry: str, values: list, stat: str, size: int, rate: float = RATE) -> dict:
    """The threshold of one entry, whose statistic ``stat`` is over ``size`` redraws, from a
    pool of them (``values``): the larger of

    - the smallest whose rate *in the pool* (every pair of disjoint draws) is at most ``rate``;
    - for a median of positive values, the one whose rate for a *new* pair is ``rate`` under a
      log-normal model fitted to the pool (:func:`predicted_rate`; the pool's own rate
      underestimates a new pair's: the pool's largest ratios are not the largest to come);
      for a spread of values that vary, the one under a normal model (:func:`spread_threshold`).

    Where no finite threshold holds ``rate`` in the pool (a statistic that is 0 in some draws
    and not in others: every relative threshold fires on a base of 0), a rate of seeds gets
    :data:`ONE_SEED` (it fires on one collapsed, failed or recovered seed more) and a median or
    spread the largest finite ratio of the pool (it fires only from a base of 0); the rate is
    stated, above ``rate``, with the reason."""
    out = {"entry": entry, "regex": regex_of(entry), "k": len(values), "min": min(values), "max": max(values),
           "median": median(values), "size": size, "stat": stat}
    t, alpha = threshold_for_rate(values, stat, rate, size)
    pairs = None
    if math.isinf(t):
        pairs = pair_statistics(values, stat, size)
        finite = [b / a for a, b in pairs if a > 0]
        t = ONE_SEED if stat == "rate" else round_up(max(max(finite, default=1.0) - 1.0, FLOOR))
        alpha = false_alarm_rate(pairs, t)
        out["why"] = (f"no threshold holds {rate:.0%} in the pool: fires on one seed more" if stat == "rate"
                      else f"the statistic is 0 in {sum(a == 0 for a, _ in pairs) / len(pairs):.0%} of the pool's "
                           f"draws and no relative threshold holds against 0")
    model = {"median": lambda: (predictive_threshold(values, size, rate), lambda t: predicted_rate(values, size, t)),
             "spread": lambda: ((spread_threshold(size, rate), lambda t: spread_predicted_rate(size, t))
                                if spread(values) > 0 else (None, None))}
    if stat in model:
        t_new, predicted = model[stat]()
        if t_new is not None and round_up(max(t_new, FLOOR)) > t:
            t = round_up(max(t_new, FLOOR))
            alpha = false_alarm_rate(pairs or pair_statistics(values, stat, size), t)
        out["predicted"] = predicted(t) if predicted else None
    return {**out, "threshold": t, "rate": alpha}


#: The speed families whose thresholds come from whole asv runs redrawn on one commit
#: (``python -m benchmarks.history measure-speed``); ScienceCost's come from the science pool.
SPEED_BENCH = r"bench_speed\.(TrainingSpeed|Throughput|Simulation)\."


def derive_speed(draws: list[dict], rate: float = RATE) -> list[dict]:
    """One row per speed entry from K asv runs of one commit on one machine (``{"values":
    {entry: value}}`` per run, as ``measure-speed`` writes them): each run is one draw of
    the entry (asv's own value: the median of its samples for a timing)."""
    values: dict = {}
    for draw in draws:
        for entry, v in draw["values"].items():
            if v is not None and math.isfinite(v):
                values.setdefault(entry, []).append(v)
    return [row(entry, vs, "median", 1, rate) for entry, vs in sorted(values.items())]


BLOCKS = {
    "science": (
        "// BEGIN science thresholds: `python -m benchmarks.history thresholds POOL.jsonl --write` replaces this block",
        "// END science thresholds",
        "between two independent draws of the entry's statistic over the suite's seeds"),
    "speed": (
        "// BEGIN speed thresholds: `python -m benchmarks.history thresholds POOL.jsonl --speed SPEED.jsonl --write`"
        " replaces this block",
        "// END speed thresholds",
        "between two asv runs of one commit on this machine (for a timing, an upper bound: compare also\n"
        "// asks asv's significance test of the two runs' samples)"),
}


def conf_block(rows: list[dict], source: str, kind: str = "science", indent: str = "        ") -> str:
    """The ``kind`` entries of ``regressions_thresholds``, each with its rate and pool in a comment."""
    begin, end, between = BLOCKS[kind]
    between = between.replace("\n", "\n" + indent)
    lines = [indent + begin,
             f"{indent}// Derived from {source}: per entry, the smallest threshold (3 significant figures) whose",
             f"{indent}// false-alarm rate, {between}, is at most {RATE:.0%} (benchmarks/alarms.py):",
             f"{indent}// in the pool (every pair of disjoint draws) and predicted for a new pair: for a median,",
             f"{indent}// from a log-normal fit (Student's t, K - 1 degrees of freedom); for a spread, for normal",
             f"{indent}// redraws (the ratio of two ranges). K: draws in the pool."]
    for r in rows:
        pool = f"K={r['k']}, values {r['min']:.3g}..{r['max']:.3g}, median {r['median']:.3g}"
        predicted = f", {r['predicted']:.4f} predicted" if r.get("predicted") is not None else ""
        why = f" ({r['why']})" if r.get("why") else ""
        lines.append(f"{indent}// false-alarm rate {r['rate']:.4f} in the pool{predicted}{why}; {pool}")
        regex = r["regex"].replace("\\", "\\\\")  # a JSON string
        lines.append(f'{indent}"{regex}": {r["threshold"]!r},')
    lines.append(indent + end)
    return "\n".join(lines)


def write_block(conf_text: str, block: str, kind: str = "science") -> str:
    """``conf_text`` with its ``kind`` block (between its BEGIN and END lines) replaced."""
    begin, end, _ = BLOCKS[kind]
    if begin not in conf_text or end not in conf_text:
        raise ValueError(f"asv.conf.json: no {kind} block ({begin!r} ... {end!r}) to replace")
    start = conf_text.rindex("\n", 0, conf_text.index(begin)) + 1
    stop = conf_text.index("\n", conf_text.index(end)) + 1
    return conf_text[:start] + block + "\n" + conf_text[stop:]  # asv reads JSON5: a last comma is fine
