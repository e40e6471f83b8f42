"""Lockstep: the original's training and ours from the same weights, on the same batches.

    python -m ptychobench.upstream.lockstep [--profile tiny] [--steps 8] [--epochs E] [--out DIR]
                                            [--theirs DIR] [--plant NAME]

1. **Theirs** (:func:`run_theirs`): one draw of the original's dose flow with ``--lockstep-steps``
   (:mod:`.worker`): its own ``autoencoder.fit`` call, its callbacks, validation split, compiled
   loss and optimizer, with ``shuffle=False`` and a recorder: the initial weights, the arrays fit
   is given, per step the loss (and its NLL and MAE terms) and every variable's gradient norm on the
   batch before its update, every variable's norm after it, the whole weights after the first
   ``steps`` steps and after each epoch (``lockstep.npz``).
2. **Ours** (:func:`run_ours`): our legacy model at the same profile, its 32 convolution variables
   set to the original's initial ones (:data:`LAYER_ORDER`), its ``log_scale`` to the original's,
   trained by our own loop (:func:`..training.loop.train`, the profile's settings) on the
   original's arrays in their stored order (``presplit_shuffle=False, shuffle=False``: the
   original's fit takes its validation groups from the tail of what it is given, and its data
   arrive already shuffled), the same quantities recorded by an observer.
3. **The floor**: ours again with the training step on TensorFlow's kernels instead of XLA: the
   same float32 computation in another order. Its difference from ours (XLA) at each step is
   the float32 rounding at that step, measured, grown by the training exactly as a rounding
   difference grows.
4. **The verdict** (:func:`compare`): per step, each quantity's relative difference ours vs theirs
   against the floor's (its largest over the variables and the steps so far); the first step and variable where it
   exceeds ``TOL × max(floor, ULP_FLOOR)`` is where they part.

Writes ``lockstep.json`` and ``lockstep.md`` under ``--out``; exit status 0 when nothing parts,
1 when something does (the first parting is named on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text

#: The original's trainable variables (the functional graph's order: encoder 0-5, then the two
#: decoders interleaved, amplitude first, the amplitude head, the phase head) for each of our 16
#: layers (encoder 0-5, amplitude decoder, phase decoder, amplitude head, phase head); each layer
#: is a kernel and a bias. Checked by shape and by the original's own layer names (conv2d_k).
LAYER_ORDER = list(range(6)) + [6, 8, 10, 12] + [7, 9, 11, 13] + [14, 15]
#: our variable j ← the original's variable THEIRS_INDEX[j]
THEIRS_INDEX = [2 * LAYER_ORDER[j // 2] + j % 2 for j in range(32)]
#: layer names for the table: ours
LAYER_NAMES = ([f"enc{i}" for i in range(6)] + [f"amp{i}" for i in range(4)] + [f"phase{i}" for i in range(4)]
               + ["amp_head", "phase_head"])
VARIABLE_NAMES = [f"{LAYER_NAMES[j // 2]}.{'kernel' if j % 2 == 0 else 'bias'}" for j in range(32)]

#: a difference is real when it is TOL times what float32 rounding gives at the same step
TOL = 10.0
#: the smallest rounding floor taken (4 ulps of float32, 2^-22): where the floor's two runs agree
#: to the bit, the bound is not 0
ULP_FLOOR = 2.0 ** -22

PLANTS = {
    "none": "no change",
    "nll_mean": "our NLL as a mean over pixels instead of the sum per sample (nll_form='mean')",
    "adam_eps": "Adam epsilon 1e-3 instead of 1e-7",
    "lr": "learning rate 1.001e-3 instead of 1e-3",
}


# ------------------------------------------------------------------ theirs


def run_theirs(profile: str, out: Path, steps: int, threads: int = 2, log=None, epochs: int | None = None) -> Path:
    """The original's lockstep draw at ``profile`` into ``out`` (its folder); ``epochs`` instead of
    the profile's."""
    from . import checkout as co
    from . import runner

    c = co.from_commit(co.DEFAULT_BUNDLE, "dose_experiments")
    _, folder = runner.draw(c, "dose", profile, out, threads=threads, log=log,
                            extra_args=("--lockstep-steps", str(steps),
                                        *(("--epochs", str(epochs)) if epochs else ())))
    return Path(folder)


