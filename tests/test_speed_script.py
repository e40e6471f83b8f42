"""scripts/speed.py: bad sizes and caps are refused in one line; ``isa`` sweeps oneDNN's caps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "speed.py"


def _speed(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("args, field", [
    (["train", "--epochs", "1"], "epochs"),
    (["isa", "--groups", "8"], "groups"),
    (["isa", "--caps", "AVX2,AVX9000"], "caps: unknown ['AVX9000']"),
])
def test_bad_input_is_refused_in_one_line_before_tensorflow_starts(args, field):
    proc = _speed(*args)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("speed.py: error: ") and field in last
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""  # nothing measured, no report written


@pytest.mark.slow
def test_the_isa_sweep_runs_each_cap_in_its_own_process_and_fits_both_steps(tmp_path):
    out = tmp_path / "new" / "sweep.json"
    proc = _speed("isa", "--caps", "SSE41,AVX2", "--groups", "16", "--epochs", "2", "--nfs", "1", "--out", str(out),
                  timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = json.loads(out.read_text())
    assert [r["onednn_max_cpu_isa"] for r in sweep["rungs"]] == ["SSE41", "AVX2"]
    for rung in sweep["rungs"]:
        assert set(rung["groups_per_s"]) == {"xla", "tf_kernels"}
        assert rung["groups"] == 16 and rung["epochs"] == 2 and rung["n_filters_scale"] == 1
        assert rung["xla_ratio"] == pytest.approx(rung["groups_per_s"]["xla"]["train"]
                                                  / rung["groups_per_s"]["tf_kernels"]["train"], rel=1e-12)
    assert set(sweep["fit"]) == {"xla", "tf_kernels"}
    assert len(sweep["fitted_xla_ratio"]) == 2
    assert "oneDNN capped at AVX2 (2/2)" in proc.stdout and f"written: {out}" in proc.stdout
    assert not list(out.parent.glob(".*.tmp"))
