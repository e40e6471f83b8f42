"""Shared set-up of the asv suite: profile, seeds, threads, and the once-per-build science runs.

Read from the environment (asv passes its own environment through to the benchmarks):

- ``PTYCHOBENCH_PROFILE``: the profile (``smoke`` by default);
- ``PTYCHOBENCH_SEEDS``: a count ``K`` (seeds ``0..K-1``) or a list ``"0,4,7"``; by default
  3 seeds, 1 on ``tiny`` (the machinery check, where a spread means nothing);
- ``PTYCHOBENCH_THREADS``: the size of every thread pool (default 2);
- ``PTYCHOBENCH_PROGRESS``: a file the science appends one line to per run (``nox -s bench``
  shows it live; asv itself shows a benchmark's output only when it ends).

The science (every pipeline at every dose of the profile's ladder, every seed) runs once per
build: each run in its own process (its own peak memory), the results cached on disk under
``.asv/cache`` by :func:`science_key`, a digest of the code that runs (the files of the
package the runs import, and this module), the numerical stack's versions, the profile, the seeds and
the thread count. No environment variable names a cache entry, so two builds never share one.

This module must import on every commit asv visits: it never imports the installed
ptychobench at import time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .alarms import spread

PROFILE = os.environ.get("PTYCHOBENCH_PROFILE", "smoke")
try:
    THREADS = int(os.environ.get("PTYCHOBENCH_THREADS", "2"))
except ValueError:
    raise ValueError(f"PTYCHOBENCH_THREADS: expected an integer, got {os.environ['PTYCHOBENCH_THREADS']!r}") from None


def parse_seeds(text: str | None, profile: str) -> list[int]:
    """``"3"`` -> ``[0, 1, 2]``; ``"0,4,7"`` -> ``[0, 4, 7]``; unset: 3 seeds (1 on ``tiny``)."""
    if not text:
        return [0] if profile == "tiny" else [0, 1, 2]
    try:
        seeds = [int(s) for s in text.split(",")] if "," in text else list(range(int(text)))
    except ValueError:
        raise ValueError(f"PTYCHOBENCH_SEEDS: expected a count or a comma-separated list, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"PTYCHOBENCH_SEEDS: expected distinct seeds >= 0, got {text!r}")
    return seeds


SEEDS = parse_seeds(os.environ.get("PTYCHOBENCH_SEEDS"), PROFILE)
#: The legacy dose recipe, the modern gs2_ideal scenario it is compared with, and the modern
#: gs1_ideal scenario ("pipeline_scenario"; custom scenarios need a probe file, not here).
PIPELINES = ["legacy", "modern", "modern_gs1_ideal"]
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".asv" / "cache"
#: The science's dose ladder per profile (benchmark parameters: fixed when asv discovers the suite).
DOSE_LADDERS = {"tiny": [1e9], "smoke": [1e5, 1e9], "standard": [1e4, 1e6, 1e9],
                "paper": [1e4, 1e5, 1e6, 1e7, 1e8, 1e9]}
if PROFILE not in DOSE_LADDERS:
    raise ValueError(f"PTYCHOBENCH_PROFILE: unknown profile {PROFILE!r}, expected one of {sorted(DOSE_LADDERS)}")
DOSES = DOSE_LADDERS[PROFILE]
MAIN_DOSE = 1e9


def seeds_at(nphotons: float, seeds: list[int] | None = None) -> list[int]:
    """The seeds the science runs at a dose: all of them at the main dose, the first one on
    the rest of the ladder (a dose's median and collapse rate there are one seed's; its
    spread is NaN). The seed statistics live at the main dose, where the parity is judged."""
    seeds = SEEDS if seeds is None else seeds
    return list(seeds) if nphotons == MAIN_DOSE else list(seeds[:1])


#: Versions that change what the same code computes.
STACK = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scipy", "scikit-image")
#: Used when the installed package does not say (commits before it did): pearson below this is
#: a collapsed reconstruction (DESIGN.md, "basin lottery").
FALLBACK_COLLAPSE_PEARSON = 0.5


def pinned_env(threads: int = THREADS) -> dict:
    """Variables that size every thread pool we know of (BLAS, OpenMP, TensorFlow)."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "TF_NUM_INTRAOP_THREADS": n,
            "TF_NUM_INTEROP_THREADS": "1", "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}


