"""Every key of the bridged legacy dict after each front end's set-up; only documented differences."""

import pytest

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_config_differences_are_documented(parity_outcome):
    assert_check(parity_outcome, "config")


def test_every_difference_has_a_reason(parity_outcome):
    details = parity_outcome.check("config").details
    for row in details["defaults"] + details["runtime"]:
        assert row["documented"] and row["why"] != "UNDOCUMENTED", row
