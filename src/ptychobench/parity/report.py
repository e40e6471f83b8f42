"""Write a parity report folder: JSON + Markdown + HTML + PNG figures.

The folder is assembled under a hidden temporary name and renamed into place when it is
complete, so an interrupted run never leaves a half-written report, and earlier reports
are never touched.
"""

from __future__ import annotations

import html
import json
import re
import os
import shutil
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_write_text  # noqa: E402
from ..errors import DataError  # noqa: E402
from ..stages import STAGE_MEANING, STAGES, stage_ratios  # noqa: E402
from .checks import LOSS_KEYS  # noqa: E402
from .explain import explain_text  # noqa: E402

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
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return str(x) if not np.isfinite(x) else f"{x:.4g}"
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


def _stage_files(check) -> dict:
    d = check.details
    tables_, ratios, deviations = d["stages"], d["ratios"], d["deviations"]
    md = ["# Stage ratios (legacy vs modern)\n",
          "ratio = mean(stage k) / mean(stage k-1); evaluated on each pipeline's test split.\n\n"]
    rows = []
    for s in [r["name"] for r in tables_["legacy"]]:
        lm = next((r["mean"] for r in tables_["legacy"] if r["name"] == s), None)
        mm = next((r["mean"] for r in tables_["modern"] if r["name"] == s), None)
        rows.append([s, STAGE_MEANING[s][0], _fmt(lm), _fmt(ratios["legacy"]["ratios"].get(s)), STAGE_MEANING[s][1],
                     _fmt(mm), _fmt(ratios["modern"]["ratios"].get(s)), _fmt(deviations.get(s))])
    md.append(_md_table(["stage", "legacy", "mean", "ratio", "modern", "mean", "ratio", "|ln(r_L/r_M)|"], rows))
    md.append(f"\nChain product: legacy {_fmt(ratios['legacy']['chain_product'])}, "
              f"modern {_fmt(ratios['modern']['chain_product'])}.\n")
    md.append(f"\n**Primary deviation source: `{d['primary_deviation_source']}`**\n\n## Comparisons\n")
    md.append(_rows_md(check))
    return {"stage_ratios.json": to_json(d), "stage_ratios.md": "".join(md)}


def _architecture_files(check) -> dict:
    d = check.details
    rows = [[r["layer"], r["legacy_shape"], r["legacy_params"], r["modern_shape"], r["modern_params"],
             "same" if r["same"] else "DIFFERS"] for r in d["layers"]]
    c = d["param_counts"]
    md = ["# Architecture parity\n\n",
          _md_table(["layer", "legacy shape", "legacy params", "modern shape", "modern params", ""], rows),
          f"\nTrainable parameters: legacy {c['legacy']['trainable']:,}, modern {c['modern']['trainable']:,} "
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


def _recorded_markdown(check) -> list:
    lines = ["\n## Recorded numbers of the original investigation\n",
             "| quantity | recorded | ours | ours/recorded | tolerance | verdict | source |", "|---|---|---|---|---|---|---|"]
    for r in check.details["rows"]:
        ours = "–" if r["ours"] is None else f"{r['ours']:.6g}"
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.5f}"
        tol = "–" if r["tolerance_rel"] is None else f"±{r['tolerance_rel']:.2g}"
        lines.append(f"| {_cell(r['what'])} | {r['recorded']:g} | {ours} | {ratio} | {tol} | {_cell(r['verdict'])} "
                     f"| {_cell(r['source'])} |")
    return lines


def check_artifacts(check) -> dict:
    """File name -> text of every artifact ``check`` contributes to a report."""
    files = {f"check_{check.name}.json": to_json({"name": check.name, "passed": check.passed,
                                                  "reference": check.reference, "problems": check.problems,
                                                  "rows": check.rows})}
    render = _CHECK_FILES.get(check.name)
    if render is not None and check.details:
        files.update(render(check))
    return files


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


