"""Helpers of the upstream tests (the original's code run through our stages)."""

from __future__ import annotations

import os

import pytest

from ptychobench.upstream import envs


def need_env(era: str) -> None:
    """Build the era's environment under ``nox -s tests`` (which sets PTYCHOBENCH_REQUIRE_UPSTREAM and
    has built it already) or CI; a bare ``pytest`` without the environment skips, naming the command
    that builds it (a 1.3 GB download is not a test's side effect to spring on a developer)."""
    if not envs.is_built(era):
        if os.environ.get("CI") or os.environ.get("PTYCHOBENCH_REQUIRE_UPSTREAM"):
            envs.ensure(era)
        else:
            pytest.skip(f"the {era} environment is not built: python -m ptychobench.upstream.envs {era}")
