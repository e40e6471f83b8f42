"""The parity checks, legacy vs modern, stage by stage.

Every check returns a :class:`CheckResult` (pass/fail, the numbers, the problems found,
and the artifact files it writes into a report). The static checks need only the two
*prepared* pipelines (configuration, data, untrained models); the amplitude check needs
the two trained runs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..config import TrainingConfig, flatten_config, params
from ..config.modern import KEY_MAPPINGS
from ..model import physics_layers as phys
from ..model.network import count_params
from ..physics import forward
from ..physics import objects as objects_mod
from ..physics import probe as probe_mod
from ..pipelines import common
from ..simulation import grouping, illumination, legacy_grid, nongrid
from ..stages import STAGE_MEANING, primary_deviation_source, stage_ratios
from . import tables

FIXTURES_ENV = "PTYCHOBENCH_FIXTURES"
LOSS_KEYS = ("mae_weight", "nll_weight", "realspace_weight", "realspace_mae_weight")


@dataclass
class CheckResult:
    name: str
    passed: bool
    problems: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)  # file name -> str content

    def summary(self) -> str:
        state = "PASS" if self.passed else "FAIL"
        extra = f": {self.problems[0]}" if self.problems else ""
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"[{state}] {self.name}{extra}{more}"


def _result(name, problems, details, artifacts=None) -> CheckResult:
    return CheckResult(name, not problems, problems, details, artifacts or {})


def _json(obj) -> str:
    return json.dumps(obj, indent=2, default=str) + "\n"


def _md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- loss configuration (Phase D1) ----------------------------------------------------


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
    """Framework defaults vs dataclass defaults, dose-recipe snapshots, effective weights."""
    defaults = params.capture_defaults()
    dataclass_defaults = flatten_config(TrainingConfig())
    rows, problems = [], []
    for key in LOSS_KEYS:
        a, b = defaults[key], dataclass_defaults[key]
        rows.append({"key": key, "params_cfg": a, "TrainingConfig": b, "match": a == b})
        if a != b:
            problems.append(f"{key}: framework default {a} != TrainingConfig default {b}")
    dose = {fn: dose_loss_snapshot(legacy.nphotons, fn) for fn in ("nll", "mae")}
    if dose["nll"] != {k: defaults[k] for k in LOSS_KEYS}:
        problems.append(f"dose recipe loss_fn='nll' changed the weights: {dose['nll']}")
    if (dose["mae"]["mae_weight"], dose["mae"]["nll_weight"]) != (1.0, 0.0):
        problems.append(f"dose recipe loss_fn='mae' should give mae 1 / nll 0, got {dose['mae']}")
    effective = {
        "legacy": {k: getattr(legacy.weights, k) for k in LOSS_KEYS},
        "modern": {k: getattr(modern.weights, k) for k in LOSS_KEYS},
    }
    for key in LOSS_KEYS:
        if effective["legacy"][key] != effective["modern"][key]:
            problems.append(
                f"{key}: effective weight legacy {effective['legacy'][key]} != modern {effective['modern'][key]}"
            )
        for name, prep in (("legacy", legacy), ("modern", modern)):
            if effective[name][key] != prep.config[key]:
                problems.append(f"{key}: {name} trains with {effective[name][key]}, cfg says {prep.config[key]}")
    diff = {"legacy_params_cfg_defaults": rows, "dose_loss_weights": dose, "effective": effective}
    md = ["# Loss configuration parity\n", "## Legacy params.cfg framework defaults vs TrainingConfig\n",
          _md_table(["key", "params.cfg", "TrainingConfig", "match"],
                    [[r["key"], r["params_cfg"], r["TrainingConfig"], "yes" if r["match"] else "NO"] for r in rows]),
          "\n## Dose recipe runtime snapshots\n",
          _md_table(["loss_fn", *LOSS_KEYS], [[fn, *[dose[fn][k] for k in LOSS_KEYS]] for fn in dose]),
          "\n## Weights each pipeline trains with\n",
          _md_table(["pipeline", *LOSS_KEYS], [[p, *[effective[p][k] for k in LOSS_KEYS]] for p in effective]),
          "\n" + ("All loss weights agree.\n" if not problems else "\n".join(f"- {p}" for p in problems) + "\n")]
    artifacts = {
        "legacy_params_cfg_defaults.json": _json({k: defaults[k] for k in defaults} | {"_loss_weight_match": rows}),
        "loss_config_diff.md": "".join(md),
        "loss_config_diff.json": _json(diff),
        "dose_loss_weights.json": _json(dose),
    }
    return _result("loss_config", problems, diff, artifacts)


# --- full configuration -----------------------------------------------------------------

IGNORED_CONFIG_KEYS = ("probe", "profile_overrides", "loss_fn")


def check_config(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Every key of both default tables and of the bridged dict after each set-up."""
    legacy_defaults = params.capture_defaults()
    modern_defaults = {KEY_MAPPINGS.get(k, k): v for k, v in flatten_config(TrainingConfig()).items()}
    merged_defaults = {**legacy_defaults, **modern_defaults}
    # compare on the union: a key only the dataclass has is absent on the legacy side
    default_rows, problems = tables.compare_tables(
        legacy_defaults, {k: merged_defaults[k] for k in merged_defaults}, "defaults"
    )
    a = {k: v for k, v in legacy.config.items() if k not in IGNORED_CONFIG_KEYS}
    b = {k: v for k, v in modern.config.items() if k not in IGNORED_CONFIG_KEYS}
    profile = legacy.profile
    profile_values = {
        ("legacy", "nimgs_train"): profile.legacy_nimgs_train,
        ("legacy", "nimgs_test"): profile.legacy_nimgs_test,
        ("legacy", "size"): profile.legacy_size,
        ("modern", "n_groups"): profile.modern_train_groups,
    }
    runtime_rows, runtime_problems = tables.compare_tables(a, b, "runtime", profile_values)
    problems += runtime_problems
    # the bridge must have written every non-None dataclass field (CONFIG-001)
    for name, value in flatten_config(_modern_training_config(modern)).items():
        key = KEY_MAPPINGS.get(name, name)
        if value is not None and modern.config.get(key, tables.ABSENT) != (str(value) if isinstance(value, Path) else value):
            problems.append(f"{key}: bridge not applied (cfg has {modern.config.get(key, tables.ABSENT)!r}, config {value!r})")
    md = ["# Configuration parity\n", "## Framework defaults (legacy DEFAULT_CFG vs dataclasses)\n",
          _md_table(["key", "legacy", "modern", "documented", "why"],
                    [[r["key"], r["legacy"], r["modern"], r["documented"], r["why"]] for r in default_rows]),
          "\n## Bridged legacy dict after set-up (dose recipe vs sim-lines + update_legacy_dict)\n",
          _md_table(["key", "legacy", "modern", "documented", "why"],
                    [[r["key"], r["legacy"], r["modern"], r["documented"], r["why"]] for r in runtime_rows])]
    details = {"defaults": default_rows, "runtime": runtime_rows}
    return _result("config", problems, details, {"config_diff.md": "".join(md), "config_diff.json": _json(details)})