def _plot_reconstructions(outcome, path: Path) -> None:
    runs = [r for r in outcome.runs.values() if not r.failure]
    if not runs:
        return
    fig, axes = plt.subplots(len(runs), 3, figsize=(11, 3.6 * len(runs)), squeeze=False)
    for row, run in zip(axes, runs):
        stitched, truth, covered = run.arrays["stitched"], run.arrays["truth"], run.arrays["covered"]
        gauge = run.metrics["expected_gauge"]
        panels = [
            (np.abs(stitched) / gauge, f"{run.pipeline}: |stitched| / G  (G = {gauge:.3g})"),
            (truth, f"{run.pipeline}: true amplitude (raw units)"),
            (np.where(covered, np.angle(stitched), np.nan), f"{run.pipeline}: stitched phase (rad); truth phase 0"),
        ]
        vmax = float(np.nanmax(truth))
        for ax, (img, title) in zip(row, panels):
            kw = {"vmin": 0, "vmax": vmax} if "phase" not in title else {"cmap": "twilight"}
            im = ax.imshow(img, **kw)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
            fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_waterfall(stage_tables: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(11, 4.5))
    names = [s for s in STAGES[1:]]
    width = 0.4
    for i, (pipeline, table) in enumerate(stage_tables.items()):
        ratios = stage_ratios(table)["ratios"]
        values = [np.log10(ratios[s]) if ratios.get(s, 0) > 0 else np.nan for s in names]
        ax.bar(np.arange(len(names)) + (i - 0.5) * width, values, width, label=pipeline)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("log10(stage ratio)")
    ax.set_title("Stage ratios mean(k)/mean(k-1), legacy vs modern")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_dose(rows: list, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for pipeline in ("legacy", "modern"):
        pts = [(r["nphotons"], r["amplitude_ratio"], r["gauge_corrected_ratio"]) for r in rows
               if r["pipeline"] == pipeline and not r.get("failure")]
        if pts:
            d, raw, corr = zip(*pts)
            ax.plot(d, raw, "o--", label=f"{pipeline} amplitude_ratio")
            ax.plot(d, corr, "s-", label=f"{pipeline} gauge_corrected_ratio")
    ax.set_xscale("log")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xlabel("nphotons")
    ax.set_ylabel("ratio")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _state_in_words(run) -> str:
    """'reconstructs' or 'collapsed', with the pearson and head saturation that say so."""
    from .runner import COLLAPSE_PEARSON

    m = run.metrics
    pearson, sat = m.get("pearson", float("nan")), m.get("head_saturation", float("nan"))
    if np.isfinite(pearson) and pearson >= COLLAPSE_PEARSON:
        return f"reconstructs: pearson {pearson:.3f}, head saturated on {100 * sat:.0f}% of the object"
    return (f"collapsed: pearson {pearson:.3f} (< {COLLAPSE_PEARSON}), head saturated on {100 * sat:.0f}% of the "
            "object (the sigmoid sits at its ceiling, so the gradient vanishes)")


def runner_metrics():
    from .runner import SEED_METRICS

    return SEED_METRICS


def _index_markdown(outcome) -> str:
    lines = [f"# ptychobench parity report — profile `{outcome.profile.name}`, seed {outcome.seed}\n",
             f"**Result: {'PASS' if outcome.passed else 'FAIL'}**\n", GAUGE_NOTE + "\n",
             f"Intensity scale: `{outcome.profile.scale_variant}` "
             f"({'faithful: exp(log_scale) never trains, as in the original runs' if outcome.profile.scale_variant == 'constant' else 'named variant: exp(log_scale) trains'}). "
             "Modern `gs2_ideal` is compared with the legacy dose recipe stage by stage; `modern_gs1_ideal` "
             "is the gridsize-1 sim-lines scenario.\n"]
    lines += [f"- {line}" for line in outcome.skipped]
    lines.append("\n## Checks\n")
    lines.append("| check | verdict | compared with | decided by |")
    lines.append("|---|---|---|---|")
    lines += [f"| {c.name} | {'PASS' if c.passed else 'FAIL'} | {_cell(c.reference)} | {_cell(c.decided_by)} |"
              for c in outcome.checks]
    for c in outcome.checks:
        if len(c.problems) > 1:
            lines.append(f"\n### {c.name}: problems\n")
            lines += [f"- {p}" for p in c.problems]
    rec = next((c for c in outcome.checks if c.name == "recorded_numbers"), None)
    if rec is not None:
        lines += _recorded_markdown(rec)
    norm = next((c for c in outcome.checks if c.name == "normalization"), None)
    if norm is not None:
        lines.append(f"\n## Where the pipelines part ways\n\nPrimary deviation source: "
                     f"**`{norm.details['primary_deviation_source']}`**. See [stage_ratios.md](stage_ratios.md).\n")
    if outcome.runs:
        lines.append("## Amplitude\n")
        keys = ("coverage", "amplitude_ratio", "amplitude_ratio_ls", "expected_gauge", "gauge_corrected_ratio",
                "amplitude_bias", "head_saturation", "pearson", "ssim", "psnr", "frc50")
        lines.append("| metric | " + " | ".join(outcome.runs) + " |")
        lines.append("|---|" + "---|" * len(outcome.runs))
        for k in keys:
            vals = [f"{r.metrics.get(k, float('nan')):.4g}" if not r.failure else "failed" for r in outcome.runs.values()]
            lines.append(f"| {k} | " + " | ".join(vals) + " |")
        lines.append("")
        for name, run in outcome.runs.items():
            t = run.training
            if t:
                lines.append(f"- {name}: {_state_in_words(run)}; {t['epochs_run']} epochs, "
                             f"{t['samples_per_second']:.1f} groups/s (after the first epoch), "
                             f"{run.trainable_params:,} trainable parameters")
            else:
                lines.append(f"- {name}: FAILED — {run.failure}")
    summary = outcome.seed_summary()
    if summary:
        lines.append(f"\n## Seeds ({len(outcome.seed_runs)}): median [min, max]\n")
        lines.append("| pipeline | " + " | ".join(runner_metrics()) + " | collapse rate |")
        lines.append("|---|" + "---|" * (len(runner_metrics()) + 1))
        for pipeline, e in summary.items():
            cells = [f"{e[k]['median']:.4g} [{e[k]['min']:.4g}, {e[k]['max']:.4g}]" for k in runner_metrics()]
            lines.append(f"| {pipeline} | " + " | ".join(cells) +
                         f" | {e['collapse_rate']:.2f} (pearson < {e['collapse_threshold']}) |")
        lines.append("\nThe amplitude check compares the medians over seeds.\n")
    if outcome.explanations:
        lines.append("\n## explain\n\n```")
        lines += [explain_text(e) for e in outcome.explanations.values()]
        lines.append("```\n")
    lines.append("## Figures\n")
    figures = ["reconstruction.png", "stage_waterfall.png"] if outcome.runs else []
    figures += ["dose.png"] if outcome.dose_ladder else []
    lines += [f"![{fig}]({fig})" for fig in figures] or ["(none: no training ran)"]
    lines.append("\n## Files\n")
    lines.append("run_legacy.json, run_modern.json, arrays_*.npz, loss_config_diff.md/json, "
                 "legacy_params_cfg_defaults.json, dose_loss_weights.json, config_diff.md, data_parity.json, "
                 "stage_ratios.json/md, architecture_diff.md, training_params.json, amplitude.json, checks.json")
    return "\n".join(lines) + "\n"


def _markdown_to_html(md: str, title: str) -> str:
    """A small, dependency-free rendering: headings, lists, tables, images, code blocks."""
    out, in_code, in_table = [], False, False
    for line in md.splitlines():
        if line.startswith("```"):
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if all(set(c) <= {"-"} for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1 : line.rindex(")")]
            out.append(f'<img src="{html.escape(src)}" alt="{html.escape(src)}" style="max-width:100%">')
        elif line.startswith("- "):
            out.append(f"<li>{html.escape(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        out.append("</table>")
    style = "body{font-family:sans-serif;max-width:1100px;margin:auto}td{border:1px solid #ccc;padding:2px 6px}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")


def write_report(outcome, root: Path | str = "reports") -> Path:
    """Write the report folder for ``outcome``; return its final path."""
    tmp, final = new_report_dir(Path(root))
    try:
        for check in outcome.checks:
            for name, text in check_artifacts(check).items():
                atomic_write_text(tmp / name, text)
        summary = [{"name": c.name, "passed": c.passed, "reference": c.reference, "decided_by": c.decided_by,
                    "problems": c.problems} for c in outcome.checks]
        atomic_write_text(tmp / "checks.json", json.dumps(summary, indent=2) + "\n")
        for name, run in outcome.runs.items():
            atomic_write_text(tmp / f"run_{name}.json", json.dumps(run.to_json(), indent=2) + "\n")
            if run.arrays:
                np.savez_compressed(tmp / f"arrays_{name}.npz", **run.arrays)
        if outcome.seed_summary():
            atomic_write_text(tmp / "seeds.json", to_json(outcome.seed_summary()))
        if outcome.explanations:
            atomic_write_text(tmp / "explain.json", json.dumps(outcome.explanations, indent=2) + "\n")
        if outcome.runs:
            _plot_reconstructions(outcome, tmp / "reconstruction.png")
            _plot_waterfall({n: r.stages for n, r in outcome.runs.items()}, tmp / "stage_waterfall.png")
        if outcome.dose_ladder:
            atomic_write_text(tmp / "dose_ladder.json", json.dumps(outcome.dose_ladder, indent=2, default=str) + "\n")
            _plot_dose(outcome.dose_ladder, tmp / "dose.png")
        md = _index_markdown(outcome)
        atomic_write_text(tmp / "index.md", md)
        atomic_write_text(tmp / "index.html", _markdown_to_html(md, f"parity {outcome.profile.name}"))
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(Path(root) / "LATEST", final.name + "\n")
    return final
