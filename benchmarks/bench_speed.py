"""Training and simulation speed and memory (threads pinned, tracing excluded)."""

from __future__ import annotations

import time

import numpy as np

from .common import PROFILE, pin_threads

GROUPS = 128  # one epoch of the timed training
BATCH = 16


class TrainingSpeed:
    """One training step and one epoch of the N=64, gridsize 2, batch 16 model after warm-up."""

    version = "1"
    timeout = 600
    processes = 1
    repeat = (1, 5, 120.0)
    number = 1

    def setup(self):
        pin_threads()
        import keras

        from ptychobench.model.network import PtychoPINN
        from ptychobench.model.spec import ModelSpec
        from ptychobench.physics.probe import default_probe, normalize_probe
        from ptychobench.pipelines.profiles import get_profile
        from ptychobench.training.loop import TrainSettings, make_steps

        nfs = get_profile(PROFILE).n_filters_scale
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.X = (rng.random((GROUPS, 64, 64, 4), dtype=np.float32) * 40).astype(np.float32)
        self.pos = rng.uniform(-2, 2, (GROUPS, 1, 2, 4)).astype(np.float32)
        self.obj = np.zeros((BATCH, 64, 64, 1), np.complex64)
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
        float(self.step(self.X[:BATCH], self.pos[:BATCH], self.obj)[0])

    def time_epoch(self):
        self._epoch()

    def track_seconds_per_sample(self):
        start = time.perf_counter()
        self._epoch()
        return (time.perf_counter() - start) / GROUPS

    track_seconds_per_sample.unit = "s per group (4 patterns)"

    def peakmem_training(self):
        self._epoch()


class Simulation:
    """The profile's legacy grid training set and modern non-grid positions."""

    version = "1"
    timeout = 600
    processes = 1
    repeat = (1, 3, 60.0)
    number = 1

    def setup(self):
        from ptychobench.physics.objects import make_lines_objects
        from ptychobench.physics.probe import default_probe, normalize_probe
        from ptychobench.pipelines.profiles import get_profile
        from ptychobench.simulation import nongrid

        self.profile = get_profile(PROFILE)
        self.probe = normalize_probe(default_probe(64), 10.0)
        self.objects = make_lines_objects(self.profile.legacy_size, self.profile.legacy_nimgs_train, 1)
        self.obj = make_lines_objects(self.profile.modern_size, 1, 42)[0]
        self.coords = nongrid.random_positions(self.profile.modern_positions, self.profile.modern_size, 10, 42)

    def time_legacy_grid(self):
        from ptychobench.simulation.legacy_grid import simulate_grid

        simulate_grid(self.objects, self.probe, N=64, gridsize=2, offset=4, outer_offset=8, nphotons=1e9, seed=1)

    def time_modern_nongrid(self):
        from ptychobench.simulation.nongrid import simulate_nongrid

        simulate_nongrid(self.obj, self.probe, self.coords, nphotons=1e9, seed=42)

    def peakmem_legacy_grid(self):
        self.time_legacy_grid()
