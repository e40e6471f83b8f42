"""Helpers of the upstream tests (the original's code run through our stages)."""

from __future__ import annotations

import os

import pytest

from ptychobench.upstream import envs


def need_env(era: str) -> None:
    """Build the era's environment under CI (``nox -s tests`` has built it already), else skip with
    the command that builds it."""
    if not envs.is_built(era):
        if os.environ.get("CI") or os.environ.get("PTYCHOBENCH_REQUIRE_UPSTREAM"):
            envs.ensure(era)
        else:
            pytest.skip(f"the {era} environment is not built: python -m ptychobench.upstream.envs {era}")
