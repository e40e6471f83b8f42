"""Every regression threshold in asv.conf.json can fire: a planted regression just above a
family's threshold makes ``nox -s compare`` fail naming it, one just below passes, a failed
benchmark fails, and so does a science entry's NaN (a failed seed; a speed entry's NaN is a
skip). A failed seed is named with its reason.

No benchmark runs: results are written in asv's format (asv_fixtures), compared by
benchmarks.history.compare with the project's own thresholds.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import sys
from pathlib import Path

import pytest

from .asv_fixtures import commit, conf, init_repo, suite_benchmarks, suite_entries, write_results

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_science, bench_speed, common, history  # noqa: E402

THRESHOLDS = history.load_conf(ROOT / "asv.conf.json")["regressions_thresholds"]
ENTRIES = [eb for m in (bench_science, bench_speed) for eb in suite_entries(m)]
BENCHMARKS = [b for m in (bench_science, bench_speed) for b in suite_benchmarks(m)]
TRACKED = {e for e, _ in ENTRIES}
KINDS = ("base", "above", "below", "nan", "failed")
#: a row of compare's table: mark, before, after, ratio, limit, entry [environment]
ROW = re.compile(r"^(.{2}) +\S+ +\S+ +\S+ +\S+  (.+) \[[^\]]*\]$")


def planted(kind: str, entry: str):
    """The value of ``entry`` at the commit ``kind``: 1 at the base, just above or just below
    its threshold, NaN (a failed seed / a skipped speed benchmark), None (a failed benchmark)."""
    if entry not in TRACKED:
        return math.nan  # a combination asv skips by design
    t = history.threshold_for(entry, THRESHOLDS, None)
    margin = 1e-3 * t if t > 0 else 1e-3  # a thousandth of the threshold: 1e-9 of a 1e-6 one
    return {"base": 1.0, "above": (1 + t) * (1 + margin), "below": (1 + t) / (1 + margin), "nan": math.nan,
            "failed": None}[kind]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository with the project's thresholds and five commits: base, and heads whose
    planted values are just above, just below, NaN, and a failed benchmark."""
    repo = tmp_path_factory.mktemp("alarms") / "repo"
    init_repo(repo, conf(regressions_thresholds=THRESHOLDS))
    commits = {name: commit(repo, {"f": name}, name) for name in KINDS}
    return repo, commits


def _compare(repo, machine, base, head, cache=None):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = history.compare(repo / "asv.conf.json", machine, base, head, cache=cache)
    return rc, out.getvalue()


@pytest.fixture(scope="module")
def verdicts(repo):
    """``{kind: (exit status, {entry: mark}, output)}`` of compare, base vs each planted head,
    with every entry of the suite planted at once (each at its own threshold)."""
    repo, commits = repo
    out = {}
    with contextlib.chdir(repo):
        for kind in KINDS:
            write_results(repo / ".asv" / "results", "planted", repo, commits[kind], [b for b, _ in BENCHMARKS],
                          {b["name"]: [planted(kind, e) for e in entries] for b, entries in BENCHMARKS})
        for kind in KINDS[1:]:
            rc, text = _compare(repo, "planted", commits["base"], commits[kind])
            marks = {m.group(2): m.group(1).strip() for line in text.splitlines() if (m := ROW.match(line))}
            out[kind] = rc, marks, text
    return out


def test_every_entry_is_compared(verdicts):
    _, marks, _ = verdicts["above"]
    assert sorted(marks) == sorted(e for b in BENCHMARKS for e in b[1])
    assert {e for e, mark in marks.items() if mark == "+"} == TRACKED


@pytest.mark.parametrize("regex", list(THRESHOLDS), ids=lambda r: re.sub(r"\W+", "_", r)[:70])
def test_each_threshold_fires_on_its_planted_regression(verdicts, regex):
    governed = [e for e, _ in ENTRIES
                if re.match(regex, e) and history.threshold_for(e, THRESHOLDS, None) == float(THRESHOLDS[regex])]
    assert governed, f"{regex} governs no entry (a larger threshold overrides it everywhere)"
    (rc_above, above, out_above), (rc_below, below, _), (_, nan, out_nan), (rc_failed, failed, out_failed) = (
        verdicts[k] for k in KINDS[1:])
    assert rc_above == 1 and rc_failed == 1 and rc_below == 0, out_above
    for entry in governed:
        assert above[entry] == "+" and entry in out_above.splitlines()[-1], entry
        assert below[entry] in ("", "-"), entry  # not worse ("-": better, under a threshold of 0)
        assert failed[entry] == "!" and f"FAILED {entry}" in out_failed, entry
        # NaN: a science entry lost its number to a failed seed; a speed entry was skipped
        if entry.startswith("bench_science."):
            assert nan[entry] == "!" and f"FAILED {entry}" in out_nan, entry
        else:
            assert nan[entry] == "", entry


