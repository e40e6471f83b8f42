"""Ours against every number the original investigation recorded, at its configuration."""

from __future__ import annotations

from .rows import CheckResult, Rows


def check_recorded_numbers(profile) -> CheckResult:
    """Ours against every number the original investigation recorded, at its configuration.

    Reference: :data:`.recorded.RECORDED` (facts §1, §2, §3, §5.3, §11). Data-path numbers
    are recomputed at the investigation's configuration in every run; trained numbers are
    compared only at a profile that trains there (none yet: they are listed, not judged).
    """
    from .. import recorded

    r = Rows()
    rows = recorded.recorded_table(profile)
    for row in rows:
        if row["ours"] is None:
            continue
        what = f"{row['what']}: ours {row['ours']:.6g} / recorded {row['recorded']:g} - 1"
        ok = row["verdict"] == "pass"
        r.rows.append({"what": what, "value": abs(row["ratio"] - 1), "limit": row["tolerance_rel"],
                       "tolerance": row["why"], "passed": ok})
        if not ok:
            r.problems.append(f"{what} = {row['ratio'] - 1:+.3g} (tolerance {row['tolerance_rel']:.3g})")
    return r.result("recorded_numbers", "numbers recorded by the original investigation (facts §1-§3, §5.3, §11)",
                    {"rows": rows})
