"""The original's draw, measured by our code: worker output → :class:`RunResult`.

The worker (:mod:`.worker`) only captures arrays and scalars; the stage table, the gauge and
every metric are computed here with the functions our own pipelines use
(:class:`..stages.StageRecorder`, :func:`..evaluation.metrics.amplitude_metrics`,
:func:`..evaluation.stitching.trim`), so ours and theirs are measured by the same code.

Scoring is the faithful one of each flow (README "Conventions"):

* ``dose`` — the original's own grid mosaic of test image 0 and its clipped truth, ``offset/2``
  trimmed off each side (``ptychobench`` scoring: untrimmed); gauge
  ``(1/norm_Y_I_test) × 1 × s_c / exp(log_scale)``;
* ``modern`` — the original's test object patches stitched by our faithful position stitcher on
  the original's ``global_offsets`` (the scan bounding box ± M/2, zeros scored; ``ptychobench``
  scoring: the object's grid, the covered pixels); gauge ``1 × g × s_c / exp(log_scale)`` with
  ``g`` measured from the captured diffraction.

Both scorings are computed, as for our runs: ``metrics`` is the faithful one,
``alternative_metrics["ptychobench"]`` ours (what the trained rows judge).
"""

from __future__ import annotations

import math

import numpy as np

from ..evaluation import metrics, stitching
from ..model.spec import head_ceiling
from ..pipelines.common import RunResult
from ..stages import StageRecorder

#: the flows' names as pipelines of the stage vocabulary
PIPELINE_OF_FLOW = {"dose": "legacy", "modern": "modern"}


