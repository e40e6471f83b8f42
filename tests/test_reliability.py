"""Bad input, interrupted writes, resource limits and training numerics.

Every bad input ends in one error of ours (ConfigError / DataError) naming the field or
file; the CLI turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptychobench import cli
from ptychobench.config import InferenceConfig, ModelConfig, TrainingConfig, params
from ptychobench.errors import ConfigError, DataError, PtychoBenchError
from ptychobench.parity import report
from ptychobench.pipelines.profiles import PROFILES, get_profile
from ptychobench.simulation import datafile

# --- configurations -------------------------------------------------------------------------

anything = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.integers(), max_size=2), st.sampled_from([64, 128, 256, 1, 2, "sigmoid", "relu"]),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(ModelConfig)]), anything))
def test_model_config_valid_or_config_error(kwargs):
    try:
        ModelConfig(**kwargs)
    except ConfigError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(TrainingConfig)]), anything))
def test_training_config_valid_or_config_error(kwargs):
    try:
        TrainingConfig(**kwargs)
    except ConfigError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(InferenceConfig)]), anything))
def test_inference_config_valid_or_config_error(kwargs):
    try:
        InferenceConfig(**kwargs)
    except ConfigError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(params.DEFAULT_CFG)), anything)
def test_legacy_validate_valid_or_config_error(key, value):
    cfg = params.capture_defaults()
    cfg[key] = value
    try:
        params.validate(cfg)
    except ConfigError:
        pass


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: ModelConfig(N=100), "N"),
        (lambda: ModelConfig(gridsize=0), "gridsize"),
        (lambda: ModelConfig(gridsize=1.5), "gridsize"),
        (lambda: ModelConfig(amp_activation="tanh"), "amp_activation"),
        (lambda: ModelConfig(probe_scale=0), "probe_scale"),
        (lambda: ModelConfig(object_big="yes"), "object_big"),
        (lambda: TrainingConfig(nphotons=0), "nphotons"),
        (lambda: TrainingConfig(nphotons=float("nan")), "nphotons"),
        (lambda: TrainingConfig(realspace_mae_weight=1.0), "realspace_weight"),
        (lambda: TrainingConfig(batch_size=0), "batch_size"),
        (lambda: TrainingConfig(model="not a model"), "model"),
        (lambda: TrainingConfig(mae_weight=-1), "mae_weight"),
        (lambda: InferenceConfig(neighbor_count=0), "neighbor_count"),
        (lambda: params.set("no_such_key", 1), "no_such_key"),
        (lambda: params.init(1e9, "mse"), "loss_fn"),
        (lambda: params.init(-5, "nll"), "nphotons"),
        (lambda: get_profile("huge"), "profile"),
        (lambda: dataclasses.replace(PROFILES["smoke"], legacy_size=70), "legacy_size"),
        (lambda: dataclasses.replace(PROFILES["smoke"], modern_train_groups=10_000), "modern_train_groups"),
    ],
)
def test_invalid_config_names_its_field(make, field):
    with pytest.raises(ConfigError) as err:
        make()
    assert err.value.field == field
    assert field in str(err.value)


# --- data files -----------------------------------------------------------------------------------


def good_arrays(P=6, N=64):
    rng = np.random.default_rng(0)
    return {
        "xcoords": rng.uniform(40, 80, P).astype(np.float32),
        "ycoords": rng.uniform(40, 80, P).astype(np.float32),
        "diff3d": rng.random((P, N, N), dtype=np.float32),
        "probeGuess": (rng.random((N, N)) + 0j).astype(np.complex64),
        "objectGuess": np.ones((128, 128), np.complex64),
    }


def write(tmp_path, arrays, name="data.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_good_file_loads(tmp_path):
    data = datafile.load_raw_npz(write(tmp_path, good_arrays()))
    assert data.diff3d.shape == (6, 64, 64) and data.coords.shape == (6, 2)


def _with(**changes):
    arrays = good_arrays()
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    return arrays


def _one_nan(key, shape, dtype=np.float32):
    a = np.ones(shape, dtype)
    a.flat[1] = np.nan
    return _with(**{key: a})


# Each bad file, and the one message (after "<file>: ") that must answer it.
BAD_FILES = {
    "missing key": (_with(diff3d=None), "missing key(s) diff3d (has: xcoords, ycoords, probeGuess, objectGuess)"),
    "two keys missing": (_with(diff3d=None, probeGuess=None),
                         "missing key(s) diff3d, probeGuess (has: xcoords, ycoords, objectGuess)"),
    "complex diffraction": (_with(diff3d=np.ones((6, 64, 64), np.complex64)),
                            "diff3d is complex (complex64) where real values are expected"),
    "complex ycoords": (_with(ycoords=np.ones(6, np.complex64)),
                        "ycoords is complex (complex64) where real values are expected"),
    "text dtype": (_with(xcoords=np.array(["a"] * 6)), "xcoords has dtype <U1; a real number type is expected"),
    "text probe": (_with(probeGuess=np.array([["a"] * 64] * 64)),
                   "probeGuess has dtype <U1; a numeric array is expected"),
    "text object": (_with(objectGuess=np.array([["a"] * 8] * 8)),
                    "objectGuess has dtype <U1; a numeric array is expected"),
    "mismatched coords": (_with(xcoords=np.zeros(5, np.float32)),
                          "xcoords/ycoords must have shape (6,), got (5,) and (6,)"),
    "mismatched ycoords": (_with(ycoords=np.zeros((6, 1), np.float32)),
                           "xcoords/ycoords must have shape (6,), got (6,) and (6, 1)"),
    "non-square patterns": (_with(diff3d=np.ones((6, 64, 32), np.float32)),
                            "diff3d must have shape (P, N, N), got (6, 64, 32)"),
    "2-D diffraction": (_with(diff3d=np.ones((64, 64), np.float32)), "diff3d must have shape (P, N, N), got (64, 64)"),
    "N not allowed": (_with(diff3d=np.ones((6, 32, 32), np.float32), probeGuess=np.ones((32, 32), np.complex64)),
                      "diff3d patterns are 32x32; N must be one of (64, 128, 256)"),
    "probe shape": (_with(probeGuess=np.ones((32, 32), np.complex64)), "probeGuess must have shape (64, 64), got (32, 32)"),
    "NaN in diffraction": (_with(diff3d=np.full((6, 64, 64), np.nan, np.float32)),
                           "diff3d contains 24576 NaN or Inf value(s)"),
    "one NaN in xcoords": (_one_nan("xcoords", 6), "xcoords contains 1 NaN or Inf value(s)"),
    "one NaN in ycoords": (_one_nan("ycoords", 6), "ycoords contains 1 NaN or Inf value(s)"),
    "one NaN in object": (_one_nan("objectGuess", (8, 8), np.complex64), "objectGuess contains 1 NaN or Inf value(s)"),
    "Inf in probe": (_with(probeGuess=np.full((64, 64), np.inf, np.complex64)),
                     "probeGuess contains 4096 NaN or Inf value(s)"),
    "negative counts": (_with(diff3d=-np.ones((6, 64, 64), np.float32)),
                        "diff3d has 24576 negative value(s); amplitudes are >= 0"),
    "zero probe": (_with(probeGuess=np.zeros((64, 64), np.complex64)), "probeGuess is zero everywhere"),
    "empty": (_with(diff3d=np.zeros((0, 64, 64), np.float32), xcoords=np.zeros(0, np.float32),
                    ycoords=np.zeros(0, np.float32)), "diff3d is empty (0 patterns)"),
    "empty object": (_with(objectGuess=np.zeros((0, 5), np.complex64)),
                     "objectGuess must be a non-empty 2-D array, got shape (0, 5)"),
    "1-D object": (_with(objectGuess=np.ones(5, np.complex64)),
                   "objectGuess must be a non-empty 2-D array, got shape (5,)"),
    "object array": (_with(objectGuess=np.array([None, 1], dtype=object)),
                     "not a readable NPZ file (ValueError: Object arrays cannot be loaded when allow_pickle=False)"),
    "no arrays at all": ({}, "missing key(s) xcoords, ycoords, diff3d, probeGuess, objectGuess (has: none)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_names_the_problem(tmp_path, case):
    arrays, message = BAD_FILES[case]
    path = write(tmp_path, arrays)
    with pytest.raises(DataError) as err:
        datafile.load_raw_npz(path)
    assert (err.value.source, err.value.message) == (str(path), message)


def test_loader_accepts_integer_diffraction_and_a_faint_probe(tmp_path):
    """Integer counts are real numbers; a probe below 1 everywhere is still a probe."""
    arrays = _with(diff3d=np.ones((6, 64, 64), np.int16), probeGuess=np.full((64, 64), 0.01, np.complex64))
    data = datafile.load_raw_npz(write(tmp_path, arrays))
    assert data.diff3d.dtype == np.float32 and data.probe.dtype == np.complex64
    assert data.obj.dtype == np.complex64 and data.xcoords.dtype == data.ycoords.dtype == np.float32
    np.testing.assert_array_equal(data.coords, np.stack([arrays["xcoords"], arrays["ycoords"]], 1))


def test_truncated_and_foreign_files(tmp_path):
    good = write(tmp_path, good_arrays())
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    expected = {
        truncated: "not a readable NPZ file (BadZipFile: File is not a zip file)",
        text: "is not an NPZ file (no zip header)",
        single: "is a single .npy array, not an NPZ archive",
        tmp_path / "absent.npz": "no such file",
    }
    for path, message in expected.items():
        with pytest.raises(DataError) as err:
            datafile.load_raw_npz(path)
        assert (err.value.source, err.value.message) == (str(path), message)


array_strategy = st.one_of(
    st.builds(lambda shape, dtype: np.zeros(shape, dtype), st.lists(st.integers(0, 4), max_size=3).map(tuple),
              st.sampled_from([np.float32, np.float64, np.int16, np.complex64, np.bool_])),
    st.builds(lambda v: np.array(v), st.lists(st.floats(allow_nan=True), max_size=4)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(list(datafile.REQUIRED_KEYS) + ["extra"]), array_strategy))
def test_loader_valid_or_data_error(tmp_path, arrays):
    path = write(tmp_path, arrays, "prop.npz")
    try:
        datafile.load_raw_npz(path)
    except DataError:
        pass


def test_writer_is_atomic(tmp_path):
    target = tmp_path / "raw.npz"
    a = good_arrays()
    datafile.save_raw_npz(target, np.stack([a["xcoords"], a["ycoords"]], 1), a["diff3d"], a["probeGuess"],
                          a["objectGuess"])
    assert datafile.load_raw_npz(target).diff3d.shape == (6, 64, 64)
    assert [p.name for p in tmp_path.iterdir()] == ["raw.npz"]


def test_writer_stores_the_documented_layout(tmp_path):
    """float64 inputs are written as the RawData layout: float32 coordinates and patterns,
    complex64 probe and object, x from column 0 and y from column 1."""
    target = tmp_path / "raw.npz"
    coords = np.array([[1.5, 7.25], [2.5, 8.0]])
    diff = np.full((2, 64, 64), 0.5)
    probe_, obj = np.ones((64, 64)), np.full((9, 9), 2.0)
    datafile.save_raw_npz(target, coords, diff, probe_, obj)
    with np.load(target) as raw:
        dtypes = {key: raw[key].dtype for key in raw.files}
        assert raw["xcoords"].tolist() == [1.5, 2.5] and raw["ycoords"].tolist() == [7.25, 8.0]
    assert dtypes == {"xcoords": np.float32, "ycoords": np.float32, "diff3d": np.float32,
                      "probeGuess": np.complex64, "objectGuess": np.complex64}


def test_writer_error_names_the_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "missing-folder" / "raw.npz"
    a = good_arrays()
    with pytest.raises(DataError) as err:
        datafile.save_raw_npz(target, np.zeros((6, 2)), a["diff3d"], a["probeGuess"], a["objectGuess"])
    assert (err.value.source, err.value.message) == (str(target), "cannot write: No such file or directory")
    assert list(tmp_path.iterdir()) == []


# --- the command line ---------------------------------------------------------------------------------


def test_cli_error_is_one_line(capsys):
    code = cli.main(["run", "--pipeline", "modern", "--profile", "nonexistent"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "profile" in err and "Traceback" not in err


def test_cli_bad_data_file(tmp_path, capsys):
    path = write(tmp_path, _with(diff3d=None))
    code = cli.main(["run", "--pipeline", "modern", "--data-file", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "diff3d" in err


def test_cli_refuses_profile_too_big(monkeypatch, capsys):
    monkeypatch.setattr(type(PROFILES["smoke"]), "estimated_peak_bytes", lambda self: 10**15)
    code = cli.main(["parity", "--static-only", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "GiB" in err and "profile" in err


def test_unwritable_report_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError) as err:
        report.new_report_dir(blocker / "reports")
    assert "reports" in str(err.value)


def test_reports_never_overwrite(tmp_path):
    first_tmp, first = report.new_report_dir(tmp_path)
    first_tmp.rename(first)
    second_tmp, second = report.new_report_dir(tmp_path)
    assert second != first and first.exists()


# --- interrupted report writing ----------------------------------------------------------------------

KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from ptychobench.parity import report, runner
    slow = report.atomic_write_text
    def crawl(path, text):
        slow(path, text)
        time.sleep(0.5)
    report.atomic_write_text = crawl
    outcome = runner.ParityOutcome(profile=runner.get_profile("smoke"), seed=0)
    outcome.checks = [runner.checks.CheckResult(f"demo{i}", True) for i in range(40)]
    report.write_report(outcome, sys.argv[1])
    """
)


