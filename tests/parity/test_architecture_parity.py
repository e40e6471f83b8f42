"""Layer-by-layer shapes and parameter counts of both models."""

import pytest

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_architecture_parity(parity_outcome):
    assert_check(parity_outcome, "architecture")
    assert "architecture_diff.md" in parity_outcome.check("architecture").artifacts
