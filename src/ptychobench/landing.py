"""The results site's landing page: what a visitor comes for, on one static page.

- the verdict of the latest parity report (``checks.json``) and the headline numbers of its
  runs (``run_<pipeline>.json``): amplitude bias, gauge-corrected ratio, pearson and collapse
  (pearson below ``evaluation.metrics.COLLAPSE_PEARSON``), training groups/s;
- per asv machine (``<results_dir>/<machine>/machine.json``) and per (pipeline, nphotons): the
  latest value of amplitude bias (median over seeds) and its spread, collapse rate and
  groups/s, with its trend over the benchmarked commits as an inline SVG sparkline (no
  JavaScript, no network), each linked to its asv graph narrowed to the machine and the
  parameter set.

asv's results (``<commit>-<env>.json``, asv 0.6 format) are read with asv's own loader
(``asv.results``). Rendered by ``site_templates/landing.html.j2`` (package data).
"""

from __future__ import annotations

import ast
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

#: asv graphs, relative to the site root
ASV = "asv/"
PARITY = "parity/index.html"


@dataclass(frozen=True)
class Metric:
    benchmark: str  # asv benchmark name
    label: str
    unit: str
    inverse: bool = False  # shown as 1 / the tracked value
    fixed: dict = field(default_factory=dict)  # parameter name -> the repr it is fixed to


_BIAS = "bench_science.Amplitude.track_amplitude_bias"
TRACKED = (
    Metric(_BIAS, "amplitude bias", "|ln gauge-corrected ratio|, median over seeds, 0 is perfect",
           fixed={"stat": "'median'"}),
    Metric(_BIAS, "bias spread", "max - min of the amplitude bias over seeds", fixed={"stat": "'spread'"}),
    Metric("bench_science.Collapse.track_collapse_rate", "collapse rate",
           "fraction of seeds whose reconstruction collapsed, 0 is perfect"),
    Metric("bench_speed.ScienceCost.track_train_seconds_per_group", "groups/s",
           "training throughput after the first epoch, median over seeds (1 / asv's s per group)", inverse=True),
)


def finite(value) -> float | None:
    """``value`` as a float, or None when it is missing or not finite."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def fmt(value) -> str:
    value = finite(value)
    return "—" if value is None else f"{value:.4g}"


# --- the latest parity report ---------------------------------------------------------------

def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"{path}: cannot read it as JSON ({err})") from None


def report_summary(report: Path, collapse_pearson: float) -> dict:
    """The verdict and run headline of one report folder.

    ``{"name", "passed", "checks": [{"name", "passed", "decided_by"}], "failed": [names],
    "runs": [{"pipeline", "profile", "nphotons", "failure", "amplitude_bias",
    "gauge_corrected_ratio", "pearson", "collapsed", "groups_per_s"}]}``; a run collapsed when
    its pearson is below ``collapse_pearson`` or not finite.
    """
    path = report / "checks.json"
    checks = _read_json(path)
    if not isinstance(checks, list) or not checks or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("passed"), bool)
            for c in checks):
        raise SystemExit(f"{path}: expected a non-empty list of checks, each with a name and passed (true/false)")
    runs = []
    for run_file in sorted(report.glob("run_*.json")):
        run = _read_json(run_file)
        metrics = run.get("metrics") or {}
        pearson = finite(metrics.get("pearson"))
        rate = finite((run.get("training") or {}).get("samples_per_second"))
        runs.append({
            "pipeline": run_file.stem.removeprefix("run_"), "profile": run.get("profile"),
            "nphotons": run.get("nphotons"), "failure": run.get("failure"),
            "amplitude_bias": finite(metrics.get("amplitude_bias")),
            "gauge_corrected_ratio": finite(metrics.get("gauge_corrected_ratio")),
            "pearson": pearson, "collapsed": pearson is None or pearson < collapse_pearson,
            "groups_per_s": rate,
        })
    return {"name": report.name, "passed": all(c["passed"] for c in checks), "runs": runs,
            "checks": [{"name": c["name"], "passed": c["passed"], "decided_by": c.get("decided_by", "")}
                       for c in checks],
            "failed": [c["name"] for c in checks if not c["passed"]]}


# --- asv results ----------------------------------------------------------------------------

@dataclass
class Series:
    """One parameter set of the tracked benchmarks on one machine, one value per commit."""

    params: tuple[tuple[str, str], ...]  # the parameters no metric fixes, (name, asv's repr), e.g.
    #                                      (("pipeline", "'legacy'"), ("nphotons", "1000000000.0"))
    values: list[list]  # per tracked metric: [value or None per commit]


@dataclass
class Machine:
    name: str
    info: dict  # machine.json without its bookkeeping keys
    commits: list[str]  # commit hashes, oldest first
    series: list[Series]


def asv_results_dir(conf: Path) -> Path:
    """``results_dir`` of an asv config file (comments allowed), relative to the file's folder."""
    from asv.util import load_json

    return conf.parent / load_json(str(conf), js_comments=True).get("results_dir", "results")


