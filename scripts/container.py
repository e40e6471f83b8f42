"""Build the image, rerun the parity suite inside it, compare with a host run (``nox -s container``).

With a Docker daemon: ``docker build`` / ``docker run``. Without one (these CI machines):
buildah + podman (runc, cgroupfs, overlay storage in a project-owned folder) from a Debian
base made with debootstrap, since no registry can be reached. The CPU lock is used by
default (CI); ``--cuda`` builds the image a GPU host gets (the Dockerfile's default CUDA lock),
runs the same parity suite inside it on the CPU, and also records what TensorFlow inside says
about CUDA (``.container/results-cuda/container_vs_host.json``). Everything is cleaned up
afterwards: images, containers, the storage folder; containers run with ``--network none``.

    python scripts/container.py [--cuda] [--profile smoke] [--seed 0] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".container"
BASE = "localhost/ptychobench-base:bookworm"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class Variant:
    """Which image to build: its hash-locked requirements, tag and results folder."""

    requirements: str
    tag: str
    results: Path
    summary: Path


CPU = Variant("requirements/cpu.lock", "localhost/ptychobench:test", WORK / "results", WORK / "container_vs_host.json")
CUDA = Variant("requirements/container.lock", "localhost/ptychobench:cuda", WORK / "results-cuda",
               WORK / "results-cuda" / "container_vs_host.json")

# Run inside the CUDA image: what TensorFlow says about its CUDA build, the GPUs it sees and
# the NVIDIA wheels installed; one JSON object on the last line of stdout.
TF_CUDA_PROBE = """
import importlib.metadata as md, json, tensorflow as tf
build = tf.sysconfig.get_build_info()
print(json.dumps({
    "tensorflow": tf.__version__,
    "is_built_with_cuda": tf.test.is_built_with_cuda(),
    "cuda_version": build.get("cuda_version"),
    "cudnn_version": build.get("cudnn_version"),
    "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
    "nvidia_wheels": {d.metadata["Name"]: d.version for d in md.distributions()
                      if d.metadata["Name"].startswith("nvidia-")},
}))
"""
TF_CUDA_FIELDS = {"tensorflow": str, "is_built_with_cuda": bool, "cuda_version": str, "cudnn_version": str,
                  "gpus": list, "nvidia_wheels": dict}

CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def sh(cmd, env=None, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(list(map(str, cmd)), env=env, check=True, **kw)


def docker_daemon() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def ensure_tools() -> None:
    missing = [t for t in ("buildah", "podman", "runc", "debootstrap") if not shutil.which(t)]
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            sys.exit(f"container tools missing ({', '.join(missing)}) and cannot be installed here")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh(["apt-get", "update", "-qq"], env=env)
        sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "buildah", "podman", "runc",
            "debootstrap", "uidmap"], env=env, stdout=subprocess.DEVNULL)


def podman_env() -> dict:
    storage = WORK / "storage"
    (WORK / "run").mkdir(parents=True, exist_ok=True)
    storage.mkdir(parents=True, exist_ok=True)
    (WORK / "containers.conf").write_text(CONTAINERS_CONF)
    (WORK / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{storage}"\nrunroot = "{WORK / "run"}"\n'
    )
    return {**os.environ, "CONTAINERS_CONF": str(WORK / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(WORK / "storage.conf")}


def build_base(env: dict) -> None:
    """A Debian bookworm base with Python 3.11, made without any registry."""
    rootfs = WORK / "rootfs"
    sh(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
        "bookworm", rootfs], stdout=subprocess.DEVNULL)
    tarball = WORK / "base.tar"
    sh(["tar", "-C", rootfs, "-cf", tarball, "."])
    shutil.rmtree(rootfs)
    ctr = subprocess.run(["buildah", "from", "scratch"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    sh(["buildah", "add", ctr, tarball, "/"], env=env, stdout=subprocess.DEVNULL)
    sh(["buildah", "commit", "--quiet", ctr, BASE], env=env, stdout=subprocess.DEVNULL)
    sh(["buildah", "rm", ctr], env=env, stdout=subprocess.DEVNULL)
    tarball.unlink()


def git_sha() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def build_args(variant: Variant, sha: str) -> list[str]:
    """The build arguments shared by ``docker build`` and ``buildah bud``."""
    return ["--build-arg", f"REQUIREMENTS={variant.requirements}", "--build-arg", f"GIT_SHA={sha}",
            "--build-arg", f"IMAGE_TAG={variant.tag}", "-t", variant.tag, "-f", "Dockerfile", "."]


def build_image(engine: str, env: dict, variant: Variant) -> float:
    args = build_args(variant, git_sha())
    start = time.perf_counter()
    if engine == "docker":
        sh(["docker", "build", *args], cwd=ROOT)
    else:
        ca = ["-v", f"{HOST_CA}:/run/host-ca.crt:ro", "--build-arg", "PIP_CERT=/run/host-ca.crt"] \
            if HOST_CA.exists() else []
        sh(["buildah", "bud", "--isolation=chroot", "--layers", "--build-arg", f"BASE_IMAGE={BASE}", *ca, *args],
           env=env, cwd=ROOT)
    return time.perf_counter() - start


def image_size(engine: str, env: dict, tag: str) -> int:
    tool = "docker" if engine == "docker" else "podman"
    out = subprocess.run([tool, "image", "inspect", "--format", "{{.Size}}", tag], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    return int(out)


def image_digest(engine: str, env: dict, tag: str) -> str:
    tool = "docker" if engine == "docker" else "podman"
    return subprocess.run([tool, "image", "inspect", "--format", "{{.Id}}", tag], env=env,
                          capture_output=True, text=True).stdout.strip()


def run_in_container(engine: str, env: dict, tag: str, results: Path, profile: str, seed: int) -> float:
    results.mkdir(parents=True, exist_ok=True)
    results.chmod(0o777)
    tool = "docker" if engine == "docker" else "podman"
    cmd = [tool, "run", "--rm", "--network", "none", "-v", f"{results}:/results",
           "-e", f"PTYCHOBENCH_PROFILE={profile}", "-e", f"PTYCHOBENCH_SEED={seed}", tag, "parity"]
    start = time.perf_counter()
    sh(cmd, env=env)
    return time.perf_counter() - start


def latest(reports: Path) -> Path:
    return reports / (reports / "LATEST").read_text().strip()


def reusable_host_report(profile: str, seed: int) -> Path | None:
    """The latest host report under ``$PTYCHOBENCH_REPORTS`` if it is of this clean commit, profile and seed."""
    reports = ROOT / os.environ.get("PTYCHOBENCH_REPORTS", "reports")
    try:
        folder = latest(reports)
        run = json.loads((folder / "run_legacy.json").read_text())
    except (OSError, ValueError):
        return None
    prov = run.get("provenance", {})
    same = (prov.get("git", {}).get("sha") == git_sha() and not prov.get("git", {}).get("dirty")
            and run.get("profile") == profile and run.get("seed") == seed)
    return folder if same else None


def parse_tf_cuda_report(stdout: str, source: str) -> dict:
    """The JSON object on the last line of ``TF_CUDA_PROBE``'s output, every field checked.

    Raises ``DataError`` naming ``source`` and the field that is missing or of the wrong type
    (a CPU-only TensorFlow has no ``cuda_version``: that is an error here, not a null).
    """
    from ptychobench.errors import DataError

    lines = stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError as err:
        raise DataError(source, f"last line is not JSON ({err}): {lines[-1][:200]!r}") from None
    if not isinstance(report, dict):
        raise DataError(source, f"expected one JSON object on the last line, got {stdout[-200:]!r}")
    for field, kind in TF_CUDA_FIELDS.items():
        if report.get(field) is None:
            raise DataError(source, f"field {field!r} is missing (TensorFlow reported {report})")
        if not isinstance(report[field], kind):
            raise DataError(source, f"field {field!r} must be a {kind.__name__}, got {report[field]!r}")
    return report


def tf_cuda_report(engine: str, env: dict, tag: str) -> dict:
    """What TensorFlow inside the image says about CUDA (see ``TF_CUDA_PROBE``)."""
    tool = "docker" if engine == "docker" else "podman"
    cmd = [tool, "run", "--rm", "--network", "none", "--entrypoint", "python3", tag, "-c", TF_CUDA_PROBE]
    print("+", *cmd[:-1], "TF_CUDA_PROBE", flush=True)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return parse_tf_cuda_report(out, f"{tag} TensorFlow CUDA report")


def cuda_problems(tf_cuda: dict, container_report: Path, variant: Variant) -> list[str]:
    """What is wrong with a CUDA image: TensorFlow not built with CUDA, or a report not made with its lock."""
    problems = [] if tf_cuda["is_built_with_cuda"] else ["TensorFlow in the image is not built with CUDA"]
    lock = json.loads((container_report / "run_legacy.json").read_text())["provenance"]["lock"]
    if lock != f"/app/{variant.requirements}":
        problems.append(f"the container's report was made with {lock}, not /app/{variant.requirements}")
    return problems


def checks_passed(report: Path) -> str:
    """``"passed/total"`` of the report's checks."""
    checks = json.loads((report / "checks.json").read_text())
    return f"{sum(c['passed'] for c in checks)}/{len(checks)}"


