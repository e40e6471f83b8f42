"""Tools over the asv history (not benchmarks): per-family comparison, merging hosts,
bisection ranges, live progress, and the seed-spread measurement behind the thresholds.

    python -m benchmarks.history compare --machine M BASE HEAD   # per-family thresholds
    python -m benchmarks.history merge DIR...                    # other hosts' results in
    python -m benchmarks.history follow -- CMD...                # CMD with the science's progress live
    python -m benchmarks.history range A..B                      # A..B including A, for asv find
    python -m benchmarks.history measure RUNS.jsonl              # the science's runs, seed by seed
    python -m benchmarks.history spread RUNS.jsonl|CACHE.json    # seed spread -> thresholds
    python -m benchmarks.history measure-speed SPEED.jsonl       # asv runs of the speed families
    python -m benchmarks.history thresholds RUNS.jsonl [--speed SPEED.jsonl] [--write]
                                                                 # thresholds for a 1% false-alarm rate
    python -m benchmarks.history durations --machine M COMMIT    # where a commit's pass spent its time

Only the standard library at import time: asv imports this module (as part of the suite) in
every benchmarked environment, where asv itself is not installed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .common import write_atomic

CONF = "asv.conf.json"


# --- per-family thresholds -------------------------------------------------------------------

def load_conf(path: str | Path = CONF) -> dict:
    """asv.conf.json as a dict (asv's format allows // comments)."""
    from asv.util import load_json

    return load_json(str(path), js_comments=True)


def load_conf_text(text: str) -> dict:
    """:func:`load_conf` of a configuration's text."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "asv.conf.json"
        path.write_text(text)
        return load_conf(path)


def threshold_for(name: str, thresholds: dict, default: float) -> float:
    """The threshold of a benchmark entry ``name(params)``, as asv's regression detection picks
    it: the largest of those whose regex matches the start of the name, else ``default``."""
    matched = [float(t) for regex, t in thresholds.items() if re.match(regex, name)]
    return max(matched) if matched else default


def result_rows(results_dir: str | Path, machine: str, commit: str):
    """``(entry, environment, value, (stats, samples), version)`` of every entry asv recorded
    for ``commit`` (a full hash) on ``machine``, named as asv names them (``name(params)``)."""
    from asv.commands.compare import unroll_result
    from asv.results import iter_results_for_machine_and_hash

    for result in iter_results_for_machine_and_hash(str(results_dir), machine, commit):
        for key in result.get_all_result_keys():
            params = result.get_result_params(key)
            version = result.benchmark_version.get(key)
            for entry, value, stats, samples in unroll_result(
                    key, params, result.get_result_value(key, params), result.get_result_stats(key, params),
                    result.get_result_samples(key, params)):
                yield entry, result.env_name, value, (stats, samples), version


def compare(conf_path: str | Path, machine: str, base: str, head: str, default: float = 0.10,
            cache: Path | None = None) -> int:
    """Print every tracked entry of ``base`` vs ``head`` with its family's threshold; 1 when one
    got worse by more than its threshold, or has no number where the base had one (the
    benchmark failed, or a seed of the science failed: NaN), else 0.

    Uses asv's own result loading and significance test (timings with several samples must
    differ statistically as well), one factor per entry: ``1 + threshold``. The significance
    test and the entry naming are asv's private helpers (asv 0.6.6, pinned in the locks;
    tests/bench/test_history.py fails if they change). The seeds that failed, and why, come
    from the science cache on this host (``cache``: ``.asv/cache`` beside the configuration).
    """
    from asv.commands.compare import _is_result_better, _isna
    from asv.config import Config
    from asv.repo import get_repo

    from .common import failures_of

    conf = Config.load(str(conf_path))
    thresholds = conf.regressions_thresholds
    repo = get_repo(conf)
    rows, commits = {}, {}
    for which, name in (("base", base), ("head", head)):
        commits[which] = commit = repo.get_hash_from_name(name)
        found = False
        for entry, env, value, stats_samples, version in result_rows(conf.results_dir, machine, commit):
            rows.setdefault((entry, env), {})[which] = (value, stats_samples, version)
            found = True
        if not found:
            raise SystemExit(f"no results for {name} ({commit[:8]}) on machine {machine!r} in {conf.results_dir}")
    failed_seeds = failures_of(commits["head"], cache or Path(conf_path).resolve().parent / ".asv" / "cache")
    worse, lost = [], []
    print(f"{'':2} {'before':>12} {'after':>12} {'ratio':>7} {'limit':>6}  benchmark")
    for (entry, env), sides in sorted(rows.items()):
        if "base" not in sides or "head" not in sides:
            continue
        (a, a_ss, va), (b, b_ss, vb) = sides["base"], sides["head"]
        factor = 1.0 + threshold_for(entry, thresholds, default)
        if va != vb:
            mark = "x"  # another benchmark version: not comparable
        elif (a is not None and b is None) or (not _isna(a) and _isna(b) and entry.startswith("bench_science.")):
            mark = "!"  # the benchmark failed; or a science entry lost its number (a failed seed: NaN)
        elif _isna(a) or _isna(b):
            mark = " "
        elif _is_result_better(a, b, a_ss, b_ss, factor):
            mark = "+"
        elif _is_result_better(b, a, b_ss, a_ss, factor):
            mark = "-"
        else:
            mark = " "
        ratio = b / a if not (_isna(a) or _isna(b)) and a else math.nan
        print(f"{mark:2} {_fmt(a):>12} {_fmt(b):>12} {ratio:7.3f} {factor:6.3f}  {entry} [{env}]")
        if mark == "+":
            worse.append(entry)
        elif mark == "!":
            lost.append(entry)
    for entry in lost + [w for w in worse if ".Failures." in w]:
        print(f"\nFAILED {entry}: " + _why_failed(entry, failed_seeds))
    if lost:
        print(f"\n{len(lost)} benchmark(s) without a number where the base had one: " + ", ".join(lost))
    if worse:
        print(f"\n{len(worse)} benchmark(s) worse than their family's threshold: " + ", ".join(worse))
    if worse or lost:
        return 1
    print("\nno benchmark worse than its family's threshold")
    return 0


def _why_failed(entry: str, failed_seeds: dict) -> str:
    """The seeds and reasons behind a benchmark entry's failure (no number, or more failed
    seeds), from the science's failures ``{"pipeline|dose": {seed: reason}}`` of its commit."""
    from .common import MAIN_DOSE, PIPELINES, group_key

    quoted = re.findall(r"'([^']*)'", entry)
    pipeline = next((q for q in quoted if q in PIPELINES), None)
    numbers = re.findall(r"[(,] ?([0-9.]+(?:e[+-]?[0-9]+)?)[,)]", entry)
    dose = float(numbers[0]) if numbers else MAIN_DOSE
    seeds = failed_seeds.get(group_key(pipeline, dose), {}) if pipeline else {}
    if seeds:
        return "; ".join(f"seed {seed}: {' '.join(why.split())}" for seed, why in seeds.items())
    others = "; ".join(f"{g} seed {s}: {w}" for g, ss in failed_seeds.items() for s, w in ss.items())
    return ("no failed seed of this pipeline and dose is recorded on this host"
            + (f" (other failed seeds: {others})" if others else "")
            + ": the benchmark failed, or (NaN) was skipped or not run; see asv's output")


