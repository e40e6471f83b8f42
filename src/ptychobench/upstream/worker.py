"""Run one draw of an original PtychoPINN flow and capture its stages (the upstream worker).

This file runs under the *original's* interpreter (an era environment of
:mod:`ptychobench.upstream.envs`), by path, never as part of ptychobench: it imports only the
standard library, numpy and the checkout's own ``ptycho`` package. It never edits a file of the
checkout. It works in a fresh, empty working directory (the original memoises simulations to
disk keyed on its configuration, not its code), wraps module attributes to see what flows
through them, and writes three files into ``--out``, each through a temporary name and a
rename:

* ``arrays.npz`` — the captured arrays (names in :data:`ARRAYS`);
* ``worker.json`` — what was run (flow, commit, configuration, versions), the scalars the gauge
  needs, the training history, timings, peak memory, and for every capture point the rows in
  and out and the shapes; ``findings`` for defects seen (a stage whose rows out differ from its
  rows in, a fit that raised), ``status`` ``ok`` | ``finding`` | ``error``.

Flows (chosen by what the checkout has, not by its commit):

``dose``
    the dose_experiments legacy flow: ``notebooks/dose.py`` ``init(nphotons, 'nll')``, the
    profile's sizes, ``probe.set_default_probe()``, ``execute(nphotons)``, which imports
    ``ptycho/train.py`` (simulate with ``np.random.seed(1)``/``(2)``, build, fit, evaluate, stitch).
``modern``
    main's dataclass flow, composed from its public functions as the sim-lines runner did
    (facts §9 "Modern"): ``TrainingConfig``/``ModelConfig`` → ``update_legacy_dict`` → lines object
    → default probe normalised to ``probe_scale`` → ``nongrid_simulation.generate_simulated_data``
    → split by y (composed here) → ``workflows.components.create_ptycho_data_container`` →
    ``train_pinn.train`` → ``model.predict`` → ``tf_helper.reassemble_position`` (M = 20).

Exit status: 0 ok or finding, 3 a stage the flow needs is missing at this commit, 1 any other
error (its message and traceback are in ``worker.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
import traceback

import numpy as np

#: arrays written to arrays.npz (absent ones are simply not there)
ARRAYS = ("object", "norm_object", "raw_diffraction", "grouped_diffraction", "normalized_diffraction",
          "model_input", "predicted_amplitude", "object_patch", "stitched", "truth", "coords_offsets")

EXIT_MISSING_STAGE = 3


class MissingStage(Exception):
    """The flow needs a module, function or file this checkout does not have."""


# ------------------------------------------------------------------ small helpers


def _f(x) -> float:
    return float(np.asarray(x, dtype=np.float64).reshape(()))


def _plain(v):
    """A JSON-ready copy of ``v`` (numpy and tensor scalars to floats, big arrays to a note)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "numpy") and callable(v.numpy):
        v = v.numpy()
    if isinstance(v, np.ndarray):
        return v.tolist() if v.size <= 64 else f"<array {list(v.shape)} {v.dtype}>"
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN: "not captured"
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def _atomic(path: str, write) -> None:
    """``write(tmp_path)``, then rename onto ``path`` (nothing half-written under ``path``)."""
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(path))
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_json(path: str, obj: dict) -> None:
    def write(tmp):
        with open(tmp, "w") as fh:
            json.dump(_plain(obj), fh, indent=1, sort_keys=True)
    _atomic(path, write)


def _write_npz(path: str, arrays: dict) -> None:
    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    _atomic(path, write)


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _require(module, name: str, what: str):
    if not hasattr(module, name):
        raise MissingStage(f"{what}: {module.__name__}.{name} is not in this checkout")
    return getattr(module, name)


