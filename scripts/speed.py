"""Measure simulation and training speed against the original implementation's numbers.

    python scripts/speed.py simulate [--size 392 --images 1]   # legacy training-set simulation time, peak RSS
    python scripts/speed.py train [--groups 512 --epochs 3 --nfs 2]   # groups/s and fraction of matmul peak

The original (facts §11, same 2-core machine class) simulates the size-392 legacy training
set (6,724 groups) in 97 s at 9.13 GiB peak, and trains N=64 / gridsize 2 / batch 16 /
n_filters_scale 2 at 22.2 groups/s. Run each mode in its own process so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

ORIGINAL_SIM_SECONDS = 97.0
ORIGINAL_SIM_PEAK_GIB = 9.13
ORIGINAL_TRAIN_GROUPS_PER_S = 22.2
FORWARD_GFLOP_PER_GROUP = 1.462  # nfs 2; training ≈ 3× forward


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def simulate(size: int, images: int) -> None:
    from ptychobench.physics.objects import make_lines_objects
    from ptychobench.physics.probe import default_probe, normalize_probe
    from ptychobench.simulation.legacy_grid import simulate_grid

    probe = normalize_probe(default_probe(64), 10.0)
    objects = make_lines_objects(size, images, 1)
    start = time.perf_counter()
    data, layout = simulate_grid(objects, probe, N=64, gridsize=2, offset=4, outer_offset=8, nphotons=1e9, seed=1)
    seconds = time.perf_counter() - start
    print(f"legacy grid simulation, {images} image(s) of {size}²: {layout.n_groups} groups "
          f"({layout.n_groups * 4} patterns)")
    if (size, images) == (392, 1):
        print(f"  time {seconds:.2f} s  (original {ORIGINAL_SIM_SECONDS} s: {ORIGINAL_SIM_SECONDS / seconds:.1f}x faster)")
        print(f"  peak RSS {peak_rss_gib():.2f} GiB (original {ORIGINAL_SIM_PEAK_GIB} GiB)")
    else:
        print(f"  time {seconds:.2f} s, peak RSS {peak_rss_gib():.2f} GiB")
    print(f"  s_sim {data.scale_factors['s_sim']:.2f}, mean X {data.X.mean():.4f}")


def matmul_peak_gflops(n: int = 2048, repeats: int = 10) -> float:
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda: tf.matmul(a, b))
    f()
    start = time.perf_counter()
    for _ in range(repeats):
        f().numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def train(groups: int, epochs: int, nfs: int) -> None:
    import keras

    from ptychobench.model.network import PtychoPINN, count_params
    from ptychobench.model.spec import ModelSpec
    from ptychobench.physics.probe import default_probe, normalize_probe
    from ptychobench.training.loop import TrainSettings
    from ptychobench.training.loop import train as fit

    keras.utils.set_random_seed(0)
    probe = normalize_probe(default_probe(64), 10.0)
    rng = np.random.default_rng(0)
    X = (rng.random((groups, 64, 64, 4), dtype=np.float32) * 40).astype(np.float32)
    coords = rng.uniform(-2, 2, (groups, 1, 2, 4)).astype(np.float32)
    model = PtychoPINN(ModelSpec(n_filters_scale=nfs, intensity_scale_trainable=True), probe, 988.2).build_for()
    result = fit(model, X, coords, TrainSettings(epochs=epochs, validation_split=0.0, progress=False))
    rate = result.samples_per_second
    peak = matmul_peak_gflops()
    flops = 3 * FORWARD_GFLOP_PER_GROUP * (nfs / 2) ** 2 * rate
    print(f"training N=64 gridsize 2 batch 16 n_filters_scale {nfs}: {count_params(model):,} trainable parameters")
    print(f"  steady throughput {rate:.1f} groups/s over epochs 2..{epochs} "
          f"(original {ORIGINAL_TRAIN_GROUPS_PER_S}: {rate / ORIGINAL_TRAIN_GROUPS_PER_S:.2f}x)")
    print(f"  ≈ {flops:.0f} GFLOP/s = {flops / peak:.0%} of this machine's float32 matmul peak ({peak:.0f} GFLOP/s)")
    print(f"  epoch seconds {[round(s, 2) for s in result.epoch_seconds]}; peak RSS {peak_rss_gib():.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("simulate")
    p.add_argument("--size", type=int, default=392)
    p.add_argument("--images", type=int, default=1)
    p = sub.add_parser("train")
    p.add_argument("--groups", type=int, default=512)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--nfs", type=int, default=2)
    args = parser.parse_args()
    if args.mode == "simulate":
        simulate(args.size, args.images)
    else:
        train(args.groups, args.epochs, args.nfs)


if __name__ == "__main__":
    main()
