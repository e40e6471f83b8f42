"""Loss configuration (Phase D1): framework defaults, dose-recipe snapshots, effective weights."""

import json

import pytest

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_loss_weights_agree(parity_outcome):
    assert_check(parity_outcome, "loss_config")


def test_loss_artifacts(parity_outcome):
    artifacts = parity_outcome.check("loss_config").artifacts
    assert {"legacy_params_cfg_defaults.json", "loss_config_diff.md", "loss_config_diff.json",
            "dose_loss_weights.json"} <= set(artifacts)
    dose = json.loads(artifacts["dose_loss_weights.json"])
    assert (dose["nll"]["mae_weight"], dose["nll"]["nll_weight"]) == (0.0, 1.0)
    assert (dose["mae"]["mae_weight"], dose["mae"]["nll_weight"]) == (1.0, 0.0)