class Capture:
    """What the flow produced: arrays, scalars, rows in/out and shapes per capture point."""

    def __init__(self) -> None:
        self.arrays: dict = {}
        self.scalars: dict = {}
        self.points: dict = {}
        self.findings: list = []
        self.timings: dict = {}

    def point(self, name: str, rows_in, rows_out, **shapes) -> None:
        """A capture point: rows (groups) in and out, shapes of what passed through."""
        self.points[name] = {"rows_in": rows_in, "rows_out": rows_out,
                             **{k: list(np.shape(v)) for k, v in shapes.items()}}
        if rows_in is not None and rows_out is not None and rows_in != rows_out:
            self.findings.append({
                "kind": "rows_collapsed", "stage": name,
                "message": f"{name}: {rows_in} rows in, {rows_out} rows out "
                           f"(shapes {', '.join(f'{k} {list(np.shape(v))}' for k, v in shapes.items())})"})

    def timed(self, name: str):
        capture = self

        class _T:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                capture.timings[name] = capture.timings.get(name, 0.0) + time.perf_counter() - self.t0
        return _T()


def _check_finite(cap: Capture) -> None:
    """A training loss that became NaN or Inf is a finding (the run diverged), never a silent number."""
    loss = cap.scalars.get("history", {}).get("loss", [])
    bad = [i for i, v in enumerate(loss) if not math.isfinite(v)]
    if bad:
        cap.findings.append({"kind": "training_diverged", "stage": "train",
                             "message": f"train: the loss became {loss[bad[0]]} in epoch {bad[0] + 1} of {len(loss)}"})


def _history(h) -> dict:
    hist = getattr(h, "history", h) or {}
    return {k: [float(x) for x in v] for k, v in dict(hist).items()}


# ------------------------------------------------------------------ the dose_experiments flow


