#!/usr/bin/env python3
"""`nox -s find` on this repository's own history: a throwaway branch with one planted regression.

    python3 scripts/find_demo.py [--commits 8] [--at 5] [--profile tiny] [--keep]

Makes a branch ``find-demo-<time>`` off HEAD in a temporary worktree with ``--commits`` commits,
each of which changes the package (a comment line in another module, so the science's cache
never carries a result from one commit to the next). Commit ``--at`` also plants a regression:
the legacy pipeline's stitched amplitude is scaled by 1.25 (amplitude bias ln 1.25 = 0.22
instead of about 0). Then runs

    nox -s find -- HEAD..<tip> bench_science.Amplitude.track_amplitude_bias

(the range includes HEAD, the last good commit) and prints the commit asv names, whether it is
the planted one, how many commits asv benchmarked, and the wall time. The branch and the
worktree are removed afterwards unless ``--keep``; the asv results of the throwaway commits stay
in ``.asv/results`` (they are keyed by commit, so no series of main ever shows them).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = "bench_science.Amplitude.track_amplitude_bias"
#: where the regression is planted: before this line, after the legacy mosaic is trimmed
#: (pipelines/legacy.py)
PLANT_BEFORE = "    every = np.ones(stitched.shape, dtype=bool)\n"
PLANT = "    stitched = stitched * 1.25  # planted regression (scripts/find_demo.py)\n"
#: modules whose last line gets a comment in the harmless commits
TOUCH = ["stages.py", "errors.py", "progress.py", "atomic.py", "landing.py", "site.py", "cli.py", "__init__.py"]


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def make_branch(worktree: Path, branch: str, commits: int, at: int) -> tuple[str, list[str]]:
    git("worktree", "add", "-q", "-b", branch, str(worktree), "HEAD")
    env = {**os.environ, "GIT_AUTHOR_NAME": "find demo", "GIT_AUTHOR_EMAIL": "demo@localhost",
           "GIT_COMMITTER_NAME": "find demo", "GIT_COMMITTER_EMAIL": "demo@localhost"}
    made, planted = [], None
    for i in range(1, commits + 1):
        module = worktree / "src" / "ptychobench" / TOUCH[(i - 1) % len(TOUCH)]
        module.write_text(module.read_text() + f"# find demo, commit {i}\n")
        message = f"find demo {i}: a comment in {module.name}"
        if i == at:
            legacy = worktree / "src" / "ptychobench" / "pipelines" / "legacy.py"
            text = legacy.read_text()
            if PLANT_BEFORE not in text:
                raise SystemExit(f"{legacy}: the line to plant before is gone; update PLANT_BEFORE")
            legacy.write_text(text.replace(PLANT_BEFORE, PLANT + PLANT_BEFORE, 1))
            message += "; plants a regression: legacy stitched amplitude x1.25"
        subprocess.run(["git", "commit", "-qam", message], cwd=worktree, env=env, check=True)
        made.append(git("rev-parse", "HEAD", cwd=worktree))
        if i == at:
            planted = made[-1]
    return planted, made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=8)
    parser.add_argument("--at", type=int, default=5, help="the commit (1..COMMITS) that plants the regression")
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--keep", action="store_true", help="keep the branch and the worktree")
    args = parser.parse_args()
    if not 1 <= args.at <= args.commits:
        parser.error("--at must be between 1 and --commits")
    if git("status", "--porcelain", "--untracked-files=no"):
        raise SystemExit("the working tree has uncommitted changes: commit or stash them first")
    base = git("rev-parse", "HEAD")
    branch = f"find-demo-{time.strftime('%Y%m%dT%H%M%S')}"
    worktree = Path(tempfile.mkdtemp(prefix="find-demo-")) / "tree"
    try:
        planted, made = make_branch(worktree, branch, args.commits, args.at)
        print(f"branch {branch}: {len(made)} commits on {base[:8]}; planted at {planted[:8]} (commit {args.at})",
              flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_nox.py"), "-s", "find", "--",
                               f"{base}..{made[-1]}", BENCHMARK], cwd=ROOT, text=True, capture_output=True,
                              env={**os.environ, "PTYCHOBENCH_PROFILE": args.profile})
        seconds = time.perf_counter() - start
        out = proc.stdout + proc.stderr
        sys.stdout.write(out)
        found = re.search(r"Greatest regression found: ([0-9a-f]{8})", out)
        benchmarked = len(re.findall(r"For ptychobench commit", out))
        print(f"\nfind demo: {len(made) + 1} commits in the range (HEAD included), {benchmarked} benchmarked, "
              f"{seconds:.0f} s wall, profile {args.profile}")
        if not found:
            print("asv find named no commit", file=sys.stderr)
            return 1
        hit = planted.startswith(found.group(1))
        print(f"asv find names {found.group(1)}: {'the planted commit' if hit else 'NOT the planted commit ' + planted[:8]}")
        return 0 if hit and proc.returncode == 0 else 1
    finally:
        if not args.keep:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, capture_output=True)
            subprocess.run(["git", "branch", "-D", branch], cwd=ROOT, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
