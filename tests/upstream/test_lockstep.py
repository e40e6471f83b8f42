"""Lockstep (:mod:`ptychobench.upstream.lockstep`) on the tiny profile, one epoch (4 steps).

The original's dose flow (dose_experiments' tip, TF 2.15 era) trains unshuffled with its own fit and
records every step; ours trains from its initial weights on its arrays. Unchanged, ours stays within
the float32 rounding floor; with a planted change in our loss (the NLL as a per-pixel mean instead of
the original's per-sample sum), the lockstep names step 1 and the loss.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from .conftest import need_env

from ptychobench.upstream import checkout as co
from ptychobench.upstream import envs
from ptychobench.upstream import lockstep as L

pytestmark = pytest.mark.skipif(not co.DEFAULT_BUNDLE.is_file(), reason=f"no bundle at {co.DEFAULT_BUNDLE}")
STEPS = 4



@pytest.fixture(scope="module")
def theirs(tmp_path_factory):
    need_env("tf215")
    folder = L.run_theirs("tiny", tmp_path_factory.mktemp("lockstep") / "theirs", STEPS, epochs=1)
    return L.load_theirs(folder)


@pytest.fixture(scope="module")
def floor(theirs):
    return L.run_ours(theirs, "tiny", STEPS, jit_compile=False)


def test_the_original_records_what_its_fit_was_given(theirs):
    fit = theirs["record"]["scalars"]["lockstep_fit"]
    assert fit["fit_kwargs"]["shuffle"] is False and fit["batch_size"] == 16
    assert fit["n_train"] == int(np.floor(fit["n"] * 0.95)) and fit["targets_minus_inputs"] == [0.0, 0.0]
    assert fit["callbacks"] == ["ReduceLROnPlateau", "EarlyStopping"]
    a = theirs["arrays"]
    assert len(a["loss"]) == STEPS == a["grad_norm"].shape[0] and a["grad_norm"].shape[1] == 32
    # the mapping of the original's variables onto ours, by its own layer names
    names = [theirs["names"][i][0].split("/")[0] for i in L.THEIRS_INDEX[::2]]
    assert names[:6] == ["conv2d"] + [f"conv2d_{k}" for k in range(1, 6)]
    assert names[6:] == [f"conv2d_{k}" for k in (8, 9, 10, 11, 14, 15, 16, 17, 6, 12)]


def test_ours_keeps_lockstep_and_a_planted_nll_is_caught_at_step_1(theirs, floor):
    ours = L.run_ours(theirs, "tiny", STEPS, jit_compile=True)
    result = L.compare(theirs, ours, floor)
    assert result["verdict"] == "LOCKSTEP", result["first_parting"]
    first = result["steps"][0]
    assert first["loss"]["diff"] < 1e-4 and first["grad_norm"]["max_diff"] < 1e-3
    assert [e["lr_ours"] for e in result["epochs"]] == [e["lr_theirs"] for e in result["epochs"]]

    # the rounding floor is the unplanted pair's (ours with XLA and on TensorFlow's kernels)
    planted = L.run_ours(theirs, "tiny", STEPS, jit_compile=False, plant="nll_mean")
    result = L.compare(theirs, planted, floor, floor_ref=ours)
    assert result["verdict"] == "PARTED"
    assert result["first_parting"]["step"] == 1 and result["first_parting"]["quantity"] == "loss"