def run_dose(args, cap: Capture) -> dict:
    """``notebooks/dose.py`` init/execute with the profile's sizes; returns the cfg snapshot."""
    if not os.path.isfile(os.path.join(args.checkout, "notebooks", "dose.py")):
        raise MissingStage("flow dose: notebooks/dose.py is not in this checkout")
    if not os.path.isfile(os.path.join(args.checkout, "ptycho", "train.py")):
        raise MissingStage("flow dose: ptycho/train.py (the module-level training script dose.execute "
                           "imports) is not in this checkout; it was removed from main at first-parent #635")
    sys.path.insert(0, os.path.join(args.checkout, "notebooks"))
    with cap.timed("import"):
        import dose  # noqa: E402  (notebooks/dose.py of the checkout)
        from ptycho import diffsim, params, probe, train_pinn
    cfg = params.cfg
    dose.init(args.nphotons, loss_fn="nll")
    cfg["size"], cfg["nimgs_train"], cfg["nimgs_test"] = args.size, args.nimgs_train, args.nimgs_test
    cfg["nepochs"] = args.epochs
    probe.set_default_probe()

    # execute() resets n_filters_scale to 2; the profile's value is put back when the simulation
    # starts (before ptycho.model is imported and builds the network)
    raw_mk_simdata = getattr(_require(diffsim, "mk_simdata", "simulation"), "__wrapped__", diffsim.mk_simdata)

    def mk_simdata(n, size, probe_, outer_offset, intensity_scale=None, *a, **kw):
        cfg["n_filters_scale"] = args.n_filters_scale
        with cap.timed("simulate"):
            res = raw_mk_simdata(n, size, probe_, outer_offset, intensity_scale, *a, **kw)
        X, Y_I, _, s_out, YY_full, norm_Y_I, _ = res
        which = kw.get("which", "train" if intensity_scale is None else "test")
        cap.scalars[f"s_sim_{which}"] = _f(s_out)
        cap.scalars[f"norm_Y_I_{which}"] = _f(norm_Y_I)
        cap.point(f"simulate_{which}", None, int(np.shape(X)[0]), X=X, Y_I=Y_I, YY_full=YY_full)
        if which == "test":
            cap.arrays["object"] = np.abs(np.asarray(YY_full)).astype(np.float32)
            cap.arrays["raw_diffraction"] = np.asarray(X, np.float32)
        return res

    diffsim.mk_simdata = mk_simdata

    raw_eval = _require(train_pinn, "eval", "evaluation")

    def eval_(test_data, *a, **kw):
        with cap.timed("evaluate"):
            out = raw_eval(test_data, *a, **kw)
        from ptycho import params as p
        s = _f(p.cfg["intensity_scale"])
        X = np.asarray(test_data.X, np.float32)
        cap.arrays["model_input"] = X * np.float32(s)
        cap.arrays["predicted_amplitude"] = np.asarray(out["pred_amp"], np.float32)
        cap.arrays["object_patch"] = np.abs(np.asarray(out["reconstructed_obj"])).astype(np.float32)
        cap.point("predict", int(X.shape[0]), int(np.shape(out["reconstructed_obj"])[0]),
                  model_input=X, object_patch=out["reconstructed_obj"], predicted_amplitude=out["pred_amp"])
        if out.get("stitched_obj") is not None:
            cap.arrays["stitched"] = np.abs(np.asarray(out["stitched_obj"])).astype(np.float32)
        return out

    train_pinn.eval = eval_
    raw_train = _require(train_pinn, "train", "training")

    def train_(train_data, *a, **kw):
        if args.lockstep_steps > 0:
            _lockstep_fit(args, cap)
        with cap.timed("train"):
            model_instance, history = raw_train(train_data, *a, **kw)
        cap.scalars["n_train_groups"] = int(np.shape(train_data.X)[0])
        cap.point("train", int(np.shape(train_data.X)[0]), None, X=train_data.X)
        cap.scalars["history"] = _history(history)
        _check_finite(cap)
        return model_instance, history

    train_pinn.train = train_

    # dose.plot_results titles its figure with d["frc50"]; d is None where save_metrics cannot
    # import the FRC submodule (the bundle has no ptycho/FRC): plotting is not a stage, skip it
    dose.plot_results = lambda *a, **kw: None
    d, truth, stitched, _ = dose.execute(args.nphotons)
    from ptycho import model  # built at import, after generate_data (log_scale = log s_sim)

    cap.arrays["truth"] = np.abs(np.asarray(truth)).astype(np.float32)
    if "stitched" not in cap.arrays and stitched is not None:
        cap.arrays["stitched"] = np.abs(np.asarray(stitched)).astype(np.float32)
    cap.scalars["s_c"] = _f(cfg["intensity_scale"])
    cap.scalars["exp_log_scale_final"] = float(np.exp(_f(model.log_scale)))
    cap.scalars["initial_log_scale"] = _f(getattr(model, "log_scale_guess", math.nan))
    cap.scalars["offset"] = int(cfg["offset"])
    cap.scalars["trainable_params"] = _trainable(model.autoencoder)
    cap.scalars["scale_trainable"] = _scale_weight(model.autoencoder)[1]
    cap.scalars["original_metrics"] = ({k: _plain(d[k]) for k in ("mae", "mse", "psnr", "frc50") if k in d}
                                       if isinstance(d, dict) else "not computed: save_metrics needs ptycho/FRC")
    return dict(cfg)


# ------------------------------------------------------------------ lockstep (dose flow)

#: the arrays of ``lockstep.npz`` besides the weight snapshots ``w<tag>_<k>`` (tag ``0``: before fit,
#: ``s<i>``: after step i (1-based), ``e<j>``: after epoch j (1-based))
LOCKSTEP_ARRAYS = ("x", "coords", "y_realspace", "loss", "nll", "mae", "grad_norm", "weight_norm")


