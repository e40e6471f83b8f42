"""Write a parity report folder: JSON + Markdown + HTML + PNG figures.

``index.html`` is rendered from the Jinja2 template ``templates/report.html.j2``; every
Markdown file of the report (``index.md``, the per-check ``*.md``) is kept for terminals and
diffs, and each per-check one gets an HTML sibling rendered by markdown-it-py. Figures come
from :mod:`.figures`.

The folder is assembled under a hidden temporary name and renamed into place when it is
complete, so an interrupted run never leaves a half-written report, and earlier reports
are never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import jinja2
import numpy as np
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..atomic import atomic_write_text
from ..errors import DataError
from ..stages import STAGE_MEANING
from . import figures
from .checks import LOSS_KEYS
from .explain import FACTORS, explain_text, hypotheses

GAUGE_NOTE = (
    "Gauge: a physics-consistent reconstruction is Ô = G·O with G = (object normalisation) × "
    "(diffraction gain g) × s_c / exp(log_scale). `gauge_corrected_ratio` = amplitude_ratio / G "
    "(1 is perfect); `amplitude_bias` = |ln gauge_corrected_ratio|; `amplitude_ratio` is measured "
    "on covered pixels only, in raw object units."
)


def to_json(obj) -> str:
    return json.dumps(obj, indent=2, default=_jsonable) + "\n"


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"<array {value.shape} {value.dtype}>"
    return str(value)


def _cell(value) -> str:
    """A Markdown table cell: pipes inside the text are escaped."""
    return str(value).replace("|", "\\|")


def _md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return str(x) if not np.isfinite(x) else f"{x:.4g}"
    if isinstance(x, (list, tuple)) and len(x) == 2 and all(isinstance(v, float) for v in x):
        return f"[{_fmt(x[0])}, {_fmt(x[1])}]"  # a band
    return str(x)


def _rows_md(check) -> str:
    return _md_table(["comparison", "value", "limit", "tolerance", ""],
                     [[r["what"], _fmt(r["value"]), _fmt(r["limit"]), r["tolerance"], "ok" if r["passed"] else "FAIL"]
                      for r in check.rows])


def _loss_config_files(check) -> dict:
    d = check.details
    dose, eff, dflt = d["dose_loss_weights"], d["effective"], d["defaults"]
    md = ["# Loss configuration parity\n", "## Legacy params.cfg framework defaults vs TrainingConfig\n",
          _md_table(["key", "params.cfg", "TrainingConfig"],
                    [[k, dflt["params_cfg"][k], dflt["TrainingConfig"][k]] for k in LOSS_KEYS]),
          "\n## Dose recipe runtime snapshots\n",
          _md_table(["loss_fn", *LOSS_KEYS], [[fn, *[dose[fn][k] for k in LOSS_KEYS]] for fn in dose]),
          "\n## Weights each pipeline trains with\n",
          _md_table(["pipeline", *LOSS_KEYS], [[p, *[eff[p][k] for k in LOSS_KEYS]] for p in eff]),
          "\n## Comparisons\n", _rows_md(check)]
    return {"legacy_params_cfg_defaults.json": to_json(d["legacy_params_cfg_defaults"]),
            "loss_config_diff.md": "".join(md),
            "loss_config_diff.json": to_json({k: v for k, v in d.items() if k != "legacy_params_cfg_defaults"}),
            "dose_loss_weights.json": to_json(dose)}


def _config_files(check) -> dict:
    d = check.details
    head = ["key", "legacy", "modern", "documented", "why"]
    md = ["# Configuration parity\n", "## Framework defaults (legacy DEFAULT_CFG vs dataclasses)\n",
          _md_table(head, [[r[k] for k in ("key", "legacy", "modern", "documented", "why")] for r in d["defaults"]]),
          "\n## Bridged legacy dict after set-up (dose recipe vs sim-lines + update_legacy_dict)\n",
          _md_table(head, [[r[k] for k in ("key", "legacy", "modern", "documented", "why")] for r in d["runtime"]]),
          "\n## Every key against the original's tables\n", _rows_md(check)]
    return {"config_diff.md": "".join(md), "config_diff.json": to_json(d)}


def stage_rows(details: dict) -> list:
    """The stage table of the normalization check: one dict per stage of the legacy chain.

    Keys: stage, legacy_meaning, legacy_mean, legacy_ratio, modern_meaning, modern_mean,
    modern_ratio, deviation (``|ln(r_legacy/r_modern)|``), primary (bool); None where absent.
    """
    tables_, ratios, deviations = details["stages"], details["ratios"], details["deviations"]
    means = {p: {r["name"]: r["mean"] for r in tables_[p]} for p in ("legacy", "modern")}
    same = {p: {r["name"]: r.get("scale_factors", {}).get("same_as") for r in tables_[p]} for p in ("legacy", "modern")}

    def meaning(p, i, s):
        text = STAGE_MEANING[s][i]
        return f"{text} (the array of {same[p][s]}: no such step)" if same[p].get(s) else text

    return [{"stage": s, "legacy_meaning": meaning("legacy", 0, s), "legacy_mean": means["legacy"].get(s),
             "legacy_ratio": ratios["legacy"]["ratios"].get(s), "modern_meaning": meaning("modern", 1, s),
             "modern_mean": means["modern"].get(s), "modern_ratio": ratios["modern"]["ratios"].get(s),
             "deviation": deviations.get(s), "primary": s == details["primary_deviation_source"]}
            for s in means["legacy"]]


def _stage_files(check) -> dict:
    d = check.details
    keys = ("stage", "legacy_meaning", "legacy_mean", "legacy_ratio", "modern_meaning", "modern_mean",
            "modern_ratio", "deviation")
    md = ["# Stage ratios (legacy vs modern)\n",
          "ratio = mean(stage k) / mean(stage k-1); evaluated on each pipeline's test split.\n\n",
          _md_table(["stage", "legacy", "mean", "ratio", "modern", "mean", "ratio", "|ln(r_L/r_M)|"],
                    [[_fmt(r[k]) for k in keys] for r in stage_rows(d)]),
          f"\nChain product: legacy {_fmt(d['ratios']['legacy']['chain_product'])}, "
          f"modern {_fmt(d['ratios']['modern']['chain_product'])}.\n",
          f"\n**Primary deviation source: `{d['primary_deviation_source']}`**\n\n## Comparisons\n",
          _rows_md(check)]
    return {"stage_ratios.json": to_json(d), "stage_ratios.md": "".join(md)}


def _architecture_files(check) -> dict:
    d = check.details

    def cell(entry):
        return "–" if entry is None else f"{list(entry[0])} / {entry[1]:,}"

    rows = [[r["layer"], cell(r.get("legacy")), cell(r.get("DE")), cell(r.get("modern")), cell(r.get("M"))]
            for r in d["layers"]]
    c = d["param_counts"]
    md = ["# Architecture parity\n\nEvery block's output shape / parameters, ours beside the original's "
          "(DE dose_experiments for legacy, M main for modern; `reference.original_blocks`).\n\n",
          _md_table(["block", "legacy", "original (DE)", "modern", "original (M)"], rows),
          f"\nTrainable parameters: legacy {c['legacy']['trainable']:,} (original {c['legacy']['original']}), "
          f"modern {c['modern']['trainable']:,} (original {c['modern']['original']}) "
          f"(amplitude head: legacy {d['amp_head_channels']['legacy']} channel(s), modern "
          f"{d['amp_head_channels']['modern']}; documented: {d['amp_head_why']}).\n\n## Comparisons\n",
          _rows_md(check)]
    return {"architecture_diff.md": "".join(md), "architecture.json": to_json(d)}


_CHECK_FILES = {
    "loss_config": _loss_config_files,
    "config": _config_files,
    "data": lambda c: {"data_parity.json": to_json(c.details)},
    "normalization": _stage_files,
    "architecture": _architecture_files,
    "training_params": lambda c: {"training_params.json": to_json(c.details)},
    "amplitude": lambda c: {"amplitude.json": to_json(c.details)},
    "recorded_numbers": lambda c: {"recorded_numbers.json": to_json(c.details)},
}


def recorded_rows(check) -> list:
    """The recorded-numbers check's rows as display strings (what, recorded, ours, ratio, tolerance, verdict, source)."""
    return [{"what": r["what"], "recorded": f"{r['recorded']:g}",
             "ours": "–" if r["ours"] is None else f"{r['ours']:.6g}",
             "ratio": "–" if r["ratio"] is None else f"{r['ratio']:.5f}",
             "tolerance": "–" if r["tolerance_rel"] is None else f"±{r['tolerance_rel']:.2g}",
             "verdict": r["verdict"], "source": r["source"]} for r in check.details["rows"]]


