#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2025.02.09"]
# ///
"""Sessions of ptychobench.

    nox -s parity            # the parity suite on the smoke profile; prints its report folder last
    nox -s reproduce -- [--seeds 0-2] [--runs KEY,...]   # the investigation's configuration over seeds
    nox -s interventions -- [--profile smoke] [--seeds 0-2] [--interventions KEY,...]   # one experiment per hypothesis
    nox -s upstream -- [--repo BUNDLE --commit REV | --checkout PATH] [--profile smoke] [--compare]   # the original
    nox -s tests             # the whole test suite (unit tests + parity suite)
    nox -s bench -- RANGE [asv options]   # asv over commits (default: HEAD); A..B includes A
    nox -s compare -- BASE HEAD            # both benchmarked; non-zero exit when a family's threshold is passed
    nox -s find -- A..B BENCHMARK          # asv find: the commit in A..B (A included) where BENCHMARK got worse
    nox -s publish           # asv publish + the latest parity report in one static site (site/)
    nox -s merge -- DIR...   # other hosts' .asv/results folders merged in, then publish
    nox -s lock              # regenerate the hash-locked requirement files from pyproject.toml
    nox -s container         # build the image, rerun parity inside it, compare with the host

Positional arguments after ``--`` go to pytest. ``PTYCHOBENCH_PROFILE`` picks the
profile (smoke by default); ``PTYCHOBENCH_REPORTS`` the report root (``reports``).
The benchmarks read ``PTYCHOBENCH_SEEDS`` (a count or a list; 3 seeds by default, 1 on tiny)
and ``PTYCHOBENCH_THREADS`` (2); see benchmarks/common.py.
Inside the container, run with ``--no-venv``: TensorFlow is already installed there.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import nox

nox.needs_version = ">=2025.02.09"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"

REPORTS = os.environ.get("PTYCHOBENCH_REPORTS", "reports")
ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
SITE = Path(os.environ.get("PTYCHOBENCH_SITE", "site"))


def install(session: nox.Session) -> None:
    """The hash-locked CPU requirements, then the project itself (skipped without a venv)."""
    if session.venv_backend == "none":
        return
    session.install("--require-hashes", "-r", "requirements/cpu.lock")
    session.install("--no-deps", "-e", ".")


def upstream_environments(session: nox.Session) -> None:
    """The original's era environments (requirements/upstream/*.lock), built once into
    ``~/.cache/ptychobench/envs`` (``$PTYCHOBENCH_CACHE``) and reused while their lock is unchanged."""
    session.run("python", "-m", "ptychobench.upstream.envs", env=ENV)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite: unit tests, then the parity suite (posargs go to pytest)."""
    install(session)
    upstream_environments(session)
    # the upstream tests build a missing era environment instead of skipping (upstream_environments
    # above has built both, so this only guards against a skip that would hide them)
    session.run("pytest", *(session.posargs or ["tests"]), env={**ENV, "PTYCHOBENCH_REQUIRE_UPSTREAM": "1"})


@nox.session
def parity(session: nox.Session) -> None:
    """Legacy vs modern, stage by stage, on the default profile; the report path is the last line."""
    install(session)
    session.run("pytest", "tests/parity", *session.posargs, env={**ENV, "PTYCHOBENCH_REPORTS": REPORTS})
    latest = Path(REPORTS) / "LATEST"
    print(Path(REPORTS) / latest.read_text().strip())


@nox.session(default=False)
def reproduce(session: nox.Session) -> None:
    """The investigation's configuration over seeds (about an hour per seed on 2 cores): every
    trained number it recorded beside ours; resumes per run and seed (posargs go to
    ``ptychobench reproduce``). The report path is the last line."""
    install(session)
    session.run("ptychobench", "reproduce", "--out", f"{REPORTS}/reproduce", *session.posargs, env=ENV)


@nox.session(default=False)
def interventions(session: nox.Session) -> None:
    """One intervention per hypothesis of the investigation, predicted from the baseline and then
    measured over seeds (smoke profile by default: about 1.5 hours on 2 cores; resumes per run and
    seed; posargs go to ``ptychobench intervene``). The report path is the last line."""
    install(session)
    session.run("ptychobench", "intervene", *session.posargs, env={**ENV, "PTYCHOBENCH_REPORTS": REPORTS})


