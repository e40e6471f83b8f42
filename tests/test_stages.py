"""Stage recorder, stage ratios, chain product and the primary deviation source."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ptychobench import stages
from ptychobench.stages import StageRecorder, primary_deviation_source, stage_ratios, summarize


def _row(name, mean):
    return {"name": name, "mean": mean}


def test_recorder_row_statistics():
    rec = StageRecorder()
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]], dtype=np.float32)
    rec.record("object", a, norm_Y_I=2.5, s_sim=np.float32(4.0))
    (row,) = rec.table()
    assert row == {
        "name": "object",
        "mean": pytest.approx(4.0),
        "sum": pytest.approx(24.0),
        "max": 9.0,
        "shape": [2, 3],
        "dtype": "float32",
        "scale_factors": {"norm_Y_I": 2.5, "s_sim": 4.0},
    }
    assert type(row["scale_factors"]["s_sim"]) is float


def test_summarize_complex_uses_modulus():
    z = np.array([3 + 4j, 0 + 1j, -6 + 8j], dtype=np.complex64)
    r = summarize("object_patch", z)
    assert r.mean == pytest.approx((5 + 1 + 10) / 3)
    assert r.sum == pytest.approx(16.0)
    assert r.max == pytest.approx(10.0)
    assert r.dtype == "complex64"
    assert r.shape == (3,)


def test_summarize_sum_accumulates_in_float64():
    # 2**24 + 1 is not representable in float32; a float32 accumulator would lose it
    a = np.full(3, 1.0, dtype=np.float32)
    a[0] = 2.0**24
    assert summarize("object", a).sum == 2.0**24 + 2.0


def test_table_follows_chain_order():
    rec = StageRecorder()
    rec.record("truth_window", np.ones(2))
    rec.record("raw_diffraction", np.ones(2))
    rec.record("object", np.ones(2))
    rec.record("model_input", np.ones(2))
    names = [r["name"] for r in rec.table()]
    assert names == ["object", "raw_diffraction", "model_input", "truth_window"]


def test_stage_vocabulary_order():
    assert stages.STAGES[:3] == ("object", "object_normalized", "raw_diffraction")
    assert stages.STAGES[-1] == "truth_window"
    assert set(stages.STAGE_MEANING) == set(stages.STAGES)


def test_rerecord_replaces():
    rec = StageRecorder()
    rec.record("object", np.ones(4))
    rec.record("object", np.full(4, 3.0))
    (row,) = rec.table()
    assert row["mean"] == 3.0


def test_unknown_stage_raises():
    rec = StageRecorder()
    with pytest.raises(KeyError, match="raw_difraction"):
        rec.record("raw_difraction", np.ones(2))
    assert rec.table() == []


def test_stage_ratios_hand_made():
    table = [_row("object", 2.0), _row("object_normalized", 1.0), _row("raw_diffraction", 4.0)]
    out = stage_ratios(table)
    assert out["ratios"] == {"object_normalized": 0.5, "raw_diffraction": 4.0}
    assert out["chain_product"] == pytest.approx(2.0)
    # chain product = last mean / first mean
    assert out["chain_product"] == pytest.approx(table[-1]["mean"] / table[0]["mean"])


def test_stage_ratios_zero_previous_and_single_row():
    out = stage_ratios([_row("object", 0.0), _row("object_normalized", 1.0)])
    assert out["ratios"]["object_normalized"] == math.inf
    single = stage_ratios([_row("object", 1.0)])
    assert single["ratios"] == {}
    assert math.isnan(single["chain_product"])


def test_primary_deviation_source_uses_log_ratio():
    # abs difference largest at raw_diffraction (100 vs 90), log difference largest at
    # model_input (0.01 vs 0.1): the log criterion must pick model_input
    legacy = [
        _row("object", 1.0),
        _row("raw_diffraction", 100.0),
        _row("model_input", 1.0),  # ratio 0.01
        _row("training_labels", 1.0),  # ratio 1
    ]
    modern = [
        _row("object", 1.0),
        _row("raw_diffraction", 90.0),
        _row("model_input", 9.0),  # ratio 0.1
        _row("training_labels", 9.0),  # ratio 1
    ]
    stage, deviations = primary_deviation_source(legacy, modern)
    assert stage == "model_input"
    assert deviations["raw_diffraction"] == pytest.approx(math.log(100 / 90))
    assert deviations["model_input"] == pytest.approx(math.log(10))
    assert deviations["training_labels"] == pytest.approx(0.0)


def test_primary_deviation_source_is_symmetric_in_direction():
    # legacy ratios: object_normalized 5, raw_diffraction 0.1; modern: 1 and 1.
    # |ln 0.1| > |ln 5|: a signed (non-absolute) criterion would pick object_normalized
    legacy = [_row("object", 1.0), _row("object_normalized", 5.0), _row("raw_diffraction", 0.5)]
    modern = [_row("object", 1.0), _row("object_normalized", 1.0), _row("raw_diffraction", 1.0)]
    stage, dev = primary_deviation_source(legacy, modern)
    assert stage == "raw_diffraction"
    assert dev["object_normalized"] == pytest.approx(math.log(5))
    assert dev["raw_diffraction"] == pytest.approx(math.log(10))


def test_primary_deviation_source_skips_non_positive_ratios():
    legacy = [_row("object", 1.0), _row("object_normalized", 0.0), _row("raw_diffraction", 3.0)]
    modern = [_row("object", 1.0), _row("object_normalized", 1.0), _row("raw_diffraction", 1.0)]
    stage, dev = primary_deviation_source(legacy, modern)
    # legacy object_normalized ratio is 0 (skipped); raw_diffraction ratio is inf (0 -> 3)
    assert "object_normalized" not in dev
    assert stage == "raw_diffraction" and dev["raw_diffraction"] == math.inf


def test_primary_deviation_source_none_when_nothing_shared():
    stage, dev = primary_deviation_source([_row("object", 1.0)], [_row("object", 2.0)])
    assert stage is None and dev == {}


def test_json_round_trip():
    rec = StageRecorder()
    rec.record("object", np.arange(12, dtype=np.float64).reshape(3, 4), norm_Y_I=1.5)
    rec.record("raw_diffraction", np.ones((2, 8, 8), np.float32) * 0.25, s_sim=620.5)
    rec.record("object_patch", np.full((2, 2), 1 + 1j, np.complex64))
    doc = rec.to_json()
    text = json.dumps(doc)
    back = json.loads(text)
    assert back == doc
    assert [r["name"] for r in back["stages"]] == ["object", "raw_diffraction", "object_patch"]
    assert back["stages"][1]["shape"] == [2, 8, 8]
    assert back["ratios"]["ratios"]["raw_diffraction"] == pytest.approx(0.25 / 5.5)
    assert back["ratios"]["chain_product"] == pytest.approx(math.sqrt(2) / 5.5)
