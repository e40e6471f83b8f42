"""The asv suite's science (benchmarks/common.py): cached per build, never per environment
variable; seeds parsed; medians, spreads and collapse rates over seeds in lower-is-better forms."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import common  # noqa: E402


@pytest.fixture
def builds(tmp_path):
    """Two installs of the package that differ in one line, and a byte-identical copy of the first."""
    src = common.package_dir()
    a, b, a2 = (tmp_path / name / "ptychobench" for name in ("a", "b", "a2"))
    for dest in (a, b, a2):
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    (b / "stages.py").write_text((b / "stages.py").read_text() + "\n# one more line\n")
    return a, b, a2


def test_two_builds_never_share_a_cache_entry(builds, tmp_path, monkeypatch):
    a, b, a2 = builds
    monkeypatch.setattr(common, "CACHE", tmp_path / "cache")
    computed = []

    def fake_science(key):
        computed.append(key["package_sha256"])
        return {"key": key, "collapse_pearson": 0.5, "runs": {}}

    monkeypatch.setattr(common, "compute_science", fake_science)
    monkeypatch.setenv("ASV_COMMIT", "same-commit-name")  # what the old key used
    for build in (a, b, a, a2):
        monkeypatch.setattr(common, "package_dir", lambda build=build: build)
        common.science()
    # a and b computed once each; the second a and its identical copy a2 read a's entry
    assert len(computed) == 2 and computed[0] != computed[1]
    assert len(list((tmp_path / "cache").glob("science-*.json"))) == 2


def test_key_follows_the_code_not_the_environment(builds, monkeypatch):
    a, b, a2 = builds
    monkeypatch.delenv("ASV_COMMIT", raising=False)
    key_a = common.science_key(a)
    monkeypatch.setenv("ASV_COMMIT", "deadbeef")
    monkeypatch.setenv("ASV_ENV_NAME", "other-env")
    assert common.science_key(a) == key_a == common.science_key(a2)
    assert common.science_key(b)["digest"] != key_a["digest"]
    monkeypatch.setattr(common, "SEEDS", [0, 1])
    assert common.science_key(a)["digest"] != key_a["digest"]
    monkeypatch.setattr(common, "THREADS", 7)
    assert common.science_key(a)["threads"] == 7


@pytest.mark.parametrize("text,profile,seeds", [
    (None, "smoke", [0, 1, 2]), (None, "tiny", [0]), ("5", "smoke", [0, 1, 2, 3, 4]), ("4,9", "tiny", [4, 9]),
])
def test_seeds(text, profile, seeds):
    assert common.parse_seeds(text, profile) == seeds


@pytest.mark.parametrize("text", ["three", "1,1", "-1,2", "0"])
def test_bad_seeds_name_the_variable(text):
    with pytest.raises(ValueError, match="PTYCHOBENCH_SEEDS"):
        common.parse_seeds(text, "smoke")


def _run(bias, ratio, coverage, pearson, stages, rss, sps, failure=None):
    return {"failure": failure, "peak_rss_bytes": rss, "samples_per_second": sps,
            "metrics": {"amplitude_bias": bias, "amplitude_ratio": ratio, "coverage": coverage, "pearson": pearson},
            "stage_ratios": {"ratios": stages, "chain_product": math.prod(stages.values())}}


def test_summary_over_seeds_by_hand():
    runs = {
        "legacy|1e+09|0": _run(0.006, 0.5, 0.9, 0.8, {"x": 2.0, "y": 1.0}, 100, 10.0),
        "legacy|1e+09|1": _run(0.001, 2.0, 0.8, 0.3, {"x": 0.5, "y": 1.0}, 300, 20.0),
        "legacy|1e+09|2": _run(0.004, 1.0, 1.0, math.nan, {"x": 1.0, "y": math.e}, 200, 40.0),
    }
    s = common.summarize({"collapse_pearson": 0.5, "runs": runs})["legacy|1e+09"]
    ok = {"n": 3, "failed": 0}
    assert s["amplitude_bias"] == pytest.approx({"median": 0.004, "spread": 0.005, **ok})
    # |ln 0.5| = |ln 2| = 0.6931, |ln 1| = 0
    assert s["raw_ratio_error"] == pytest.approx({"median": 0.6931472, "spread": 0.6931472, **ok})
    assert s["uncovered"] == pytest.approx({"median": 0.1, "spread": 0.2, **ok})
    # 1 - pearson: 0.2, 0.7, and 1 for the NaN pearson (a constant reconstruction: no correlation)
    assert s["decorrelation"] == pytest.approx({"median": 0.7, "spread": 0.8, **ok})
    assert s["collapse_rate"] == pytest.approx(2 / 3)  # pearson 0.3 < 0.5, and the NaN
    assert s["failed_runs"] == 0 and s["failures"] == {}
    assert s["stage:x"] == pytest.approx({"median": 0.6931472, "spread": 0.6931472, **ok})
    assert s["stage:y"] == pytest.approx({"median": 0.0, "spread": 1.0, **ok})
    # chain products 2, 0.5, e: |ln| = 0.693, 0.693, 1
    assert s["stage:chain_product"] == pytest.approx({"median": 0.6931472, "spread": 1 - 0.6931472, **ok})
    assert s["peak_rss_bytes"] == 200 and s["seconds_per_group"] == pytest.approx(0.05)


def test_failed_runs_count_everywhere():
    """A diverged run and a run with a NaN amplitude are failures: counted as collapsed and as
    failed, and the medians of their group are NaN instead of the survivor's value."""
    good = _run(0.004, 1.0, 1.0, 0.9, {"x": 1.0}, 200, 40.0)
    runs = {
        "modern|1e+09|0": good,
        "modern|1e+09|1": _run(0.2, 1.0, 1.0, 0.9, {"x": 1.0}, 9, 9.9, failure="diverged at epoch 3"),
        "modern|1e+09|2": _run(math.nan, math.nan, 1.0, math.nan, {"x": 1.0}, 9, 9.9),
        "legacy|1e+09|0": _run(0.2, 1.0, 1.0, 0.9, {"x": 1.0}, 9, 9.9, failure="diverged"),
        "legacy|1e+09|1": _run(0.2, math.inf, 1.0, 0.9, {"x": 1.0}, 9, 9.9),
    }
    s = common.summarize({"collapse_pearson": 0.5, "runs": runs})
    m = s["modern|1e+09"]
    assert m["failed_runs"] == 2
    assert m["failures"][1] == "diverged at epoch 3" and m["failures"][2].startswith("non-finite amplitude_ratio=nan")
    assert m["collapse_rate"] == pytest.approx(2 / 3)
    for name in ("amplitude_bias", "raw_ratio_error", "decorrelation", "stage:x", "stage:chain_product"):
        assert math.isnan(m[name]["median"]) and math.isnan(m[name]["spread"]), name
        assert (m[name]["n"], m[name]["failed"]) == (1, 2), name
    # every seed failed: collapse rate 1, nothing tracked as a number
    legacy = s["legacy|1e+09"]
    assert legacy["failed_runs"] == 2 and legacy["collapse_rate"] == 1.0
    assert math.isnan(legacy["amplitude_bias"]["median"])


