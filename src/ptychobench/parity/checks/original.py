"""The trained runs against the original's own distribution (``original_distribution``).

The reference is the original PtychoPINN code run through the same stages (``ptychobench
upstream``) over K independent draws, recorded in ``parity/original_seeds.json`` with the
upstream commit, era, lock and command (:mod:`ptychobench.upstream.reference`): legacy against
dose_experiments' tip, modern (gs2_ideal) against main at c03673d's parent, the last commit whose
gridsize-2 training is intact. Our seeds are judged against it, quantity by quantity:

* the rule: our value (the median over seeds) lies in ``[min − w·R, max + w·R]`` of the K
  original draws (R their range, ``w = WIDEN``, at least the ``[trained]`` floors);
* its false-alarm rate, for a fresh draw of the same normal distribution: P(outside) =
  :func:`..trained.false_alarm_rate` ``(K, WIDEN)``, 7.4e-4 at K = 10 (Monte Carlo, 4e5 draws);
  over the :data:`ROWS_PER_RUN` × 2 rows of a parity run (Bonferroni, whatever their
  correlation) at most 10 × 7.4e-4 = 0.74% ≤ 1%. ``tests/test_original_distribution.py`` checks
  the bound for the recorded K.

A reference whose model is not ours (its trainable-parameter count differs) is not judged: its
distribution is then a finding about the original's history, and the check's details say so.
The modern reference commit (c03673d's parent) builds a one-channel amplitude head, ours (main's
tip, as the fidelity audit verified) builds gridsize² channels; main from c03673d on cannot train
gridsize 2 at batch 16 (``docs/upstream.md``).

This check is parity with the original; the bands from our own seeds (``amplitude``) are
regression guards and say so.
"""

from __future__ import annotations

import numpy as np

from .rows import CheckResult, Rows

#: the band's half-width in units of the original's range (see the module docstring)
WIDEN = 1.25
QUANTITIES = ("pearson", "ssim", "head_saturation", "output_level", "gauge_corrected_ratio")
ROWS_PER_RUN = len(QUANTITIES)
#: our run key -> the original's
KEYS = {"legacy": "legacy", "modern": "modern"}


def band(values, floor: float, widen: float = WIDEN) -> tuple[float, float]:
    lo, hi = float(min(values)), float(max(values))
    w = max(widen * (hi - lo), floor)
    return lo - w, hi + w


def check_original(legacy_runs, modern_runs, reference: dict | None = None) -> CheckResult:
    """Our legacy and modern (gs2_ideal) trained runs inside the original's distribution.

    Reference: ``parity/original_seeds.json`` (the original's code, K draws per flow).
    """
    from ...upstream import reference as original
    from .. import tables, trained
    from .rows import _fmt

    reference = original.load() if reference is None else reference
    r = Rows()
    details = {}
    for key, runs in (("legacy", legacy_runs), ("modern", modern_runs)):
        runs = list(runs) if isinstance(runs, (list, tuple)) else [runs]
        ok = [run for run in runs if not trained._field(run, "failure")]
        for run in runs:
            if trained._field(run, "failure"):
                r.fail(f"{key} (seed {trained._field(run, 'seed')}): training failed: {trained._field(run, 'failure')}")
        if not ok:
            continue
        profile = trained._field(ok[0], "profile")
        entry = reference.get(profile, {}).get("runs", {}).get(KEYS[key])
        if entry is None:
            r.fail(f"{key}: no distribution of the original recorded for profile {profile!r}: run "
                   f"ptychobench upstream --commit {'dose_experiments --flow dose' if key == 'legacy' else '95ab209 --flow modern'}"
                   f" --profile {profile} --draws 10 --record")
            continue
        theirs_params, ours_params = entry.get("trainable_params"), trained._field(ok[0], "trainable_params")
        if theirs_params is not None and theirs_params != ours_params:
            # another model than ours: its distribution is a finding about the original's history
            # (docs/upstream.md), not a reference our run can be in parity with
            details[key] = {"not judged": f"the original's reference commit {str(entry['upstream_commit'])[:7]} "
                                          f"builds another model ({theirs_params} trainable parameters, ours "
                                          f"{ours_params})", **{k: v for k, v in entry.items() if k not in QUANTITIES}}
            continue
        seeds = [trained._field(run, "seed") for run in ok]
        which = f"median of seeds {seeds}" if len(ok) > 1 else f"seed {seeds[0]}"
        source = f"PtychoPINN {str(entry['upstream_commit'])[:7]} ({entry['flow']} flow, {len(entry['pearson'])} draws)"
        details[key] = {"source": source, **{k: v for k, v in entry.items() if k not in QUANTITIES}}
        for q in QUANTITIES:
            got = float(np.median([float(trained.scored_metrics(run).get(q, np.nan)) for run in ok]))
            lo, hi = band(entry[q], tables.tolerance("trained", f"{q}_floor"))
            r.inside(f"{key} {q} ({which}) within the original's band ({source} gave "
                     f"{_fmt(min(entry[q]))}-{_fmt(max(entry[q]))})", got, lo, hi, f"trained.{q}_floor")
    return r.result("original_distribution", "the original PtychoPINN's own trained distribution "
                    "(parity/original_seeds.json, recorded by ptychobench upstream --record)", details)