def test_killed_report_leaves_earlier_results_intact(tmp_path):
    root = tmp_path / "reports"
    root.mkdir()
    earlier = root / "parity-earlier"
    earlier.mkdir()
    (earlier / "index.md").write_text("earlier report\n")
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(root)], env={**os.environ})
    deadline = time.time() + 120
    while time.time() < deadline and not any(p.name.startswith(".incomplete-") for p in root.iterdir()):
        time.sleep(0.1)
    time.sleep(1.0)  # a few files into the folder
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (earlier / "index.md").read_text() == "earlier report\n"
    finals = [p for p in root.iterdir() if p.name.startswith("parity-") and p != earlier]
    assert finals == [], "a killed run must not leave a report under a final name"
    partial = [p for p in root.iterdir() if p.name.startswith(".incomplete-")]
    assert partial, "the kill should have hit the run while it was writing"
    assert not (root / "LATEST").exists()


# --- training numerics -----------------------------------------------------------------------------------


def test_nan_in_training_is_recorded_as_failure(monkeypatch):
    from ptychobench.errors import TrainingDivergedError
    from ptychobench.pipelines import common, legacy

    def diverge(prep, progress):
        raise TrainingDivergedError(2, 7, float("nan"))

    monkeypatch.setattr(common, "train_model", diverge)
    small = dataclasses.replace(PROFILES["smoke"], legacy_size=96, legacy_epochs=1)
    result = legacy.run(small, progress=False)
    assert result.failure and "epoch 2, batch 7" in result.failure
    assert result.metrics == {}
    assert json.loads(json.dumps(result.to_json()))["failure"] == result.failure