def _lockstep_fit(args, cap: Capture) -> None:
    """Make the original's own ``autoencoder.fit`` call (its callbacks, its validation split, its
    compiled loss and optimizer) run with ``shuffle=False`` and a recorder appended.

    The original's ``model.train`` is left as it is; only the ``fit`` attribute of its built model
    instance is wrapped. The recorder writes, per step (the batch before its update): the compiled
    loss and its NLL and MAE terms, and every trainable variable's gradient norm, all from one
    ``GradientTape`` over the same call Keras' ``train_step`` makes; after each step every variable's
    norm, and the whole weights after the first ``--lockstep-steps`` steps and after each epoch.
    The initial weights and the arrays ``fit`` is given go to ``lockstep.npz`` with them.
    """
    import tensorflow as tf
    from ptycho import model

    net = model.autoencoder
    raw_fit = net.fit
    variables = list(net.trainable_weights)
    rec = {"loss": [], "nll": [], "mae": [], "grad_norm": [], "weight_norm": [], "epochs": []}
    snaps = {"w0_%02d" % k: v.numpy() for k, v in enumerate(variables)}
    cap.scalars["lockstep_variables"] = [[v.name, list(v.shape)] for v in variables]

    def fit(x, y, **kw):
        kw["shuffle"] = False
        batch = int(kw.get("batch_size") or 32)
        n = int(np.shape(x[0])[0])
        split = int(math.floor(n * (1.0 - float(kw.get("validation_split", 0.0)))))  # Keras' tail
        xs = [np.asarray(a, np.float32) for a in x]
        ys = [np.asarray(a, np.float32) for a in y]
        cap.arrays_lockstep = {"x": xs[0], "coords": xs[1], "y_realspace": ys[0]}
        same = [float(np.max(np.abs(ys[1] - xs[0]))), float(np.max(np.abs(ys[2] - xs[0] ** 2)))]
        cap.scalars["lockstep_fit"] = {"n": n, "n_train": split, "batch_size": batch,
                                       "epochs": int(kw.get("epochs", 1)), "targets_minus_inputs": same,
                                       "fit_kwargs": {k: _plain(v) for k, v in kw.items() if k != "callbacks"},
                                       "callbacks": [type(c).__name__ for c in kw.get("callbacks", [])]}
        @tf.function
        def probe_step(xb, cb, y0, y1, y2):
            with tf.GradientTape() as tape:
                pred = net([xb, cb], training=True)
                total = net.compute_loss([xb, cb], [y0, y1, y2], pred)
            grads = tape.gradient(total, variables)
            # the NLL term as the original's own fn_poisson_nll forms it from the amplitude output
            nll = tf.reduce_mean(model.negloglik(y2, model.dist_poisson_intensity(pred[1])))
            mae = tf.reduce_mean(tf.abs(y1 - pred[1]))
            return total, nll, mae, [tf.norm(g) for g in grads]

        class Recorder(tf.keras.callbacks.Callback):
            step = 0

            def on_epoch_begin(self, epoch, logs=None):
                rec["epochs"].append({"epoch": epoch + 1, "lr": float(tf.keras.backend.get_value(
                    net.optimizer.learning_rate)), "first_step": self.step + 1})

            def on_train_batch_begin(self, b, logs=None):
                sl = slice(b * batch, min((b + 1) * batch, split))
                t, nll, mae, g = probe_step(xs[0][sl], xs[1][sl], ys[0][sl], ys[1][sl], ys[2][sl])
                rec["loss"].append(float(t))
                rec["nll"].append(float(nll))
                rec["mae"].append(float(mae))
                rec["grad_norm"].append([float(v) for v in g])

            def on_train_batch_end(self, b, logs=None):
                self.step += 1
                rec["weight_norm"].append([float(np.linalg.norm(v.numpy())) for v in variables])
                if self.step <= args.lockstep_steps:
                    snaps.update({"ws%d_%02d" % (self.step, k): v.numpy() for k, v in enumerate(variables)})

            def on_epoch_end(self, epoch, logs=None):
                rec["epochs"][-1].update({k: float(v) for k, v in (logs or {}).items()}, last_step=self.step)
                snaps.update({"we%d_%02d" % (epoch + 1, k): v.numpy() for k, v in enumerate(variables)})

        kw["callbacks"] = list(kw.get("callbacks") or []) + [Recorder()]
        with cap.timed("lockstep_fit"):
            return raw_fit(x, y, **kw)

    net.fit = fit
    cap.lockstep = (rec, snaps)
    cap.scalars["lockstep_loss_config"] = {"compiled_loss": repr(getattr(net, "loss", None)),
                                           "loss_weights": _plain(getattr(net.compiled_loss, "_loss_weights", None)),
                                           "jit_compile": _plain(getattr(net, "_jit_compile", None)),
                                           "run_eagerly": bool(net.run_eagerly),
                                           "optimizer": _plain(net.optimizer.get_config())}


# ------------------------------------------------------------------ main's modern flow


