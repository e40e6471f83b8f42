"""``nox -s find`` (``asv find`` over A..B, A included): on a throwaway repository whose
'science' metric is planted to get worse at one commit, the bisection names that commit.

Cheap on purpose: a pure-Python package, a science computed in ``setup_cache`` as in our
suite, one virtualenv for all commits, about log2(n) commits built.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .asv_fixtures import ASV, commit, conf, init_repo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import history  # noqa: E402

pytestmark = pytest.mark.slow

BENCH = textwrap.dedent(
    """
    import tinybench


    class Science:
        version = "1"

        def setup_cache(self):
            return tinybench.science()

        def track_amplitude_bias(self, cache):
            return cache["amplitude_bias"]

        track_amplitude_bias.unit = "|ln ratio|"
    """
)


def package(bias: float) -> dict:
    return {"tinybench/__init__.py": f"def science():\n    return {{'amplitude_bias': {bias!r}}}\n"}


def test_find_names_the_commit_that_planted_the_regression(tmp_path):
    repo = tmp_path / "repo"
    init_repo(repo, conf())  # the virtualenv's own setuptools builds the wheel: no download
    first = commit(repo, {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
                          '[project]\nname = "tinybench"\nversion = "0"\n[tool.setuptools]\npackages = ["tinybench"]\n',
        "benchmarks/__init__.py": "", "benchmarks/bench_tiny.py": BENCH, **package(0.01)}, "good 0")
    commits = [first] + [commit(repo, {"NOTES": f"{i}\n"}, f"good {i}") for i in (1, 2)]
    planted = commit(repo, package(0.05), "planted: bias x5")
    commits += [planted] + [commit(repo, {"NOTES": f"{i}\n"}, f"after {i}") for i in (4, 5)]
    subprocess.run([*ASV, "machine", "--yes", "--machine", "testbox"], cwd=repo, check=True, capture_output=True)
    span = history.find_range(f"{commits[0]}..{commits[-1]}", repo)
    proc = subprocess.run([*ASV, "find", "--machine", "testbox", span, "bench_tiny.Science.track_amplitude_bias"],
                          cwd=repo, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = [line for line in proc.stdout.splitlines() if "Greatest regression found" in line]
    assert found and planted[:8] in found[0], proc.stdout
