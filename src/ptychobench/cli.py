"""``ptychobench``: the command line behind the nox sessions.

    ptychobench run --pipeline modern [--scenario gs2_ideal] [--probe-file P.npz] [--profile smoke] [--seed 0] [--out run.json]
    ptychobench parity [--profile smoke] [--seed 0] [--seeds K] [--reports reports] [--static-only] [--doses]
                       [--output-legacy-defaults PATH]
    ptychobench explain REPORT_DIR | --pipeline modern [--profile smoke] [--seed 0]
    ptychobench intervene [--profile smoke] [--seeds 0-2] [--interventions KEY,...] [--pipelines NAME,...]
    ptychobench intervene --rejudge RECORD.json [--prose [DOC.md]]
    ptychobench simulate --out data.npz [--profile smoke] [--seed 0]
    ptychobench upstream [--checkout PATH | --repo PATH_OR_BUNDLE --commit REV] [--flow dose|modern]
                         [--profile tiny] [--draws K] [--compare] [--out DIR]
    ptychobench env

Errors of ours (bad configuration, bad data, a diverged training) end with one line on
stderr and exit status 2; a parity failure exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .errors import DataError, PtychoBenchError  # noqa: E402


def _profile_fits(profile) -> None:
    """Refuse a profile whose estimated peak memory exceeds the available memory."""
    import psutil

    available = psutil.virtual_memory().available
    need = profile.estimated_peak_bytes()
    if need > available:
        from .errors import ConfigError

        raise ConfigError(
            "profile",
            f"{profile.name!r} needs about {need / 2**30:.1f} GiB, only {available / 2**30:.1f} GiB available",
        )


def _prediction_hook(args, made: dict):
    """``on_prepared``: predict the intervention's effect from ``--baseline`` before training,
    and write the prediction (with its time) next to ``--out`` at once."""
    from .atomic import atomic_write_text
    from .errors import ConfigError
    from .interventions import predict, strict_json

    base = Path(args.baseline)
    arrays_path = base.with_suffix(".npz")
    if not base.exists() or not arrays_path.exists():
        raise DataError(str(base), "the baseline run JSON and its .npz arrays must exist (train the baseline first)")
    try:
        run = json.loads(base.read_text())
    except json.JSONDecodeError as err:
        raise DataError(str(base), f"not valid JSON ({err})") from None
    if run.get("failure"):
        raise ConfigError("baseline", f"{base} is a failed run ({run['failure']}); nothing to predict from")
    import numpy as np

    with np.load(arrays_path) as npz:
        arrays = {k: npz[k] for k in ("truth", "covered")}

    def hook(prep):
        made.update(strict_json(predict.predict(run, arrays, *predict.prepared_gauge(prep))), baseline=str(base))
        if args.out:
            atomic_write_text(Path(args.out).with_suffix(".prediction.json"), json.dumps(made, indent=2) + "\n")
    return hook


def cmd_run(args) -> int:
    from .pipelines import legacy, modern
    from .pipelines.variants import Variant

    profile = _profile(args)
    _profile_fits(profile)
    variant = Variant()
    if args.intervention:
        from .interventions import catalog

        intervention = catalog.get(args.intervention)
        if intervention.variant is None:
            from .errors import ConfigError

            raise ConfigError("intervention", f"{args.intervention!r} changes the scoring only; nothing to train")
        variant = intervention.variant(profile)
    prediction = {}
    hook = _prediction_hook(args, prediction) if args.baseline else None
    if args.pipeline == "modern":
        result = modern.run(profile, seed=args.seed, nphotons=args.nphotons, progress=not args.quiet,
                            data_file=args.data_file, scenario=args.scenario, probe_file=args.probe_file,
                            variant=variant, on_prepared=hook)
    else:
        if args.data_file:
            from .errors import ConfigError

            raise ConfigError("data_file", "the legacy pipeline simulates its own grid data")
        result = legacy.run(profile, seed=args.seed, nphotons=args.nphotons, progress=not args.quiet,
                            variant=variant, on_prepared=hook)
    out = result.to_json()
    if args.intervention:
        out["intervention"] = args.intervention
    if prediction:
        out["prediction"] = prediction
    text = json.dumps(out, indent=2) + "\n"
    if args.arrays:
        import numpy as np

        from .atomic import atomic_path

        with atomic_path(Path(args.arrays)) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **result.arrays)
    if args.out:
        from .atomic import atomic_write_text

        atomic_write_text(Path(args.out), text)
        print(args.out)
    else:
        sys.stdout.write(text)
    return 0 if result.failure is None else 1


def _same_terminal(a, b) -> bool:
    """Whether streams ``a`` and ``b`` are the same terminal (stdout and stderr in a shell)."""
    try:
        if not (a.isatty() and b.isatty()):
            return False
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (sa.st_dev, sa.st_ino, sa.st_rdev) == (sb.st_dev, sb.st_ino, sb.st_rdev)


def verdict_lines(checks, shown_live: bool) -> list[str]:
    """The closing verdicts on stdout: every check's summary, or, when each check already had
    its line on the same terminal as it completed (``shown_live``), a tally and the failures."""
    if not shown_live:
        return [check.summary() for check in checks]
    failed = [check.summary() for check in checks if not check.passed]
    return [f"{len(checks)} checks: {len(checks) - len(failed)} passed, {len(failed)} failed", *failed]


def cmd_parity(args) -> int:
    from .atomic import atomic_write_text
    from .parity import report, runner
    from .progress import as_progress

    profile = _profile(args)
    _profile_fits(profile)
    progress = as_progress(not args.quiet)
    outcome = runner.run_parity(profile, seed=args.seed, train=not args.static_only, doses=args.doses,
                                progress=progress, seeds=args.seeds, probe_file=args.probe_file)
    for line in outcome.skipped:
        print(line)
    for line in verdict_lines(outcome.checks, shown_live=progress.enabled and _same_terminal(sys.stdout, progress.stream)):
        print(line)
    if args.output_legacy_defaults:
        loss = outcome.check("loss_config")
        atomic_write_text(Path(args.output_legacy_defaults),
                          report.to_json(loss.details["legacy_params_cfg_defaults"]))
    with progress.child("parity").stage("write report"):
        folder = report.write_report(outcome, args.reports)
    print(f"parity {'PASSED' if outcome.passed else 'FAILED'}; report:")
    print(folder)
    return 0 if outcome.passed else 1


def cmd_explain(args) -> int:
    from .parity.explain import explain, explain_text

    if args.report:
        path = Path(args.report) / "explain.json"
        if not path.exists():
            raise DataError(str(path), "no explain.json in this report folder (did training run?)")
        try:
            explanations = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise DataError(str(path), f"not valid JSON ({err})") from None
        for e in explanations.values():
            print(explain_text(e))
        return 0
    from .pipelines import legacy, modern

    profile = _profile(args)
    _profile_fits(profile)
    module = legacy if args.pipeline == "legacy" else modern
    result = module.run(profile, seed=args.seed, progress=not args.quiet)
    if result.failure:
        print(f"{args.pipeline}: training failed: {result.failure}", file=sys.stderr)
        return 1
    print(explain_text(explain(result)))
    return 0


def cmd_simulate(args) -> int:
    """Write the modern pipeline's simulated raw data (all positions) as an NPZ file."""
    from .physics import objects, probe as probe_mod
    from .pipelines import modern
    from .simulation import datafile, nongrid

    profile = _profile(args)
    nphotons = profile.nphotons if args.nphotons is None else args.nphotons
    obj = objects.make_lines_objects(profile.modern_size, 1, modern.OBJECT_SEED)[0]
    probe = probe_mod.normalize_probe(probe_mod.default_probe(profile.N), modern.SCENARIOS[modern.PARITY_SCENARIO]["probe_scale"])
    coords = nongrid.random_positions(profile.positions(profile.gridsize), profile.modern_size, modern.BUFFER,
                                      modern.POSITION_SEED)
    sim = nongrid.simulate_nongrid(obj, probe, coords, nphotons=nphotons, seed=args.seed)
    datafile.save_raw_npz(args.out, coords, sim.diffraction, probe, obj)
    print(args.out)
    return 0


