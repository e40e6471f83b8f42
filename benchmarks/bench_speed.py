"""The speed family: training and simulation time, memory, and the science runs' own costs.

Every benchmark pins its thread pools (common.pin_threads). The micro-timing (one training
step) lets asv choose ``number`` and ``repeat``; the epoch-scale ones set them explicitly.
A benchmark whose package API is missing on an old commit is skipped with the reason
(``NotImplementedError`` in its set-up), never failing the suite.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from .common import DOSES, PIPELINES, PROFILE, group_key, pin_threads, progress, science

GROUPS = 128  # one epoch of the timed training
BATCH = 16


def _skip_if_missing(err: Exception):
    raise NotImplementedError(f"this commit lacks a package API the benchmark uses: {err!r}") from err


def _status_kib(field: str) -> int:
    """``VmRSS`` or ``VmHWM`` of this process, in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise NotImplementedError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> None:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError as err:
        raise NotImplementedError(f"cannot reset the peak RSS here: {err}") from err


def _peak_increment(func) -> int:
    """Bytes by which this process's peak RSS during ``func()`` exceeds its RSS before it."""
    _reset_peak_rss()
    before = _status_kib("VmRSS")
    func()
    return (_status_kib("VmHWM") - before) * 1024


class TrainingSpeed:
    """The N=64, gridsize 2, batch 16 model after warm-up (graph tracing excluded).

    It builds its model from the long-standing package API rather than
    ``training.throughput.speed_model``, so that ``asv find`` and older commits keep this series.
    """

    version = "2"
    timeout = 600
    processes = 1

    def setup(self):
        pin_threads()
        try:
            import keras
            import numpy as np

            from ptychobench.model.network import PtychoPINN
            from ptychobench.model.spec import ModelSpec
            from ptychobench.physics.probe import default_probe, normalize_probe
            from ptychobench.pipelines.profiles import get_profile
            from ptychobench.training.loop import TrainSettings, make_steps
        except (ImportError, AttributeError) as err:
            _skip_if_missing(err)
        pin_threads()  # TensorFlow is loaded now

        nfs = get_profile(PROFILE).n_filters_scale
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.X = (rng.random((GROUPS, 64, 64, 4), dtype=np.float32) * 40).astype(np.float32)
        self.pos = rng.uniform(-2, 2, (GROUPS, 1, 2, 4)).astype(np.float32)
        self.obj = np.zeros((BATCH, 64, 64, 1), np.float32)  # the unused real-space target
        probe = normalize_probe(default_probe(64), 10.0)
        model = PtychoPINN(ModelSpec(n_filters_scale=nfs, intensity_scale_trainable=True), probe, 988.2)
        model.build_for()
        _, self.step, _ = make_steps(model, TrainSettings(epochs=1), 64, 4)
        for _ in range(2):  # trace and warm up outside the timed region
            float(self.step(self.X[:BATCH], self.pos[:BATCH], self.obj)[0])

    def _epoch(self):
        for i in range(0, GROUPS, BATCH):
            loss = self.step(self.X[i : i + BATCH], self.pos[i : i + BATCH], self.obj)[0]
        return float(loss)

    def time_train_step(self):
        # milliseconds: asv picks number (samples of >= sample_time) and repeat itself
        float(self.step(self.X[:BATCH], self.pos[:BATCH], self.obj)[0])

    def time_epoch(self):
        self._epoch()

    time_epoch.number = 1
    time_epoch.repeat = (1, 5, 120.0)

    def track_seconds_per_sample(self):
        start = time.perf_counter()
        self._epoch()
        return (time.perf_counter() - start) / GROUPS

    track_seconds_per_sample.unit = "s per group (4 patterns)"

    def track_epoch_memory(self):
        """Peak resident memory of one epoch above the built, warmed-up model (TF's import,
        the model build and tracing excluded)."""
        return _peak_increment(self._epoch)

    track_epoch_memory.unit = "bytes (epoch peak RSS above the built model)"


