"""The parity checks, legacy vs modern, stage by stage.

Every check compares the code under test with something independent of it, named in its
docstring and in :attr:`CheckResult.reference`: the original's arrays, a literal table
transcribed from the original code (:mod:`.reference`), a formula written out again in
:mod:`.reference`, or the other pipeline. Every comparison is a row of
:attr:`CheckResult.rows` (what was measured, the limit, which tolerance entry); a check
passes when every row does. Rendering lives in :mod:`.report`.

The static checks need only the two *prepared* pipelines; the amplitude check needs the
two trained runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..config import TrainingConfig, flatten_config, params
from ..data import original_fixtures
from ..evaluation import metrics, stitching
from ..model import physics_layers as phys
from ..model.network import count_params
from ..physics import forward
from ..physics import objects as objects_mod
from ..physics import probe as probe_mod
from ..pipelines import common
from ..simulation import illumination, legacy_grid, nongrid
from ..simulation import grouping
from ..stages import primary_deviation_source, stage_ratios
from ..training import loop, losses
from . import reference as ref
from . import tables

LOSS_KEYS = ("mae_weight", "nll_weight", "realspace_weight", "realspace_mae_weight")


@dataclass
class CheckResult:
    """One check: its verdict, the comparisons that decided it, and the details to report.

    ``rows``: one dict per comparison (``what``, ``value``, ``limit``, ``tolerance`` entry or
    ``"exact"``, ``passed``). ``problems``: the failed rows (and set-up problems) in words.
    """

    name: str
    passed: bool
    reference: str = ""
    problems: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def summary(self) -> str:
        state = "PASS" if self.passed else "FAIL"
        extra = f": {self.problems[0]}" if self.problems else ""
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"[{state}] {self.name}{extra}{more}"

    @property
    def decided_by(self) -> str:
        """The row that decided the verdict: the first failure, else the closest call."""
        if not self.rows:
            return ""
        failed = [r for r in self.rows if not r["passed"]]
        if failed:
            r = failed[0]
        else:
            def margin(r):
                lim = r["limit"]
                if r["tolerance"] == "exact":
                    return -1.0
                if isinstance(r["value"], (int, float)) and isinstance(lim, (int, float)) and lim:
                    return abs(r["value"]) / abs(lim)
                return -1.0
            r = max(self.rows, key=margin)
        return f"{r['what']}: {_fmt(r['value'])} (limit {_fmt(r['limit'])})"


class _Rows:
    """Collects the comparisons of one check."""

    def __init__(self):
        self.rows, self.problems = [], []

    def within(self, what: str, value: float, section: str, name: str) -> bool:
        """``value <= tolerance[section][name]`` (NaN fails)."""
        limit = tables.tolerance(section, name)
        ok = bool(value <= limit)
        self.rows.append({"what": what, "value": float(value), "limit": limit,
                          "tolerance": f"{section}.{name}", "passed": ok})
        if not ok:
            self.problems.append(f"{what} = {_fmt(value)} > {limit:g} ({section}.{name})")
        return ok

    def inside(self, what: str, value: float, lo: float, hi: float, tolerance: str) -> bool:
        """``lo <= value <= hi`` (NaN fails); the message says on which side it left."""
        ok = bool(lo <= value <= hi)
        self.rows.append({"what": what, "value": float(value), "limit": [lo, hi], "tolerance": tolerance,
                          "passed": ok})
        if not ok:
            side = "below" if value < lo else "above" if value > hi else "not finite, outside"
            self.problems.append(f"{what}: {_fmt(value)} is {side} [{_fmt(lo)}, {_fmt(hi)}] ({tolerance})")
        return ok

    def equal(self, what: str, got, expected) -> bool:
        """Exact equality (integers, strings, booleans, copies of the same values)."""
        ok = bool(np.array_equal(got, expected)) if isinstance(got, np.ndarray) else got == expected
        self.rows.append({"what": what, "value": _plain(got), "limit": _plain(expected),
                          "tolerance": "exact", "passed": ok})
        if not ok:
            self.problems.append(f"{what}: {_difference(got, expected)}")
        return ok

    def fail(self, message: str) -> None:
        self.rows.append({"what": message, "value": None, "limit": None, "tolerance": "-", "passed": False})
        self.problems.append(message)

    def result(self, name: str, reference: str, details: dict) -> CheckResult:
        if not self.rows:
            self.fail("no comparison was made: a check that compares nothing cannot pass")
        return CheckResult(name, not self.problems, reference, self.problems, self.rows, details)


def _plain(x):
    if isinstance(x, np.ndarray):
        return f"<array {x.shape}>"
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return x


def _difference(got, expected) -> str:
    """What differs between two values, in words: for arrays the shapes, or the count of
    differing elements and the first few with their indices and both values."""
    if not (isinstance(got, np.ndarray) or isinstance(expected, np.ndarray)):
        return f"got {_short(got)}, expected {_short(expected)}"
    a, b = np.asarray(got), np.asarray(expected)
    if a.shape != b.shape:
        return f"shape {a.shape}, expected {b.shape}"
    differ = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind in "fc" else (a == b)))
    first = ", ".join(f"[{', '.join(map(str, i))}] {a[tuple(i)]!r} != {b[tuple(i)]!r}" for i in differ[:3])
    return f"{len(differ)} of {a.size} elements differ; first: {first}"


def _short(x) -> str:
    text = repr(_plain(x))
    return text if len(text) <= 120 else text[:117] + "..."


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.4g}"


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else abs(a - b)


# --- loss configuration (Phase D1) -------------------------------------------------------------


def dose_loss_snapshot(nphotons: float, loss_fn: str) -> dict:
    """The four loss weights after the dose recipe's ``init``, on a fresh ``cfg``."""
    saved = params.snapshot()
    try:
        params.reset()
        params.init(nphotons, loss_fn)
        return {k: params.cfg[k] for k in LOSS_KEYS}
    finally:
        params.reset()
        params.cfg.update({k: v for k, v in saved.items() if k != "probe"})


