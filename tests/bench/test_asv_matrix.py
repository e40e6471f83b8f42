"""asv installs our wheel with ``--no-deps`` into environments built from asv.conf.json's
matrix: every runtime dependency must be there, at the version requirements/cpu.lock pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_matrix_pins_every_runtime_dependency_at_the_locked_version():
    from asv.util import load_json

    matrix = load_json(str(ROOT / "asv.conf.json"), js_comments=True)["matrix"]["req"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["cpu"]}
    locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", (ROOT / "requirements/cpu.lock").read_text(), re.M))
    locked = {k.lower(): v for k, v in locked.items()}
    assert needed - set(matrix) == set(), "missing from asv.conf.json's matrix"
    for name in needed:
        assert matrix[name] == [locked[name]], f"{name}: matrix {matrix[name]} vs lock {locked[name]}"
