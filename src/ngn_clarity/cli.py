"""``clarity``: the command line, a thin layer over the Python API.

Each sub-command parses its flags, calls one package function per step and prints what
happened. The seed's scripts (``dataset_generator.py`` and friends) call :func:`main` with
their own command name, so they accept exactly the same flags.

Exit status: 0 = everything done; 1 = something was skipped or failed (each with a one-line
reason); 2 = bad usage or a step that is not built yet.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import __version__, settings
from .layout import Layout
from .outcome import StepReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Console:
    """Prints by verbosity: ``-q`` shows only problems, ``-v`` adds per-file detail."""

    def __init__(self, verbosity: int = 0):
        self.verbosity = verbosity

    def info(self, msg: str) -> None:
        if self.verbosity >= 0:
            print(msg)

    def detail(self, msg: str) -> None:
        if self.verbosity >= 1:
            print(msg)

    def problem(self, msg: str) -> None:
        print(msg, file=sys.stderr)

    def report(self, rep: StepReport) -> None:
        for d in rep.done:
            self.detail("  " + "  ".join(f"{k}={v}" for k, v in d.items()))
        for note in rep.notes:
            self.info(f"  note: {note}")
        for s in rep.skipped:
            self.problem(f"  skipped {s.path}: {s.reason}")
        for e in rep.errors:
            self.problem(f"  error: {e}")


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("common options")
    g.add_argument("--data-dir", metavar="DIR", default=None,
                   help=f"data root (default: ${settings.DATA_DIR_ENV} or "
                        f"./{settings.DEFAULT_DATA_DIR})")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more detail")
    g.add_argument("-q", "--quiet", action="store_true", help="only problems and errors")


def _console(args: argparse.Namespace) -> Console:
    return Console(-1 if args.quiet else args.verbose)


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
    g.add_argument("--manifest", action="store_true", help="write manifest.json")
    g.add_argument("--validate", action="store_true",
                   help="check the tree and every file; exit 1 on errors")
    g.add_argument("--all", action="store_true",
                   help="init, import-gold, prepare-suno, organize-flawed, manifest, validate")
    o = p.add_argument_group("options")
    o.add_argument("--source", metavar="DIR", default=None,
                   help="folder to read: gold library for --import-gold (default "
                        "../Assets/Targets), downloads for --organize-flawed (default "
                        "<data>/downloads)")
    o.add_argument("--move", action="store_true",
                   help="remove each source file after a verified copy (same file system only)")


def _run_dataset(args: argparse.Namespace) -> int:
    from . import dataset

    con = _console(args)
    layout = Layout.at(args.data_dir)
    steps = [s for s in ("init", "import_gold", "prepare_suno", "organize_flawed", "manifest",
                         "validate") if getattr(args, s)]
    if args.all:
        steps = ["init", "import_gold", "prepare_suno", "organize_flawed", "manifest",
                 "validate"]
    if not steps:
        con.problem("nothing to do: give a step flag (e.g. --init or --all); see --help")
        return EXIT_USAGE
    failed = False
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
        rep = func(layout, src, move=args.move)
        con.info(f"{label}: {len(rep.done)} file(s) placed from {src}, "
                 f"{len(rep.skipped)} skipped")
        con.report(rep)
        failed |= not rep.ok
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
        rep = dataset.validate(layout)
        con.info("validate:")
        con.info(rep.table())
        for f in rep.findings:
            (con.problem if f.level == "error" else con.detail)(f"  {f}")
        if rep.warnings and con.verbosity < 1:
            con.info(f"  ({len(rep.warnings)} warning(s); -v lists them)")
        failed |= not rep.ok
    return EXIT_FAILED if failed else EXIT_OK


# --- commands not built yet ------------------------------------------------------------------

def _not_built(issue: int, what: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"{what}: not yet built (tracked in issue {issue})", file=sys.stderr)
        return EXIT_USAGE
    return run


# --- registry --------------------------------------------------------------------------------

#: name -> (help, add_arguments, run, seed script)
COMMANDS: dict[str, tuple[str, Callable | None, Callable, str | None]] = {
    "dataset": ("organize raw audio: init, import gold, Suno prompts, organize flawed, "
                "manifest, validate", _add_dataset, _run_dataset, "dataset_generator.py"),
    "loudness": ("measure integrated loudness, LRA and true peak of files",
                 None, _not_built(3, "loudness"), None),
    "normalize": ("normalize raw/ to -18 LUFS into processed/", None,
                  _not_built(3, "normalize"), "loudness_normalizer.py"),
    "synth": ("render the embedded gold + flawed dataset into raw/", None,
              _not_built(4, "synth"), None),
    "features": ("extract the 64-float fingerprints into features/", None,
                 _not_built(5, "features"), "feature_extractor.py"),
    "run": ("the whole pipeline: dataset -> normalize -> features -> analyze", None,
            _not_built(6, "run"), "run_pipeline.py"),
    "train": ("train the Random Forest models (phase 1B)", None, _not_built(7, "train"), None),
    "export-onnx": ("export the trained models to ONNX", None, _not_built(7, "export-onnx"),
                    None),
    "bench-onnx": ("ONNX latency and throughput", None, _not_built(7, "bench-onnx"), None),
    "predict": ("flaw and corrections for audio files", None, _not_built(7, "predict"), None),
}


def build_parser(prog: str = "clarity", only: str | None = None) -> argparse.ArgumentParser:
    """The ``clarity`` parser, or (``only``) one command's parser for a seed script."""
    if only is not None:
        help_, add, _, _ = COMMANDS[only]
        p = argparse.ArgumentParser(prog=prog, description=help_)
        if add:
            add(p)
        _common(p)
        return p
    p = argparse.ArgumentParser(prog=prog, description="NGN Clarity training pipeline.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_, add, _, _) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        if add:
            add(sp)
        _common(sp)
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
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
