"""Patch extraction: our bilinear gather against scipy.ndimage.map_coordinates (order 1).

    python scripts/extract_patches_speed.py [--positions 2000] [--size 392] [--N 64]

Both give the same patches (the test ``test_extract_patches_equals_map_coordinates`` holds
them to float32 rounding); this prints the best of 3 wall times of each, measured in this
process, and their ratio. ptychobench keeps the faster one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.ndimage import map_coordinates

from ptychobench.simulation import nongrid


def map_coordinates_patches(obj: np.ndarray, coords: np.ndarray, N: int) -> np.ndarray:
    """(P, N, N) float32: ``map_coordinates(order=1, mode='grid-constant')`` at every pixel."""
    g = np.arange(N) - N // 2
    c = np.asarray(coords, np.float64)
    rows = np.broadcast_to(c[:, 1, None, None] + g[None, :, None], (len(c), N, N))
    cols = np.broadcast_to(c[:, 0, None, None] + g[None, None, :], (len(c), N, N))
    out = map_coordinates(np.asarray(obj, np.float64), [rows, cols], order=1, mode="grid-constant", cval=0.0)
    return out.astype(np.float32)


def best_of(f, *args, repeat: int = 3) -> float:
    f(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=2000)
    parser.add_argument("--size", type=int, default=392)
    parser.add_argument("--N", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    obj = rng.uniform(0.5, 3.0, (args.size, args.size)).astype(np.float32)
    coords = nongrid.random_positions(args.positions, args.size, args.N // 2 + 2, seed=1)
    ours = best_of(nongrid.extract_patches, obj, coords, args.N)
    scipy_ = best_of(map_coordinates_patches, obj, coords, args.N)
    print(f"extract_patches          {ours:.3f} s")
    print(f"map_coordinates (order 1) {scipy_:.3f} s")
    print(f"map_coordinates / extract_patches = {scipy_ / ours:.2f}")


if __name__ == "__main__":
    main()