def load_theirs(folder: Path) -> dict:
    record = json.loads((folder / "worker.json").read_text())
    with np.load(folder / "lockstep.npz") as z:
        arrays = {k: z[k] for k in z.files}
    names = record["scalars"]["lockstep_variables"]
    if len(names) != 32:
        raise ValueError(f"{folder}: the original has {len(names)} trainable variables, expected 32")
    return {"record": record, "arrays": arrays, "names": names}


def weights_in_our_order(theirs: dict, tag: str) -> list:
    """The original's snapshot ``tag`` (``0``, ``s3``, ``e1``) as our 32 variables."""
    a = theirs["arrays"]
    return [a["w%s_%02d" % (tag, THEIRS_INDEX[j])] for j in range(32)]


# ------------------------------------------------------------------ ours


class Observer:
    """Records what :func:`..training.loop.train` does, the same quantities as the worker's
    recorder: per step the loss, NLL, MAE and every variable's gradient norm at the weights
    before the step (one tape over the loss our step takes), every variable's norm after it;
    whole weights after the first ``steps`` steps and after each epoch."""

    def __init__(self, model, settings, steps: int):
        import tensorflow as tf

        from ..training import losses

        self.model, self.steps = model, steps
        self.variables = [v for v in model.trainable_weights]
        self.rec = {"loss": [], "nll": [], "mae": [], "grad_norm": [], "weight_norm": [], "epochs": []}
        self.snaps = {"0": [v.numpy() for v in self.variables]}
        self.step = 0

        # the probe runs as the step does (XLA or TensorFlow's kernels): the floor run's probe then
        # differs from ours by float32 rounding from the first step on, as the original's does
        @tf.function(reduce_retracing=True, jit_compile=settings.jit_compile)
        def probe(x, pos, obj_t):
            with tf.GradientTape() as tape:
                outputs = model((x, pos), training=True)
                total, terms = losses.composite_loss(outputs, (obj_t, x, tf.square(x)), settings.weights,
                                                     settings.nll_form, settings.probe_big)
            grads = tape.gradient(total, self.variables)
            # the original's NLL term is its compiled NLL (full log-pmf, summed per sample);
            # ours is whichever the settings name: recorded as the one our total uses
            return total, terms["pred_intensity_loss"], terms["intensity_scaler_inv_loss"], \
                [tf.norm(g) for g in grads]

        self._probe = probe

    def epoch_begin(self, epoch, lr):
        self.rec["epochs"].append({"epoch": epoch, "lr": lr, "first_step": self.step + 1})

    def before_step(self, x, pos, obj_t):
        t, nll, mae, g = self._probe(x, pos, obj_t)
        self.rec["loss"].append(float(t))
        self.rec["nll"].append(float(nll))
        self.rec["mae"].append(float(mae))
        self.rec["grad_norm"].append([float(v) for v in g])

    def after_step(self, total, terms):
        self.step += 1
        self.rec["weight_norm"].append([float(np.linalg.norm(v.numpy())) for v in self.variables])
        if self.step <= self.steps:
            self.snaps[f"s{self.step}"] = [v.numpy() for v in self.variables]

    def epoch_end(self, epoch, logs):
        self.rec["epochs"][-1].update({k: float(v) for k, v in logs.items()}, last_step=self.step)
        self.snaps[f"e{epoch}"] = [v.numpy() for v in self.variables]


def run_ours(theirs: dict, profile: str, steps: int, jit_compile: bool = True, plant: str = "none") -> dict:
    """Our legacy training from the original's initial weights on its arrays (see the module doc)."""
    from ..pipelines import common, legacy
    from ..training import loop

    prep = legacy.prepare(profile, seed=0)
    ours = list(prep.model.trainable_weights)
    if len(ours) != 32:
        raise ValueError(f"our legacy model has {len(ours)} trainable variables, expected 32")
    initial = weights_in_our_order(theirs, "0")
    for j, (v, w) in enumerate(zip(ours, initial)):
        if tuple(v.shape) != w.shape:
            raise ValueError(f"{VARIABLE_NAMES[j]}: ours {tuple(v.shape)}, the original's "
                             f"{theirs['names'][THEIRS_INDEX[j]]} {w.shape}")
        v.assign(w)
    scalars = theirs["record"]["scalars"]
    prep.model.scaler.log_scale.assign(np.float32(scalars["initial_log_scale"]))
    fit = scalars["lockstep_fit"]
    settings = dataclasses.replace(common.train_settings(prep, False), epochs=fit["epochs"],
                                   presplit_shuffle=False, shuffle=False, jit_compile=jit_compile)
    if plant == "nll_mean":
        settings = dataclasses.replace(settings, nll_form="mean")
    elif plant == "lr":
        settings = dataclasses.replace(settings, learning_rate=1.001e-3)
    elif plant not in ("none", "adam_eps"):
        raise ValueError(f"--plant {plant}: one of {sorted(PLANTS)}")
    if plant == "adam_eps":
        import keras
        real_adam = keras.optimizers.Adam
        keras.optimizers.Adam = lambda **kw: real_adam(epsilon=1e-3, **kw)
    a = theirs["arrays"]
    obs = Observer(prep.model, settings, steps)
    t0 = time.perf_counter()
    try:
        result = loop.train(prep.model, a["x"], a["coords"], settings, Y_I=None, observer=obs)
    finally:
        if plant == "adam_eps":
            keras.optimizers.Adam = real_adam
    return {"rec": obs.rec, "snaps": obs.snaps, "wall_s": time.perf_counter() - t0,
            "jit_compile": jit_compile, "plant": plant,
            "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "progress"},
            "s_c_ours": prep.s_c, "s_c_theirs": scalars.get("s_c"),
            "epochs_run": result.epochs_run, "n_train": result.n_train, "n_val": result.n_val}


