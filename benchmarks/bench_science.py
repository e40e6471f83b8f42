"""The science across commits: amplitude metrics and stage ratios of every pipeline, over seeds.

Every tracked number is lower-is-better, as asv assumes: errors are ``|ln ratio|``, coverage
and correlation are tracked as their shortfall from 1. Each is tracked as the median over
the seed set and as its spread (max - min), both NaN when a seed failed; the collapse rate is
the fraction of seeds whose reconstruction collapsed or failed, and the failures are tracked
on their own (``Failures``). Regression thresholds per family: asv.conf.json.

Timings and memory of the same runs are in bench_speed.ScienceCost (the speed family).
"""

from __future__ import annotations

import math

from .common import AMPLITUDE, DOSES, MAIN_DOSE, PIPELINES, group_key, pin_threads, science, seeds_at

STATS = ["median", "spread"]


def _stages():
    """The installed package's stage chain (each stage but the first has a ratio), or an error text."""
    try:
        from ptychobench.stages import STAGES
    except (ImportError, AttributeError) as err:  # a commit without the stage vocabulary
        return [], f"ptychobench.stages.STAGES is not importable: {err!r}"
    return list(STAGES[1:]), None


STAGES, STAGES_ERROR = _stages()


def _science_cache():
    pin_threads()
    return science()


def _value(cache, pipeline, nphotons, name, stat):
    entry = cache.get(group_key(pipeline, nphotons), {}).get(name)
    return math.nan if entry is None else entry[stat]


def _group_value(cache, pipeline, nphotons, name):
    return cache.get(group_key(pipeline, nphotons), {}).get(name, math.nan)


class _Science:
    """What the science families share: one ``setup_cache`` (asv keys it by its source line,
    so every family that inherits it reads the science once per build), its timeout."""

    timeout = 7200

    def setup_cache(self):
        return _science_cache()


class _PerDose(_Science):
    params = [PIPELINES, DOSES]
    param_names = ["pipeline", "nphotons"]


class _PerDoseAndStat(_Science):
    params = [PIPELINES, DOSES, STATS]
    param_names = ["pipeline", "nphotons", "stat"]

    @staticmethod
    def skip_reason(pipeline, nphotons, stat) -> str | None:
        """Why asv skips this combination: a spread off the main dose, where one seed runs."""
        if stat == "spread" and len(seeds_at(nphotons)) < 2:
            return f"one seed at nphotons {nphotons:g} (common.seeds_at): no spread to track"
        return None

    def setup(self, cache, pipeline, nphotons, stat):
        reason = self.skip_reason(pipeline, nphotons, stat)
        if reason:
            raise NotImplementedError(reason)


class Amplitude(_PerDoseAndStat):
    """Amplitude metrics per pipeline, dose and statistic over seeds (gauge stated in DESIGN.md)."""

    version = "3"  # 3: NaN with a failed seed (was: the survivors' median)

    def track_amplitude_bias(self, cache, pipeline, nphotons, stat):
        return _value(cache, pipeline, nphotons, "amplitude_bias", stat)

    track_amplitude_bias.unit = AMPLITUDE["amplitude_bias"][1]

    def track_raw_ratio_error(self, cache, pipeline, nphotons, stat):
        return _value(cache, pipeline, nphotons, "raw_ratio_error", stat)

    track_raw_ratio_error.unit = AMPLITUDE["raw_ratio_error"][1]

    def track_uncovered(self, cache, pipeline, nphotons, stat):
        return _value(cache, pipeline, nphotons, "uncovered", stat)

    track_uncovered.unit = AMPLITUDE["uncovered"][1]

    def track_decorrelation(self, cache, pipeline, nphotons, stat):
        return _value(cache, pipeline, nphotons, "decorrelation", stat)

    track_decorrelation.unit = AMPLITUDE["decorrelation"][1]


class Head(_PerDoseAndStat):
    """The amplitude head's state per pipeline, dose and statistic over seeds: where a
    collapsed pipeline (pearson near 0, collapse rate at its bound of 1) still moves."""

    version = "1"

    def track_saturation(self, cache, pipeline, nphotons, stat):
        return _value(cache, pipeline, nphotons, "head_saturation", stat)

    track_saturation.unit = AMPLITUDE["head_saturation"][1]

    def track_output_log_level(self, cache, pipeline, nphotons, stat):
        return _value(cache, pipeline, nphotons, "output_log_level", stat)

    track_output_log_level.unit = AMPLITUDE["output_log_level"][1]


class Collapse(_PerDose):
    """Fraction of the seeds whose reconstruction collapsed (pearson below the package's
    threshold, undefined, or the run failed)."""

    version = "2"  # 2: a failed seed counts as collapsed (was: left out)

    def track_collapse_rate(self, cache, pipeline, nphotons):
        return _group_value(cache, pipeline, nphotons, "collapse_rate")

    track_collapse_rate.unit = "collapsed seeds / seeds"

    def track_recovery_rate(self, cache, pipeline, nphotons):
        """1 - the collapse rate: asv flags rises only, so a pipeline that collapses on every
        seed (modern's ideal scenarios) alarms here when a seed leaves that basin."""
        return 1.0 - _group_value(cache, pipeline, nphotons, "collapse_rate")

    track_recovery_rate.unit = "seeds not collapsed / seeds"


class Failures(_PerDose):
    """Seeds whose run failed (diverged, crashed, or a non-finite amplitude), per pipeline and
    dose. Any added failure is a regression (threshold 0); ``nox -s compare`` names the seeds
    and the reasons (common.failures_of)."""

    version = "1"

    def track_failed_runs(self, cache, pipeline, nphotons):
        return _group_value(cache, pipeline, nphotons, "failed_runs")

    track_failed_runs.unit = "failed seeds"


class StageRatios(_Science):
    """|ln mean(stage k)/mean(stage k-1)| for every stage of the installed package's chain, and of
    the chain product, at the main dose; median and spread over seeds.

    The stage list comes from the installed package, so the version carries it: a changed
    chain starts a new series instead of turning old stages into NaN unnoticed.
    """

    version = "3:" + ",".join(STAGES)  # 3: NaN with a failed seed
    params = [PIPELINES, STAGES + ["chain_product"], STATS]
    param_names = ["pipeline", "stage", "stat"]

    def setup(self, cache, pipeline, stage, stat):
        if STAGES_ERROR:
            raise NotImplementedError(STAGES_ERROR)

    def track_stage_log_ratio(self, cache, pipeline, stage, stat):
        return _value(cache, pipeline, MAIN_DOSE, f"stage:{stage}", stat)

    track_stage_log_ratio.unit = "|ln mean(stage)/mean(previous stage)|"
