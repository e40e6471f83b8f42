"""Summarise a finished ``mutmut run`` into docs/mutation-summary.md.

    python scripts/mutation_summary.py      # after `mutmut run` (or: nox -s mutants)

Reads mutmut's own results (``mutmut export-cicd-stats`` and ``mutmut results --all true``)
and writes the score, the counts per module and every surviving or untested mutant, so the
summary can be committed and each survivor answered (a check that kills it, or an argument
that it is equivalent, in docs/mutation-survivors.md).
"""

from __future__ import annotations

import collections
import subprocess
import sys
import time
from pathlib import Path

from ptychobench.atomic import atomic_write_text

OUT = Path("docs/mutation-summary.md")


def run(*args: str) -> str:
    return subprocess.run(["mutmut", *args], capture_output=True, text=True, check=True).stdout


def main() -> int:
    status = collections.defaultdict(list)
    for line in run("results", "--all", "true").splitlines():
        name, _, state = line.strip().rpartition(": ")
        if name:
            status[state].append(name)
    counts = {state: len(names) for state, names in status.items()}
    total = sum(counts.values())
    pending = counts.get("not checked", 0) + counts.get("skipped", 0)
    evaluated = total - pending
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    score = killed / evaluated if evaluated else float("nan")
    by_module = collections.defaultdict(collections.Counter)
    for state, names in status.items():
        for name in names:
            module = name.split(".x_")[0].split(".xǁ")[0]
            by_module[module][state] += 1
    lines = [
        "# Mutation testing summary",
        "",
        f"Written by `python scripts/mutation_summary.py` after `nox -s mutants` (mutmut, "
        f"configuration in pyproject.toml `[tool.mutmut]`), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"**Score: {killed} of {evaluated} evaluated mutants killed = {100 * score:.1f}%** "
        f"({total} mutants in all; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ").",
        "" if not pending else
        f"**Partial run:** {pending} mutants were not evaluated (`not checked`); rerun `nox -s mutants` "
        "to continue where this run stopped (mutmut keeps its results in `mutants/`).",
        "",
        "| module | killed | survived | no tests | other |",
        "|---|---|---|---|---|",
    ]
    for module in sorted(by_module):
        c = by_module[module]
        other = sum(v for k, v in c.items() if k not in ("killed", "survived", "no tests"))
        lines.append(f"| `{module}` | {c['killed']} | {c['survived']} | {c['no tests']} | {other} |")
    for state in ("survived", "no tests"):
        names = sorted(status.get(state, []))
        lines += ["", f"## {state} ({len(names)})", ""]
        lines += [f"- `{n}`" for n in names]
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT, text)
    print(f"{OUT}: {100 * score:.1f}% killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
