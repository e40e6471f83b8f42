"""``ptychobench intervene``: answer the investigation's question by experiment.

For each intervention of :data:`.catalog.CATALOG` (one change, one hypothesis):

1. the baseline of every pipeline it runs in trains at every seed (one process each, kept on
   disk, so an interrupted pass resumes per run and seed);
2. each intervention run builds its changed model, **predicts** its effect from the baseline
   at the same seed (:mod:`.predict`), writes the prediction with its time, and only then trains;
3. the measured effect is the median and range of the paired differences over seeds, and each
   intervention and hypothesis gets a verdict (:mod:`.verdict`, :func:`judge_record`);
4. :func:`write_report` writes ``interventions.json/.md/.png``; the root-cause paragraph is
   generated from the verdicts (:func:`root_cause`).

:func:`rejudge` applies the current rules and catalogue to a written record from its stored
per-seed measurements, without training (``ptychobench intervene --rejudge RECORD.json``).
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..atomic import atomic_save_figure, atomic_write_text
from ..physics import objects
from ..pipelines import modern, provenance
from ..pipelines.profiles import get_profile
from ..progress import Progress
from ..reproduce import rows as rows_mod
from ..reproduce import runs as runs_mod
from . import catalog, predict, verdict

#: the interventions of the CI tier: the machinery, two of them
TINY = ("loss_weights", "head_relu")


def run_key(key: str, pipeline: str) -> str:
    return f"{key}_{pipeline}"


def baseline_key(pipeline: str) -> str:
    return run_key("baseline", pipeline)


def _command(profile: str, pipelines: dict):
    """``command_for(key, seed, folder)`` of :func:`..reproduce.runs.run_all`: the baseline or
    the intervention run, the latter predicting from the baseline of its seed first."""
    def command_for(key: str, seed: int, folder: Path) -> list[str]:
        intervention, pipeline = pipelines[key]
        out, arrays = runs_mod.paths(folder, key, seed)
        cmd = [sys.executable, "-m", "ptychobench", "run", *catalog.PIPELINES[pipeline], "--profile", profile,
               "--seed", str(seed), "--out", str(out), "--arrays", str(arrays)]
        if intervention != "baseline":
            cmd += ["--intervention", intervention]
            base, _ = runs_mod.paths(folder, baseline_key(pipeline), seed)
            if not json.loads(base.read_text()).get("failure"):  # a failed baseline predicts nothing
                cmd += ["--baseline", str(base)]
        return cmd
    return command_for


def plan(keys, pipelines=None) -> list[tuple[str, str]]:
    """``(intervention, pipeline)`` pairs to measure, in catalog order."""
    return [(k, p) for k in keys for p in catalog.get(k).pipelines if pipelines is None or p in pipelines]


def intervene(folder: Path, profile_name: str, seeds, keys=None, pipelines=None,
              progress: Progress | None = None) -> dict:
    """Train what is missing (baselines first), judge every intervention, return the record."""
    progress = progress or Progress(label="intervene")
    profile = get_profile(profile_name)
    keys = catalog.check_keys(keys or list(catalog.CATALOG))
    seeds = list(seeds)
    pairs = plan(keys, pipelines)
    if not pairs:
        raise catalog.ConfigError("pipelines", f"none of {keys} runs in {pipelines}")
    runs = {baseline_key(p): ("baseline", p) for _, p in pairs}
    runs |= {run_key(k, p): (k, p) for k, p in pairs if catalog.get(k).variant is not None}
    describe = lambda key: (f"{runs[key][1]} baseline" if runs[key][0] == "baseline"  # noqa: E731
                            else f"{runs[key][1]}: {catalog.get(runs[key][0]).change}")
    started = time.perf_counter()
    with progress.stage("runs"):
        done = runs_mod.run_all(Path(folder), list(runs), seeds, progress, _command(profile.name, runs), describe)
    rows = []
    with progress.stage("verdicts"):
        for key, pipeline in pairs:
            base = done[baseline_key(pipeline)]
            if catalog.get(key).variant is None:
                rows.append(coverage_row(key, pipeline, base, profile))
            else:
                rows.append(measured_row(key, pipeline, base, done[run_key(key, pipeline)]))
    git = provenance.git_state()
    record = {
        "command": (f"ptychobench intervene --profile {profile.name} --seeds {','.join(map(str, seeds))} "
                    f"--interventions {','.join(keys)}" + (f" --pipelines {','.join(pipelines)}" if pipelines else "")),
        "commit": git["sha"] or "unknown",
        "dirty": git["dirty"],
        "cpu": provenance.cpu_name(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": profile.to_json(),
        "seeds": seeds,
        "interventions": {k: catalog.get(k).to_json(profile) for k in keys},
        "rows": rows,
        "wall_seconds": {k: [r.get("wall_seconds") for r, _ in v] for k, v in done.items()},
        "pass_seconds": time.perf_counter() - started,
    }
    return judge_record(record)


def judge_record(record: dict) -> dict:
    """Verdicts on every row and hypothesis of ``record`` (in place, and returned), its target
    and root-cause paragraph, under the current rules and catalogue: each row sits under the
    hypothesis its intervention tests in :data:`.catalog.CATALOG`."""
    rows = record["rows"]
    verdict.judge_rows(rows, hypothesis_of=lambda r: catalog.get(r["key"]).hypothesis,
                       judged=lambda r: catalog.get(r["key"]).judged)
    record["hypotheses"] = {}
    for name in catalog.HYPOTHESES:
        mine = [r for r in rows if r["hypothesis"] == name and r["verdict"] != verdict.NOT_JUDGED]
        if mine:
            v, why = verdict.hypothesis_verdict(mine)
            record["hypotheses"][name] = {"claim": catalog.HYPOTHESES[name], "verdict": v, "why": why}
    record["target"] = target(rows)
    record["root_cause"] = root_cause(record)
    return record


#: row fields of older records that no rule reads any more
_RETIRED = ("fisher_p", "toward_one", "for_hypothesis", "differs", "matches")


def rejudge(record: dict, commit: str | None = None) -> tuple[dict, list[dict]]:
    """``record`` judged again from its stored per-seed measurements (nothing trains), and the
    verdicts that changed since it was first judged: ``{"level": "hypothesis"|"row", "name", "old",
    "new"}``. The first verdicts are kept under ``rejudged.before``, so judging again is idempotent."""
    before = record.get("rejudged", {}).get("before") or {
        "hypotheses": {h: d["verdict"] for h, d in record.get("hypotheses", {}).items()},
        "rows": {f"{r['key']} ({r['pipeline']})": f"{r['verdict']} [{r['hypothesis']}]" for r in record["rows"]}}
    for r in record["rows"]:
        for k in _RETIRED:
            r.pop(k, None)
    judge_record(record)
    now = {"hypotheses": {h: d["verdict"] for h, d in record["hypotheses"].items()},
           "rows": {f"{r['key']} ({r['pipeline']})": f"{r['verdict']} [{r['hypothesis']}]" for r in record["rows"]}}
    changes = [{"level": {"hypotheses": "hypothesis", "rows": "row"}[level], "name": name,
                "old": before[level].get(name, "–"), "new": now[level].get(name, "–")}
               for level in ("hypotheses", "rows") for name in dict.fromkeys([*before[level], *now[level]])]
    changes = [c for c in changes if c["old"] != c["new"]]
    record["rejudged"] = {"at": datetime.now(UTC).isoformat(timespec="seconds"),
                          "commit": commit or provenance.git_state()["sha"] or "unknown",
                          "before": before, "changed": changes}
    return record, changes


def _measured(run: dict) -> dict | None:
    """The covered-window metrics of a run (None for a failed one), its gauge-corrected ratio
    taken with the gauge at the start (:func:`.predict.start_gauge`): the same for a constant
    scale; for the trainable scale, a drift of exp(log_scale) stays in the ratio it rescales."""
    if run.get("failure"):
        return None
    metrics = dict(predict.scored(run))
    metrics["gauge_corrected_ratio"] = metrics["amplitude_ratio"] / predict.start_gauge(run)
    return metrics


def _effects(base_values: list[dict | None], values: list[dict | None], predictions: list[dict]) -> dict:
    out = {}
    for q in predict.QUANTITIES:
        diffs = [(v[q] - b[q]) if (v and b) else math.nan for b, v in zip(base_values, values)]
        out[q] = {
            "baseline": verdict.summary([b[q] if b else math.nan for b in base_values]),
            "intervention": verdict.summary([v[q] if v else math.nan for v in values]),
            "paired_differences": diffs,
            "measured": verdict.summary(diffs),
            "predicted_values": [p["predicted"][q] if p else math.nan for p in predictions],
            "predicted": verdict.summary([p["effect"][q] if p else math.nan for p in predictions]),
        }
    return out


def _row(key: str, pipeline: str, base_values, values, predictions, seeds) -> dict:
    """One row's measurements; :func:`judge_record` adds its verdict."""
    intervention = catalog.get(key)
    base_collapsed = [verdict.collapsed(b) for b in base_values]
    # coverage rescores the baseline's own run: its collapse is the baseline's (a whole-frame
    # pearson runs over uncovered zeros)
    int_collapsed = base_collapsed if intervention.variant is None else [verdict.collapsed(v) for v in values]
    return {
        "key": key, "pipeline": pipeline, "hypothesis": intervention.hypothesis, "change": intervention.change,
        "config": intervention.config, "recorded": intervention.recorded, "seeds": seeds,
        "effects": _effects(base_values, values, predictions),
        "collapsed_baseline": base_collapsed, "collapsed": int_collapsed,
        "predictions": predictions,
    }