def _recorded_markdown(check) -> list:
    keys = ("what", "recorded", "ours", "ratio", "tolerance", "verdict", "source")
    return ["\n## Recorded numbers of the original investigation\n",
            _md_table(["quantity", "recorded", "ours", "ours/recorded", "tolerance", "verdict", "source"],
                      [[r[k] for k in keys] for r in recorded_rows(check)])]


def check_artifacts(check) -> dict:
    """File name -> text of every artifact ``check`` contributes to a report.

    Each Markdown file gets an HTML sibling (same stem) rendered by :func:`markdown_page`.
    """
    files = {f"check_{check.name}.json": to_json({"name": check.name, "passed": check.passed,
                                                  "reference": check.reference, "problems": check.problems,
                                                  "rows": check.rows})}
    render = _CHECK_FILES.get(check.name)
    if render is not None and check.details:
        files.update(render(check))
    for name in [n for n in files if n.endswith(".md")]:
        files[name[:-3] + ".html"] = markdown_page(files[name], name)
    return files


# --- HTML -------------------------------------------------------------------------------------------------

MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("ptychobench.parity", "templates"),
                               autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                               lstrip_blocks=True)
TEMPLATES.filters["fmt"] = _fmt
TEMPLATES.filters["md"] = lambda text: Markup(MARKDOWN.renderInline(text))


