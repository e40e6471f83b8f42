"""Helpers of the parity suite; the session fixtures ``parity_outcome`` and ``parity_report``
live in tests/conftest.py."""

from __future__ import annotations


def assert_check(outcome, name: str) -> None:
    check = outcome.check(name)
    assert check.passed, f"{name} parity failed (compared with {check.reference}):\n" + "\n".join(check.problems)
