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
from ptychobench.pipelines import modern, variants
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
    assert catalog.get("nll_form").variant(TINY).changes() == {"nll_form": "full_sum"}
    assert catalog.get("probe_scale_4").hypothesis == "H-NORMALIZATION"  # it changes the gauge
    assert not catalog.get("coverage").judged
    with pytest.raises(ConfigError, match="nll_form"):
        Variant(nll_form="nope")
    with pytest.raises(ConfigError, match="intervention"):
        catalog.get("nope")
    with pytest.raises(ConfigError, match="normalization"):
        Variant(normalization="nope")


def test_nll_form_variant_reaches_the_loss(faithful):
    from ptychobench.training.losses import NLL_FORMS

    assert variants.NLL_FORMS == NLL_FORMS
    assert faithful.nll_form == "mean"
    prep = modern.prepare(TINY, 0, variant=Variant(nll_form="full_sum"))
    assert prep.nll_form == "full_sum" and np.array_equal(prep.train.X, faithful.train.X)
    assert predict.prepared_gauge(prep) == predict.prepared_gauge(faithful)  # the decomposition predicts no change


@pytest.mark.slow
def test_nll_form_trains_at_tiny():
    """One seed of the NLL-form intervention at the tiny profile (about 30 s on 2 cores): the
    summed full log-pmf (positive, ~1e9 here) is the loss it trains on, not the mean
    log_poisson_loss (negative: no lgamma term)."""
    result = modern.run(TINY, seed=0, progress=False, variant=catalog.get("nll_form").variant(TINY)).to_json()
    assert result["failure"] is None and result["modern_config"]["variant"] == {"nll_form": "full_sum"}
    loss = result["training"]["history"]["pred_intensity_loss"]
    assert loss[0] > 1e6 and all(map(math.isfinite, loss))
    assert math.isfinite(result["metrics"]["amplitude_ratio"])


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


def _row(diffs, predicted, base_saturation=0.2, pearson=None, collapsed_baseline=None):
    """A row as a record stores it: per-seed paired differences and predicted effects on the ratio
    (None: a failed run; a None prediction: its baseline failed, so nothing was predicted), the
    baseline's saturation; no change in the other quantities unless given."""
    n = len(diffs)

    def effect(paired, baseline):
        return {"paired_differences": paired, "baseline": verdict.summary([baseline] * n)}
    preds = [None if p is None else {"effect": {"gauge_corrected_ratio": p, "amplitude_ratio": 0.0,
                                                "head_saturation": 0.0, "pearson": 0.0}} for p in predicted]
    return {"key": "k", "pipeline": "gs2_ideal", "seeds": list(range(n)), "predictions": preds,
            "effects": {"gauge_corrected_ratio": effect(diffs, 0.64), "amplitude_ratio": effect([0.0] * n, 0.2),
                        "head_saturation": effect([0.0] * n, base_saturation),
                        "pearson": effect(pearson or [0.0] * n, 0.1)},
            "collapsed": [d is None for d in diffs], "collapsed_baseline": collapsed_baseline or [False] * n}


@pytest.mark.parametrize("diffs, predicted, expected", [
    ([0.30, 0.32, 0.35], [0.31, 0.31, 0.31], "supported"),
    ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], "ruled out"),  # a baseline free to move (saturation 0.2)
    ([0.005, -0.01, 0.0], [0.3, 0.3, 0.3], "contradicted"),  # no effect where one was predicted
    ([0.30, 0.32, 0.35], [0.0, 0.0, 0.0], "contradicted"),  # an effect where none was
    ([0.45, 0.44, 0.45], [0.36, 0.36, 0.36], "contradicted"),  # an overshoot is a miss, not "toward 1"
    ([-0.3, 0.2, 0.05], [0.3, 0.3, 0.3], "inconclusive"),
    ([0.3, None, None], [0.3, None, None], "inconclusive"),  # two failed baselines: too few seeds
    ([0.3, 0.3, None], [0.3, 0.3, 0.3], "contradicted"),  # the third intervention run diverged: a result
    ([0.3, 0.31, None], [0.3, 0.3, None], "supported"),  # the third baseline failed: nothing predicted, left out
])
def test_judge(diffs, predicted, expected):
    out = verdict.judge(_row(diffs, predicted))
    assert out["verdict"] == expected, out["why"]
    if expected == "inconclusive" and out["tolerance"] is not None:
        assert out["seeds_needed"] > 3
    if diffs[-1] is None and predicted[-1] is not None:
        assert out["diverged"] == [2] and "diverged" in out["why"]


def test_a_pinned_baseline_is_never_ruled_out():
    pinned = dict(base_saturation=0.9997)
    # no change predicted, none measured anywhere: the ceiling hides any effect
    out = verdict.judge(_row([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], **pinned))
    assert out["verdict"] == verdict.PINNED and out["pinned"]
    # the ratio is held, but pearson moved at every seed: the prediction "no change" failed
    out = verdict.judge(_row([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], pearson=[0.3, 0.35, 0.32], **pinned))
    assert out["verdict"] == "contradicted" and out["also_moved"] == ["pearson +0.320"]
    # ... or every seed stopped collapsing
    out = verdict.judge(_row([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], collapsed_baseline=[True] * 3, **pinned))
    assert out["verdict"] == "contradicted" and "collapse lost at every seed" in out["why"]
    # pearson noise inside the floor moves nothing
    assert verdict.judge(_row([0.0] * 3, [0.0] * 3, pearson=[0.05, 0.06, 0.04], **pinned))["verdict"] == verdict.PINNED
    # a change predicted to release the pin is judged on the ratio as usual
    assert verdict.judge(_row([0.36, 0.35, 0.37], [0.36] * 3, **pinned))["verdict"] == "supported"


