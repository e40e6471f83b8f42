#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2025.02.09"]
# ///
"""Sessions of ptychobench.

    nox -s parity            # the parity suite on the smoke profile; prints its report folder last
    nox -s tests             # the whole test suite (unit tests + parity suite)

Positional arguments after ``--`` go to pytest. ``PTYCHOBENCH_PROFILE`` picks the
profile (smoke by default); ``PTYCHOBENCH_REPORTS`` the report root (``reports``).
Inside the container, run with ``--no-venv``: TensorFlow is already installed there.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.needs_version = ">=2025.02.09"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")
TEST_DEPS = nox.project.dependency_groups(PYPROJECT, "test")
REPORTS = os.environ.get("PTYCHOBENCH_REPORTS", "reports")
ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}


def install(session: nox.Session) -> None:
    """The project with the CPU TensorFlow wheel, plus the test tools (skipped without a venv)."""
    if session.venv_backend == "none":
        return
    session.install("-e", ".[cpu]", *TEST_DEPS)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: unit tests, then the parity suite (posargs go to pytest)."""
    install(session)
    session.run("pytest", *(session.posargs or ["tests"]), env=ENV)


@nox.session
def parity(session: nox.Session) -> None:
    """Legacy vs modern, stage by stage, on the default profile; the report path is the last line."""
    install(session)
    session.run("pytest", "tests/parity", *session.posargs, env={**ENV, "PTYCHOBENCH_REPORTS": REPORTS})
    latest = Path(REPORTS) / "LATEST"
    print(Path(REPORTS) / latest.read_text().strip())


if __name__ == "__main__":
    nox.main()
