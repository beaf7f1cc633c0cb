"""``clarity``: the command line, a thin layer over the Python API.

Each sub-command parses its flags, calls one package function per step and prints what
happened. The seed's scripts (``dataset_generator.py`` and friends) call :func:`main` with
their own command name, so they accept exactly the same flags. Heavy libraries are imported
inside the commands that need them, so ``clarity --help`` starts at once.

Exit status: 0 = everything done; 1 = something was skipped or failed (each with a one-line
reason); 2 = bad usage (a number outside its allowed range is refused before any work,
checked against the same constraint table its settings class declares).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import __version__, settings, taxonomy
from .errors import ClarityError, SettingsError
from .layout import Layout
from .outcome import StepReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Console:
    """Prints by verbosity: ``-q`` shows only problems, ``-v`` adds per-file detail."""

    def __init__(self, verbosity: int = 0):
        self.verbosity = verbosity

    def info(self, msg: str) -> None:
        if self.verbosity >= 0:
            print(msg, flush=True)

    def detail(self, msg: str) -> None:
        if self.verbosity >= 1:
            print(msg, flush=True)

    def problem(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def report(self, rep: StepReport) -> None:
        for d in rep.done:
            self.detail("  " + "  ".join(f"{k}={v}" for k, v in d.items()))
        for note in rep.notes:
            self.info(f"  note: {note}")
        for w in rep.warnings:
            self.detail(f"  warning {w.path}: {w.reason}")
        if rep.warnings and self.verbosity < 1:
            self.info(f"  ({len(rep.warnings)} warning(s); -v lists them)")
        for s in rep.skipped:
            self.problem(f"  skipped {s.path}: {s.reason}")
        for e in rep.errors:
            self.problem(f"  error: {e}")


# --- options -------------------------------------------------------------------------------

def _arg(cls: type, field: str) -> Callable[[str], Any]:
    """An argparse ``type`` that parses a number and checks it against
    ``cls.constraints[field]`` (so the CLI and the Python API refuse the same values)."""
    constraint = cls.constraints[field]  # type: ignore[attr-defined]
    # a command line cannot say None: leave it out of the rule and of the message
    parts = tuple(c for c in (constraint if isinstance(constraint, tuple) else (constraint,))
                  if c is not None)
    kind = int if any(getattr(c, "kind", None) is int for c in parts) else float

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        try:
            settings.check(field, value, parts)
        except SettingsError as e:
            raise argparse.ArgumentTypeError(e.reason) from None
        return value

    parse.__name__ = field  # argparse names the type in its messages
    return parse


class _Jobs(settings.Validated):
    constraints = {"jobs": settings.JOBS_RANGE}


def _common(p: argparse.ArgumentParser, data_dir: bool = True, wait: bool = False) -> None:
    g = p.add_argument_group("common options")
    if data_dir:
        g.add_argument("--data-dir", metavar="DIR", default=None,
                       help=f"data root (default: ${settings.DATA_DIR_ENV} or "
                            f"./{settings.DEFAULT_DATA_DIR})")
    if wait:
        g.add_argument("--wait", action="store_true",
                       help="if another command is writing to the data folder, wait for it "
                            "instead of exiting")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more detail")
    g.add_argument("-q", "--quiet", action="store_true", help="only problems and errors")


def _opt_jobs(g) -> None:
    g.add_argument("--jobs", type=_arg(_Jobs, "jobs"), default=None, metavar="N",
                   help="worker processes (default: all cores)")


def _opt_scheduler(g) -> None:
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="run the per-clip tasks on this Dask scheduler's workers (they must "
                        "see the same data path)")


def _opt_target(g) -> None:
    from .normalize import NormalizeSettings

    g.add_argument("--target-lufs", "--target", dest="target_lufs",
                   type=_arg(NormalizeSettings, "target_lufs"), default=settings.TARGET_LUFS,
                   metavar="LUFS", help=f"target integrated loudness (default "
                                        f"{settings.TARGET_LUFS})")


def _opt_schema(g, extra: tuple[str, ...] = (), default: str = "seed") -> None:
    both = "; both: compare the two" if extra else ""
    g.add_argument("--schema", choices=("seed", "extended", *extra), default=default,
                   help="seed: the seed's 22 features + 42 reserved zeros; extended: 42 more "
                        f"features for the flaw taxonomy{both} (default {default})")


def _console(args: argparse.Namespace) -> Console:
    return Console(-1 if args.quiet else args.verbose)


def _layout(args: argparse.Namespace, create: bool = False) -> Layout:
    """The data folder; one that does not exist is an error unless the command creates it."""
    layout = Layout.at(getattr(args, "data_dir", None))
    return layout if create else layout.require()


@contextlib.contextmanager
def _writing(args: argparse.Namespace, layout: Layout) -> Iterator[None]:
    """Hold the data folder's lock for the whole command (``--wait``: wait for it)."""
    with layout.lock(wait=getattr(args, "wait", False)):
        yield