@nox.session(default=False)
def upstream(session: nox.Session) -> None:
    """The original PtychoPINN through the same stages, in its own era environment, compared with
    our data path stage by stage (posargs go to ``ptychobench upstream``; default: the bundle's
    dose_experiments tip on the smoke profile). The draw folder is the last line."""
    install(session)
    upstream_environments(session)
    session.run("ptychobench", "upstream", *(session.posargs or ["--profile", "smoke", "--compare"]),
                env={**ENV, "PTYCHOBENCH_REPORTS": REPORTS})


LOCKS = {
    # lock file: (extra, dependency groups, constraint files)
    "requirements/cpu.lock": ("cpu", ["test"], []),
    "requirements/container.lock": ("cuda", ["test"], ["requirements/cuda-constraints.txt"]),
    # the CPU lock's versions plus mutmut, for `nox -s mutants` only
    "requirements/mutation.lock": ("cpu", ["test", "mutation"], ["requirements/cpu.lock"]),
}


def lock_inputs_digest(constraints: list[str]) -> str:
    """SHA-256 over pyproject.toml and the constraint files a lock was generated from."""
    h = hashlib.sha256(Path("pyproject.toml").read_bytes())
    for c in constraints:
        h.update(Path(c).read_bytes())
    return h.hexdigest()


@nox.session(default=False)
def lock(session: nox.Session) -> None:
    """Regenerate the hash-locked requirement files (Linux x86_64, Python 3.11) with uv."""
    session.install("uv")
    for path, (extra, groups, constraints) in LOCKS.items():
        session.run(
            "uv", "pip", "compile", "--quiet", "--generate-hashes", "--universal", "--python-version", "3.11",
            "pyproject.toml", "--extra", extra, *[arg for g in groups for arg in ("--group", g)], "--no-header",
            *[arg for c in constraints for arg in ("-c", c)], "-o", path,
        )
        body = Path(path).read_text()
        header = (
            f"# Hash-locked requirements, generated by `nox -s lock` (uv pip compile --generate-hashes)\n"
            f"# from pyproject.toml [{extra}] + the group(s) {', '.join(groups)}"
            f"{' + ' + ', '.join(constraints) if constraints else ''}.\n"
            f"# inputs-sha256: {lock_inputs_digest(constraints)}\n"
        )
        Path(path).write_text(header + body)
        session.log(f"wrote {path}")


@nox.session(default=False)
def mutants(session: nox.Session) -> None:
    """Mutation testing (mutmut, hash-locked) of physics/, simulation/, evaluation/, config/ and
    model/physics_layers.py against their unit tests; writes docs/mutation-summary.md and
    docs/mutation-survivors.md (each survivor with the argument that it is equivalent).

    Heavy: hours on 2 cores. ``nox -s mutants -- summary`` only rewrites the summary from the
    results already in ``mutants/``.
    """
    session.install("--require-hashes", "-r", "requirements/mutation.lock")
    session.install("--no-deps", "-e", ".")
    if "summary" not in session.posargs:
        session.run("mutmut", "run", "--max-children", str(os.cpu_count() or 1), env=ENV)
    session.run("python", "scripts/mutation_summary.py", env=ENV)
    # Every survivor must be filed under a written argument (or the session fails).
    session.run("python", "scripts/mutation_survivors.py", env=ENV)


@nox.session(default=False)
def container(session: nox.Session) -> None:
    """Build the image (Docker, else buildah/podman), run parity inside it, compare with a host run.

    ``nox -s container -- --cuda`` builds the GPU host's image (requirements/container.lock) instead
    of the CPU one, runs parity in it on the CPU and records TensorFlow's CUDA report (not in CI).
    """
    install(session)
    session.run("python", "scripts/container.py", *session.posargs, env=ENV)


def asv_machine(session: nox.Session) -> str:
    """Register this machine with asv under a name that carries its provenance.

    The name holds the CPU or GPU, the TensorFlow/CUDA build and the profile, so a GPU
    series and a CPU series (or two profiles) never mix in one graph.
    """
    name = session.run(
        "python", "-c", "from ptychobench.pipelines.provenance import benchmark_machine_name as f; print(f())",
        silent=True, env=ENV,
    ).strip().splitlines()[-1]
    session.run("asv", "machine", "--yes", "--machine", name, external=True)
    return name


