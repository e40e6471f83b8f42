"""The science across commits: amplitude bias and stage ratios of both pipelines.

asv treats every tracked number as "lower is better"; the ratios are tracked as they are
(watch their graphs), the biases are |ln| errors (lower is better).
"""

from __future__ import annotations

import math

from .common import DOSES, MAIN_DOSE, PIPELINES, STAGES, metric, science


class Amplitude:
    """Amplitude metrics per pipeline and dose (gauge stated in DESIGN.md)."""

    version = "1"
    params = [PIPELINES, DOSES]
    param_names = ["pipeline", "nphotons"]
    timeout = 7200

    def setup_cache(self):
        return science()

    def track_amplitude_bias(self, cache, pipeline, nphotons):
        return metric(cache, pipeline, nphotons, "amplitude_bias")

    track_amplitude_bias.unit = "|ln gauge-corrected ratio|"

    def track_amplitude_ratio(self, cache, pipeline, nphotons):
        return metric(cache, pipeline, nphotons, "amplitude_ratio")

    track_amplitude_ratio.unit = "mean(stitched)/mean(truth), raw gauge"

    def track_gauge_corrected_ratio(self, cache, pipeline, nphotons):
        return metric(cache, pipeline, nphotons, "gauge_corrected_ratio")

    track_gauge_corrected_ratio.unit = "amplitude_ratio / expected gauge"

    def track_coverage(self, cache, pipeline, nphotons):
        return metric(cache, pipeline, nphotons, "coverage")

    track_coverage.unit = "covered / window pixels"

    def track_peak_rss(self, cache, pipeline, nphotons):
        return cache[f"{pipeline}|{nphotons:g}"].get("peak_rss_bytes", math.nan) / 2**30

    track_peak_rss.unit = "GiB (whole pipeline run, own process)"

    def track_train_seconds_per_group(self, cache, pipeline, nphotons):
        rate = cache[f"{pipeline}|{nphotons:g}"].get("training", {}).get("samples_per_second")
        return 1.0 / rate if rate else math.nan

    track_train_seconds_per_group.unit = "s per group, after the first epoch"


class StageRatios:
    """mean(stage k)/mean(stage k−1) for every stage, and the chain product, at the main dose."""

    version = "1"
    params = [PIPELINES, STAGES + ["chain_product"]]
    param_names = ["pipeline", "stage"]
    timeout = 7200

    def setup_cache(self):
        return science()

    def track_stage_ratio(self, cache, pipeline, stage):
        run = cache[f"{pipeline}|{MAIN_DOSE:g}"]
        ratios = run.get("stage_ratios", {})
        if stage == "chain_product":
            return float(ratios.get("chain_product", math.nan))
        return float(ratios.get("ratios", {}).get(stage, math.nan))

    track_stage_ratio.unit = "ratio"