def _fmt(value) -> str:
    return "failed" if value is None else f"{value:.6g}"


# --- several hosts, one history --------------------------------------------------------------

def merge(sources: list[Path], results_dir: Path) -> list[str]:
    """Copy other hosts' asv results (each a results folder: ``MACHINE/machine.json`` and
    ``MACHINE/<commit>-<env>.json``, as asv writes them) into ``results_dir``.

    A file that exists with other content is an error (two hosts registered under one machine
    name would otherwise overwrite each other's series). ``benchmarks.json`` (the benchmark
    descriptions) is merged by name, the destination's description kept. Returns the machine
    names merged.
    """
    results_dir = Path(results_dir)
    machines = []
    for source in map(Path, sources):
        folders = sorted(p.parent for p in source.glob("*/machine.json"))
        if not folders:
            raise SystemExit(f"{source}: no MACHINE/machine.json inside: not an asv results folder")
        for folder in folders:
            for path in sorted(folder.glob("*.json")):
                dest = results_dir / folder.name / path.name
                if dest.exists():
                    if dest.read_bytes() != path.read_bytes():
                        raise SystemExit(f"{dest} exists with other content (is {folder.name!r} the name of "
                                         f"two hosts?): not merging {path}")
                    continue
                write_atomic(dest, path.read_bytes())
            machines.append(folder.name)
        _merge_benchmarks(source / "benchmarks.json", results_dir / "benchmarks.json")
    return machines


