"""The runs of a reproduction: each (run, seed) trains in its own process and is kept.

``ptychobench run ... --out KEY_seedS.json --arrays KEY_seedS.npz`` writes both files
atomically; a pair that exists is not trained again, so an interrupted reproduction resumes
per run and seed. Each child streams its own progress (stages, epoch bars) to stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..errors import ConfigError
from ..progress import Progress


@dataclass(frozen=True)
class Run:
    """One trained configuration of the reproduction."""

    key: str
    profile: str
    args: tuple
    what: str


#: Every run the recorded trained numbers need (facts §5.3, §5.4, §11; issue 21).
RUNS = {
    "legacy": Run("legacy", "investigation", ("--pipeline", "legacy"),
                  "legacy dose recipe, 392², 1,600 groups, 5 epochs, exp(log_scale) constant at s_sim (DE)"),
    "legacy_trainable": Run("legacy_trainable", "investigation", ("--pipeline", "legacy", "--trainable-scale"),
                            "as legacy, the trainable-scale variant (facts §11's run trained its scale)"),
    "legacy_232": Run("legacy_232", "investigation_232", ("--pipeline", "legacy"),
                      "legacy dose recipe, 232², all 1,764 groups, 5 epochs (the original DE flow's configuration)"),
    "modern": Run("modern", "investigation", ("--pipeline", "modern", "--scenario", "gs2_ideal"),
                  "sim-lines gs2_ideal, 8,000 positions, 1,000 groups, 5 epochs"),
    "modern_gs1_ideal": Run("modern_gs1_ideal", "investigation", ("--pipeline", "modern", "--scenario", "gs1_ideal"),
                            "sim-lines gs1_ideal, 2,000 positions, 1,000 groups, 5 epochs"),
}


def check_keys(keys) -> list[str]:
    keys = list(keys)
    unknown = [k for k in keys if k not in RUNS]
    if unknown or not keys:
        raise ConfigError("runs", f"unknown run(s) {unknown or keys}; choose from {sorted(RUNS)}")
    return keys


def paths(folder: Path, key: str, seed: int) -> tuple[Path, Path]:
    return folder / f"{key}_seed{seed}.json", folder / f"{key}_seed{seed}.npz"


def command(key: str, seed: int, folder: Path) -> list[str]:
    run = RUNS[key]
    out, arrays = paths(folder, key, seed)
    return [sys.executable, "-m", "ptychobench", "run", *run.args, "--profile", run.profile, "--seed", str(seed),
            "--out", str(out), "--arrays", str(arrays)]


def run_all(folder: Path, keys, seeds, progress: Progress, command_for=command,
            describe=lambda key: RUNS[key].what) -> dict:
    """Train every missing (key, seed), in that order; returns ``{key: [(json, arrays), ...]}``
    in seed order. The seconds each training took are kept in its JSON (``wall_seconds``).

    ``command_for(key, seed, folder)``: the child's command line, which must write the pair
    :func:`paths` names; ``describe(key)``: the run's progress line."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [(k, s) for k in keys for s in seeds if not all(p.exists() for p in paths(folder, k, s))]
    if todo:
        progress.line(f"{len(todo)} of {len(keys) * len(seeds)} runs to train (the others are kept in {folder})")
    for i, (key, seed) in enumerate(todo, start=1):
        if all(p.exists() for p in paths(folder, key, seed)):  # another process trained it meanwhile
            continue
        progress.line(f"run {i}/{len(todo)}: {key} seed {seed} ({describe(key)})")
        start = time.perf_counter()
        cmd = command_for(key, seed, folder)
        env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
        done = subprocess.run(cmd, env=env)
        out, arrays = paths(folder, key, seed)
        if done.returncode not in (0, 1) or not out.exists():  # 1: a diverged run, recorded as such
            raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}")
        seconds = time.perf_counter() - start
        record = json.loads(out.read_text())
        record["wall_seconds"] = seconds
        atomic_write_text(out, json.dumps(record, indent=2) + "\n")
        progress.line(f"run {i}/{len(todo)}: {key} seed {seed} done in {seconds:.0f} s")
    return {key: [load(folder, key, s) for s in seeds] for key in keys}


def load(folder: Path, key: str, seed: int) -> tuple[dict, dict]:
    """The run JSON and its arrays (``{}`` for a run that failed before writing any)."""
    out, arrays = paths(folder, key, seed)
    record = json.loads(out.read_text())
    if not arrays.exists():
        return record, {}
    with np.load(arrays) as npz:
        return record, {k: npz[k] for k in npz.files}