# In asv's benchmark processes (asv sets ASV=true), before NumPy or TensorFlow load: the BLAS
# and OpenMP pools read these once. Elsewhere (tests, the measure command) importing this
# module changes nothing; the science's child processes get them explicitly.
if os.environ.get("ASV") == "true":
    os.environ.update(pinned_env())


def pin_threads() -> None:
    """Pin this process (and the children it starts) to ``THREADS`` cores and TF's pools.

    The core affinity bounds the pools that size themselves from ``os.cpu_count()`` (the
    simulation's thread pool, SciPy's FFT workers). TensorFlow's pools are set explicitly
    when TensorFlow is already loaded, else by :func:`pinned_env`'s variables, which it reads
    when it starts (set here too: asv's ``setup_cache`` process did not have them, measured
    2026-11-27, so TensorFlow ran its default pools there).
    """
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cores[:THREADS])
    if "tensorflow" not in sys.modules:
        os.environ.update(pinned_env())
    else:
        tf = sys.modules["tensorflow"]
        try:
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised in this process
            pass


def progress(message: str) -> None:
    """One line to stderr and, when ``PTYCHOBENCH_PROGRESS`` names a file, appended to it."""
    print(message, file=sys.stderr, flush=True)
    path = os.environ.get("PTYCHOBENCH_PROGRESS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(message + "\n")


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename (as ptychobench.atomic, which old commits do not have)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --- the cache key: the code that runs -------------------------------------------------------

def tree_digest(root: Path) -> str:
    """SHA-256 over the relative paths and bytes of every file under ``root`` (caches skipped)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        h.update(str(rel).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


#: XLA's persistent compilation cache of the science's runs (a folder of CACHE): a compiled step is keyed by its
#: program (its HLO fingerprint), so another commit's different step compiles anew, and the
#: same step loads the same executable (weights bit-identical with and without it: tests).
XLA_CACHE = "xla"


def xla_cache_key(tf_xla_flags: str = "") -> str:
    """What TensorFlow's persistent cache key leaves out and a compiled step depends on: the
    TensorFlow build, the CPU (its instruction-set flags) and the compiler flags. One cache
    folder per digest, so an executable is never loaded into another stack or CPU."""
    import platform

    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = platform.processor()
    what = [_version("tensorflow-cpu") or _version("tensorflow") or "", platform.machine(), flags,
            os.environ.get("XLA_FLAGS", ""), tf_xla_flags]
    return hashlib.sha256("\0".join(what).encode()).hexdigest()[:16]


def child_env() -> dict:
    """The environment of the science's child processes (with XLA's persistent cache)."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if "tf_xla_persistent_cache_directory" not in flags:
        folder = CACHE / XLA_CACHE / xla_cache_key(flags)
        folder.mkdir(parents=True, exist_ok=True)
        flags = f"{flags} --tf_xla_persistent_cache_directory={folder}".strip()
    return {**os.environ, **pinned_env(), "TF_XLA_FLAGS": flags}


def ask_child(code: str) -> str:
    """Last stdout line of ``python -c code`` run as the science's runs are (same interpreter
    and environment; asv's own benchmark processes drop ``PYTHONPATH`` from their ``sys.path``,
    the children keep it, so only a child can say which package they import)."""
    proc = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed:\n{proc.stderr[-1000:]}")
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