def _split_by_y(raw, RawData):
    """First half of the positions by sorted y for training, the rest for test (composed here:
    the sim-lines runner's ``split_raw_data_by_axis(0.5, 'y')`` is not in the public history)."""
    order = np.argsort(np.asarray(raw.ycoords), kind="stable")
    half = len(order) // 2

    def take(idx):
        return RawData(raw.xcoords[idx], raw.ycoords[idx], raw.xcoords_start[idx], raw.ycoords_start[idx],
                       raw.diff3d[idx], raw.probeGuess, raw.scan_index[idx],
                       objectGuess=raw.objectGuess)
    return take(np.sort(order[:half])), take(np.sort(order[half:]))


def run_modern(args, cap: Capture) -> dict:
    try:
        from ptycho.config.config import ModelConfig, TrainingConfig, update_legacy_dict
        from ptycho.workflows.components import create_ptycho_data_container
    except ImportError as err:
        raise MissingStage(f"flow modern: {err} (the dataclass configuration or workflows.components)") from err
    with cap.timed("import"):
        from ptycho import nongrid_simulation, params, probe, tf_helper, train_pinn
        from ptycho.raw_data import RawData
    gen = _require(nongrid_simulation, "generate_simulated_data", "simulation")
    if args.per_group_reassembly:
        _per_group_reassembly(tf_helper, cap)
    config = TrainingConfig(
        model=ModelConfig(N=args.N, gridsize=args.gridsize, n_filters_scale=args.n_filters_scale,
                          probe_scale=10.0, probe_big=False, probe_mask=True),
        n_groups=args.train_groups, nphotons=args.nphotons, neighbor_count=4, nepochs=args.epochs,
        batch_size=16)
    update_legacy_dict(params.cfg, config)
    cfg = params.cfg

    from ptycho import diffsim
    cfg["data_source"] = "lines"
    np.random.seed(42)  # the lines object: the sim-lines runner's seed 42
    with cap.timed("simulate"):
        obj = np.asarray(_require(diffsim, "sim_object_image", "lines object")(args.size))
        obj = obj[..., 0] if obj.ndim == 3 else obj
        # the default probe, normalised by the original's own set_probe (mean |mask·P| = 1/probe_scale)
        probe.set_probe_guess(None, np.asarray(probe.get_default_probe(args.N, fmt="np")))
        probe_guess = np.asarray(cfg["probe"])[..., 0].astype(np.complex64)
        # simulated at gridsize 1 with n_groups = the positions, as the sim-lines runner's
        # simulate_nongrid_raw_data did (facts §9 "Modern" 3); grouped at the scenario's gridsize
        sim_model = ModelConfig(N=args.N, gridsize=1, n_filters_scale=args.n_filters_scale,
                                probe_scale=10.0, probe_big=False, probe_mask=True)
        sim_config = TrainingConfig(model=sim_model, n_groups=args.positions, n_images=args.positions,
                                    nphotons=args.nphotons)
        update_legacy_dict(params.cfg, sim_config)
        kw = {"return_patches": False} if _accepts(gen, "return_patches") else {}
        raw = gen(sim_config, obj.astype(np.complex64), probe_guess, 10, **kw)
        update_legacy_dict(params.cfg, config)  # back to the training groups
    cap.point("simulate", args.positions, int(np.shape(raw.diff3d)[0]), diff3d=raw.diff3d)
    train_raw, test_raw = _split_by_y(raw, RawData)
    cap.arrays["object"] = np.abs(obj).astype(np.float32)

    # normalize_data lives in loader and in raw_data (which one a commit calls varies): wrap both
    from ptycho import loader, raw_data
    normalized_calls = []

    def wrap_normalize(module):
        raw_normalize = getattr(module, "normalize_data", None)
        if raw_normalize is None:
            return

        def normalize_data(dset, N):
            out = raw_normalize(dset, N)
            normalized_calls.append((np.asarray(dset["diffraction"], np.float32), np.asarray(out, np.float32)))
            return out
        module.normalize_data = normalize_data

    wrap_normalize(loader)
    wrap_normalize(raw_data)
    with cap.timed("group"):
        train_c = create_ptycho_data_container(train_raw, config)
        test_cfg = config.__class__(**{**config.__dict__, "n_groups": args.test_groups})
        test_c = create_ptycho_data_container(test_raw, test_cfg)
    X_test = np.asarray(test_c.X, np.float32)
    cap.scalars["n_train_groups"] = int(np.shape(train_c.X)[0])
    cap.point("group_test", args.test_groups, int(X_test.shape[0]), X=X_test)
    cap.arrays["raw_diffraction"] = np.asarray(test_raw.diff3d, np.float32)
    cap.arrays["normalized_diffraction"] = X_test
    if normalized_calls:  # the test container's normalize_data call is the last one
        cap.arrays["grouped_diffraction"] = normalized_calls[-1][0]
    cap.arrays["coords_offsets"] = np.asarray(test_c.global_offsets, np.float32)

    with cap.timed("train"):
        try:
            model_instance, history = train_pinn.train(train_c)
            cap.scalars["history"] = _history(history)
            _check_finite(cap)
        except Exception as err:  # a defect of the commit is a finding, not a crash of ours
            cap.findings.append({"kind": "fit_failed", "stage": "train",
                                 "message": f"fit raised {type(err).__name__}: {str(err).splitlines()[0][:300]}"})
            return dict(cfg)
    from ptycho import model
    cap.scalars["trainable_params"] = _trainable(model_instance)
    s = _f(cfg["intensity_scale"])
    cap.scalars["s_c"] = s
    log_scale, cap.scalars["scale_trainable"] = _scale_weight(model_instance)
    cap.scalars["exp_log_scale_final"] = math.nan if log_scale is None else math.exp(log_scale)
    # the model starts at log s_c (built inside train_pinn.train from cfg['intensity_scale'])
    cap.scalars["initial_log_scale"] = math.log(s)
    with cap.timed("evaluate"):
        out = model_instance.predict([X_test * np.float32(s), np.asarray(test_c.coords_nominal)],
                                     batch_size=16, verbose=0)
    obj_pred, pred_amp = out[0], out[1]
    cap.point("predict", int(X_test.shape[0]), int(np.shape(obj_pred)[0]),
              model_input=X_test, object_patch=obj_pred, predicted_amplitude=pred_amp)
    cap.arrays["model_input"] = X_test * np.float32(s)
    cap.arrays["predicted_amplitude"] = np.asarray(pred_amp, np.float32)
    cap.arrays["object_patch"] = np.abs(np.asarray(obj_pred)).astype(np.float32)
    if np.shape(obj_pred)[0] == X_test.shape[0]:
        with cap.timed("stitch"):
            stitched = tf_helper.reassemble_position(obj_pred, np.asarray(test_c.global_offsets), M=20)
        cap.arrays["stitched"] = np.abs(np.asarray(stitched)).astype(np.float32)
    return dict(cfg)


