"""The normalisation stages against their formulas, and the stage tables of both pipelines."""

from __future__ import annotations

import math

import numpy as np

from ...pipelines import common
from ...stages import primary_deviation_source, stage_ratios
from .. import reference as ref
from .rows import CheckResult, Rows, rel


def mean_pattern_energy(X: np.ndarray, chunk: int = 1024) -> float:
    """Mean over patterns of ``Σ_xy X²`` for (B, N, N) or (B, N, N, C), in float64 chunks."""
    total, count = 0.0, 0
    for i in range(0, X.shape[0], chunk):
        e = np.sum(np.square(X[i : i + chunk], dtype=np.float64), axis=(1, 2))
        total += float(e.sum())
        count += e.size
    return total / count


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

    Reference: ``s_c`` against the value the investigation recorded (988.21 at 1e9 photons,
    N = 64); legacy ``norm_Y_I`` = mean over groups of the group maximum
    (:func:`.reference.norm_Y_I`) and no diffraction normalisation (the test patterns keep the
    Parseval energy ``Σ|P·O/norm_Y_I|²``, within Poisson noise); modern
    ``g = sqrt((N/2)²/mean Σ X²)`` (:func:`.reference.normalize_gain`) and energy ``(N/2)²``
    after it; the stage tables of the other pipeline.
    """
    r = Rows()
    N = legacy.spec.N
    for prep in (legacy, modern):
        if (prep.nphotons, N) == (1e9, 64):  # the value the investigation recorded (facts §3, §11)
            r.within(f"{prep.pipeline}: s_c vs the recorded {ref.RECORDED_S_C:g} (relative)",
                     rel(prep.s_c, ref.RECORDED_S_C), "normalization", "recorded_s_c_rel")
        else:
            r.fail(f"{prep.pipeline}: no recorded s_c at {prep.nphotons:g} photons, N={N}")
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
    return r.result("normalization", "recorded s_c; formulas: norm_Y_I, Parseval energy, g, (N/2)^2; the other "
                    "pipeline's stage table", details)


