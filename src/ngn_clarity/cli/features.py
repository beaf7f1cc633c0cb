"""``clarity features`` / ``feature_extractor.py``: the tables (``--extract``), their
analysis (``--analyze``), or the fingerprint of files (``FILE...``)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import audio
from ..features.extract import describe
from ..features.schema import DEFAULT_SCHEMA, SCHEMAS
from ..gain import NormalizeSettings, normalize_samples
from ..layout import Layout
from ..report.analyze import analyze
from ..steps.tables import build_tables
from .runner import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, Console, cluster, jobs, per_file,
                     scheduler)


def schema_option(g, default: str = DEFAULT_SCHEMA) -> None:
    """``--schema``: the registry's schemas (also ``run``'s and ``train``'s, with their
    settings class's default)."""
    g.add_argument("--schema", choices=tuple(SCHEMAS), default=default,
                   help="seed: the seed's 22 features + 42 reserved zeros (its exact table); "
                        f"extended: 42 more features for the flaw taxonomy in the reserved "
                        f"slots (default {default})")


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    schema_option(p)
    p.add_argument("--json", action="store_true",
                   help="with FILE...: one JSON object per file (file + features)")
    p.add_argument("--raw", action="store_true",
                   help="with FILE...: fingerprint the file as it is, not normalized")
    jobs(p)
    scheduler(p)


def fingerprint_file(name: str, schema: str, raw: bool) -> dict[str, Any]:
    """What ``features FILE --json`` prints for one file (after ``file``)."""
    samples, sr = audio.read_usable(name)
    if raw:
        return {"schema": schema, "normalized": False,
                "features": describe(samples, sr, schema=schema)}
    done = normalize_samples(samples, sr, NormalizeSettings())
    return {"schema": schema, "normalized": True,
            "features": describe(done.out, sr, schema=schema, loudness_report=done.after)}


def without_data(args: argparse.Namespace, con: Console) -> int | None:
    """``FILE...`` needs no data folder; no step is a usage error."""
    if args.files:
        def show(name: str, r: dict) -> None:
            con.info(name)
            for k, v in r["features"].items():
                con.info(f"  {k:<28} {v:.6g}")

        return per_file(con, args.files, args.json,
                        lambda name: fingerprint_file(name, args.schema, args.raw), show)
    if not (args.extract or args.analyze or args.all):
        con.problem("nothing to do: give --extract, --analyze, --all, or FILE...")
        return EXIT_USAGE
    return None


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    failed = False
    if args.extract or args.all:
        res = build_tables(layout, args.schema, jobs=args.jobs, scheduler=cluster(args),
                           progress=not args.quiet)
        con.info(f"extract ({args.schema}): {res.rows} clip(s) -> {layout.features} "
                 f"({res.computed} analysed, {res.cached} from cache, "
                 f"{len(res.failures)} left out)")
        failed |= con.finish(res.report) != EXIT_OK
    if args.analyze or args.all:
        summary = analyze(layout)
        con.info(f"analyze: {summary['rows']} rows, NaN {summary['nan']}, Inf "
                 f"{summary['inf']}, constant features {len(summary['constant_features'])} "
                 f"-> {layout.analysis}")
    return EXIT_FAILED if failed else EXIT_OK