def _per_group_reassembly(tf_helper, cap: Capture) -> None:
    """The labelled harness option ``--per-group-reassembly``: where the model's reassembly layer
    asks for the batched reassembly (c03673d on: ``custom_layers.py`` hard-codes ``batch_size =
    64``, and the batched branch sums every group of a batch into one canvas), hand it the per-group
    reassembly of the commits before (its parent's ``mk_reassemble_position_real``). A module
    attribute is replaced; no file changes. The draw records that it was applied."""
    batched = getattr(tf_helper, "mk_reassemble_position_batched_real", None)
    per_group = getattr(tf_helper, "mk_reassemble_position_real", None)
    if batched is None or per_group is None:
        cap.scalars["harness"] = "per_group_reassembly: not applicable (no batched reassembly at this commit)"
        return

    def reassemble(input_positions, batch_size=64, **kwargs):
        return per_group(input_positions, padded_size=kwargs.get("padded_size"))

    tf_helper.mk_reassemble_position_batched_real = reassemble
    cap.scalars["harness"] = "per_group_reassembly: applied (tf_helper.mk_reassemble_position_batched_real)"


def _trainable(keras_model) -> int:
    """Trainable parameters other than scalars (the intensity scale is the only scalar weight:
    whether it trains is recorded on its own, ``scale_trainable``)."""
    return int(sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights if len(w.shape) > 0))