def package_dir(package: str = "ptychobench") -> Path:
    """The folder the science's runs import the package from (found without importing it)."""
    found = ask_child(f"import importlib.util as u; s = u.find_spec({package!r}); "
                      "print(next(iter(s.submodule_search_locations)) if s and s.submodule_search_locations else '')")
    if not found:
        raise RuntimeError(f"{package} is not installed for {sys.executable}")
    return Path(found)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def science_key(package: Path | None = None) -> dict:
    """What the science's results depend on; its digest names the cache entry."""
    key = {
        "package_sha256": tree_digest(package or package_dir()),
        "suite_sha256": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "python": sys.version.split()[0],
        "stack": {d: _version(d) for d in STACK if _version(d)},
        "profile": PROFILE,
        "seeds": SEEDS,
        "seeds_per_dose": {f"{d:g}": seeds_at(d) for d in DOSES},
        "threads": THREADS,
        "pipelines": PIPELINES,
        "doses": DOSES,
    }
    key["digest"] = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return key


def cache_file(key: dict) -> Path:
    return CACHE / f"science-{PROFILE}-{key['digest'][:20]}.json"


# --- the runs ----------------------------------------------------------------------------------

def run_key(pipeline: str, nphotons: float, seed: int) -> str:
    return f"{pipeline}|{nphotons:g}|{seed}"