def test_a_run_without_a_metric_is_not_a_failure():
    """Runs of old commits that do not report a metric are not failed for it."""
    run = {"failure": None, "metrics": {"pearson": 0.9}, "stage_ratios": {}}
    assert common.run_failure(run) is None
    assert common.run_failure({**run, "metrics": {"amplitude_bias": math.nan}}).startswith("non-finite amplitude_bias")


def test_one_seed_has_no_spread():
    s = common.summarize({"collapse_pearson": 0.5,
                          "runs": {"modern|1e+05|0": _run(0.2, 1.0, 1.0, 0.9, {"x": 1.0}, 1, 1.0)}})
    assert s["modern|1e+05"]["amplitude_bias"]["median"] == 0.2
    assert math.isnan(s["modern|1e+05"]["amplitude_bias"]["spread"])


def test_key_hashes_the_package_the_runs_import(builds, monkeypatch):
    """asv's benchmark processes drop PYTHONPATH from their sys.path while the science's child
    processes keep it: the package is located as the children see it."""
    a, b, _ = builds
    for build in (a, b):
        monkeypatch.setenv("PYTHONPATH", str(build.parent))
        assert common.package_dir() == build
        assert common.science_key()["package_sha256"] == common.tree_digest(build)


def test_xla_cache_leaves_the_weights_bit_identical(tmp_path, monkeypatch):
    """The science's runs share XLA's persistent compilation cache: the second run loads the
    compiled step the first one wrote (XLA:CPU logs the load) and trains the same weights,
    bit for bit."""
    import json
    import subprocess

    monkeypatch.setattr(common, "CACHE", tmp_path / "cache")
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    env = common.child_env()
    folder = tmp_path / "cache" / "xla" / common.xla_cache_key()
    assert f"--tf_xla_persistent_cache_directory={folder}" in env["TF_XLA_FLAGS"]
    shas, loaded = [], []
    for i in range(2):
        out = tmp_path / f"run{i}.json"
        proc = subprocess.run([sys.executable, "-m", "ptychobench", "run", "--pipeline", "modern", "--profile",
                               "tiny", "--seed", "0", "--quiet", "--out", str(out)],
                              env=env, check=True, capture_output=True, text=True)
        shas.append(json.loads(out.read_text())["weights_sha256"])
        loaded.append("Loading XLA:CPU AOT result" in proc.stderr)
        assert list(folder.iterdir()), "the first run wrote no compiled step into the cache"
    assert loaded == [False, True]
    assert shas[0] == shas[1]