def _scale_weight(keras_model):
    """``(log_scale value, trainable)`` of the model's scalar weight, or ``(None, False)`` where the
    model has none (dose_experiments bakes exp(log_scale) in as a constant)."""
    for w in keras_model.weights:
        if len(w.shape) == 0:
            return _f(w), any(t is w for t in keras_model.trainable_weights)
    return None, False


def _accepts(fn, name: str) -> bool:
    import inspect
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------ entry point

FLOWS = {"dose": run_dose, "modern": run_modern}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkout", required=True)
    ap.add_argument("--flow", choices=sorted(FLOWS), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nphotons", type=float, default=1e9)
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--gridsize", type=int, default=2)
    ap.add_argument("--n-filters-scale", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--nimgs-train", type=int, default=1)
    ap.add_argument("--nimgs-test", type=int, default=1)
    ap.add_argument("--positions", type=int, default=256)
    ap.add_argument("--train-groups", type=int, default=64)
    ap.add_argument("--test-groups", type=int, default=32)
    ap.add_argument("--per-group-reassembly", action="store_true",
                    help="harness option: per-group reassembly where the commit batches it (c03673d's defect)")
    ap.add_argument("--lockstep-steps", type=int, default=0,
                    help="dose flow: fit unshuffled and record the first this many steps' weights (lockstep.npz)")
    ap.add_argument("--info", default="{}", help="JSON copied into worker.json (commit, era)")
    args = ap.parse_args(argv)
    args.checkout = os.path.abspath(args.checkout)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="work_", dir=out)  # fresh cwd: no stale memo, outputs land here
    os.chdir(work)
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, args.checkout)

    t0 = time.perf_counter()
    cap = Capture()
    record = {"flow": args.flow, "args": vars(args), "info": json.loads(args.info), "workdir": work}
    status, code = "ok", 0
    try:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        # two inter-op threads at least: with one, Keras' predict (a tf.data pipeline feeding a
        # function) hung for good in one of two smoke draws here (TF 2.15, py-spy: idle in predict)
        tf.config.threading.set_inter_op_parallelism_threads(max(2, args.threads))
        record["versions"] = {"python": sys.version.split()[0], "numpy": np.__version__,
                              "tensorflow": tf.__version__}
        record["cfg"] = {k: _plain(v) for k, v in FLOWS[args.flow](args, cap).items() if k != "probe"}
        if cap.findings:
            status = "finding"
    except MissingStage as err:
        status, code = "error", EXIT_MISSING_STAGE
        record["error"] = {"kind": "missing_stage", "message": str(err)}
    except Exception as err:
        status, code = "error", 1
        record["error"] = {"kind": type(err).__name__, "message": str(err)[:2000],
                           "traceback": traceback.format_exc()[-6000:]}
    record.update(status=status, scalars=cap.scalars, capture_points=cap.points, findings=cap.findings,
                  timings=cap.timings, wall_s=time.perf_counter() - t0, peak_rss_bytes=_peak_rss(),
                  arrays={k: [list(np.shape(v)), str(np.asarray(v).dtype)] for k, v in cap.arrays.items()})
    _write_npz(os.path.join(out, "arrays.npz"), {k: v for k, v in cap.arrays.items() if k in ARRAYS})
    if getattr(cap, "lockstep", None) is not None:
        rec, snaps = cap.lockstep
        arrays = {**getattr(cap, "arrays_lockstep", {}), **snaps,
                  **{k: np.asarray(rec[k], np.float64) for k in ("loss", "nll", "mae", "grad_norm", "weight_norm")}}
        _write_npz(os.path.join(out, "lockstep.npz"), arrays)
        record["lockstep"] = {"epochs": rec["epochs"], "steps": len(rec["loss"])}
    _write_json(os.path.join(out, "worker.json"), record)  # last: its presence means the draw ended
    print(json.dumps({"status": status, "findings": cap.findings, "error": record.get("error", {}).get("message")}))
    return code


if __name__ == "__main__":
    sys.exit(main())