def _save_run(path: Path, run: dict) -> None:
    """One of our runs as it was recorded (to compare again without training again)."""
    arrays = {f"w{tag}_{j:02d}": w for tag, snap in run["snaps"].items() for j, w in enumerate(snap)}
    arrays.update({k: np.asarray(run["rec"][k], np.float64) for k in ("loss", "nll", "mae", "grad_norm", "weight_norm")})
    np.savez(path, **arrays, meta=json.dumps({"epochs": run["rec"]["epochs"],
                                              **{k: v for k, v in run.items() if k not in ("rec", "snaps")}},
                                             default=str))


def load_run(path: Path) -> dict:
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        rec = {k: z[k].tolist() for k in ("loss", "nll", "mae", "grad_norm", "weight_norm")}
        snaps: dict = {}
        for k in z.files:
            if k.startswith("w") and k != "weight_norm":
                tag, j = k[1:].rsplit("_", 1)
                snaps.setdefault(tag, [None] * 32)[int(j)] = z[k]
    rec["epochs"] = meta.pop("epochs")
    return {"rec": rec, "snaps": snaps, **meta}


# ------------------------------------------------------------------ comparison


def _rel(a, b) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


def _weight_diffs(snap_a: list, snap_b: list, start: list) -> np.ndarray:
    """Per variable ``‖a − b‖ / ‖b − start‖``: the difference relative to how far the weights moved."""
    out = []
    for wa, wb, w0 in zip(snap_a, snap_b, start):
        moved = np.linalg.norm(np.asarray(wb, np.float64) - w0)
        out.append(np.linalg.norm(np.asarray(wa, np.float64) - wb) / max(moved, 1e-300))
    return np.asarray(out)


def _theirs_rec(theirs: dict) -> dict:
    a = theirs["arrays"]
    idx = THEIRS_INDEX
    return {"loss": a["loss"], "nll": a["nll"], "mae": a["mae"],
            "grad_norm": a["grad_norm"][:, idx], "weight_norm": a["weight_norm"][:, idx],
            "epochs": theirs["record"]["lockstep"]["epochs"]}


