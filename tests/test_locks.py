"""The hash-locked requirement files are current: regenerated since pyproject.toml (and the
CUDA constraints) last changed, fully hashed, and pinning what the container promises."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {
    "requirements/cpu.lock": [],
    "requirements/container.lock": ["requirements/cuda-constraints.txt"],
    "requirements/mutation.lock": ["requirements/cpu.lock"],
}


def inputs_digest(constraints) -> str:
    h = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for c in constraints:
        h.update((ROOT / c).read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_regenerated_after_pyproject_changed(lock):
    text = (ROOT / lock).read_text()
    found = re.search(r"^# inputs-sha256: ([0-9a-f]{64})$", text, re.M)
    assert found, f"{lock} has no inputs-sha256 header; run `nox -s lock`"
    assert found.group(1) == inputs_digest(LOCKS[lock]), (
        f"pyproject.toml or the constraints changed since {lock} was generated; run `nox -s lock`"
    )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_requirement_is_pinned_and_hashed(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().split("\n", 3)[3])
    for entry in entries:
        if not entry.strip() or entry.startswith("#"):
            continue
        assert "==" in entry.split("\\")[0], entry.splitlines()[0]
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_container_lock_pins_cuda_stack():
    text = (ROOT / "requirements/container.lock").read_text()
    assert re.search(r"^tensorflow==2\.21\.\d+ ", text, re.M)
    assert re.search(r"^nvidia-cudnn-cu12==9\.3\.", text, re.M)
    assert re.search(r"^nvidia-cuda-runtime-cu12==12\.5\.", text, re.M)
    for tool in ("asv==0.6.6", "asv-runner==0.2.5", "nox=="):
        assert re.search(rf"^{re.escape(tool)}", text, re.M), tool
    assert not re.search(r"^tensorflow-cpu==", text, re.M), "the container lock must not also pull the CPU wheel"


def test_cpu_lock_has_no_cuda():
    text = (ROOT / "requirements/cpu.lock").read_text()
    assert re.search(r"^tensorflow-cpu==2\.21\.", text, re.M)
    assert not re.search(r"^nvidia-", text, re.M)