def _merge_benchmarks(source: Path, dest: Path) -> None:
    if not source.exists():
        return
    merged = json.loads(source.read_text())
    if dest.exists():
        merged.update(json.loads(dest.read_text()))
    write_atomic(dest, json.dumps(merged, indent=4, sort_keys=True).encode())


# --- bisection range -------------------------------------------------------------------------

def find_range(spec: str, cwd: str | Path = ".") -> str:
    """A git range for ``asv find`` that includes A of ``A..B`` (git's own excludes it, and
    asv find needs the last good commit inside the range)."""
    if ".." not in spec:
        raise SystemExit(f"expected a range A..B, got {spec!r}")
    base, head = spec.split("..", 1)
    head = head or "HEAD"
    parent = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{base}^"], cwd=cwd,
                            capture_output=True, text=True)
    return f"{parent.stdout.strip()}..{head}" if parent.returncode == 0 else head


# --- live progress -----------------------------------------------------------------------------

def follow(cmd: list[str], out=None, poll: float = 0.5) -> int:
    """Run ``cmd`` with ``PTYCHOBENCH_PROGRESS`` naming a fresh file, and copy each line the
    benchmarks append to it onto ``out`` (stdout) while ``cmd`` runs. Returns its exit status.

    asv runs ``setup_cache`` in a child process and shows its output only when it ends; the
    environment, however, reaches every benchmark process (asv passes ``os.environ`` on).
    """
    out = out or sys.stdout
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "progress.log"
        path.touch()
        done = threading.Event()

        def tail():
            with open(path, encoding="utf-8") as f:
                pending = ""
                while True:
                    finished = done.is_set()
                    pending += f.read()
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        print(f"[progress] {line}", file=out, flush=True)
                    if finished:
                        return
                    done.wait(poll)

        thread = threading.Thread(target=tail, daemon=True)
        thread.start()
        try:
            rc = subprocess.run(cmd, env={**os.environ, "PTYCHOBENCH_PROGRESS": str(path)}).returncode
        finally:
            done.set()
            thread.join()
    return rc


# --- the seed spread behind the science thresholds ------------------------------------------

def measure(path: Path, groups: list[str] | None = None) -> dict:
    """The science's runs (common.PIPELINES x DOSES x SEEDS of this profile) one JSON line per
    run in ``path``, seed by seed (two seeds of every group come first), resuming after the
    runs already there; ``groups`` (``"legacy|1e+09"``, ...) limits them and sets their order.
    Returns ``{"key", "runs"}`` as in a science cache file."""
    from .common import DOSES, PIPELINES, PROFILE, SEEDS, progress, run_key, run_pipeline, science_key

    path = Path(path)
    runs = {}
    if path.exists():
        runs = {r["run"]: r["result"] for r in map(json.loads, path.read_text().splitlines())}
    jobs = [(p, d, s) for s in SEEDS for d in DOSES for p in PIPELINES]
    if groups:
        jobs = [(p, d, s) for g in groups for (p, d, s) in jobs if f"{p}|{d:g}" == g]
    for i, (p, d, s) in enumerate(jobs, 1):
        name = run_key(p, d, s)
        if name in runs:
            continue
        progress(f"measure {i}/{len(jobs)}: {name} ({PROFILE})")
        runs[name] = run_pipeline(p, d, s)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"run": name, "result": runs[name]}) + "\n")
    return {"key": science_key(), "runs": runs}