def compare(theirs: dict, ours: dict, floor: dict, tol: float = TOL, floor_ref: dict | None = None) -> dict:
    """Step by step: ours vs theirs against the floor (``floor`` vs ``floor_ref``, default ours: the
    same run on TensorFlow's kernels and with XLA); the first parting."""
    t = _theirs_rec(theirs)
    floor_ref = ours if floor_ref is None else floor_ref
    o, f, fr = ours["rec"], floor["rec"], floor_ref["rec"]
    n = min(len(t["loss"]), len(o["loss"]), len(f["loss"]))
    start = [np.asarray(w, np.float64) for w in weights_in_our_order(theirs, "0")]
    rows, first, envelope = [], None, {}
    for i in range(n):
        step = i + 1
        d = {"loss": _rel(o["loss"][i], t["loss"][i]), "nll": _rel(o["nll"][i], t["nll"][i]),
             "grad_norm": _rel(o["grad_norm"][i], t["grad_norm"][i])}
        fl = {"loss": _rel(f["loss"][i], fr["loss"][i]), "nll": _rel(f["nll"][i], fr["nll"][i]),
              "grad_norm": _rel(f["grad_norm"][i], fr["grad_norm"][i])}
        tag = f"s{step}"
        if tag in ours["snaps"] and tag in floor["snaps"] and f"w{tag}_00" in theirs["arrays"]:
            th = weights_in_our_order(theirs, tag)
            d["weights"] = _weight_diffs(ours["snaps"][tag], th, start)
            fl["weights"] = _weight_diffs(floor["snaps"][tag], floor_ref["snaps"][tag], start)
        else:  # norms only: |‖w_ours‖ − ‖w_theirs‖| relative to ‖w_theirs‖
            d["weight_norm"] = _rel(o["weight_norm"][i], t["weight_norm"][i])
            fl["weight_norm"] = _rel(f["weight_norm"][i], fr["weight_norm"][i])
        row = {"step": step, "loss_ours": o["loss"][i], "loss_theirs": float(t["loss"][i]),
               "loss_floor": f["loss"][i], "parted": []}
        for q in d:
            # the floor of a quantity at step s: the largest rounding difference any of its
            # variables has shown at any step up to s (a rounding difference grows with the steps,
            # and one pair of runs agrees by chance at one step or in one variable: per variable and
            # step, the floor scatters over two decades on the tiny profile)
            envelope[q] = max(envelope.get(q, 0.0), float(np.max(fl[q])))
            dq, bound = np.atleast_1d(d[q]), tol * max(envelope[q], ULP_FLOOR)
            worst = int(np.argmax(dq))
            row[q] = {"diff": float(dq[worst]), "bound": float(bound), "floor": float(envelope[q]),
                      "where": VARIABLE_NAMES[worst] if dq.size == 32 else q,
                      "max_diff": float(dq.max()), "max_floor": float(np.atleast_1d(fl[q]).max())}
            if dq[worst] > bound:
                row["parted"].append(q)
        if row["parted"] and first is None:
            q = row["parted"][0]
            first = {"step": step, "quantity": q, "where": row[q]["where"], "diff": row[q]["diff"],
                     "bound": row[q]["bound"], "ratio": row[q]["diff"] / row[q]["bound"] * tol}
        rows.append(row)
    epochs = []
    for j, (eo, et, ef) in enumerate(zip(o["epochs"], t["epochs"], f["epochs"]), start=1):
        e = {"epoch": j, "lr_ours": eo["lr"], "lr_theirs": et["lr"], "loss_ours": eo.get("loss"),
             "loss_theirs": et.get("loss"), "loss_floor": ef.get("loss"),
             "val_loss_ours": eo.get("val_loss"), "val_loss_theirs": et.get("val_loss"),
             "val_loss_floor": ef.get("val_loss")}
        tag = f"e{j}"
        if tag in ours["snaps"] and f"w{tag}_00" in theirs["arrays"] and tag in floor["snaps"]:
            th = weights_in_our_order(theirs, tag)
            wd = _weight_diffs(ours["snaps"][tag], th, start)
            wf = _weight_diffs(floor["snaps"][tag], floor_ref["snaps"][tag], start)
            e.update(weights_max_diff=float(wd.max()), weights_where=VARIABLE_NAMES[int(np.argmax(wd))],
                     weights_max_floor=float(wf.max()),
                     weight_rel_norm_ours_over_theirs=[float(np.linalg.norm(a) / np.linalg.norm(b))
                                                       for a, b in zip(ours["snaps"][tag], th)])
        epochs.append(e)
    return {"steps": rows, "epochs": epochs, "first_parting": first, "tol": tol, "ulp_floor": ULP_FLOOR,
            "verdict": "PARTED" if first else "LOCKSTEP"}


def _g(x, fmt=".6g"):
    return "–" if x is None else format(x, fmt)