def head_metrics(object_patch: np.ndarray, N: int, amp_activation: str = "sigmoid") -> dict:
    """Head saturation and output level over the central N/2 × N/2 of every patch (as
    :func:`..pipelines.common.finish` defines them)."""
    central = np.abs(object_patch)[:, N // 4: 3 * N // 4, N // 4: 3 * N // 4]
    ceiling = head_ceiling(amp_activation)
    return {"head_saturation": float(np.mean(central >= 0.99 * ceiling)),
            "output_level": float(central.mean(dtype=np.float64))}


def num(value) -> float:
    """A captured scalar as a float; NaN where the worker had none (JSON null)."""
    return float(value) if isinstance(value, (int, float)) else math.nan


def _dose(record: dict, a: dict, rec: StageRecorder):
    s = record["scalars"]
    norm, s_c, s_sim = s["norm_Y_I_test"], s["s_c"], s["s_sim_train"]
    obj = a["object"][..., 0] if a["object"].ndim == 4 else a["object"]
    rec.record("object", obj)
    rec.record("object_normalized", obj / np.float32(norm), norm_Y_I=norm)
    rec.record("raw_diffraction", a["raw_diffraction"], s_sim=s_sim)
    rec.same_as("grouped_diffraction", "raw_diffraction")
    rec.same_as("normalized_diffraction", "grouped_diffraction", g=1.0)
    factors = {"norm_Y_I": norm, "object_normalization": 1.0 / norm, "g": 1.0, "s_sim": s_sim}
    views = {}
    if "stitched" in a and "truth" in a:
        # the original stitches every test image and keeps the truth of image 0 (its
        # YY_ground_truth): the profiles have one test image, so both scorings see image 0
        offset = s["offset"]
        stitched = a["stitched"][0, :, :, 0]
        truth = a["truth"][..., 0] if a["truth"].ndim == 3 else a["truth"]
        every = np.ones(stitched.shape, bool)
        views["ptychobench"] = (stitched, truth, every, every)
        trimmed = stitching.trim(stitched, offset)
        every = np.ones(trimmed.shape, bool)
        views["faithful"] = (trimmed, stitching.trim(truth, offset), every, every)
    return factors, views


def _modern(record: dict, a: dict, rec: StageRecorder, M: int = 20):
    obj = a["object"]
    N = int(record["cfg"]["N"])
    rec.record("object", obj)
    rec.same_as("object_normalized", "object")
    rec.record("raw_diffraction", a["raw_diffraction"])
    g = float("nan")
    if "grouped_diffraction" in a and "normalized_diffraction" in a:
        rec.record("grouped_diffraction", a["grouped_diffraction"])
        # normalize_data multiplies by one gain: the ratio of the means is that gain
        g = float(np.mean(a["normalized_diffraction"], dtype=np.float64)
                  / np.mean(a["grouped_diffraction"], dtype=np.float64))
        rec.record("normalized_diffraction", a["normalized_diffraction"], g=g)
    factors = {"object_normalization": 1.0, "g": g}
    views = {}
    if "object_patch" in a and "coords_offsets" in a and a["object_patch"].shape[0] == a["coords_offsets"].shape[0]:
        patches, centres = a["object_patch"][..., 0], a["coords_offsets"][:, 0, :, 0]
        origin, size = stitching.original_frame(centres, M)
        image, weight = stitching.stitch_positions(patches, centres, (size, size), M, origin, min_weight=None)
        rows, cols = stitching.scan_bbox_window(centres, M, obj.shape)
        stitched = stitching.registered_window(image, origin, rows, cols)
        covered = stitching.registered_window(weight, origin, rows, cols) > 0
        views["faithful"] = (stitched, obj[rows, cols], np.ones(stitched.shape, bool), covered)
        image, weight = stitching.stitch_positions(patches, centres, obj.shape, M)
        rows, cols = stitching.window_of_coverage(weight)
        covered = weight[rows, cols] > 0
        views["ptychobench"] = (image[rows, cols], obj[rows, cols], covered, covered)
    return factors, views


def to_run_result(record: dict, arrays: dict, profile: str, provenance: dict) -> RunResult:
    """The worker's ``worker.json`` (``record``) and ``arrays.npz`` (``arrays``) as a run result.

    A draw with findings (rows collapsed, a fit that raised) gets ``failure`` set to them: its
    metrics, where any could be computed, are kept, but no check may read them as a pass.
    """
    flow = record["flow"]
    a = {k: np.asarray(v) for k, v in arrays.items()}
    s = record["scalars"]
    rec = StageRecorder()
    factors, views = (_dose if flow == "dose" else _modern)(record, a, rec)
    s_c = num(s.get("s_c"))
    if "model_input" in a:
        rec.record("model_input", a["model_input"], s_c=s_c)
        rec.record("training_labels", a["model_input"], s_c=s_c)
    exp_ls = num(s.get("exp_log_scale_final"))
    if "predicted_amplitude" in a:
        rec.record("predicted_amplitude", a["predicted_amplitude"], exp_log_scale=exp_ls)
    if "object_patch" in a:
        rec.record("object_patch", a["object_patch"])
    scored = {}
    if views and math.isfinite(s_c) and math.isfinite(exp_ls):
        stitched, truth, mask, _ = views["faithful"]
        rec.record("stitched_object", stitched[mask])
        rec.record("truth_window", truth[mask])
        gauge = metrics.expected_gauge(factors["object_normalization"], factors["g"], s_c, math.log(exp_ls))
        head = head_metrics(a["object_patch"], int(record["cfg"]["N"]), record["cfg"].get("amp_activation", "sigmoid"))
        scored = {name: {**metrics.amplitude_metrics(st, tr, sc, gauge, covered=cov), **head}
                  for name, (st, tr, sc, cov) in views.items()}
    result_metrics = scored.get("faithful", {})
    findings = record.get("findings", [])
    failure = "; ".join(f"{f['kind']}: {f['message']}" for f in findings) or None
    loss = [v for v in s.get("history", {}).get("loss", [])]
    if failure is None and any(not isinstance(v, (int, float)) or not math.isfinite(v) for v in loss):
        failure = "training_diverged: the training loss became NaN or Inf"  # as the worker now says itself
    if failure is None and not result_metrics:  # nothing to score is never a silent pass
        failure = "not scored: " + ("no stitched output captured" if not views else
                                    "the intensity scale or exp(log_scale) is not finite")
    cfg = record.get("cfg", {})
    return RunResult(
        pipeline=PIPELINE_OF_FLOW[flow],
        profile=profile,
        seed=-1,  # the original seeds its data with np.random.seed(1)/(2) and leaves TensorFlow unseeded
        nphotons=float(cfg.get("nphotons", math.nan)),
        config=cfg,
        modern_config=None,
        scale_factors={**factors, "s_c": s_c, "exp_log_scale_final": exp_ls,
                       "initial_log_scale": num(s.get("initial_log_scale")),
                       **({"expected_gauge": result_metrics["expected_gauge"]} if result_metrics else {})},
        stages=rec.table(),
        metrics=result_metrics,
        training={"history": s.get("history", {}), "timings_s": record.get("timings", {}),
                  "n_train_groups": s.get("n_train_groups"), "scale_trainable": s.get("scale_trainable")},
        architecture=[],
        trainable_params=int(s.get("trainable_params", 0)),
        provenance=provenance,
        peak_rss_bytes=int(record.get("peak_rss_bytes", 0)),
        failure=failure,
        alternative_metrics={k: v for k, v in scored.items() if k != "faithful"},
        arrays={k: v for k, v in a.items() if k in ("stitched", "truth", "object_patch")},
    )
