"""Helpers of the parity suite; the session fixture ``parity_outcome`` lives in tests/conftest.py."""

from __future__ import annotations


def assert_check(outcome, name: str) -> None:
    check = outcome.check(name)
    assert check.passed, f"{name} parity failed:\n" + "\n".join(check.problems)