def _run(pearson, failure=None, ratio=1.0):
    return {"failure": failure, "peak_rss_bytes": 1, "samples_per_second": 1.0,
            "metrics": {"amplitude_bias": abs(math.log(ratio)) if ratio > 0 and math.isfinite(ratio) else ratio,
                        "amplitude_ratio": ratio, "coverage": 1.0, "pearson": pearson},
            "stage_ratios": {"ratios": {"object_patch": 1.0}, "chain_product": 1.0}}


def test_failed_seeds_are_named_with_their_reasons(repo, tmp_path, monkeypatch):
    """Divergence on 2 of 3 seeds: the median is NaN (not the survivor's), the failure count
    rises, and compare names the benchmark, the seeds and the reasons from the science cache."""
    repo, commits = repo
    monkeypatch.chdir(repo)
    runs = {"legacy|1e+09|0": _run(0.9, failure="loss diverged (NaN) at epoch 3"),
            "legacy|1e+09|1": _run(0.9),
            "legacy|1e+09|2": _run(0.9, ratio=math.nan)}
    head = commits["nan"]
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "science-smoke-x.json").write_text(json.dumps({"collapse_pearson": 0.5, "commits": [head], "runs": runs}))
    summary = common.summarize({"collapse_pearson": 0.5, "runs": runs})["legacy|1e+09"]
    bias, failed = (next((e, b) for e, b in ENTRIES if e == name) for name in (
        "bench_science.Amplitude.track_amplitude_bias('legacy', 1000000000.0, 'median')",
        "bench_science.Failures.track_failed_runs('legacy', 1000000000.0)"))
    for c, values in ((commits["base"], (0.004, 0)), (head, (summary["amplitude_bias"]["median"],
                                                             summary["failed_runs"]))):
        write_results(repo / ".asv" / "results", "seeds", repo, c, [bias[1], failed[1]],
                      {bias[1]["name"]: [values[0]], failed[1]["name"]: [values[1]]})
    rc, out = _compare(repo, "seeds", commits["base"], head, cache=cache)
    assert rc == 1, out
    for entry in (bias[0], failed[0]):
        line = next(x for x in out.splitlines() if x.startswith(f"FAILED {entry}"))
        assert "seed 0: loss diverged (NaN) at epoch 3" in line and "seed 2: non-finite amplitude_ratio" in line
        assert "seed 1" not in line


# --- thresholds for a stated false-alarm rate (benchmarks/alarms.py) --------------------------

from benchmarks import alarms  # noqa: E402


def test_median_threshold_matches_the_normal_theory():
    """Log-normal redraws, ln x ~ N(0, s^2): ln median-of-3 has the variance v3 s^2 of the
    median of 3 standard normals, v3 = integral of x^2 6 phi Phi (1 - Phi); two independent
    medians differ by sd s sqrt(2 v3), so the 1% one-sided threshold is exp(2.326 s sqrt(2 v3)) - 1."""
    import numpy as np
    from scipy import integrate, stats

    v3, _ = integrate.quad(lambda x: x * x * 6 * stats.norm.pdf(x) * stats.norm.cdf(x) * stats.norm.sf(x),
                           -12, 12)
    assert v3 == pytest.approx(0.4487, abs=1e-4)  # the textbook value
    s = 0.05
    values = np.exp(s * np.random.default_rng(7).standard_normal(400)).tolist()
    t, rate = alarms.threshold_for_rate(values, "median")
    expected = math.exp(stats.norm.ppf(0.99) * s * math.sqrt(2 * v3)) - 1
    assert math.log1p(t) == pytest.approx(math.log1p(expected), rel=0.1)
    assert rate <= 0.01