class Throughput:
    """Training and inference rates against the float32 peaks measured in the same process.

    The model is the investigation's (facts §11: N=64, gridsize 2, batch 16, n_filters_scale 2)
    whatever the profile, as ``scripts/speed.py train`` measures it. One
    ``ptychobench.training.throughput.measure`` per build (``setup_cache``): a fresh speed
    model trained with the XLA-compiled step and with TensorFlow's kernels, each followed by
    its inference (not compiled in either), between two measurements of the matmul and conv peaks.
    asv flags a rise as a regression, so each rate is tracked as a time: seconds per group,
    and the time over the *peak bound* (the time the convolutions' FLOPs take at the peak,
    i.e. 1 / the fraction of the peak; 1.05 is 95% of the peak). ``scripts/speed.py train``
    prints the same measurement as groups/s and fractions.
    """

    version = "1"
    timeout = 1200
    processes = 1
    params = [["xla", "tf_kernels"]]
    param_names = ["training_step"]
    GROUPS, EPOCHS = 128, 3

    def setup_cache(self):
        pin_threads()
        try:
            from ptychobench.training.throughput import measure
        except ImportError as err:
            _skip_if_missing(err)
        pin_threads()  # TensorFlow is loaded now
        r = measure(self.GROUPS, self.EPOCHS, nfs=2, jit_modes=(True, False))
        progress(f"Throughput: TensorFlow's thread pools {r.threads}; XLA / TF kernels {r.xla_ratio:.3f}")
        out = {"xla_ratio": r.xla_ratio}
        for jit, step in ((True, "xla"), (False, "tf_kernels")):
            rates = r.rates[jit]
            for kind, groups_per_s, training in (("train", rates.train, True), ("inference", rates.inference, False)):
                out[step, kind, "seconds"] = 1.0 / groups_per_s
                for peak in ("matmul", "conv"):
                    out[step, kind, peak] = 1.0 / r.fraction(groups_per_s, training, peak)
        return out

    def track_train_seconds_per_group(self, cache, step):
        return cache[step, "train", "seconds"]

    track_train_seconds_per_group.unit = "s per group (4 patterns), steady epochs"

    def track_train_over_matmul_bound(self, cache, step):
        return cache[step, "train", "matmul"]

    track_train_over_matmul_bound.unit = "training time / its conv FLOPs at the same-process float32 matmul peak"

    def track_train_over_conv_bound(self, cache, step):
        return cache[step, "train", "conv"]

    track_train_over_conv_bound.unit = "training time / its conv FLOPs at the same-process Conv2D peak"

    def track_inference_seconds_per_group(self, cache, step):
        return cache[step, "inference", "seconds"]

    track_inference_seconds_per_group.unit = "s per group (loop.predict, batch 16, its step traced beforehand)"

    def track_inference_over_matmul_bound(self, cache, step):
        return cache[step, "inference", "matmul"]

    track_inference_over_matmul_bound.unit = "inference time / its conv FLOPs at the same-process matmul peak"

    def track_xla_time_ratio(self, cache):
        """Above 1, the XLA-compiled step (the default) is slower than TensorFlow's kernels here."""
        return 1.0 / cache["xla_ratio"]

    track_xla_time_ratio.params = []  # one number per build, not one per training step
    track_xla_time_ratio.unit = "XLA-compiled / TensorFlow-kernel training s per group (same process)"


class Simulation:
    """The profile's legacy grid training set and modern non-grid positions."""

    version = "2"
    timeout = 600
    processes = 1
    repeat = (1, 3, 60.0)
    number = 1

    def setup(self):
        pin_threads()
        try:
            from ptychobench.physics.objects import make_lines_objects
            from ptychobench.physics.probe import default_probe, normalize_probe
            from ptychobench.pipelines.profiles import get_profile
            from ptychobench.simulation import nongrid
            from ptychobench.simulation.legacy_grid import simulate_grid
        except (ImportError, AttributeError) as err:
            _skip_if_missing(err)
        self.simulate_grid, self.simulate_nongrid = simulate_grid, nongrid.simulate_nongrid
        self.profile = get_profile(PROFILE)
        self.probe = normalize_probe(default_probe(64), 10.0)
        self.objects = make_lines_objects(self.profile.legacy_size, self.profile.legacy_nimgs_train, 1)
        self.obj = make_lines_objects(self.profile.modern_size, 1, 42)[0]
        self.coords = nongrid.random_positions(self.profile.modern_positions, self.profile.modern_size, 10, 42)

    def time_legacy_grid(self):
        self.simulate_grid(self.objects, self.probe, N=64, gridsize=2, offset=4, outer_offset=8, nphotons=1e9,
                           seed=1)

    def time_modern_nongrid(self):
        self.simulate_nongrid(self.obj, self.probe, self.coords, nphotons=1e9, seed=42)

    def track_legacy_grid_memory(self):
        """Peak resident memory of one simulation above its inputs (imports excluded)."""
        return _peak_increment(self.time_legacy_grid)

    track_legacy_grid_memory.unit = "bytes (peak RSS above the set-up)"


class ScienceCost:
    """Peak memory and training time of the science runs (median over the seeds that did not
    fail, one process per run; one seed off the main dose: common.seeds_at). The runs load
    their compiled training step from XLA's persistent cache when an earlier build compiled
    the same step, so a changed step can cost a compilation the base did not pay."""

    version = "2"  # 2: one seed off the main dose; XLA's persistent cache
    params = [PIPELINES, DOSES]
    param_names = ["pipeline", "nphotons"]
    timeout = 7200

    def setup_cache(self):
        pin_threads()
        return science()  # the science family's runs (cached on disk: computed once per build)

    def track_peak_rss(self, cache, pipeline, nphotons):
        return cache.get(group_key(pipeline, nphotons), {}).get("peak_rss_bytes", math.nan)

    track_peak_rss.unit = "bytes (whole pipeline run, own process)"

    def track_train_seconds_per_group(self, cache, pipeline, nphotons):
        return cache.get(group_key(pipeline, nphotons), {}).get("seconds_per_group", math.nan)

    track_train_seconds_per_group.unit = "s per group, after the first epoch"
