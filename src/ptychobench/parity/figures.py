"""The parity report's figures (matplotlib, Agg): what a reader should see at a glance.

* :func:`reconstruction_figure`: per run, truth | reconstruction on the truth's scale
  (gauge-corrected) | reconstruction on its own range | difference, masked to covered pixels;
* :func:`explain_figure`: the ``explain`` decomposition as a waterfall per pipeline;
* :func:`stage_figure`: stage means along the chain as a waterfall per pipeline;
* :func:`dose_figure` and :func:`seed_figure`: the dose ladder and the spread over seeds.

Every figure is drawn at the size the report embeds it (about 1,200 px wide), with fonts of
at least 10 pt. :func:`write_figures` writes those that apply to an outcome and returns
their file names with a caption each.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_save_figure  # noqa: E402
from ..stages import stage_ratios  # noqa: E402
from .explain import FACTORS  # noqa: E402

DPI = 100
WIDTH_IN = 12.8  # inches at DPI: 1,280 px, the report's column width
COLOURS = {"legacy": "#1f77b4", "modern": "#d62728"}
SCALE_MISSING = "#d9d9d9"  # uncovered pixels
UP, DOWN, TOTAL = "#2ca02c", "#d62728", "#555555"
plt.rcParams.update({"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11,
                     "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10})


def _colour(pipeline: str) -> str:
    return COLOURS.get(pipeline, COLOURS["modern"] if pipeline.startswith("modern") else "#7f7f7f")


def _save(fig, path: Path) -> None:
    atomic_save_figure(fig, path, dpi=DPI)


# --- reconstructions ---------------------------------------------------------------------------------------


def _range(values, q=(1, 99)) -> tuple:
    """Colour limits: the ``q`` percentiles of the finite ``values``, widened if they coincide."""
    finite = np.asarray(values)[np.isfinite(values)]
    lo, hi = (float(v) for v in np.percentile(finite, q)) if finite.size else (0.0, 1.0)
    if hi <= lo:  # a flat image: widen so the colour bar still has a range
        pad = 1e-6 * max(abs(lo), 1.0)
        lo, hi = lo - pad, hi + pad
    return lo, hi


def reconstruction_panels(stitched, truth, covered, gauge: float) -> dict:
    """The arrays the reconstruction figure draws, shapes ``(H, W)``, NaN outside ``covered``.

    ``corrected`` = |stitched| / G (truth units); ``raw`` = |stitched| (model units);
    ``difference`` = corrected − truth. Colour limits: ``truth_range`` (1st–99th percentile of
    the truth on covered pixels, shared by truth and ``corrected``), ``own_range`` (the same
    percentiles of ``raw``) and ``difference_limit`` (99.5th percentile of |difference|: the
    diverging scale runs from −limit to +limit, centred at 0).
    """
    covered = np.asarray(covered, dtype=bool)
    truth = np.asarray(truth, dtype=np.float64)
    raw = np.where(covered, np.abs(stitched), np.nan)
    corrected = raw / gauge
    difference = corrected - truth
    return {"corrected": corrected, "raw": raw, "truth": truth, "difference": difference,
            "truth_range": _range(np.where(covered, truth, np.nan)), "own_range": _range(raw),
            "difference_limit": _range(np.abs(difference), (0, 99.5))[1]}


def _imshow(fig, ax, img, title, **kw):
    cmap = plt.get_cmap(kw.pop("cmap", "viridis")).with_extremes(bad=SCALE_MISSING)
    im = ax.imshow(np.ma.masked_invalid(img), cmap=cmap, interpolation="nearest", **kw)
    ax.set_title(title, fontsize=10.5)
    ax.set_xticks([])
    ax.set_yticks([])
    bar = fig.colorbar(im, ax=ax, shrink=0.9, pad=0.02)
    bar.formatter.set_useOffset(False)
    bar.update_ticks()


def reconstruction_figure(runs: dict, path: Path) -> bool:
    """``runs``: name -> RunResult (needs ``arrays`` stitched/truth/covered and ``metrics``).

    One row per run that did not fail: truth | |stitched|/G on the truth's colour scale |
    |stitched| on its own range | (|stitched|/G − truth), diverging and centred at 0.
    Returns False (and writes nothing) when no run has arrays.
    """
    runs = {n: r for n, r in runs.items() if not r.failure and r.arrays}
    if not runs:
        return False
    fig, axes = plt.subplots(len(runs), 4, figsize=(WIDTH_IN, 3.1 * len(runs) + 0.5), squeeze=False,
                             layout="constrained")
    for row, (name, run) in zip(axes, runs.items()):
        m = run.metrics
        gauge = m["expected_gauge"]
        p = reconstruction_panels(run.arrays["stitched"], run.arrays["truth"], run.arrays["covered"], gauge)
        vmin, vmax = p["truth_range"]
        lim = p["difference_limit"]
        _imshow(fig, row[0], p["truth"], "truth (raw units)\n1–99 % of covered pixels", vmin=vmin, vmax=vmax)
        row[0].set_ylabel(f"{name}\nG = {gauge:.3g}", fontsize=12, fontweight="bold", color=_colour(name))
        _imshow(fig, row[1], p["corrected"], f"|stitched|/G, truth's scale\n"
                f"pearson {m.get('pearson', math.nan):.3f} · SSIM {m.get('ssim', math.nan):.3f}",
                vmin=vmin, vmax=vmax)
        lo, hi = p["own_range"]
        _imshow(fig, row[2], p["raw"], "|stitched|, own range\n(model units, 1–99 %)", vmin=lo, vmax=hi)
        _imshow(fig, row[3], p["difference"], "|stitched|/G − truth\n"
                f"corrected ratio {m.get('gauge_corrected_ratio', math.nan):.3f}",
                cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle("Reconstructions (grey: pixels no scan position covers)", fontsize=12)
    _save(fig, path)
    return True


# --- waterfalls ----------------------------------------------------------------------------------------------


def waterfall_steps(start: float, factors: list) -> list:
    """``[(label, before, after)]``: the running product from ``start`` through ``factors``.

    ``factors``: ``[(label, value)]``. Each step's ``after`` is ``before × value``.
    """
    steps, level = [], start
    for label, value in factors:
        steps.append((label, level, level * value))
        level *= value
    return steps


def _waterfall(ax, start_label: str, start: float, factors: list, end_label: str | None = None,
               end: float | None = None, highlight: str | None = None, labels: bool = True) -> tuple:
    """One horizontal log-scale waterfall, read top to bottom: a start bar, one floating bar per
    factor (from the running product before it to after it, labelled ``×factor``), an end total.

    Returns the (lowest, highest) level drawn; :func:`_share_limits` sets the panels' common range.
    """
    steps = waterfall_steps(start, factors)
    names = [start_label] + [s[0] for s in steps] + ([end_label] if end_label else [])
    ax.set_xscale("log")
    levels = [start] + [v for s in steps for v in s[1:] if v > 0 and np.isfinite(v)]
    levels += [end] if end_label else []
    floor = min(levels) / 1e3  # totals are drawn from beyond the axis' left edge

    def bar(i, lo, hi, colour, text, edge="none", bold=False):
        ax.barh(i, hi - lo, left=lo, height=0.62, color=colour, edgecolor=edge, linewidth=2)
        ax.annotate(text, (max(lo, hi), i), textcoords="offset points", xytext=(4, 0), va="center",
                    fontsize=10, fontweight="bold" if bold else "normal")

    bar(0, floor, start, TOTAL, f"{start:.3g}")
    for i, (label, lo, hi) in enumerate(steps, start=1):
        if not (np.isfinite(hi) and hi > 0 and lo > 0):
            ax.annotate("not finite", (0.02, i), xycoords=("axes fraction", "data"), va="center")
            continue
        bar(i, min(lo, hi), max(lo, hi), UP if hi >= lo else DOWN, f"×{hi / lo:.3g}",
            edge="k" if label == highlight else "none")
        ax.plot([hi, hi], [i - 0.31, i + 1.31], color="k", lw=0.7, ls=":")
    if end_label:
        bar(len(names) - 1, floor, end, TOTAL, f"{end:.3g}", bold=True)
    if labels:  # panels share the y axis: the first one names the rows
        ax.set_yticks(np.arange(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.grid(axis="x", which="major", alpha=0.3)
    return min(levels), max(levels)


def _share_limits(axes, ranges) -> None:
    """One x range for panels that share their x axis: every panel's levels, room for the labels."""
    axes[0].set_xlim(min(r[0] for r in ranges) / 3, max(r[1] for r in ranges) * 4)


