"""asv imports the suite for old commits too: a package API a benchmark needs and the commit
lacks skips that benchmark with the reason instead of breaking the suite's import."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_science, bench_speed  # noqa: E402


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
