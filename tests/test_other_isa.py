"""The static parity verdict does not depend on the CPU's instruction set.

Our machines are Intel (AVX-512) or AMD (AVX2) at random, and the fixtures came from an
Intel machine. This test reruns the static parity checks with NumPy's SIMD dispatch held at
its x86-64-v2 baseline (``NPY_DISABLE_CPU_FEATURES``: no AVX2, no AVX-512) and oneDNN held at
SSE4.1 (``ONEDNN_MAX_CPU_ISA``): a third kernel path, different from both machine kinds. Every
check must give the same verdict (pass) there as here.
"""

import json
import os
import subprocess
import sys

import pytest

from ptychobench.parity import runner

pytestmark = pytest.mark.slow

REDUCED_ISA = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
}

SCRIPT = """
import json, numpy
from ptychobench.parity import runner
features = numpy._core._multiarray_umath.__cpu_features__
results = runner.run_static("smoke")
print(json.dumps({"verdicts": {c.name: c.passed for c in results},
                  "problems": [p for c in results for p in c.problems],
                  "x86_v3": bool(features.get("X86_V3")), "x86_v4": bool(features.get("X86_V4"))}))
"""


def test_static_verdicts_agree_on_a_reduced_instruction_set():
    here = {c.name: c.passed for c in runner.run_static("smoke")}
    env = {**os.environ, **REDUCED_ISA, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    there = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not there["x86_v3"] and not there["x86_v4"], "NumPy still dispatches to AVX2/AVX-512 (x86-64-v3/v4)"
    assert all(here.values()), here
    assert there["verdicts"] == here, there["problems"]
