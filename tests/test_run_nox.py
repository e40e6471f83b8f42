"""scripts/run_nox.py: the README's set-up downloads pip only when its SHA-256 is the pinned one."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "run_nox.py"


@pytest.fixture(scope="module")
def run_nox():
    spec = importlib.util.spec_from_file_location("run_nox", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_download_with_another_hash_installs_nothing(tmp_path, run_nox):
    source = tmp_path / "pip.whl"
    source.write_bytes(b"not the pinned wheel")
    dest = tmp_path / "out" / "pip.whl"
    with pytest.raises(SystemExit) as err:
        run_nox.fetch_wheel(source.as_uri(), "0" * 64, dest)
    assert source.as_uri() in str(err.value) and "expected " + "0" * 64 in str(err.value)
    assert not dest.exists() and not dest.parent.exists()


def test_the_pinned_hash_is_written_once_and_reused(tmp_path, run_nox):
    source = tmp_path / "pip.whl"
    source.write_bytes(b"wheel bytes")
    sha = hashlib.sha256(b"wheel bytes").hexdigest()
    dest = tmp_path / "out" / "pip.whl"
    assert run_nox.fetch_wheel(source.as_uri(), sha, dest) == dest
    assert dest.read_bytes() == b"wheel bytes" and [p.name for p in dest.parent.iterdir()] == ["pip.whl"]
    source.unlink()  # a second call must not download again
    assert run_nox.fetch_wheel(source.as_uri(), sha, dest).read_bytes() == b"wheel bytes"


def test_the_pin_is_a_pip_wheel_on_pypi(run_nox):
    assert run_nox.PIP_URL.startswith("https://files.pythonhosted.org/")
    assert run_nox.PIP_URL.endswith("/" + run_nox.PIP_WHEEL) and run_nox.PIP_WHEEL.startswith("pip-")
    assert len(run_nox.PIP_SHA256) == 64 and int(run_nox.PIP_SHA256, 16) >= 0
