"""What an upstream draw costs next to our own run of the same pipeline, measured back to back.

    python -m ptychobench.upstream.cost [--profile smoke] [--commit dose_experiments] [--flow dose]

Runs our pipeline (``ptychobench run``, legacy for the dose flow, modern gs2_ideal for the
modern flow) and one upstream draw of the same profile, one after the other on this machine,
each in its own process, and prints the wall time and peak resident memory of each and their
ratios (upstream / ours). Environment creation is not counted (the era's environment must be
built: ``python -m ptychobench.upstream.envs``). The upstream figures are the whole command
(our orchestration, the worker's start-up and the original's run) and, separately, the worker
alone (the original's own process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of ``cmd``'s own process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read()[-2000:]}")
    return wall, int(usage.ru_maxrss) * 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--commit", default="dose_experiments")
    ap.add_argument("--flow", default="dose", choices=("dose", "modern"))
    args = ap.parse_args(argv)
    exe = [sys.executable, "-m", "ptychobench"]
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = ["--pipeline", "legacy"] if args.flow == "dose" else ["--pipeline", "modern", "--scenario",
                                                                         "gs2_ideal"]
        ours = _timed(exe + ["run", *pipeline, "--profile", args.profile, "--out", f"{tmp}/ours.json", "--quiet"])
        whole = _timed(exe + ["upstream", "--commit", args.commit, "--flow", args.flow, "--profile", args.profile,
                              "--out", f"{tmp}/up"])
        worker = json.loads((Path(tmp) / "up" / "draw0" / "worker.json").read_text())
    rows = {"ours": ours, "upstream (whole command)": whole,
            "upstream (the original's process)": (worker["wall_s"], worker["peak_rss_bytes"])}
    print(f"profile {args.profile}, {args.flow} flow at {args.commit}, against our "
          f"{'legacy' if args.flow == 'dose' else 'modern gs2_ideal'} run, back to back on this machine")
    for name, (wall, rss) in rows.items():
        ratio = f"  ({wall / ours[0]:.2f}x wall, {rss / ours[1]:.2f}x memory)" if name != "ours" else ""
        print(f"{name:36s} {wall:8.1f} s  {rss / 2**30:6.2f} GiB{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