def test_our_errors_share_one_base():
    for err in (ConfigError("f", "m"), DataError("file", "m")):
        assert isinstance(err, PtychoBenchError)


@pytest.mark.parametrize("content, message", [
    ({"other": np.zeros(3)}, "missing key(s) probeGuess (has: other)"),
    ({"probeGuess": np.zeros((32, 32), np.complex64)}, "probeGuess must have shape (64, 64), got (32, 32)"),
    ({"probeGuess": np.full((64, 64), np.nan, np.complex64)}, "probeGuess contains 4096 NaN or Inf value(s)"),
    ({"probeGuess": np.zeros((64, 64), np.complex64)}, "probeGuess is zero everywhere"),
    ({"probeGuess": np.array([["a"] * 64] * 64)}, "probeGuess has dtype <U1; a numeric array is expected"),
])
def test_probe_file_errors_name_the_file(tmp_path, content, message):
    """The custom scenarios' probe file: one DataError naming the file for each bad input."""
    path = tmp_path / "probe.npz"
    np.savez(path, **content)
    with pytest.raises(DataError) as err:
        datafile.load_probe_npz(path, 64)
    assert (err.value.source, err.value.message) == (str(path), message)


def test_probe_file_faint_probe_loads_as_complex64(tmp_path):
    path = tmp_path / "probe.npz"
    np.savez(path, probeGuess=np.full((64, 64), 0.01))
    probe_ = datafile.load_probe_npz(path, 64)
    assert probe_.dtype == np.complex64 and probe_[0, 0] == np.complex64(0.01)