def measure_speed(path: Path, draws: int, conf_path: str | Path = CONF, bench: str | None = None) -> list[dict]:
    """``draws`` asv runs of the speed families (``bench``: alarms.SPEED_BENCH) on this commit, in this
    Python (``asv run --python=same``), one JSON line per run in ``path`` (``{"draw", "commit",
    "machine", "values": {entry: value}}``), resuming after the draws already there. Each run
    is a whole asv run of its own (its own processes, asv's own sampling), as one commit's
    pass is; the results go to a temporary folder, not into the history."""
    from . import alarms
    from .common import progress

    path, conf_path, bench = Path(path), Path(conf_path).resolve(), bench or alarms.SPEED_BENCH
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    git = lambda *a: subprocess.run(["git", *a], cwd=conf_path.parent, capture_output=True, text=True,  # noqa: E731
                                    check=True).stdout.strip()
    sha = git("rev-parse", "HEAD")
    # --python=same runs the code this Python imports: the working tree, labelled HEAD
    if git("status", "--porcelain", "--untracked-files=no", "--", "src", "benchmarks"):
        raise SystemExit("measure-speed: src/ or benchmarks/ differ from HEAD; commit them first")
    if done and done[-1]["commit"] != sha:
        raise SystemExit(f"measure-speed: {path} holds draws of {done[-1]['commit'][:8]}, not of HEAD {sha[:8]}")
    machine, asv = "speed-pool", [sys.executable, "-m", "asv"]
    subprocess.run([*asv, "machine", "--yes", "--machine", machine], check=True, capture_output=True)
    conf = load_conf(conf_path)
    for i in range(len(done), draws):
        progress(f"measure-speed {i + 1}/{draws}: asv run --python=same -b '{bench}' at {sha[:8]}")
        with tempfile.TemporaryDirectory(dir=conf_path.parent, prefix=".asv-speed-pool-") as tmp:
            # asv runs in the folder of its configuration: the derived one lives beside it
            conf["results_dir"] = str(Path(tmp) / "results")
            derived = conf_path.parent / f".asv-speed-pool.{os.getpid()}.conf.json"
            derived.write_text(json.dumps(conf))
            try:
                subprocess.run([*asv, "run", "--config", str(derived), "--machine", machine, "--python=same",
                                "--set-commit-hash", sha, "--bench", bench, "--show-stderr"],
                               cwd=conf_path.parent, check=True)
            finally:
                derived.unlink()
            values = {entry: value for entry, _, value, _, _ in result_rows(conf["results_dir"], machine, sha)}
        if not values:
            raise SystemExit(f"asv recorded no speed results at {sha[:8]}")
        draw = {"draw": i, "commit": sha, "machine": machine, "values": values}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(draw) + "\n")
        done.append(draw)
    return done