def commit_spec(spec: str, session: nox.Session) -> list[str]:
    """asv arguments for a commit spec; ``A..B`` includes A (a hash file lists the commits)."""
    if ".." not in spec:
        return [f"{spec}^!"] if not spec.endswith("^!") else [spec]
    base, head = spec.split("..", 1)
    commits = subprocess.run(["git", "rev-list", f"{base}..{head or 'HEAD'}"], capture_output=True, text=True,
                             check=True).stdout.split()
    commits.append(subprocess.run(["git", "rev-parse", base], capture_output=True, text=True,
                                  check=True).stdout.strip())
    hashfile = Path(session.create_tmp()) / "commits.txt"
    hashfile.write_text("\n".join(commits) + "\n")
    return [f"HASHFILE:{hashfile}"]


def asv(session: nox.Session, *args: str) -> None:
    """asv with the science's progress shown live (``benchmarks.history follow``)."""
    session.run("python", "-m", "benchmarks.history", "follow", "--", "asv", *args, env=ENV)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """asv run over a commit range (default: the current commit), on this machine's series."""
    install(session)
    machine = asv_machine(session)
    if session.venv_backend == "none":
        # In the container: benchmark the installed tree as the current commit, in this Python.
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        asv(session, "run", "--machine", machine, "--show-stderr", "--python=same",
            "--set-commit-hash", sha or os.environ.get("PTYCHOBENCH_GIT_SHA", ""), *session.posargs)
        return
    # Commit specs first; the first argument that starts with "-" and all after it go to asv.
    cut = next((i for i, a in enumerate(session.posargs) if a.startswith("-")), len(session.posargs))
    specs, asv_args = session.posargs[:cut] or ["HEAD"], session.posargs[cut:]
    for spec in specs:
        asv(session, "run", "--machine", machine, "--show-stderr", "--skip-existing-commits", *asv_args,
            *commit_spec(spec, session))


@nox.session(default=False)
def compare(session: nox.Session) -> None:
    """Benchmark BASE and HEAD, then compare them with each family's threshold
    (``regressions_thresholds`` of asv.conf.json); exits non-zero when one gets worse."""
    install(session)
    if len(session.posargs) != 2:
        session.error("usage: nox -s compare -- BASE HEAD")
    base, head = session.posargs
    machine = asv_machine(session)
    for commit in (base, head):
        asv(session, "run", "--machine", machine, "--show-stderr", "--skip-existing-commits", f"{commit}^!")
    session.run("python", "-m", "benchmarks.history", "compare", "--machine", machine, base, head, env=ENV)


@nox.session(default=False)
def find(session: nox.Session) -> None:
    """``asv find`` over A..B (A included): the commit where BENCHMARK (a regex) got worse."""
    install(session)
    if len(session.posargs) < 2:
        session.error("usage: nox -s find -- A..B BENCHMARK [asv find options]")
    spec, benchmark, *rest = session.posargs
    span = session.run("python", "-m", "benchmarks.history", "range", spec, silent=True).strip().splitlines()[-1]
    asv(session, "find", "--machine", asv_machine(session), "--show-stderr", *rest, span, benchmark)


def publish_site(session: nox.Session) -> None:
    """asv's pages from .asv/results, with the latest parity report, into one static site."""
    # The site's commit links point at the git remote "origin", or are left out without one.
    # asv runs in the folder of its config file, so the derived config lives beside asv.conf.json.
    session.run("python", "-m", "ptychobench.site", "--asv-config", ".asv-publish.conf.json", env=ENV)
    session.run("asv", "publish", "--config", ".asv-publish.conf.json", external=True)
    session.run("python", "-m", "ptychobench.site", "--asv-html", ".asv/html", "--reports", REPORTS,
                "--out", str(SITE))
    print(SITE / "index.html")


@nox.session(default=False)
def publish(session: nox.Session) -> None:
    """``asv publish``, then one static site: the asv pages, the latest parity report, links between them."""
    install(session)
    publish_site(session)


@nox.session(default=False)
def merge(session: nox.Session) -> None:
    """Other hosts' asv results folders (``.asv/results`` copied from each) into this one, then
    the site: one graph per machine name, one history."""
    install(session)
    if not session.posargs:
        session.error("usage: nox -s merge -- DIR...")
    session.run("python", "-m", "benchmarks.history", "merge", *session.posargs)
    publish_site(session)


if __name__ == "__main__":
    nox.main()