def test_custom_scenario_without_probe_file_says_how():
    from ptychobench.errors import ConfigError
    from ptychobench.pipelines import modern

    with pytest.raises(ConfigError) as err:
        modern.prepare("tiny", scenario="gs1_custom")
    assert "--probe-file" in str(err.value)


def test_custom_scenario_reads_the_probe_file(tmp_path):
    """gs2_custom: the measured probe from the file, probe_scale 4, probe.big on, mask off."""
    from ptychobench.physics.probe import default_probe
    from ptychobench.pipelines import modern

    path = tmp_path / "probe.npz"
    np.savez(path, probeGuess=(2.5 * default_probe(64, 0.7)).astype(np.complex64))
    prep = modern.prepare("tiny", scenario="gs2_custom", probe_file=path)
    assert prep.spec.probe_big and not prep.spec.probe_mask and prep.spec.channels == 4
    assert prep.config["probe_scale"] == 4.0
    # normalised like every probe: mean |mask·P| = 1/probe_scale, whatever the file's scale
    from ptychobench.physics.probe import probe_mask

    assert np.mean(np.abs(probe_mask(64) * prep.probe)) == pytest.approx(0.25, rel=1e-5)


def _fake_report(folder, pearson_gs1=0.5):
    folder.mkdir()
    from ptychobench.parity.compare_reports import IDENTICAL_FILES, TRACKED

    for name in IDENTICAL_FILES:
        (folder / name).write_text("{}")
    (folder / "checks.json").write_text(json.dumps([{"name": "data", "passed": True}]))
    for run, pearson in (("legacy", 0.8), ("modern", 0.0), ("modern_gs1_ideal", pearson_gs1)):
        metrics = {k: 1.0 for k in TRACKED} | {"pearson": pearson}
        (folder / f"run_{run}.json").write_text(json.dumps({"metrics": metrics, "failure": None}))
    return folder