def _complete(prediction: dict | None, base: dict | None) -> dict | None:
    """A prediction with the raw ratio, ``gauge_after`` × the predicted gauge-corrected ratio,
    where it was written before the raw ratio was predicted too (the same arithmetic)."""
    if not prediction or not base or "amplitude_ratio" in prediction["predicted"]:
        return prediction
    raw = prediction["gauge_after"] * prediction["predicted"]["gauge_corrected_ratio"]
    return {**prediction, "predicted": {**prediction["predicted"], "amplitude_ratio": raw},
            "effect": {**prediction["effect"], "amplitude_ratio": raw - base["amplitude_ratio"]}}


def measured_row(key: str, pipeline: str, base_runs, runs) -> dict:
    """One intervention in one pipeline: its predictions (made before it trained) and its runs."""
    predictions = [_complete(r.get("prediction"), _measured(b)) for (r, _), (b, _) in zip(runs, base_runs)]
    return _row(key, pipeline, [_measured(r) for r, _ in base_runs], [_measured(r) for r, _ in runs],
                predictions, [r["seed"] for r, _ in base_runs])


def coverage_row(key: str, pipeline: str, base_runs, profile) -> dict:
    """The coverage "intervention": the baseline's own prediction scored on the whole object
    frame with :data:`.catalog.COVERAGE_GROUPS` test groups (zeros count) instead of its covered
    pixels. Its "prediction" (the measured ratio times the covered share of the truth) is an
    identity, kept as a description: the row is not judged (:mod:`.catalog`)."""
    obj = objects.make_lines_objects(profile.modern_size, 1, modern.OBJECT_SEED)[0].astype(np.float64)
    base_values, values, predictions = [], [], []
    for run, arrays in base_runs:
        measured = _measured(run)
        base_values.append(measured)
        if measured is None or not arrays:
            values.append(None), predictions.append(None)
            continue
        gauge = predict.start_gauge(run)
        seed = run["seed"]
        p, t = rows_mod.simlines_window(arrays, catalog.COVERAGE_GROUPS, seed, obj)
        values.append({"gauge_corrected_ratio": float(p.mean() / t.mean()) / gauge,
                       "amplitude_ratio": float(p.mean() / t.mean()),
                       "head_saturation": measured["head_saturation"],
                       "pearson": float(np.corrcoef(p.ravel(), t.ravel())[0, 1])})
        ones = {"trimmed": np.ones_like(arrays["trimmed"], dtype=np.float32), "test_centres": arrays["test_centres"]}
        mask = rows_mod.simlines_window(ones, catalog.COVERAGE_GROUPS, seed, obj)[0] > 0
        base = predict.baseline_view(run, arrays)
        model = np.where(mask, np.minimum(base["gauge"] * t, base["ceiling"]), 0.0)
        covered_share = t[mask].sum() / t.sum()
        predicted = {"gauge_corrected_ratio": measured["gauge_corrected_ratio"] * covered_share,
                     "amplitude_ratio": measured["amplitude_ratio"] * covered_share,
                     "head_saturation": measured["head_saturation"],
                     "pearson": float(np.corrcoef(model.ravel(), t.ravel())[0, 1])}
        predictions.append({"predicted_at": datetime.now(UTC).isoformat(timespec="seconds"),
                            "covered_fraction": float(mask.mean()), "predicted": predicted,
                            "effect": {q: predicted[q] - measured[q] for q in predict.QUANTITIES}})
    return _row(key, pipeline, base_values, values, predictions, [r["seed"] for r, _ in base_runs])