def test_threshold_is_the_smallest_that_holds_the_rate():
    values = [0.004, 0.0061, 0.0012, 0.009, 0.0033, 0.0071, 0.0025, 0.0049, 0.0102, 0.0019]
    for stat in ("median", "spread"):
        pairs = alarms.pair_statistics(values, stat)
        assert len(pairs) == math.comb(10, 3) * math.comb(7, 3)  # every ordered disjoint pair
        t, rate = alarms.threshold_for_rate(values, stat)
        assert rate == alarms.false_alarm_rate(pairs, t) <= 0.01
        smaller = t - 10 ** (math.floor(math.log10(t)) - 2)  # the next threshold of 3 figures down
        assert alarms.false_alarm_rate(pairs, smaller) > 0.01, (stat, t)


def test_round_up_never_rounds_down():
    assert alarms.round_up(0.1230000000004) == 0.124
    assert alarms.round_up(1.0000000000001) == 1.01
    assert alarms.round_up(0.3) == 0.3 and alarms.round_up(9.996) == 10.0 and alarms.round_up(0.0) == 0.0


def test_rate_of_seeds():
    """Collapse indicators: none (or all) collapsed in the pool holds any rate at threshold 0;
    one collapsed seed in 12 lands in the head's 3 seeds and not the base's with probability
    3/12, whatever the threshold: no threshold holds 1% with 3 seeds."""
    assert alarms.threshold_for_rate([0.0] * 12, "rate") == (0.0, 0.0)
    assert alarms.threshold_for_rate([1.0] * 12, "rate") == (0.0, 0.0)
    t, rate = alarms.threshold_for_rate([1.0] + [0.0] * 11, "rate")
    assert math.isinf(t) and rate == pytest.approx(3 / 12)


def test_too_few_redraws_are_refused():
    with pytest.raises(ValueError, match="cannot hold two disjoint sets"):
        alarms.threshold_for_rate([1.0] * 5, "median")


def test_derived_regexes_name_the_suites_entries_and_the_blocks_round_trip(tmp_path):
    """Each derived regex governs exactly one entry of the suite, and together they govern
    all of it; the blocks written into a configuration parse (the speed block ends the JSON
    object: no comma after its last entry), and a second write replaces them instead of
    adding others."""
    runs = {}
    for seed in range(6):
        for pipeline in common.PIPELINES:
            for dose in common.DOSES:
                r = _run(0.9 if pipeline == "legacy" else 0.02, ratio=1.0 + 0.01 * seed)
                r["metrics"].update(head_saturation=0.0, output_level=0.45 + 0.001 * seed)
                r["peak_rss_bytes"], r["samples_per_second"] = 1e9 + 1e6 * seed, 30.0 - 0.1 * seed
                r["stage_ratios"]["ratios"] = {stage: 1.0 + 1e-3 * seed for stage in bench_science.STAGES}
                runs[common.run_key(pipeline, dose, seed)] = r
    speed_entries = [e for e, _ in ENTRIES if re.match(alarms.SPEED_BENCH, e)]
    draws = [{"values": {e: 1.0 + 0.01 * ((i * 7) % 10) for e in speed_entries}} for i in range(10)]
    rows = {"science": alarms.derive(runs, 0.5), "speed": alarms.derive_speed(draws)}
    text = (ROOT / "asv.conf.json").read_text()
    for kind in rows:
        block = alarms.conf_block(rows[kind], "test pool", kind)
        once = alarms.write_block(text, block, kind)
        assert alarms.write_block(once, block, kind) == once and once.count(alarms.BLOCKS[kind][0]) == 1
        text = once
    conf_path = tmp_path / "asv.conf.json"
    conf_path.write_text(text)
    thresholds = history.load_conf(conf_path)["regressions_thresholds"]
    governing = {}
    for row in rows["science"] + rows["speed"]:
        governed = [e for e, _ in ENTRIES if re.match(row["regex"], e)]  # as asv matches
        assert len(governed) == 1, row["regex"]
        # the derived threshold is the one in force: no broad entry overrides it
        assert history.threshold_for(governed[0], thresholds, None) == row["threshold"], row["regex"]
        governing[governed[0]] = row["regex"]
    assert sorted(governing) == sorted(e for e, _ in ENTRIES)
    # the larger of the pool's largest ratio (1.09 / 1.00) and the log-normal prediction
    # ln(1 + t) = t_{0.99, 9} s sqrt(2), t_{0.99, 9} = 2.821 (the textbook table)
    import numpy as np

    v = np.log([1.0 + 0.01 * ((i * 7) % 10) for i in range(10)])
    expected = max(0.09, math.expm1(2.821 * v.std(ddof=1) * math.sqrt(2)))
    assert expected <= rows["speed"][0]["threshold"] <= expected * 1.01


