"""One draw of the original's flow: environment, worker process, output, run result.

``draw(checkout, flow, profile)`` builds (or finds) the era's environment, runs
:mod:`.worker` under that interpreter in its own process with a wall-clock limit, and turns
its output into a :class:`..pipelines.common.RunResult` (:mod:`.score`). The draw's folder is
written under a temporary name and renamed when complete, so an interrupted or failed draw
never leaves a folder that looks finished. Every way the worker can fail ends in one
:class:`..errors.UpstreamError` that names the commit and what happened.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..errors import UpstreamError
from ..pipelines import provenance as prov
from ..pipelines.profiles import Profile, get_profile
from . import checkout as co
from . import envs, score

WORKER = Path(__file__).with_name("worker.py")
#: seconds a worker may run, per profile, before it is killed (about 10× a draw on a quiet machine:
#: tiny 25-75 s, smoke 126 s for the dose flow)
TIMEOUT_S = {"tiny": 600, "smoke": 1200, "investigation": 7200}


def worker_args(flow: str, profile: Profile) -> list[str]:
    """The profile's sizes as the worker's options: the same sizes, epochs and groups as ours."""
    common = ["--N", str(profile.N), "--gridsize", str(profile.gridsize), "--nphotons", repr(profile.nphotons),
              "--n-filters-scale", str(profile.n_filters_scale)]
    if flow == "dose":
        return common + ["--size", str(profile.legacy_size), "--nimgs-train", str(profile.legacy_nimgs_train),
                         "--nimgs-test", str(profile.legacy_nimgs_test), "--epochs", str(profile.legacy_epochs)]
    return common + ["--size", str(profile.modern_size), "--positions", str(profile.positions(profile.gridsize)),
                     "--train-groups", str(profile.modern_train_groups),
                     "--test-groups", str(profile.modern_test_groups), "--epochs", str(profile.modern_epochs)]


def _label(c: co.Checkout) -> str:
    return (c.upstream_commit or c.commit or str(c.path))[:12]


def draw(checkout: co.Checkout, flow: str | None, profile: str | Profile, out: str | os.PathLike,
         era: str | None = None, threads: int = 2, timeout_s: float | None = None, log=None,
         per_group_reassembly: bool = False, extra_args: tuple = ()):
    """Run one draw; returns ``(RunResult, folder)``. ``flow`` None picks the first the checkout has.

    ``per_group_reassembly``: the labelled harness option that works around c03673d's batched
    reassembly (:func:`.worker._per_group_reassembly`); the draw's provenance says it was used.
    ``extra_args``: more worker options (``--lockstep-steps K``)."""
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    have = co.flows(checkout)
    if flow is None:
        if not have:
            raise UpstreamError(f"commit {_label(checkout)}: no flow this suite can run "
                                f"(needs one of {co.FLOW_FILES})")
        flow = have[0]
    if flow not in co.FLOW_FILES:
        raise UpstreamError(f"--flow {flow}: unknown flow; flows are {sorted(co.FLOW_FILES)}")
    era = co.era(checkout, era)
    python = envs.ensure(era, log=log)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    info = {"checkout": checkout.to_json(), "era": era, "profile": profile.name,
            "harness": ["per_group_reassembly"] if per_group_reassembly else [],
            "lock_sha256": (envs.env_dir(era) / ".complete").read_text().strip()}
    cmd = [str(python), "-u", str(WORKER), "--checkout", str(checkout.path), "--flow", flow, "--out", str(tmp),
           "--threads", str(threads), "--info", json.dumps(info), *worker_args(flow, profile),
           *(["--per-group-reassembly"] if per_group_reassembly else []), *map(str, extra_args)]
    limit = timeout_s or TIMEOUT_S.get(profile.name, 3600)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": str(threads), "PYTHONPATH": "",
           "PYTHONDONTWRITEBYTECODE": "1"}  # no __pycache__ written into the checkout
    if era == "tf221":  # the original is Keras 2 code: tf.keras must be tf-keras (facts §11)
        env["TF_USE_LEGACY_KERAS"] = "1"
    log(f"[upstream] {flow} flow of {_label(checkout)} ({checkout.date or 'undated'}) in {era}, "
        f"profile {profile.name}")
    t0 = time.perf_counter()
    with open(tmp / "worker.log", "w") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            while proc.poll() is None:
                time.sleep(1)
                elapsed = time.perf_counter() - t0
                if elapsed > limit:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
                if int(elapsed) % 30 == 0:
                    log(f"[upstream] {flow} {_label(checkout)}: {elapsed:.0f} s{_epoch(tmp / 'worker.log')}")
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    wall = time.perf_counter() - t0
    try:
        record, arrays = _read(tmp, proc.returncode, checkout, flow, wall, limit)
    except UpstreamError:
        failed = out.with_name(out.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(tmp, failed)  # kept for a look, never under the draw's own name
        raise
    provenance = {"upstream": {**info, "flow": flow, "versions": record.get("versions", {}),
                               "command": [a if len(a) < 200 else "…" for a in cmd]},
                  "ptychobench": {"git": prov.git_state(), "cpu": prov.cpu_name(), "threads": threads},
                  "wall_s": wall}
    result = score.to_run_result(record, arrays, profile.name, provenance)
    run = {**result.to_json(), "wall_s": wall, "findings": record.get("findings", []),
           "capture_points": record.get("capture_points", {})}
    atomic_write_text(tmp / "run.json", json.dumps(run, indent=1, sort_keys=True))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    log(f"[upstream] {flow} {_label(checkout)}: {record['status']} in {wall:.0f} s → {out}")
    return result, out


def _epoch(log_path: Path) -> str:
    """``, epoch k/n`` from the last Keras epoch line of the worker's log (empty before fit)."""
    with open(log_path, "rb") as fh:
        fh.seek(max(0, log_path.stat().st_size - 20000))
        found = re.findall(rb"Epoch (\d+)/(\d+)", fh.read())
    return f", epoch {int(found[-1][0])}/{int(found[-1][1])}" if found else ""


def _read(folder: Path, returncode: int, checkout: co.Checkout, flow: str, wall: float, limit: float):
    """The worker's record and arrays, or one UpstreamError saying how the worker ended."""
    label = f"{flow} flow of {_label(checkout)}"
    tail = "\n".join((folder / "worker.log").read_text(errors="replace").splitlines()[-8:])
    if returncode is not None and returncode < 0:
        how = "ran past its limit of %.0f s and was killed" % limit if wall > limit else \
            f"was killed by signal {-returncode}"
        raise UpstreamError(f"{label}: the worker {how}; log: {folder.with_name(folder.name)}/worker.log")
    record_path = folder / "worker.json"
    if not record_path.is_file():
        raise UpstreamError(f"{label}: the worker exited with status {returncode} before writing its record; "
                            f"last lines of its log:\n{tail}")
    record = json.loads(record_path.read_text())
    if record["status"] == "error":
        err = record["error"]
        if err["kind"] == "missing_stage":
            raise UpstreamError(f"{label}: this commit lacks a stage the flow needs: {err['message']}")
        raise UpstreamError(f"{label}: the original raised {err['kind']}: {err['message'][:500]}")
    with np.load(folder / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return record, arrays