# --- dataset ---------------------------------------------------------------------------------

def _add_dataset(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("steps (seed flags; several may be combined)")
    g.add_argument("--init", action="store_true",
                   help="create raw/{gold,flawed}/<instrument>, processed/, features/")
    g.add_argument("--import-gold", action="store_true",
                   help="copy a gold stem library into raw/gold/ (see --source)")
    g.add_argument("--prepare-suno", action="store_true",
                   help="write suno_generation_config.json (prompts per instrument x flaw)")
    g.add_argument("--organize-flawed", action="store_true",
                   help="copy flawed downloads into raw/flawed/ (see --source)")
    g.add_argument("--augment", action="store_true",
                   help="make flawed clips from every gold clip with the flaw engine (as "
                        "`clarity augment`; see --per-gold, --severity, --seed)")
    g.add_argument("--manifest", action="store_true", help="write manifest.json")
    g.add_argument("--validate", action="store_true",
                   help="check the tree and every file; exit 1 on errors")
    g.add_argument("--all", action="store_true",
                   help="init, import-gold, prepare-suno, organize-flawed, manifest, validate")
    p.add_argument("--source", metavar="DIR", default=None,
                   help="folder to read: gold library for --import-gold (default "
                        "../Assets/Targets), downloads for --organize-flawed (default "
                        "<data>/downloads)")
    p.add_argument("--move", action="store_true",
                   help="remove each source file after a verified copy (same file system only)")
    from .dataset.ingest import SegmentSettings

    p.add_argument("--segment", type=_arg(SegmentSettings, "segment"), default=None,
                   metavar="SECONDS", help="with --import-gold/--organize-flawed: cut each "
                   "file into clips of about SECONDS at its non-silent stretches (default: "
                   "copy whole files)")
    _opt_augment(p)
    _opt_jobs(p)
    _opt_scheduler(p)


def _run_dataset(args: argparse.Namespace) -> int:
    from . import dataset

    con = _console(args)
    order = ("init", "import_gold", "prepare_suno", "organize_flawed", "augment", "manifest",
             "validate")
    steps = [s for s in order if (args.all and s != "augment") or getattr(args, s)]
    if not steps:
        con.problem("nothing to do: give a step flag (e.g. --init or --all); see --help")
        return EXIT_USAGE
    layout = _layout(args, create="init" in steps)  # only --init (or --all) starts a tree
    failed = False
    with _writing(args, layout):
        if "init" in steps:
            created = layout.init()
            con.info(f"init: {layout.root}: {len(created)} folder(s) created, "
                     f"{len(layout.tree_dirs()) - len(created)} already there")
        for step, default_src, func in (
                ("import_gold", Path(dataset.DEFAULT_GOLD_SOURCE), dataset.import_gold),
                ("organize_flawed", layout.downloads, dataset.organize_flawed)):
            if step not in steps:
                continue
            src = Path(args.source) if args.source else default_src
            label = step.replace("_", "-")
            if args.all and not src.is_dir():
                con.info(f"{label}: {src} not found; skipped (optional with --all)")
                continue
            rep = func(layout, src, move=args.move, segment=args.segment)
            con.info(f"{label}: {len(rep.done)} clip(s) placed from {src}, "
                     f"{len(rep.skipped)} skipped")
            con.report(rep)
            failed |= not rep.ok
        if "augment" in steps:
            failed |= _augment(args, layout, con) != EXIT_OK
        if "prepare_suno" in steps:
            cfg = dataset.prepare_suno(layout)
            n = sum(len(f["prompts"]) for i in cfg["instruments"].values()
                    for f in i["flaws"].values())
            con.info(f"prepare-suno: {layout.suno_config} ({n} prompts, 25 classes)")
        if "manifest" in steps:
            m = dataset.write_manifest(layout)
            s = m["summary"]
            con.info(f"manifest: {layout.manifest}: gold {s['gold']}, flawed {s['flawed']}, "
                     f"total {s['total']}, total floats {s['total_floats']:,}")
            for prob in m["problems"]:
                con.problem(f"  problem {prob['path']}: {prob['reason']}")
        if "validate" in steps:
            checked = dataset.validate(layout, jobs=args.jobs, progress=not args.quiet)
            con.info("validate:")
            con.info(checked.table())
            for f in checked.findings:
                (con.problem if f.level == "error" else con.detail)(f"  {f}")
            if checked.warnings and con.verbosity < 1:
                con.info(f"  ({len(checked.warnings)} warning(s); -v lists them)")
            failed |= not checked.ok
    return EXIT_FAILED if failed else EXIT_OK


# --- augment ---------------------------------------------------------------------------------

def _severity(text: str) -> tuple[float, float]:
    from .augment import parse_severity

    try:
        return parse_severity(text)
    except SettingsError as e:
        raise argparse.ArgumentTypeError(e.reason) from None


def _opt_augment(p) -> None:
    from .augment import AugmentSettings

    p.add_argument("--per-gold", type=_arg(AugmentSettings, "per_gold"), default=5,
                   metavar="N", help="flawed clips per gold clip, going round the "
                                     "instrument's five flaws (default 5)")
    p.add_argument("--severity", type=_severity, default=(0.0, 1.0), metavar="LO,HI",
                   help="severity drawn uniformly in [LO, HI], 0 = mild but audible, "
                        "1 = strong (default 0,1)")
    p.add_argument("--seed", type=_arg(AugmentSettings, "seed"), default=0, metavar="N",
                   help="random seed (default 0)")


def _add_augment(p: argparse.ArgumentParser) -> None:
    _opt_augment(p)
    _opt_jobs(p)
    _opt_scheduler(p)


def _augment(args: argparse.Namespace, layout: Layout, con: Console) -> int:
    from .augment import AugmentSettings, augment

    cfg = AugmentSettings(per_gold=args.per_gold, severity=args.severity, seed=args.seed)
    rep = augment(layout, cfg, jobs=args.jobs, scheduler=args.scheduler,
                  progress=not args.quiet)
    con.info(f"augment: {len(rep.done)} flawed clip(s) made -> {layout.raw / 'flawed'}")
    con.report(rep)
    return EXIT_OK if rep.ok else EXIT_FAILED


def _run_augment(args: argparse.Namespace) -> int:
    con = _console(args)
    layout = _layout(args)
    with _writing(args, layout):
        return _augment(args, layout, con)


# --- loudness / normalize --------------------------------------------------------------------

def _add_loudness(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files to measure")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per file (JSON lines) instead of a table")


def _per_file(con: Console, files: Sequence[str], as_json: bool,
              compute: Callable[[str], dict], show: Callable[[str, dict], None]) -> int:
    """``compute(file) -> dict`` for each file: with ``as_json`` one JSON line each
    (``{"file": ..., **result}``), else ``show(file, result)``. A file that raises a
    :class:`ClarityError` gets its one-line reason (``{"file", "error"}`` in JSON, else on
    stderr); exit 1 if any did."""
    failed = False
    for name in files:
        try:
            result = compute(name)
        except ClarityError as e:
            failed = True
            if as_json:
                print(json.dumps({"file": name, "error": e.reason}), flush=True)
            else:
                con.problem(f"{name}: {e.reason}")
            continue
        if as_json:
            print(json.dumps({"file": name, **result}), flush=True)
        else:
            show(name, result)
    return EXIT_FAILED if failed else EXIT_OK


def _run_loudness(args: argparse.Namespace) -> int:
    from . import audio, loudness

    con = _console(args)
    if not args.json:
        con.info(f"{'integrated':>10} {'LRA':>6} {'TP dBTP':>8} {'peak':>7} {'dur s':>7}  file")

    def show(name: str, r: dict) -> None:
        flags = f"  [{', '.join(r['flags'])}]" if r["flags"] else ""
        con.info(f"{r['integrated_lufs']:10.2f} {r['loudness_range_lu']:6.2f} "
                 f"{r['true_peak_dbtp']:8.2f} {r['sample_peak_dbfs']:7.2f} "
                 f"{r['duration_s']:7.2f}  {name}{flags}")

    return _per_file(con, args.files, args.json,
                     lambda name: loudness.measure(*audio.read_usable(name)).to_dict(), show)


def _add_normalize(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("steps (seed flags)")
    g.add_argument("--create-dirs", action="store_true", help="create processed/ and features/")
    g.add_argument("--normalize", action="store_true",
                   help="normalize every usable raw/ clip into processed/")
    g.add_argument("--verify", action="store_true",
                   help="re-measure processed/; exit 1 if any clip is missing or off target")
    g.add_argument("--all", action="store_true", help="create-dirs, normalize, verify")
    _opt_target(p)
    p.add_argument("--subtype", choices=settings.OUTPUT_SUBTYPES, default="FLOAT",
                   help="output sample format (default FLOAT: 32-bit float WAV, never clips; "
                        "PCM lowers gain to keep true peak <= -1 dBTP)")
    _opt_jobs(p)
    _opt_scheduler(p)
    p.add_argument("--force", action="store_true", help="redo clips that are up to date")


def _run_normalize(args: argparse.Namespace) -> int:
    from .normalize import NormalizeSettings, normalize, verify

    con = _console(args)
    if not (args.create_dirs or args.normalize or args.verify or args.all):
        con.problem("nothing to do: give --create-dirs, --normalize, --verify or --all")
        return EXIT_USAGE
    cfg = NormalizeSettings(target_lufs=args.target_lufs, subtype=args.subtype)
    layout = _layout(args, create=args.create_dirs)  # --all: only an existing folder
    failed = False
    with _writing(args, layout):
        if args.create_dirs or args.all:
            created = layout.init()
            con.info(f"create-dirs: {len(created)} folder(s) created under {layout.root}")
        if args.normalize or args.all:
            res = normalize(layout, cfg, jobs=args.jobs, scheduler=args.scheduler,
                            force=args.force, progress=not args.quiet)
            t = res.log["totals"]
            con.info(f"normalize: {t['normalized']} normalized, {t['up_to_date']} up to date, "
                     f"{t['failed']} failed, {t['refused']} refused, {t['gain_limited']} "
                     f"gain-limited -> {layout.normalization_log}")
            con.report(res.report)
            failed |= not res.report.ok
        if args.verify or args.all:
            rep = verify(layout, cfg)
            con.info(f"verify: {len(rep.done)} within {settings.VERIFY_TOLERANCE_LU} LU of "
                     f"target, {len(rep.skipped)} problem(s)")
            con.report(rep)
            failed |= not rep.ok
    return EXIT_FAILED if failed else EXIT_OK


# --- synth ---------------------------------------------------------------------------------

def _add_synth(p: argparse.ArgumentParser) -> None:
    from .synth import SynthSettings

    p.add_argument("--per-instrument", type=_arg(SynthSettings, "per_instrument"),
                   default=settings.GOLD_PER_INSTRUMENT, metavar="N",
                   help="gold clips per instrument, and as many flawed "
                        f"(default {settings.GOLD_PER_INSTRUMENT})")
    p.add_argument("--flawed-per-instrument", default=None, metavar="N",
                   type=_arg(SynthSettings, "flawed_per_instrument"),
                   help="flawed clips per instrument (default: same as --per-instrument)")
    p.add_argument("--seed", type=_arg(SynthSettings, "seed"), default=0, metavar="N",
                   help="random seed (default 0)")
    p.add_argument("--soundfont", metavar="PATH", default=None,
                   help="a .sf2/.sf3 General MIDI SoundFont (default: TimGM6mb.sf2 from the "
                        "pretty_midi wheel)")
    _opt_jobs(p)


def _run_synth(args: argparse.Namespace) -> int:
    from .synth import synthesize

    con = _console(args)
    layout = _layout(args, create=True)
    with _writing(args, layout):
        rep = synthesize(layout, args.per_instrument, args.flawed_per_instrument,
                         seed=args.seed, soundfont=args.soundfont, jobs=args.jobs,
                         progress=not args.quiet)
    con.info(f"synth: {layout.raw}")
    con.report(rep)
    return EXIT_OK if rep.ok else EXIT_FAILED


# --- features --------------------------------------------------------------------------------

def _add_features(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="audio files to fingerprint and print, normalized in memory to "
                        "-18 LUFS first (the values their row in features.csv would hold); "
                        "no step runs")
    g = p.add_argument_group("steps (seed flags)")
    g.add_argument("--extract", action="store_true",
                   help="fingerprint every clip of processed/ into features/ tables")
    g.add_argument("--analyze", action="store_true",
                   help="statistics and plots of the tables under features/analysis/")
    g.add_argument("--all", action="store_true", help="extract, then analyze")
    _opt_schema(p)
    p.add_argument("--json", action="store_true",
                   help="with FILE...: one JSON object per file (file + features)")
    p.add_argument("--raw", action="store_true",
                   help="with FILE...: fingerprint the file as it is, not normalized")
    _opt_jobs(p)
    _opt_scheduler(p)


def _fingerprint_file(name: str, schema: str, raw: bool) -> dict[str, Any]:
    from . import audio
    from .features.extract import describe
    from .normalize import NormalizeSettings, normalize_samples

    samples, sr = audio.read_usable(name)
    if raw:
        return {"schema": schema, "normalized": False,
                "features": describe(samples, sr, schema=schema)}
    done = normalize_samples(samples, sr, NormalizeSettings())
    return {"schema": schema, "normalized": True,
            "features": describe(done.out, sr, schema=schema, loudness_report=done.after)}


def _run_features(args: argparse.Namespace) -> int:
    con = _console(args)
    if args.files:
        def show(name: str, r: dict) -> None:
            con.info(name)
            for k, v in r["features"].items():
                con.info(f"  {k:<28} {v:.6g}")

        return _per_file(con, args.files, args.json,
                         lambda name: _fingerprint_file(name, args.schema, args.raw), show)
    if not (args.extract or args.analyze or args.all):
        con.problem("nothing to do: give --extract, --analyze, --all, or FILE...")
        return EXIT_USAGE
    from .features.analyze import analyze
    from .features.tables import build_tables

    layout = _layout(args)
    failed = False
    with _writing(args, layout):
        if args.extract or args.all:
            res = build_tables(layout, args.schema, jobs=args.jobs, scheduler=args.scheduler,
                               progress=not args.quiet)
            con.info(f"extract ({args.schema}): {res.rows} clip(s) -> {layout.features} "
                     f"({res.computed} analysed, {res.cached} from cache, "
                     f"{len(res.failures)} left out)")
            con.report(res.report)
            failed |= not res.report.ok
        if args.analyze or args.all:
            summary = analyze(layout)
            con.info(f"analyze: {summary['rows']} rows, NaN {summary['nan']}, Inf "
                     f"{summary['inf']}, constant features {len(summary['constant_features'])} "
                     f"-> {layout.analysis}")
    return EXIT_FAILED if failed else EXIT_OK


# --- run -----------------------------------------------------------------------------------

def _add_run(p: argparse.ArgumentParser) -> None:
    from .pipeline import RunSettings

    _opt_schema(p)
    _opt_target(p)
    _opt_jobs(p)
    _opt_scheduler(p)
    p.add_argument("--force", action="store_true",
                   help="redo every clip's normalization and fingerprint")
    p.add_argument("--augment", type=_arg(RunSettings, "augment"), default=0, metavar="N",
                   help="first make N flawed clips per gold clip with the flaw engine "
                        "(clarity augment), then run (default 0: no augmentation)")


def _run_run(args: argparse.Namespace) -> int:
    from .pipeline import RunSettings, format_summary, run

    con = _console(args)
    cfg = RunSettings(schema=args.schema, target_lufs=args.target_lufs, jobs=args.jobs,
                      scheduler=args.scheduler, force=args.force, augment=args.augment)
    layout = _layout(args)
    with _writing(args, layout):
        result = run(layout, cfg, progress=not args.quiet, say=con.info, show=con.report)
        if result.summary.get("total"):
            _report(con, layout)
    con.info("")
    con.info(format_summary(result.summary))
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())
    con.info(f"\ntimes: {timing}")
    if not result.ok:
        n = sum(len(r.skipped) + len(r.errors) for r in result.reports.values())
        con.problem(f"{n} file(s) or step(s) had problems (listed above); exit status 1")
    return EXIT_OK if result.ok else EXIT_FAILED


# --- model (phase 1B) ---------------------------------------------------------------------

def _add_train(p: argparse.ArgumentParser) -> None:
    from .model.train import TrainSettings

    p.add_argument("--model", choices=("auto", "lgbm", "rf"), default="auto",
                   help="classifier: auto = cross-validate LightGBM and the seed's Random "
                        "Forest, keep the better (default); lgbm; rf")
    p.add_argument("--schema", choices=("seed", "extended"), default="extended",
                   help="fingerprint to train on (default extended; its fingerprints are "
                        "computed from processed/ once and cached)")
    p.add_argument("--cv", type=_arg(TrainSettings, "cv"), default=5, metavar="K",
                   help="folds of the grouped and the leave-source-out cross-validation "
                        "(default 5)")
    p.add_argument("--no-leave-source-out", dest="leave_source_out", action="store_false",
                   help="skip the leave-source-out cross-validation")
    p.add_argument("--n-estimators", type=_arg(TrainSettings, "n_estimators"), default=None,
                   metavar="N", help="boosting rounds (lgbm, default 300) or trees (rf, "
                                     "default 500)")
    p.add_argument("--max-depth", type=_arg(TrainSettings, "max_depth"), default=8,
                   metavar="N", help="tree depth of the rf baseline (default 8)")
    p.add_argument("--seed", type=_arg(TrainSettings, "seed"), default=0, metavar="N",
                   help="fold and model seed (default 0)")
    _opt_jobs(p)


def _run_train(args: argparse.Namespace) -> int:
    from .model.train import TrainSettings, train

    con = _console(args)
    cfg = TrainSettings(model=args.model, schema=args.schema, cv=args.cv,
                        leave_source_out=args.leave_source_out, n_estimators=args.n_estimators,
                        max_depth=args.max_depth, seed=args.seed, jobs=args.jobs)
    layout = _layout(args)
    with _writing(args, layout):
        trained = train(layout, cfg, progress=not args.quiet, say=con.info)
        _report(con, layout)
    m = trained.metrics
    cv = m["cv"]
    con.info("")
    con.info(f"{'model':<6} {'accuracy (CV mean +- sd)':>26} {'gold vs flawed':>15} "
             f"{'gold recall':>12}")
    for kind, v in m["cv_by_model"].items():
        con.info(f"{kind:<6} {v['accuracy_mean']:>18.3f} +- {v['accuracy_std']:.3f} "
                 f"{v['gold_vs_flawed_accuracy']:>15.3f} {v['gold_recall'] or 0:>12.3f}"
                 + ("   (kept)" if kind == m["kept"] else ""))
    worst = min((r, c) for c, r in cv["recall"].items() if c != taxonomy.NO_FLAW)
    con.info(f"recall by flaw: lowest {worst[1]} {worst[0]:.2f}; by severity "
             + ", ".join(f"{k} {v:.2f}" for k, v in cv["recall_by_severity"].items()
                         if v is not None))
    if cv["eq_mae_flawed_db"] is not None:
        con.info(f"EQ correction error on flawed clips: {cv['eq_mae_flawed_db']:.2f} dB")
    if m["rows_without_correction"]:
        con.info(f"regressor: trained on {m['rows_with_correction']} clips with a known "
                 f"correction; {m['rows_without_correction']} have none (imported flawed clips)")
    if m["leave_source_out"]:
        lo = m["leave_source_out"]
        con.info(f"leave-source-out: accuracy {lo['accuracy']:.3f}, gold vs flawed "
                 f"{lo['gold_vs_flawed_accuracy']:.3f} ({len(lo['families'])} source families)")
    con.info(f"models -> {layout.models}")
    return EXIT_OK


def _run_export(args: argparse.Namespace) -> int:
    from .model.onnx_export import export_onnx

    con = _console(args)
    layout = _layout(args)
    with _writing(args, layout):
        for path in export_onnx(layout):
            con.info(f"wrote {path}")
    return EXIT_OK


def _add_bench(p: argparse.ArgumentParser) -> None:
    from .model.onnx_export import BenchSettings

    p.add_argument("--calls", type=_arg(BenchSettings, "calls"), default=10_000, metavar="N",
                   help="single-row calls (default 10000)")
    p.add_argument("--batch", type=_arg(BenchSettings, "batch"), default=1024, metavar="N",
                   help="batch size (default 1024)")


def _run_bench(args: argparse.Namespace) -> int:
    from .model.onnx_export import BenchSettings, bench_onnx

    con = _console(args)
    cfg = BenchSettings(calls=args.calls, batch=args.batch)
    layout = _layout(args)
    with _writing(args, layout):
        r = bench_onnx(layout, cfg)
    for k in ("classifier", "regressor", "both"):
        if k in r:
            con.info(f"{k:<11} p50 {r[k]['p50_ms']:.3f} ms   p99 {r[k]['p99_ms']:.3f} ms")
    con.info(f"batch of {r['batch']}: {r['batch_rows_per_s']:,.0f} rows/s (both models)")
    con.info(f"goal p99 < 0.5 ms (seed: < 5 ms): {'met' if r['goal']['met'] else 'not met'}")
    return EXIT_OK


def _add_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="audio files to judge (any length; normalized in memory first)")
    p.add_argument("--instrument", choices=taxonomy.INSTRUMENTS,
                   default=None, help="the files' instrument (default: from names/folders)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")


