"""The original's code as a run of the suite (``ptychobench upstream``), on the tiny profile.

The draws run the bundle's commits (../shared/upstream/ptychopinn-code.bundle) in the era
environments that ``nox -s tests`` builds once and caches. Three commits: dose_experiments' tip
(TF 2.15 era, the dose flow), main at c03673d's parent (TF 2.21, the modern flow) and c03673d
itself, whose hard-coded 64-patch batch collapses 32 test groups into 2 rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from .conftest import need_env

from ptychobench.errors import UpstreamError
from ptychobench.upstream import checkout as co
from ptychobench.upstream import compare as cmp
from ptychobench.upstream import envs, runner

BUNDLE = co.DEFAULT_BUNDLE
needs_bundle = pytest.mark.skipif(not BUNDLE.is_file(), reason=f"no bundle at {BUNDLE}")
#: c03673d and its first parent in the bundle's rewritten history (upstream notes say which)
C03673D, PARENT = "1730abc", "95ab209"

pytestmark = [needs_bundle]



@pytest.fixture(scope="module")
def dose_clone(tmp_path_factory):
    """A work tree of dose_experiments' tip (a clone of the bundle), to run with --checkout."""
    path = tmp_path_factory.mktemp("clone") / "ppinn"
    subprocess.run(["git", "clone", "-q", "-b", "dose_experiments", str(BUNDLE), str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def dose_draw(dose_clone, tmp_path_factory):
    need_env("tf215")
    c = co.from_work_tree(dose_clone)
    result, folder = runner.draw(c, "dose", "tiny", tmp_path_factory.mktemp("dose") / "draw0")
    return c, result, folder


@pytest.fixture(scope="module")
def defect_draw(tmp_path_factory):
    need_env("tf221")
    c = co.from_commit(BUNDLE, C03673D)
    result, folder = runner.draw(c, "modern", "tiny", tmp_path_factory.mktemp("c03673d") / "draw0")
    return c, result, folder


# --------------------------------------------------------------------- bad input: one clear error each


def test_a_folder_that_is_not_ptychopinn_is_refused(tmp_path):
    (tmp_path / "ptycho").mkdir()
    with pytest.raises(UpstreamError, match=r"not a PtychoPINN checkout \(ptycho/params.py, ptycho/diffsim.py"):
        co.from_work_tree(tmp_path)


def test_a_repository_that_is_not_ptychopinn_is_refused(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "README").write_text("not ptychopinn\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    cache = tmp_path / "cache"
    env = {**os.environ, "PTYCHOBENCH_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-m", "ptychobench", "upstream", "--repo", str(tmp_path), "--commit", "HEAD"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "not a PtychoPINN checkout" in proc.stderr and "Traceback" not in proc.stderr
    # the refused export is not left in the cache as if it were a checkout
    assert not any((cache / "checkouts").iterdir())


def test_a_commit_that_does_not_exist_is_named():
    with pytest.raises(UpstreamError, match=r"--commit 0123456789abcdef: no such commit"):
        co.from_commit(BUNDLE, "0123456789abcdef")


def test_a_commit_outside_every_era_names_the_era_table():
    with pytest.raises(UpstreamError, match=r"--commit 80eec72 \(.*, 2023-11-27\) is outside every era: "
                                            r"tf215: main from 2024-06-04"):
        co.from_commit(BUNDLE, "80eec72")  # main, 2023-11-27: needs a GPU at import
    # a work tree of such a commit is refused by its date too
    undated_but_old = co.Checkout(co.from_commit(BUNDLE, PARENT).path, date="2024-01-02")
    with pytest.raises(UpstreamError, match=r"outside every era"):
        co.era(undated_but_old)


def test_eras_follow_what_the_commit_imports():
    assert co.era(co.from_commit(BUNDLE, "dose_experiments")) == "tf215"  # imports tensorflow_addons
    assert co.era(co.from_commit(BUNDLE, PARENT)) == "tf221"
    with pytest.raises(UpstreamError, match=r"--era tf221: this checkout runs in \['tf215'\]"):
        co.era(co.from_commit(BUNDLE, "dose_experiments"), "tf221")


def test_a_flow_the_commit_lacks_is_one_error_and_nothing_is_left_as_a_draw(tmp_path):
    """main's tip removed ptycho/train.py, which the dose flow imports."""
    need_env("tf221")
    tip = co.from_commit(BUNDLE, "main")
    assert co.flows(tip) == ["modern"]
    with pytest.raises(UpstreamError, match=r"lacks a stage the flow needs: flow dose: ptycho/train.py"):
        runner.draw(tip, "dose", "tiny", tmp_path / "draw0")
    assert not (tmp_path / "draw0").exists() and (tmp_path / "draw0.failed" / "worker.json").is_file()


def _fake_checkout(root, body: str):
    (root / "ptycho").mkdir(parents=True)
    (root / "ptycho" / "__init__.py").write_text("")
    (root / "ptycho" / "params.py").write_text("cfg = {}\n")
    (root / "ptycho" / "diffsim.py").write_text(body)
    for f in ("ptycho/config/config.py", "ptycho/workflows/components.py"):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text(body if f.endswith("config.py") else "")
    return co.Checkout(root)


def test_a_worker_killed_by_a_signal_is_one_error(tmp_path):
    need_env("tf221")
    c = _fake_checkout(tmp_path / "fake", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    with pytest.raises(UpstreamError, match=r"the worker was killed by signal 9"):
        runner.draw(c, "modern", "tiny", tmp_path / "out" / "draw0")
    assert not (tmp_path / "out" / "draw0").exists()


def test_a_worker_past_its_limit_is_killed_and_named(tmp_path):
    need_env("tf221")
    c = _fake_checkout(tmp_path / "fake", "import time\ntime.sleep(600)\n")
    with pytest.raises(UpstreamError, match=r"ran past its limit of 5 s and was killed"):
        runner.draw(c, "modern", "tiny", tmp_path / "out" / "draw0", timeout_s=5)
    assert not (tmp_path / "out" / "draw0").exists()


def test_an_exception_inside_the_original_is_named(tmp_path):
    need_env("tf221")
    c = _fake_checkout(tmp_path / "fake", "raise RuntimeError('boom at import')\n")
    with pytest.raises(UpstreamError, match=r"the original raised RuntimeError: boom at import"):
        runner.draw(c, "modern", "tiny", tmp_path / "out" / "draw0")


# --------------------------------------------------------------------- the draws


@pytest.mark.slow
def test_dose_draw_leaves_the_checkout_untouched_and_matches_our_data_path(dose_clone, dose_draw):
    c, result, folder = dose_draw
    status = subprocess.run(["git", "-C", str(dose_clone), "status", "--porcelain", "--ignored"],
                            capture_output=True, text=True, check=True).stdout
    assert status == ""
    run = json.loads((folder / "run.json").read_text())
    assert run["provenance"]["upstream"]["era"] == "tf215"
    assert run["provenance"]["upstream"]["checkout"]["commit"] == c.commit
    assert result.failure is None and result.metrics["coverage"] == 1.0
    verdict = cmp.compare(folder)
    assert verdict["verdict"] == "PASS", verdict["failed_rows"]
    names = {r["row"] for r in verdict["rows"]}
    assert {"mean:object", "scale:norm_Y_I", "scale:s_sim", "scale:s_c", "poisson:raw_diffraction",
            "count:trainable_params", "rows:predict"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("fault, rows", [
    ("diffraction_gain", {"poisson:raw_diffraction", "poisson:model_input"}),
    ("object_normalization", {"scale:norm_Y_I"}),
    ("closed_form_scale", {"scale:s_c", "poisson:model_input"}),
])
def test_each_comparison_row_fails_on_its_fault(dose_draw, fault, rows):
    """Our data path broken one way at a time: the named rows fail, and only those."""
    from ptychobench.upstream.compare import our_data_path

    _, _, folder = dose_draw
    prep = our_data_path("legacy", "tiny")
    if fault == "diffraction_gain":  # 0.2% more signal: far beyond the Poisson noise at 1e9 photons
        prep.test.X *= np.float32(1.002)
    elif fault == "object_normalization":
        prep.test.scale_factors["norm_Y_I"] *= 1.0001
    else:
        prep.s_c *= 1.0001
    verdict = cmp.compare(folder, prep)
    assert set(verdict["failed_rows"]) == rows


@pytest.mark.slow
def test_c03673d_collapse_is_a_finding_named_by_its_row(defect_draw):
    _, result, folder = defect_draw
    assert result.failure.startswith("rows_collapsed: predict: 32 rows in, 2 rows out")
    verdict = cmp.compare(folder)
    assert verdict["verdict"] == "FAIL"
    assert "rows:predict" in verdict["failed_rows"]
    assert [f["kind"] for f in verdict["findings"]] == ["rows_collapsed"]


@pytest.mark.slow
def test_the_labelled_harness_option_restores_per_group_rows_at_c03673d(tmp_path):
    need_env("tf221")
    c = co.from_commit(BUNDLE, C03673D)
    result, folder = runner.draw(c, "modern", "tiny", tmp_path / "draw0", per_group_reassembly=True)
    run = json.loads((folder / "run.json").read_text())
    assert result.failure is None
    assert run["capture_points"]["predict"]["rows_out"] == 32
    assert run["provenance"]["upstream"]["harness"] == ["per_group_reassembly"]
    assert {r["row"] for r in cmp.compare(folder)["rows"] if r["row"].startswith("rows:")} >= {"rows:predict"}
