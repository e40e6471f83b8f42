"""The landing page from a hand-made results folder (asv 0.6 format) and a hand-made report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ptychobench import landing

BIAS = "bench_science.Amplitude.track_amplitude_bias"
COLLAPSE = "bench_science.Collapse.track_collapse_rate"
SPEED = "bench_speed.ScienceCost.track_train_seconds_per_group"
PIPE, STAT = ["'legacy'", "'modern'"], ["'median'", "'spread'"]
DOSE = ["1000000000.0", "10000.0"]
# The older commit's hash sorts last, so the page must order by asv's commit date, not by name;
# the oldest commit ran an older version of Amplitude, which asv (and the page) ignores.
ANCIENT, OLD, NEW = "b" * 40, "f" * 40, "a" * 40


def write_result(folder: Path, machine: str, commit: str, date: int, results: dict) -> None:
    """One asv 0.6.6 results file, written out by hand (``result``/``params``/``version`` columns);
    ``results``: benchmark -> (params, version, values in asv's order: the product of params)."""
    data = {
        "commit_hash": commit, "env_name": "virtualenv-py3.11", "date": date,
        "params": {"machine": machine, "python": "3.11"}, "python": "3.11", "requirements": {},
        "env_vars": {}, "result_columns": ["result", "params", "version", "started_at", "duration"],
        "results": {name: [vals, params, version, date + 1, 1.0] for name, (params, version, vals) in results.items()},
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
    amp, per_group = [PIPE, DOSE, STAT], [PIPE, DOSE]
    # None is a failed benchmark. Amplitude's order: legacy 1e9 median, spread; legacy 1e4 median,
    # spread; modern 1e9 median, spread; modern 1e4 median, spread.
    # The others': legacy 1e9, legacy 1e4, modern 1e9, modern 1e4.
    write_result(folder, "box-a", ANCIENT, 500, {BIAS: (amp, "1", [9.0] * 8)})
    write_result(folder, "box-a", OLD, 1000, {
        BIAS: (amp, "2", [0.25, 0.5, 1.0, 2.0, None, 0.75, 3.0, None]),
        COLLAPSE: (per_group, "1", [0.0, 0.5, 1.0, 0.25]),
        SPEED: (per_group, "1", [0.5, 0.25, 0.125, 2.0])})
    write_result(folder, "box-a", NEW, 2000, {
        BIAS: (amp, "2", [0.125, 0.0625, 1.5, 2.5, 0.375, 0.25, 3.5, None]),
        COLLAPSE: (per_group, "1", [0.0, 0.75, 0.5, 1.0]),
        SPEED: (per_group, "1", [0.04, 0.1, None, 0.8])})
    one = [PIPE[:1], DOSE[:1]]  # box-b: legacy at 1e9 only
    write_result(folder, "box-b", OLD, 1000, {
        BIAS: (one + [STAT], "2", [0.5, 0.1]), COLLAPSE: (one, "1", [0.0]), SPEED: (one, "1", [0.2])})
    write_result(folder, "box-b", NEW, 2000, {
        BIAS: (one + [STAT], "2", [0.0625, 0.03125]), COLLAPSE: (one, "1", [0.25]), SPEED: (one, "1", [0.08])})
    (folder / "box-c").mkdir()  # registered, never benchmarked
    (folder / "box-c" / "machine.json").write_text(json.dumps({"machine": "box-c", "version": 1}))
    (folder / "benchmarks.json").write_text(json.dumps({
        BIAS: {"param_names": ["pipeline", "nphotons", "stat"], "version": "2"},
        COLLAPSE: {"param_names": ["pipeline", "nphotons"], "version": "1"},
        SPEED: {"param_names": ["pipeline", "nphotons"], "version": "1"},
        "version": 2}))
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


def link(benchmark: str, machine: str, pipeline: str, nphotons: str, stat: str | None = None) -> str:
    """The link target of one cell, written out by hand (asv's hash syntax, HTML-escaped)."""
    tail = f"&amp;p-stat=%27{stat}%27" if stat else ""
    return f"asv/#{benchmark}?machine={machine}&amp;p-pipeline=%27{pipeline}%27&amp;p-nphotons={nphotons}{tail}"


def table_rows(page: str, machine: str) -> list[tuple[list[str], list[str]]]:
    """(parameter cells, shown values) of each row of one machine's trend table, top to bottom."""
    table = page.split(f"<code>{machine}</code>")[1].split("</table>")[0]
    return [(re.findall(r"<td>([^<]*)</td>", row), re.findall(r'<a href="[^"]*">([^<]*)</a>', row))
            for row in table.split("<tr>")[2:]]


def test_landing_shows_latest_values_machines_and_links(results, report):
    page = landing.render_landing(landing.landing_context(report, results))
    for machine, cpu in (("box-a", "Test CPU A"), ("box-b", "Test CPU B")):
        assert f"<code>{machine}</code>" in page and cpu in page
    assert "<code>box-c</code>" in page and "0 commit(s) benchmarked" in page
    # one row per (pipeline, nphotons), in asv's order; columns: amplitude bias (the median),
    # its spread, collapse rate, groups/s = 1 / (s per group) of the newest commit:
    # 1/0.04 = 25, 1/0.1 = 10, 1/0.8 = 1.25, 1/0.08 = 12.5; — where it failed
    assert table_rows(page, "box-a") == [
        (["legacy", "1e+09"], ["0.125", "0.0625", "0", "25"]),
        (["legacy", "10000"], ["1.5", "2.5", "0.75", "10"]),
        (["modern", "1e+09"], ["0.375", "0.25", "0.5", "—"]),
        (["modern", "10000"], ["3.5", "—", "1", "1.25"]),
    ]
    assert table_rows(page, "box-b") == [(["legacy", "1e+09"], ["0.0625", "0.03125", "0.25", "12.5"])]
    # each cell links to its graph narrowed to the machine and the parameter set
    for target, shown in ((link(BIAS, "box-a", "legacy", "10000.0", "median"), "1.5"),
                          (link(BIAS, "box-a", "legacy", "10000.0", "spread"), "2.5"),
                          (link(COLLAPSE, "box-a", "modern", "1000000000.0"), "0.5"),
                          (link(SPEED, "box-a", "modern", "10000.0"), "1.25"),
                          (link(BIAS, "box-b", "legacy", "1000000000.0", "median"), "0.0625")):
        assert f'<a href="{target}">{shown}</a>' in page
    # history oldest first, in the sparkline's title; the older Amplitude version's 9s are not shown
    assert "amplitude bias per commit, oldest first: bbbbbbbb —, ffffffff 0.25, aaaaaaaa 0.125" in page
    assert "groups/s per commit, oldest first: bbbbbbbb —, ffffffff 2, aaaaaaaa 25" in page
    # 5 rows x 4 metrics, less modern 1e4's spread, which never has a value
    assert page.count('<svg class="spark"') == 19
    for target in ("asv/index.html", "asv/#regressions", f"asv/#{BIAS}?p-stat=%27median%27\"",
                   f"asv/#{BIAS}?machine=box-a&amp;p-stat=%27spread%27\"", f"asv/#{COLLAPSE}?machine=box-b\"",
                   "parity/index.html"):
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
