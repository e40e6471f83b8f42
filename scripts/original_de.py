"""Run ONE draw of the original PtychoPINN ``dose_experiments`` legacy flow.

What it runs
------------
The original (GPL, TensorFlow) PtychoPINN code from branch ``dose_experiments``
is only *executed* here, never copied.  The driver reproduces the notebook
recipe of ``notebooks/dose.py``:

    probe.set_default_probe()
    dose.init(nphotons, loss_fn='nll')
    cfg['size'] = SIZE; cfg['nimgs_train'] = cfg['nimgs_test'] = 1
    cfg['nepochs'] = EPOCHS
    dose.execute(nphotons)   # imports ptycho.train, which simulates, trains,
                             # stitches test image 0 and computes its metrics

``size``, ``nimgs_*`` and ``nepochs`` are not touched by ``execute`` so setting
them before it is equivalent to "init, execute's settings, then override".
Everything else is the dose recipe (gridsize 2, n_filters_scale 2, offset 4,
outer offsets 8/20, max_position_jitter 10, batch 16, object.big,
trainable intensity scale).

Instrumentation (no edits to the original sources):

* ``ptycho.diffsim.mk_simdata`` is replaced by a recorder that calls the
  undecorated function (``__wrapped__``), which both disables the original's
  memory/disk memoisation (its key ignores ``size``) and records
  ``intensity_scale`` / ``norm_Y_I`` of the train and test simulations.
  The process also runs inside a fresh scratch directory under ``--out``.
* TF is limited to ``--threads`` intra-op threads (1 inter-op thread).
* ``FRC`` (a git submodule of the original at ptycho/FRC, needed for frc50)
  is put on ``sys.path`` through a symlink if it is present.

The original keeps module-level state, so each draw must be its own process.
TF weight init and the Poisson noise draw are unseeded; the object images use
the original's fixed numpy seeds (1 train, 2 test).

Outputs (written atomically into ``--out``): ``result.json`` (cfg, scales,
history, means, ratios, pearson, the original's metrics) and ``arrays.npz``
(``stitched`` complex64 HxW of test image 0 in model units, ``truth``
complex64 HxW raw units, ``norm_Y_I_test``).

Setup (separate venv, not the project's)
----------------------------------------
    mkdir -p /work/original-de/src
    # export branch dose_experiments of hoidn/PtychoPINN into /work/original-de/src
    # and hoidn/FRC@56626c8 into /work/original-de/src/ptycho/FRC
    python3 -m venv /work/original-de/venv
    /work/original-de/venv/bin/pip install tensorflow-cpu==2.15.1 \
        tensorflow-addons==0.23.0 tensorflow-probability==0.23.0 "numpy<2" \
        scipy scikit-learn scikit-image matplotlib pandas dill \
        opencv-python-headless tqdm

Command line (one draw per process)
-----------------------------------
    /work/original-de/venv/bin/python scripts/original_de.py \
        --src /work/original-de/src --out /work/original-de/draw0 \
        --size 232 --epochs 5
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time


def _f(x):
    """to a plain float (handles numpy / tf scalars)."""
    import numpy as np
    return float(np.asarray(x).reshape(()))


def _jsonable(v):
    import numpy as np
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "numpy"):
        v = v.numpy()
    if isinstance(v, np.ndarray):
        return v.tolist() if v.size <= 4096 else f"<array {v.shape}>"
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def _pearson(a, b):
    import numpy as np
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def _atomic_json(path, obj):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".result.", suffix=".json.tmp", dir=d)
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _atomic_npz(path, **arrays):
    import numpy as np
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".arrays.", suffix=".npz", dir=d)
    os.close(fd)
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True, help="work tree of the original (branch dose_experiments)")
    ap.add_argument("--out", required=True, help="output folder for result.json / arrays.npz")
    ap.add_argument("--size", type=int, default=232)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--nphotons", type=float, default=1e9)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    t0 = time.time()
    src = os.path.abspath(args.src)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="work_", dir=out)  # fresh cwd: no memo cache, outputs land here
    os.chdir(work)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    sys.path.insert(0, os.path.join(src, "notebooks"))
    sys.path.insert(0, src)
    frc_dir = os.path.join(src, "ptycho", "FRC")
    if os.path.exists(os.path.join(frc_dir, "fourier_ring_corr.py")):
        shim = os.path.join(work, "_pypath")
        os.makedirs(shim, exist_ok=True)
        os.symlink(frc_dir, os.path.join(shim, "FRC"))
        sys.path.append(shim)

    import numpy as np
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    import dose  # notebooks/dose.py of the original
    from ptycho import params
    cfg = params.cfg

    dose.init(args.nphotons, loss_fn="nll")
    cfg["size"] = args.size
    cfg["nimgs_train"] = 1
    cfg["nimgs_test"] = 1
    cfg["nepochs"] = args.epochs

    from ptycho import probe
    probe.set_default_probe()

    # record mk_simdata calls and bypass its memoisation
    from ptycho import diffsim
    raw_mk_simdata = diffsim.mk_simdata.__wrapped__
    sim_calls = []

    def recording_mk_simdata(n, size, probe_, outer_offset, intensity_scale=None, *a, **kw):
        res = raw_mk_simdata(n, size, probe_, outer_offset, intensity_scale, *a, **kw)
        X, Y_I, Y_phi, s_out, YY_full, norm_Y_I, coords = res
        sim_calls.append({
            "which": kw.get("which"), "n": n, "size": size, "outer_offset": outer_offset,
            "intensity_scale_in": None if intensity_scale is None else _f(intensity_scale),
            "intensity_scale_out": _f(s_out), "norm_Y_I": _f(norm_Y_I),
            "X_shape": list(np.shape(X)), "X_mean": float(np.mean(X)),
            "YY_full_shape": list(np.shape(YY_full)),
        })
        return res

    diffsim.mk_simdata = recording_mk_simdata

    t_exec = time.time()
    d, YY_ground_truth, stitched_obj, train_output = dose.execute(args.nphotons)
    t_exec = time.time() - t_exec

    from ptycho import train, generate_data, model
    from ptycho.evaluation import trim

    sim_train = next(c for c in sim_calls if c["which"] == "train")
    sim_test = next(c for c in sim_calls if c["which"] == "test")
    s_sim = sim_train["intensity_scale_out"]
    s_c_cfg = _f(cfg["intensity_scale"])  # what train_pinn.train set
    s_c_formula = math.sqrt(cfg["nphotons"]) / (cfg["N"] / 2)
    log_scale_init = float(model.log_scale_guess)
    exp_log_scale = float(np.exp(model.log_scale.numpy()))
    norm_Y_I_test = _f(generate_data.norm_Y_I_test)

    stitched = np.asarray(stitched_obj)[0, :, :, 0].astype(np.complex64)
    truth = np.asarray(YY_ground_truth)
    truth = truth[..., 0] if truth.ndim == 3 else truth
    truth = truth.astype(np.complex64)

    def scale_stats(st, tr):
        amp = np.abs(st)
        tr_amp = np.abs(tr)
        ratio = float(amp.mean() / (tr_amp / norm_Y_I_test).mean())
        gauge = s_c_cfg / exp_log_scale
        return {
            "stitched_amp_mean": float(amp.mean()),
            "truth_amp_mean_raw": float(tr_amp.mean()),
            "truth_amp_mean_normalised": float((tr_amp / norm_Y_I_test).mean()),
            "ratio": ratio, "gauge": gauge, "gauge_corrected": ratio / gauge,
            "pearson_amp": _pearson(amp, tr_amp), "shape": list(amp.shape),
        }

    untrimmed = scale_stats(stitched, truth)
    o = cfg["offset"] // 2
    trimmed = scale_stats(stitched[o:-o, o:-o], truth[o:-o, o:-o])
    assert np.allclose(trim(stitched), stitched[o:-o, o:-o])

    hist = {k: [float(x) for x in v] for k, v in train_output["history"].history.items()}
    n_train_groups = int(np.shape(generate_data.ptycho_dataset.train_data.X)[0])
    n_fit = int(math.floor(n_train_groups * (1.0 - 0.05)))  # keras validation_split=0.05
    metrics = None
    if isinstance(d, dict):
        metrics = {k: _jsonable(d[k]) for k in ("mae", "mse", "psnr", "frc50") if k in d}

    keys = ["size", "nimgs_train", "nimgs_test", "nepochs", "gridsize", "n_filters_scale",
            "offset", "outer_offset_train", "outer_offset_test", "max_position_jitter",
            "nphotons", "batch_size", "probe_scale", "intensity_scale.trainable",
            "object.big", "probe.trainable", "data_source", "set_phi", "nll_weight",
            "mae_weight", "N", "default_probe_scale", "sim_jitter_scale", "probe.mask",
            "amp_activation", "gaussian_smoothing_sigma"]
    result = {
        "wall_s": time.time() - t0,
        "execute_s": t_exec,
        "versions": {"tensorflow": tf.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "threads": {"intra_op": args.threads, "inter_op": 1},
        "cfg": {k: _jsonable(cfg.get(k)) for k in keys},
        "s_sim": s_sim,
        "s_c": s_c_cfg,
        "s_c_formula_sqrt_nphotons_over_N_half": s_c_formula,
        "log_scale_init_exp": float(np.exp(log_scale_init)),
        "exp_log_scale_final": exp_log_scale,
        "log_scale_trainable": bool(model.log_scale.trainable),
        "norm_Y_I_train": sim_train["norm_Y_I"],
        "norm_Y_I_test": norm_Y_I_test,
        "test_sim_intensity_scale_in": sim_test["intensity_scale_in"],
        "sim_calls": sim_calls,
        "n_train_groups": n_train_groups,
        "n_fit_groups": n_fit,
        "n_val_groups": n_train_groups - n_fit,
        "n_test_groups": int(np.shape(generate_data.X_test)[0]),
        "X_train_mean": float(np.mean(generate_data.X_train)),
        "X_test_mean": float(np.mean(generate_data.X_test)),
        "X_train_shape": list(np.shape(generate_data.X_train)),
        "X_test_shape": list(np.shape(generate_data.X_test)),
        "history": hist,
        "epochs_run": len(hist.get("loss", [])),
        "final_loss": hist["loss"][-1] if hist.get("loss") else None,
        "final_val_loss": hist["val_loss"][-1] if hist.get("val_loss") else None,
        "stitched_shape": list(np.shape(stitched_obj)),
        "truth_shape": list(np.shape(YY_ground_truth)),
        "untrimmed": untrimmed,
        "trimmed": trimmed,
        "original_metrics": metrics,
        "workdir": work,
    }
    _atomic_npz(os.path.join(out, "arrays.npz"), stitched=stitched, truth=truth,
                norm_Y_I_test=np.float64(norm_Y_I_test))
    result["wall_s"] = time.time() - t0
    _atomic_json(os.path.join(out, "result.json"), _jsonable(result))
    print(json.dumps({k: result[k] for k in ("wall_s", "s_sim", "s_c", "exp_log_scale_final",
                                             "untrimmed", "trimmed")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
