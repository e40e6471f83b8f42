"""Provenance of a run: software versions, TensorFlow build, devices, CPU, git state."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path

PACKAGES = ("numpy", "scipy", "scikit-image", "tensorflow", "tensorflow-cpu", "keras", "ptychobench")


def _run(cmd: list[str], cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def repo_root() -> Path:
    """The git work tree holding this package, or the current folder."""
    here = Path(__file__).resolve().parent
    top = _run(["git", "rev-parse", "--show-toplevel"], cwd=here)
    return Path(top) if top else Path.cwd()


def git_state() -> dict:
    root = repo_root()
    sha = _run(["git", "rev-parse", "HEAD"], cwd=root)
    status = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root)
    return {"sha": sha or os.environ.get("PTYCHOBENCH_GIT_SHA"), "dirty": bool(status)}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_info() -> list[dict]:
    """GPU name and driver from nvidia-smi, when present."""
    if not shutil.which("nvidia-smi"):
        return []
    out = _run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
    if not out:
        return []
    rows = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        rows.append(dict(zip(("name", "driver", "memory"), parts)))
    return rows


def lock_hash() -> str | None:
    """SHA-256 of the requirements lock in force: ``$PTYCHOBENCH_LOCK`` (set in the image), else the CPU lock."""
    path = Path(os.environ.get("PTYCHOBENCH_LOCK", repo_root() / "requirements" / "cpu.lock"))
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def collect(seed: int, profile: str, deterministic: bool) -> dict:
    """Everything needed to tell two result series apart."""
    import tensorflow as tf

    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            continue
    build = {k: str(v) for k, v in tf.sysconfig.get_build_info().items()}
    return {
        "versions": versions,
        "python": platform.python_version(),
        "tensorflow_build": build,
        "devices": [d.device_type + ":" + d.name for d in tf.config.list_physical_devices()],
        "gpus": gpu_info(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "git": git_state(),
        "lock": os.environ.get("PTYCHOBENCH_LOCK", "requirements/cpu.lock"),
        "lock_sha256": lock_hash(),
        "image": os.environ.get("PTYCHOBENCH_IMAGE"),
        "seed": seed,
        "profile": profile,
        "deterministic": deterministic,
    }


def benchmark_machine_name() -> str:
    """asv machine name: host, accelerator (GPU name or CPU), TF and CUDA build, profile.

    Results of different hardware, builds or profiles get different names, so their series
    never mix in one graph.
    """
    import re
    import socket

    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    gpus = gpu_info()
    device = gpus[0]["name"] + "-drv" + gpus[0]["driver"] if gpus else "cpu-" + cpu_name()
    cuda = f"cuda{build['cuda_version']}" if build.get("is_cuda_build") else "nocuda"
    profile = os.environ.get("PTYCHOBENCH_PROFILE", "smoke")
    raw = f"{socket.gethostname()}-{device}-tf{tf.__version__}-{cuda}-{profile}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)[:120]