def _seed_list(text: str) -> list[int]:
    """``"0-2"`` or ``"0,1,2"`` -> the seeds."""
    out = []
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            out += list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        out = []
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be integers >= 0 like 0-2 or 0,1,2, got {text!r}")
    return out


def cmd_reproduce(args) -> int:
    from .progress import Progress
    from .reproduce import reproduce, write_report

    progress = Progress(label="reproduce", enabled=not args.quiet)
    record = reproduce(Path(args.out), args.seeds, args.runs.split(",") if args.runs else None, progress)
    path = write_report(record, Path(args.out))
    for row in record["rows"]:
        progress.line(f"{row['verdict']:>15}: {row['what']}")
    print(path)
    return 0


def cmd_intervene(args) -> int:
    from .interventions import intervene, write_report
    from .progress import Progress

    progress = Progress(label="intervene", enabled=not args.quiet)
    if args.rejudge:
        return _rejudge(Path(args.rejudge), progress, args.prose)
    profile = args.profile or os.environ.get("PTYCHOBENCH_PROFILE", "smoke")
    folder = Path(args.out or Path(os.environ.get("PTYCHOBENCH_REPORTS", "reports")) / "interventions" / profile)
    record = intervene(folder, profile, args.seeds, args.interventions.split(",") if args.interventions else None,
                       args.pipelines.split(",") if args.pipelines else None, progress)
    path = write_report(record, folder)
    for name, h in record["hypotheses"].items():
        progress.line(f"{h['verdict']:>13}: {name}: {h['why']}")
    print(path)
    return 0