def spread_table(data: dict) -> dict:
    """``{quantity: (largest relative range over seeds, where)}`` from a science cache file's
    runs: relative range = (max - min) / median of the per-seed values of one pipeline and dose
    (the tracked lower-is-better forms, common.AMPLITUDE and |ln stage ratio|)."""
    from .common import AMPLITUDE, abs_log, run_failure

    values: dict = {}
    for name, run in data["runs"].items():
        if run_failure(run):
            continue
        group = name.rsplit("|", 1)[0]
        for metric, (f, _) in AMPLITUDE.items():
            values.setdefault((metric, group), []).append(f(run["metrics"]))
        ratios = run["stage_ratios"]
        for stage, r in ratios.get("ratios", {}).items():
            values.setdefault((f"stage:{stage}", group), []).append(abs_log(r))
        values.setdefault(("stage:chain_product", group), []).append(abs_log(ratios.get("chain_product")))
    table: dict = {}
    for (quantity, group), vs in values.items():
        vs = sorted(v for v in vs if v is not None and math.isfinite(v))
        if len(vs) < 2:
            continue
        median = vs[len(vs) // 2] if len(vs) % 2 else 0.5 * (vs[len(vs) // 2 - 1] + vs[len(vs) // 2])
        spread = vs[-1] - vs[0]
        rel = 0.0 if spread == 0 else spread / abs(median) if median else math.inf
        if quantity not in table or rel > table[quantity][0]:
            table[quantity] = (rel, group, vs)
    return table


def durations(conf_path: str | Path, machine: str, commit: str) -> dict:
    """Seconds a commit's asv pass spent per family (``module.Class``: its benchmarks and its
    ``setup_cache``), and building the commit (``<build>``, where asv records it), from asv's own records (the
    ``duration`` column and ``durations`` of the results file; a ``setup_cache`` shared by
    several classes is named after all of them)."""
    from asv.config import Config
    from asv.repo import get_repo
    from asv.results import iter_results_for_machine_and_hash

    conf = Config.load(str(conf_path))
    sha = get_repo(conf).get_hash_from_name(commit)
    described = json.loads((Path(conf.results_dir) / "benchmarks.json").read_text())
    by_cache: dict = {}
    for name, bench in described.items():
        if isinstance(bench, dict) and bench.get("setup_cache_key"):
            by_cache.setdefault(bench["setup_cache_key"], set()).add(name.rsplit(".", 1)[0])
    out: dict = {}
    found = False
    for result in iter_results_for_machine_and_hash(conf.results_dir, machine, sha):
        found = True
        for key, seconds in result.duration.items():
            if seconds is None:
                continue
            if key.startswith("<setup_cache "):
                cache_key = key[len("<setup_cache "):-1]
                family = " + ".join(sorted(by_cache.get(cache_key, {cache_key}))) + " (setup_cache)"
            elif key.startswith("<"):
                family = key
            else:
                family = key.rsplit(".", 1)[0]
            out[family] = out.get(family, 0.0) + float(seconds)
    if not found:
        raise SystemExit(f"no results for {commit} ({sha[:8]}) on machine {machine!r} in {conf.results_dir}")
    return out


def thresholds(pool: Path, conf_path: str | Path = CONF, write: bool = False, suite_seeds: int = 3,
               speed: Path | None = None) -> int:
    """Print (and with ``write``, put into the configuration's science and speed blocks) the
    threshold of every science entry for a false-alarm rate of at most 1%, derived from a pool
    of redraws (alarms.py) for a suite of ``suite_seeds`` seeds at the main dose, and of every
    speed entry from a pool of asv runs (``speed``: measure_speed)."""
    from . import alarms
    from .common import collapse_pearson

    runs = {r["run"]: r["result"] for r in map(json.loads, Path(pool).read_text().splitlines())}
    rows = alarms.derive(runs, collapse_pearson(), suite_seeds)
    seeds = sorted({int(k.rsplit("|", 1)[1]) for k in runs})
    blocks = {"science": (alarms.conf_block(rows, f"{Path(pool).name} (seeds {seeds[0]}..{seeds[-1]}, "
                                                  f"{len(runs)} runs)"), len(rows))}
    speed_rows = []
    if speed:
        draws = [json.loads(line) for line in Path(speed).read_text().splitlines()]
        if len({d["commit"] for d in draws}) != 1:
            raise SystemExit(f"{speed}: draws of several commits; a pool is one commit's")
        speed_rows = alarms.derive_speed(draws)
        source = f"{Path(speed).name} ({len(draws)} asv runs of {draws[0]['commit'][:8]})"
        blocks["speed"] = (alarms.conf_block(speed_rows, source, "speed"), len(speed_rows))
    text = Path(conf_path).read_text()
    for kind, (block, n) in blocks.items():
        print(block)
        text = alarms.write_block(text, block, kind)
    in_force = load_conf_text(text)["regressions_thresholds"]
    overridden = [r["entry"] for r in rows + speed_rows
                  if threshold_for(r["entry"], in_force, None) != r["threshold"]]
    if overridden:  # asv takes the largest match: a broad entry outside the blocks wins
        raise SystemExit("another threshold overrides the derived one of: " + ", ".join(overridden))
    if write:
        write_atomic(Path(conf_path), text.encode())
        print("wrote " + " and ".join(f"the {n} {kind} thresholds" for kind, (_, n) in blocks.items())
              + f" into {conf_path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compare", help="base vs head with each family's threshold")
    p.add_argument("--config", default=CONF)
    p.add_argument("--machine", required=True)
    p.add_argument("base")
    p.add_argument("head")
    p = sub.add_parser("merge", help="copy other hosts' asv results folders in")
    p.add_argument("--results-dir", default=None, help="default: results_dir of asv.conf.json")
    p.add_argument("--config", default=CONF)
    p.add_argument("sources", nargs="+", type=Path)
    p = sub.add_parser("follow", help="run a command, printing the science's progress live")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("range", help="A..B including A, for asv find")
    p.add_argument("spec")
    p = sub.add_parser("measure", help="the science's runs, seed by seed, appended to a JSON-lines file")
    p.add_argument("out", type=Path)
    p.add_argument("--group", action="append", help="PIPELINE|DOSE, e.g. 'legacy|1e+09' (repeatable)")
    p = sub.add_parser("thresholds", help="thresholds for a 1%% false-alarm rate from a pool of redraws (alarms.py)")
    p.add_argument("pool", type=Path, help="a measure file (JSON lines) with K >= 6 seeds of every run")
    p.add_argument("--config", default=CONF)
    p.add_argument("--write", action="store_true", help="write them into the configuration's science block")
    p.add_argument("--suite-seeds", type=int, default=3, help="seeds the suite runs at the main dose (default 3)")
    p.add_argument("--speed", type=Path, help="a measure-speed file: the speed families' thresholds too")
    p = sub.add_parser("measure-speed", help="asv runs of the speed families on this commit, one JSON line each")
    p.add_argument("out", type=Path)
    p.add_argument("--draws", type=int, default=10)
    p.add_argument("--config", default=CONF)
    p = sub.add_parser("durations", help="seconds a commit's pass spent per family, from asv's records")
    p.add_argument("--config", default=CONF)
    p.add_argument("--machine", required=True)
    p.add_argument("commit")
    p = sub.add_parser("spread", help="relative seed ranges of a science cache or measure file")
    p.add_argument("cache", type=Path)
    args = parser.parse_args(argv)

    if args.command == "compare":
        return compare(args.config, args.machine, args.base, args.head)
    if args.command == "merge":
        results_dir = args.results_dir or Path(args.config).parent / load_conf(args.config)["results_dir"]
        for machine in merge(args.sources, Path(results_dir)):
            print(f"merged {machine} into {results_dir}")
        return 0
    if args.command == "follow":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        return follow(cmd)
    if args.command == "range":
        print(find_range(args.spec))
        return 0
    if args.command == "measure":
        measure(args.out, args.group)
        return 0
    if args.command == "durations":
        spent = durations(args.config, args.machine, args.commit)
        for family, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
            print(f"{seconds:9.1f} s  {family}")
        print(f"{sum(spent.values()):9.1f} s  in all (asv's own process and environment set-up not included)")
        return 0
    if args.command == "thresholds":
        return thresholds(args.pool, args.config, args.write, args.suite_seeds, args.speed)
    if args.command == "measure-speed":
        measure_speed(args.out, args.draws, args.config)
        return 0
    text = args.cache.read_text()
    if args.cache.suffix == ".jsonl":
        data = {"runs": {r["run"]: r["result"] for r in map(json.loads, text.splitlines())}}
    else:
        data = json.loads(text)
    print("relative range over seeds = (max - min) / median, the largest over pipelines and doses")
    for quantity, (rel, group, vs) in sorted(spread_table(data).items()):
        print(f"{quantity:36} {rel:9.3g}  at {group:24} values {', '.join(f'{v:.4g}' for v in vs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