def _run_predict(args: argparse.Namespace) -> int:
    from .model.onnx_export import predict

    con = _console(args)
    results = predict(Layout.at(args.data_dir), args.files, args.instrument)
    for r in results:
        if args.json:
            print(json.dumps(r), flush=True)
        elif "error" in r:
            con.problem(f"{r['file']}: {r['error']}")
        else:
            ranked = ", ".join(f"{t['class']} {t['probability']:.2f}" for t in r["top"])
            con.info(f"{r['file']}: {r['instrument']}, flaw {r['flaw']} ({ranked})")
            eq = "  ".join(f"{k[3:-3]}Hz {v:+.1f}" for k, v in r["corrections"].items()
                           if k.startswith("eq_"))
            rest = "  ".join(f"{k} {v:.2f}" for k, v in r["corrections"].items()
                             if not k.startswith("eq_"))
            if eq:
                con.info(f"  EQ dB: {eq}")
            if rest:
                con.info(f"  {rest}")
    return EXIT_FAILED if any("error" in r for r in results) else EXIT_OK


# --- report --------------------------------------------------------------------------------

def _add_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="FILE", default=None,
                   help="where to write the page (default <data>/reports/report.html)")
    p.add_argument("--force", action="store_true", help="rewrite it even if nothing changed")


