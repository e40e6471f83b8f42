"""The trained rows judged by the original's own distribution (parity check ``original_distribution``)."""

from __future__ import annotations

import json

import pytest

from ptychobench.parity import trained
from ptychobench.parity.checks import original
from ptychobench.upstream import reference

QUANTITIES = original.QUANTITIES


def _run(profile="smoke", failure=None, **metrics):
    base = {"pearson": 0.8, "ssim": 0.3, "head_saturation": 0.0, "output_level": 0.45,
            "gauge_corrected_ratio": 0.99, "mae": 0.1, "mae_flat": 0.2}
    return {"profile": profile, "seed": 0, "failure": failure, "metrics": {**base, **metrics},
            "alternative_metrics": {}}


def _reference(k=10):
    values = {"pearson": [0.70 + 0.02 * i for i in range(k)], "ssim": [0.25 + 0.01 * i for i in range(k)],
              "head_saturation": [0.0] * k, "output_level": [0.44 + 0.002 * i for i in range(k)],
              "gauge_corrected_ratio": [0.98 + 0.002 * i for i in range(k)]}
    entry = {"upstream_commit": "023c1ca5", "flow": "dose", **values}
    return {"smoke": {"runs": {"legacy": entry, "modern": {**entry, "flow": "modern"}}}}


def test_a_run_like_the_originals_passes():
    result = original.check_original([_run()], [_run()], _reference())
    assert result.passed, result.problems
    assert len(result.rows) == 2 * len(QUANTITIES)


@pytest.mark.parametrize("q, value", [("pearson", 0.1), ("pearson", 1.5), ("ssim", 0.05), ("head_saturation", 0.9),
                                      ("output_level", 0.9), ("gauge_corrected_ratio", 0.8),
                                      ("gauge_corrected_ratio", 1.2)])
def test_each_row_fails_by_name_in_either_direction(q, value):
    result = original.check_original([_run(**{q: value})], [_run()], _reference())
    failed = [row["what"] for row in result.rows if not row["passed"]]
    assert len(failed) == 1 and failed[0].startswith(f"legacy {q} (seed 0) within the original's band")


def test_flat_and_missing_answers_fail():
    flat = _run(pearson=float("nan"), ssim=0.0)
    result = original.check_original([flat], [_run()], _reference())
    assert {row["what"].split(" (")[0] for row in result.rows if not row["passed"]} == {"legacy pearson", "legacy ssim"}
    result = original.check_original([_run(profile="standard")], [_run()], _reference())
    assert any("no distribution of the original recorded for profile 'standard'" in p for p in result.problems)
    result = original.check_original([_run(failure="diverged")], [_run()], _reference())
    assert any("training failed: diverged" in p for p in result.problems)


def test_the_stated_false_alarm_rate_holds_for_every_record():
    """Bonferroni over every row of a parity run: the per-row rate of the band (Monte Carlo, normal
    draws) times the rows is at most 1% for the recorded K."""
    recorded = reference.load()
    assert recorded, "no original distribution recorded (parity/original_seeds.json)"
    for profile, entry in recorded.items():
        for key, run in entry["runs"].items():
            k = len(run["pearson"])
            assert k >= 10, (profile, key, k)
            rate = trained.false_alarm_rate(k, original.WIDEN, draws=400_000)
            assert rate * 2 * original.ROWS_PER_RUN <= 0.01, (profile, key, k, rate)


def test_records_say_where_they_come_from():
    for profile, entry in reference.load().items():
        for key, run in entry["runs"].items():
            assert run["upstream_commit"] and run["era"] in ("tf215", "tf221") and run["lock_sha256"]
            assert run["flow"] == {"legacy": "dose", "modern": "modern"}[key]
            assert all(len(run[q]) == run["draws"] - len(run["failed"]) for q in QUANTITIES)


def test_record_merges_draw_folders_atomically(tmp_path):
    folder = tmp_path / "draws"
    folder.mkdir()
    draws = [{"failure": None, "collapsed": False, "wall_s": 1.0,
              "alternative_metrics": {"ptychobench": {q: 0.5 + i for q in QUANTITIES}}} for i in range(2)]
    draws.append({"failure": "rows_collapsed: predict", "collapsed": True, "wall_s": 1.0, "alternative_metrics": {}})
    summary = {"profile": "tiny", "flow": "modern", "era": "tf221", "lock_sha256": "ab", "versions": {},
               "seeded": "x", "command": "c", "checkout": {"upstream_commit": "14f48a8", "commit": "95ab209"},
               "draws": draws}
    (folder / "summary.json").write_text(json.dumps(summary))
    path = tmp_path / "original_seeds.json"
    reference.record([folder], path)
    run = json.loads(path.read_text())["tiny"]["runs"]["modern"]
    assert run["pearson"] == [0.5, 1.5] and run["failed"] == ["rows_collapsed: predict"] and run["collapsed"] == 1
    with pytest.raises(Exception, match="summary.json: no such file"):
        reference.record([tmp_path / "nothing"], path)
    assert json.loads(path.read_text())["tiny"]["runs"]["modern"]["pearson"] == [0.5, 1.5]


def test_a_reference_of_another_model_is_not_judged_and_says_why():
    ref = _reference()
    ref["smoke"]["runs"]["modern"]["trainable_params"] = 565_425
    ours = {**_run(), "trainable_params": 566_184}
    result = original.check_original([_run()], [ours], ref)
    assert result.passed and len(result.rows) == len(QUANTITIES)  # legacy judged, modern not
    assert "builds another model (565425 trainable parameters, ours 566184)" in result.details["modern"]["not judged"]
