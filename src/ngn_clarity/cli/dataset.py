"""``clarity dataset`` / ``dataset_generator.py``: the seed's dataset flags.

Which steps run, in which order, and what ``--all`` means is
:data:`ngn_clarity.steps.dataset.STEPS`; this module parses the flags and prints what each
step says.
"""

from __future__ import annotations

import argparse

from ..layout import Layout
from ..steps import dataset
from ..steps.augment import AugmentSettings
from ..steps.ingest import IngestSettings
from . import augment
from .runner import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, Console, cluster, jobs, scheduler,
                     setting)


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("steps (seed flags; several may be combined; they run in the "
                             "order listed)")
    for step in dataset.STEPS:
        g.add_argument(step.flag, dest=step.name, action="store_true", help=step.help)
    g.add_argument("--all", action="store_true", help=", ".join(
        n.replace("_", "-") for n in dataset.ALL))
    p.add_argument("--source", metavar="DIR", default=None,
                   help=f"folder to read: gold library for --import-gold (default "
                        f"{dataset.DEFAULT_GOLD_SOURCE}), downloads for --organize-flawed "
                        f"(default <data>/downloads)")
    p.add_argument("--move", action="store_true",
                   help="remove each source file after a verified copy (same file system only)")
    setting(p, "--segment", IngestSettings, "segment", "with --import-gold/--organize-flawed: "
            "cut each file into clips of about SECONDS at its non-silent stretches (default: "
            "copy whole files)", metavar="SECONDS")
    augment.options(p)
    jobs(p)
    scheduler(p)


def _chosen(args: argparse.Namespace) -> list[dataset.DatasetStep]:
    return dataset.chosen((s.name for s in dataset.STEPS if getattr(args, s.name)), args.all)


def without_data(args: argparse.Namespace, con: Console) -> int | None:
    if not _chosen(args):
        con.problem("nothing to do: give a step flag (e.g. --init or --all); see --help")
        return EXIT_USAGE
    return None


def creates(args: argparse.Namespace) -> bool:
    """Only ``--init`` (or ``--all``) starts a data folder."""
    return any(s.name == "init" for s in _chosen(args))


def show(con: Console, out: dataset.Outcome) -> None:
    """What one dataset step says: its headline, then its files, problems or checks."""
    con.info(out.headline)
    if out.report is not None:
        con.report(out.report)
    for p in out.problems:
        con.problem(f"  problem {p.path}: {p.reason}")
    checked = out.validation
    if checked is not None:
        con.info(checked.table())
        for f in checked.findings:
            (con.problem if f.level == "error" else con.detail)(f"  {f.level.upper():7s} {f}")
        if checked.warnings and con.verbosity < 1:
            con.info(f"  ({len(checked.warnings)} warning(s); -v lists them)")


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    ctx = dataset.DatasetRun(
        layout, args.source, IngestSettings(args.move, args.segment),
        AugmentSettings(per_gold=args.per_gold, severity=args.severity, seed=args.seed,
                        replace=args.replace, gold_variants=args.gold_variants),
        jobs=args.jobs, scheduler=cluster(args), progress=not args.quiet,
        optional_sources=args.all)
    failed = False
    for out in dataset.run(_chosen(args), ctx):
        show(con, out)
        failed |= not out.ok
    return EXIT_FAILED if failed else EXIT_OK
