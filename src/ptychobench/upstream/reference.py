"""The original's trained distribution, recorded as the reference our trained rows are judged by.

``record(folder)`` reads a ``ptychobench upstream --draws K`` folder (its ``summary.json``) and
writes the draws' trained metrics under ``<profile>/<key>`` of
``src/ptychobench/parity/original_seeds.json`` (``key``: ``legacy`` for the dose flow,
``modern`` for main's flow, the gs2_ideal scenario), with what was run: the upstream commit, the
era and its lock's hash, the versions, the command and this machine. The values are the draws'
``ptychobench`` scoring (the covered pixels), the scoring the trained rows judge.

    python -m ptychobench.upstream.reference FOLDER [FOLDER ...]   # record (re-record) from draws
"""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import UpstreamError
from ..evaluation.metrics import COLLAPSE_PEARSON
from ..pipelines import provenance

REFERENCE_FILE = Path(__file__).resolve().parents[1] / "parity" / "original_seeds.json"
KEY_OF_FLOW = {"dose": "legacy", "modern": "modern"}
#: what the trained rows judge (parity.trained.QUANTITIES)
QUANTITIES = ("pearson", "ssim", "head_saturation", "output_level", "gauge_corrected_ratio")
SCORING = "ptychobench"


def rescored(draw: dict, profile: str) -> dict:
    """A draw of a summary measured again by the current scorer from what its worker captured
    (``worker.json``, ``arrays.npz``), so a record never keeps a stale score; a draw whose folder
    is gone (a failed one) is kept as it was."""
    folder = Path(draw.get("folder", "-"))
    if not (folder / "worker.json").is_file():
        return draw
    import numpy as np

    from . import score
    record = json.loads((folder / "worker.json").read_text())
    with np.load(folder / "arrays.npz") as z:
        result = score.to_run_result(record, {k: z[k] for k in z.files}, profile, {})
    pearson = result.alternative_metrics.get(SCORING, {}).get("pearson", math.nan)
    return {**draw, "failure": result.failure,
            "collapsed": bool(result.failure) or not (math.isfinite(pearson) and pearson >= COLLAPSE_PEARSON),
            "alternative_metrics": {name: {q: alt.get(q) for q in QUANTITIES}
                                    for name, alt in result.alternative_metrics.items()}}


def entry_of(summary: dict) -> dict:
    """One run key's record from a draws folder's summary (each draw scored again)."""
    summary = {**summary, "draws": [rescored(d, summary["profile"]) for d in summary["draws"]]}
    ok = [d for d in summary["draws"] if not d["failure"]]
    values = {q: [d["alternative_metrics"][SCORING][q] for d in ok] for q in QUANTITIES}
    c = summary["checkout"]
    model = {}
    if ok and (Path(ok[0].get("folder", "-")) / "run.json").is_file():  # the model the draws trained, as built
        run = json.loads((Path(ok[0]["folder"]) / "run.json").read_text())
        model = {"trainable_params": run["trainable_params"], "scale_trainable": run["training"].get("scale_trainable")}
    return {**model,
        "upstream_commit": c.get("upstream_commit") or c.get("commit"), "bundle_commit": c.get("commit"),
        "date": c.get("date"), "subject": c.get("subject"), "flow": summary["flow"], "era": summary["era"],
        "lock_sha256": summary["lock_sha256"], "versions": summary["versions"], "seeded": summary["seeded"],
        "command": summary.get("command"), "draws": len(summary["draws"]),
        "failed": [d["failure"] for d in summary["draws"] if d["failure"]],
        "collapsed": sum(bool(d["collapsed"]) for d in summary["draws"]),  # failed, or pearson < 0.5 (ours)
        "wall_s": [d["wall_s"] for d in summary["draws"]], **values}


def _summaries(folders) -> dict:
    """``{(profile, key): summary}``, the draws of folders of the same commit, flow and profile pooled
    (more draws added to a record); folders that disagree on what was run are refused."""
    pooled = {}
    for folder in folders:
        summary_path = Path(folder) / "summary.json"
        if not summary_path.is_file():
            raise UpstreamError(f"{summary_path}: no such file (a `ptychobench upstream --draws K` folder has one)")
        summary = json.loads(summary_path.read_text())
        slot = (summary["profile"], KEY_OF_FLOW[summary["flow"]])
        if slot in pooled:
            first = pooled[slot]
            for field in ("checkout", "era", "lock_sha256"):
                if first[field] != summary[field]:
                    raise UpstreamError(f"{summary_path}: {field} differs from the other draws of {slot}")
            first["draws"] = first["draws"] + summary["draws"]
            first["command"] = f"{first.get('command')} ; {summary.get('command')}"
        else:
            pooled[slot] = summary
    return pooled


def record(folders, path: Path = REFERENCE_FILE) -> dict:
    """Merge the draws of ``folders`` into the reference file (atomically); returns it."""
    reference = json.loads(path.read_text()) if path.exists() else {}
    git = provenance.git_state()
    for (profile, key), summary in _summaries(folders).items():
        entry = reference.setdefault(profile, {"runs": {}})
        entry.update({"scoring": SCORING, "ours_commit": git["sha"] or "unknown", "cpu": provenance.cpu_name(),
                      "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")})
        entry["runs"][key] = entry_of(summary)
    atomic_write_text(path, json.dumps(reference, indent=1, sort_keys=True) + "\n")
    return reference


def load(path: Path = REFERENCE_FILE) -> dict:
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    record(sys.argv[1:])
    print(REFERENCE_FILE)
