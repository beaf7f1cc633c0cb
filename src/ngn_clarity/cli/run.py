"""``clarity run`` / ``run_pipeline.py``: the whole pipeline, incrementally."""

from __future__ import annotations

import argparse

from ..gain import NormalizeSettings
from ..layout import Layout
from ..pipeline import RunSettings, format_summary, run as run_pipeline
from . import report
from .features import schema_option
from .normalize import target
from .runner import EXIT_FAILED, EXIT_OK, Console, cluster, flag, jobs, scheduler, setting


def add_arguments(p: argparse.ArgumentParser) -> None:
    schema_option(p, RunSettings.default("schema"))
    target(p)
    jobs(p)
    scheduler(p)
    flag(p, "--force", RunSettings, "force", "redo every clip's normalization and fingerprint")
    setting(p, "--augment", RunSettings, "augment",
            "first make N flawed clips per gold clip with the flaw engine (clarity augment), "
            "then run (0: no augmentation)")


def pipeline(con: Console, layout: Layout, cfg: RunSettings, progress: bool) -> int:
    """Run the pipeline, the report, and the seed's summary (also ``clarity demo``'s)."""
    result = run_pipeline(layout, cfg, progress=progress, say=con.info, show=con.report)
    if result.summary.total:
        report.write(con, layout)
    con.info("")
    con.info(format_summary(result.summary))
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())
    con.info(f"\ntimes: {timing}")
    if not result.ok:
        n = sum(len(r.skipped) + len(r.errors) for r in result.reports.values())
        con.problem(f"{n} file(s) or step(s) had problems (listed above); exit status 1")
    return EXIT_OK if result.ok else EXIT_FAILED


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    cfg = RunSettings(schema=args.schema, normalize=NormalizeSettings(target_lufs=args.target_lufs),
                      jobs=args.jobs, scheduler=cluster(args), force=args.force,
                      augment=args.augment)
    return pipeline(con, layout, cfg, progress=not args.quiet)
