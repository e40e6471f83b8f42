"""Our data path against the original's run of the same flow and profile, stage by stage.

The original's draw (a folder written by :func:`.runner.draw`) is compared with our pipeline's
data path at the same profile (``prepare``: simulation, grouping, normalisation, the built
model; no training). Each row is one comparison with its rule:

* ``shape:<stage>`` — the stage's array shape, exactly (integers);
* ``rows:<point>`` — rows out equal rows in at each of the original's capture points (a finding
  of the worker, e.g. c03673d's ``predict`` returning 2 rows for 32 groups, fails here by name);
* ``count:trainable_params``, ``count:train_groups`` — exact;
* ``mean:object`` (and legacy ``object_normalized``) — deterministic: relative
  ``[upstream] object_rel``;
* ``scale:<factor>`` — ``s_sim``, ``norm_Y_I``, ``s_c``, the initial ``exp(log_scale)``:
  relative ``[upstream] scale_rel``;
* ``poisson:<stage>`` — stages behind the Poisson draw, which the original leaves to TensorFlow's
  unseeded generator: the difference of the means over its standard error, ``|z| ≤ poisson_z``.
  Legacy patterns sit on the same grid in the same order in both, so the test is paired per
  pattern; modern groups are two random selections of the same positions, so it is unpaired.

Trained stages (``predicted_amplitude``, ``object_patch``, ``stitched_object``) differ draw by
draw (TensorFlow's weights are unseeded in the original): they are listed, never judged here;
the trained rows are judged against the original's distribution over draws.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..parity.tables import tolerance
from ..stages import STAGES
from .score import num

TRAINED = ("predicted_amplitude", "object_patch", "stitched_object", "truth_window")
POISSON = {"legacy": ("raw_diffraction", "model_input"),
           "modern": ("raw_diffraction", "grouped_diffraction", "normalized_diffraction", "model_input")}


def _row(name, ours, theirs, rule, passed, note=""):
    return {"row": name, "ours": ours, "theirs": theirs, "rule": rule, "passed": bool(passed), "note": note}


def z_paired(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of the per-pattern differences of means over its standard error (a, b: (P, ...))."""
    d = a.reshape(len(a), -1).mean(1, dtype=np.float64) - b.reshape(len(b), -1).mean(1, dtype=np.float64)
    se = d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean() / se) if se > 0 else (0.0 if d.mean() == 0 else math.inf)


