"""Wiring of ``scripts/container.py --cuda`` (no image is built here; ``nox -s container -- --cuda`` does).

The CUDA path must build the lock a GPU host's ``docker build`` gets (the Dockerfile's default),
CI's path the CPU lock, and TensorFlow's CUDA report from inside the image must be complete.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from ptychobench.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("container_script", ROOT / "scripts" / "container.py")
container = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(container)

# What a CUDA build of TensorFlow 2.21 prints through TF_CUDA_PROBE on a machine without a GPU,
# after its own log lines (written out by hand, not produced by the code under test).
CUDA_OUTPUT = (
    "W0000 00:00:1764238000.000000 cuda_executor.cc:1309] could not find cuda drivers on your machine\n"
    '{"tensorflow": "2.21.0", "is_built_with_cuda": true, "cuda_version": "12.5.1", "cudnn_version": "9", '
    '"gpus": [], "nvidia_wheels": {"nvidia-cudnn-cu12": "9.3.0.75"}}\n'
)
# What the CPU-only wheel (tensorflow-cpu, the CPU lock) prints: no CUDA versions at all.
CPU_OUTPUT = ('{"tensorflow": "2.21.0", "is_built_with_cuda": false, "cuda_version": null, '
              '"cudnn_version": null, "gpus": [], "nvidia_wheels": {}}\n')


def dockerfile_default_requirements() -> str:
    found = re.search(r"^ARG REQUIREMENTS=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert found, "the Dockerfile has no default REQUIREMENTS build argument"
    return found.group(1)


def test_cuda_option_builds_the_gpu_hosts_lock():
    args = container.parse_args(["--cuda"])
    assert args.variant.requirements == dockerfile_default_requirements() == "requirements/container.lock"
    build = container.build_args(args.variant, "abc")
    assert "REQUIREMENTS=requirements/container.lock" in build
    assert build[build.index("-t") + 1] == args.variant.tag


def test_default_is_cis_cpu_image():
    args = container.parse_args([])
    assert args.variant.requirements == "requirements/cpu.lock"
    assert "REQUIREMENTS=requirements/cpu.lock" in container.build_args(args.variant, "abc")
    # the CPU summary stays where CI's run has always written it; the CUDA one has its own folder
    assert args.variant.summary == ROOT / ".container" / "container_vs_host.json"
    cuda = container.parse_args(["--cuda"]).variant
    assert cuda.tag != args.variant.tag and cuda.results != args.variant.results


def test_cuda_report_parsed_after_tensorflow_log_lines():
    report = container.parse_tf_cuda_report(CUDA_OUTPUT, "probe")
    assert report["is_built_with_cuda"] is True
    assert (report["cuda_version"], report["cudnn_version"], report["gpus"]) == ("12.5.1", "9", [])


@pytest.mark.parametrize("field", ["tensorflow", "is_built_with_cuda", "cuda_version", "cudnn_version", "gpus",
                                   "nvidia_wheels"])
def test_cuda_report_missing_field_named(field):
    report = json.loads(CUDA_OUTPUT.splitlines()[-1])
    del report[field]
    with pytest.raises(DataError, match=rf"probe: field '{field}' is missing"):
        container.parse_tf_cuda_report(json.dumps(report), "probe")


def test_cpu_only_tensorflow_rejected_by_name():
    with pytest.raises(DataError, match="field 'cuda_version' is missing"):
        container.parse_tf_cuda_report(CPU_OUTPUT, "probe")


@pytest.mark.parametrize("output, message", [
    ("", "expected one JSON object"),
    ("Traceback (most recent call last):\nImportError: libcudart.so.12\n", "last line is not JSON"),
    (CUDA_OUTPUT.replace('"gpus": []', '"gpus": "none"'), "field 'gpus' must be a list"),
])
def test_cuda_report_malformed(output, message):
    with pytest.raises(DataError, match=message):
        container.parse_tf_cuda_report(output, "probe")


def write_report(folder: Path, lock: str) -> Path:
    folder.mkdir()
    (folder / "run_legacy.json").write_text(json.dumps({"provenance": {"lock": lock}}))
    return folder


def test_cuda_problems(tmp_path):
    good = json.loads(CUDA_OUTPUT.splitlines()[-1])
    cuda_report = write_report(tmp_path / "cuda", "/app/requirements/container.lock")
    cpu_report = write_report(tmp_path / "cpu", "/app/requirements/cpu.lock")
    assert container.cuda_problems(good, cuda_report, container.CUDA) == []
    assert container.cuda_problems(good, cpu_report, container.CUDA) == [
        "the container's report was made with /app/requirements/cpu.lock, not /app/requirements/container.lock"]
    assert container.cuda_problems({**good, "is_built_with_cuda": False}, cuda_report, container.CUDA) == [
        "TensorFlow in the image is not built with CUDA"]
