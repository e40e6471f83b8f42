"""Amplitude ratio, gauge-corrected ratio and bias of both pipelines, within the tolerance table."""

import math

import pytest

from .conftest import assert_check

pytestmark = [pytest.mark.parity, pytest.mark.slow]


def test_amplitude(parity_outcome):
    assert_check(parity_outcome, "amplitude")


def test_gauge_is_stated(parity_outcome):
    for name, run in parity_outcome.runs.items():
        m = run.metrics
        assert m["gauge_corrected_ratio"] == pytest.approx(m["amplitude_ratio"] / m["expected_gauge"])
        assert m["amplitude_bias"] == pytest.approx(abs(math.log(m["gauge_corrected_ratio"])))
