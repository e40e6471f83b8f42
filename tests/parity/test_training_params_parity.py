"""Optimizer, learning rate, callbacks, batch, epochs."""

import pytest

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_training_parameters(parity_outcome):
    assert_check(parity_outcome, "training_params")
    legacy = parity_outcome.check("training_params").details["legacy"]
    assert legacy["optimizer"] == "Adam" and legacy["learning_rate"] == 1e-3