def _report(con: Console, layout: Layout, out: str | None = None, force: bool = False) -> None:
    from .report import write_report

    path, written = write_report(layout, out, force)
    con.info(f"report: {path}" + ("" if written else " (up to date)"))


def _run_report(args: argparse.Namespace) -> int:
    con = _console(args)
    layout = _layout(args)
    with _writing(args, layout):
        _report(con, layout, args.out, args.force)
    return EXIT_OK


# --- demo ----------------------------------------------------------------------------------

def _run_demo(args: argparse.Namespace) -> int:
    """What ``make demo`` runs: the embedded dataset if raw/ is empty, then ``run``."""
    con = _console(args)
    layout = Layout.at(args.data_dir)
    common = ["--data-dir", str(layout.root)] + (["-q"] if args.quiet else [])
    code = EXIT_OK
    if not any(True for _ in layout.iter_clips("raw")):
        con.info(f"{layout.raw} has no audio: rendering the embedded dataset (clarity synth)")
        code = main(["synth", *common])
    else:
        con.info(f"{layout.raw} has audio: using it (empty it to render the embedded set)")
    code = max(code, main(["run", *common]))
    con.info("\noutputs:")
    for path in (layout.raw, layout.records, layout.manifest, layout.processed,
                 layout.normalization_log, layout.features, layout.analysis,
                 layout.report_html, layout.cache):
        if path.exists():
            con.info(f"  {path}")
    return code


