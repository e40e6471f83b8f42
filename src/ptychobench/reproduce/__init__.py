"""``ptychobench reproduce``: the investigation's configuration over seeds, and every trained number
it (or the original's own run) recorded beside ours.

1. :mod:`.runs` trains each run of :data:`.runs.RUNS` at every seed, one process each, kept on
   disk (an interrupted reproduction resumes per run and seed);
2. :mod:`.rows` computes each recorded number from every seed's run in the recorded number's
   own definition (window, zeros, mean, gauge) and judges it;
3. :func:`write_report` writes ``reproduce.json``, ``reproduce.md`` and ``reproduce.png``
   (ours over seeds against the recorded draws, per row) into the folder, atomically.
"""

from __future__ import annotations

import json
import math
import platform
from datetime import UTC, datetime
from pathlib import Path

from ..atomic import atomic_save_figure, atomic_write_text
from ..pipelines import provenance
from ..progress import Progress
from . import rows as rows_mod
from . import runs as runs_mod

#: The original dose_experiments flow, run on these machines (by a script since replaced by
#: ``ptychobench upstream --commit dose_experiments --flow dose --profile investigation_232``).
ORIGINAL_DE_FILE = Path(__file__).with_name("original_de.json")


def load_original() -> dict:
    return json.loads(ORIGINAL_DE_FILE.read_text()) if ORIGINAL_DE_FILE.exists() else {}


def reproduce(folder: Path, seeds, keys=None, progress: Progress | None = None) -> dict:
    """Train what is missing, compute every row, return the reproduction record."""
    progress = progress or Progress(label="reproduce")
    keys = runs_mod.check_keys(keys or list(runs_mod.RUNS))
    seeds = list(seeds)
    with progress.stage("runs"):
        done = runs_mod.run_all(Path(folder), keys, seeds, progress)
    original = load_original()
    table = []
    with progress.stage("rows"):
        for row in rows_mod.with_original_draws(rows_mod.ROWS, original):
            if row.run not in done:
                continue
            values = []
            for run, arrays in done[row.run]:
                values.append(math.nan if run.get("failure") or not arrays else float(row.compute(run, arrays)))
            table.append(rows_mod.judge(row, values))
    git = provenance.git_state()
    factors = {k: _factors(done[k]) for k in keys}
    for row in table:
        if row["verdict"] == "NOT reproduced":
            row["factors"] = factors[row["run"]]
    return {
        "command": f"ptychobench reproduce --seeds {','.join(map(str, seeds))} --runs {','.join(keys)}",
        "commit": git["sha"] or "unknown",
        "dirty": git["dirty"],
        "cpu": provenance.cpu_name(),
        "python": platform.python_version(),
        "written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seeds": seeds,
        "runs": {k: {"what": runs_mod.RUNS[k].what, "profile": runs_mod.RUNS[k].profile,
                     "wall_seconds": [r.get("wall_seconds") for r, _ in done[k]],
                     "failed": [r["seed"] for r, _ in done[k] if r.get("failure")],
                     "metrics": [{q: r["metrics"].get(q) for q in ("gauge_corrected_ratio", "pearson", "ssim",
                                                                   "head_saturation", "output_level", "coverage")}
                                 for r, _ in done[k]]}
                 for k in keys},
        "original_de": {k: v for k, v in original.items() if k != "draws"} | {"n_draws": len(original.get("draws", []))},
        "verdict_rule": "a recorded draw is reproduced when it lies inside our seed range widened on each side by the "
                        "measured spread (the larger of our range and the recorded draws' range) plus half a unit in "
                        "the recorded figure's last printed digit",
        "factors": factors,
        "rows": table,
    }


#: explain's factors of a run's amplitude ratio (:func:`..parity.explain.explain`)
FACTOR_KEYS = ("coverage", "object_normalization", "diffraction_gain_g", "intensity_scale_ratio", "head_clip",
               "head_saturation", "residual")


