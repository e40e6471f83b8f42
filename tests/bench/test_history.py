"""The asv history tools (benchmarks/history.py): per-family thresholds in `nox -s compare`,
several hosts merged into one published site, the bisection range, live progress.

No benchmark runs: results are written by hand in asv's format (tests/bench/asv_fixtures.py)
and only ``asv publish`` runs (a few seconds).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .asv_fixtures import ASV, commit, conf, git, init_repo, track, write_results

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks import history  # noqa: E402

THRESHOLDS = {r"bench\.Science\..*": 0.02, r"bench\.Speed\..*": 0.10, r"bench\.Speed\.track_rss\('big'\)": 0.5}


def test_threshold_is_the_largest_matching_family():
    assert history.threshold_for("bench.Science.track_bias", THRESHOLDS, 0.3) == 0.02
    assert history.threshold_for("bench.Speed.track_rss('small')", THRESHOLDS, 0.3) == 0.10
    assert history.threshold_for("bench.Speed.track_rss('big')", THRESHOLDS, 0.3) == 0.5
    assert history.threshold_for("other.track", THRESHOLDS, 0.3) == 0.3


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    init_repo(repo, conf(regressions_thresholds=THRESHOLDS))
    return repo


BENCHES = [track("bench.Science.track_bias"), track("bench.Speed.track_rss", params=[["'small'", "'big'"]])]


def _compare(repo, base_values, head_values):
    base = commit(repo, {"f": "1"}, "base")
    head = commit(repo, {"f": "2"}, "head")
    write_results(repo / ".asv" / "results", "box", repo, base, BENCHES, base_values)
    write_results(repo / ".asv" / "results", "box", repo, head, BENCHES, head_values)
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        rc = history.compare(repo / "asv.conf.json", "box", base, head)
    return rc, out.getvalue()


def test_compare_applies_each_familys_threshold(repo, monkeypatch):
    monkeypatch.chdir(repo)
    # +5 % everywhere: over the science's 2 %, under the speed family's 10 % and 50 %
    rc, out = _compare(repo, {"bench.Science.track_bias": [1.0], "bench.Speed.track_rss": [1.0, 1.0]},
                       {"bench.Science.track_bias": [1.05], "bench.Speed.track_rss": [1.05, 1.05]})
    assert rc == 1, out
    assert out.splitlines()[-1].endswith("bench.Science.track_bias"), out


def test_compare_passes_changes_within_their_family(repo, monkeypatch):
    monkeypatch.chdir(repo)
    # +1.5 % science, +8 % small, +40 % big: each under its own threshold (asv continuous --factor 1.1 fails)
    rc, out = _compare(repo, {"bench.Science.track_bias": [1.0], "bench.Speed.track_rss": [1.0, 1.0]},
                       {"bench.Science.track_bias": [1.015], "bench.Speed.track_rss": [1.08, 1.4]})
    assert rc == 0, out
    rc, out = _compare(repo, {"bench.Science.track_bias": [1.0], "bench.Speed.track_rss": [1.0, 1.0]},
                       {"bench.Science.track_bias": [1.0], "bench.Speed.track_rss": [1.0, 1.6]})
    assert rc == 1 and "track_rss('big')" in out.splitlines()[-1], out


def test_compare_flags_a_new_failure(repo, monkeypatch):
    monkeypatch.chdir(repo)
    rc, out = _compare(repo, {"bench.Science.track_bias": [1.0], "bench.Speed.track_rss": [1.0, 1.0]},
                       {"bench.Science.track_bias": [None], "bench.Speed.track_rss": [1.0, 1.0]})
    assert rc == 1, out


def test_merge_publishes_both_machines(tmp_path):
    """Two hosts' results folders merged into one history: `asv publish` draws both series."""
    repo = tmp_path / "repo"
    init_repo(repo, conf())
    commits = [commit(repo, {"f": str(i)}, f"c{i}") for i in range(2)]
    bench = [track("bench.Science.track_bias")]
    hosts = {"host-cpu-a": [0.01, 0.02], "host-gpu-b": [0.03, 0.04]}
    for machine, values in hosts.items():
        for c, v in zip(commits, values):
            write_results(tmp_path / machine / "results", machine, repo, c, bench, {bench[0]["name"]: [v]})
    merged = history.merge([tmp_path / m / "results" for m in hosts], repo / ".asv" / "results")
    assert merged == sorted(hosts)
    proc = subprocess.run([*ASV, "publish"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    graphs = (repo / ".asv" / "html" / "graphs").rglob("bench.Science.track_bias.json")
    by_machine = {part: json.loads(g.read_text()) for g in graphs for part in g.parts if part.startswith("machine-")}
    assert set(by_machine) == {f"machine-{m}" for m in hosts}
    for machine, values in hosts.items():
        assert [v for _, v in by_machine[f"machine-{machine}"]] == values
    index = json.loads((repo / ".asv" / "html" / "index.json").read_text())
    assert set(index["params"]["machine"]) == set(hosts)


def test_merge_refuses_one_machine_name_for_two_hosts(tmp_path):
    repo = tmp_path / "repo"
    init_repo(repo, conf())
    c = commit(repo, {"f": "0"}, "c0")
    bench = [track("bench.Science.track_bias")]
    for host, value in (("a", 1.0), ("b", 2.0)):
        write_results(tmp_path / host, "same-name", repo, c, bench, {bench[0]["name"]: [value]})
    history.merge([tmp_path / "a"], repo / ".asv" / "results")
    with pytest.raises(SystemExit, match="same-name"):
        history.merge([tmp_path / "b"], repo / ".asv" / "results")
    with pytest.raises(SystemExit, match="not an asv results folder"):
        history.merge([tmp_path], repo / ".asv" / "results")


def test_find_range_includes_its_first_commit(tmp_path):
    repo = tmp_path / "repo"
    init_repo(repo, conf())
    c = [commit(repo, {"f": str(i)}, f"c{i}") for i in range(3)]
    assert history.find_range(f"{c[1]}..{c[2]}", repo) == f"{c[0]}..{c[2]}"
    assert git(repo, "rev-list", history.find_range(f"{c[0]}..{c[2]}", repo)).split() == c[::-1]
    with pytest.raises(SystemExit, match="A..B"):
        history.find_range(c[1], repo)


def test_follow_shows_progress_while_the_command_runs(tmp_path):
    """Each line the command appends to $PTYCHOBENCH_PROGRESS reaches the output before the
    command ends: the child waits for the test to have seen its first line."""
    seen = tmp_path / "seen"
    child = (
        "import os, pathlib, time\n"
        "p = os.environ['PTYCHOBENCH_PROGRESS']\n"
        "open(p, 'a').write('science 1/2: legacy ...\\n')\n"
        f"seen = pathlib.Path({str(seen)!r})\n"
        "deadline = time.time() + 20\n"
        "while not seen.exists() and time.time() < deadline: time.sleep(0.05)\n"
        "open(p, 'a').write('science 2/2: done\\n' if seen.exists() else 'never seen\\n')\n"
    )
    out = io.StringIO()
    seen_while_running = threading.Event()

    def watch():
        while "science 1/2" not in out.getvalue():
            time.sleep(0.05)
        seen_while_running.set()
        seen.touch()

    threading.Thread(target=watch, daemon=True).start()
    rc = history.follow([sys.executable, "-c", child], out=out, poll=0.05)
    assert rc == 0
    assert seen_while_running.is_set()
    assert out.getvalue().splitlines() == ["[progress] science 1/2: legacy ...", "[progress] science 2/2: done"]


def test_durations_per_family(repo, monkeypatch):
    """Seconds per family from asv's records: the benchmarks' durations, the setup_cache named
    after the classes that share it, and the build."""
    from asv.results import Results
    from asv.runner import BenchmarkResult

    monkeypatch.chdir(repo)
    c = commit(repo, {"f": "1"}, "c")
    write_results(repo / ".asv" / "results", "box", repo, c, BENCHES,
                  {"bench.Science.track_bias": [1.0], "bench.Speed.track_rss": [1.0, 1.0]})
    results_dir = repo / ".asv" / "results"
    path = next((results_dir / "box").glob(f"{c[:8]}*.json"))
    result = Results.load(str(path))
    for bench, n, seconds in ((BENCHES[0], 1, 12.5), (BENCHES[1], 2, 3.0)):
        result.add_result(bench, BenchmarkResult(result=[1.0] * n, samples=[None] * n, number=[None] * n, errcode=0,
                                                 stderr="", profile=None), duration=seconds)
    result.set_setup_cache_duration("bench:10", 100.0)
    result.set_build_duration(7.0)
    result.save(str(results_dir))
    described = json.loads((results_dir / "benchmarks.json").read_text())
    described["bench.Science.track_bias"]["setup_cache_key"] = "bench:10"
    (results_dir / "benchmarks.json").write_text(json.dumps(described))
    spent = history.durations(repo / "asv.conf.json", "box", c)
    assert spent == {"bench.Science": 12.5, "bench.Speed": 3.0, "bench.Science (setup_cache)": 100.0, "<build>": 7.0}


SPEED_SUITE = '''
class Throughput:
    params = [["a", "b"]]
    def track_x(self, p):
        return {"a": 1.5, "b": 2.5}[p]

class Simulation:
    def track_y(self):
        return 3.0

class Other:
    def track_z(self):
        return 4.0
'''


def test_measure_speed_records_each_asv_run_and_resumes(tmp_path, monkeypatch):
    """Each draw is a whole ``asv run --python=same`` of the speed families on this commit;
    its values are asv's, named as compare names them; the history is not touched, and a
    second call resumes after the draws already written."""
    monkeypatch.setenv("HOME", str(tmp_path))  # asv machine writes ~/.asv-machine.json
    repo = tmp_path / "repo"
    init_repo(repo, conf())
    sha = commit(repo, {"benchmarks/__init__.py": "", "benchmarks/bench_speed.py": SPEED_SUITE}, "suite")
    out = tmp_path / "speed.jsonl"
    history.measure_speed(out, 1, repo / "asv.conf.json", bench=r"bench_speed\.(Throughput|Simulation)\.")
    history.measure_speed(out, 2, repo / "asv.conf.json", bench=r"bench_speed\.(Throughput|Simulation)\.")
    draws = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(d["draw"], d["commit"]) for d in draws] == [(0, sha), (1, sha)]
    for d in draws:
        assert d["values"] == {"bench_speed.Throughput.track_x('a')": 1.5, "bench_speed.Throughput.track_x('b')": 2.5,
                               "bench_speed.Simulation.track_y": 3.0}
    assert not (repo / ".asv" / "results").exists()
    assert sorted(p.name for p in repo.iterdir()) == [".git", ".gitignore", "asv.conf.json", "benchmarks"]
    # a pool is one commit's: another commit does not resume it
    commit(repo, {"f": "x"}, "next")
    with pytest.raises(SystemExit, match="not of HEAD"):
        history.measure_speed(out, 3, repo / "asv.conf.json", bench=r"bench_speed\.(Throughput|Simulation)\.")