# --- registry --------------------------------------------------------------------------------

#: name -> (help, add_arguments, run, seed script, options: "data", "wait")
COMMANDS: dict[str, tuple[str, Callable | None, Callable, str | None, str]] = {
    "dataset": ("organize raw audio: init, import gold, Suno prompts, organize flawed, "
                "augment, manifest, validate", _add_dataset, _run_dataset,
                "dataset_generator.py",
                "data wait"),
    "augment": ("make labelled flawed clips (exact corrections) from every gold clip with the "
                "flaw engine", _add_augment, _run_augment, None, "data wait"),
    "loudness": ("measure integrated loudness, LRA and true peak of files",
                 _add_loudness, _run_loudness, None, ""),
    "normalize": ("normalize raw/ to a target loudness (-18 LUFS) into processed/ as WAV",
                  _add_normalize, _run_normalize, "loudness_normalizer.py", "data wait"),
    "synth": ("render the embedded gold + flawed dataset into raw/", _add_synth, _run_synth,
              None, "data wait"),
    "features": ("extract the 64-float fingerprints into features/ (or print them for FILE...)",
                 _add_features, _run_features, "feature_extractor.py", "data wait"),
    "run": ("the whole pipeline: dataset -> normalize + features (one pass per clip) -> "
            "analyze, incremental", _add_run, _run_run, "run_pipeline.py", "data wait"),
    "train": ("train and cross-validate the flaw classifier and the correction regressor, "
              "export them to ONNX (phase 1B)",
              _add_train, _run_train, None, "data wait"),
    "export-onnx": ("export the trained models to ONNX again (train already does)", None,
                    _run_export, None, "data wait"),
    "bench-onnx": ("ONNX single-row latency and batch throughput", _add_bench, _run_bench,
                   None, "data wait"),
    "predict": ("flaw, confidence and corrections for audio files (normalize, fingerprint, "
                "ONNX)", _add_predict, _run_predict, None, "data"),
    "report": ("write one self-contained HTML page about the dataset and the model",
               _add_report, _run_report, None, "data wait"),
    "demo": ("what `make demo` runs: every built step on the data folder", None, _run_demo,
             None, "data"),
}