def markdown_page(md: str, source: str) -> str:
    """A Markdown document as a standalone HTML page (title: its first heading) linking back to index.html."""
    heading = next((line.lstrip("#").strip() for line in md.splitlines() if line.startswith("#")), source)
    return TEMPLATES.get_template("page.html.j2").render(title=heading, source=source,
                                                         body=Markup(MARKDOWN.render(md)))


#: ``(file-name pattern, description)``: what each file of a report holds ({0}: the pattern's group)
ARTIFACTS = (
    (r"index\.md", "this report as Markdown (for terminals and diffs)"),
    (r"checks\.json", "every check: verdict, reference, the row that decided it, problems"),
    (r"check_(.+)\.json", "check {0}: verdict, reference, problems and every comparison row"),
    (r"run_(.+)\.json", "run {0}: configuration, scale factors, stage table, metrics, training history, provenance"),
    (r"arrays_(.+)\.npz", "run {0}: stitched object (complex), truth amplitude, covered-pixel mask"),
    (r"loss_config_diff\.(md|html|json)", "loss weights: params.cfg defaults vs TrainingConfig, the dose "
                                            "recipe's snapshots, the weights each pipeline trains with"),
    (r"legacy_params_cfg_defaults\.json", "the legacy params.cfg defaults as captured at run time"),
    (r"dose_loss_weights\.json", "loss weights of the dose recipe's runtime snapshot per loss_fn"),
    (r"config_diff\.(md|html|json)", "configuration: framework defaults and the bridged legacy dict, "
                                       "every key against the original's tables"),
    (r"data_parity\.json", "data check: simulated data against the original arrays and the other pipeline"),
    (r"stage_ratios\.(md|html|json)", "stage tables of both pipelines, ratios, deviations, primary deviation source"),
    (r"architecture(_diff)?\.(md|html|json)", "layer by layer: shapes and parameter counts of both models"),
    (r"training_params\.json", "training parameters of both pipelines against the original's"),
    (r"amplitude\.json", "amplitude check: ratios, gauges and the physics' prediction per pipeline"),
    (r"recorded_numbers\.json", "ours against every number the original investigation recorded"),
    (r"seeds\.json", "median, spread and collapse rate over seeds"),
    (r"explain\.json", "the explain decomposition per run (read by ptychobench explain --report)"),
    (r"dose_ladder\.json", "metrics of both pipelines at each dose of the profile's ladder"),
)


