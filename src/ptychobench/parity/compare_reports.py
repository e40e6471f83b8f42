"""Compare two parity report folders (e.g. in-container vs host, same commit and seed).

Every tracked metric must agree within the ``[container]`` entries of the tolerance table;
the configuration and architecture tables must be identical.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import DataError
from . import tables

TRACKED = ("coverage", "amplitude_ratio", "amplitude_ratio_ls", "expected_gauge", "gauge_corrected_ratio",
           "amplitude_bias", "head_saturation", "pearson", "ssim", "psnr", "mae")
IDENTICAL_FILES = ("config_diff.json", "architecture.json", "loss_config_diff.json", "training_params.json")


def _load(folder: Path, name: str):
    path = folder / name
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(str(path), "missing from the report folder") from None
    except json.JSONDecodeError as err:
        raise DataError(str(path), f"not valid JSON ({err})") from None


def compare_report_folders(a: Path, b: Path) -> dict:
    """Differences between report ``a`` and report ``b``.

    Returns
    -------
    dict with ``metrics`` (per pipeline and metric: a, b, |relative difference|),
    ``identical`` (file -> bool) and ``problems`` (list of str; empty means they match).
    """
    a, b = Path(a), Path(b)
    tol = tables.tolerances()["container"]
    problems, metrics = [], {}
    # every run of the first report (legacy, modern and each extra scenario); _load names a
    # file missing from the second one
    pipelines = sorted(p.name[len("run_"):-len(".json")] for p in a.glob("run_*.json")) or ["legacy", "modern"]
    for pipeline in pipelines:
        ra, rb = _load(a, f"run_{pipeline}.json"), _load(b, f"run_{pipeline}.json")
        if ra.get("failure") or rb.get("failure"):
            problems.append(f"{pipeline}: a run failed ({ra.get('failure')} / {rb.get('failure')})")
            continue
        for name in TRACKED:
            x, y = ra["metrics"].get(name), rb["metrics"].get(name)
            if x is None or y is None or (isinstance(x, float) and math.isnan(x) and math.isnan(y)):
                rel = 0.0 if x == y or (x is not None and y is not None) else math.inf
            else:
                rel = abs(x - y) / max(abs(y), 1e-12)
            metrics[f"{pipeline}.{name}"] = {"a": x, "b": y, "rel_diff": rel}
            if not rel <= tol["metric_rel"]:
                problems.append(f"{pipeline}.{name}: {x} vs {y} (relative difference {rel:.3g} > {tol['metric_rel']})")
    identical = {}
    for name in IDENTICAL_FILES:
        same = _load(a, name) == _load(b, name)
        identical[name] = same
        if not same:
            problems.append(f"{name} differs between the two reports")
    checks_a = {c["name"]: c["passed"] for c in _load(a, "checks.json")}
    checks_b = {c["name"]: c["passed"] for c in _load(b, "checks.json")}
    if checks_a != checks_b:
        problems.append(f"check outcomes differ: {checks_a} vs {checks_b}")
    return {"metrics": metrics, "identical": identical, "problems": problems}
