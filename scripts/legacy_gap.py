#!/usr/bin/env python3
"""The experiments behind docs/reproduction.md, finding 1 (our legacy amplitude 2% below the
original dose_experiments flow's at 232²).

    # in the original's venv (scripts/original_de.py): its trained weights out of its checkpoint
    /work/original-de/venv/bin/python scripts/legacy_gap.py extract \\
        /work/original-de/draw0/work_*/lines2/*/wts.h5_autoencoder weights.npz
    # in ours: those weights in our legacy model, against the original's own mosaic
    python scripts/legacy_gap.py forward weights.npz /work/original-de/draw0/arrays.npz
    # in ours: the legacy run at 232² with the training step on TensorFlow's kernels (no XLA)
    python scripts/legacy_gap.py train --seed 0 --no-xla

``forward`` prints our mosaic over the original's (mean ratio, largest difference relative to
its maximum, correlation) and the diffracted energy our model predicts with those weights over
the data's (Σ pred² / Σ target² on our test set). ``train`` prints the gauge-corrected ratio and
pearson on the trimmed mosaic, as ``ptychobench reproduce`` computes them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def extract(saved_model: str, out: str) -> None:
    """The 16 convolutions' kernels and biases of a saved original model (its
    ``wts.h5_autoencoder`` folder), in the checkpoint's layer order."""
    import os

    import numpy as np
    import tensorflow as tf

    reader = tf.train.load_checkpoint(os.path.join(saved_model, "variables", "variables"))
    arrays = {f"l{i}_{part}": reader.get_tensor(f"layer_with_weights-{i}/{part}/.ATTRIBUTES/VARIABLE_VALUE")
              for i in range(16) for part in ("kernel", "bias")}
    np.savez(out, **arrays)
    print(out)


#: The checkpoint's layer order (the original's functional graph) against ours: encoder 0-5, then the
#: two decoders interleaved (amplitude first), the amplitude head 14, the phase head 15.
LAYER_ORDER = list(range(6)) + [6, 8, 10, 12] + [7, 9, 11, 13] + [14, 15]


def forward(weights: str, original_arrays: str) -> None:
    import numpy as np

    from ptychobench.pipelines import legacy
    from ptychobench.training import loop

    w = np.load(weights)
    original = np.load(original_arrays)
    prep = legacy.prepare("investigation_232", seed=0)
    ours = [v for v in prep.model.weights if v.trainable]
    for k, i in enumerate(LAYER_ORDER):
        for j, part in enumerate(("kernel", "bias")):
            ours[2 * k + j].assign(w[f"l{i}_{part}"])
    trimmed, amp = loop.predict(prep.model, prep.test.X * np.float32(prep.s_c), prep.test.coords_relative)
    stitched, *_ = legacy.reconstruct(prep, trimmed, "ptychobench")
    side = stitched.shape[1]
    a, b = np.abs(stitched[:side]).astype(np.float64), np.abs(original["stitched"]).astype(np.float64)
    target = (prep.test.X * np.float32(prep.s_c)).astype(np.float64)
    print(json.dumps({"mean_ratio": a.mean() / b.mean(), "max_diff_over_max": np.abs(a - b).max() / b.max(),
                      "correlation": np.corrcoef(a.ravel(), b.ravel())[0, 1],
                      "energy_ratio": (amp.astype(np.float64) ** 2).sum() / (target ** 2).sum()}, indent=1))


def train(seed: int, xla: bool) -> None:
    from ptychobench.pipelines import common, legacy
    from ptychobench.reproduce import rows

    settings = common.train_settings
    common.train_settings = lambda prep, progress: dataclasses.replace(settings(prep, progress), jit_compile=xla)
    result = legacy.run("investigation_232", seed=seed, progress=True)
    run = json.loads(json.dumps(result.to_json()))
    print(json.dumps({"seed": seed, "xla": xla,
                      "gauge_corrected_trimmed": rows.legacy_ratio(run, result.arrays, trimmed=True),
                      "pearson_trimmed": rows.legacy_pearson(run, result.arrays, trimmed=True),
                      "loss": result.training["history"]["loss"]}, indent=1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract")
    p.add_argument("saved_model")
    p.add_argument("out")
    p = sub.add_parser("forward")
    p.add_argument("weights")
    p.add_argument("original_arrays")
    p = sub.add_parser("train")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-xla", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "extract":
        extract(args.saved_model, args.out)
    elif args.command == "forward":
        forward(args.weights, args.original_arrays)
    else:
        train(args.seed, not args.no_xla)
    return 0


if __name__ == "__main__":
    sys.exit(main())
