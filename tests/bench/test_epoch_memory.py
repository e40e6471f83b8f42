"""The memory tracks of the speed family measure the peak of the timed work above what the
process already holds (imports, the built model): a known allocation is seen, nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import bench_speed  # noqa: E402

MIB = 2**20


def test_peak_increment_is_the_work_alone():
    held = np.ones(64 * MIB // 8)  # 64 MiB held before: must not count  # noqa: F841
    spike = bench_speed._peak_increment(lambda: np.ones(48 * MIB // 8).sum())  # 48 MiB, freed after
    assert 47 * MIB <= spike <= 56 * MIB, spike / MIB
    assert bench_speed._peak_increment(lambda: None) <= 4 * MIB
