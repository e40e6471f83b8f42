"""``asv continuous`` (the command behind ``nox -s compare``) exits non-zero exactly when a
tracked metric gets worse: proven on a temporary repository with a tiny benchmarked change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ASV = [sys.executable, "-m", "asv"]

CONF = {
    "version": 1,
    "project": "tinybench",
    "repo": ".",
    "branches": ["main"],
    "environment_type": "virtualenv",
    "pythons": [f"{sys.version_info.major}.{sys.version_info.minor}"],
    "matrix": {"req": {"setuptools": [""], "wheel": [""]}},
    "build_command": ["python -m pip wheel --no-deps --no-build-isolation -w {build_cache_dir} {build_dir}"],
    "install_command": ["in-dir={env_dir} python -m pip install --no-deps {wheel_file}"],
    "benchmark_dir": "benchmarks",
    "env_dir": ".asv/env",
    "results_dir": ".asv/results",
    "html_dir": ".asv/html",
}

BENCH = textwrap.dedent(
    """
    import tinybench


    class Tiny:
        version = "1"

        def track_error(self):
            return tinybench.ERROR

        track_error.unit = "error"
    """
)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout.strip()


def commit_error(repo: Path, value: float) -> str:
    """Commit a tracked error of ``value`` (plus an unrelated change, so every commit differs)."""
    (repo / "tinybench" / "__init__.py").write_text(f"ERROR = {value!r}\n")
    notes = repo / "NOTES"
    notes.write_text((notes.read_text() if notes.exists() else "") + f"error {value}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"error {value}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.fail("git is required")
    repo = tmp_path_factory.mktemp("tinyrepo")
    git(repo, "init", "-q", "-b", "main")
    (repo / "tinybench").mkdir()
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "__init__.py").write_text("")
    (repo / "benchmarks" / "bench_tiny.py").write_text(BENCH)
    (repo / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinybench"\nversion = "0"\n[tool.setuptools]\npackages = ["tinybench"]\n'
    )
    (repo / "asv.conf.json").write_text(json.dumps(CONF, indent=2))
    (repo / ".gitignore").write_text(".asv/\n")
    subprocess.run([*ASV, "machine", "--yes", "--machine", "testbox"], cwd=repo, check=True, capture_output=True)
    return repo


def continuous(repo: Path, base: str, head: str) -> subprocess.CompletedProcess:
    return subprocess.run([*ASV, "continuous", "--machine", "testbox", "--factor", "1.1", base, head],
                          cwd=repo, capture_output=True, text=True, timeout=900)


def test_compare_fails_on_regression_and_passes_otherwise(repo):
    good = commit_error(repo, 1.0)
    worse = commit_error(repo, 2.0)
    regressed = continuous(repo, good, worse)
    assert regressed.returncode != 0, regressed.stdout + regressed.stderr
    assert "PERFORMANCE DECREASED" in regressed.stdout or "decreased" in regressed.stdout.lower()
    better = commit_error(repo, 1.0)
    improved = continuous(repo, worse, better)
    assert improved.returncode == 0, improved.stdout + improved.stderr
    same = commit_error(repo, 1.0)
    unchanged = continuous(repo, better, same)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
