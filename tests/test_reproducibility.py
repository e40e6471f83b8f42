"""Determinism and the false-alarm check.

* The same seed twice gives bit-identical stage tables, metrics and model weights (CPU,
  op determinism on), the first run reporting its progress and the second silent: the
  progress hooks change no number. The first run's progress names every stage and check.
* Other seeds give other weights, yet the whole parity suite still passes: the tolerance
  table does not raise false alarms.
"""

import io
import re

import pytest

from ptychobench.parity import runner
from ptychobench.progress import Progress

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_twice():
    """Two runs of every pipeline and scenario (the ``tiny`` profile: determinism does not
    depend on size, and CI time does); the first writes its progress as plain lines."""
    log = io.StringIO()
    first = runner.run_parity("tiny", seed=0, progress=Progress(log, interactive=False))
    again = runner.run_parity("tiny", seed=0, progress=False)
    return first, again, log.getvalue()


def test_same_seed_is_bit_identical(tiny_twice):
    first_outcome, again, _ = tiny_twice
    assert set(again.runs) == set(first_outcome.runs) == {"legacy", "modern", "modern_gs1_ideal"}
    for name, first in first_outcome.runs.items():
        second = again.runs[name]
        assert second.weights_sha256 == first.weights_sha256, f"{name}: weights differ"
        assert second.stages == first.stages, f"{name}: stage tables differ"
        assert second.metrics == first.metrics or _nan_equal(second.metrics, first.metrics), f"{name}: metrics differ"


#: (label, stage) in the order they finish on the tiny profile, written out from run_parity
PARITY_STAGES = [
    ("legacy", "simulate"), ("legacy", "build model"),
    ("modern gs2_ideal", "simulate"), ("modern gs2_ideal", "group"), ("modern gs2_ideal", "build model"),
    ("parity", "recorded numbers"),
    ("legacy", "train"), ("legacy", "predict"), ("legacy", "stitch"),
    ("modern gs2_ideal", "train"), ("modern gs2_ideal", "predict"), ("modern gs2_ideal", "stitch"),
    ("modern gs1_ideal", "simulate"), ("modern gs1_ideal", "group"), ("modern gs1_ideal", "build model"),
    ("modern gs1_ideal", "train"), ("modern gs1_ideal", "predict"), ("modern gs1_ideal", "stitch"),
]
#: checks in the order they complete; normalization again once the trained stages exist
CHECKS_AS_THEY_COMPLETE = ["loss_config", "loss_form", "config", "data", "normalization", "architecture",
                           "training_params", "stitching", "metrics", "custom_path", "recorded_numbers",
                           "normalization", "amplitude_gs1_ideal", "training_run", "amplitude",
                           "original_distribution"]


def test_progress_names_every_stage_and_check(tiny_twice):
    _, _, log = tiny_twice
    lines = log.splitlines()
    assert "\r" not in log
    done = [tuple(line[1:].split(": done in")[0].split("] ", 1)) for line in lines if ": done in" in line]
    assert done == PARITY_STAGES
    verdicts = [m[1] for m in map(re.compile(r"\[(?:PASS|FAIL)\] (\w+)").match, lines) if m]
    assert verdicts == CHECKS_AS_THEY_COMPLETE
    for label in ("legacy", "modern gs2_ideal", "modern gs1_ideal"):  # tiny: 2 epochs each
        assert any(line.startswith(f"[{label}] epochs: 100%|##########| 2/2 [") and ", lr=0.001]" in line
                   for line in lines), label


def _nan_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(x == y or (x != x and y != y) for x, y in zip(a.values(), b.values()))


@pytest.mark.parametrize("seed", [1, 2])
def test_other_seeds_pass_without_false_alarms(parity_outcome, seed):
    other = runner.run_parity(parity_outcome.profile, seed=seed, progress=False)
    failed = [c.summary() for c in other.checks if not c.passed]
    assert not failed, f"seed {seed}: {failed}"
    for name, run in other.runs.items():
        assert run.weights_sha256 != parity_outcome.runs[name].weights_sha256