def _factors(runs) -> dict:
    """Median over seeds of ``explain``'s factors (on the covered window), for the rows that do not
    reproduce: which factor of our run differs from the recorded run's."""
    from types import SimpleNamespace

    import numpy as np

    from ..parity.explain import explain

    per = []
    for run, arrays in runs:
        if run.get("failure") or not arrays:
            continue
        ns = SimpleNamespace(**{k: run.get(k) for k in ("pipeline", "scale_factors", "config", "metrics",
                                                        "alternative_metrics", "failure")}, arrays=arrays)
        e = explain(ns)
        per.append({k: e[k] for k in FACTOR_KEYS})
    return {k: float(np.median([p[k] for p in per])) for k in FACTOR_KEYS} if per else {}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.4g}"


def markdown(record: dict) -> str:
    lines = ["# Reproduction of the investigation's trained numbers\n",
             f"`{record['command']}` at commit `{record['commit'][:10]}`{' (dirty)' if record['dirty'] else ''} on "
             f"{record['cpu']}, {record['written']}; seeds {record['seeds']}.\n",
             f"Verdict rule: {record['verdict_rule']}.\n",
             "| row | recorded | ours: median [min, max] | verdict | run | definition |",
             "|---|---|---|---|---|---|"]
    for r in record["rows"]:
        ours = (f"{_fmt(r['median'])} [{_fmt(r['min'])}, {_fmt(r['max'])}]" if r.get("median") is not None
                else "–")
        rec = ", ".join(_fmt(v) for v in r["recorded"]) or "–"
        lines.append(f"| {r['what']} ({r['source']}) | {rec} | {ours} | **{r['verdict']}** | {r['run']} | "
                     f"{r['definition']}{'; ' + r['note'] if r['note'] else ''} |")
    lines += ["", "## Factors of each run (median over seeds, `explain`, covered window)", "",
              "| run | " + " | ".join(FACTOR_KEYS) + " |", "|---" * (len(FACTOR_KEYS) + 1) + "|"]
    for k, f in record["factors"].items():
        lines.append(f"| {k} | " + " | ".join(_fmt(f.get(q)) for q in FACTOR_KEYS) + " |")
    lines += ["", "## Runs", "", "| run | what | wall s per seed | failed seeds |", "|---|---|---|---|"]
    for k, v in record["runs"].items():
        secs = ", ".join(f"{s:.0f}" if s else "–" for s in v["wall_seconds"])
        lines.append(f"| {k} | {v['what']} | {secs} | {v['failed'] or 'none'} |")
    return "\n".join(lines) + "\n"


def figure(record: dict, path: Path) -> None:
    """Per row: ours at each seed, the recorded draws and the verdict band, as the difference from
    the recorded median in percent of it (symlog: 2% and 200% both readable)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table = [r for r in record["rows"] if r.get("band") is not None]
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(table) + 1.4), layout="constrained")
    for y, r in enumerate(table):
        ref = float(np.median(r["recorded"]))

        def pct(v, ref=ref):
            return 100.0 * (v - ref) / (abs(ref) or 1.0)

        ax.plot([pct(r["band"][0]), pct(r["band"][1])], [y, y], color="0.8", lw=6, solid_capstyle="butt")
        ax.plot([pct(v) for v in r["ours"] if math.isfinite(v)], [y] * len(r["ours"]), "o", color="C0", ms=5,
                label="ours (per seed)" if y == 0 else None)
        ax.plot([pct(v) for v in r["recorded"]], [y] * len(r["recorded"]), "x", color="C3", ms=8, mew=2,
                label="recorded" if y == 0 else None)
    ax.set_xscale("symlog", linthresh=5.0)
    ax.set_yticks(range(len(table)), [r["key"] for r in table], fontsize=8)
    ax.axvline(0.0, color="0.5", lw=0.8, ls=":")
    ax.invert_yaxis()
    ax.set_xlabel("difference from the recorded median, % of it (symlog; grey: the verdict band)")
    if table:
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.set_title("no row has a verdict band yet (train >= 2 seeds)", fontsize=9)
    atomic_save_figure(fig, path, dpi=110)


def write_report(record: dict, folder: Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "reproduce.json", json.dumps(record, indent=1) + "\n")
    atomic_write_text(folder / "reproduce.md", markdown(record))
    figure(record, folder / "reproduce.png")
    return folder / "reproduce.md"
