"""The landing page from a hand-made results folder (asv 0.6 format) and a hand-made report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ptychobench import landing

BIAS = "bench_science.Amplitude.track_amplitude_bias"
RATIO = "bench_science.Amplitude.track_gauge_corrected_ratio"
SPEED = "bench_science.Amplitude.track_train_seconds_per_group"
PARAMS = [["'legacy'", "'modern'"], ["1000000000.0"]]
# The older commit's hash sorts last, so the page must order by asv's commit date, not by name.
OLD, NEW = "f" * 40, "a" * 40


def write_result(folder: Path, machine: str, commit: str, date: int, values: dict) -> None:
    """One asv 0.6.6 results file, written out by hand (``result``/``params`` columns only)."""
    data = {
        "commit_hash": commit, "env_name": "virtualenv-py3.11", "date": date,
        "params": {"machine": machine, "python": "3.11"}, "python": "3.11", "requirements": {},
        "env_vars": {}, "result_columns": ["result", "params", "version", "started_at", "duration"],
        "results": {name: [vals, PARAMS, "1", date + 1, 1.0] for name, vals in values.items()},
        "durations": {}, "version": 2,
    }
    (folder / machine).mkdir(parents=True, exist_ok=True)
    (folder / machine / f"{commit[:8]}-virtualenv-py3.11.json").write_text(json.dumps(data))


@pytest.fixture
def results(tmp_path) -> Path:
    folder = tmp_path / "results"
    for machine, cpu in (("box-a", "Test CPU A"), ("box-b", "Test CPU B")):
        (folder / machine).mkdir(parents=True)
        (folder / machine / "machine.json").write_text(json.dumps({"machine": machine, "cpu": cpu, "version": 1}))
    # values per parameter set: [legacy, modern]; None is a failed benchmark
    write_result(folder, "box-a", OLD, 1000, {BIAS: [0.25, None], RATIO: [0.75, 0.5], SPEED: [0.5, 0.125]})
    write_result(folder, "box-a", NEW, 2000, {BIAS: [0.125, 0.375], RATIO: [0.875, 0.5], SPEED: [0.04, None]})
    write_result(folder, "box-b", OLD, 1000, {BIAS: [0.5, 0.5], RATIO: [1.5, 1.5], SPEED: [0.2, 0.2]})
    write_result(folder, "box-b", NEW, 2000, {BIAS: [0.0625, 0.5], RATIO: [1.25, 1.5], SPEED: [0.08, 0.2]})
    (folder / "box-c").mkdir()  # registered, never benchmarked
    (folder / "box-c" / "machine.json").write_text(json.dumps({"machine": "box-c", "version": 1}))
    (folder / "benchmarks.json").write_text(json.dumps(
        {name: {"param_names": ["pipeline", "nphotons"], "version": "1"} for name in (BIAS, RATIO, SPEED)}
        | {"version": 2}))
    return folder


@pytest.fixture
def report(tmp_path) -> Path:
    folder = tmp_path / "reports" / "parity-20260101T000000Z"
    folder.mkdir(parents=True)
    (folder / "checks.json").write_text(json.dumps([
        {"name": "config", "passed": True, "reference": "r", "decided_by": "N: 64 (limit 64)", "problems": []},
        {"name": "amplitude", "passed": False, "reference": "r", "decided_by": "modern bias 0.45 (limit 0.1)",
         "problems": []},
    ]))
    for name, pearson, rate in (("legacy", 0.9, 50.0), ("modern", 0.1, 40.0)):
        (folder / f"run_{name}.json").write_text(json.dumps({
            "pipeline": name, "profile": "smoke", "nphotons": 1e9, "failure": None,
            "metrics": {"amplitude_bias": 0.0078125, "gauge_corrected_ratio": 0.9921875, "pearson": pearson},
            "training": {"samples_per_second": rate}}))
    return folder


def cell(machine: str, benchmark: str, pipeline: str, shown: str) -> str:
    """The landing page's link of one cell, written out by hand (asv's hash syntax, HTML-escaped)."""
    return (f'<a href="asv/#{benchmark}?machine={machine}&amp;p-pipeline=%27{pipeline}%27'
            f'&amp;p-nphotons=1000000000.0">{shown}</a>')


def test_landing_shows_latest_values_machines_and_links(results, report):
    page = landing.render_landing(landing.landing_context(report, results))
    for machine, cpu in (("box-a", "Test CPU A"), ("box-b", "Test CPU B")):
        assert f"<code>{machine}</code>" in page and cpu in page
    assert "<code>box-c</code>" in page and "0 commit(s) benchmarked" in page
    # the newer commit's values; groups/s = 1 / (s per group): 1/0.04 = 25, 1/0.08 = 12.5
    for expected in (cell("box-a", BIAS, "legacy", "0.125"), cell("box-a", RATIO, "legacy", "0.875"),
                     cell("box-a", SPEED, "legacy", "25"), cell("box-a", BIAS, "modern", "0.375"),
                     cell("box-a", SPEED, "modern", "—"),  # failed on the newest commit
                     cell("box-b", BIAS, "legacy", "0.0625"), cell("box-b", RATIO, "legacy", "1.25"),
                     cell("box-b", SPEED, "legacy", "12.5")):
        assert expected in page
    # history oldest first, in the sparkline's title: 1/0.5 = 2 then 25
    assert "groups/s per commit, oldest first: ffffffff 2, aaaaaaaa 25" in page
    # 2 machines x 2 parameter sets x 3 metrics, each with at least one value
    assert page.count('<svg class="spark"') == 12
    for target in ("asv/index.html", "asv/#regressions", f"asv/#{BIAS}\"", "parity/index.html"):
        assert f'href="{target}' in page
    # the verdict: one failed check, named with what decided it; pearson 0.1 collapsed, 0.9 not
    assert 'data-verdict="FAIL"' in page and "1 of 2 checks pass" in page
    assert "<b>amplitude</b>: modern bias 0.45 (limit 0.1)" in page
    runs = page.split('id="report-runs"')[1].split("</table>")[0].split("<tr>")
    row = {r.split("</td>")[0].removeprefix("<td>"): r for r in runs if r.startswith("<td>")}
    assert ">collapsed</td>" in row["modern"] and ">no</td>" in row["legacy"]
    assert "parity-20260101T000000Z" in page


def test_passing_report_without_runs_or_results(tmp_path, report):
    (report / "checks.json").write_text(json.dumps([{"name": "config", "passed": True, "decided_by": "x"}]))
    for run in report.glob("run_*.json"):
        run.unlink()
    page = landing.render_landing(landing.landing_context(report, tmp_path / "no-results"))
    assert 'data-verdict="PASS"' in page and "1 of 1 checks pass" in page
    assert "static checks only" in page and "No benchmark results yet" in page


def test_malformed_checks_name_the_file(report):
    (report / "checks.json").write_text('{"passed": true}')
    with pytest.raises(SystemExit, match="checks.json: expected a non-empty list"):
        landing.report_summary(report, 0.5)


def test_sparkline_geometry():
    # 5 commits over x in [2, 98]: step 24; y in [2, 22] over [min 1, max 3]: y = 2 + (3 - v) * 10
    spark = landing.sparkline([1.0, 3.0, None, 2.0, float("nan")], width=100, height=24, pad=2)
    assert spark["lines"] == ["2,22 26,2"]
    assert spark["dots"] == [(74.0, 12.0)]  # a lone value between gaps
    assert spark["last"] == (74.0, 12.0)
    flat = landing.sparkline([4.0, 4.0])
    assert flat["lines"] == ["2,12 98,12"]
    assert landing.sparkline([None, float("inf")]) is None
    assert landing.sparkline([7.0])["dots"] == [(50.0, 12.0)]
