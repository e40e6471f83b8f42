"""Shared set-up of the asv suite: profile, threads, and the once-per-commit science runs.

The profile comes from ``PTYCHOBENCH_PROFILE`` (``smoke`` by default); threads from
``PTYCHOBENCH_THREADS`` (default 2). The science (both pipelines at every dose of the
profile's ladder) is computed once per commit, environment and profile: each pipeline runs
in its own process (so each reports its own peak memory), and the results are cached on
disk under ``.asv/cache`` for every benchmark class of that commit.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROFILE = os.environ.get("PTYCHOBENCH_PROFILE", "smoke")
THREADS = int(os.environ.get("PTYCHOBENCH_THREADS", "2"))
SEED = 0
#: The legacy dose recipe, the modern gs2_ideal scenario it is compared with, and the modern
#: gs1_ideal scenario ("pipeline_scenario"; custom scenarios need a probe file, not here).
PIPELINES = ["legacy", "modern", "modern_gs1_ideal"]
CACHE = Path(__file__).resolve().parents[1] / ".asv" / "cache"

# Must not depend on the installed ptychobench (the suite is imported for every commit).
DOSES = {"tiny": [1e9], "smoke": [1e5, 1e9], "standard": [1e4, 1e6, 1e9],
         "paper": [1e4, 1e5, 1e6, 1e7, 1e8, 1e9]}[PROFILE]
MAIN_DOSE = 1e9
STAGES = ["object_normalized", "raw_diffraction", "grouped_diffraction", "normalized_diffraction",
          "model_input", "training_labels", "predicted_amplitude", "object_patch", "stitched_object",
          "truth_window"]


def thread_env() -> dict:
    """Environment that pins every thread pool of a child process."""
    n = str(THREADS)
    return {**os.environ, "OMP_NUM_THREADS": n, "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1",
            "OPENBLAS_NUM_THREADS": n, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}


def pin_threads() -> None:
    """Pin TensorFlow's thread pools in this process (call before any TF op)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process
        pass


def key(pipeline: str, nphotons: float) -> str:
    return f"{pipeline}|{nphotons:g}"


def _cache_file() -> Path:
    commit = os.environ.get("ASV_COMMIT", "working-tree")
    env = os.environ.get("ASV_ENV_NAME", "same").replace("/", "_")
    return CACHE / f"{commit}-{env}-{PROFILE}-seed{SEED}.json"


def run_pipeline(pipeline: str, nphotons: float) -> dict:
    """One pipeline run in a fresh process; its result JSON (metrics, stages, training, memory).

    A scenario run (``modern_gs1_ideal``) that fails, as it must on commits from before
    scenarios existed, is recorded as a failure (NaN in every track) instead of failing the
    commit's whole science.
    """
    name, _, scenario = pipeline.partition("_")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        cmd = [sys.executable, "-m", "ptychobench", "run", "--pipeline", name, "--profile", PROFILE,
               "--seed", str(SEED), "--nphotons", repr(nphotons), "--quiet", "--out", str(out)]
        cmd += ["--scenario", scenario] if scenario else []
        proc = subprocess.run(cmd, env=thread_env(), capture_output=True, text=True)
        if not out.exists():
            if scenario:
                return {"failure": f"exit {proc.returncode}: {proc.stderr[-300:]}"}
            raise RuntimeError(f"{pipeline} run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text())


def science() -> dict:
    """``{key(pipeline, dose): run JSON}`` for this commit, computed once and cached on disk."""
    path = _cache_file()
    if path.exists():
        return json.loads(path.read_text())
    results = {key(p, d): run_pipeline(p, d) for d in DOSES for p in PIPELINES}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(results))
    os.replace(tmp, path)
    return results


def metric(cache: dict, pipeline: str, nphotons: float, name: str) -> float:
    run = cache[key(pipeline, nphotons)]
    if run.get("failure"):
        return math.nan
    value = run["metrics"].get(name, math.nan)
    return math.nan if value is None else float(value)
