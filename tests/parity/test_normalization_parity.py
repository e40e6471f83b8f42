"""Stage tables, stage ratios, chain products and the primary deviation source."""

import pytest

from ptychobench.stages import STAGES

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_stage_invariants(parity_outcome):
    assert_check(parity_outcome, "normalization")


def test_stage_tables_complete(parity_outcome):
    details = parity_outcome.check("normalization").details
    for pipeline in ("legacy", "modern"):
        assert [row["name"] for row in details["stages"][pipeline]] == list(STAGES)
    # the two front ends normalise in different places: object (legacy) vs diffraction (modern)
    assert details["primary_deviation_source"] in ("object_normalized", "normalized_diffraction")
