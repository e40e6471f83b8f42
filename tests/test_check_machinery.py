"""The parts every check is built from, on hand-computed cases: rows, messages, the Poisson
statistics and their standard deviations (Monte Carlo), and the overlap guard's bound."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ptychobench.parity.checks import data
from ptychobench.parity.checks.rows import Rows, abs_log


def test_a_check_without_rows_fails():
    result = Rows().result("empty", "nothing", {})
    assert not result.passed
    assert "no comparison was made" in result.problems[0]


def test_a_failed_array_comparison_says_what_differs():
    r = Rows()
    got = np.arange(29)
    want = got.copy()
    want[[3, 17]] = [-1, 99]
    r.equal("indices", got, want)
    message = r.problems[0]
    assert "2 of 29 elements differ" in message
    assert "[3] 3 != -1" in message.replace("np.int64(", "").replace(")", "")
    r.equal("shapes", np.zeros((2, 3)), np.zeros((3, 2)))
    assert "shape (2, 3), expected (3, 2)" in r.problems[1]


def test_nan_fails_every_comparison_and_is_counted_as_a_difference():
    r = Rows()
    assert not r.equal("nan arrays", np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    assert "1 of 2 elements differ" in r.problems[0]
    assert not r.within("nan value", math.nan, "training", "log_scale_abs")


@pytest.mark.parametrize("x", [0.0, -1.0, math.nan, math.inf])
def test_abs_log_of_a_non_positive_or_non_finite_number_is_inf(x):
    assert abs_log(x) == math.inf


def test_inside_fails_outside_and_on_nan_and_says_which_side():
    r = Rows()
    assert r.inside("q", 0.5, 0.0, 1.0, "t")
    assert not r.inside("q", 1.5, 0.0, 1.0, "t")
    assert not r.inside("q", -0.5, 0.0, 1.0, "t")
    assert not r.inside("q", math.nan, 0.0, 1.0, "t")
    assert ["above" in r.problems[0], "below" in r.problems[1], "not finite" in r.problems[2]] == [True] * 3


def _far_field_rates(rng, patterns=16, N=32, photons=1e4):
    """Rates shaped like far fields: a bright DC pixel and a decaying halo, ``photons`` each."""
    y, x = np.indices((N, N)) - N // 2
    shape = np.exp(-np.hypot(x, y) / 3.0)
    shape[N // 2, N // 2] *= 4
    lam = shape[None] * rng.uniform(0.5, 1.5, (patterns, 1, 1))
    return lam * photons / lam.sum(axis=(1, 2), keepdims=True)


def test_poisson_sigmas_match_monte_carlo():
    """The standard deviations written out in poisson_statistics match 4000 Poisson redraws
    of the same rates within the redraws' own error (std of a std: 1/sqrt(2 * 4000) = 1.1%)."""
    rng = np.random.default_rng(0)
    lam = _far_field_rates(rng)
    draws = [data.poisson_statistics(lam, rng.poisson(lam)) for _ in range(4000)]
    want = data.poisson_statistics(lam, lam)
    for name in ("mean_ratio", "dispersion"):
        values = np.array([d[name] for d in draws])
        assert abs(values.mean() - 1) < 5 * want[f"{name}_sigma"] / math.sqrt(len(values))
        assert values.std(ddof=1) == pytest.approx(want[f"{name}_sigma"], rel=0.05)


def test_no_noise_and_doubled_variance_are_far_outside_five_sigma():
    rng = np.random.default_rng(1)
    lam = _far_field_rates(rng, patterns=64)
    noiseless = data.poisson_statistics(lam, lam)
    doubled = data.poisson_statistics(lam, np.maximum(rng.poisson(lam) + rng.normal(0, np.sqrt(lam)), 0))
    assert abs(noiseless["dispersion"] - 1) / noiseless["dispersion_sigma"] > 10
    assert abs(doubled["dispersion"] - 1) / doubled["dispersion_sigma"] > 10


def test_overlap_guard_bound_of_the_integer_extraction_tolerance():
    """k patches of value v averaged through C / (C + 0.001): the relative error 0.001 / (k + 0.001)
    is below 1e-3 for every k >= 1, the bound of extraction_integer_rel_to_max."""
    from ptychobench.parity import tables

    for k in range(1, 9):
        assert abs(k / (k + 0.001) - 1) < 1e-3 < tables.tolerance("data", "extraction_integer_rel_to_max")