def test_the_tolerance_is_corrected_for_the_rows_of_a_hypothesis():
    d = np.array([0.30, 0.34, 0.38])
    assert verdict.z(1) == pytest.approx(1.959964, rel=1e-6) and verdict.z(4) == pytest.approx(2.497705, rel=1e-6)
    assert verdict.tolerance(d, floor=0.02, k=4) == pytest.approx(2.497705 * 1.25 * 0.04 / math.sqrt(3), rel=1e-6)
    assert verdict.tolerance(np.zeros(3), floor=0.02, k=8) == 0.02  # never below the floor
    # a miss of 0.06 contradicts a row judged alone; a larger family widens its τ
    row = _row([0.40, 0.42, 0.44], [0.36] * 3)
    assert verdict.judge(row, k=1)["verdict"] == "contradicted"
    assert verdict.judge(row, k=1)["tolerance"] < verdict.judge(row, k=100)["tolerance"]


def test_collapse():
    assert verdict.collapsed(None) and verdict.collapsed({"pearson": math.nan}) and verdict.collapsed({"pearson": 0.4})
    assert not verdict.collapsed({"pearson": 0.6})


def test_hypothesis_verdicts():
    def row(v, key="k"):
        return {"verdict": v, "key": key, "pipeline": "p"}
    assert verdict.hypothesis_verdict([row("supported"), row("supported")])[0] == "supported"
    assert verdict.hypothesis_verdict([row("supported"), row(verdict.PINNED)])[0] == "supported"
    # any miss contradicts, whatever else landed (the old rule counted a contradicted row as support)
    assert verdict.hypothesis_verdict([row("supported"), row("contradicted")])[0] == "contradicted"
    assert verdict.hypothesis_verdict([row("supported"), row("inconclusive")])[0] == "inconclusive"
    assert verdict.hypothesis_verdict([row("ruled out")] * 2)[0] == "ruled out"
    assert verdict.hypothesis_verdict([row("ruled out"), row(verdict.PINNED)])[0] == verdict.PINNED
    assert verdict.hypothesis_verdict([row(verdict.PINNED)])[0] == verdict.PINNED
    assert verdict.hypothesis_verdict([row(verdict.NOT_JUDGED)])[0] == "inconclusive"


def test_rejudging_the_smoke_record_contradicts_h_normalization():
    """The issue's case: in the smoke record H-NORMALIZATION was "supported" although legacy_gauge
    in gs1 measured 1.252 against 0.998 predicted. Judged again from its stored seeds, it is
    contradicted; the loss weights, behind baselines at the ceiling, are not "ruled out"; coverage
    gets no verdict; probe_scale_4 sits under H-NORMALIZATION."""
    from pathlib import Path

    from ptychobench.interventions import rejudge

    path = Path(__file__).resolve().parents[1] / "docs" / "interventions" / "smoke.json"
    record, changes = rejudge(json.loads(path.read_text()), commit="test")
    rows = {(r["key"], r["pipeline"]): r for r in record["rows"]}
    gs1 = rows[("legacy_gauge", "gs1_ideal")]
    assert gs1["verdict"] == "contradicted" and gs1["miss"] > gs1["tolerance"]
    assert record["hypotheses"]["H-NORMALIZATION"]["verdict"] == "contradicted"
    assert "legacy_gauge (gs1_ideal)" in record["hypotheses"]["H-NORMALIZATION"]["why"]
    assert rows[("loss_weights", "gs2_ideal")]["verdict"] == verdict.PINNED
    assert record["hypotheses"]["H-LOSS-WEIGHT"]["verdict"] == verdict.PINNED
    assert rows[("coverage", "gs1_ideal")]["verdict"] == verdict.NOT_JUDGED and "coverage" not in record["hypotheses"]
    assert rows[("probe_scale_4", "gs2_ideal")]["hypothesis"] == "H-NORMALIZATION"
    assert {"level": "hypothesis", "name": "H-NORMALIZATION", "old": "supported", "new": "contradicted"} in changes
    assert not any("fisher_p" in r for r in record["rows"])
    assert "H-NORMALIZATION" in record["root_cause"] and "contradict" in record["root_cause"]


@pytest.mark.parametrize("name", ["smoke", "investigation"])
def test_the_records_and_the_docs_carry_the_current_verdicts(name):
    """Each record's verdicts are what the current rules give its stored measurements, and every
    verdict sentence of docs/interventions.md is the one generated from it."""
    import copy
    from pathlib import Path

    from ptychobench.interventions import judge_record, update_prose

    root = Path(__file__).resolve().parents[1]
    path = f"docs/interventions/{name}.json"
    record = json.loads((root / path).read_text())
    again = judge_record(copy.deepcopy(record))
    assert again["hypotheses"] == record["hypotheses"]
    assert [r["verdict"] for r in again["rows"]] == [r["verdict"] for r in record["rows"]]
    doc = (root / "docs" / "interventions.md").read_text()
    assert update_prose(doc, path, record) == doc


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
    # every tiny baseline sits at the ceiling? Then "no change" is not testable on the ratio
    pinned = rows["loss_weights"]["pinned"]
    assert rows["loss_weights"]["verdict"] == (verdict.PINNED if pinned else "ruled out")
    assert record["hypotheses"]["H-LOSS-WEIGHT"]["verdict"] == rows["loss_weights"]["verdict"]
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
