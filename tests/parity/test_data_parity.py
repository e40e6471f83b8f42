"""Same object, probe and positions give the same diffraction and coordinates in both front ends."""

import pytest

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_data_parity(parity_outcome):
    assert_check(parity_outcome, "data")


def test_fixture_cross_check_ran(parity_outcome):
    fixtures = parity_outcome.check("data").details["fixtures"]
    assert fixtures["diffraction_rel_to_max"] <= 1e-5
    assert fixtures["object_abs"] == 0.0
