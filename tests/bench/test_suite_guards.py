"""asv imports the suite for old commits too: a package API a benchmark needs and the commit
lacks skips that benchmark with the reason instead of breaking the suite's import."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_science, bench_speed  # noqa: E402

from .asv_fixtures import suite_entries  # noqa: E402


def test_stage_list_is_the_installed_packages():
    from ptychobench.stages import STAGES

    assert bench_science.STAGES == list(STAGES[1:]) and bench_science.STAGES_ERROR is None
    assert ",".join(STAGES[1:]) in bench_science.StageRatios.version


def test_a_commit_without_the_stage_list_skips_the_stage_benchmarks(monkeypatch):
    monkeypatch.setitem(sys.modules, "ptychobench.stages", None)  # import fails as on such a commit
    stages, error = bench_science._stages()
    assert stages == [] and "ptychobench.stages.STAGES" in error
    monkeypatch.setattr(bench_science, "STAGES_ERROR", error)
    with pytest.raises(NotImplementedError, match="STAGES"):
        bench_science.StageRatios().setup({}, "legacy", "chain_product", "median")


def test_a_commit_without_the_training_api_skips_the_speed_benchmark(monkeypatch):
    monkeypatch.setitem(sys.modules, "ptychobench.training.loop", None)
    monkeypatch.setattr(bench_speed, "pin_threads", lambda: None)  # leave this process's cores alone
    with pytest.raises(NotImplementedError, match="lacks a package API"):
        bench_speed.TrainingSpeed().setup()


def test_every_benchmark_has_a_family_threshold_and_every_threshold_applies():
    """asv takes the largest matching threshold: a broad entry would silently override a
    measured tight one, so every entry must be the one in force for some benchmark."""
    import re

    from asv.util import load_json

    from benchmarks.history import threshold_for

    thresholds = load_json(str(ROOT / "asv.conf.json"), js_comments=True)["regressions_thresholds"]
    entries = [e for m in (bench_science, bench_speed) for e, _ in suite_entries(m)]
    assert len(entries) > 50
    missing = [e for e in entries if threshold_for(e, thresholds, None) is None]
    assert missing == []
    dead = [regex for regex, value in thresholds.items()
            if not any(re.match(regex, e) and threshold_for(e, thresholds, None) == value for e in entries)]
    assert dead == []


def test_a_spread_off_the_main_dose_is_skipped_by_design(monkeypatch):
    """One seed runs off the main dose (common.seeds_at): asv skips its spread, with the reason,
    instead of tracking a NaN no threshold can govern."""
    from benchmarks import common

    monkeypatch.setattr(common, "SEEDS", [0, 1, 2])
    other = 1e5
    assert bench_science.seeds_at(other, [0, 1, 2]) == [0]
    for family in (bench_science.Amplitude, bench_science.Head):
        with pytest.raises(NotImplementedError, match="no spread to track"):
            family().setup(None, "legacy", other, "spread")
        family().setup(None, "legacy", other, "median")
        family().setup(None, "legacy", bench_science.MAIN_DOSE, "spread")