def cleanup(engine: str, env: dict, tag: str) -> None:
    if engine == "docker":
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
        return
    subprocess.run(["podman", "rmi", "-a", "-f"], env=env, capture_output=True)
    subprocess.run(["buildah", "rm", "--all"], env=env, capture_output=True)
    subprocess.run(["podman", "system", "reset", "-f"], env=env, capture_output=True)
    shutil.rmtree(WORK / "storage", ignore_errors=True)
    shutil.rmtree(WORK / "run", ignore_errors=True)
    for name in ("containers.conf", "storage.conf"):
        (WORK / name).unlink(missing_ok=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``.variant`` is the image to build (``CUDA`` with ``--cuda``, else ``CPU``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cuda", action="store_true",
                        help=f"build the GPU host's image ({CUDA.requirements}); parity still runs on the CPU")
    parser.add_argument("--profile", default=os.environ.get("PTYCHOBENCH_PROFILE", "smoke"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the image and storage afterwards")
    args = parser.parse_args(argv)
    args.variant = CUDA if args.cuda else CPU
    return args


def main() -> int:
    args = parse_args()
    variant = args.variant

    sys.path.insert(0, str(ROOT / "src"))
    from ptychobench.atomic import atomic_write_text
    from ptychobench.errors import DataError
    from ptychobench.parity.compare_reports import compare_report_folders

    engine = "docker" if docker_daemon() else "podman"
    env = dict(os.environ)
    WORK.mkdir(exist_ok=True)
    summary = {"engine": engine, "profile": args.profile, "seed": args.seed, "git_sha": git_sha()}
    if args.cuda:
        summary["requirements"] = variant.requirements
    try:
        if engine == "podman":
            ensure_tools()
            env = podman_env()
            start = time.perf_counter()
            build_base(env)
            summary["base_seconds"] = round(time.perf_counter() - start, 1)
        summary["build_seconds"] = round(build_image(engine, env, variant), 1)
        summary["image_bytes"] = image_size(engine, env, variant.tag)
        summary["image_id"] = image_digest(engine, env, variant.tag)
        if args.cuda:  # before the long parity run: a CPU-only TensorFlow stops here
            try:
                summary["tensorflow_cuda"] = tf_cuda_report(engine, env, variant.tag)
            except DataError as err:
                sys.exit(f"not a CUDA image: {err}")
        results = variant.results
        shutil.rmtree(results, ignore_errors=True)
        summary["container_parity_seconds"] = round(
            run_in_container(engine, env, variant.tag, results, args.profile, args.seed), 1)
        container_report = latest(results / "reports")
        host_report = reusable_host_report(args.profile, args.seed)
        if host_report is None:
            host_reports = WORK / "host-reports"
            shutil.rmtree(host_reports, ignore_errors=True)
            start = time.perf_counter()
            sh([sys.executable, "-m", "ptychobench", "parity", "--profile", args.profile, "--seed",
                str(args.seed), "--quiet", "--reports", host_reports], env={**os.environ, "PYTHONHASHSEED": "0"})
            summary["host_parity_seconds"] = round(time.perf_counter() - start, 1)
            host_report = latest(host_reports)
        summary["host_report"] = str(host_report)
        comparison = compare_report_folders(container_report, host_report)
        if args.cuda:
            comparison["problems"] += cuda_problems(summary["tensorflow_cuda"], container_report, variant)
            summary["checks_passed"] = {"container": checks_passed(container_report),
                                        "host": checks_passed(host_report)}
        summary["comparison"] = comparison
        summary["container_report"] = str(container_report)
        atomic_write_text(variant.summary, json.dumps(summary, indent=2) + "\n")
        worst = max((m["rel_diff"] for m in comparison["metrics"].values()), default=0.0)
        print(f"image {summary['image_bytes'] / 2**30:.2f} GiB, built in {summary['build_seconds']} s; "
              f"largest metric difference container vs host: {worst:.3g}")
        for problem in comparison["problems"]:
            print("MISMATCH:", problem)
        print(variant.summary)
        return 0 if not comparison["problems"] else 1
    finally:
        if not args.keep:
            cleanup(engine, env, variant.tag)


if __name__ == "__main__":
    sys.exit(main())
