"""Stage recording: one vocabulary of named stages for both pipelines.

Each pipeline feeds a :class:`StageRecorder` with the arrays it produces; the recorder
keeps per stage the mean, sum, max, shape, dtype and the scale factors in force, and
serialises to JSON. Stage ratios are ``mean(stage k) / mean(stage k−1)`` along
:data:`STAGES`; the chain product multiplies them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

#: Canonical stage names, in chain order (DESIGN.md).
STAGES = (
    "object",
    "object_normalized",
    "raw_diffraction",
    "grouped_diffraction",
    "normalized_diffraction",
    "model_input",
    "training_labels",
    "predicted_amplitude",
    "object_patch",
    "stitched_object",
    "truth_window",
)

#: What each stage holds in each front end (for reports).
STAGE_MEANING = {
    "object": ("ground-truth amplitude (raw units)", "same"),
    "object_normalized": ("object ÷ norm_Y_I", "identity"),
    "raw_diffraction": ("X after the simulation's /s", "diff3d"),
    "grouped_diffraction": ("grid groups", "KNN groups"),
    "normalized_diffraction": ("identity", "g·X, g = sqrt((N/2)² / mean ΣX²)"),
    "model_input": ("s_c·X", "s_c·X"),
    "training_labels": ("s_c·X (amplitude)", "same"),
    "predicted_amplitude": ("model output 2", "same"),
    "object_patch": ("trimmed_obj amplitude", "same"),
    "stitched_object": ("stitched amplitude on covered pixels", "same"),
    "truth_window": ("truth on the same pixels", "same"),
}


@dataclass
class StageRecord:
    """Summary statistics of one stage's array."""

    name: str
    mean: float
    sum: float
    max: float
    shape: tuple
    dtype: str
    scale_factors: dict = field(default_factory=dict)


def summarize(name: str, array, **scale_factors) -> StageRecord:
    """Statistics of ``|array|`` (amplitudes; complex arrays give their modulus)."""
    a = np.asarray(array)
    mag = np.abs(a) if np.iscomplexobj(a) else a
    return StageRecord(
        name=name,
        mean=float(np.mean(mag, dtype=np.float64)),
        sum=float(np.sum(mag, dtype=np.float64)),
        max=float(np.max(mag)),
        shape=tuple(int(n) for n in a.shape),
        dtype=str(a.dtype),
        scale_factors={k: float(v) for k, v in scale_factors.items()},
    )


class StageRecorder:
    """Collects :class:`StageRecord` rows under the canonical names."""

    def __init__(self) -> None:
        self.records: dict[str, StageRecord] = {}

    def record(self, name: str, array, **scale_factors) -> None:
        if name not in STAGES:
            raise KeyError(f"unknown stage {name!r}; stages are {STAGES}")
        self.records[name] = summarize(name, array, **scale_factors)

    def same_as(self, name: str, earlier: str, **scale_factors) -> None:
        """Stage ``name`` is the array of stage ``earlier``, untouched (a front end without that
        step: legacy simulates grid groups directly and normalises nothing). Its row repeats the
        statistics and says ``same_as``, so its ratio of 1 reads as "no such step", never as a
        measured gain."""
        if name not in STAGES:
            raise KeyError(f"unknown stage {name!r}; stages are {STAGES}")
        row = self.records[earlier]
        self.records[name] = StageRecord(name, row.mean, row.sum, row.max, row.shape, row.dtype,
                                         {**{k: float(v) for k, v in scale_factors.items()}, "same_as": earlier})

    def table(self) -> list[dict]:
        """Rows in chain order, as plain dicts (JSON-ready)."""
        rows = []
        for name in STAGES:
            if name in self.records:
                row = asdict(self.records[name])
                row["shape"] = list(row["shape"])
                rows.append(row)
        return rows

    def to_json(self) -> dict:
        return {"stages": self.table(), "ratios": stage_ratios(self.table())}


def stage_ratios(table: list[dict]) -> dict:
    """``{stage: mean(stage)/mean(previous stage)}`` along the chain, plus the product."""
    ratios: dict[str, float] = {}
    previous = None
    for row in table:
        if previous is not None:
            ratios[row["name"]] = (
                row["mean"] / previous["mean"] if previous["mean"] != 0 else math.inf
            )
        previous = row
    product = math.prod(ratios.values()) if ratios else math.nan
    return {"ratios": ratios, "chain_product": product}


def primary_deviation_source(legacy_table: list[dict], modern_table: list[dict]):
    """The stage whose ratio differs most between the pipelines, by ``|ln(r_legacy/r_modern)|``.

    Returns
    -------
    (stage, deviations) : (str or None, dict[str, float])
    """
    legacy = stage_ratios(legacy_table)["ratios"]
    modern = stage_ratios(modern_table)["ratios"]
    deviations = {}
    for name in STAGES:
        if name in legacy and name in modern and legacy[name] > 0 and modern[name] > 0:
            deviations[name] = abs(math.log(legacy[name] / modern[name]))
    if not deviations:
        return None, deviations
    return max(deviations, key=deviations.get), deviations