def z_unpaired(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's statistic on the per-pattern (per-group) means of two samples."""
    ma, mb = (x.reshape(len(x), -1).mean(1, dtype=np.float64) for x in (a, b))
    se = math.sqrt(ma.var(ddof=1) / len(ma) + mb.var(ddof=1) / len(mb))
    return float((ma.mean() - mb.mean()) / se) if se > 0 else math.inf


def _rel(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs) if theirs else math.inf


def our_data_path(pipeline: str, profile: str):
    """Our ``Prepared`` run (data path and built model) of the pipeline the flow corresponds to."""
    from ..pipelines import legacy, modern
    if pipeline == "legacy":
        return legacy.prepare(profile, seed=0)
    return modern.prepare(profile, seed=0, scenario=modern.PARITY_SCENARIO)


def ours_arrays(prep) -> dict:
    """Our arrays of the stages the Poisson rows compare."""
    s_c = np.float32(prep.s_c)
    if prep.pipeline == "legacy":
        return {"raw_diffraction": prep.test.X, "model_input": prep.test.X * s_c}
    return {"grouped_diffraction": prep.test_raw_X, "normalized_diffraction": prep.test.X,
            "model_input": prep.test.X * s_c}


def compare(folder: str | Path, prep=None) -> dict:
    """Rows, verdict and notes for the original's draw in ``folder`` (its ``run.json`` and
    ``arrays.npz``) against our data path (``prep``, built here when not given)."""
    folder = Path(folder)
    run = json.loads((folder / "run.json").read_text())
    with np.load(folder / "arrays.npz") as z:
        theirs_arrays = {k: z[k] for k in z.files}
    pipeline, profile = run["pipeline"], run["profile"]
    prep = prep or our_data_path(pipeline, profile)
    ours_stages = {r["name"]: r for r in prep.recorder.table()}
    theirs_stages = {r["name"]: r for r in run["stages"]}
    rows, not_compared = [], []
    for point, p in sorted(run.get("capture_points", {}).items()):
        if p.get("rows_in") is not None and p.get("rows_out") is not None:
            rows.append(_row(f"rows:{point}", p["rows_in"], p["rows_out"], "rows out = rows in",
                             p["rows_in"] == p["rows_out"],
                             "" if p["rows_in"] == p["rows_out"] else "the output has collapsed"))
    for stage in STAGES:
        if stage in ours_stages and stage in theirs_stages and stage not in TRAINED:
            a, b = list(ours_stages[stage]["shape"]), list(theirs_stages[stage]["shape"])
            rows.append(_row(f"shape:{stage}", a, b, "equal", a == b))
    ours_params = sum(int(np.prod(w.shape)) for w in prep.model.trainable_weights if len(w.shape) > 0)
    rows.append(_row("count:trainable_params", ours_params, run["trainable_params"], "equal (scalars aside)",
                     ours_params == run["trainable_params"]))
    theirs_trains = run["training"].get("scale_trainable")
    if theirs_trains is not None:
        ours_trains = any(len(w.shape) == 0 for w in prep.model.trainable_weights)
        rows.append(_row("flag:scale_trainable", ours_trains, theirs_trains, "equal", ours_trains == theirs_trains,
                         "exp(log_scale) trains in one and not the other" if ours_trains != theirs_trains else ""))
    theirs_groups = run["training"].get("n_train_groups")
    if theirs_groups is not None:
        rows.append(_row("count:train_groups", int(prep.train.X.shape[0]), theirs_groups, "equal",
                         int(prep.train.X.shape[0]) == theirs_groups))
    object_rel, scale_rel, zmax = (tolerance("upstream", k) for k in ("object_rel", "scale_rel", "poisson_z"))
    for stage in ("object", "object_normalized") if pipeline == "legacy" else ("object",):
        o, t = ours_stages[stage]["mean"], theirs_stages[stage]["mean"]
        rows.append(_row(f"mean:{stage}", o, t, f"relative difference <= {object_rel:g}",
                         _rel(o, t) <= object_rel, f"relative difference {_rel(o, t):.2e}"))
    sf = run["scale_factors"]
    theirs_ls = num(sf.get("initial_log_scale"))
    scales = {"s_c": (prep.s_c, sf.get("s_c")),
              "initial_exp_log_scale": (math.exp(prep.initial_log_scale),
                                        math.exp(theirs_ls) if math.isfinite(theirs_ls) else None)}
    if pipeline == "legacy":
        scales["norm_Y_I"] = (prep.test.scale_factors["norm_Y_I"], sf.get("norm_Y_I"))
        scales["s_sim"] = (prep.train.scale_factors["s_sim"], sf.get("s_sim"))
    for name, (o, t) in scales.items():
        if t is None or not math.isfinite(num(t)):
            not_compared.append({"row": f"scale:{name}", "why": "not captured at this commit"})
            continue
        rows.append(_row(f"scale:{name}", o, t, f"relative difference <= {scale_rel:g}", _rel(o, t) <= scale_rel,
                         f"relative difference {_rel(o, t):.2e}"))
    ours = ours_arrays(prep)
    for stage in POISSON[pipeline]:
        if stage not in ours or stage not in theirs_arrays:
            continue
        a, b = np.asarray(ours[stage]), theirs_arrays[stage]
        if a.shape != b.shape:
            rows.append(_row(f"poisson:{stage}", list(a.shape), list(b.shape), "same shape", False))
            continue
        paired = pipeline == "legacy"
        z = z_paired(a, b) if paired else z_unpaired(a, b)
        rows.append(_row(f"poisson:{stage}", float(a.mean(dtype=np.float64)), float(b.mean(dtype=np.float64)),
                         f"|z| <= {zmax:g} ({'paired per pattern' if paired else 'unpaired, per group'})",
                         abs(z) <= zmax, f"z = {z:+.2f}"))
    trained = [{"stage": s, "ours": None, "theirs": theirs_stages[s]["mean"], "shape": theirs_stages[s]["shape"]}
               for s in TRAINED if s in theirs_stages]
    findings = run.get("findings", [])
    passed = all(r["passed"] for r in rows) and not findings and bool(rows)
    return {"verdict": "PASS" if passed else "FAIL", "pipeline": pipeline, "profile": profile,
            "upstream": run["provenance"].get("upstream", {}), "rows": rows, "findings": findings,
            "trained_stages": trained, "not_compared": not_compared, "failed_rows": [r["row"] for r in rows if not r["passed"]]}


def to_markdown(result: dict) -> str:
    up = result["upstream"].get("checkout", {})
    lines = [f"# Ours against the original, stage by stage: **{result['verdict']}**", "",
             f"- original: {up.get('upstream_commit') or up.get('commit') or up.get('path')} ({up.get('date')}, "
             f"{up.get('subject') or ''}), flow `{result['upstream'].get('flow')}`, era "
             f"`{result['upstream'].get('era')}`",
             f"- ours: the `{result['pipeline']}` pipeline's data path, profile `{result['profile']}`, seed 0", ""]
    if result["findings"]:
        lines += ["## Findings", ""] + [f"- **{f['kind']}** at `{f['stage']}`: {f['message']}"
                                         for f in result["findings"]] + [""]
    lines += ["| row | ours | original | rule | verdict | note |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        fmt = (lambda v: f"{v:.6g}" if isinstance(v, float) else str(v))
        lines.append(f"| `{r['row']}` | {fmt(r['ours'])} | {fmt(r['theirs'])} | {r['rule']} | "
                     f"{'pass' if r['passed'] else '**FAIL**'} | {r['note']} |")
    lines += [f"- `{n['row']}`: not compared, {n['why']}" for n in result["not_compared"]]
    lines += ["", "Trained stages (unseeded TensorFlow weights in the original: judged over draws, not here):", ""]
    lines += [f"- `{t['stage']}`: original mean {t['theirs']:.6g}, shape {t['shape']}" for t in result["trained_stages"]]
    return "\n".join(lines) + "\n"


def write(folder: str | Path, result: dict) -> Path:
    folder = Path(folder)
    atomic_write_text(folder / "compare.json", json.dumps(result, indent=1, default=float))
    atomic_write_text(folder / "compare.md", to_markdown(result))
    return folder / "compare.md"



