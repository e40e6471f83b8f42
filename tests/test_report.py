"""The parity report's rendering on a fabricated outcome with hand-known content (no training).

The outcome has three checks (one failing), a stage table whose ratios are known by hand,
two fabricated runs (reconstruction = gauge × truth), two seeds and a two-dose ladder; the
tests read the written index.html with the standard library's HTML parser and compare
what it shows with those hand-known values.
"""

from __future__ import annotations

import math
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pytest

from ptychobench.parity import figures, report, runner
from ptychobench.parity.checks import CheckResult
from ptychobench.parity.explain import explain
from ptychobench.pipelines.common import RunResult
from ptychobench.pipelines.profiles import get_profile
from ptychobench.stages import STAGES

# --- a fabricated outcome --------------------------------------------------------------------------------

#: stage means: legacy object 4 -> ÷4 -> ×0.5; modern 4 -> ×1 -> ×0.5 (ratios and deviations by hand below)
STAGE_MEANS = {"legacy": (4.0, 1.0, 0.5), "modern": (4.0, 4.0, 2.0)}


def _stage_table(pipeline):
    return [{"name": name, "mean": m} for name, m in zip(STAGES, STAGE_MEANS[pipeline])]


def _normalization_check():
    details = {
        "stages": {p: _stage_table(p) for p in STAGE_MEANS},
        "ratios": {"legacy": {"ratios": {"object_normalized": 0.25, "raw_diffraction": 0.5}, "chain_product": 0.125},
                   "modern": {"ratios": {"object_normalized": 1.0, "raw_diffraction": 0.5}, "chain_product": 0.5}},
        "deviations": {"object_normalized": math.log(4.0), "raw_diffraction": 0.0},
        "primary_deviation_source": "object_normalized",
    }
    row = {"what": "legacy: s_c vs formula", "value": 0.0, "limit": 1e-12, "tolerance": "normalization.scale_rel",
           "passed": True}
    return CheckResult("normalization", True, "formulas: s_c", [], [row], details)


def _run(pipeline, seed, pearson):
    """Stitched = G × truth on the covered pixels (zero elsewhere): a perfect, gauge-scaled reconstruction."""
    truth = np.linspace(1.0, 2.0, 12 * 16).reshape(12, 16)
    covered = np.ones(truth.shape, bool)
    covered[:, :2] = False
    factors = ({"object_normalization": 0.5} if pipeline == "legacy" else {"g": 0.25}) | {
        "s_c": 100.0, "exp_log_scale_final": 100.0}
    gauge = factors.get("object_normalization", 1.0) * factors.get("g", 1.0)
    stitched = np.where(covered, gauge * truth, 0).astype(np.complex64)
    metrics = {"coverage": float(covered.mean()), "amplitude_ratio": gauge, "expected_gauge": gauge,
               "gauge_corrected_ratio": 1.0, "amplitude_bias": 0.0, "pearson": pearson, "ssim": 0.5,
               "head_saturation": 0.0}
    return RunResult(pipeline=pipeline, profile="tiny", seed=seed, nphotons=1e9, config={"amp_activation": "sigmoid"},
                     modern_config=None, scale_factors=factors, stages=_stage_table(pipeline), metrics=metrics,
                     training={"epochs_run": 3, "samples_per_second": 12.5}, architecture=[], trainable_params=1234,
                     provenance={}, arrays={"stitched": stitched, "truth": truth, "covered": covered})


def fabricated_outcome():
    out = runner.ParityOutcome(profile=get_profile("tiny"), seed=7)
    out.checks = [
        CheckResult("alpha", True, "formula A written out", [],
                    [{"what": "alpha error", "value": 0.25, "limit": 1.0, "tolerance": "sec.alpha", "passed": True}]),
        _normalization_check(),
        CheckResult("beta", False, "the other pipeline", ["beta gap = 3 > 2 (sec.beta)"],
                    [{"what": "beta gap", "value": 3.0, "limit": 2.0, "tolerance": "sec.beta", "passed": False}]),
    ]
    out.runs = {p: _run(p, 7, 0.9) for p in ("legacy", "modern")}
    out.explanations = {p: explain(r) for p, r in out.runs.items()}
    out.seed_runs = {7: out.runs, 8: {p: _run(p, 8, 0.1) for p in ("legacy", "modern")}}
    out.dose_ladder = [{"pipeline": p, "nphotons": n, "failure": None, **out.runs[p].metrics}
                       for p in ("legacy", "modern") for n in (1e5, 1e9)]
    out.skipped = ["skipped scenario gs1_custom: run `ptychobench parity --probe-file PATH.npz`"]
    return out