def _modern_training_config(modern: common.Prepared) -> TrainingConfig:
    from ..config import ModelConfig

    mc = dict(modern.modern_config)
    mc.pop("scenario", None)
    model = ModelConfig(**mc.pop("model"))
    return TrainingConfig(model=model, **mc)


# --- data --------------------------------------------------------------------------------


def fixtures_dir() -> Path | None:
    """The original implementation's arrays: ``$PTYCHOBENCH_FIXTURES`` or ``tests/fixtures/original``."""
    import os

    from ..pipelines.provenance import repo_root

    env = os.environ.get(FIXTURES_ENV)
    candidates = [Path(env)] if env else [repo_root() / "tests" / "fixtures" / "original"]
    for c in candidates:
        if (c / "fixtures_info.json").exists():
            return c
    return None


def fixture_problems() -> tuple[list, dict]:
    """Object, probe and diffraction against the original implementation's arrays."""
    folder = fixtures_dir()
    if folder is None:
        return [f"fixtures not found (set ${FIXTURES_ENV})"], {}
    tol = tables.tolerances()["fixtures"]
    probe_raw = probe_mod.default_probe(64, 0.7)
    probe = probe_mod.normalize_probe(probe_raw, 10.0)
    obj = objects_mod.lines_object(392, np.random.RandomState(42))
    patch = np.load(folder / "lines_seed42_patch_r164_c164_N64.npy")
    diff, _, _ = illumination.illuminate_and_diffract(
        patch.astype(np.float32)[None, None], probe, 1e9, seed=0, noise=False
    )
    ref = np.load(folder / "diffamp_noiseless_lines42_patch164_probeNorm_N64.npy")
    errors = {
        "probe_raw_abs": float(np.abs(probe_raw - np.load(folder / "probe_default_raw_N64.npy")).max()),
        "probe_norm_abs": float(np.abs(probe - np.load(folder / "probe_default_norm_N64.npy")).max()),
        "object_abs": float(np.abs(obj - np.load(folder / "lines_seed42_size392.npy").reshape(obj.shape)).max()),
        "diffraction_rel_to_max": float(np.abs(diff[0, :, :, 0] - ref).max() / ref.max()),
    }
    problems = []
    for name, limit in (("probe_raw_abs", tol["probe_abs"]), ("probe_norm_abs", tol["probe_abs"]),
                        ("object_abs", tol["object_abs"]), ("diffraction_rel_to_max", tol["diffraction_rel_to_max"])):
        if not errors[name] <= limit:
            problems.append(f"fixture {name} = {errors[name]:.3g} > {limit}")
    return problems, errors