def explain_factors(e: dict) -> list:
    """``[(label, value)]`` of one ``explain`` entry, residual last."""
    return [(label, float(e[key])) for key, label, _ in FACTORS]


def explain_figure(explanations: dict, path: Path) -> bool:
    """Per pipeline: 1 (perfect) × each factor → the measured window ratio mean(stitched)/mean(truth)."""
    if not explanations:
        return False
    fig, axes = plt.subplots(1, len(explanations), figsize=(WIDTH_IN, 4.4), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    ranges = []
    for i, (ax, (name, e)) in enumerate(zip(axes[0], explanations.items())):
        ranges.append(_waterfall(ax, "perfect reconstruction", 1.0, explain_factors(e), "measured ratio",
                                 e["naive_window_ratio"], labels=i == 0))
        ax.set_title(f"{name}\nmeasured {e['naive_window_ratio']:.3g}, residual {e['residual']:.3f}",
                     color=_colour(name))
        ax.set_xlabel("mean(stitched) / mean(truth), log scale")
    _share_limits(axes[0], ranges)
    fig.suptitle("Where the amplitude goes: the measured ratio as a product of known factors "
                 "(green raises, red lowers)", fontsize=12)
    _save(fig, path)
    return True


def stage_figure(stage_tables: dict, path: Path, primary: str | None = None) -> bool:
    """Per pipeline: mean(object) × each stage ratio = the next stage's mean, log scale.

    ``stage_tables``: pipeline -> stage table (rows with ``name`` and ``mean``). The stage
    named ``primary`` (the primary deviation source) is outlined.
    """
    stage_tables = {k: v for k, v in stage_tables.items() if len(v) >= 2}
    if not stage_tables:
        return False
    fig, axes = plt.subplots(1, len(stage_tables), figsize=(WIDTH_IN, 5.0), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    ranges = []
    for i, (ax, (name, table)) in enumerate(zip(axes[0], stage_tables.items())):
        ratios = stage_ratios(table)
        factors = [(row["name"], ratios["ratios"][row["name"]]) for row in table[1:]]
        ranges.append(_waterfall(ax, f"{table[0]['name']} (start)", table[0]["mean"], factors, highlight=primary,
                                 labels=i == 0))
        ax.set_title(f"{name}: chain product {ratios['chain_product']:.3g}", color=_colour(name))
        ax.set_xlabel("stage mean, log scale")
    _share_limits(axes[0], ranges)
    note = f" Outlined: the primary deviation source, {primary}." if primary else ""
    fig.suptitle(f"Stage means along the chain; each bar is mean(k)/mean(k−1).{note}", fontsize=12)
    _save(fig, path)
    return True


# --- dose ladder and seeds --------------------------------------------------------------------------------


def dose_figure(rows: list, path: Path) -> bool:
    """``rows``: the dose ladder (pipeline, nphotons, failure, metrics); ratio and pearson vs dose."""
    rows = [r for r in rows if not r.get("failure")]
    if not rows:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(WIDTH_IN, 4.4))
    for pipeline in sorted({r["pipeline"] for r in rows}):
        pts = sorted((r["nphotons"], r["amplitude_ratio"], r["gauge_corrected_ratio"], r["pearson"])
                     for r in rows if r["pipeline"] == pipeline)
        dose, raw, corr, pearson = zip(*pts)
        c = _colour(pipeline)
        left.plot(dose, corr, "o-", color=c, label=f"{pipeline}: gauge-corrected ratio")
        left.plot(dose, raw, "s--", color=c, alpha=0.6, label=f"{pipeline}: amplitude_ratio (raw)")
        right.plot(dose, pearson, "o-", color=c, label=pipeline)
    left.axhline(1, color="k", lw=0.8)
    left.set_yscale("log")
    left.set_ylabel("ratio (1 = right amplitude)")
    left.set_title("Amplitude vs dose")
    right.axhline(0, color="k", lw=0.8)
    right.set_ylabel("pearson (truth vs reconstruction)")
    right.set_title("Structure vs dose")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("nphotons")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    return True


def seed_figure(summary: dict, path: Path) -> bool:
    """``summary``: ParityOutcome.seed_summary(); one panel per metric, one column of dots per pipeline."""
    if not summary:
        return False
    first = next(iter(summary.values()))
    metrics = [k for k, v in first.items() if isinstance(v, dict) and "values" in v]
    fig, axes = plt.subplots(1, len(metrics), figsize=(WIDTH_IN, 4.0), squeeze=False)
    for ax, key in zip(axes[0], metrics):
        for i, (pipeline, entry) in enumerate(summary.items()):
            values = entry[key]["values"]
            jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
            ax.plot(i + np.asarray(jitter), values, "o", color=_colour(pipeline), alpha=0.8)
            ax.plot([i - 0.25, i + 0.25], [entry[key]["median"]] * 2, color="k", lw=2)
        if key == "pearson":
            threshold = first["collapse_threshold"]
            ax.axhline(threshold, color="k", ls="--", lw=0.8)
            ax.annotate("collapse threshold", (ax.get_xlim()[0], threshold), fontsize=9,
                        xytext=(2, 3), textcoords="offset points")
        ax.set_xticks(range(len(summary)), list(summary))
        ax.set_xlim(-0.6, len(summary) - 0.4)
        ax.set_title(key)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"Spread over {first['n']} seeds (dots: seeds; bar: median)", fontsize=12)
    fig.tight_layout()
    _save(fig, path)
    return True


