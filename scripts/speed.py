"""Measure simulation, training and inference speed, and profile a training step.

    python scripts/speed.py simulate [--size 392 --images 1]   # legacy training-set simulation time, peak RSS
    python scripts/speed.py train [--groups 512 --epochs 3 --nfs 2 --jit both]   # groups/s, fraction of conv and matmul peaks
    python scripts/speed.py profile [--steps 5 --warmup 3 --logdir DIR]   # where a training step's time goes (TF kernels)
    python scripts/speed.py isa [--caps SSE41,AVX,AVX2 --groups 256]   # `train --jit both` under each oneDNN ISA cap

Rates are set against float32 peaks measured in the same process, never against a figure
from another machine. The original's recorded numbers (facts §11: size-392 legacy
simulation 97 s at 9.13 GiB peak; training N=64 / gridsize 2 / batch 16 / n_filters_scale 2
at 22.2 groups/s, inference 82 groups/s) are printed for information only. Run each mode
in its own process so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

ORIGINAL_SIM_SECONDS = 97.0
ORIGINAL_SIM_PEAK_GIB = 9.13
ORIGINAL_TRAIN_GROUPS_PER_S = 22.2
ORIGINAL_INFER_GROUPS_PER_S = 82.0


#: ``--jit`` of ``train``: the XLA settings to measure
JIT_CHOICES = {"on": (True,), "off": (False,), "both": (True, False)}


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
    print(f"  time {seconds:.2f} s, peak RSS {peak_rss_gib():.2f} GiB")
    if (size, images) == (392, 1):
        print(f"  for information, the original on its own machine (facts §11, not comparable): "
              f"{ORIGINAL_SIM_SECONDS} s, {ORIGINAL_SIM_PEAK_GIB} GiB peak")
    print(f"  s_sim {data.scale_factors['s_sim']:.2f}, mean X {data.X.mean():.4f}")


def train(groups: int, epochs: int, nfs: int, jit_modes: tuple[bool, ...] = (True,), json_out: Path | None = None) -> None:
    """Training and inference groups/s of the speed model, once per XLA setting in ``jit_modes``
    (a fresh model each), against the peaks of this process; with two settings, their ratio.
    ``json_out``: also write the report there (``SpeedReport.to_json``)."""
    from ptychobench.atomic import atomic_write_text
    from ptychobench.training.throughput import measure

    r = measure(groups, epochs, nfs, jit_modes, progress=lambda line: print(f"  … {line}", flush=True))
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(r.to_json(), indent=2) + "\n")
    c, p = r.largest_conv, r.peaks
    print(f"training N=64 gridsize 2 batch 16 n_filters_scale {nfs}: {r.trainable_params:,} trainable parameters")
    print(f"  TensorFlow's thread pools: {r.threads}")
    print(f"  forward {r.forward_gflop:.3f} GFLOP per group: 2·H·W·3·3·C_in·C_out summed over the model's "
          f"{r.n_convs} Conv2D ops (read from its traced graph); training ≈ 3× forward")
    print(f"  peaks measured in this process (float32): Conv2D forward {p.conv:.0f} GFLOP/s "
          f"(batch 16, {c.output_hw[0]}×{c.output_hw[1]}, {c.kernel[2]}→{c.kernel[3]} channels, 3×3), "
          f"matmul {p.matmul:.0f} GFLOP/s (2048²); the higher of a measurement before "
          f"({p.before[0]:.0f}, {p.before[1]:.0f}) and after ({p.after[0]:.0f}, {p.after[1]:.0f}) the runs")
    if not p.steady:
        print("  WARNING: a peak changed by more than 20% during the run: the machine's load "
              "changed, so the fractions below are unreliable")
    for jit, rates in r.rates.items():
        print(f"  training step {'XLA-compiled' if jit else 'not compiled (TensorFlow kernels)'}:")
        for label, groups_per_s, training in (
            (f"training, steady over epochs 2..{epochs}", rates.train, True),
            ("inference (loop.predict, batch 16), steady", rates.inference, False),
        ):
            print(f"    {label}: {groups_per_s:.1f} groups/s ≈ {r.gflops(groups_per_s, training):.0f} GFLOP/s = "
                  f"{r.fraction(groups_per_s, training, 'conv'):.0%} of the conv peak, "
                  f"{r.fraction(groups_per_s, training, 'matmul'):.0%} of the matmul peak")
        print(f"    inference end to end incl. tracing: {rates.inference_end_to_end:.1f} groups/s over {groups} groups")
        first, rest = rates.epoch_seconds[0], rates.epoch_seconds[1:]
        print(f"    epoch seconds {[round(s, 2) for s in rates.epoch_seconds]} (first, with graph tracing: "
              f"{first / np.mean(rest) - 1:+.0%} on the others' mean)")
    if len(r.rates) == 2:
        print(f"  XLA-compiled / not compiled training groups/s, same process: {r.xla_ratio:.3f}")
    print(f"  peak RSS {peak_rss_gib():.2f} GiB")
    print(f"  for information, the original on its own machine (facts §11, not comparable): training "
          f"{ORIGINAL_TRAIN_GROUPS_PER_S} groups/s, inference {ORIGINAL_INFER_GROUPS_PER_S} groups/s")


def profile(groups: int, nfs: int, warmup: int, steps: int, logdir: Path) -> None:
    """Trace ``steps`` training steps after ``warmup`` untraced ones; print and save the breakdown.

    Each step does what one batch of ``training.loop.train`` does: gather the batch,
    call the traced training step (forward, loss, gradients, Adam), read the losses back.
    """
    import tensorflow as tf

    from ptychobench.atomic import atomic_write_text
    from ptychobench.model.flops import model_forward_conv_flops
    from ptychobench.training import profiling
    from ptychobench.training.loop import TrainSettings, make_steps

    from ptychobench.training.throughput import speed_model

    model, X, coords = speed_model(groups, nfs)
    # TensorFlow's own kernels: the op-type categories need one trace event per op (an
    # XLA-compiled step traces as fused thunks, mostly run off the traced threads)
    settings = TrainSettings(epochs=1, validation_split=0.0, progress=False, jit_compile=False)
    optimizer, train_step, _ = make_steps(model, settings, 64, 4)
    order = np.random.RandomState(0).permutation(groups)
    batch_size = settings.batch_size

    def one_step(i: int) -> None:
        with tf.profiler.experimental.Trace(profiling.INPUT_MARKER):
            idx = order[(i * batch_size) % groups:][:batch_size]
            batch = X[idx], coords[idx], np.zeros((len(idx), 64, 64, 1), np.float32)
        with tf.profiler.experimental.Trace(profiling.CALL_MARKER):
            total, terms = train_step(*batch)
        float(total), [float(t) for t in terms.values()]

    for i in range(warmup):
        one_step(i)
    tf.profiler.experimental.start(str(logdir))
    try:
        for i in range(warmup, warmup + steps):
            with tf.profiler.experimental.Trace(profiling.STEP_MARKER, step_num=i, _r=1):
                one_step(i)
    finally:
        tf.profiler.experimental.stop()
    xplane = profiling.find_xplane(logdir)
    summary = profiling.summarize(profiling.read_host_events(xplane), model.name, optimizer.name)
    threading = tf.config.threading
    summary["config"] = {
        "N": 64, "gridsize": 2, "batch": batch_size, "n_filters_scale": nfs, "warmup_steps": warmup,
        "cpu_count": os.cpu_count(),  # TF's thread pools default (0) to this many threads
        "intra_op_threads": threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": threading.get_inter_op_parallelism_threads(),
    }
    summary["xplane"] = xplane.name
    # conv rates over the wall time attributed to each class: forward FLOPs once, backward twice
    step_gflop = sum(c.flops for c in model_forward_conv_flops(model)) * batch_size / 1e9
    ms = {r["category"]: r["ms_per_step"] for r in summary["categories"]}
    summary["conv_gflop_per_s"] = {
        "forward": step_gflop / (ms[profiling.CONV_FORWARD] / 1e3),
        "backward": 2 * step_gflop / (ms[profiling.CONV_BACKWARD] / 1e3),
    }
    out = xplane.parent / "step-breakdown.json"
    atomic_write_text(out, json.dumps(summary, indent=2) + "\n")
    print(f"training step N=64 gridsize 2 batch {batch_size} n_filters_scale {nfs}, {steps} traced steps "
          f"after {warmup} warm-up steps")
    print(profiling.format_table(summary))
    rates = summary["conv_gflop_per_s"]
    print(f"\nconvolutions: {step_gflop:.1f} GFLOP forward per step (2·H·W·3·3·C_in·C_out), twice that backward; "
          f"over their share of the wall time {rates['forward']:.0f} GFLOP/s forward, {rates['backward']:.0f} backward")
    print(f"\ntrace: {xplane} (tensorboard --logdir {logdir}, Profile tab → trace_viewer)")
    print(f"breakdown: {out}")


def isa_sweep(caps: list[str], groups: int, epochs: int, nfs: int, out: Path) -> None:
    """``train --jit both`` in a fresh process under each oneDNN instruction-set cap; the fit
    of each training step's time per group against the conv peak (``throughput.split_step_time``).

    Capping oneDNN (``ONEDNN_MAX_CPU_ISA``) changes the rate of the GEMMs that both training
    steps run their convolutions on, and nothing else, so the fit tells the part of a step that follows the
    convolution rate from the part that does not. By default the highest cap is this CPU's own.
    """
    import subprocess
    import sys
    import tempfile

    from ptychobench.atomic import atomic_write_text
    from ptychobench.training.throughput import STEP_NAMES, split_step_time

    out.parent.mkdir(parents=True, exist_ok=True)  # before the runs: a bad --out fails now, not after them
    rungs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, cap in enumerate(caps, 1):
            print(f"── oneDNN capped at {cap} ({i}/{len(caps)}): train --jit both in a fresh process", flush=True)
            report = Path(tmp) / f"{cap}.json"
            subprocess.run([sys.executable, __file__, "train", "--jit", "both", "--groups", str(groups),
                            "--epochs", str(epochs), "--nfs", str(nfs), "--json", str(report)],
                           env={**os.environ, "ONEDNN_MAX_CPU_ISA": cap}, check=True)
            rungs.append({"onednn_max_cpu_isa": cap, **json.loads(report.read_text())})
    peaks = [r["peaks_gflop_per_s"]["conv"] for r in rungs]
    train_gflop = 3 * rungs[0]["forward_gflop_per_group"]
    print(f"\n{'oneDNN cap':<12} {'conv peak':>10} {'matmul peak':>12} {'XLA groups/s':>13} "
          f"{'TF kernels groups/s':>20} {'XLA / TF':>9}")
    for r in rungs:
        p, g = r["peaks_gflop_per_s"], r["groups_per_s"]
        print(f"{r['onednn_max_cpu_isa']:<12} {p['conv']:>10.0f} {p['matmul']:>12.0f} {g['xla']['train']:>13.1f} "
              f"{g['tf_kernels']['train']:>20.1f} {r['xla_ratio']:>9.3f}" + ("" if p["steady"] else "  (peaks unsteady)"))
    summary = {"caps": caps, "groups": groups, "epochs": epochs, "n_filters_scale": nfs, "rungs": rungs}
    if len(set(peaks)) < 2:
        print("one conv peak only: no fit (give at least two caps)")
    else:
        splits = {name: split_step_time(peaks, [r["groups_per_s"][name]["train"] for r in rungs], train_gflop)
                  for name in STEP_NAMES.values()}
        print(f"\nfit per training step, t = slope · G / P_conv + fixed (G = {train_gflop:.3f} GFLOP per group):")
        for name, split in splits.items():
            print(f"  {name:<10}  slope {split.slope:.2f}, fixed {split.fixed * 1e3:.1f} ms per group "
                  f"(rms residual {split.residual * 1e3:.1f} ms)")
        top = max(peaks)
        summary["fit"] = {name: {"slope": f.slope, "fixed_s_per_group": f.fixed, "rms_residual_s": f.residual}
                          for name, f in splits.items()}
        summary["fitted_xla_ratio"] = {}
        print("fitted XLA / TF kernels training groups/s, at a conv peak of")
        for peak, label in ((top, "the highest measured"),
                            (2 * top, "twice that, as twice the vector width could give at most: extrapolated")):
            ratio = splits["xla"].groups_per_s(peak) / splits["tf_kernels"].groups_per_s(peak)
            summary["fitted_xla_ratio"][f"{peak:.0f}"] = ratio
            print(f"  {peak:.0f} GFLOP/s ({label}): {ratio:.3f}")
    atomic_write_text(out, json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {out}")


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
    p.add_argument("--jit", choices=JIT_CHOICES, default="both",
                   help="XLA-compile the training step: on, off, or both (same process, with their ratio)")
    p.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    p = sub.add_parser("isa", help="train --jit both under each oneDNN instruction-set cap, and the fit")
    p.add_argument("--caps", help="comma-separated ONEDNN_MAX_CPU_ISA values, slowest first "
                                  "(default: those of SSE41, AVX, AVX2, AVX512_CORE this CPU runs)")
    p.add_argument("--groups", type=int, default=256)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--nfs", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("reports/speed/isa-sweep.json"))
    p = sub.add_parser("profile")
    p.add_argument("--groups", type=int, default=256)
    p.add_argument("--nfs", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--logdir", type=Path, default=Path("reports/profile/train-step"))
    args = parser.parse_args()
    if args.mode == "simulate":
        simulate(args.size, args.images)
    elif args.mode == "train":
        from ptychobench.training.throughput import check_sizes

        try:
            check_sizes(args.groups, args.epochs)
        except ValueError as err:  # one line and exit status 2, before TensorFlow starts
            parser.error(f"train: {err}")
        train(args.groups, args.epochs, args.nfs, JIT_CHOICES[args.jit], args.json)
    elif args.mode == "isa":
        from ptychobench.training.throughput import ISA_LADDER, check_sizes, cpu_flags, isa_caps

        known = [cap for cap, _ in ISA_LADDER]
        try:
            check_sizes(args.groups, args.epochs)
            caps = args.caps.split(",") if args.caps else isa_caps(cpu_flags())
            if unknown := [cap for cap in caps if cap not in known]:
                raise ValueError(f"caps: unknown {unknown}; known: {known}")
        except OSError as err:
            parser.error(f"isa: cannot read the CPU's flags ({err}); give --caps")
        except ValueError as err:
            parser.error(f"isa: {err}")
        isa_sweep(caps, args.groups, args.epochs, args.nfs, args.out)
    else:
        profile(args.groups, args.nfs, args.warmup, args.steps, args.logdir)


if __name__ == "__main__":
    main()
