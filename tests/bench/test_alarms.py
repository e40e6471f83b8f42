"""Every regression threshold in asv.conf.json can fire: a planted regression just above a
family's threshold makes ``nox -s compare`` fail naming it, one just below passes, and a NaN
(a failed seed) or a failed benchmark fails. A failed seed is named with its reason.

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

from .asv_fixtures import commit, conf, init_repo, suite_entries, write_results

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_science, bench_speed, common, history  # noqa: E402

THRESHOLDS = history.load_conf(ROOT / "asv.conf.json")["regressions_thresholds"]
ENTRIES = [eb for m in (bench_science, bench_speed) for eb in suite_entries(m)]


def governed(regex: str):
    """A benchmark entry whose threshold is this family's (asv takes the largest match)."""
    value = float(THRESHOLDS[regex])
    return next((e, b) for e, b in ENTRIES if re.match(regex, e) and history.threshold_for(e, THRESHOLDS, None) == value)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository with the project's thresholds and five commits: base, and heads whose
    planted values are just above, just below, NaN, and a failed benchmark."""
    repo = tmp_path_factory.mktemp("alarms") / "repo"
    init_repo(repo, conf(regressions_thresholds=THRESHOLDS))
    commits = {name: commit(repo, {"f": name}, name) for name in ("base", "above", "below", "nan", "failed")}
    return repo, commits


def _compare(repo, machine, base, head, cache=None):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = history.compare(repo / "asv.conf.json", machine, base, head, cache=cache)
    return rc, out.getvalue()


@pytest.mark.parametrize("regex", list(THRESHOLDS), ids=lambda r: re.sub(r"\W+", "_", r)[:70])
def test_each_family_fires_on_its_planted_regression(repo, regex, monkeypatch):
    repo, commits = repo
    monkeypatch.chdir(repo)
    entry, bench = governed(regex)
    t = float(THRESHOLDS[regex])
    base = 1.0
    planted = {"base": base, "above": base * (1 + t) * 1.001, "below": base * (1 + t) * 0.999,
               "nan": math.nan, "failed": None}
    machine = f"m{abs(hash(regex)) % 10**8}"
    for name, value in planted.items():
        write_results(repo / ".asv" / "results", machine, repo, commits[name], [bench], {bench["name"]: [value]})
    rc, out = _compare(repo, machine, commits["base"], commits["above"])
    assert rc == 1 and out.splitlines()[-1].endswith(entry), out
    rc, out = _compare(repo, machine, commits["base"], commits["below"])
    assert rc == 0, out
    for broken in ("nan", "failed"):
        rc, out = _compare(repo, machine, commits["base"], commits[broken])
        assert rc == 1 and f"FAILED {entry}" in out, out


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