def _subparser(p: argparse.ArgumentParser, name: str) -> None:
    _, add, _, _, opts = COMMANDS[name]
    if add:
        add(p)
    _common(p, data_dir="data" in opts, wait="wait" in opts)


def build_parser(prog: str = "clarity", only: str | None = None) -> argparse.ArgumentParser:
    """The ``clarity`` parser, or (``only``) one command's parser for a seed script."""
    if only is not None:
        p = argparse.ArgumentParser(prog=prog, description=COMMANDS[only][0])
        _subparser(p, only)
        return p
    p = argparse.ArgumentParser(prog=prog, description="NGN Clarity training pipeline.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_, *_rest) in COMMANDS.items():
        _subparser(sub.add_parser(name, help=help_, description=help_), name)
    return p


def main(argv: Sequence[str] | None = None, *, command: str | None = None,
         prog: str | None = None) -> int:
    """Entry point of ``clarity`` (and, with ``command``, of a seed script)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if command is not None:
        parser = build_parser(prog or COMMANDS[command][3] or command, only=command)
        args = parser.parse_args(argv)
        args.command = command
    else:
        args = build_parser(prog or "clarity").parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except SettingsError as e:
        print(f"{prog or 'clarity'}: {e.reason}", file=sys.stderr)
        return EXIT_USAGE
    except ClarityError as e:
        msg = e.reason if not e.path or e.path in e.reason else f"{e.path}: {e.reason}"
        print(msg, file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