def test_a_new_pair_alarms_at_the_stated_rate():
    """The rate that counts is a new pair's, not the pool's: over many pools of K = 10
    log-normal draws, the threshold chosen from each flags a new pair (exactly: Phi(-ln(1 + t)
    / (sigma sqrt 2))) at 1% on average; the pool's own largest ratio alone flags about 2%."""
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(20261204)
    sigma, new_pair, pool_only = 0.05, [], []
    for _ in range(400):
        values = np.exp(sigma * rng.standard_normal(10)).tolist()
        t = alarms.row("e", values, "median", 1)["threshold"]
        new_pair.append(stats.norm.sf(math.log1p(t) / (sigma * math.sqrt(2))))
        t_pool, _ = alarms.threshold_for_rate(values, "median", size=1)
        pool_only.append(stats.norm.sf(math.log1p(t_pool) / (sigma * math.sqrt(2))))
    assert np.mean(new_pair) <= 0.0115
    assert np.mean(pool_only) > 0.015


def test_a_mixed_rate_of_seeds_fires_on_one_seed_more():
    """A pipeline that collapses on some redraws: no threshold holds 1% with 3 seeds; the
    entry gets ONE_SEED (one more collapsed seed fires) and its rate is stated."""
    runs = {}
    for seed in range(8):
        r = _run(0.9 if seed % 4 else 0.1)  # seeds 0 and 4 collapse
        r["metrics"].update(head_saturation=0.0, output_level=0.45)
        runs[common.run_key("legacy", 1e9, seed)] = r
    rows = {row["regex"]: row for row in alarms.derive(runs, 0.5)}
    row = rows[alarms.entry_regex("Collapse", "collapse_rate", "legacy", 1e9, None)]
    assert row["threshold"] == alarms.ONE_SEED and "no threshold holds" in row["why"]
    assert row["rate"] > 0.01


def test_spread_threshold_holds_the_rate_for_normal_redraws():
    """Two spreads (ranges) of 3 normal redraws: the ratio's 99th percentile, checked on an
    independent simulation (other draws, other sd); the old rule's threshold of 1.0 (about
    two standard deviations of a spread) fires on about a fifth of redraws."""
    import numpy as np

    t = alarms.spread_threshold(3)
    x = 0.3 * np.random.default_rng(7).standard_normal((2, 400_000, 3)) + 5.0
    r = x.max(axis=2) - x.min(axis=2)
    assert np.mean(r[0] < r[1] / (1 + t)) == pytest.approx(0.01, abs=0.0006)
    assert alarms.spread_predicted_rate(3, t) == pytest.approx(0.01, abs=1e-4)
    assert np.mean(r[0] < r[1] / 2.0) == pytest.approx(0.20, abs=0.01)


def test_a_spread_of_rounding_is_zero_and_a_small_real_one_is_kept():
    """Legacy's chain product over seeds: the same float32 numbers summed in another order,
    0.0726 +- 1e-17; tracked as 0 (else a relative threshold fires on noise). The Poisson
    stage's real spread, 1.6e-6 of its value, stays."""
    x = 0.07259999999999999
    noisy = [x, x + 1.4e-17, x + 2.8e-17]
    assert max(noisy) > min(noisy) and alarms.spread(noisy) == 0.0
    assert common.distribution(noisy)["spread"] == 0.0
    poisson = [2.87, 2.87 * (1 + 1.6e-6), 2.87 * (1 - 1e-6)]
    assert alarms.spread(poisson) == pytest.approx(2.87 * 2.6e-6)
    assert common.distribution(poisson)["spread"] == pytest.approx(2.87 * 2.6e-6)