def check_data(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Same object, probe and positions give the same diffraction and coordinates in both."""
    tol = tables.tolerances()["data"]
    problems, details = fixture_problems()
    details = {"fixtures": details}
    # 1. simulators: the legacy grid patterns of a few groups, re-simulated by the modern
    #    non-grid simulator at the same (integer) positions, noiseless.
    cfg = legacy.config
    N, gs, offset = cfg["N"], cfg["gridsize"], cfg["offset"]
    objs = legacy.extras["test_objects"][:1]
    lay = legacy.extras["test_layout"]
    ids = np.arange(min(8, lay.ny * lay.nx))
    norm = legacy.test.scale_factors["norm_Y_I"]
    legacy_data, _ = legacy_grid.simulate_grid(objs, legacy.probe, N=N, gridsize=gs, offset=offset,
                                               outer_offset=cfg["outer_offset_test"], nphotons=cfg["nphotons"],
                                               seed=0, norm_Y_I=norm, noise=False)
    positions = legacy_data.coords_nn[ids, 0].transpose(0, 2, 1).reshape(-1, 2)  # (B*C, [x, y])
    sim = nongrid.simulate_nongrid(objs[0], legacy.probe, positions, nphotons=cfg["nphotons"], seed=0, noise=False)
    modern_X = sim.diffraction.reshape(len(ids), gs * gs, N, N).transpose(0, 2, 3, 1)
    legacy_X = legacy_data.X[ids] * np.float32(norm)
    agreement = float(np.abs(modern_X - legacy_X).max() / legacy_X.max())
    details["simulator_agreement_rel_to_max"] = agreement
    if not agreement <= tol["simulator_agreement_rel_to_max"]:
        problems.append(f"legacy and modern simulators disagree at the same positions: {agreement:.3g}")
    # 2. coordinates: modern grouping of those positions reproduces the legacy offsets
    coords_nn = positions.reshape(len(ids), gs * gs, 2).transpose(0, 2, 1)[:, None]
    _, modern_rel = grouping.relative_coords(coords_nn)
    coords_err = float(np.abs(modern_rel - legacy_data.coords_relative[ids]).max())
    details["coords_abs"] = coords_err
    if not coords_err <= tol["coords_abs"]:
        problems.append(f"coords_relative: modern grouping differs from the legacy grid by {coords_err:.3g} px")
    # 3. each pipeline's coordinates are physically consistent: placing the true patches on
    #    the canvas and extracting them again reproduces them inside the probe
    for prep in (legacy, modern):
        err = extraction_consistency(prep)
        details[f"{prep.pipeline}_extraction_rel_to_max"] = err
        if not err <= tol["extraction_rel_to_max"]:
            problems.append(f"{prep.pipeline}: extraction with coords_relative misses the patches ({err:.3g})")
    # 4. dose: mean counts per simulated pattern equal nphotons in both (s_sim is dataset-derived)
    for prep in (legacy, modern):
        s = prep.train.scale_factors["s_sim"]
        X = prep.extras["simulated_diffraction"]  # every simulated pattern, before grouping
        counts = mean_pattern_energy(X) * s * s
        rel = abs(counts / prep.nphotons - 1)
        details[f"{prep.pipeline}_counts_per_pattern"] = counts
        if not rel <= tol["counts_rel"]:
            problems.append(f"{prep.pipeline}: {counts:.4g} counts per pattern, nphotons {prep.nphotons:.4g}")
    return _result("data", problems, details, {"data_parity.json": _json(details)})


def extraction_consistency(prep: common.Prepared, n: int = 8) -> float:
    """Diffraction error (relative to its max) of true patches sent through the model's canvas.

    The true object patches of ``n`` test groups, cut at their scan positions and masked to the central N/2 as the model's head is, are placed on the canvas with
    ``−coords_relative`` and extracted with ``+coords_relative``; the far field of the
    illuminated result must equal the far field of the illuminated true patches.
    """
    N = prep.spec.N
    rel = prep.test.coords_relative[:n]
    centres = prep.test.coords_nn[:n, 0]  # (n, 2, C) true scan positions
    C = rel.shape[-1]
    image = (prep.extras["test_objects"][prep.test.image_index[0]] if prep.pipeline == "legacy"
             else prep.extras["object"])
    patches = nongrid.extract_patches(image, centres.transpose(0, 2, 1).reshape(-1, 2), N)
    patches = patches.reshape(n, C, N, N).transpose(0, 2, 3, 1) * phys.central_mask(N)[None, :, :, None]
    truth = tf.complex(patches, 0.0 * patches)
    canvas = phys.reassemble_patches(truth, rel, prep.spec.padded_size)
    back = phys.extract_patches(canvas, rel, N)
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


# --- normalisation stages --------------------------------------------------------------------


def check_normalization(legacy: common.Prepared, modern: common.Prepared,
                        legacy_stages=None, modern_stages=None) -> CheckResult:
    """Stage tables, stage ratios, chain products, and the invariants of each stage."""
    tol = tables.tolerances()["normalization"]
    problems = []
    N = legacy.spec.N
    expected_sc = math.sqrt(legacy.nphotons) / (N / 2)  # written out: the suite must not trust the code it checks
    for prep in (legacy, modern):
        if abs(prep.s_c / expected_sc - 1) > tol["scale_rel"]:
            problems.append(f"{prep.pipeline}: training scale s_c {prep.s_c:.6g} != sqrt(nphotons)/(N/2) {expected_sc:.6g}")
        s_sim = prep.train.scale_factors["s_sim"]
        if abs(s_sim / expected_sc - 1) < 1e-3:
            problems.append(f"{prep.pipeline}: simulation scale equals the closed form; it must be dataset-derived")
    # legacy: no diffraction normalisation, object divided by norm_Y_I
    if legacy.diffraction_gain != 1.0:
        problems.append(f"legacy: diffraction gain {legacy.diffraction_gain} (must be identity)")
    norm = legacy.test.scale_factors["norm_Y_I"]
    if abs(legacy.object_normalization * norm - 1) > tol["scale_rel"]:
        problems.append("legacy: object normalisation is not 1/norm_Y_I")
    # modern: g·X has mean per-pattern energy (N/2)², and g matches the grouped data
    for split in ("train", "test"):
        X = getattr(modern, split).X
        energy = mean_pattern_energy(X)
        if abs(energy / (N / 2) ** 2 - 1) > tol["energy_rel"]:
            problems.append(f"modern {split}: normalised energy {energy:.6g} != (N/2)^2 = {(N / 2) ** 2:g}")
    tables_ = {"legacy": legacy_stages or legacy.recorder.table(), "modern": modern_stages or modern.recorder.table()}
    ratios = {k: stage_ratios(v) for k, v in tables_.items()}
    for name, table in tables_.items():
        rows = {r["name"]: r for r in table}
        if "model_input" in rows and "normalized_diffraction" in rows:
            got = rows["model_input"]["mean"] / rows["normalized_diffraction"]["mean"]
            prep = legacy if name == "legacy" else modern
            if abs(got / prep.s_c - 1) > tol["energy_rel"]:
                problems.append(f"{name}: model_input / normalized_diffraction = {got:.6g}, s_c = {prep.s_c:.6g}")
    primary, deviations = primary_deviation_source(tables_["legacy"], tables_["modern"])
    details = {"stages": tables_, "ratios": ratios, "primary_deviation_source": primary, "deviations": deviations}
    md = ["# Stage ratios (legacy vs modern)\n",
          "ratio = mean(stage k) / mean(stage k-1); evaluated on each pipeline's test split.\n\n"]
    stage_names = [r["name"] for r in tables_["legacy"]]
    rows = []
    for s in stage_names:
        lr = ratios["legacy"]["ratios"].get(s)
        mr = ratios["modern"]["ratios"].get(s)
        lm = next((r["mean"] for r in tables_["legacy"] if r["name"] == s), None)
        mm = next((r["mean"] for r in tables_["modern"] if r["name"] == s), None)
        rows.append([s, STAGE_MEANING[s][0], _fmt(lm), _fmt(lr), STAGE_MEANING[s][1], _fmt(mm), _fmt(mr),
                     _fmt(deviations.get(s))])
    md.append(_md_table(["stage", "legacy", "mean", "ratio", "modern", "mean", "ratio", "|ln(r_L/r_M)|"], rows))
    md.append(f"\nChain product: legacy {_fmt(ratios['legacy']['chain_product'])}, "
              f"modern {_fmt(ratios['modern']['chain_product'])}.\n")
    md.append(f"\n**Primary deviation source: `{primary}`**\n")
    if problems:
        md.append("\n" + "\n".join(f"- {p}" for p in problems) + "\n")
    return _result("normalization", problems, details,
                   {"stage_ratios.json": _json(details), "stage_ratios.md": "".join(md)})


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    return f"{x:.4g}"


# --- architecture -----------------------------------------------------------------------------


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
    """Model far-field layer vs the physics forward model on the same random field."""
    rng = np.random.default_rng(0)
    N = prep.spec.N
    field_ = (rng.random((2, N, N, 2)) + 1j * rng.random((2, N, N, 2))).astype(np.complex64)
    model_amp = phys.far_field_amplitude(tf.constant(field_)).numpy()
    ref = forward.far_field_amplitude(np.moveaxis(field_, 3, 1))
    ref = np.moveaxis(ref, 1, 3)
    return float(np.abs(model_amp - ref).max() / ref.max())


def check_architecture(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    """Layer-by-layer shapes and parameter counts; the one documented difference is the amp head."""
    problems = []
    tl, tm = legacy.model.architecture_table(), modern.model.architecture_table()
    C = legacy.spec.channels
    doc = tables.known_differences()["architecture"]["amp_head_channels"]
    expected = {"legacy": doc["legacy"], "modern": C if doc["modern"] == tables.CHANNELS else doc["modern"]}
    rows = []
    by_name = {r["layer"]: r for r in tm}
    for r in tl:
        m = by_name.get(r["layer"])
        if m is None:
            problems.append(f"layer {r['layer']} exists only in legacy")
            continue
        same = r["output_shape"] == m["output_shape"] and r["params"] == m["params"]
        rows.append([r["layer"], r["output_shape"], r["params"], m["output_shape"], m["params"],
                     "same" if same else "DIFFERS"])
        if r["layer"] == "amp_head":
            continue
        if not same:
            problems.append(f"layer {r['layer']}: legacy {r['output_shape']}/{r['params']} vs "
                            f"modern {m['output_shape']}/{m['params']}")
    for r in tm:
        if r["layer"] not in {x["layer"] for x in tl}:
            problems.append(f"layer {r['layer']} exists only in modern")
    heads = {"legacy": legacy.spec.amp_out_channels, "modern": modern.spec.amp_out_channels}
    for side in heads:
        if heads[side] != expected[side]:
            problems.append(f"{side} amplitude head has {heads[side]} channels, documented {expected[side]}")
    counts = {}
    for prep in (legacy, modern):
        got = count_params(prep.model)
        want = expected_trainable_params(prep.spec, prep.spec.intensity_scale_trainable)
        counts[prep.pipeline] = {"trainable": got, "expected_from_shapes": want}
        if got != want:
            problems.append(f"{prep.pipeline}: {got} trainable parameters, layer shapes give {want}")
    fwd = {p.pipeline: forward_layer_error(p) for p in (legacy, modern)}
    for name, err in fwd.items():
        if not err <= tables.tolerance("architecture", "forward_rel_to_max"):
            problems.append(f"{name}: model far-field layer differs from the physics forward model ({err:.3g})")
    md = ["# Architecture parity\n\n",
          _md_table(["layer", "legacy shape", "legacy params", "modern shape", "modern params", ""], rows),
          f"\nTrainable parameters: legacy {counts['legacy']['trainable']:,}, modern {counts['modern']['trainable']:,} "
          f"(amplitude head: legacy {heads['legacy']} channel(s), modern {heads['modern']}; documented: {doc['why']}).\n"]
    if problems:
        md.append("\n" + "\n".join(f"- {p}" for p in problems) + "\n")
    details = {"legacy": tl, "modern": tm, "param_counts": counts, "amp_head_channels": heads,
               "forward_layer_rel_to_max": fwd}
    return _result("architecture", problems, details,
                   {"architecture_diff.md": "".join(md), "architecture.json": _json(details)})


# --- training parameters ---------------------------------------------------------------------------


def training_parameters(prep: common.Prepared) -> dict:
    s = common.train_settings(prep, progress=False)
    return {
        "optimizer": "Adam",
        "learning_rate": s.learning_rate,
        "reduce_lr_on_plateau": {"monitor": "val_loss", "factor": s.plateau_factor,
                                 "patience": s.plateau_patience, "min_lr": s.min_lr},
        "early_stopping": {"monitor": "loss", "patience": s.early_stop_patience},
        "validation_split": s.validation_split,
        "batch_size": s.batch_size,
        "epochs": s.epochs,
        "nll_form": s.nll_form,
        "intensity_scale_trainable": prep.spec.intensity_scale_trainable,
        "probe_trainable": prep.spec.probe_trainable,
        "initial_log_scale": "log s_sim" if prep.pipeline == "legacy" else "log s_c",
    }


def check_training_params(legacy: common.Prepared, modern: common.Prepared) -> CheckResult:
    a, b = training_parameters(legacy), training_parameters(modern)
    rows, problems = tables.compare_tables(a, b, "training")
    want_epochs = {"legacy": legacy.profile.legacy_epochs, "modern": modern.profile.modern_epochs}
    for prep, params_ in ((legacy, a), (modern, b)):
        if params_["epochs"] != want_epochs[prep.pipeline]:
            problems.append(f"{prep.pipeline}: trains {params_['epochs']} epochs, profile says {want_epochs[prep.pipeline]}")
    # initial log scale values must follow their documented source
    if abs(legacy.initial_log_scale - math.log(legacy.train.scale_factors["s_sim"])) > 1e-9:
        problems.append("legacy: model log_scale does not start at log s_sim")
    if abs(modern.initial_log_scale - math.log(modern.s_c)) > 1e-9:
        problems.append("modern: model log_scale does not start at log s_c")
    # epochs come from the profile (equal for both); any other difference must be documented
    rows = [r for r in rows if r["key"] != "epochs"]
    problems = [p for p in problems if not p.startswith("epochs:")]
    details = {"legacy": a, "modern": b, "differences": rows}
    return _result("training_params", problems, details, {"training_params.json": _json(details)})


# --- amplitude ------------------------------------------------------------------------------------


def check_amplitude(legacy_run, modern_run) -> CheckResult:
    """Amplitude ratio, gauge-corrected ratio and bias of both runs, within the tolerance table."""
    from .explain import explain

    tol = tables.tolerances()["amplitude"]
    problems, details = [], {}
    for run in (legacy_run, modern_run):
        if run.failure:
            problems.append(f"{run.pipeline}: training failed: {run.failure}")
            continue
        e = explain(run)
        details[run.pipeline] = {**{k: run.metrics[k] for k in (
            "coverage", "amplitude_ratio", "amplitude_ratio_ls", "expected_gauge",
            "gauge_corrected_ratio", "amplitude_bias", "head_saturation", "pearson")}, "explain": e}
        if abs(math.log(e["residual"])) > tol["residual_abs_log"]:
            problems.append(f"{run.pipeline}: unexplained amplitude factor {e['residual']:.3f} "
                            f"(|ln| > {tol['residual_abs_log']})")
    if not legacy_run.failure and legacy_run.metrics["amplitude_bias"] > tol["legacy_bias_abs_log"]:
        problems.append(f"legacy: amplitude_bias {legacy_run.metrics['amplitude_bias']:.3f} > {tol['legacy_bias_abs_log']}")
    return _result("amplitude", problems, details, {"amplitude.json": _json(details)})


STATIC_CHECKS = {
    "loss_config": check_loss_config,
    "config": check_config,
    "data": check_data,
    "normalization": check_normalization,
    "architecture": check_architecture,
    "training_params": check_training_params,
}
