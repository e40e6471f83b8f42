#!/usr/bin/env python3
"""Measure the faithful pipelines' seed distribution that the trained parity checks judge with.

    python scripts/faithful_seeds.py [--profile smoke] [--seeds 100-119] [--holdout 0-2] [--runs DIR]

Every (run, seed) trains in its own process (``ptychobench run``) and writes its result JSON
atomically under ``--runs`` (``reports/faithful/<profile>``); a run whose JSON exists is not
trained again, so an interrupted measurement resumes. The reference seeds are then written to
``src/ptychobench/parity/faithful_seeds.json`` (temp file, then rename) with the command, the
commit and the machine, and the hold-out seeds are judged against them exactly as
``nox -s parity`` judges seed 0: the trained checks must pass on seeds they were not built from.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seed_list(text: str) -> list[int]:
    """``"100-109"`` or ``"0,1,2"`` -> the seeds."""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be integers >= 0, got {text!r}")
    return out


def run_one(key: str, seed: int, profile: str, out: Path) -> float:
    """Train run ``key`` (legacy, modern, modern_gs1_ideal) at ``seed``; seconds taken."""
    from ptychobench.parity.trained import run_command

    start = time.perf_counter()
    cmd = [sys.executable, "-m", "ptychobench", *run_command(key, seed, profile), "--quiet", "--out", str(out)]
    done = subprocess.run(cmd, env={**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode not in (0, 1) or not out.exists():  # 1: a run that diverged, recorded as such
        raise SystemExit(f"faithful_seeds.py: error: {' '.join(cmd)} exited with {done.returncode}")
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--seeds", type=seed_list, default=seed_list("100-119"))
    parser.add_argument("--holdout", type=seed_list, default=seed_list("0-2"))
    parser.add_argument("--runs", type=Path, default=None)
    parser.add_argument("--reference", type=Path, default=None,
                        help="where the distribution goes (default: the package's faithful_seeds.json)")
    args = parser.parse_args(argv)
    from ptychobench.parity import trained

    runs = args.runs or ROOT / "reports" / "faithful" / args.profile
    runs.mkdir(parents=True, exist_ok=True)
    todo = [(key, seed) for seed in [*args.seeds, *args.holdout] for key in trained.RUN_KEYS]
    for i, (key, seed) in enumerate(todo, 1):
        out = runs / f"{key}_seed{seed}.json"
        if out.exists():
            print(f"[{i}/{len(todo)}] {key} seed {seed}: done earlier", file=sys.stderr, flush=True)
            continue
        took = run_one(key, seed, args.profile, out)
        print(f"[{i}/{len(todo)}] {key} seed {seed}: {took:.0f} s", file=sys.stderr, flush=True)
    reference = trained.build_reference(runs, args.profile, args.seeds, command=" ".join(["python",
                                        "scripts/faithful_seeds.py", *(argv or sys.argv[1:])]))
    target = args.reference or trained.REFERENCE_FILE
    trained.write_reference(reference, target)
    print(target)
    held_out = trained.load_runs(runs, args.holdout)
    failed = 0
    for seed_index, seed in enumerate(args.holdout):
        check = trained.judge({k: [v[seed_index]] for k, v in held_out.items()}, reference)
        failed += not check.passed
        print(f"hold-out seed {seed}: {check.summary()}")
        for row in check.rows:
            limit, value = row["limit"], row["value"]
            if value is None:  # a failed run, or no distribution: the row is its message
                print(f"  BAD {row['what']}")
                continue
            bound = f"in [{limit[0]:.4g}, {limit[1]:.4g}]" if isinstance(limit, list) else f"<= {limit:.4g}"
            print(f"  {'ok ' if row['passed'] else 'BAD'} {row['what']}: {value:.4g} {bound}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
