"""Trained verdicts: each trained run judged against the faithful pipeline's seed distribution.

A trained outcome is a draw from a distribution over seeds (and over machines: another CPU
rounds differently and lands on another draw), so a trained run is compared with what the
faithful pipeline produced at other seeds, in both directions, on what the reconstruction
*is*, not only its mean:

* ``pearson`` and ``ssim``: the structure (scale-free);
* ``head_saturation``: the fraction of central head outputs within 1% of the sigmoid ceiling;
* ``output_level``: the head's mean output over the central N/2 x N/2 of every patch;
* ``gauge_corrected_ratio``: the amplitude in the run's own gauge.

A faithful scenario that collapses the way the original's sim-lines runs did passes, because
it collapses the same way; a change that alters the collapse (its saturation, its level) or
rescues it fails, and the row says which quantity left the band and in which direction.

The distribution (``faithful_seeds.json``, beside this module) is measured by
``python scripts/faithful_seeds.py`` at seeds that the parity suite never runs (100 and up):
the reference is the faithful code's own output at other seeds, recorded with its command,
commit and machine, never the run under test.

**The band.** From K reference values with range R = max - min, a run passes when its value
lies in ``[min - R, max + R]`` widened to at least ``floor`` on each side of the observed
interval (``tolerances.toml [trained]``: a floor for the quantities whose faithful values
coincide, such as a saturation of exactly 1). For a normal quantity and K = 20 a fresh draw
falls outside that band with probability 3.5e-5 (1.9e-3 at K = 10; :func:`false_alarm_rate`; a Monte-Carlo test
checks it), and for a bimodal one the band spans both basins. With several seeds in one
parity run (``--seeds``) the median over seeds is judged, which is more concentrated still.

**Against the flat answer.** Where the faithful distribution spans reconstructions and
collapses alike (the legacy smoke run stops early on 6 of 10 seeds), a band cannot see lost
structure; one more row can: ``mae / mae_flat`` (the error after mean alignment over the error
of the truth's own mean everywhere) stays at or below about 1 for every faithful run, and
structure that is not the truth's pushes it above (``tolerances.toml [trained] mae_over_flat``).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..pipelines import provenance
from . import tables

#: The trained runs of a parity outcome that have a faithful distribution, and how each is run.
RUN_KEYS = ("legacy", "modern", "modern_gs1_ideal")
#: What the trained checks judge, each in both directions.
QUANTITIES = ("pearson", "ssim", "head_saturation", "output_level", "gauge_corrected_ratio")
REFERENCE_FILE = Path(__file__).with_name("faithful_seeds.json")
#: The band is [min - WIDEN * R, max + WIDEN * R] (R: the reference range)
WIDEN = 1.0


#: The scoring the trained verdicts judge (:data:`..pipelines.common.SCORINGS`): ours, the covered
#: pixels of the mosaic, where the flat answer is a yardstick (the faithful window also counts the
#: uncovered zeros, which no flat answer predicts). The faithful scoring's numbers are the
#: reproduction's (``ptychobench reproduce``).
SCORING = "ptychobench"


def scored_metrics(run) -> dict:
    """The metrics of ``run`` (a RunResult or its JSON) under :data:`SCORING`; a run scored one
    way only (a record from before the scorings, a synthetic run in a test) gives its ``metrics``."""
    alternative = (_field(run, "alternative_metrics") or {}).get(SCORING)
    return alternative if alternative is not None else _field(run, "metrics")


def run_command(key: str, seed: int, profile: str) -> list[str]:
    """The ``ptychobench`` arguments that train run ``key`` at ``seed`` (the parity suite's runs)."""
    if key == "legacy":
        return ["run", "--pipeline", "legacy", "--profile", profile, "--seed", str(seed)]
    scenario = "gs2_ideal" if key == "modern" else key.removeprefix("modern_")
    return ["run", "--pipeline", "modern", "--scenario", scenario, "--profile", profile, "--seed", str(seed)]


def load_runs(folder: Path, seeds) -> dict:
    """``{key: [run JSON, ...]}`` of ``folder/<key>_seed<seed>.json`` for every key and seed."""
    out = {}
    for key in RUN_KEYS:
        out[key] = [json.loads((Path(folder) / f"{key}_seed{s}.json").read_text()) for s in seeds]
    return out


def build_reference(folder: Path, profile: str, seeds, command: str) -> dict:
    """The distribution of every quantity of every run key over ``seeds``, with its provenance.

    Failed (diverged) runs are listed under ``failed`` and do not enter the values.
    """
    runs = load_runs(folder, seeds)
    git = provenance.git_state()
    entry = {"command": command, "commit": git["sha"] or "unknown", "dirty": git["dirty"], "cpu": provenance.cpu_name(),
             "scoring": SCORING,
             "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "seeds": list(seeds), "runs": {}}
    doses = {float(r["nphotons"]) for records in runs.values() for r in records}
    if len(doses) != 1:
        raise ValueError(f"runs in {folder} mix doses {sorted(doses)}")
    entry["nphotons"] = doses.pop()
    for key, records in runs.items():
        ok = [r for r in records if not r.get("failure")]
        entry["runs"][key] = {"failed": [r["seed"] for r in records if r.get("failure")],
                              **{q: [float(scored_metrics(r)[q]) for r in ok] for q in QUANTITIES}}
    reference = load_reference(REFERENCE_FILE) if REFERENCE_FILE.exists() else {}
    reference[profile] = entry
    return reference


def write_reference(reference: dict, path: Path = REFERENCE_FILE) -> None:
    atomic_write_text(Path(path), json.dumps(reference, indent=1, sort_keys=True) + "\n")


def load_reference(path: Path = REFERENCE_FILE) -> dict:
    """The recorded distributions by profile; ``{}`` when none was recorded (every band row then
    fails and says how to record one)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}


def band(values, floor: float) -> tuple[float, float]:
    """``[min - w, max + w]`` with ``w = max(WIDEN * (max - min), floor)``."""
    lo, hi = float(min(values)), float(max(values))
    w = max(WIDEN * (hi - lo), floor)
    return lo - w, hi + w


def false_alarm_rate(k: int, widen: float = WIDEN, draws: int = 200_000, seed: int = 0) -> float:
    """P(a fresh normal draw lies outside the band of ``k`` normal reference draws), Monte Carlo."""
    rng = np.random.default_rng(seed)
    ref = rng.standard_normal((draws, k))
    lo, hi = ref.min(1), ref.max(1)
    w = widen * (hi - lo)
    x = rng.standard_normal(draws)
    return float(np.mean((x < lo - w) | (x > hi + w)))


def _field(run, name):
    return run.get(name) if isinstance(run, dict) else getattr(run, name)


def _entry(reference: dict | None, profile: str):
    reference = load_reference() if reference is None else reference
    return reference.get(profile)


def reference_provenance(reference: dict | None = None) -> dict:
    """``{profile: {command, commit, cpu, measured, seeds}}`` of the recorded distributions."""
    reference = load_reference() if reference is None else reference
    return {p: {k: v for k, v in e.items() if k != "runs"} for p, e in reference.items()}


def band_rows(r, key: str, runs, reference: dict | None = None) -> None:
    """Add to ``r`` (a check's rows) one row per quantity: run ``key``'s median over ``runs``
    inside the faithful band of its profile.

    ``runs``: :class:`~ptychobench.pipelines.common.RunResult` objects or their JSON, one per
    seed, all of one profile and dose. A failed run fails a row of its own; a profile, dose or
    key without a recorded distribution fails one row that says how to record it. The custom
    scenarios (``*_custom``) run on the user's probe, so no record can exist for them: they get
    no band rows (their physics rows still judge them). A ``--trainable-scale`` run is judged
    against the faithful (constant-scale) record on purpose: where the variant differs from the
    faithful pipeline, its rows say so.
    """
    from .checks.rows import _fmt

    runs = list(runs)
    for run in runs:
        if _field(run, "failure"):
            r.fail(f"{key} (seed {_field(run, 'seed')}): training failed: {_field(run, 'failure')}")
    ok = [run for run in runs if not _field(run, "failure")]
    if not ok:
        return
    if key.endswith("_custom"):  # the user's probe: no faithful record can exist in advance
        return
    profile, nphotons = _field(ok[0], "profile"), float(_field(ok[0], "nphotons"))
    entry = _entry(reference, profile)
    record = f"run `python scripts/faithful_seeds.py --profile {profile}`"
    if entry is None or key not in entry["runs"]:
        r.fail(f"{key}: no faithful seed distribution recorded for profile {profile!r}: {record}")
        return
    if float(entry["nphotons"]) != nphotons:
        r.fail(f"{key}: the faithful distribution of {profile!r} is at {entry['nphotons']:.3g} photons, "
               f"this run at {nphotons:.3g}: {record}")
        return
    seeds = [_field(run, "seed") for run in ok]
    which = f"median of seeds {seeds}" if len(ok) > 1 else f"seed {seeds[0]}"
    faithful = entry["runs"][key]
    for q in QUANTITIES:
        values = [float(scored_metrics(run).get(q, math.nan)) for run in ok]
        got = float(np.median(values))
        lo, hi = band(faithful[q], tables.tolerance("trained", f"{q}_floor"))
        what = (f"{key} {q} ({which}) within the faithful band (a regression guard: our own code at seeds "
                f"{entry['seeds'][0]}-{entry['seeds'][-1]} "
                f"gave {_fmt(min(faithful[q]))}-{_fmt(max(faithful[q]))})")
        r.inside(what, got, lo, hi, f"trained.{q}_floor")
    # structure that is not the truth's: worse than the flat answer, which no faithful run is
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or missing yardstick fails the row
        excess = float(np.median([np.float64(scored_metrics(run).get("mae", math.nan))
                                  / np.float64(scored_metrics(run).get("mae_flat", math.nan)) for run in ok]))
    r.within(f"{key} mae / mae of the flat answer ({which}): no worse than no structure at all", excess,
             "trained", "mae_over_flat")


def judge(runs: dict, reference: dict | None = None):
    """A check of ``{key: [run, ...]}`` against the faithful bands alone (``faithful_seeds.py``'s
    hold-out verdict)."""
    from .checks.rows import Rows

    r = Rows()
    for key, key_runs in runs.items():
        band_rows(r, key, key_runs, reference)
    return r.result("faithful_bands", "faithful seed distribution (faithful_seeds.json)", {})
