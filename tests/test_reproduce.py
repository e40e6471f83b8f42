"""``ptychobench reproduce``: the recorded rows' definitions, their verdicts, and the machinery
(one process per run, kept on disk, not trained twice) on the tiny profile."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptychobench.reproduce import rows, runs


def _legacy_run(s_c=988.21, exp_ls=2336.15, norm=4.0):
    return {"scale_factors": {"s_c": s_c, "exp_log_scale_final": exp_ls, "norm_Y_I": norm}}


def test_legacy_rows_follow_their_definition():
    """A reconstruction exactly in the legacy gauge, (s_c/exp(ls))·O/norm_Y_I, scores 1 gauge-corrected."""
    rng = np.random.RandomState(0)
    truth = rng.uniform(1, 4, (330, 330))
    run = _legacy_run()
    gauge = run["scale_factors"]["s_c"] / run["scale_factors"]["exp_log_scale_final"]
    stitched = gauge * truth / run["scale_factors"]["norm_Y_I"]
    arrays = {"stitched": stitched, "truth": truth, "faithful_stitched": stitched[2:-2, 2:-2],
              "faithful_truth": truth[2:-2, 2:-2]}
    assert rows.legacy_ratio(run, arrays) == pytest.approx(1.0, rel=1e-12)
    assert rows.legacy_ratio(run, arrays, corrected=False) == pytest.approx(gauge, rel=1e-12)
    assert rows.legacy_ratio(run, arrays, trimmed=True) == pytest.approx(1.0, rel=1e-12)
    assert rows.legacy_pearson(run, arrays) == pytest.approx(1.0, rel=1e-12)
    assert rows.legacy_stitched_mean(run, arrays) == pytest.approx(truth.mean() / 4.0, rel=1e-12)


def test_simlines_window_counts_uncovered_zeros():
    """True patches of a few groups: the window is the whole object frame, the covered part holds
    the object (up to bilinear resampling), the rest is exactly 0."""
    from ptychobench.simulation import nongrid

    obj = rows.modern_object()
    rng = np.random.RandomState(2)
    centres = np.stack([rng.uniform(60, 330, 80), rng.uniform(200, 330, 80)], axis=1)
    patches = nongrid.extract_patches(obj.astype(np.float32), centres, 64)
    arrays = {"trimmed": patches[..., None].astype(np.complex64), "test_centres": centres}
    p, t = rows.simlines_window(arrays, 64)
    assert p.shape == t.shape == (392, 392)
    covered = p != 0
    assert 0.05 < covered.mean() < 0.3
    assert rows.window_coverage({}, arrays) == pytest.approx(covered.mean())
    assert rows.window_mean({}, arrays) == pytest.approx(p.mean())
    # inside the covered area the mosaic is the object, half a pixel off at most: close, not equal
    inner = covered & np.roll(covered, 2, 0) & np.roll(covered, -2, 0) & np.roll(covered, 2, 1) & np.roll(covered, -2, 1)
    assert np.corrcoef(p[inner], t[inner])[0, 1] > 0.95
    assert rows.window_bias({}, arrays) == pytest.approx((p - t).mean())
    assert rows.window_ls_scalar({}, arrays) == pytest.approx(np.sum(p * t) / np.sum(p * p))


def test_judge_uses_our_range_widened_by_the_larger_spread():
    row = rows.TrainedRow("k", "k", (1.0,), "src", "legacy", "def", None)
    assert rows.judge(row, [0.95, 0.97, 0.99])["verdict"] == "reproduced"  # band [0.91, 1.03]
    out = rows.judge(row, [0.90, 0.91, 0.92])  # band [0.88, 0.94]
    assert out["verdict"] == "NOT reproduced" and out["band"] == pytest.approx([0.88, 0.94])
    wide = rows.TrainedRow("k", "k", (0.90, 1.0), "src", "legacy", "def", None)
    assert rows.judge(wide, [0.90, 0.91, 0.92])["verdict"] == "reproduced"  # recorded spread 0.1 widens it
    assert rows.judge(row, [float("nan")] * 3)["verdict"] == "no runs"
    assert rows.judge(row, [0.999])["verdict"].startswith("one draw on each side")  # no spread to widen by
    assert rows.judge(wide, [0.95])["verdict"] == "reproduced"  # the recorded draws' spread judges


def test_original_draws_fill_the_232_rows():
    original = {"draws": [{"gauge_corrected_trimmed": 1.0, "ratio_trimmed": 0.48, "pearson_trimmed": 0.88},
                          {"gauge_corrected_trimmed": 1.01, "ratio_trimmed": 0.49, "pearson_trimmed": 0.87}]}
    filled = {r.key: r for r in rows.with_original_draws(rows.ROWS, original)}
    assert filled["de232_ratio_gauge_corrected"].recorded == (1.0, 1.01)
    assert filled["de232_pearson"].recorded == (0.88, 0.87)
    assert filled["legacy_pearson"].recorded == (0.888,)


def test_reproduce_trains_each_run_once_and_resumes(tmp_path, monkeypatch):
    """The machinery on the tiny profile: a second call trains nothing and gives the same rows."""
    from ptychobench.progress import Progress
    from ptychobench.reproduce import reproduce, write_report

    tiny = {k: runs.Run(k, "tiny", r.args, r.what) for k, r in runs.RUNS.items() if k in ("legacy", "modern_gs1_ideal")}
    monkeypatch.setattr(runs, "RUNS", tiny)
    record = reproduce(tmp_path, [0], list(tiny), Progress.off())
    assert {r["run"] for r in record["rows"]} == {"legacy", "modern_gs1_ideal"}
    legacy_rows = [r for r in record["rows"] if r["run"] == "legacy"]
    assert all(len(r["ours"]) == 1 and np.isfinite(r["ours"][0]) for r in legacy_rows)
    first = json.loads((tmp_path / "legacy_seed0.json").read_text())["wall_seconds"]
    calls = []
    monkeypatch.setattr(runs, "command", lambda *a: calls.append(a) or ["false"])
    again = reproduce(tmp_path, [0], list(tiny), Progress.off())
    assert calls == [] and again["rows"] == record["rows"]
    assert json.loads((tmp_path / "legacy_seed0.json").read_text())["wall_seconds"] == first
    path = write_report(record, tmp_path)
    assert "legacy: pearson" in path.read_text() and (tmp_path / "reproduce.png").stat().st_size > 0
    assert json.loads((tmp_path / "reproduce.json").read_text())["seeds"] == [0]


def test_unknown_run_is_refused():
    from ptychobench.errors import ConfigError

    with pytest.raises(ConfigError, match="runs"):
        runs.check_keys(["legacy", "nope"])