def load_machines(results_dir: Path, tracked=TRACKED) -> list[Machine]:
    """The tracked metrics of every machine under ``results_dir`` (one folder with a
    ``machine.json`` each, results or not), by machine name.

    One point per results file, ordered by commit date (asv's ``date``), then commit hash; a
    value asv recorded as failed or NaN is None, and so is a benchmark missing from
    ``benchmarks.json`` or of another version (asv's own rule). A metric takes the parameter
    combinations that match its ``fixed`` values; one row (Series) per combination of the
    remaining parameters, shared by all metrics, in asv's order.
    """
    from asv.machine import Machine as AsvMachine
    from asv.results import iter_results
    from asv.util import load_json

    benchmarks = read_benchmarks(results_dir)
    machines = []
    for info_file in sorted(results_dir.glob("*/machine.json")):
        info = load_json(str(info_file), api_version=AsvMachine.api_version)
        results = sorted(iter_results(str(info_file.parent)), key=lambda r: (r.date or 0, r.commit_hash))
        series: dict[tuple, Series] = {}
        for i, result in enumerate(results):
            current = result.get_result_keys(benchmarks)
            for m, metric in enumerate(tracked):
                if metric.benchmark not in current:
                    continue
                names = benchmarks[metric.benchmark].get("param_names", [])
                params = result.get_result_params(metric.benchmark) or []
                values = result.get_result_value(metric.benchmark, params)
                combos = list(itertools.product(*params)) if params else [()]
                for combo, value in zip(combos, values if params else [values]):
                    named = dict(zip(names, combo))
                    if any(named.get(k) != v for k, v in metric.fixed.items()):
                        continue
                    key = tuple((n, v) for n, v in named.items() if n not in metric.fixed)
                    row = series.setdefault(key, Series(key, [[None] * len(results) for _ in tracked]))
                    value = finite(value)
                    if metric.inverse and value is not None:
                        value = 1 / value if value else None
                    row.values[m][i] = value
        machines.append(Machine(info["machine"], {k: v for k, v in info.items() if k not in ("machine", "version")},
                                [r.commit_hash for r in results], list(series.values())))
    return machines


def read_benchmarks(results_dir: Path) -> dict[str, dict]:
    """benchmark -> its entry in asv's ``benchmarks.json`` (``param_names``, ``version``, …);
    empty without one."""
    path = results_dir / "benchmarks.json"
    if not path.exists():
        return {}
    return {name: b for name, b in _read_json(path).items() if isinstance(b, dict)}


def graph_link(benchmark: str, machine: str | None = None, params: dict | None = None) -> str:
    """The asv graph of ``benchmark``, narrowed to one machine and to parameter values
    (name -> repr) when given (asv's hash syntax: ``#name?machine=M&p-<param>=<repr>``)."""
    query = [("machine", machine)] if machine else []
    query += [(f"p-{n}", v) for n, v in (params or {}).items()]
    tail = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    return f"{ASV}#{benchmark}" + (f"?{tail}" if tail else "")


def label(param_repr: str) -> str:
    """``'legacy'`` -> legacy, ``1000000000.0`` -> 1e+09 (asv stores parameters as reprs)."""
    try:
        value = ast.literal_eval(param_repr)
    except (ValueError, SyntaxError):
        return param_repr
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- sparklines -----------------------------------------------------------------------------

def sparkline(values, width: int = 100, height: int = 24, pad: int = 2) -> dict | None:
    """Geometry of a sparkline in px, or None when no value is finite.

    ``values``: one per commit, oldest first; None or NaN leaves a gap. Point i sits at
    x = pad + i·(width − 2·pad)/(n − 1) (n = 1: the middle) and
    y = pad + (max − v)/(max − min)·(height − 2·pad) (all equal: the middle line).
    Returns ``{"width", "height", "lines": ["x,y x,y …" per run of ≥ 2 values],
    "dots": [(x, y) of lone values], "last": (x, y) of the newest value}``, coordinates
    rounded to 0.01 px.
    """
    points = [finite(v) for v in values]
    shown = [v for v in points if v is not None]
    if not shown:
        return None
    lo, hi, n = min(shown), max(shown), len(points)

    def xy(i, v):
        x = width / 2 if n == 1 else pad + i * (width - 2 * pad) / (n - 1)
        y = height / 2 if hi == lo else pad + (hi - v) / (hi - lo) * (height - 2 * pad)
        return round(x, 2), round(y, 2)

    runs, run = [], []
    for i, v in enumerate(points + [None]):
        if v is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(xy(i, v))
    return {"width": width, "height": height,
            "lines": [" ".join(f"{x:g},{y:g}" for x, y in r) for r in runs if len(r) > 1],
            "dots": [r[0] for r in runs if len(r) == 1], "last": runs[-1][-1]}


# --- the page -------------------------------------------------------------------------------

def landing_context(report: Path | None, results_dir: Path, collapse_pearson: float | None = None) -> dict:
    """Everything the template shows (see the module docstring)."""
    if report is not None and collapse_pearson is None:
        from .evaluation.metrics import COLLAPSE_PEARSON  # no TensorFlow: the site builds fast

        collapse_pearson = COLLAPSE_PEARSON
    machines = []
    for machine in load_machines(results_dir):
        rows = []
        for series in machine.series:
            cells = []
            for metric, values in zip(TRACKED, series.values):
                cells.append({
                    "metric": metric, "latest": values[-1], "spark": sparkline(values),
                    "history": ", ".join(f"{commit[:8]} {fmt(v)}" for commit, v in zip(machine.commits, values)),
                    "link": graph_link(metric.benchmark, machine.name, dict(series.params) | metric.fixed),
                })
            rows.append({"params": {n: label(v) for n, v in series.params}, "cells": cells})
        machines.append({"name": machine.name, "info": machine.info, "rows": rows, "commits": machine.commits,
                         "param_names": list(dict.fromkeys(n for s in machine.series for n, _ in s.params))})
    return {"report": report_summary(report, collapse_pearson) if report is not None else None,
            "collapse_pearson": collapse_pearson, "machines": machines, "tracked": TRACKED,
            "graph": graph_link, "asv_index": f"{ASV}index.html", "regressions": f"{ASV}#regressions",
            "parity": PARITY}


def render_landing(context: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("ptychobench", "site_templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    return env.get_template("landing.html.j2").render(**context)
