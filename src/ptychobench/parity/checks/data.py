"""Object, probe, diffraction, simulators, coordinates, scales, noise and grouping."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ...data import original_fixtures
from ...model import physics_layers as phys
from ...physics import objects as objects_mod
from ...physics import probe as probe_mod
from ...pipelines import common
from ...simulation import grouping, illumination, legacy_grid, nongrid
from .. import reference as ref
from .rows import CheckResult, Rows, rel


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


def legacy_train_patches(prep: common.Prepared):
    """The legacy training set's normalised object patches, one (N, N) array at a time, cut
    with plain loops (a generator: the paper profile has 53,792 of them)."""
    cfg = prep.config
    N, gs, off, stride = cfg["N"], cfg["gridsize"], cfg["offset"], cfg["outer_offset_train"] // 2
    images = prep.train_images / np.float32(ref.norm_Y_I(prep.train_images, N, gs, off, stride))
    big = N + (gs - 1) * off
    for img in images:
        for r0 in range(0, img.shape[0] - big + 1, stride):
            for c0 in range(0, img.shape[1] - big + 1, stride):
                for i in range(gs):
                    for j in range(gs):
                        yield img[r0 + i * off : r0 + i * off + N, c0 + j * off : c0 + j * off + N]


def poisson_statistics(lam: np.ndarray, counts: np.ndarray) -> dict:
    """Two statistics of counts ``k`` against their rates ``λ``, each with its standard deviation
    under Poisson statistics, written out from the moments of a Poisson variable
    (``E(k − λ)² = λ``, ``E(k − λ)⁴ = λ + 3λ²``):

    * ``mean_ratio`` = Σk / Σλ → 1, with σ = 1/√Σλ;
    * ``dispersion`` = Σ(k − λ)² / Σλ → 1, with σ = √Σ(λ + 2λ²) / Σλ.

    The second σ is set by the brightest pixels: the central (DC) pixel of a far field holds a
    few % of a pattern's counts, so far fewer pixels count than the pattern has.
    """
    lam, k = np.asarray(lam, np.float64), np.asarray(counts, np.float64)
    total = lam.sum()
    return {"mean_ratio": float(k.sum() / total), "mean_ratio_sigma": float(1.0 / np.sqrt(total)),
            "dispersion": float(((k - lam) ** 2).sum() / total),
            "dispersion_sigma": float(np.sqrt((lam + 2.0 * lam**2).sum()) / total), "total_rate": float(total)}


LOW_DOSE = 1e5


def dose_statistics(prep: common.Prepared, nphotons: float, n: int = 16) -> dict:
    """The scale and the mean noiseless counts per pattern of ``n`` test groups simulated at
    ``nphotons``: ``s`` against :func:`.reference.dataset_scale` of the same patches, and the
    counts ``Σ (X·s)²`` per pattern, which the scale's definition makes ``nphotons`` on average."""
    patches = prep.test.Y_I[:n].transpose(0, 3, 1, 2)
    clean, _, s = illumination.illuminate_and_diffract(patches, prep.probe, nphotons, seed=3, noise=False)
    want = ref.dataset_scale(patches.reshape(-1, *patches.shape[2:]), prep.probe, nphotons)
    counts = np.sum((clean.astype(np.float64) * s) ** 2, axis=(1, 2)).mean()
    return {"s": s, "s_formula": want, "s_rel": rel(s, want), "counts_per_pattern": float(counts)}


def poisson_dispersion(prep: common.Prepared, nphotons: float = 1e4, n: int = 64) -> dict:
    """Noisy against noiseless counts of ``n`` test patterns at a low dose
    (:func:`poisson_statistics`)."""
    patches = prep.test.Y_I[:n].transpose(0, 3, 1, 2)
    clean, _, s = illumination.illuminate_and_diffract(patches, prep.probe, nphotons, seed=11, noise=False)
    noisy, _, _ = illumination.illuminate_and_diffract(patches, prep.probe, nphotons, seed=11,
                                                       intensity_scale=s, noise=True)
    return poisson_statistics((clean.astype(np.float64) * s) ** 2, (noisy.astype(np.float64) * s) ** 2)


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
    r = Rows()
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
                 err, "data", "extraction_rel_to_max" if prep.pipeline == "modern" else "extraction_integer_rel_to_max")
    # the simulation's scale is the dataset formula over its own object patches
    for prep, patches in ((legacy, legacy_train_patches(legacy)), (modern, modern.simulated_patches)):
        want = ref.dataset_scale(patches, prep.probe, prep.nphotons)
        got = prep.train.scale_factors["s_sim"]
        details[f"{prep.pipeline}_s_sim"] = {"got": got, "formula": want}
        r.within(f"{prep.pipeline}: s_sim vs sqrt(nphotons / mean sum |P·O|^2) (relative)", rel(got, want),
                 "data", "s_sim_rel")
    # the dose enters: at 1e5 photons the scale follows its formula and the noiseless patterns
    # hold 1e5 counts on average (the pipelines only ever run 1e9 here)
    for prep in (legacy, modern):
        low = dose_statistics(prep, LOW_DOSE)
        details[f"{prep.pipeline}_dose_{LOW_DOSE:g}"] = low
        r.within(f"{prep.pipeline}: s at {LOW_DOSE:g} photons vs sqrt(nphotons / mean sum |P·O|^2) (relative)",
                 low["s_rel"], "data", "s_sim_rel")
        r.within(f"{prep.pipeline}: mean noiseless counts per pattern at {LOW_DOSE:g} photons / nphotons - 1",
                 abs(low["counts_per_pattern"] / LOW_DOSE - 1), "normalization", "energy_rel")
    # shot noise is Poisson: both statistics within z_max of their standard deviations
    for prep in (legacy, modern):
        stats = poisson_dispersion(prep)
        details[f"{prep.pipeline}_poisson"] = stats
        for name, what in (("mean_ratio", "sum k / sum lambda"), ("dispersion", "sum (k - lambda)^2 / sum lambda")):
            r.within(f"{prep.pipeline}: |{what} - 1| / sigma at 1e4 photons",
                     abs(stats[name] - 1) / stats[f"{name}_sigma"], "data", "poisson_z")
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
    patches = patches.reshape(n, C, N, N).transpose(0, 2, 3, 1) * ref.center_mask(N)[None, :, :, None]
    truth = tf.complex(patches, 0.0 * patches)
    canvas = phys.reassemble_patches(truth, rel_, prep.spec.padded_size)
    back = phys.extract_patches(canvas, rel_, N)
    illuminate = prep.model.illumination
    expected = phys.far_field_amplitude(illuminate(truth)).numpy()
    got = phys.far_field_amplitude(illuminate(back)).numpy()
    return float(np.abs(got - expected).max() / expected.max())
