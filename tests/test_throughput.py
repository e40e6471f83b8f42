"""ptychobench.training.throughput: the rates of the speed model against same-process peaks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ptychobench.training import throughput
from ptychobench.training.throughput import Peaks, SpeedReport, StepRates


def _report(rates) -> SpeedReport:
    peaks = Peaks.from_pairs(before=(140.0, 120.0), after=(150.0, 100.0))
    return SpeedReport(n_filters_scale=2, groups=128, epochs=3, trainable_params=1, forward_gflop=1.462, n_convs=16,
                       largest_conv=None, peaks=peaks, rates={r.jit_compile: r for r in rates})


def test_fractions_count_three_forward_passes_for_training_and_use_the_higher_peak():
    xla = StepRates(True, train=20.0, inference=80.0, inference_end_to_end=50.0, epoch_seconds=(9.0, 6.0, 6.0))
    report = _report([xla])
    assert (report.peaks.conv, report.peaks.matmul) == (150.0, 120.0)
    # training: 3 × 1.462 GFLOP per group × 20 groups/s = 87.72 GFLOP/s
    assert report.fraction(20.0, True, "matmul") == pytest.approx(87.72 / 120.0, rel=1e-12)
    assert report.fraction(80.0, False, "conv") == pytest.approx(1.462 * 80.0 / 150.0, rel=1e-12)
    assert math.isnan(report.xla_ratio)  # one setting measured: no ratio


def test_xla_ratio_is_compiled_over_tensorflow_kernels():
    rates = [StepRates(True, 30.0, 80.0, 50.0, (1.0, 1.0)), StepRates(False, 24.0, 80.0, 50.0, (1.0, 1.0))]
    assert _report(rates).xla_ratio == pytest.approx(1.25, rel=1e-12)


def test_a_peak_that_moves_by_more_than_a_fifth_marks_the_run_unsteady():
    assert Peaks.from_pairs((100.0, 100.0), (81.0, 120.0)).steady
    assert not Peaks.from_pairs((100.0, 100.0), (79.0, 100.0)).steady


@pytest.mark.parametrize("kwargs, field", [({"epochs": 1}, "epochs"), ({"groups": 15}, "groups")])
def test_measure_refuses_sizes_without_a_steady_rate(kwargs, field):
    with pytest.raises(ValueError, match=field):
        throughput.measure(**kwargs)


def test_measure_trains_each_setting_and_times_inference():
    report = throughput.measure(groups=32, epochs=2, nfs=1, jit_modes=(True, False))
    assert set(report.rates) == {True, False}
    for jit, rates in report.rates.items():
        assert rates.jit_compile is jit
        assert len(rates.epoch_seconds) == 2
        assert rates.train > 0 and rates.inference > 0 and rates.inference_end_to_end > 0
    assert report.peaks.conv > 0 and report.peaks.matmul > 0
    assert report.n_convs == 16 and report.trainable_params > 0
    assert report.xla_ratio > 0


def test_the_speed_model_counts_the_originals_forward_flops():
    """facts §11: 731 M conv MACs per group at n_filters_scale 2, i.e. 1.462 GFLOP."""
    from ptychobench.model.flops import model_forward_conv_flops

    model, X, coords = throughput.speed_model(groups=20, nfs=2)
    assert X.shape == (20, 64, 64, 4) and coords.shape == (20, 1, 2, 4)
    assert sum(c.flops for c in model_forward_conv_flops(model)) / 1e9 == pytest.approx(1.462, abs=5e-4)


@pytest.mark.parametrize("configured, variable, expected", [
    (5, "3", "inter-op 5 (tf.config)"),
    (0, "3", "inter-op 3 (TF_NUM_INTEROP_THREADS)"),
    (0, None, "inter-op {cpus} (default)"),
])
def test_thread_pools_say_where_each_size_comes_from(monkeypatch, configured, variable, expected):
    import os

    import tensorflow as tf

    monkeypatch.setattr(tf.config.threading, "get_inter_op_parallelism_threads", lambda: configured)
    if variable is None:
        monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    else:
        monkeypatch.setenv("TF_NUM_INTEROP_THREADS", variable)
    assert expected.format(cpus=os.cpu_count()) in throughput.thread_pools()


def test_the_report_as_json_names_each_training_step():
    rates = [StepRates(True, 30.0, 80.0, 50.0, (1.0, 1.0)), StepRates(False, 24.0, 70.0, 40.0, (1.0, 1.0))]
    data = _report(rates).to_json()
    assert data["peaks_gflop_per_s"] == {"conv": 150.0, "matmul": 120.0, "steady": True}
    assert data["groups_per_s"] == {"xla": {"train": 30.0, "inference": 80.0, "inference_end_to_end": 50.0},
                                    "tf_kernels": {"train": 24.0, "inference": 70.0, "inference_end_to_end": 40.0}}
    assert data["xla_ratio"] == pytest.approx(1.25, rel=1e-12)
    assert _report(rates[:1]).to_json()["xla_ratio"] is None  # JSON has no NaN


AMD_FLAGS = "fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2"
INTEL_FLAGS = AMD_FLAGS + " avx512f avx512dq avx512cd avx512bw avx512vl"


@pytest.mark.parametrize("flags, caps", [
    (AMD_FLAGS, ["SSE41", "AVX", "AVX2"]),
    (INTEL_FLAGS, ["SSE41", "AVX", "AVX2", "AVX512_CORE"]),
    ("fpu sse sse2 sse4_1 sse4_2", ["SSE41"]),
])
def test_the_isa_caps_stop_at_what_the_cpu_runs(flags, caps):
    cpuinfo = f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    assert throughput.isa_caps(throughput.cpu_flags(cpuinfo)) == caps


def test_cpu_flags_need_a_flags_line():
    with pytest.raises(ValueError, match="flags"):
        throughput.cpu_flags("processor\t: 0\nmodel name\t: Some CPU\n")


def test_the_time_split_recovers_a_written_out_step_time():
    # t = slope · G / P + fixed, written out: G = 4.386 GFLOP, slope 1.05, fixed 6 ms per group
    G, slope, fixed = 4.386, 1.05, 0.006
    peaks = np.array([60.0, 115.0, 150.0])
    rates = 1 / (slope * G / peaks + fixed)
    split = throughput.split_step_time(peaks, rates, G)
    assert split.slope == pytest.approx(slope, rel=1e-9)
    assert split.fixed == pytest.approx(fixed, rel=1e-9)
    assert split.residual == pytest.approx(0.0, abs=1e-12)
    assert split.groups_per_s(300.0) == pytest.approx(1 / (slope * G / 300.0 + fixed), rel=1e-9)


def test_the_time_split_fits_by_least_squares():
    # two runs at one peak, one at another: the fit passes through the mean time at the first
    split = throughput.split_step_time([100.0, 100.0, 200.0], [1 / 0.030, 1 / 0.040, 1 / 0.020], 1.0)
    assert split.slope * 1.0 / 100.0 + split.fixed == pytest.approx(0.035, rel=1e-9)
    assert split.slope * 1.0 / 200.0 + split.fixed == pytest.approx(0.020, rel=1e-9)
    assert split.residual == pytest.approx(np.sqrt(2 * 0.005**2 / 3), rel=1e-9)


@pytest.mark.parametrize("peaks, rates, field", [
    ([100.0, 100.0], [10.0, 11.0], "two distinct"),
    ([100.0, 200.0], [10.0], "equal-length"),
    ([100.0, 0.0], [10.0, 11.0], "positive"),
])
def test_the_time_split_refuses_what_cannot_be_fitted(peaks, rates, field):
    with pytest.raises(ValueError, match=field):
        throughput.split_step_time(peaks, rates, 4.386)