def describe(name: str, captions: dict | None = None) -> str:
    """One line on what the report file ``name`` holds (a figure: its caption)."""
    if captions and name in captions:
        return captions[name]
    for pattern, text in ARTIFACTS:
        match = re.fullmatch(pattern, name)
        if match:
            return text.format(*match.groups())
    return "(undescribed)"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def artifact_rows(folder: Path, captions: dict) -> list:
    """``[{name, size, description}]`` for every file in ``folder`` but index.html, sorted."""
    return [{"name": p.name, "size": _size(p.stat().st_size), "description": describe(p.name, captions)}
            for p in sorted(Path(folder).iterdir()) if p.is_file() and p.name != "index.html"
            and not p.name.startswith(".")]


def new_report_dir(root: Path) -> tuple[Path, Path]:
    """(temporary folder to fill, final folder name) under ``root``."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(str(root), f"cannot create the report folder: {err.strerror}") from None
    if not os.access(root, os.W_OK):
        raise DataError(str(root), "report folder is not writable")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    final = root / f"parity-{stamp}"
    n = 1
    while final.exists():
        n += 1
        final = root / f"parity-{stamp}-{n}"
    tmp = root / f".incomplete-{final.name}-{os.getpid()}"
    tmp.mkdir()
    return tmp, final


def _state_in_words(run) -> str:
    """'reconstructs' or 'collapsed', with the pearson and head saturation that say so."""
    from .runner import COLLAPSE_PEARSON

    m = run.metrics
    pearson, sat = m.get("pearson", float("nan")), m.get("head_saturation", float("nan"))
    if np.isfinite(pearson) and pearson >= COLLAPSE_PEARSON:
        return f"reconstructs: pearson {pearson:.3f}, head saturated on {100 * sat:.0f}% of the object"
    why = " (the sigmoid sits at its ceiling, so the gradient vanishes)" if sat >= 0.5 else ""
    return f"collapsed: pearson {pearson:.3f} (< {COLLAPSE_PEARSON}), head saturated on {100 * sat:.0f}% of the object{why}"


def runner_metrics():
    from .runner import SEED_METRICS

    return SEED_METRICS


AMPLITUDE_KEYS = ("coverage", "amplitude_ratio", "amplitude_ratio_ls", "expected_gauge", "gauge_corrected_ratio",
                  "amplitude_bias", "head_saturation", "pearson", "ssim", "psnr", "frc50")


def _scale_words(variant: str) -> str:
    return ("faithful: exp(log_scale) never trains, as in the original runs" if variant == "constant"
            else "named variant: exp(log_scale) trains")


def _run_words(run) -> str:
    """One line on a run: its state, epochs, speed and size, or why it failed."""
    t = run.training
    if not t:
        return f"FAILED — {run.failure}"
    return (f"{_state_in_words(run)}; {t['epochs_run']} epochs, {t['samples_per_second']:.1f} groups/s (after the "
            f"first epoch), {run.trainable_params:,} trainable parameters")


def _amplitude_rows(runs: dict) -> list:
    """``[{metric, cells}]``: one row per :data:`AMPLITUDE_KEYS` entry, one value per run (None: failed)."""
    return [{"metric": k, "cells": [None if r.failure else r.metrics.get(k, float("nan")) for r in runs.values()]}
            for k in AMPLITUDE_KEYS]


def _seed_rows(summary: dict) -> list:
    return [{"pipeline": pipeline, "cells": [e[k] for k in runner_metrics()], "collapse_rate": e["collapse_rate"],
             "threshold": e["collapse_threshold"]} for pipeline, e in summary.items()]


def _explain_head(e: dict) -> str:
    """The explain entry's headline: measured ratio and what the amplitude head was asked for."""
    text = (f"Measured window ratio {e['naive_window_ratio']:.4g} (the truth is {1 / e['naive_window_ratio']:.2f}× "
            f"the reconstruction). The head was asked for a mean amplitude of {e['head_demand_mean']:.3g}, "
            f"{100 * e['head_demand_over_ceiling']:.1f}% of pixels above its ceiling {e['head_ceiling']}; "
            f"{100 * e['head_saturation']:.1f}% of its predicted amplitudes lie within 1% of it.")
    if e["head_demand_over_ceiling"] > 0.25:
        text += (" The gauge asks the bounded head for values above its ceiling: it saturates and the "
                 "reconstruction undershoots by the clip factor (and stops learning).")
    return text


