"""A throwaway git repository with an asv configuration, and asv results written by hand
(through asv's own Results API, in its on-disk format) for tests that need a history but
no benchmark run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ASV = [sys.executable, "-m", "asv"]


def conf(**extra) -> dict:
    return {
        "version": 1,
        "project": "tinybench",
        "repo": ".",
        "branches": ["main"],
        "environment_type": "virtualenv",
        "pythons": [f"{sys.version_info.major}.{sys.version_info.minor}"],
        "matrix": {"req": {}},
        "build_command": ["python -m pip wheel --no-deps --no-build-isolation -w {build_cache_dir} {build_dir}"],
        "install_command": ["in-dir={env_dir} python -m pip install --no-deps {wheel_file}"],
        "benchmark_dir": "benchmarks",
        "env_dir": ".asv/env",
        "results_dir": ".asv/results",
        "html_dir": ".asv/html",
        **extra,
    }


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout.strip()


def init_repo(repo: Path, config: dict) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "asv.conf.json").write_text(json.dumps(config, indent=2))
    (repo / ".gitignore").write_text(".asv/\n")


def commit(repo: Path, files: dict, message: str) -> str:
    """Write ``{relative path: text}`` and commit; the commit's full hash."""
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def track(name: str, unit: str = "unit", params=(), version: str = "1") -> dict:
    """A benchmark description as asv stores it in benchmarks.json."""
    return {"name": name, "type": "track", "unit": unit, "version": version, "params": [list(p) for p in params],
            "param_names": [f"p{i}" for i in range(len(params))], "timeout": 60, "code": name}


def write_results(results_dir: Path, machine: str, repo: Path, commit_hash: str, benchmarks: list[dict],
                  values: dict) -> None:
    """asv results of ``commit_hash`` on ``machine``: ``values[name]`` is the list of values
    (one per parameter combination) of the benchmark ``name``."""
    from asv.results import Results
    from asv.runner import BenchmarkResult

    info = {"machine": machine, "arch": "x86_64", "cpu": "test cpu", "num_cpu": "2", "os": "Linux", "ram": "1"}
    folder = Path(results_dir) / machine
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "machine.json").write_text(json.dumps({**info, "version": 1}))
    date = int(git(repo, "log", "-1", "--format=%ct", commit_hash)) * 1000
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    result = Results({**info, "python": py}, {}, commit_hash, date, py, f"virtualenv-py{py}", {})
    for bench in benchmarks:
        vals = values[bench["name"]]
        result.add_result(bench, BenchmarkResult(result=vals, samples=[None] * len(vals), number=[None] * len(vals),
                                                 errcode=0, stderr="", profile=None))
    result.save(str(results_dir))
    described = {b["name"]: b for b in benchmarks}
    (Path(results_dir) / "benchmarks.json").write_text(json.dumps({**described, "version": 2}))


def suite_benchmarks(module):
    """``(benchmark, entries)`` for every benchmark in ``module`` (a module of the suite): its
    description with all its parameters, and the entries ``name(params)`` of its parameter
    combinations in asv's order (the order of the values :func:`write_results` takes)."""
    benchmarks: dict = {}
    for entry, bench in suite_entries(module, skipped=True):
        whole, entries = benchmarks.setdefault(bench["name"], ({**bench, "params": [], "param_names": []}, []))
        entries.append(entry)
        for i, (value,) in enumerate(bench["params"]):
            if i == len(whole["params"]):
                whole["params"].append([])
                whole["param_names"].append(f"p{i}")
            if value not in whole["params"][i]:
                whole["params"][i].append(value)
    return list(benchmarks.values())


def suite_entries(module, skipped: bool = False):
    """``(entry, benchmark)`` for every parameter combination of every benchmark in ``module``
    (a module of the suite), but those its ``skip_reason`` skips unless ``skipped``: ``entry`` is ``name(params)``
    as asv names it, ``benchmark`` the description of that one combination, for
    :func:`write_results`."""
    import inspect
    import itertools

    for cls_name, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__:
            continue
        for name in dir(cls):
            if name.startswith(("time_", "track_", "peakmem_", "mem_")):
                params = getattr(getattr(cls, name), "params", getattr(cls, "params", []))  # asv: method first
                base = f"{module.__name__.split('.')[-1]}.{cls_name}.{name}"
                if not params:
                    yield base, track(base)
                    continue
                for combo in itertools.product(*params):
                    skip = getattr(cls, "skip_reason", None)  # combinations asv skips by design
                    if skip and skip(*combo) and not skipped:
                        continue
                    reprs = [repr(c) for c in combo]
                    yield f"{base}({', '.join(reprs)})", track(base, params=[[r] for r in reprs])