def strict_json(value):
    """``value`` with NumPy scalars made Python ones and non-finite floats made None (JSON has
    no NaN or Infinity)."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def target(rows: list[dict]) -> dict:
    """Interventions whose median modern run is within 10% of a gauge-corrected ratio of 1 with
    pearson ≥ 0.5 (the issue's bar)."""
    hits = []
    for r in rows:
        if r["pipeline"] == "legacy" or r["key"] == "coverage":
            continue
        ratio = r["effects"]["gauge_corrected_ratio"]["intervention"]["median"]
        pearson = r["effects"]["pearson"]["intervention"]["median"]
        if _finite(ratio) and _finite(pearson) and abs(ratio - 1) <= verdict.TARGET_RATIO \
                and pearson >= verdict.TARGET_PEARSON:
            hits.append({"key": r["key"], "pipeline": r["pipeline"], "ratio": ratio, "pearson": pearson})
    return {"met": bool(hits), "hits": hits}


def _finite(v) -> bool:
    """A finite number (a record read back from strict JSON has None for NaN)."""
    return isinstance(v, (int, float)) and math.isfinite(v)


def _fmt(v, digits=3) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _movement(r: dict) -> str:
    q = r["effects"]["gauge_corrected_ratio"]
    what = ("scoring the whole object frame with 64 test groups (zeros count) took the gauge-corrected ratio"
            if r["key"] == "coverage" else f"{r['key']} in {r['pipeline']} moved the gauge-corrected ratio")
    return (f"{what} from {_fmt(q['baseline']['median'])} to {_fmt(q['intervention']['median'])} "
            f"(predicted {_pred(q)}; {r['verdict']}), "
            f"pearson {_fmt(r['effects']['pearson']['baseline']['median'])} -> "
            f"{_fmt(r['effects']['pearson']['intervention']['median'])}")


def root_cause(record: dict) -> str:
    """The paragraph the verdicts support, generated from them (every sentence reads the record)."""
    hyp, rows = record["hypotheses"], record["rows"]
    by = {v: [h for h, d in hyp.items() if d["verdict"] == v] for v in verdict.VERDICTS}

    def rows_of(h, *verdicts):
        return "; ".join(_movement(r) for r in rows if r["hypothesis"] == h and r["verdict"] in verdicts)

    parts = [f"The experiments support {h} ({hyp[h]['claim']}): every intervention that predicted an effect "
             f"landed within τ of it: {rows_of(h, 'supported')}." for h in by["supported"]]
    if not by["supported"]:
        parts.append("The experiments support no hypothesis: none had every intervention that tests it land within "
                     "τ of its prediction.")
    for h in by["contradicted"]:
        parts.append(f"They contradict the account of {h} ({hyp[h]['claim']}): {rows_of(h, 'contradicted')}.")
    if by["ruled out"]:
        parts.append("They rule out " + ", ".join(by["ruled out"]) + ": no effect where none was predicted, "
                     "on a baseline free to move.")
    if by[verdict.PINNED]:
        parts.append("Not testable behind the pinned baseline (every baseline seed at the head's ceiling holds the "
                     "ratio, and pearson, saturation, output level and collapse did not move either): "
                     + ", ".join(by[verdict.PINNED]) + ".")
    if by["inconclusive"]:
        parts.append("Not settled at these seeds: " + "; ".join(f"{h} ({hyp[h]['why']})" for h in by["inconclusive"]) + ".")
    cover = [r for r in rows if r["verdict"] == verdict.NOT_JUDGED]
    if cover:
        parts.append("Coverage is not judged (the whole-frame ratio is the covered ratio times the covered share of "
                     "the truth, an identity): " + "; ".join(_movement(r) for r in cover) + ".")
    t = record["target"]
    if t["met"]:
        parts.append("Within 10% of a ratio of 1 with pearson >= 0.5: " + ", ".join(
            f"{h['key']} ({h['pipeline']}: {h['ratio']:.3f}, pearson {h['pearson']:.3f})" for h in t["hits"]) + ".")
    else:
        parts.append("No intervention brought a modern run within 10% of a ratio of 1 with pearson >= 0.5.")
    return " ".join(parts)


def _pred(quantity: dict) -> str:
    """The median predicted value of a quantity over seeds."""
    values = [v for v in quantity["predicted_values"] if v is not None and math.isfinite(v)]
    return _fmt(float(np.median(values)) if values else math.nan)


def markdown(record: dict) -> str:
    p = record["profile"]
    lines = [
        f"# Interventions: {p['name']} profile, seeds {', '.join(map(str, record['seeds']))}", "",
        f"Command: `{record['command']}`  ", f"Commit: {record['commit']}{' (dirty)' if record['dirty'] else ''}  ",
        f"Machine: {record['cpu']}  ", f"Written: {record['written']}; the pass took {record['pass_seconds']:.0f} s "
        "(runs already on disk are not retrained)", *_rejudged(record), "",
        "## Root cause, as the verdicts support it", "", record["root_cause"], "",
        "## Hypotheses", "", "| hypothesis | claim | verdict | why |", "|---|---|---|---|",
    ]
    for h, d in record["hypotheses"].items():
        lines.append(f"| {h} | {d['claim']} | **{d['verdict']}** | {d['why']} |")
    lines += ["", "## Interventions", "",
              "Gauge-corrected ratio on the covered window (median over seeds); effect = median of the paired "
              "differences (range); predicted before the run from the baseline's decomposition; τ: the row's "
              "tolerance, corrected for the k rows of its hypothesis (src/ptychobench/interventions/verdict.py). "
              "Collapse: pearson < 0.5 or failed (reported; a diverged seed contradicts the row).", "",
              "| hypothesis | intervention | pipeline | baseline | intervention | predicted effect | measured effect | "
              "τ (k) | raw ratio (base → int.) | pearson (base → int.) | saturation (base → int.) | collapsed | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in record["rows"]:
        e = r["effects"]
        q, raw, pe, sa = e["gauge_corrected_ratio"], e["amplitude_ratio"], e["pearson"], e["head_saturation"]
        lines.append(
            f"| {r['hypothesis']} | {r['key']} | {r['pipeline']} | {_fmt(q['baseline']['median'])} | "
            f"{_fmt(q['intervention']['median'])} | {_fmt(q['predicted']['median'], 3)} | "
            f"{_fmt(q['measured']['median'])} ({_fmt(q['measured']['min'])} to {_fmt(q['measured']['max'])}) | "
            f"{_fmt(r['tolerance'])} ({r['family_size']}) | "
            f"{_fmt(raw['baseline']['median'])} → {_fmt(raw['intervention']['median'])} (pred. {_pred(raw)}) | "
            f"{_fmt(pe['baseline']['median'])} → {_fmt(pe['intervention']['median'])} (pred. {_pred(pe)}) | "
            f"{_fmt(sa['baseline']['median'])} → {_fmt(sa['intervention']['median'])} | "
            f"{sum(r['collapsed_baseline'])}/{len(r['collapsed_baseline'])} → {sum(r['collapsed'])}/{len(r['collapsed'])} | "
            f"**{r['verdict']}**: {r['why']} |")
    lines += ["", "## What each intervention changes", "", "| intervention | hypothesis | change | configuration | recorded |",
              "|---|---|---|---|---|"]
    for k, i in record["interventions"].items():
        lines.append(f"| {k} | {i['hypothesis']} | {i['change']} | {i['config']} | {i['recorded']} |")
    lines += ["", "## Runs", "", "| run | wall s per seed |", "|---|---|"]
    for k, secs in record["wall_seconds"].items():
        lines.append(f"| {k} | " + ", ".join(f"{s:.0f}" if s else "–" for s in secs) + " |")
    return "\n".join(lines) + "\n"


def _rejudged(record: dict) -> list[str]:
    """The markdown lines saying the record was judged again, and what changed."""
    r = record.get("rejudged")
    if not r:
        return []
    lines = ["", f"Judged again at {r['at']} (commit {r['commit']}) under the current rules, from the stored per-seed "
             "measurements (nothing retrained). Verdicts that changed since the record was written:", "", "| level | what | before | now |",
             "|---|---|---|---|"]
    return lines + [f"| {c['level']} | {c['name']} | {c['old']} | {c['new']} |" for c in r["changed"]]


def figure(record: dict, path: Path) -> None:
    """Predicted against measured effect on the gauge-corrected ratio, one point per
    intervention and pipeline (median; bars: the range over seeds), the diagonal for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def finite(r):
        q = r["effects"]["gauge_corrected_ratio"]
        return all(_finite(q[k][s]) for k in ("measured", "predicted") for s in ("median", "min", "max"))

    rows = [r for r in record["rows"] if finite(r) and r["verdict"] != verdict.NOT_JUDGED]
    effects = [r["effects"]["gauge_corrected_ratio"] for r in rows]
    lims = [min([-0.05] + [min(q["predicted"]["min"], q["measured"]["min"]) for q in effects]),
            max([0.05] + [max(q["predicted"]["max"], q["measured"]["max"]) for q in effects])]
    pad = 0.05 * (lims[1] - lims[0])
    lims = [lims[0] - pad, lims[1] + pad]
    near = 0.06 * (lims[1] - lims[0])  # points closer than this share one stack of labels
    fig, ax = plt.subplots(figsize=(7.5, 6), layout="constrained")
    colors = {v: f"C{i}" for i, v in enumerate(verdict.VERDICTS)}
    stacks = {}  # label anchor -> labels already there
    for r, q in sorted(zip(rows, effects), key=lambda rq: -rq[1]["measured"]["median"]):
        x, y = q["predicted"]["median"], q["measured"]["median"]
        ax.errorbar(x, y, xerr=[[x - q["predicted"]["min"]], [q["predicted"]["max"] - x]],
                    yerr=[[y - q["measured"]["min"]], [q["measured"]["max"] - y]],
                    fmt="o" if r["pipeline"] != "gs1_ideal" else "s", color=colors[r["verdict"]], ms=6, capsize=3)
        anchor = next((a for a in stacks if abs(a[0] - x) < near and abs(a[1] - y) < 4 * near), (x, y))
        stacks.setdefault(anchor, 0)
        ax.annotate(f"{r['key']} ({r['pipeline'].replace('_ideal', '')})", anchor, fontsize=7,
                    xytext=(8, 3 - 9 * stacks[anchor]), textcoords="offset points")
        stacks[anchor] += 1
    ax.plot(lims, lims, color="0.6", lw=0.8, ls="--", label="measured = predicted")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    for v, c in colors.items():
        ax.plot([], [], "o", color=c, label=v)
    ax.set_xlim(lims)
    ax.set_ylim(lims)
    ax.set_xlabel("predicted effect on the gauge-corrected ratio (from the baseline's decomposition)")
    ax.set_ylabel("measured effect (median of paired differences; bars: range over seeds)")
    ax.set_title(f"Interventions, {record['profile']['name']} profile, {len(record['seeds'])} seeds "
                 "(circles gs2 / legacy, squares gs1)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    atomic_save_figure(fig, path, dpi=110)


def prose(record: dict) -> str:
    """The verdict sentences for the docs, generated from the record: one per hypothesis, then the
    root-cause paragraph."""
    lines = [f"- **{h}: {d['verdict']}.** {d['why']}." for h, d in record["hypotheses"].items()]
    return "\n".join(lines + ["", record["root_cause"]])


def _markers(path: str) -> tuple[str, str]:
    return (f"<!-- generated from {path} by `ptychobench intervene --rejudge {path} --prose`; do not edit -->",
            f"<!-- end of what {path} generated -->")


def update_prose(text: str, path: str, record: dict) -> str:
    """``text`` (a markdown document) with the block generated from the record at ``path`` replaced
    by :func:`prose` of ``record``; the block's markers must be there."""
    begin, end = _markers(path)
    if begin not in text or end not in text:
        raise ValueError(f"no generated block for {path} (markers {begin!r} … {end!r})")
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{prose(record)}\n{end}{rest.split(end, 1)[1]}"


def write_report(record: dict, folder: Path, stem: str = "interventions") -> Path:
    """``STEM.json``, ``STEM.md`` and ``STEM.png`` in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / f"{stem}.json", json.dumps(strict_json(record), indent=1, allow_nan=False) + "\n")
    atomic_write_text(folder / f"{stem}.md", markdown(record))
    figure(record, folder / f"{stem}.png")
    return folder / f"{stem}.md"