def test_report_comparison_covers_every_scenario(tmp_path):
    """The container comparison reads every run of the report, the extra scenarios included."""
    from ptychobench.parity.compare_reports import compare_report_folders as compare

    a = _fake_report(tmp_path / "a")
    assert compare(a, _fake_report(tmp_path / "b"))["problems"] == []
    problems = compare(a, _fake_report(tmp_path / "c", pearson_gs1=0.6))["problems"]
    assert len(problems) == 1 and problems[0].startswith("modern_gs1_ideal.pearson")


# --- the one atomic-write helper ----------------------------------------------------------------


def test_atomic_write_replaces_whole_files_only(tmp_path):
    from ptychobench.atomic import atomic_path, atomic_write_text

    target = tmp_path / "out.txt"
    atomic_write_text(target, "first\n")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the sec")
            raise RuntimeError("killed while writing")
    assert target.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    atomic_write_text(target, "second\n")
    assert target.read_text() == "second\n" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_gives_the_permissions_open_would(tmp_path):
    """mkstemp makes 0600 files; the written file has 0666 less the umask, like open()."""
    import os

    from ptychobench.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        (tmp_path / "b.txt").write_text("x")
        os.umask(0o077)
        atomic_write_text(tmp_path / "c.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644 == (tmp_path / "b.txt").stat().st_mode & 0o777
    assert (tmp_path / "c.txt").stat().st_mode & 0o777 == 0o600


def test_atomic_write_into_a_missing_folder_raises_oserror(tmp_path):
    from ptychobench.atomic import atomic_write_text

    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "absent" / "out.txt", "x")