def run_pipeline(pipeline: str, nphotons: float, seed: int) -> dict:
    """One pipeline run in a fresh process; what the tracks need from its result JSON.

    A scenario run (``modern_gs1_ideal``) that fails, as it must on commits from before
    scenarios existed, is recorded as a failure (NaN in every track) instead of failing the
    commit's whole science; so is a run whose training diverged (exit status 1 with a result).
    """
    name, _, scenario = pipeline.partition("_")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        cmd = [sys.executable, "-m", "ptychobench", "run", "--pipeline", name, "--profile", PROFILE,
               "--seed", str(seed), "--nphotons", repr(nphotons), "--quiet", "--out", str(out)]
        cmd += ["--scenario", scenario] if scenario else []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, env=child_env(), capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if not out.exists():
            if scenario:
                return {"failure": f"exit {proc.returncode}: {proc.stderr[-300:]}", "cpu_seconds": cpu}
            raise RuntimeError(f"{pipeline} run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        run = json.loads(out.read_text())
    return {
        "failure": run.get("failure"),
        "metrics": run.get("metrics", {}),
        "stage_ratios": run.get("stage_ratios", {}),
        "samples_per_second": run.get("training", {}).get("samples_per_second"),
        "peak_rss_bytes": run.get("peak_rss_bytes"),
        "cpu_seconds": cpu,
    }


def collapse_pearson() -> float:
    """The collapse threshold of the package the runs import, or the fallback on commits without one."""
    try:
        return float(ask_child("from ptychobench.parity.runner import COLLAPSE_PEARSON as c; print(repr(c))"))
    except (RuntimeError, ValueError):
        return FALLBACK_COLLAPSE_PEARSON


def compute_science(key: dict) -> dict:
    """Every (pipeline, dose, seed) run, with a progress line before and after each."""
    jobs = [(p, d, s) for d in DOSES for p in PIPELINES for s in seeds_at(d)]
    runs, start = {}, time.monotonic()
    for i, (p, d, s) in enumerate(jobs, 1):
        progress(f"science {i}/{len(jobs)}: {p} nphotons={d:g} seed={s} ({PROFILE}, {THREADS} threads) ...")
        t0 = time.monotonic()
        run = run_pipeline(p, d, s)
        runs[run_key(p, d, s)] = run
        bias = run.get("metrics", {}).get("amplitude_bias")
        why = run_failure(run)
        outcome = f"failed: {why[:80]}" if why else f"amplitude_bias {bias}"
        progress(f"science {i}/{len(jobs)}: done in {time.monotonic() - t0:.0f} s ({run['cpu_seconds']:.0f} s CPU), "
                 f"{outcome} [{time.monotonic() - start:.0f} s so far]")
    return {"key": key, "collapse_pearson": collapse_pearson(), "runs": runs}


def science() -> dict:
    """The science of the installed build, computed once and cached on disk (see module doc).

    The cache entry also lists the commits it served (asv's ``ASV_COMMIT``), so that
    ``nox -s compare`` can say which seeds of a commit failed, and why (:func:`failures_of`)."""
    key = science_key()
    path = cache_file(key)
    data = json.loads(path.read_text()) if path.exists() else None
    reused = data is not None and data.get("key") == key
    if reused:
        progress(f"science: reusing {path.name} (same code, stack, profile, seeds and threads)")
    else:
        data = compute_science(key)
    commit = os.environ.get("ASV_COMMIT")
    new_commit = bool(commit) and commit not in data.setdefault("commits", [])
    if new_commit:
        data["commits"].append(commit)
    if new_commit or not reused:
        write_atomic(path, json.dumps(data).encode())
        progress(f"science: {'recorded for ' + commit[:8] + ' in' if reused else 'cached as'} {path.name}")
    return summarize(data)


def failures_of(commit: str, cache: Path | None = None) -> dict:
    """``{"pipeline|dose": {seed: reason}}`` of the runs that failed in the science a commit's
    benchmarks read (the cache entries of this profile on this host that served it); empty when
    none did, or when no entry here served it (results merged from another host; a run without
    asv's ``ASV_COMMIT``, as ``asv run --python=same`` in the container)."""
    out: dict = {}
    for path in sorted(Path(cache or CACHE).glob(f"science-{PROFILE}-*.json")):
        data = json.loads(path.read_text())
        if not any(commit.startswith(c) or c.startswith(commit) for c in data.get("commits", [])):
            continue
        for group, entry in summarize(data).items():
            if entry["failures"]:
                out.setdefault(group, {}).update(entry["failures"])
    return out


# --- lower-is-better forms and their distribution over seeds --------------------------------

def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def abs_log(x) -> float | None:
    """``|ln x|`` (0 when x is 1); None for a missing value, NaN for a non-finite or non-positive one."""
    if x is None:
        return None
    return abs(math.log(x)) if _finite(x) and x > 0 else math.nan


#: Amplitude metrics as tracked: name -> (lower-is-better value of a run's metrics, unit).
AMPLITUDE = {
    "amplitude_bias": (lambda m: m.get("amplitude_bias"), "|ln gauge-corrected ratio|"),
    "raw_ratio_error": (lambda m: abs_log(m.get("amplitude_ratio")), "|ln mean(stitched)/mean(truth)|, raw gauge"),
    "uncovered": (lambda m: 1.0 - m["coverage"] if "coverage" in m else None, "1 - covered/window pixels"),
    # a NaN pearson (a constant reconstruction) is no correlation: decorrelation 1
    "decorrelation": (lambda m: (1.0 - m["pearson"] if _finite(m["pearson"]) else 1.0) if "pearson" in m else None,
                      "1 - pearson(stitched, truth)"),
    # The amplitude head's state (bench_science.Head), where a collapsed pipeline still moves:
    # saturation rises when a head starts clipping; |ln output level| rises when a head at its
    # ceiling of 1 (modern's collapsed sigmoid: 0.999) leaves it, or when a level drops.
    "head_saturation": (lambda m: m.get("head_saturation"), "fraction of central patch pixels at >= 0.99 ceiling"),
    "output_log_level": (lambda m: abs_log(m["output_level"]) if "output_level" in m else None,
                         "|ln mean head output| (the sigmoid's ceiling is 1)"),
}


#: Metrics a run must have finite where it reports them: a NaN or infinite amplitude is a
#: diverged run even when the run itself did not say so.
MUST_BE_FINITE = ("amplitude_ratio", "amplitude_bias")


def run_failure(run: dict) -> str | None:
    """Why a run counts as failed (its own ``failure``, or a non-finite amplitude), else None.

    A metric the run does not report (an old commit's run) is not a failure; a NaN pearson is
    not one either (a constant reconstruction: collapsed, counted by the collapse rate)."""
    if run.get("failure"):
        return str(run["failure"])
    metrics = run.get("metrics") or {}
    bad = [m for m in MUST_BE_FINITE if m in metrics and not _finite(metrics[m])]
    return f"non-finite {', '.join(f'{m}={metrics[m]!r}' for m in bad)}" if bad else None


def distribution(values: list, failed: int = 0) -> dict:
    """``{"median", "spread", "n", "failed"}`` of one quantity over the seeds.

    ``values``: one per run that did not fail (None: the run does not report it, left out; a
    reported NaN or infinity makes the statistic NaN); ``failed``: how many runs failed. A failed run has no value, and a median
    of the survivors would track them as if nothing had happened: with any failed run the
    median and the spread are NaN (and ``nox -s compare`` fails on a NaN where the base had a
    number). Spread: max - min (0 where that is rounding: alarms.spread), NaN with fewer than
    two values."""
    given = [float(v) for v in values if v is not None]
    finite = sorted(v for v in given if math.isfinite(v))
    n = len(finite)
    if failed or not finite or len(finite) < len(given):  # a reported NaN or inf: no statistic
        return {"median": math.nan, "spread": math.nan, "n": n, "failed": failed}
    median = finite[n // 2] if n % 2 else 0.5 * (finite[n // 2 - 1] + finite[n // 2])
    return {"median": median, "spread": spread(finite) if n > 1 else math.nan, "n": n, "failed": 0}


def collapsed(metrics: dict, threshold: float) -> bool:
    """Pearson below the collapse threshold, or undefined (a constant reconstruction)."""
    p = metrics.get("pearson")
    return not _finite(p) or p < threshold


def summarize(data: dict) -> dict:
    """``{(pipeline|dose): {metric: distribution, "stage:<name>": distribution, "collapse_rate",
    "failed_runs", "failures", "peak_rss_bytes", "seconds_per_group"}}`` over the seeds in
    ``data["runs"]``.

    Failed runs (:func:`run_failure`) count everywhere: as collapsed in the collapse rate, in
    ``failed_runs`` and ``failures`` (seed -> reason), and as a NaN median and spread of every
    amplitude metric and stage ratio of their group (:func:`distribution`)."""
    threshold = data["collapse_pearson"]
    groups: dict = {}
    for name, run in data["runs"].items():
        pipeline, dose, seed = name.split("|")
        groups.setdefault(f"{pipeline}|{dose}", []).append((int(seed), run))
    out = {}
    for group, runs in groups.items():
        failures = {seed: why for seed, r in sorted(runs, key=lambda sr: sr[0]) if (why := run_failure(r))}
        ok = [r for seed, r in runs if seed not in failures]
        k = len(failures)
        entry = {m: distribution([f(r["metrics"]) for r in ok], k) for m, (f, _) in AMPLITUDE.items()}
        stages = {s for r in ok for s in r["stage_ratios"].get("ratios", {})}
        for stage in stages:
            entry[f"stage:{stage}"] = distribution([abs_log(r["stage_ratios"]["ratios"].get(stage)) for r in ok], k)
        entry["stage:chain_product"] = distribution([abs_log(r["stage_ratios"].get("chain_product")) for r in ok], k)
        entry["collapse_rate"] = (sum(collapsed(r["metrics"], threshold) for r in ok) + k) / len(runs)
        entry["failed_runs"] = k
        entry["failures"] = failures
        entry["peak_rss_bytes"] = distribution([r["peak_rss_bytes"] for r in ok])["median"]
        entry["seconds_per_group"] = distribution([1.0 / r["samples_per_second"] for r in ok
                                                   if r["samples_per_second"]])["median"]
        out[group] = entry
    return out


def group_key(pipeline: str, nphotons: float) -> str:
    return f"{pipeline}|{nphotons:g}"
