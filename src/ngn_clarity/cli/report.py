"""``clarity report``: one self-contained HTML page about the dataset and the model."""

from __future__ import annotations

import argparse

from ..layout import Layout
from ..model.artifacts import problems
from ..report.page import write_report
from .runner import EXIT_FAILED, EXIT_OK, Console


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="FILE", default=None,
                   help="where to write the page (default <data>/reports/report.html)")
    p.add_argument("--force", action="store_true", help="rewrite it even if nothing changed")


def write(con: Console, layout: Layout, out: str | None = None, force: bool = False) -> bool:
    """Write the page and say where (``run`` and ``train`` end with it too); each damaged
    file of the model set gets its line. False if there was one."""
    path, written = write_report(layout, out, force)
    con.info(f"report: {path}" + ("" if written else " (up to date)"))
    damaged = problems(layout)
    for line in damaged:
        con.problem(f"  error: {line}")
    return not damaged


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    return EXIT_OK if write(con, layout, args.out, args.force) else EXIT_FAILED
