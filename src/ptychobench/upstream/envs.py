"""The original's interpreters: one virtual environment per era, hash-locked and cached.

An *era* is a span of the original's history that imports in one pinned stack
(``shared/upstream/README.md``, "Which environment imports which commit"):

| era      | stack                                                    | commits                                            |
|----------|----------------------------------------------------------|----------------------------------------------------|
| ``tf215``| TF 2.15.1 + tensorflow-addons 0.23 + TFP 0.23, numpy 1.26 | main from 2024-06-04 (first-parent #256) on; dose_experiments' tip |
| ``tf221``| TF 2.21 + tf-keras 2.21 + TFP 0.25, numpy 1.26           | main from 2025-07 on, where no module imports tensorflow-addons |

Each era's requirements are ``requirements/upstream/<era>.lock`` (``uv pip compile
--generate-hashes`` of ``<era>.in``). An environment lives in
``<cache>/envs/<era>-<first 12 hex of the lock's SHA-256>``, so a changed lock makes a new
one; it counts as built only once its ``.complete`` marker is written, after the install
succeeded, and a half-built folder is removed and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from ..errors import UpstreamError

#: era -> (what it is, the earliest committer date it supports, ISO)
ERAS = {
    "tf215": ("TensorFlow 2.15.1 + tensorflow-addons 0.23 + numpy 1.26", "2024-06-04"),
    "tf221": ("TensorFlow 2.21 + tf-keras 2.21 + numpy 1.26 (no tensorflow-addons)", "2025-07-01"),
}

#: the era table, as errors quote it
ERA_TABLE = (
    "tf215: main from 2024-06-04 (first-parent #256) on and dose_experiments' tip; "
    "tf221: main from 2025-07 on, once no module imports tensorflow_addons; "
    "earlier commits need a GPU at import or packages no longer on PyPI (shared/upstream/README.md)"
)

LOCK_DIR = Path(__file__).resolve().parents[3] / "requirements" / "upstream"


def cache_root() -> Path:
    """``$PTYCHOBENCH_CACHE`` or ``~/.cache/ptychobench``."""
    return Path(os.environ.get("PTYCHOBENCH_CACHE") or Path.home() / ".cache" / "ptychobench")


def lock_file(era: str) -> Path:
    if era not in ERAS:
        raise UpstreamError(f"era: unknown era {era!r}; eras are {sorted(ERAS)} ({ERA_TABLE})")
    path = LOCK_DIR / f"{era}.lock"
    if not path.is_file():
        raise UpstreamError(f"{path}: the lock file of era {era} is missing")
    return path


def env_dir(era: str) -> Path:
    digest = hashlib.sha256(lock_file(era).read_bytes()).hexdigest()[:12]
    return cache_root() / "envs" / f"{era}-{digest}"


def python_of(era: str) -> Path:
    return env_dir(era) / "bin" / "python"


def is_built(era: str) -> bool:
    return (env_dir(era) / ".complete").is_file()


def ensure(era: str, log=print) -> Path:
    """The era's interpreter, creating its environment first when it is not built.

    Creation: ``venv`` without pip, then ``uv pip install`` (when ``uv`` is on PATH) or this
    interpreter's ``pip --python``, with ``--require-hashes`` and the lock as constraints too.
    """
    target = env_dir(era)
    if is_built(era):
        return python_of(era)
    lock = lock_file(era)
    if target.exists():
        shutil.rmtree(target)  # a half-built environment from an interrupted creation
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"[upstream] creating the {era} environment in {target} (about 2 minutes, once)")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(target)
    py = str(target / "bin" / "python")
    env = {**os.environ, "PIP_CONSTRAINT": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if shutil.which("uv"):
        cmd = ["uv", "pip", "install", "--python", py, "--require-hashes", "-r", str(lock)]
    else:
        cmd = [sys.executable, "-m", "pip", "--python", py, "install", "--quiet", "--no-deps",
               "--require-hashes", "-r", str(lock)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise UpstreamError(f"{lock}: installing era {era} failed:\n{tail}")
    (target / ".complete").write_text(hashlib.sha256(lock.read_bytes()).hexdigest() + "\n")
    log(f"[upstream] {era} environment ready")
    return python_of(era)


def main(argv=None) -> int:
    """``python -m ptychobench.upstream.envs [ERA ...]``: build (or find) the environments."""
    eras = (argv if argv is not None else sys.argv[1:]) or sorted(ERAS)
    for era in eras:
        print(ensure(era, log=lambda m: print(m, file=sys.stderr)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
