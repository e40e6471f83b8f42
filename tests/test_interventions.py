"""``ptychobench intervene``: each change does what it says (checked against formulas written out
here), the prediction follows the decomposition, the verdicts follow their rules, and the
machinery (baselines first, predictions written before training, paired over seeds, resumable)
works on the tiny profile: the CI tier, two interventions."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime

import numpy as np
import pytest

from ptychobench.errors import ConfigError
from ptychobench.interventions import catalog, predict, verdict
from ptychobench.pipelines import modern
from ptychobench.pipelines.profiles import get_profile
from ptychobench.pipelines.variants import CEILING_MARGIN, Variant

TINY = get_profile("tiny")


@pytest.fixture(scope="module")
def faithful():
    return modern.prepare(TINY, 0)


def test_the_default_variant_is_the_faithful_pipeline(faithful):
    again = modern.prepare(TINY, 0, variant=Variant())
    assert np.array_equal(again.train.X, faithful.train.X) and np.array_equal(again.test.X, faithful.test.X)
    assert again.s_c == faithful.s_c and again.weights == faithful.weights and again.epochs == faithful.epochs
    assert "variant" not in faithful.modern_config


def test_legacy_gauge_divides_the_object_by_norm_y_i(faithful):
    """X of the object / norm_Y_I is X / norm_Y_I (the diffraction is linear in the object), with
    norm_Y_I the mean over groups of the group's largest raw amplitude, written out here."""
    prep = modern.prepare(TINY, 0, variant=Variant(normalization="legacy_gauge"))
    def norm_y_i(data):  # each split its own, as the legacy recipe does
        maxima = [max(float(data.Y_I[b, :, :, c].max()) for c in range(4)) for b in range(data.n_groups)]
        return sum(maxima) / len(maxima)

    raw = faithful.train.X / np.float32(faithful.train.scale_factors["g"])  # undo normalize_data
    norm = norm_y_i(faithful.train)
    assert prep.train.scale_factors["norm_Y_I"] == pytest.approx(norm, rel=1e-12)
    np.testing.assert_allclose(prep.train.X, raw / norm, rtol=2e-6, atol=1e-7)
    test_norm = norm_y_i(faithful.test)
    assert prep.diffraction_gain == 1.0 and prep.object_normalization == pytest.approx(1 / test_norm, rel=1e-12)
    assert predict.prepared_gauge(prep) == (pytest.approx(1 / test_norm, rel=1e-9), 1.0)


def test_ceiling_target_puts_the_largest_demand_under_the_ceiling(faithful):
    prep = modern.prepare(TINY, 0, variant=Variant(normalization="ceiling_target"))
    demand = prep.train.scale_factors["g"] * float(prep.train.Y_I.max())  # k from the training split
    assert demand == pytest.approx(CEILING_MARGIN, rel=1e-6)
    k = prep.diffraction_gain / faithful.diffraction_gain
    np.testing.assert_allclose(prep.test.X, faithful.test.X * k, rtol=2e-6, atol=1e-7)  # one target for both splits


def test_dataset_scale_is_d4f_and_leaves_the_gauge(faithful):
    prep = modern.prepare(TINY, 0, variant=Variant(intensity_scale="dataset"))
    raw = faithful.train.X.astype(np.float64) / faithful.train.scale_factors["g"]
    energy = [float((raw[b] ** 2).sum()) for b in range(raw.shape[0])]  # summed over x, y and the channels
    assert prep.s_c == pytest.approx(math.sqrt(TINY.nphotons / np.mean(energy)), rel=1e-5)
    assert predict.prepared_gauge(prep)[0] == pytest.approx(predict.prepared_gauge(faithful)[0], rel=1e-9)