def write_figures(outcome, folder: Path) -> list:
    """Draw the figures that apply to ``outcome`` into ``folder``; ``[(file name, caption)]``."""
    folder = Path(folder)
    norm = next((c for c in outcome.checks if c.name == "normalization"), None)
    primary = norm.details.get("primary_deviation_source") if norm is not None and norm.details else None
    compared = {p: outcome.runs[p].stages for p in ("legacy", "modern")
                if p in outcome.runs and not outcome.runs[p].failure}
    made = []
    plan = [
        ("reconstruction.png", lambda p: reconstruction_figure(outcome.runs, p),
         "Each run: the truth; the gauge-corrected reconstruction |stitched|/G on the truth's colour scale; "
         "|stitched| on its own range; their difference (0 = white)."),
        ("explain_waterfall.png", lambda p: explain_figure(outcome.explanations, p),
         "The explain decomposition: the measured amplitude ratio as coverage × gauge factors × head clip × residual."),
        ("stage_waterfall.png", lambda p: stage_figure(compared, p, primary),
         "Stage means along the chain for the compared pair (legacy dose recipe vs modern gs2_ideal)."),
        ("seeds.png", lambda p: seed_figure(outcome.seed_summary(), p),
         "Spread of the trained quantities over seeds."),
        ("dose.png", lambda p: dose_figure(outcome.dose_ladder, p),
         "Amplitude and structure across the profile's dose ladder."),
    ]
    for name, draw, caption in plan:
        if draw(folder / name):
            made.append((name, caption))
    return made