def _check_links(names) -> list:
    """The files of one check a reader opens from the checks table: HTML pages, then its JSON files."""
    return sorted((n for n in names if n.endswith((".html", ".json"))),
                  key=lambda n: (n.endswith(".json"), not n.startswith("check_"), n))


def index_context(outcome, captions: dict, artifacts: list, check_files: dict) -> dict:
    """Everything ``report.html.j2`` shows, as plain values (numbers are formatted by the template).

    ``captions``: figure file -> caption; ``artifacts``: :func:`artifact_rows`; ``check_files``:
    check name -> the names of the files it wrote.
    """
    norm = next((c for c in outcome.checks if c.name == "normalization" and c.details), None)
    rec = next((c for c in outcome.checks if c.name == "recorded_numbers" and c.details), None)
    summary = outcome.seed_summary()
    return {
        "title": f"parity {outcome.profile.name}: {'PASS' if outcome.passed else 'FAIL'}",
        "passed": outcome.passed, "n_passed": sum(c.passed for c in outcome.checks),
        "profile": outcome.profile.name, "seed": outcome.seed, "seeds": max(len(outcome.seed_runs), 1),
        "scale_variant": outcome.profile.scale_variant,
        "scale_words": f"Intensity scale {outcome.profile.scale_variant}: {_scale_words(outcome.profile.scale_variant)}.",
        "skipped": outcome.skipped, "gauge_note": GAUGE_NOTE,
        "runs": [{"name": n, "words": _run_words(r)} for n, r in outcome.runs.items()],
        "checks": [{"name": c.name, "passed": c.passed, "reference": c.reference, "decided_by": c.decided_by,
                    "problems": c.problems, "links": _check_links(check_files[c.name])} for c in outcome.checks],
        "stages": None if norm is None else {
            "rows": stage_rows(norm.details), "primary": norm.details["primary_deviation_source"],
            "chain": {p: norm.details["ratios"][p]["chain_product"] for p in ("legacy", "modern")}},
        "amplitude": {"runs": list(outcome.runs), "rows": _amplitude_rows(outcome.runs)} if outcome.runs else None,
        "explain_factors": [{"key": k, "label": label, "meaning": meaning} for k, label, meaning in FACTORS],
        "explain": [{"pipeline": e["pipeline"], "numbers": e, "head": _explain_head(e), "hypotheses": hypotheses(e)}
                    for e in outcome.explanations.values()],
        "seed_metrics": runner_metrics(), "seed_rows": _seed_rows(summary),
        "dose_rows": outcome.dose_ladder,
        "recorded": recorded_rows(rec) if rec is not None else [],
        "figures": captions, "artifacts": artifacts,
        "written": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def index_html(context: dict) -> str:
    return TEMPLATES.get_template("report.html.j2").render(**context)


def _index_markdown(outcome, captions: dict, artifacts: list) -> str:
    lines = [f"# ptychobench parity report — profile `{outcome.profile.name}`, seed {outcome.seed}\n",
             f"**Result: {'PASS' if outcome.passed else 'FAIL'}**\n", GAUGE_NOTE + "\n",
             f"Intensity scale: `{outcome.profile.scale_variant}` ({_scale_words(outcome.profile.scale_variant)}). "
             "Modern `gs2_ideal` is compared with the legacy dose recipe stage by stage; `modern_gs1_ideal` "
             "is the gridsize-1 sim-lines scenario.\n"]
    lines += [f"- {line}" for line in outcome.skipped]
    lines.append("\n## Checks\n")
    lines.append(_md_table(["check", "verdict", "compared with", "decided by"],
                           [[c.name, "PASS" if c.passed else "FAIL", c.reference, c.decided_by]
                            for c in outcome.checks]))
    for c in outcome.checks:
        if len(c.problems) > 1:
            lines.append(f"\n### {c.name}: problems\n")
            lines += [f"- {p}" for p in c.problems]
    rec = next((c for c in outcome.checks if c.name == "recorded_numbers" and c.details), None)
    if rec is not None:
        lines += _recorded_markdown(rec)
    norm = next((c for c in outcome.checks if c.name == "normalization" and c.details), None)
    if norm is not None:
        lines.append(f"\n## Where the pipelines part ways\n\nPrimary deviation source: "
                     f"**`{norm.details['primary_deviation_source']}`**. See [stage_ratios.md](stage_ratios.md).\n")
    if outcome.runs:
        lines.append("## Amplitude\n")
        lines.append(_md_table(["metric", *outcome.runs],
                               [[r["metric"], *["failed" if v is None else f"{v:.4g}" for v in r["cells"]]]
                                for r in _amplitude_rows(outcome.runs)]))
        lines += [f"- {name}: {_run_words(run)}" for name, run in outcome.runs.items()]
    summary = outcome.seed_summary()
    if summary:
        lines.append(f"\n## Seeds ({len(outcome.seed_runs)}): median [min, max]\n")
        lines.append(_md_table(["pipeline", *runner_metrics(), "collapse rate"],
                               [[r["pipeline"], *[f"{c['median']:.4g} [{c['min']:.4g}, {c['max']:.4g}]" for c in r["cells"]],
                                 f"{r['collapse_rate']:.2f} (pearson < {r['threshold']})"] for r in _seed_rows(summary)]))
        lines.append("\nThe amplitude check compares the medians over seeds.\n")
    if outcome.explanations:
        lines.append("\n## explain\n\n```")
        lines += [explain_text(e) for e in outcome.explanations.values()]
        lines.append("```\n")
    lines.append("## Figures\n")
    lines += [f"![{caption}]({name})\n" for name, caption in captions.items()] or ["(none: no training ran)\n"]
    lines.append("## Files\n")
    lines += [f"- [{a['name']}]({a['name']}): {a['description']}" for a in artifacts]
    return "\n".join(lines) + "\n"


def write_report(outcome, root: Path | str = "reports") -> Path:
    """Write the report folder for ``outcome``; return its final path."""
    tmp, final = new_report_dir(Path(root))
    try:
        check_files = {}
        for check in outcome.checks:
            check_files[check.name] = check_artifacts(check)
            for name, text in check_files[check.name].items():
                atomic_write_text(tmp / name, text)
        summary = [{"name": c.name, "passed": c.passed, "reference": c.reference, "decided_by": c.decided_by,
                    "problems": c.problems} for c in outcome.checks]
        atomic_write_text(tmp / "checks.json", json.dumps(summary, indent=2) + "\n")
        for name, run in outcome.runs.items():
            atomic_write_text(tmp / f"run_{name}.json", json.dumps(run.to_json(), indent=2) + "\n")
            if run.arrays:
                # the windows, not the model's raw patches (tens of MB at the larger profiles)
                np.savez_compressed(tmp / f"arrays_{name}.npz",
                                    **{k: v for k, v in run.arrays.items() if k != "trimmed"})
        if outcome.seed_summary():
            atomic_write_text(tmp / "seeds.json", to_json(outcome.seed_summary()))
        if outcome.explanations:
            atomic_write_text(tmp / "explain.json", json.dumps(outcome.explanations, indent=2) + "\n")
        if outcome.dose_ladder:
            atomic_write_text(tmp / "dose_ladder.json", json.dumps(outcome.dose_ladder, indent=2, default=str) + "\n")
        captions = dict(figures.write_figures(outcome, tmp))
        artifacts = artifact_rows(tmp, captions)
        atomic_write_text(tmp / "index.md", _index_markdown(outcome, captions, artifacts))
        artifacts = artifact_rows(tmp, captions)
        atomic_write_text(tmp / "index.html", index_html(index_context(outcome, captions, artifacts, check_files)))
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(Path(root) / "LATEST", final.name + "\n")
    return final
