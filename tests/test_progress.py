"""Live progress: plain lines off a terminal, silence when asked, and a way past pytest's capture.

The whole parity run's lines (every stage and check) are checked in test_reproducibility.py,
which runs the tiny suite anyway.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ptychobench
from ptychobench import cli
from ptychobench.parity import checks
from ptychobench.progress import Progress


def plain(**kwargs) -> tuple[Progress, io.StringIO]:
    out = io.StringIO()
    return Progress(out, interactive=False, **kwargs), out


def test_stage_lines_say_who_and_how_long():
    progress, out = plain()
    with progress.child("legacy").stage("simulate"):
        pass
    first, second = out.getvalue().splitlines()
    assert first == "[legacy] simulate"
    assert re.fullmatch(r"\[legacy\] simulate: done in \d+\.\d s \(total 0:00:0\d\)", second)


def test_a_failing_stage_says_so():
    progress, out = plain()
    with pytest.raises(KeyError), progress.child("modern gs1_ideal").stage("stitch"):
        raise KeyError("x")
    assert re.fullmatch(r"\[modern gs1_ideal\] stitch: stopped after \d+\.\d s \(KeyError\)",
                        out.getvalue().splitlines()[-1])


def test_plain_bar_is_a_few_lines_not_frames():
    """Off a terminal 1,000 updates within ``interval`` give one line: the final state."""
    progress, out = plain(interval=3600.0)
    with progress.child("legacy").bar(1000, "epochs", unit="epoch") as bar:
        for _ in range(1000):
            bar.set_postfix(loss="1.5", lr="0.001")
            bar.update(1)
    text = out.getvalue()
    assert "\r" not in text
    (line,) = text.splitlines()
    assert line.startswith("[legacy] epochs: 100%|##########| 1000/1000 [")
    assert line.endswith("epoch/s, loss=1.5, lr=0.001]")


def test_per_batch_bars_stay_off_logs():
    progress, out = plain(interval=0.0)
    with progress.bar(10, "epoch 1/2", unit="batch", leave=False, plain=False) as bar:
        bar.update(10)
    assert out.getvalue() == ""


def test_check_line_names_the_deciding_number():
    row = {"what": "median amplitude ratio", "value": 1.25, "limit": 1.5, "tolerance": "t.x", "passed": True}
    passed = checks.CheckResult("amplitude", True, rows=[row])
    failed = checks.CheckResult("data", False, problems=["energy = 2 > 1 (t.y)"],
                                rows=[{**row, "value": 2.0, "limit": 1.0, "passed": False}])
    progress, out = plain()
    progress.check(passed)
    progress.check(failed)
    assert out.getvalue().splitlines() == [
        "[PASS] amplitude: median amplitude ratio: 1.25 (limit 1.5)",
        "[FAIL] data: energy = 2 > 1 (t.y)",
    ]


def test_off_is_silent():
    out = io.StringIO()
    progress = Progress(out, enabled=False, interactive=False).child("legacy")
    with progress.stage("train"), progress.bar(3, "epochs") as bar:
        bar.update(3)
    progress.line("x")
    progress.check(checks.CheckResult("config", True))
    progress.counter("simulate")(0, 4)
    assert out.getvalue() == ""


FIXTURE_TEST = '''
import sys

import pytest

from ptychobench.progress import Progress, terminal_progress


@pytest.fixture(scope="session")
def work(request):
    Progress(sys.stderr).line("written under capture")  # the control: pytest swallows it
    with terminal_progress(request.config) as live:
        legacy = live.child("legacy")
        with legacy.stage("simulate"), legacy.bar(3, "epochs", unit="epoch") as bar:
            bar.update(3)


def test_uses_it(work):
    pass
'''


@pytest.mark.parametrize("switch", ["on", "off"])
def test_fixture_progress_passes_pytest_capture(tmp_path, switch):
    """A fixture like ``parity_outcome`` reaches the real output under pytest's default capture."""
    (tmp_path / "test_tiny.py").write_text(textwrap.dedent(FIXTURE_TEST))
    env = {**os.environ, "PYTHONPATH": str(Path(ptychobench.__file__).parents[1]),
           "PTYCHOBENCH_PROGRESS": "1" if switch == "on" else "0"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_tiny.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "written under capture" not in out  # capture was on
    if switch == "on":
        assert "[legacy] simulate: done in" in out
        assert "[legacy] epochs: 100%|##########| 3/3" in out
    else:
        assert "[legacy]" not in out


@pytest.fixture
def cheap_recorded_numbers(monkeypatch):
    """No recorded numbers to recompute: they take a minute at the investigation's sizes, and
    are not what is tested here."""
    from ptychobench.parity import recorded

    row = {"key": "fabricated", "what": "a fabricated recorded number", "source": "test", "ours": 1.0, "recorded": 1.0,
           "ratio": 1.0, "verdict": "pass", "tolerance_rel": 0.01, "why": "fabricated"}
    monkeypatch.setattr(recorded, "recorded_table", lambda profile: [row])  # a check with no row fails


def test_same_terminal_tells_one_terminal_from_another_and_from_a_pipe():
    import os

    opened = []

    def tty():
        master, slave = os.openpty()
        opened.extend([master, slave])
        return slave

    one, other = tty(), tty()
    read, write = os.pipe()
    opened.extend([read, write])
    streams = [os.fdopen(fd, "w", closefd=False) for fd in (one, os.dup(one), other, write)]
    opened.append(streams[1].fileno())
    try:
        a, a_again, b, pipe = streams
        assert cli._same_terminal(a, a_again)
        assert not cli._same_terminal(a, b)
        assert not cli._same_terminal(a, pipe) and not cli._same_terminal(pipe, pipe)
    finally:
        for fd in opened:
            os.close(fd)


def test_verdict_lines_show_each_check_once_on_a_terminal():
    from types import SimpleNamespace

    def check(name, passed):
        return SimpleNamespace(passed=passed, summary=lambda: f"[{'PASS' if passed else 'FAIL'}] {name}")

    checks = [check("a", True), check("b", False), check("c", True)]
    assert cli.verdict_lines(checks, shown_live=False) == ["[PASS] a", "[FAIL] b", "[PASS] c"]
    assert cli.verdict_lines(checks, shown_live=True) == ["3 checks: 2 passed, 1 failed", "[FAIL] b"]


@pytest.mark.slow
def test_cli_parity_on_a_terminal_prints_each_verdict_once(tmp_path, capsys, cheap_recorded_numbers, monkeypatch):
    monkeypatch.setattr(cli, "_same_terminal", lambda a, b: True)  # stdout and stderr: one terminal
    assert cli.main(["parity", "--profile", "tiny", "--static-only", "--reports", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if line.startswith("[")] == []
    assert "11 checks: 11 passed, 0 failed" in out.splitlines()
    assert sum(line.startswith("[PASS] ") for line in err.splitlines()) >= 11


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [False, True])
def test_cli_parity_reports_stages_and_checks(tmp_path, capsys, cheap_recorded_numbers, quiet):
    code = cli.main(["parity", "--profile", "tiny", "--static-only", "--reports", str(tmp_path),
                     *(["--quiet"] if quiet else [])])
    out, err = capsys.readouterr()
    assert code == 0
    if quiet:
        assert err == ""
        return
    # the final summary on stdout names every check; each had its line on stderr as it completed
    verdicts = [line for line in out.splitlines() if line.startswith("[PASS] ")]
    assert len(verdicts) == 11
    err_lines = err.splitlines()
    for verdict in verdicts:
        assert any(line.startswith(verdict) for line in err_lines), verdict
    for stage in ("[legacy] simulate", "[legacy] build model", "[modern gs2_ideal] simulate",
                  "[modern gs2_ideal] group", "[modern gs2_ideal] build model", "[parity] write report"):
        assert any(line.startswith(f"{stage}: done in") for line in err_lines), stage
    assert any(line.startswith("[legacy] simulate train: 100%|##########| 64/64") for line in err_lines)
    assert any(line.startswith("[modern gs2_ideal] simulate: 100%|##########| 256/256") for line in err_lines)