def _rejudge(path: Path, progress, prose_doc: str | None) -> int:
    """``intervene --rejudge RECORD.json [--prose DOC.md]``: the record judged again from its
    stored per-seed measurements under the current rules; RECORD.json/.md/.png rewritten (and the
    block of DOC.md generated from RECORD.json), the changes printed."""
    from .interventions import rejudge, update_prose, write_report

    if not path.exists():
        raise DataError(str(path), "no such intervention record")
    record, changes = rejudge(json.loads(path.read_text()))
    write_report(record, path.parent, path.stem)
    if prose_doc:
        doc = Path(prose_doc)
        doc.write_text(update_prose(doc.read_text(), path.as_posix(), record))
    for c in changes:
        progress.line(f"{c['level']:>10}: {c['name']}: {c['old']} -> {c['new']}")
    for name, h in record["hypotheses"].items():
        progress.line(f"{h['verdict']:>13}: {name}: {h['why']}")
    print(path.with_suffix(".md"))
    return 0


def cmd_env(args) -> int:
    from .pipelines import provenance

    print(json.dumps(provenance.collect(seed=args.seed, profile=args.profile, deterministic=True), indent=2))
    return 0


def _profile(args):
    """The profile named by ``--profile``, with the trainable-scale variant when asked for."""
    import dataclasses

    from .pipelines.profiles import get_profile

    profile = get_profile(args.profile)
    if getattr(args, "trainable_scale", False):
        profile = dataclasses.replace(profile, scale_variant="trainable")
    return profile


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ptychobench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--profile", default=None, help="smoke (default, or $PTYCHOBENCH_PROFILE), standard, paper, investigation, "
                       "investigation_232")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--quiet", action="store_true",
                       help="no progress on stderr (stage lines, bars, check verdicts)")
        p.add_argument("--trainable-scale", action="store_true",
                       help="named variant: train exp(log_scale) (the original runs kept it constant)")

    p = sub.add_parser("run", help="run one pipeline end to end and print its result JSON")
    common(p)
    p.add_argument("--pipeline", choices=("legacy", "modern"), required=True)
    p.add_argument("--nphotons", type=float, default=None)
    p.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    p.add_argument("--arrays", default=None, metavar="PATH.npz",
                   help="also write the run's arrays (the scored windows, the object patches) here")
    p.add_argument("--data-file", default=None, help="modern only: a raw-data NPZ instead of simulating")
    p.add_argument("--scenario", default="gs2_ideal", choices=("gs1_ideal", "gs2_ideal", "gs1_custom", "gs2_custom"),
                   help="modern only: the sim-lines scenario (custom ones need --probe-file)")
    p.add_argument("--probe-file", default=None, help="an NPZ with a measured 'probeGuess' (custom scenarios)")
    p.add_argument("--intervention", default=None, metavar="KEY",
                   help="run with one intervention of `ptychobench intervene` (e.g. head_relu, legacy_gauge)")
    p.add_argument("--baseline", default=None, metavar="RUN.json",
                   help="with --intervention: predict its effect from this baseline run (and RUN.npz) before "
                   "training; the prediction goes into the output JSON and OUT.prediction.json")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("simulate", help="write the modern pipeline's simulated raw data as an NPZ")
    common(p)
    p.add_argument("--nphotons", type=float, default=None)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("parity", help="run the parity suite and write a report folder")
    common(p)
    p.add_argument("--reports", default="reports", help="folder that receives the report (default: reports)")
    p.add_argument("--static-only", action="store_true", help="skip training (config, data, stages, architecture)")
    p.add_argument("--doses", action="store_true", help="also run the profile's dose ladder")
    p.add_argument("--probe-file", default=None, metavar="PATH.npz",
                   help="a measured 'probeGuess' (64x64): also runs the gs1_custom and gs2_custom scenarios")
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="train K seeds (seed, seed+1, ...): medians, spreads and collapse rates in the report")
    p.add_argument("--output-legacy-defaults", default=None, metavar="PATH",
                   help="also write the captured legacy params.cfg defaults JSON here")
    p.set_defaults(func=cmd_parity)

    p = sub.add_parser("explain", help="decompose a pipeline's amplitude ratio into known stage gains")
    common(p)
    p.add_argument("report", nargs="?", default=None, help="a parity report folder (else: run --pipeline)")
    p.add_argument("--pipeline", choices=("legacy", "modern"), default="modern")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("reproduce", help="the investigation's configuration over seeds: every trained number it "
                       "recorded beside ours (tens of minutes per seed on 2 cores)")
    p.add_argument("--seeds", type=_seed_list, default=_seed_list("0-2"), metavar="0-2",
                   help="seeds to train (default 0-2)")
    p.add_argument("--runs", default=None, metavar="KEY,...",
                   help="which runs (default all: legacy, legacy_trainable, legacy_232, modern, modern_gs1_ideal)")
    p.add_argument("--out", default="reports/reproduce", help="folder for the runs and the report (resumes there)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("intervene", help="one intervention per hypothesis: its effect predicted, then measured "
                       "over seeds against the baseline (minutes per run on 2 cores)")
    p.add_argument("--profile", default=None, help="tiny, smoke (default, or $PTYCHOBENCH_PROFILE), investigation")
    p.add_argument("--seeds", type=_seed_list, default=_seed_list("0-2"), metavar="0-2",
                   help="seeds to train (default 0-2)")
    p.add_argument("--interventions", default=None, metavar="KEY,...", help="which (default all; see "
                   "src/ptychobench/interventions/catalog.py)")
    p.add_argument("--pipelines", default=None, metavar="NAME,...",
                   help="only these of gs2_ideal, gs1_ideal, legacy (default: each intervention's own)")
    p.add_argument("--out", default=None, help="folder for the runs and the report (default "
                   "$PTYCHOBENCH_REPORTS/interventions/PROFILE, reports/ without it; resumes there)")
    p.add_argument("--rejudge", default=None, metavar="RECORD.json",
                   help="judge a written record again under the current rules from its stored per-seed measurements "
                   "(nothing trains); rewrites RECORD.json/.md/.png")
    p.add_argument("--prose", nargs="?", const="docs/interventions.md", default=None, metavar="DOC.md",
                   help="with --rejudge: also rewrite DOC.md's block generated from RECORD.json (default "
                   "docs/interventions.md)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_intervene)

    from .upstream import command as upstream_command
    upstream_command.add_parser(sub)

    p = sub.add_parser("env", help="print the provenance record of this machine")
    common(p)
    p.set_defaults(func=cmd_env)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PtychoBenchError as err:
        print(f"ptychobench: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
