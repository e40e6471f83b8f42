#!/usr/bin/env python3
"""Run nox, setting it up on first use in ``.nox/tools`` (no pip, no root, no internet but PyPI).

    python3 scripts/run_nox.py -s parity     # the README's first command
    python3 scripts/run_nox.py -s tests      # the README's second command

Works with any Python 3.11, including a stock Debian/Ubuntu one: such a Python has no pip and
no ``ensurepip`` and refuses ``pip install`` into the system (PEP 668, "externally managed").
So this makes a virtual environment without pip (``.nox/tools``, ignored by git), downloads
one pinned pip wheel from PyPI, checks its SHA-256, runs pip straight from the wheel to install
nox there, and then hands over to that nox with the arguments given. Later calls go straight
to nox. An interrupted set-up is redone from scratch (``.nox/tools/.complete`` marks a finished one).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".nox" / "tools"
NOX_REQUIREMENT = "nox>=2025.02.09"
PIP_WHEEL = "pip-26.3-py3-none-any.whl"
PIP_URL = ("https://files.pythonhosted.org/packages/07/25/ee8c38ae72d66b844ce8eb9711ba905dba21ca1a8a0c960057c41"
           "cd23337/" + PIP_WHEEL)
#: from https://pypi.org/simple/pip/ (the index's #sha256= fragment for this file)
PIP_SHA256 = "f3b60b20ffaadd4415ed7957212a38ac63fa4c5fa375bd0f4a797777940fad13"


def fetch_wheel(url: str, sha256: str, dest: Path) -> Path:
    """Download ``url`` to ``dest`` (temp file, then rename) unless a copy with ``sha256`` is there.

    Raises ``SystemExit`` naming the URL when the download's SHA-256 differs.
    """
    if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha256:
        return dest
    with urllib.request.urlopen(url, timeout=120) as resp:
        blob = resp.read()
    got = hashlib.sha256(blob).hexdigest()
    if got != sha256:
        raise SystemExit(f"run_nox: {url}: SHA-256 {got}, expected {sha256}; nothing installed")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, dest)
    return dest


def set_up(tools: Path = TOOLS) -> Path:
    """``tools/bin/nox``, installing nox into a pip-less venv at ``tools`` first if needed."""
    nox = tools / "bin" / "nox"
    if (tools / ".complete").exists() and nox.exists():
        return nox
    shutil.rmtree(tools, ignore_errors=True)
    print(f"run_nox: setting up nox in {tools} (once)", file=sys.stderr)
    venv.EnvBuilder(with_pip=False).create(tools)
    wheel = fetch_wheel(PIP_URL, PIP_SHA256, tools.parent / PIP_WHEEL)
    # A wheel is a zip archive with pip at its top level, so Python can run pip from it.
    subprocess.run([str(tools / "bin" / "python"), str(wheel / "pip"), "install", "--quiet",
                    "--disable-pip-version-check", NOX_REQUIREMENT], check=True)
    (tools / ".complete").write_text(NOX_REQUIREMENT + "\n")
    return nox


def main(argv: list[str]) -> None:
    nox = set_up()
    os.chdir(ROOT)
    os.execv(nox, [str(nox), *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