def markdown(result: dict, meta: dict) -> str:
    lines = [f"# Lockstep: ours vs the original ({meta['profile']}, {meta.get('plant', 'none')})", "",
             f"Verdict: **{result['verdict']}**. A quantity parts at a step when its relative difference ours vs the "
             f"original exceeds {result['tol']:g} × max(floor, 2^-22), the floor being the same quantity's relative "
             "difference between ours (XLA) and ours on TensorFlow's kernels, its largest over the variables and the steps up to that one.", ""]
    fp = result["first_parting"]
    if fp:
        lines += [f"First parting: step {fp['step']}, {fp['quantity']} at {fp['where']}: {fp['diff']:.3g} "
                  f"(bound {fp['bound']:.3g}).", ""]
    lines += ["| step | loss ours | loss theirs | rel. diff | floor | worst gradient norm: where, diff (floor) | "
              "worst weights: where, diff (floor) | parted |", "|---|---|---|---|---|---|---|---|"]
    for r in result["steps"]:
        w = r.get("weights") or r.get("weight_norm")
        lines.append(f"| {r['step']} | {r['loss_ours']:.7g} | {r['loss_theirs']:.7g} | {r['loss']['diff']:.2e} | "
                     f"{r['loss']['floor']:.2e} | {r['grad_norm']['where']}: {r['grad_norm']['max_diff']:.2e} "
                     f"({r['grad_norm']['max_floor']:.2e}) | {w['where']}: {w['max_diff']:.2e} ({w['max_floor']:.2e}) | "
                     f"{', '.join(r['parted']) or '–'} |")
    lines += ["", "| epoch | lr ours / theirs | loss ours / theirs / floor | val_loss ours / theirs / floor | "
              "weights max diff (floor), where |", "|---|---|---|---|---|"]
    for e in result["epochs"]:
        lines.append(f"| {e['epoch']} | {_g(e['lr_ours'], '.3g')} / {_g(e['lr_theirs'], '.3g')} | "
                     f"{_g(e['loss_ours'])} / {_g(e['loss_theirs'])} / {_g(e['loss_floor'])} | "
                     f"{_g(e['val_loss_ours'])} / {_g(e['val_loss_theirs'])} / {_g(e['val_loss_floor'])} | "
                     f"{_g(e.get('weights_max_diff'), '.3g')} ({_g(e.get('weights_max_floor'), '.3g')}), "
                     f"{e.get('weights_where', '–')} |")
    return "\n".join(lines) + "\n"


def run(profile: str = "tiny", steps: int = 8, out: Path | None = None, theirs_dir: Path | None = None,
        plant: str = "none", threads: int = 2, log=None, epochs: int | None = None) -> dict:
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out or Path(os.environ.get("PTYCHOBENCH_REPORTS", "reports")) / f"lockstep-{profile}-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    if theirs_dir is None or not (Path(theirs_dir) / "lockstep.npz").is_file():
        theirs_dir = run_theirs(profile, Path(theirs_dir or out / "theirs"), steps, threads, log, epochs)
    theirs = load_theirs(Path(theirs_dir))
    log("[lockstep] ours (XLA step)")
    ours = run_ours(theirs, profile, steps, jit_compile=True, plant=plant)
    log("[lockstep] ours (TensorFlow's kernels: the rounding floor)")
    floor = run_ours(theirs, profile, steps, jit_compile=False, plant=plant)
    _save_run(out / "ours.npz", ours)
    _save_run(out / "floor.npz", floor)
    result = compare(theirs, ours, floor)
    meta = {"profile": profile, "steps": steps, "plant": plant, "plant_means": PLANTS.get(plant),
            "theirs": str(theirs_dir), "ours_settings": ours["settings"], "s_c_ours": ours["s_c_ours"],
            "s_c_theirs": ours["s_c_theirs"], "wall_s": {"ours": ours["wall_s"], "floor": floor["wall_s"]},
            "theirs_fit": theirs["record"]["scalars"]["lockstep_fit"],
            "theirs_loss_config": theirs["record"]["scalars"].get("lockstep_loss_config")}
    atomic_write_text(out / "lockstep.json", json.dumps({**meta, **result}, indent=1, default=float))
    atomic_write_text(out / "lockstep.md", markdown(result, meta))
    return {**meta, **result, "out": str(out)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--steps", type=int, default=8, help="steps whose whole weights are compared (default 8)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--theirs", default=None, help="a finished lockstep draw of the original to reuse")
    ap.add_argument("--plant", default="none", choices=sorted(PLANTS), help="a change in ours the lockstep must catch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=None, help="epochs instead of the profile's (both sides)")
    args = ap.parse_args(argv)
    res = run(args.profile, args.steps, Path(args.out) if args.out else None,
              Path(args.theirs) if args.theirs else None, args.plant, args.threads, epochs=args.epochs)
    fp = res["first_parting"]
    if fp:
        print(f"PARTED at step {fp['step']}: {fp['quantity']} at {fp['where']}, {fp['diff']:.3g} > {fp['bound']:.3g}",
              file=sys.stderr)
    else:
        print("LOCKSTEP: no quantity parted beyond float32 rounding", file=sys.stderr)
    print(res["out"])
    return 1 if fp else 0


if __name__ == "__main__":
    sys.exit(main())
