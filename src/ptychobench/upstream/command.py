"""``ptychobench upstream``: the original's flow, one or more draws, compared with ours.

    ptychobench upstream [--checkout PATH | --repo PATH_OR_BUNDLE --commit REV] [--flow dose|modern]
                         [--profile tiny|smoke|investigation] [--draws K] [--compare] [--out DIR]
    ptychobench upstream --lockstep STEPS [--profile P] [--out DIR]     (:mod:`.lockstep`)

Without ``--checkout`` or ``--repo`` the code-only history beside the project
(``../shared/upstream/ptychopinn-code.bundle``) is used, at ``--commit`` (default
``dose_experiments``). Each draw is its own process (the original keeps module-level state)
and its own folder ``<out>/draw<k>``; ``summary.json`` lists every draw's trained metrics, what
was run and how to run it again. ``--compare`` adds ``compare.md``/``compare.json`` (our data
path against the first draw, :mod:`.compare`) and the exit status is that comparison's verdict.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import atomic_write_text
from ..evaluation.metrics import COLLAPSE_PEARSON
from . import checkout as co
from . import compare as cmp
from . import runner

#: the trained metrics a draw contributes to the distribution
TRAINED_METRICS = ("gauge_corrected_ratio", "amplitude_bias", "pearson", "ssim", "head_saturation", "output_level")


def resolve(args) -> co.Checkout:
    if args.checkout and args.repo:
        raise co.UpstreamError("--checkout and --repo: give one of them")
    if args.checkout:
        if args.commit:
            raise co.UpstreamError("--commit: only with --repo (a --checkout runs as it is)")
        return co.from_work_tree(args.checkout)
    return co.from_commit(args.repo or co.DEFAULT_BUNDLE, args.commit or "dose_experiments")


def draw_summary(result, folder: Path, wall: float) -> dict:
    """One draw's line in ``summary.json``: its trained metrics under both scorings."""
    m = result.metrics
    return {"folder": str(folder), "wall_s": round(wall, 1), "peak_rss_bytes": result.peak_rss_bytes,
            "failure": result.failure,
            "metrics": {k: m.get(k) for k in TRAINED_METRICS},
            "alternative_metrics": {name: {k: alt.get(k) for k in TRAINED_METRICS}
                                    for name, alt in result.alternative_metrics.items()},
            "collapsed": bool(result.failure) or not (isinstance(m.get("pearson"), float)
                                                      and math.isfinite(m["pearson"]) and m["pearson"] >= COLLAPSE_PEARSON)}


