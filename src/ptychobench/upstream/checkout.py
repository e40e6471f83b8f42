"""Which PtychoPINN code a run uses: a work tree, or a commit of a repository or bundle.

``--checkout PATH`` runs a work tree as it is. ``--repo PATH_OR_BUNDLE --commit REV`` resolves
REV in the repository (a bundle is cloned once into the cache), and exports that commit's tree
into ``<cache>/checkouts/<sha>`` (``git archive``: no history, no working files of the user's
clone are touched). A checkout is never edited by ptychobench.

What a checkout *has* decides everything else:

* :func:`flows` — ``dose`` needs ``notebooks/dose.py`` and ``ptycho/train.py``; ``modern`` needs
  ``ptycho/config/config.py`` and ``ptycho/workflows/components.py``;
* :func:`era` — ``tf215`` where a module imports ``tensorflow_addons``, else ``tf221``; a commit
  dated before 2024-06-04 is outside every era (:data:`.envs.ERA_TABLE`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UpstreamError
from . import envs

#: the files that make a folder a PtychoPINN checkout
MARKERS = ("ptycho/params.py", "ptycho/diffsim.py")
#: what each flow needs, relative to the checkout
FLOW_FILES = {
    "dose": ("notebooks/dose.py", "ptycho/train.py"),
    "modern": ("ptycho/config/config.py", "ptycho/workflows/components.py"),
}
#: the earliest author date the eras cover (shared/upstream/README.md)
EARLIEST = "2024-06-04"
TF221_FROM = "2025-07-01"
#: the code-only history shipped beside the project (``$PTYCHOBENCH_UPSTREAM_BUNDLE`` overrides it)
DEFAULT_BUNDLE = Path(os.environ.get("PTYCHOBENCH_UPSTREAM_BUNDLE")
                      or Path(__file__).resolve().parents[4] / "shared" / "upstream" / "ptychopinn-code.bundle")


@dataclass(frozen=True)
class Checkout:
    """A PtychoPINN work tree and what is known of where it came from."""

    path: Path
    commit: str | None = None  # the repository's commit (None for a plain work tree)
    upstream_commit: str | None = None  # the original's commit, from the bundle's notes
    date: str | None = None  # author date, ISO (YYYY-MM-DD)
    subject: str | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"path": str(self.path), "commit": self.commit, "upstream_commit": self.upstream_commit,
                "date": self.date, "subject": self.subject, "source": self.source}


def _git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise UpstreamError(f"{repo}: git {' '.join(args)} failed: {proc.stderr.strip()[:300]}")
    return proc.stdout.strip()


def validate_tree(path: Path, what: str) -> None:
    """Raise unless ``path`` holds a PtychoPINN ``ptycho`` package."""
    if not path.is_dir():
        raise UpstreamError(f"{what}: no such folder")
    missing = [m for m in MARKERS if not (path / m).is_file()]
    if missing:
        raise UpstreamError(f"{what}: not a PtychoPINN checkout ({', '.join(missing)} missing)")


def from_work_tree(path: str | os.PathLike) -> Checkout:
    """A work tree as it is; its commit and date are read from git when it is a clone."""
    p = Path(path).resolve()
    validate_tree(p, f"--checkout {p}")
    commit = date = subject = None
    if (p / ".git").exists():
        proc = subprocess.run(["git", "-C", str(p), "log", "-1", "--format=%H%x00%as%x00%s"],
                              capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            commit, date, subject = proc.stdout.strip().split("\x00")
    return Checkout(p, commit, None, date, subject, source=f"work tree {p}")


def _repository(repo: str | os.PathLike) -> Path:
    """A git repository to read commits from: the path itself, or a clone of a bundle in the cache."""
    r = Path(repo).resolve()
    if r.is_file():
        probe = subprocess.run(["git", "bundle", "list-heads", str(r)], capture_output=True, text=True)
        if probe.returncode != 0:
            raise UpstreamError(f"--repo {r}: not a git repository or bundle ({probe.stderr.strip()[:200]})")
        digest = hashlib.sha256(r.read_bytes()).hexdigest()[:12]
        clone = envs.cache_root() / "repos" / f"{r.stem}-{digest}"
        if not (clone / ".complete").is_file():
            shutil.rmtree(clone, ignore_errors=True)
            clone.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=clone.name + ".", dir=clone.parent))
            subprocess.run(["git", "clone", "-q", "--bare", str(r), str(tmp / "repo.git")], check=True,
                           capture_output=True)
            _git(tmp / "repo.git", "fetch", "-q", "origin", "refs/notes/*:refs/notes/*", check=False)
            _git(tmp / "repo.git", "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", check=False)
            (tmp / "repo.git" / ".complete").write_text("")
            os.replace(tmp / "repo.git", clone)
            shutil.rmtree(tmp, ignore_errors=True)
        return clone
    if not r.is_dir():
        raise UpstreamError(f"--repo {r}: no such repository or bundle")
    if subprocess.run(["git", "-C", str(r), "rev-parse", "--git-dir"], capture_output=True).returncode != 0:
        raise UpstreamError(f"--repo {r}: not a git repository or bundle")
    return r


def resolve_commit(repo: str | os.PathLike, rev: str) -> tuple[Path, str]:
    """``(repository, full sha)`` of ``rev``; one clear error when it does not exist."""
    r = _repository(repo)
    proc = subprocess.run(["git", "-C", str(r), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        # a bundle clone keeps branches as origin/<name>
        proc = subprocess.run(["git", "-C", str(r), "rev-parse", "--verify", "--quiet",
                               f"origin/{rev}^{{commit}}"], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise UpstreamError(f"--commit {rev}: no such commit in {repo}")
    return r, proc.stdout.strip()


def from_commit(repo: str | os.PathLike, rev: str) -> Checkout:
    """The commit's tree exported into ``<cache>/checkouts/<sha>`` (once; a rename makes it whole)."""
    r, sha = resolve_commit(repo, rev)
    date, subject = _git(r, "log", "-1", "--format=%as%x00%s", sha).split("\x00")
    note = _git(r, "notes", "--ref=upstream", "show", sha, check=False)
    upstream = note.split()[1] if note.startswith("upstream ") and len(note.split()) > 1 else None
    if date < EARLIEST:
        raise UpstreamError(f"--commit {rev} ({upstream or sha}, {date}) is outside every era: {envs.ERA_TABLE}")
    target = envs.cache_root() / "checkouts" / sha
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=sha[:12] + ".", dir=target.parent))
        try:
            archive = subprocess.run(["git", "-C", str(r), "archive", "--format=tar", sha], capture_output=True)
            if archive.returncode != 0:
                raise UpstreamError(f"--commit {rev}: git archive failed: {archive.stderr.decode()[:300]}")
            with tempfile.TemporaryFile() as fh:
                fh.write(archive.stdout)
                fh.seek(0)
                with tarfile.open(fileobj=fh) as tar:
                    tar.extractall(tmp, filter="data")
            validate_tree(tmp, f"--commit {rev} ({sha[:12]}) of {repo}")
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return Checkout(target, sha, upstream, date, subject, source=f"{repo} @ {rev}")


def flows(checkout: Checkout) -> list[str]:
    """The flows this checkout can run, by the files it has."""
    return [f for f, files in FLOW_FILES.items() if all((checkout.path / x).is_file() for x in files)]


def imports_addons(checkout: Checkout) -> bool:
    pattern = re.compile(r"^\s*(import tensorflow_addons|from tensorflow_addons)", re.M)
    return any(pattern.search(p.read_text(errors="replace")) for p in (checkout.path / "ptycho").rglob("*.py"))


def era(checkout: Checkout, requested: str | None = None) -> str:
    """The era whose environment runs this checkout (``requested`` must be one that can)."""
    if checkout.date is not None and checkout.date < EARLIEST:
        raise UpstreamError(
            f"commit {(checkout.upstream_commit or checkout.commit or '')[:12]} ({checkout.date}) is outside "
            f"every era: {envs.ERA_TABLE}")
    addons = imports_addons(checkout)
    able = ["tf215"] if addons or (checkout.date is not None and checkout.date < TF221_FROM) else ["tf221", "tf215"]
    if requested is None:
        return able[0]
    if requested not in able:
        raise UpstreamError(f"--era {requested}: this checkout runs in {able} ({envs.ERA_TABLE})")
    return requested