def check_loss_config(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Loss weights against the original's literal tables (Phase D1).

    Reference: DE ``ptycho/params.py:8-23`` (framework defaults), M ``config.py:130-133``
    (dataclass defaults), DE ``notebooks/dose.py:3-33`` (``loss_fn='mae'`` gives mae 1 /
    nll 0, otherwise the defaults stay), and the other pipeline.
    """
    r = _Rows()
    defaults = params.capture_defaults()
    dataclass_defaults = flatten_config(TrainingConfig())
    for key in LOSS_KEYS:
        r.equal(f"params.cfg default {key}", defaults[key], ref.ORIGINAL_DEFAULT_CFG[key])
        r.equal(f"TrainingConfig default {key}", dataclass_defaults[key], ref.ORIGINAL_TRAINING_CONFIG[key])
    dose = {fn: dose_loss_snapshot(legacy.nphotons, fn) for fn in ("nll", "mae")}
    expected_dose = {"nll": {k: ref.ORIGINAL_DEFAULT_CFG[k] for k in LOSS_KEYS},
                     "mae": {**{k: ref.ORIGINAL_DEFAULT_CFG[k] for k in LOSS_KEYS}, "mae_weight": 1.0, "nll_weight": 0.0}}
    for fn in dose:
        r.equal(f"dose recipe loss_fn={fn!r} weights", dose[fn], expected_dose[fn])
    effective = {p.pipeline: {k: getattr(p.weights, k) for k in LOSS_KEYS} for p in (legacy, modern)}
    expected = {"legacy": expected_dose[legacy.config.get("loss_fn", "nll")],
                "modern": {k: modern.modern_config[k] for k in LOSS_KEYS}}
    for name in effective:
        r.equal(f"{name} trains with", effective[name], expected[name])
    r.equal("legacy and modern train with the same weights", effective["legacy"], effective["modern"])
    details = {"defaults": {"params_cfg": {k: defaults[k] for k in LOSS_KEYS},
                            "TrainingConfig": {k: dataclass_defaults[k] for k in LOSS_KEYS}},
               "legacy_params_cfg_defaults": defaults, "dose_loss_weights": dose, "effective": effective}
    return r.result("loss_config", "DE params.py:8-23, M config.py:130-133, DE dose.py:3-33; the other pipeline", details)


def check_loss_form(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Each loss term against its formula written out on a small seeded case.

    Reference: :mod:`.reference` (NLL forms of DE ``model.py:387-397`` and M
    ``model.py:485-498``; TV and complex MAE of M ``tf_helper.py:1460-1545``); each
    pipeline's NLL form against the original's (``ORIGINAL_NLL_FORM``).
    """
    r = _Rows()
    rng = np.random.RandomState(7)
    rate = (0.5 + 20 * rng.random_sample((3, 8, 8, 2))).astype(np.float32)
    counts = rng.poisson(rate).astype(np.float32)
    for prep in (legacy, modern):
        r.equal(f"{prep.pipeline} NLL form", prep.nll_form, ref.ORIGINAL_NLL_FORM[prep.pipeline])
        fn = losses.nll_function(prep.nll_form)
        got = float(fn(tf.constant(counts), tf.constant(rate)))
        want = (ref.poisson_nll_full_sum if ref.ORIGINAL_NLL_FORM[prep.pipeline] == "full_sum"
                else ref.poisson_nll_mean)(counts.astype(np.float64), rate.astype(np.float64))
        r.within(f"{prep.pipeline} NLL vs formula (relative)", rel(got, want), "loss", "float32_sum_rel")
    pred = (rng.standard_normal((2, 8, 8, 1)) + 1j * rng.standard_normal((2, 8, 8, 1))).astype(np.complex64)
    target = rng.random_sample((2, 8, 8, 1)).astype(np.float32)
    tv = float(losses.total_variation(tf.constant(pred)))
    r.within("TV vs batch-summed formula (relative)", rel(tv, ref.total_variation_batch(pred.astype(np.complex128))),
             "loss", "float32_sum_rel")
    cm = float(losses.complex_mae(tf.constant(target), tf.constant(pred)))
    r.within("complex MAE vs mean|pred - target| (relative)",
             rel(cm, ref.complex_mae_real_target(target.astype(np.float64), pred.astype(np.complex128))),
             "loss", "float32_sum_rel")
    amp_t, amp_p = rng.random_sample((2, 8, 8, 2)), rng.random_sample((2, 8, 8, 2))
    mae = float(losses.mae(tf.constant(amp_t, tf.float32), tf.constant(amp_p, tf.float32)))
    r.within("MAE vs mean|a - b| (relative)", rel(mae, float(np.mean(np.abs(amp_t - amp_p)))), "loss", "float32_sum_rel")
    return r.result("loss_form", "formulas written out in parity/reference.py; ORIGINAL_NLL_FORM", {})


# --- full configuration -------------------------------------------------------------------------

IGNORED_CONFIG_KEYS = ("probe", "profile_overrides", "loss_fn")


def _legacy_expected_runtime(legacy: common.Prepared) -> dict:
    """The original's cfg after the dose recipe, with this profile's sizes written out."""
    p = legacy.profile
    return {**ref.ORIGINAL_DEFAULT_CFG, **ref.ORIGINAL_DOSE_RECIPE, "nphotons": legacy.nphotons,
            "size": p.legacy_size, "nimgs_train": p.legacy_nimgs_train, "nimgs_test": p.legacy_nimgs_test,
            "nepochs": p.legacy_epochs, "N": p.N, "gridsize": p.gridsize, "n_filters_scale": p.n_filters_scale,
            "intensity_scale": legacy.s_c}


def check_config(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Every configuration key against the original's literal tables, and the two front ends
    against each other.

    Reference: ``ORIGINAL_DEFAULT_CFG`` (DE ``params.py:8-23``), ``ORIGINAL_MODEL_CONFIG`` /
    ``ORIGINAL_TRAINING_CONFIG`` (M ``config.py:94-148``), ``ORIGINAL_KEY_MAPPINGS``
    (M ``config.py:570-579``), ``ORIGINAL_DOSE_RECIPE`` (DE ``dose.py``); differences between
    the front ends must be in ``known_differences.toml``.
    """
    r = _Rows()
    legacy_defaults = params.capture_defaults()
    for key in sorted(set(legacy_defaults) | set(ref.ORIGINAL_DEFAULT_CFG)):
        r.equal(f"params.cfg default {key}", legacy_defaults.get(key, tables.ABSENT),
                ref.ORIGINAL_DEFAULT_CFG.get(key, tables.ABSENT))
    dc = flatten_config(TrainingConfig())
    original_dc = {**ref.ORIGINAL_MODEL_CONFIG, **ref.ORIGINAL_TRAINING_CONFIG}
    for key in sorted(set(dc) | set(original_dc)):
        got = dc.get(key, tables.ABSENT)
        r.equal(f"dataclass default {key}", str(got) if isinstance(got, Path) else got,
                original_dc.get(key, tables.ABSENT))
    # the bridge: every non-None field of the modern config under the original's key name
    bridged = {k: v for k, v in modern.config.items() if k not in IGNORED_CONFIG_KEYS}
    fields = {**modern.modern_config["model"], **{k: v for k, v in modern.modern_config.items()
                                                   if k not in ("model", "scenario")}}
    for name, value in sorted(fields.items()):
        if value is None:
            continue
        key = ref.ORIGINAL_KEY_MAPPINGS.get(name, name)
        r.equal(f"bridged cfg[{key!r}] (from {name})", bridged.get(key, tables.ABSENT),
                str(value) if isinstance(value, Path) else value)
    # the legacy set-up: the original's cfg after the dose recipe, key by key
    runtime = {k: v for k, v in legacy.config.items() if k not in IGNORED_CONFIG_KEYS}
    want = _legacy_expected_runtime(legacy)
    for key in sorted(set(runtime) | set(want)):
        if key in ("bigN", "padded_size"):
            continue
        r.equal(f"legacy cfg[{key!r}] after the dose recipe", runtime.get(key, tables.ABSENT),
                want.get(key, tables.ABSENT))
    # front end against front end: only documented differences
    modern_defaults = {ref.ORIGINAL_KEY_MAPPINGS.get(k, k): v for k, v in dc.items()}
    legacy_side = {k: v for k, v in legacy_defaults.items() if k in modern_defaults}
    default_rows, default_problems = tables.compare_tables(legacy_side, modern_defaults, "defaults")
    profile_values = {("legacy", "nimgs_train"): legacy.profile.legacy_nimgs_train,
                      ("legacy", "nimgs_test"): legacy.profile.legacy_nimgs_test,
                      ("legacy", "size"): legacy.profile.legacy_size,
                      ("modern", "n_groups"): modern.profile.modern_train_groups,
                      ("legacy", "nepochs"): legacy.profile.legacy_epochs,
                      ("modern", "nepochs"): modern.profile.modern_epochs}
    runtime_rows, runtime_problems = tables.compare_tables(runtime, bridged, "runtime", profile_values)
    for p in default_problems + runtime_problems:
        r.fail(p)
    details = {"defaults": default_rows, "runtime": runtime_rows}
    return r.result("config", "ORIGINAL_DEFAULT_CFG, ORIGINAL_MODEL/TRAINING_CONFIG, ORIGINAL_KEY_MAPPINGS, "
                    "ORIGINAL_DOSE_RECIPE (parity/reference.py); known_differences.toml", details)


# --- data -----------------------------------------------------------------------------------------


def fixture_errors() -> dict:
    """Object, probe and diffraction of our physics against the original's arrays."""
    folder = original_fixtures()
    probe_raw = probe_mod.default_probe(64, 0.7)
    probe = probe_mod.normalize_probe(probe_raw, 10.0)
    obj = objects_mod.lines_object(392, np.random.RandomState(42))
    patch = np.load(folder / "lines_seed42_patch_r164_c164_N64.npy")
    diff, _, _ = illumination.illuminate_and_diffract(
        patch.astype(np.float32)[None, None], probe, 1e9, seed=0, noise=False
    )
    want = np.load(folder / "diffamp_noiseless_lines42_patch164_probeNorm_N64.npy")
    return {
        "probe_raw_abs": float(np.abs(probe_raw - np.load(folder / "probe_default_raw_N64.npy")).max()),
        "probe_norm_abs": float(np.abs(probe - np.load(folder / "probe_default_norm_N64.npy")).max()),
        "object_abs": float(np.abs(obj - np.load(folder / "lines_seed42_size392.npy").reshape(obj.shape)).max()),
        "diffraction_rel_to_max": float(np.abs(diff[0, :, :, 0] - want).max() / want.max()),
    }


def _legacy_train_patches(prep: common.Prepared):
    """The legacy training set's normalised object patches, one (N, N) array at a time, cut
    with plain loops (a generator: the paper profile has 53,792 of them)."""
    cfg = prep.config
    N, gs, off, stride = cfg["N"], cfg["gridsize"], cfg["offset"], cfg["outer_offset_train"] // 2
    images = prep.train_images / np.float32(prep.train.scale_factors["norm_Y_I"])
    big = N + (gs - 1) * off
    for img in images:
        for r0 in range(0, img.shape[0] - big + 1, stride):
            for c0 in range(0, img.shape[1] - big + 1, stride):
                for i in range(gs):
                    for j in range(gs):
                        yield img[r0 + i * off : r0 + i * off + N, c0 + j * off : c0 + j * off + N]


def poisson_dispersion(prep: common.Prepared, nphotons: float = 1e4, n: int = 64) -> dict:
    """Noisy against noiseless counts of ``n`` test patterns at a low dose.

    For Poisson counts ``k`` of rate ``λ``: ``Σk/Σλ → 1`` and ``Σ(k − λ)²/Σλ → 1``.
    """
    patches = prep.test.Y_I[:n].transpose(0, 3, 1, 2)
    clean, _, s = illumination.illuminate_and_diffract(patches, prep.probe, nphotons, seed=11, noise=False)
    noisy, _, _ = illumination.illuminate_and_diffract(patches, prep.probe, nphotons, seed=11,
                                                       intensity_scale=s, noise=True)
    lam = (clean.astype(np.float64) * s) ** 2
    k = (noisy.astype(np.float64) * s) ** 2
    return {"mean_ratio": float(k.sum() / lam.sum()), "dispersion": float(((k - lam) ** 2).sum() / lam.sum()),
            "total_rate": float(lam.sum())}


def knn_group_violations(positions: np.ndarray, groups: np.ndarray, K: int) -> int:
    """Groups that are not the K nearest neighbours (self excluded) of any position.

    Brute-force distances; with C = K every group must equal one such neighbour set.
    """
    d = np.sqrt(((positions[:, None, :].astype(np.float64) - positions[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1, kind="stable")[:, :K]
    sets = {frozenset(row.tolist()) for row in nn}
    return int(sum(frozenset(g.tolist()) not in sets for g in groups))


def check_data(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Object, probe, diffraction, simulators, coordinates, scales, noise and grouping.

    Reference: the original's arrays (``ptychobench/data/original``); the other pipeline's
    simulator at the same positions; the grid geometry; ``s = sqrt(nphotons / mean Σ|P·O|²)``
    written out (:func:`.reference.dataset_scale`); Poisson statistics; brute-force K-NN
    with K = 4 and self excluded (M ``raw_data.py:372-607``).
    """
    r = _Rows()
    errors = fixture_errors()
    for name, tol in (("probe_raw_abs", "probe_abs"), ("probe_norm_abs", "probe_abs"),
                      ("object_abs", "object_abs"), ("diffraction_rel_to_max", "diffraction_rel_to_max")):
        r.within(f"fixture {name}", errors[name], "fixtures", tol)
    details = {"fixtures": errors}
    # simulators: legacy grid patterns re-simulated by the modern simulator at the same positions
    cfg = legacy.config
    N, gs, offset = cfg["N"], cfg["gridsize"], cfg["offset"]
    objs = legacy.test_images[:1]
    lay = legacy.test_layout
    ids = np.arange(min(8, lay.ny * lay.nx))
    norm = legacy.test.scale_factors["norm_Y_I"]
    legacy_data, _ = legacy_grid.simulate_grid(objs, legacy.probe, N=N, gridsize=gs, offset=offset,
                                               outer_offset=cfg["outer_offset_test"], nphotons=cfg["nphotons"],
                                               seed=0, norm_Y_I=norm, noise=False)
    positions = legacy_data.coords_nn[ids, 0].transpose(0, 2, 1).reshape(-1, 2)  # (B*C, [x, y])
    sim = nongrid.simulate_nongrid(objs[0], legacy.probe, positions, nphotons=cfg["nphotons"], seed=0, noise=False)
    modern_X = sim.diffraction.reshape(len(ids), gs * gs, N, N).transpose(0, 2, 3, 1)
    legacy_X = legacy_data.X[ids] * np.float32(norm)
    details["simulator_agreement_rel_to_max"] = float(np.abs(modern_X - legacy_X).max() / legacy_X.max())
    r.within("legacy vs modern simulator at the same positions", details["simulator_agreement_rel_to_max"],
             "data", "simulator_agreement_rel_to_max")
    # coordinates: modern grouping of those positions reproduces the legacy grid offsets
    coords_nn = positions.reshape(len(ids), gs * gs, 2).transpose(0, 2, 1)[:, None]
    _, modern_rel = grouping.relative_coords(coords_nn)
    details["coords_abs"] = float(np.abs(modern_rel - legacy_data.coords_relative[ids]).max())
    r.within("coords_relative: modern grouping vs legacy grid (px)", details["coords_abs"], "data", "coords_abs")
    # each pipeline's coordinates are physically consistent with its canvas
    for prep in (legacy, modern):
        err = extraction_consistency(prep)
        details[f"{prep.pipeline}_extraction_rel_to_max"] = err
        r.within(f"{prep.pipeline}: patches placed with -coords_relative and extracted with +coords_relative",
                 err, "data", "extraction_rel_to_max")
    # the simulation's scale is the dataset formula over its own object patches
    for prep, patches in ((legacy, _legacy_train_patches(legacy)), (modern, modern.simulated_patches)):
        want = ref.dataset_scale(patches, prep.probe, prep.nphotons)
        got = prep.train.scale_factors["s_sim"]
        details[f"{prep.pipeline}_s_sim"] = {"got": got, "formula": want}
        r.within(f"{prep.pipeline}: s_sim vs sqrt(nphotons / mean sum |P·O|^2) (relative)", rel(got, want),
                 "data", "s_sim_rel")
    # shot noise is Poisson
    for prep in (legacy, modern):
        stats = poisson_dispersion(prep)
        details[f"{prep.pipeline}_poisson"] = stats
        r.within(f"{prep.pipeline}: |sum k / sum lambda - 1| at 1e4 photons", abs(stats["mean_ratio"] - 1),
                 "data", "poisson_mean_abs")
        r.within(f"{prep.pipeline}: |sum (k - lambda)^2 / sum lambda - 1| at 1e4 photons",
                 abs(stats["dispersion"] - 1), "data", "poisson_dispersion_abs")
    # modern groups are K-nearest-neighbour sets
    bad = knn_group_violations(modern.train_positions, modern.train_group_indices, ref.ORIGINAL_NEIGHBOR_COUNT)
    details["knn_violations"] = bad
    r.equal("modern groups that are not the 4 nearest neighbours of a position (self excluded)", bad, 0)
    return r.result("data", "original arrays (ptychobench/data/original); the other pipeline's simulator; "
                    "dataset-scale formula; Poisson statistics; brute-force K-NN", details)


def extraction_consistency(prep: common.Prepared, n: int = 8) -> float:
    """Diffraction error (relative to its max) of true patches sent through the model's canvas.

    The true object patches of ``n`` test groups, cut at their scan positions and masked to
    the central N/2 as the model's head is, are placed on the canvas with
    ``−coords_relative`` and extracted with ``+coords_relative``; the far field of the
    illuminated result must equal the far field of the illuminated true patches.
    """
    N = prep.spec.N
    rel_ = prep.test.coords_relative[:n]
    centres = prep.test.coords_nn[:n, 0]  # (n, 2, C) true scan positions
    C = rel_.shape[-1]
    image = prep.test_images[prep.test.image_index[0]]
    patches = nongrid.extract_patches(image, centres.transpose(0, 2, 1).reshape(-1, 2), N)
    patches = patches.reshape(n, C, N, N).transpose(0, 2, 3, 1) * phys.central_mask(N)[None, :, :, None]
    truth = tf.complex(patches, 0.0 * patches)
    canvas = phys.reassemble_patches(truth, rel_, prep.spec.padded_size)
    back = phys.extract_patches(canvas, rel_, N)
    illuminate = prep.model.illumination
    expected = phys.far_field_amplitude(illuminate(truth)).numpy()
    got = phys.far_field_amplitude(illuminate(back)).numpy()
    return float(np.abs(got - expected).max() / expected.max())


def mean_pattern_energy(X: np.ndarray, chunk: int = 1024) -> float:
    """Mean over patterns of ``Σ_xy X²`` for (B, N, N) or (B, N, N, C), in float64 chunks."""
    total, count = 0.0, 0
    for i in range(0, X.shape[0], chunk):
        e = np.sum(np.square(X[i : i + chunk], dtype=np.float64), axis=(1, 2))
        total += float(e.sum())
        count += e.size
    return total / count


# --- normalisation stages ----------------------------------------------------------------------------


def legacy_expected_energy(prep: common.Prepared) -> float:
    """Mean ``Σ|P·O/norm_Y_I|²`` of the legacy test patterns (Parseval: the energy of an
    un-normalised far field), from patches cut with plain loops."""
    cfg = prep.config
    N, gs, off, stride = cfg["N"], cfg["gridsize"], cfg["offset"], cfg["outer_offset_test"] // 2
    big = N + (gs - 1) * off
    norm = ref.norm_Y_I(prep.test_images, N, gs, off, stride)
    probe2 = np.abs(prep.probe).astype(np.float64) ** 2
    total, count = 0.0, 0
    for img in prep.test_images.astype(np.float64) / norm:
        for r0 in range(0, img.shape[0] - big + 1, stride):
            for c0 in range(0, img.shape[1] - big + 1, stride):
                for i in range(gs):
                    for j in range(gs):
                        p = img[r0 + i * off : r0 + i * off + N, c0 + j * off : c0 + j * off + N]
                        total += float(np.sum(p * p * probe2))
                        count += 1
    return total / count


def check_normalization(legacy: common.Prepared, modern: common.Prepared,
                        legacy_stages=None, modern_stages=None) -> CheckResult:
    """Every normalisation stage against its formula written out; stage tables of both.

    Reference: ``s_c = sqrt(nphotons)/(N/2)``; legacy ``norm_Y_I`` = mean over groups of the
    group maximum (:func:`.reference.norm_Y_I`) and no diffraction normalisation (the test
    patterns keep the Parseval energy ``Σ|P·O/norm_Y_I|²``, within Poisson noise); modern
    ``g = sqrt((N/2)²/mean Σ X²)`` (:func:`.reference.normalize_gain`) and energy ``(N/2)²``
    after it; the stage tables of the other pipeline.
    """
    r = _Rows()
    N = legacy.spec.N
    for prep in (legacy, modern):
        want = ref.closed_form_scale(prep.nphotons, N)
        r.within(f"{prep.pipeline}: s_c vs sqrt(nphotons)/(N/2) (relative)", rel(prep.s_c, want),
                 "normalization", "scale_rel")
        s_sim = prep.train.scale_factors["s_sim"]
        if abs(s_sim / want - 1) < 1e-3:
            r.fail(f"{prep.pipeline}: simulation scale equals the closed form; it must be dataset-derived")
    cfg = legacy.config
    norm_want = ref.norm_Y_I(legacy.test_images, N, cfg["gridsize"], cfg["offset"], cfg["outer_offset_test"] // 2)
    r.within("legacy: object normalisation x norm_Y_I(formula) - 1", abs(legacy.object_normalization * norm_want - 1),
             "normalization", "norm_rel")
    energy = mean_pattern_energy(legacy.test.X)
    want_energy = legacy_expected_energy(legacy)
    n_patterns = legacy.test.X.shape[0] * legacy.test.X.shape[-1]
    # Poisson: the total counts of P patterns scatter by 1/sqrt(nphotons·P) relative; 10 sigma
    poisson_limit = 10.0 / math.sqrt(legacy.nphotons * n_patterns)
    r.within("legacy: test energy vs Parseval energy of P·O/norm_Y_I (relative) minus 10 Poisson sigma",
             max(0.0, rel(energy, want_energy) - poisson_limit), "normalization", "energy_rel")
    g_want = ref.normalize_gain(modern.test_raw_X.transpose(0, 3, 1, 2).reshape(-1, N, N), N)
    r.within("modern: g vs sqrt((N/2)^2 / mean sum X^2) (relative)", rel(modern.diffraction_gain, g_want),
             "normalization", "gain_rel")
    for split in ("train", "test"):
        e = mean_pattern_energy(getattr(modern, split).X)
        r.within(f"modern {split}: normalised energy / (N/2)^2 - 1", abs(e / (N / 2) ** 2 - 1), "normalization",
                 "energy_rel")
    tables_ = {"legacy": legacy_stages or legacy.recorder.table(), "modern": modern_stages or modern.recorder.table()}
    ratios = {k: stage_ratios(v) for k, v in tables_.items()}
    primary, deviations = primary_deviation_source(tables_["legacy"], tables_["modern"])
    # the front ends normalise in different places (object vs diffraction, facts §5.1)
    documented = ("object_normalized", "normalized_diffraction")
    if primary not in documented:
        r.fail(f"primary deviation source is {primary!r}; the documented ones are {documented}")
    details = {"stages": tables_, "ratios": ratios, "primary_deviation_source": primary, "deviations": deviations,
               "legacy_norm_Y_I": {"got": 1 / legacy.object_normalization, "formula": norm_want},
               "legacy_energy": {"got": energy, "parseval": want_energy},
               "modern_g": {"got": modern.diffraction_gain, "formula": g_want}}
    return r.result("normalization", "formulas: s_c, norm_Y_I, Parseval energy, g, (N/2)^2; the other pipeline's "
                    "stage table", details)


# --- architecture ---------------------------------------------------------------------------------------


def expected_trainable_params(spec, include_log_scale: bool) -> int:
    """Trainable parameters from the layer shapes alone (3×3 convolutions, weights + biases)."""
    def conv(cin, cout):
        return 9 * cin * cout + cout

    nfs = spec.n_filters_scale
    enc, dec = spec.ladder
    total, cin = 0, spec.channels
    for f in enc:
        total += conv(cin, f * nfs) + conv(f * nfs, f * nfs)
        cin = f * nfs
    for _ in range(2):  # amplitude and phase decoders
        c = cin
        for f in dec:
            total += conv(c, f * nfs) + conv(f * nfs, f * nfs)
            c = f * nfs
    last = dec[-1] * nfs
    for k in (spec.amp_out_channels, spec.phase_out_channels):
        if spec.pad_object:
            total += conv(last - 4, k)
        if spec.probe_big or not spec.pad_object:
            src = 4 if spec.pad_object else last
            total += conv(src, spec.x2_filters) + conv(spec.x2_filters, spec.x2_filters) + conv(spec.x2_filters, k)
    if spec.probe_trainable:
        total += 2 * spec.N * spec.N
    return total + (1 if include_log_scale else 0)


def forward_layer_error(prep: common.Prepared) -> float:
    """Model far-field layer vs the (fixture-checked) physics forward model on one random field."""
    rng = np.random.default_rng(0)
    N = prep.spec.N
    field_ = (rng.random((2, N, N, 2)) + 1j * rng.random((2, N, N, 2))).astype(np.complex64)
    model_amp = phys.far_field_amplitude(tf.constant(field_)).numpy()
    want = np.moveaxis(forward.far_field_amplitude(np.moveaxis(field_, 3, 1)), 1, 3)
    return float(np.abs(model_amp - want).max() / want.max())


def overlap_normaliser_error(prep: common.Prepared) -> float:
    """Reassembling C all-ones patches at zero offsets gives ``C / (C·mask + 0.001)``: the sum
    over C patches divided by the reassembled central-N/2 mask plus 0.001 (M
    ``tf_helper.py:1092-1131``), so ``C/(C + 0.001)`` inside and ``C/0.001`` outside (the
    original's 1000× amplification of anything outside the central N/2). Largest relative
    deviation from that formula."""
    N, C = prep.spec.N, prep.spec.channels
    ones = tf.complex(tf.ones([1, N, N, C]), tf.zeros([1, N, N, C]))
    canvas = phys.center_crop(phys.reassemble_patches(ones, tf.zeros([1, 1, 2, C]), prep.spec.padded_size), N)
    want = C / (C * phys.central_mask(N) + ref.ORIGINAL_OVERLAP_EPS)
    return float((np.abs(np.real(canvas.numpy()[0, :, :, 0]) - want) / want).max())


def amplitude_head_range(prep: common.Prepared) -> tuple[float, float]:
    """Smallest and largest amplitude the model's head produces on large random inputs."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(0, 50, (4, prep.spec.N, prep.spec.N, prep.spec.channels)).astype(np.float32))
    amp = np.abs(prep.model.object_patches(x * float(np.exp(prep.model.log_scale_value()))).numpy())
    return float(amp.min()), float(amp.max())


def check_architecture(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Layers of the two models against each other; parameter counts, overlap normaliser,
    head range and far field against formulas.

    Reference: the other pipeline (layer by layer); counts from the layer shapes; the
    overlap normaliser ``C/(C + 0.001)``; the sigmoid head's ceiling 1 (DE ``params.py:20``);
    the fixture-checked physics far field; ``known_differences.toml`` for the amp head.
    """
    r = _Rows()
    tl, tm = legacy.model.architecture_table(), modern.model.architecture_table()
    doc = tables.known_differences()["architecture"]["amp_head_channels"]
    expected_heads = {"legacy": doc["legacy"],
                      "modern": legacy.spec.channels if doc["modern"] == tables.CHANNELS else doc["modern"]}
    by_name = {row["layer"]: row for row in tm}
    layer_rows = []
    for row in tl:
        m = by_name.get(row["layer"])
        if m is None:
            r.fail(f"layer {row['layer']} exists only in legacy")
            continue
        same = row["output_shape"] == m["output_shape"] and row["params"] == m["params"]
        layer_rows.append({"layer": row["layer"], "legacy_shape": row["output_shape"], "legacy_params": row["params"],
                           "modern_shape": m["output_shape"], "modern_params": m["params"], "same": same})
        if row["layer"] != "amp_head":
            r.equal(f"layer {row['layer']} (shape, params) legacy vs modern",
                    (row["output_shape"], row["params"]), (m["output_shape"], m["params"]))
    for row in tm:
        if row["layer"] not in {x["layer"] for x in tl}:
            r.fail(f"layer {row['layer']} exists only in modern")
    counts = {}
    for prep in (legacy, modern):
        r.equal(f"{prep.pipeline} amplitude head channels", prep.spec.amp_out_channels, expected_heads[prep.pipeline])
        got = count_params(prep.model)
        want = expected_trainable_params(prep.spec, prep.spec.intensity_scale_trainable)
        counts[prep.pipeline] = {"trainable": got, "expected_from_shapes": want}
        r.equal(f"{prep.pipeline} trainable parameters vs layer shapes", got, want)
        r.within(f"{prep.pipeline}: model far field vs physics forward model", forward_layer_error(prep),
                 "architecture", "forward_rel_to_max")
        r.within(f"{prep.pipeline}: overlap normaliser vs C/(C mask + 0.001) (relative)",
                 overlap_normaliser_error(prep), "architecture", "normaliser_rel")
        lo, hi = amplitude_head_range(prep)
        ok = lo >= 0.0 and hi <= ref.ORIGINAL_AMP_ACTIVATION_CEILING
        r.equal(f"{prep.pipeline}: amplitude head stays in [0, 1] (sigmoid)", ok, True)
    details = {"layers": layer_rows, "legacy": tl, "modern": tm, "param_counts": counts,
               "amp_head_channels": {p.pipeline: p.spec.amp_out_channels for p in (legacy, modern)},
               "amp_head_why": doc["why"]}
    return r.result("architecture", "the other pipeline; layer-shape formula; C/(C+0.001); sigmoid ceiling; "
                    "physics far field", details)


# --- training parameters -----------------------------------------------------------------------------


def training_parameters(prep: common.Prepared) -> dict:
    """What the loop will actually run with, read from the objects it builds."""
    s = common.train_settings(prep, progress=False)
    optimizer, _, _ = loop.make_steps(prep.model, s, prep.spec.N, prep.spec.channels)
    cfg = optimizer.get_config()
    trainable = {id(w) for w in prep.model.trainable_weights}
    return {
        "optimizer": type(optimizer).__name__,
        "learning_rate": float(cfg["learning_rate"]),
        "epsilon": float(cfg["epsilon"]),
        "beta_1": float(cfg["beta_1"]),
        "beta_2": float(cfg["beta_2"]),
        "plateau_monitor": s.plateau_monitor,
        "plateau_factor": s.plateau_factor,
        "plateau_patience": s.plateau_patience,
        "plateau_min_lr": s.min_lr,
        "plateau_min_delta": s.plateau_min_delta,
        "early_stop_monitor": s.early_stop_monitor,
        "early_stop_patience": s.early_stop_patience,
        "validation_split": s.validation_split,
        "batch_size": s.batch_size,
        "epochs": s.epochs,
        "nll_form": s.nll_form,
        "scale_trains": id(prep.model.scaler.log_scale) in trainable,
        "initial_log_scale": prep.model.log_scale_value(),
    }


FLOAT32_SETTINGS = ("learning_rate", "epsilon", "beta_1", "beta_2")


def check_training_params(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Optimizer, schedule, stopping, split, epochs and the intensity scale, read from the
    built objects, against the original's literal settings.

    Reference: ``ORIGINAL_TRAINING`` (DE ``model.py:413,444-460``); the validation split of
    :func:`.reference.validation_split` (sklearn shuffle, ``random_state=0``, Keras' floor);
    the profile's epochs; the initial ``log_scale`` from the formulas (legacy: log of the
    dataset scale over its patches, DE ``train.py:79,87``; modern: log s_c); whether the scale
    trains (``ORIGINAL_SCALE_TRAINS``, or the profile's named variant).
    """
    r = _Rows()
    got = {p.pipeline: training_parameters(p) for p in (legacy, modern)}
    for prep in (legacy, modern):
        g = got[prep.pipeline]
        for key, want in ref.ORIGINAL_TRAINING.items():
            if key in FLOAT32_SETTINGS:  # Keras keeps these in float32 variables
                r.equal(f"{prep.pipeline} {key} (float32)", np.float32(g[key]), np.float32(want))
            else:
                r.equal(f"{prep.pipeline} {key}", g[key], want)
        want_epochs = prep.profile.legacy_epochs if prep.pipeline == "legacy" else prep.profile.modern_epochs
        r.equal(f"{prep.pipeline} epochs (profile)", g["epochs"], want_epochs)
        n = prep.train.X.shape[0]
        ours = loop.validation_split_indices(n, g["validation_split"])
        theirs = ref.validation_split(n, ref.ORIGINAL_TRAINING["validation_split"])
        r.equal(f"{prep.pipeline} validation groups of {n}", np.sort(ours[1]), np.sort(theirs[1]))
        r.equal(f"{prep.pipeline} training groups of {n}", np.sort(ours[0]), np.sort(theirs[0]))
        variant = prep.profile.scale_variant == "trainable"
        r.equal(f"{prep.pipeline} exp(log_scale) trains", g["scale_trains"],
                ref.ORIGINAL_SCALE_TRAINS or (variant and bool(prep.config["intensity_scale.trainable"])))
    s_sim = ref.dataset_scale(_legacy_train_patches(legacy), legacy.probe, legacy.nphotons)
    r.within("legacy: model log_scale vs log s_sim(formula)", abs(got["legacy"]["initial_log_scale"] - math.log(s_sim)),
             "training", "log_scale_abs")
    r.within("modern: model log_scale vs log(sqrt(nphotons)/(N/2))",
             abs(got["modern"]["initial_log_scale"] - math.log(ref.closed_form_scale(modern.nphotons, modern.spec.N))),
             "training", "log_scale_abs")
    # legacy vs modern: only documented differences
    a = {k: v for k, v in got["legacy"].items() if k not in ("epochs", "initial_log_scale")}
    b = {k: v for k, v in got["modern"].items() if k not in ("epochs", "initial_log_scale")}
    rows, problems = tables.compare_tables(a, b, "training")
    for p in problems:
        r.fail(p)
    return r.result("training_params", "ORIGINAL_TRAINING, reference.validation_split, scale formulas, "
                    "ORIGINAL_SCALE_TRAINS; known_differences.toml", {**got, "differences": rows})


# --- stitching -------------------------------------------------------------------------------------------


def check_stitching(legacy: common.Prepared, modern: common.Prepared, n_groups: int = 48) -> CheckResult:
    """Both stitchers on the true object against independent references.

    Reference: modern — :func:`.reference.reassemble_position` (the original's convention:
    central M×M crop, M = 20, bilinear shift-and-sum divided by the summed weights + 1e-9)
    on the true patches of ``n_groups`` test groups at their positions; legacy — the grid
    tiling of :func:`.reference.grid_tiles` on the true centre patches of every group, which
    must also reproduce the clipped ground truth exactly (integer copies).
    """
    r = _Rows()
    # modern: true patches at their true (fractional) positions
    N = modern.spec.N
    obj = modern.test_images[0]
    centres = modern.test.coords_nn[:n_groups, 0].transpose(0, 2, 1).reshape(-1, 2)
    patches = nongrid.extract_patches(obj, centres, N)
    image, weight = stitching.stitch_positions(patches, centres, obj.shape, modern.profile.reassemble_M)
    want, want_w = ref.reassemble_position(patches, centres, obj.shape, ref.ORIGINAL_REASSEMBLE_M)
    scale = float(np.abs(want).max())
    r.within("modern: stitch_positions vs reassemble_position reference (relative to max)",
             float(np.abs(image - want).max() / scale), "stitching", "positions_rel_to_max")
    r.within("modern: coverage weights vs reference", float(np.abs(weight - want_w).max()), "stitching",
             "positions_rel_to_max")
    # legacy: the centre N×N of every test group of image 0, tiled
    cfg = legacy.config
    lay = legacy.test_layout
    big = cfg["N"] + (cfg["gridsize"] - 1) * cfg["offset"]
    lo = (big - cfg["N"]) // 2
    img = legacy.test_images[0]
    centre_patches = np.asarray([img[i * lay.stride + lo : i * lay.stride + lo + cfg["N"],
                                     j * lay.stride + lo : j * lay.stride + lo + cfg["N"]]
                                 for i in range(lay.ny) for j in range(lay.nx)])
    ours = stitching.stitch_grid(centre_patches, lay.ny, lay.nx, cfg["outer_offset_test"])
    theirs = ref.grid_tiles(centre_patches, lay.ny, lay.nx, cfg["outer_offset_test"])
    r.equal("legacy: stitch_grid vs grid tiling reference", ours, theirs)
    truth = legacy_grid.clipped_truth(legacy.test_images[:1], cfg["N"], cfg["gridsize"], cfg["offset"],
                                      cfg["outer_offset_test"])[0]
    r.equal("legacy: tiled true patches reproduce the clipped truth", ours, truth)
    return r.result("stitching", "reference.reassemble_position (M=20, 1e-9), reference.grid_tiles, clipped truth",
                    {"modern_groups": n_groups, "legacy_mosaic_shape": list(ours.shape)})


# --- metrics and the gauge --------------------------------------------------------------------------------


def check_metrics(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """The amplitude metrics on a case with known answers, and each pipeline's gauge factors
    against the formula ``G = (object normalisation) × g × s_c / exp(log_scale)``.

    Reference: a seeded truth ``t`` and ``p = a·t`` on half the pixels (coverage 1/2, ratio
    ``a``, LS scale ``a``, pearson 1, gauge-corrected ``a/G``, bias ``|ln(a/G)|``); the
    gauge from the formulas of :mod:`.reference` and the model's own ``log_scale``.
    """
    r = _Rows()
    rng = np.random.RandomState(5)
    t = (0.5 + rng.random_sample((40, 40))).astype(np.float32)
    covered = np.zeros((40, 40), bool)
    covered[:, :20] = True
    a, G = 0.37, 0.5
    p = np.where(covered, a * t, 0.0).astype(np.float32)
    m = metrics.amplitude_metrics(p, t, covered, G)
    for key, want in (("coverage", 0.5), ("amplitude_ratio", a), ("amplitude_ratio_ls", a), ("expected_gauge", G),
                      ("gauge_corrected_ratio", a / G), ("amplitude_bias", abs(math.log(a / G))), ("pearson", 1.0)):
        r.within(f"amplitude_metrics {key} vs known answer {want:.4g} (relative)", rel(m[key], want), "metrics",
                 "formula_rel")
    for prep in (legacy, modern):
        log_scale = prep.model.log_scale_value()
        got = metrics.expected_gauge(prep.object_normalization, prep.diffraction_gain, prep.s_c, log_scale)
        cfg = prep.config
        if prep.pipeline == "legacy":
            on, g = 1.0 / ref.norm_Y_I(prep.test_images, cfg["N"], cfg["gridsize"], cfg["offset"],
                                       cfg["outer_offset_test"] // 2), 1.0
        else:
            N = prep.spec.N
            on, g = 1.0, ref.normalize_gain(prep.test_raw_X.transpose(0, 3, 1, 2).reshape(-1, N, N), N)
        want = on * g * ref.closed_form_scale(prep.nphotons, prep.spec.N) / math.exp(log_scale)
        r.within(f"{prep.pipeline}: expected_gauge vs formula (relative)", rel(got, want), "metrics", "gauge_rel")
    return r.result("metrics", "known answers of a scaled truth; the gauge formula", {})


# --- amplitude ------------------------------------------------------------------------------------------------


def predicted_ratio(run) -> dict:
    """What the physics predicts for ``run``'s amplitude ratio, written out from its arrays:
    the gauge ``G`` times the head clip ``mean(min(G·t, 1)) / mean(G·t)`` on covered pixels."""
    f = run.scale_factors
    G = f.get("object_normalization", 1.0) * f.get("g", 1.0) * f["s_c"] / f["exp_log_scale_final"]
    t = np.asarray(run.arrays["truth"], np.float64)[np.asarray(run.arrays["covered"], bool)]
    demand = G * t
    clip = float(np.minimum(demand, ref.ORIGINAL_AMP_ACTIVATION_CEILING).mean() / demand.mean())
    return {"gauge": G, "head_clip": clip, "predicted_ratio": G * clip}


def _as_list(runs):
    return list(runs) if isinstance(runs, (list, tuple)) else [runs]


def abs_log(x: float) -> float:
    """``|ln x|``, and ``inf`` where ``x`` is not a positive finite number (a row then fails)."""
    return abs(math.log(x)) if math.isfinite(x) and x > 0 else math.inf


def check_amplitude(legacy_runs, modern_runs, name: str = "amplitude", modern_key: str = "modern",
                    reference: dict | None = None) -> CheckResult:
    """The trained runs: each judged against the faithful seed distribution, and the amplitude
    against the physics' prediction (gauge × head clip) and against the other pipeline.

    ``legacy_runs`` / ``modern_runs``: one run, or one per seed; ``modern_key`` names the modern
    scenario's entry in the distribution (``modern`` is gs2_ideal, ``modern_gs1_ideal`` …).

    1. **The faithful distribution** (:func:`.trained.band_rows`): pearson, SSIM, head
       saturation, output level and gauge-corrected ratio of each pipeline, each in both
       directions, against ``faithful_seeds.json`` (the faithful code at seeds it never runs
       here). This is what judges a collapsed modern run: its saturation and level must be
       the faithful collapse's, and a rescue fails as surely as a darker output.
    2. **The physics' prediction** (:func:`predicted_ratio`, written out): ``|ln(ratio / (G ×
       clip))|`` per pipeline and between the pipelines. For legacy, whose head never clips,
       this is the gauge itself; for a saturated modern head, the prediction is the ceiling's
       and the row holds for any flat output at the ceiling (the bands judge that case).

    With several seeds the comparisons are made on the **median over seeds**: trained outcomes
    are bimodal across seeds and the median follows the majority basin; every seed's numbers
    are in the details. A failed run or a non-finite number fails its row with a message.

    Reference: ``faithful_seeds.json``; the gauge formula and head clip written out in
    :func:`predicted_ratio`; the other pipeline.
    """
    from . import trained

    r = _Rows()
    details, residual = {}, {}
    pairs = (("legacy", "legacy", _as_list(legacy_runs)), ("modern", modern_key, _as_list(modern_runs)))
    for pipeline, key, all_runs in pairs:
        trained.band_rows(r, key, all_runs, reference)
        runs = [run for run in all_runs if not run.failure]  # band_rows failed the others
        if not runs:
            continue
        per_seed = []
        for run in runs:
            pred = predicted_ratio(run)
            per_seed.append({"seed": run.seed, **{k: run.metrics.get(k, math.nan) for k in (
                "coverage", "amplitude_ratio", "amplitude_ratio_ls", "expected_gauge", "gauge_corrected_ratio",
                "amplitude_bias", "head_saturation", "output_level", "pearson", "ssim")}, **pred,
                "residual": run.metrics["amplitude_ratio"] / pred["predicted_ratio"]})
        med = {k: float(np.median([p[k] for p in per_seed])) for k in ("residual", "amplitude_bias", "head_clip")}
        residual[pipeline] = med["residual"]
        details[pipeline] = {**per_seed[0], "key": key, "median": med, "seeds": per_seed}
        tag = f"{key}" + (f" (median of {len(runs)} seeds)" if len(runs) > 1 else "")
        r.within(f"{tag}: |ln(ratio / (G x head clip))| (the physics' prediction)",
                 abs_log(med["residual"]), "amplitude", "residual_abs_log")
        r.within(f"{tag}: |amplitude_bias - |ln head clip||",
                 abs(med["amplitude_bias"] - abs_log(med["head_clip"])), "amplitude", "residual_abs_log")
    if len(residual) == 2:
        r.within(f"legacy vs {modern_key}: |ln(residual_legacy / residual_modern)|",
                 abs_log(residual["legacy"] / residual["modern"]), "amplitude", "residual_abs_log")
    details["faithful"] = trained.reference_provenance(reference)
    return r.result(name, "faithful seed distribution (parity/faithful_seeds.json); gauge formula x head clip "
                    "written out; the other pipeline", details)


# --- recorded numbers ----------------------------------------------------------------------------------------


def check_recorded_numbers(profile) -> CheckResult:
    """Ours against every number the original investigation recorded, at its configuration.

    Reference: :data:`.recorded.RECORDED` (facts §1, §2, §3, §5.3, §11). Data-path numbers
    are recomputed at the investigation's configuration in every run; trained numbers are
    compared only at a profile that trains there (none yet: they are listed, not judged).
    """
    from . import recorded

    r = _Rows()
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


STATIC_CHECKS = {
    "loss_config": check_loss_config,
    "loss_form": check_loss_form,
    "config": check_config,
    "data": check_data,
    "normalization": check_normalization,
    "architecture": check_architecture,
    "training_params": check_training_params,
    "stitching": check_stitching,
    "metrics": check_metrics,
}