def test_every_intervention_changes_exactly_what_it_names():
    for key, item in catalog.CATALOG.items():
        assert item.hypothesis in catalog.HYPOTHESES
        assert set(item.pipelines) <= set(catalog.PIPELINES)
        if item.variant is not None:
            changes = item.variant(TINY).changes()
            assert changes, key
    assert catalog.get("head_relu").variant(TINY).changes() == {"model": {"amp_activation": "relu"}}
    assert catalog.get("legacy_training").variant(get_profile("smoke")).changes() == {
        "training": {"nepochs": 16, "batch_size": 16}, "presplit_shuffle": True}
    with pytest.raises(ConfigError, match="intervention"):
        catalog.get("nope")
    with pytest.raises(ConfigError, match="normalization"):
        Variant(normalization="nope")


def test_demand_model_written_out():
    t = np.array([0.5, 1.0, 2.0, 4.0])
    m = predict.demand_model(0.5, 1.0, t)  # demands 0.25, 0.5, 1, 2 -> put out 0.25, 0.5, 1, 1
    assert m["head_clip"] == pytest.approx(2.75 / 3.75)
    assert m["head_saturation"] == pytest.approx(0.5)
    assert predict.demand_model(0.5, math.inf, t) == {"head_clip": 1.0, "head_saturation": 0.0, "pearson": pytest.approx(1.0)}


def test_prediction_keeps_the_residual_and_changes_the_clip():
    truth = np.linspace(1.0, 4.0, 100).reshape(10, 10)
    run = {"scale_factors": {"g": 0.5, "s_c": 988.0, "initial_log_scale": math.log(988.0)},
           "config": {"amp_activation": "sigmoid"},
           "metrics": {"amplitude_ratio": 0.3, "head_saturation": 0.9, "pearson": 0.1}}  # gauge-corrected: 0.6
    arrays = {"truth": truth, "covered": np.ones_like(truth, bool)}
    clip = np.minimum(0.5 * truth, 1).mean() / (0.5 * truth).mean()
    out = predict.predict(run, arrays, 0.5, math.inf)
    assert out["residual"] == pytest.approx(0.6 / clip)
    assert out["predicted"]["gauge_corrected_ratio"] == pytest.approx(0.6 / clip)
    assert out["effect"]["gauge_corrected_ratio"] == pytest.approx(0.6 / clip - 0.6)
    assert out["predicted"]["amplitude_ratio"] == pytest.approx(0.5 * 0.6 / clip)
    assert predict.predict(run, arrays, 0.5, 1.0)["effect"]["gauge_corrected_ratio"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("diffs, predicted, expected", [
    ([0.30, 0.32, 0.35], [0.31, 0.31, 0.31], "supported"),
    ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], "ruled out"),
    ([0.005, -0.01, 0.0], [0.3, 0.3, 0.3], "ruled out"),
    ([0.30, 0.32, 0.35], [0.0, 0.0, 0.0], "contradicted"),
    ([-0.3, 0.2, 0.05], [0.3, 0.3, 0.3], "inconclusive"),
    ([0.3, math.nan, math.nan], [0.3, 0.3, 0.3], "inconclusive"),
    ([0.3, 0.3, math.nan], [0.3, 0.3, 5.0], "supported"),  # a failed seed's prediction is left out too
    ([0.3, 0.3, 0.3], [math.nan] * 3, "inconclusive"),  # nothing was predicted
])
def test_judge(diffs, predicted, expected):
    out = verdict.judge(diffs, predicted)
    assert out["verdict"] == expected, out["why"]
    if expected == "inconclusive" and out["tolerance"] is not None:
        assert out["seeds_needed"] > 3


def test_fisher_and_collapse():
    assert verdict.fisher([True] * 3, [False] * 3) == pytest.approx(0.1)  # 1 / C(6, 3) · 2
    assert verdict.fisher([True] * 3, [True] * 3) == 1.0
    assert verdict.collapsed(None) and verdict.collapsed({"pearson": math.nan}) and verdict.collapsed({"pearson": 0.4})
    assert not verdict.collapsed({"pearson": 0.6})


