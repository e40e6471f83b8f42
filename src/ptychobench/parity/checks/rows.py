"""The machinery every check shares: a check's result, its rows (one per comparison) and
how numbers and arrays are put into words."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import tables


@dataclass
class CheckResult:
    """One check: its verdict, the comparisons that decided it, and the details to report.

    ``rows``: one dict per comparison (``what``, ``value``, ``limit``, ``tolerance`` entry or
    ``"exact"``, ``passed``). ``problems``: the failed rows (and set-up problems) in words.
    """

    name: str
    passed: bool
    reference: str = ""
    problems: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def summary(self) -> str:
        state = "PASS" if self.passed else "FAIL"
        extra = f": {self.problems[0]}" if self.problems else ""
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"[{state}] {self.name}{extra}{more}"

    @property
    def decided_by(self) -> str:
        """The row that decided the verdict: the first failure, else the closest call."""
        if not self.rows:
            return ""
        failed = [r for r in self.rows if not r["passed"]]
        if failed:
            r = failed[0]
        else:
            def margin(r):
                lim = r["limit"]
                if r["tolerance"] == "exact":
                    return -1.0
                if isinstance(r["value"], (int, float)) and isinstance(lim, (int, float)) and lim:
                    return abs(r["value"]) / abs(lim)
                return -1.0
            r = max(self.rows, key=margin)
        return f"{r['what']}: {_fmt(r['value'])} (limit {_fmt(r['limit'])})"


class Rows:
    """Collects the comparisons of one check."""

    def __init__(self):
        self.rows, self.problems = [], []

    def within(self, what: str, value: float, section: str, name: str) -> bool:
        """``value <= tolerance[section][name]`` (NaN fails)."""
        limit = tables.tolerance(section, name)
        ok = bool(value <= limit)
        self.rows.append({"what": what, "value": float(value), "limit": limit,
                          "tolerance": f"{section}.{name}", "passed": ok})
        if not ok:
            self.problems.append(f"{what} = {_fmt(value)} > {limit:g} ({section}.{name})")
        return ok

    def inside(self, what: str, value: float, lo: float, hi: float, tolerance: str) -> bool:
        """``lo <= value <= hi`` (NaN fails); the message says on which side it left."""
        ok = bool(lo <= value <= hi)
        self.rows.append({"what": what, "value": float(value), "limit": [lo, hi], "tolerance": tolerance,
                          "passed": ok})
        if not ok:
            side = "below" if value < lo else "above" if value > hi else "not finite, outside"
            self.problems.append(f"{what}: {_fmt(value)} is {side} [{_fmt(lo)}, {_fmt(hi)}] ({tolerance})")
        return ok

    def equal(self, what: str, got, expected) -> bool:
        """Exact equality (integers, strings, booleans, copies of the same values)."""
        ok = bool(np.array_equal(got, expected)) if isinstance(got, np.ndarray) else got == expected
        self.rows.append({"what": what, "value": _plain(got), "limit": _plain(expected),
                          "tolerance": "exact", "passed": ok})
        if not ok:
            self.problems.append(f"{what}: {_difference(got, expected)}")
        return ok

    def fail(self, message: str) -> None:
        self.rows.append({"what": message, "value": None, "limit": None, "tolerance": "-", "passed": False})
        self.problems.append(message)

    def result(self, name: str, reference: str, details: dict) -> CheckResult:
        if not self.rows:
            self.fail("no comparison was made: a check that compares nothing cannot pass")
        return CheckResult(name, not self.problems, reference, self.problems, self.rows, details)


def _plain(x):
    if isinstance(x, np.ndarray):
        return f"<array {x.shape}>"
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return x


def _difference(got, expected) -> str:
    """What differs between two values, in words: for arrays the shapes, or the count of
    differing elements and the first few with their indices and both values."""
    if not (isinstance(got, np.ndarray) or isinstance(expected, np.ndarray)):
        return f"got {_short(got)}, expected {_short(expected)}"
    a, b = np.asarray(got), np.asarray(expected)
    if a.shape != b.shape:
        return f"shape {a.shape}, expected {b.shape}"
    differ = np.argwhere(a != b)  # NaN differs from everything, itself included, as in ``equal``
    first = ", ".join(f"[{', '.join(map(str, i))}] {a[tuple(i)]!r} != {b[tuple(i)]!r}" for i in differ[:3])
    return f"{len(differ)} of {a.size} elements differ; first: {first}"


def _short(x) -> str:
    text = repr(_plain(x))
    return text if len(text) <= 120 else text[:117] + "..."


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.4g}"


def abs_log(x: float) -> float:
    """``|ln x|``, and ``inf`` where ``x`` is not a positive finite number (a row then fails)."""
    return abs(math.log(x)) if math.isfinite(x) and x > 0 else math.inf


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a - b)


