"""The suite's two tables: tolerances and documented differences (TOML files next to this module)."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ABSENT, NONE, PROFILE, CHANNELS = "<absent>", "<none>", "<profile>", "<C>"


@functools.cache
def tolerances() -> dict:
    """``{section: {name: value}}`` from ``tolerances.toml``."""
    raw = tomllib.loads((HERE / "tolerances.toml").read_text())
    return {sec: {k: v["value"] for k, v in entries.items()} for sec, entries in raw.items()}


def tolerance(section: str, name: str) -> float:
    return float(tolerances()[section][name])


@functools.cache
def known_differences() -> dict:
    """``{section: {key: {legacy, modern, why}}}`` from ``known_differences.toml``."""
    return tomllib.loads((HERE / "known_differences.toml").read_text())


def encode(value):
    """How a config value is written in the table (None -> ``<none>``)."""
    return NONE if value is None else value


def compare_tables(legacy: dict, modern: dict, section: str, profile_values: dict | None = None):
    """Compare two key→value dicts against the documented differences of ``section``.

    Returns
    -------
    rows : list of dict
        Every key that differs: legacy, modern, documented (bool), why.
    problems : list of str
        Undocumented differences, and documented ones whose values changed or vanished.
    """
    documented = known_differences().get(section, {})
    profile_values = profile_values or {}
    rows, problems = [], []
    for key in sorted(set(legacy) | set(modern)):
        a, b = encode(legacy.get(key, ABSENT)), encode(modern.get(key, ABSENT))
        if a == b:
            both_from_profile = key in documented and documented[key]["legacy"] == documented[key]["modern"] == PROFILE
            if key in documented and not both_from_profile:
                problems.append(f"{key}: documented as differing but both sides are {a!r}")
            continue
        entry = documented.get(key)
        row = {"key": key, "legacy": a, "modern": b, "documented": entry is not None,
               "why": entry["why"] if entry else "UNDOCUMENTED"}
        rows.append(row)
        if entry is None:
            problems.append(f"{key}: undocumented difference (legacy {a!r}, modern {b!r})")
            continue
        for side, actual in (("legacy", a), ("modern", b)):
            expected = entry[side]
            if expected == PROFILE:
                expected = encode(profile_values.get((side, key), actual))
            if expected != actual:
                problems.append(f"{key}: {side} is {actual!r}, the table documents {expected!r}")
    for key in documented:
        if key not in legacy and key not in modern:
            problems.append(f"{key}: documented but missing on both sides")
    return rows, problems