def test_hypothesis_verdicts():
    def row(v, needed=True):
        return {"verdict": v, "for_hypothesis": needed, "key": "k", "pipeline": "p"}
    assert verdict.hypothesis_verdict([row("ruled out"), row("supported")])[0] == "supported"
    assert verdict.hypothesis_verdict([row("ruled out"), row("contradicted")])[0] == "supported"
    assert verdict.hypothesis_verdict([row("ruled out"), row("contradicted", False)])[0] == "ruled out"
    assert verdict.hypothesis_verdict([row("ruled out"), row("supported", False)])[0] == "ruled out"
    assert verdict.hypothesis_verdict([row("ruled out"), row("inconclusive")])[0] == "inconclusive"
    assert verdict.hypothesis_verdict([row("ruled out", False)] * 2)[0] == "ruled out"


@pytest.mark.slow
def test_tiny_tier_predicts_before_training_pairs_seeds_and_resumes(tmp_path):
    """The CI tier: two interventions at two seeds on gs2_ideal (six runs in their own processes)."""
    from ptychobench.interventions import TINY as TIER, intervene, write_report
    from ptychobench.progress import Progress

    quiet = Progress(label="test", enabled=False)
    record = intervene(tmp_path, "tiny", [0, 1], list(TIER), ["gs2_ideal"], quiet)
    report = write_report(record, tmp_path)
    assert report.exists() and (tmp_path / "interventions.png").stat().st_size > 10_000
    rows = {r["key"]: r for r in record["rows"]}
    assert set(rows) == set(TIER)
    # the legacy loss weights are the modern ones (D1): the same run, bit for bit
    for seed in (0, 1):
        base = json.loads((tmp_path / f"baseline_gs2_ideal_seed{seed}.json").read_text())
        same = json.loads((tmp_path / f"loss_weights_gs2_ideal_seed{seed}.json").read_text())
        assert same["weights_sha256"] == base["weights_sha256"]
        relu = json.loads((tmp_path / f"head_relu_gs2_ideal_seed{seed}.json").read_text())
        assert relu["config"]["amp_activation"] == "relu" and relu["intervention"] == "head_relu"
        # predicted before it trained: the prediction file is older than the run, and both carry it
        written = json.loads((tmp_path / f"head_relu_gs2_ideal_seed{seed}.prediction.json").read_text())
        assert written == relu["prediction"]
        assert (datetime.fromisoformat(written["predicted_at"]).timestamp()
                <= os.path.getmtime(tmp_path / f"head_relu_gs2_ideal_seed{seed}.json"))
        # unbounded head: no ceiling (None in strict JSON), the gauge unchanged
        assert written["ceiling_after"] is None and written["gauge_after"] == pytest.approx(written["gauge_before"])
    assert rows["loss_weights"]["effects"]["gauge_corrected_ratio"]["paired_differences"] == [0.0, 0.0]
    assert rows["loss_weights"]["verdict"] == "ruled out"
    assert record["hypotheses"]["H-LOSS-WEIGHT"]["verdict"] == "ruled out"
    assert record["root_cause"] and "H-LOSS-WEIGHT" in record["root_cause"]
    json.loads((tmp_path / "interventions.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    # resumes: nothing is trained again
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*_seed*.json")}
    intervene(tmp_path, "tiny", [0, 1], list(TIER), ["gs2_ideal"], quiet)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*_seed*.json")} == stamps


def test_a_failed_baseline_gives_an_unpredicted_run_not_an_aborted_pass(tmp_path):
    from ptychobench.interventions import _command

    runs = {"baseline_gs2_ideal": ("baseline", "gs2_ideal"), "head_relu_gs2_ideal": ("head_relu", "gs2_ideal")}
    command_for = _command("tiny", runs)
    (tmp_path / "baseline_gs2_ideal_seed0.json").write_text(json.dumps({"failure": "NaN loss in epoch 1"}))
    (tmp_path / "baseline_gs2_ideal_seed1.json").write_text(json.dumps({"failure": None}))
    assert "--baseline" not in command_for("head_relu_gs2_ideal", 0, tmp_path)
    assert "--baseline" in command_for("head_relu_gs2_ideal", 1, tmp_path)
    assert "--intervention" not in command_for("baseline_gs2_ideal", 0, tmp_path)