def run(args) -> int:
    if args.lockstep:
        from . import lockstep
        if args.flow not in (None, "dose") or args.checkout or args.repo or args.commit:
            raise co.UpstreamError("--lockstep: the dose flow of dose_experiments' tip only")
        return lockstep.main(["--profile", args.profile or os.environ.get("PTYCHOBENCH_PROFILE", "tiny"),
                              "--steps", str(args.lockstep), "--threads", str(args.threads),
                              *(["--out", args.out] if args.out else [])])
    c = resolve(args)
    profile = args.profile or os.environ.get("PTYCHOBENCH_PROFILE", "tiny")
    label = (c.upstream_commit or c.commit or "worktree")[:12]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out or Path(os.environ.get("PTYCHOBENCH_REPORTS", "reports")) /
               f"upstream-{args.flow or 'auto'}-{label}-{profile}-{stamp}")
    draws = []
    for k in range(args.draws):
        t0 = time.perf_counter()
        try:
            result, folder = runner.draw(c, args.flow, profile, out / f"draw{k}", era=args.era,
                                         threads=args.threads, per_group_reassembly=args.per_group_reassembly)
        except co.UpstreamError as err:
            if args.draws == 1:
                raise
            # one draw of several that crashed is a result of the distribution, not the end of it
            print(f"ptychobench: draw {k}: {err}", file=sys.stderr)
            draws.append({"folder": str(out / f"draw{k}.failed"), "wall_s": round(time.perf_counter() - t0, 1),
                          "failure": str(err).splitlines()[0], "collapsed": True, "metrics": {},
                          "alternative_metrics": {}})
            continue
        draws.append(draw_summary(result, folder, time.perf_counter() - t0))
    done = [d for d in draws if Path(d["folder"]).name.startswith("draw") and not d["folder"].endswith(".failed")]
    if not done:
        raise co.UpstreamError(f"{out}: every draw failed; the first: {draws[0]['failure']}")
    first = json.loads((Path(done[0]["folder"]) / "run.json").read_text())
    summary = {
        "what": "the original's trained metrics, one entry per draw (each draw its own process)",
        "checkout": c.to_json(), "flow": first["provenance"]["upstream"]["flow"],
        "era": first["provenance"]["upstream"]["era"], "profile": profile,
        "lock_sha256": first["provenance"]["upstream"]["lock_sha256"],
        "versions": first["provenance"]["upstream"]["versions"],
        "seeded": "data: np.random.seed(1)/(2) (dose) or (42) (modern) inside the original; "
                  "TensorFlow (weights, Poisson noise, batch order) unseeded, as the original leaves it",
        "command": "ptychobench " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["upstream"] else None,
        "draws": draws,
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    if args.record:
        from . import reference
        reference.record([out])
        print(f"recorded {summary['flow']} at {profile} in {reference.REFERENCE_FILE}", file=sys.stderr)
    status = 0
    if args.compare:
        result = cmp.compare(Path(done[0]["folder"]))
        print(cmp.write(out, result), file=sys.stderr)
        for row in result["rows"]:
            if not row["passed"]:
                print(f"FAILED {row['row']}: ours {row['ours']}, original {row['theirs']} ({row['rule']}) "
                      f"{row['note']}", file=sys.stderr)
        for f in result["findings"]:
            print(f"FINDING {f['kind']} at {f['stage']}: {f['message']}", file=sys.stderr)
        print(f"upstream comparison {result['verdict']}", file=sys.stderr)
        status = 0 if result["verdict"] == "PASS" else 1
    print(out)
    return status


def add_parser(sub) -> None:
    p = sub.add_parser("upstream", help="run a PtychoPINN checkout through the same stages in its own "
                       "environment; compare it with ours")
    p.add_argument("--checkout", default=None, metavar="PATH", help="a PtychoPINN work tree, run as it is")
    p.add_argument("--repo", default=None, metavar="PATH_OR_BUNDLE",
                   help=f"a repository or git bundle (default {co.DEFAULT_BUNDLE})")
    p.add_argument("--commit", default=None, metavar="REV", help="with --repo: the commit (default dose_experiments)")
    p.add_argument("--flow", default=None, choices=sorted(co.FLOW_FILES),
                   help="dose (dose_experiments' notebook flow) or modern (main's dataclass flow); "
                        "default: the first the checkout has")
    p.add_argument("--profile", default=None, help="tiny (default, or $PTYCHOBENCH_PROFILE), smoke, investigation")
    p.add_argument("--era", default=None, help="tf215 or tf221 (default: what the checkout imports in)")
    p.add_argument("--draws", type=int, default=1, help="independent draws (default 1)")
    p.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads of the worker (default 2)")
    p.add_argument("--compare", action="store_true", help="compare our data path with the first draw, stage "
                   "by stage; exit 1 when a row fails")
    p.add_argument("--per-group-reassembly", action="store_true",
                   help="harness option: reassemble per group where the commit batches it (c03673d and later "
                        "sum every group of a batch into one canvas); recorded in the draw's provenance")
    p.add_argument("--record", action="store_true", help="record the draws as the original's distribution "
                   "(parity/original_seeds.json), which the parity suite's trained rows are judged by")
    p.add_argument("--lockstep", type=int, default=0, metavar="STEPS",
                   help="train the original (dose flow) and ours from the same initial weights on the same "
                        "unshuffled batches; compare them step by step (whole weights after the first STEPS "
                        "steps) and name the first parting (python -m ptychobench.upstream.lockstep has more "
                        "options)")
    p.add_argument("--out", default=None, help="folder (default $PTYCHOBENCH_REPORTS/upstream-…)")
    p.set_defaults(func=run)