class Page(HTMLParser):
    """What a browser would show of a page: tables (by id) as rows of cell texts, links, images, text."""

    def __init__(self, text: str):
        super().__init__()
        self.tables, self.row_classes, self.hrefs, self.srcs, self.text = {}, {}, [], [], []
        self.banner, self._table, self._row, self._cell, self._in = None, None, None, None, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._in.append(tag)
        if self._cell is not None and tag in ("ul", "li", "br", "p"):  # block breaks read as spaces
            self._cell.append(" ")
        if tag == "table":
            self._table = a.get("id", f"table{len(self.tables)}")
            self.tables[self._table], self.row_classes[self._table] = [], []
        elif tag == "tr":
            self._row = []
            self.row_classes[self._table].append(a.get("class", ""))
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        elif tag == "img":
            self.srcs.append(a["src"])
        elif tag == "div" and a.get("id") == "verdict":
            self.banner = {"class": a.get("class", ""), "text": []}

    def handle_endtag(self, tag):
        while self._in and self._in.pop() != tag:
            pass
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self.tables[self._table].append(self._row)
        elif tag == "div" and self.banner is not None and isinstance(self.banner["text"], list):
            self.banner["text"] = " ".join("".join(self.banner["text"]).split())

    def handle_data(self, data):
        if self._in and self._in[-1] in ("style", "title"):
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self.banner is not None and isinstance(self.banner["text"], list):
            self.banner["text"].append(data)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return report.write_report(fabricated_outcome(), tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def page(folder):
    return Page((folder / "index.html").read_text())


def _data_rows(page, table):
    return page.tables[table][1:]


# --- index.html --------------------------------------------------------------------------------------------


def test_banner_says_fail_with_profile_seed_and_scale(page):
    assert page.banner["class"] == "banner fail"
    assert page.banner["text"].startswith("FAIL")
    for words in ("2 of 3 checks pass", "profile tiny", "seed 7 (2 seeds)", "intensity scale constant"):
        assert words in page.banner["text"]


def test_checks_table_names_reference_and_deciding_row(page):
    rows = [r[:4] for r in _data_rows(page, "checks-table")]
    assert rows == [
        ["alpha", "PASS", "formula A written out", "alpha error: 0.25 (limit 1)"],
        ["normalization", "PASS", "formulas: s_c", "legacy: s_c vs formula: 0 (limit 1e-12)"],
        ["beta", "FAIL", "the other pipeline", "beta gap: 3 (limit 2) beta gap = 3 > 2 (sec.beta)"],
    ]
    assert page.row_classes["checks-table"][1:] == ["", "", "fail-row"]


def test_stage_table_ratios_deviation_and_primary(page):
    rows = _data_rows(page, "stage-table")[1:]  # two header rows
    assert [r[0] for r in rows] == ["object", "object_normalized", "raw_diffraction"]
    obj_norm = rows[1]
    assert obj_norm[2:4] == ["1", "0.25"] and obj_norm[5:8] == ["4", "1", "1.386"]  # ln 4 = 1.386
    assert page.row_classes["stage-table"][2:] == ["", "primary-row", ""]


def test_amplitude_seed_and_dose_tables(page):
    amp = {r[0]: r[1:] for r in _data_rows(page, "amplitude-table")}
    assert amp["expected_gauge"] == ["0.5", "0.25"] and amp["gauge_corrected_ratio"] == ["1", "1"]
    seeds = _data_rows(page, "seed-table")
    # pearson over seeds 0.9 and 0.1: median 0.5; one of two below the 0.5 collapse threshold
    assert seeds[0][:2] == ["legacy", "0.5 [0.1, 0.9]"] and seeds[0][-1] == "0.5 (pearson < 0.5)"
    assert [r[:2] for r in _data_rows(page, "dose-table")] == [["legacy", "1e+05"], ["legacy", "1e+09"],
                                                               ["modern", "1e+05"], ["modern", "1e+09"]]


def test_explain_table_factors_multiply_to_the_measured_ratio(page):
    rows = {r[0]: r[1:3] for r in _data_rows(page, "explain-table")}
    # legacy: object normalisation 0.5, modern: g = 0.25; a perfect reconstruction leaves residual 1
    assert rows["× object normalisation"] == ["0.5", "1"] and rows["× diffraction gain g"] == ["1", "0.25"]
    assert rows["× unexplained residual"] == ["1", "1"] and rows["× amplitude-head clip"] == ["1", "1"]
    # the uncovered columns are zeros in the reconstruction: the window mean loses their share of the truth
    truth = np.linspace(1.0, 2.0, 12 * 16).reshape(12, 16)
    window = truth[:, 2:].sum() / truth.sum()
    assert rows["× coverage factor"] == [f"{window:.4g}"] * 2
    assert rows["= measured window ratio"] == [f"{0.5 * window:.4g}", f"{0.25 * window:.4g}"]


def test_visible_text_has_no_markdown_syntax(folder):
    for html_file in folder.glob("*.html"):
        text = "".join(Page(html_file.read_text()).text)
        assert "**" not in text and "`" not in text, html_file.name


def test_links_and_images_resolve_and_every_file_is_listed(folder, page):
    targets = [h for h in page.hrefs if not h.startswith("#")] + page.srcs
    assert all((folder / t).is_file() for t in targets), [t for t in targets if not (folder / t).is_file()]
    listed = {r[0] for r in _data_rows(page, "files-table")}
    present = {p.name for p in folder.iterdir()} - {"index.html"}
    assert listed == present
    assert all(r[2] != "(undescribed)" for r in _data_rows(page, "files-table"))
    assert set(page.srcs) == {"reconstruction.png", "explain_waterfall.png", "stage_waterfall.png", "seeds.png",
                              "dose.png"}


def test_index_keeps_a_plain_body_tag_and_the_markdown_verdict(folder):
    assert (folder / "index.html").read_text().count("<body>") == 1  # site.build_site inserts after it
    assert "**Result: FAIL**" in (folder / "index.md").read_text()


def test_check_markdown_gets_an_html_sibling(folder, page):
    html_text = (folder / "stage_ratios.html").read_text()
    assert "<strong>Primary deviation source: <code>object_normalized</code></strong>" in html_text
    assert len(Page(html_text).tables) == 2  # the stage table and the comparisons
    assert "stage_ratios.html" in page.hrefs


def test_markdown_page_keeps_escaped_pipes_in_one_cell():
    page = Page(report.markdown_page("# T\n\n| a | b |\n|---|---|\n| x \\| y | z |\n", "t.md"))
    assert page.tables["table0"] == [["a", "b"], ["x | y", "z"]]


# --- figures -----------------------------------------------------------------------------------------------


def test_figures_are_drawn_at_the_embedded_width(folder):
    for name in ("reconstruction.png", "explain_waterfall.png", "stage_waterfall.png", "seeds.png", "dose.png"):
        height, width = matplotlib.image.imread(folder / name).shape[:2]
        assert width == 1280 and height > 200, name


def test_waterfall_steps_are_the_running_product():
    assert figures.waterfall_steps(2.0, [("a", 0.5), ("b", 3.0)]) == [("a", 2.0, 1.0), ("b", 1.0, 3.0)]


def test_reconstruction_panels_on_a_gauge_scaled_truth():
    truth = np.arange(100, dtype=float).reshape(10, 10)
    covered = np.ones((10, 10), bool)
    covered[0, 0] = False
    p = figures.reconstruction_panels(0.5 * truth * np.exp(0.3j), truth, covered, 0.5)
    assert np.isnan(p["corrected"][0, 0]) and np.isnan(p["difference"][0, 0])
    assert np.allclose(p["corrected"][covered], truth[covered]) and np.allclose(p["difference"][covered], 0)
    # covered truth 1..99: numpy's linear percentiles at 1 % and 99 % of 98 intervals
    assert p["truth_range"] == pytest.approx((1 + 0.98, 1 + 97.02))
    assert p["own_range"] == pytest.approx((0.5 * 1.98, 0.5 * 98.02))


def test_flat_reconstruction_still_gets_a_colour_range():
    p = figures.reconstruction_panels(np.ones((4, 4)), np.ones((4, 4)), np.ones((4, 4), bool), 1.0)
    lo, hi = p["own_range"]
    assert lo < 1 < hi


def test_describe_names_the_run_of_a_file():
    assert report.describe("arrays_modern_gs1_ideal.npz").startswith("run modern_gs1_ideal:")
    assert report.describe("unknown.bin") == "(undescribed)"


def test_report_without_training_or_with_a_failed_run(tmp_path):
    """Static checks only, then one diverged run: no figure is drawn for what did not run."""
    static = fabricated_outcome()
    static.runs, static.explanations, static.seed_runs, static.dose_ladder = {}, {}, {}, []
    folder = report.write_report(static, tmp_path / "static")
    page = Page((folder / "index.html").read_text())
    assert page.srcs == [] and "amplitude-table" not in page.tables and "stage-table" in page.tables
    assert "(none: no training ran)" in (folder / "index.md").read_text()

    failed = fabricated_outcome()
    failed.runs["modern"].failure, failed.runs["modern"].training = "loss diverged at epoch 2", {}
    failed.explanations.pop("modern")
    failed.seed_runs, failed.dose_ladder = {}, []
    folder = report.write_report(failed, tmp_path / "failed")
    page = Page((folder / "index.html").read_text())
    amp = {r[0]: r[1:] for r in _data_rows(page, "amplitude-table")}
    assert amp["expected_gauge"] == ["0.5", "–"]
    assert "modern: FAILED — loss diverged at epoch 2" in " ".join("".join(page.text).split())
    assert page.tables["explain-table"][0] == ["factor", "legacy", "what it is"]
