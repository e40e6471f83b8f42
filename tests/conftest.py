"""Shared pytest fixtures for the ptychobench test suite.

* ``fixtures_dir``: where the cross-check arrays from the original PtychoPINN code live
  (``tests/fixtures/original``, a copy of ``shared/fixtures``; or ``$PTYCHOBENCH_FIXTURES``).
* ``_reset_legacy_cfg`` (autouse): restores the global legacy ``cfg`` after every test,
  so no test sees settings another test left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ptychobench.config import params


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Directory of the original implementation's fixture arrays (see its README.md)."""
    override = os.environ.get("PTYCHOBENCH_FIXTURES")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parent / "fixtures" / "original"


@pytest.fixture(autouse=True)
def _reset_legacy_cfg():
    """Reset the legacy global configuration after each test."""
    yield
    params.reset()
