"""``clarity demo`` (what ``make demo`` runs): the embedded dataset if ``raw/`` holds no
audio, then the whole pipeline, through the same Python API and printing as ``clarity synth``
and ``clarity run``."""

from __future__ import annotations

import argparse

from ..layout import Layout
from ..pipeline import RunSettings
from ..steps.synth import SynthSettings
from . import run as run_command
from . import synth
from .runner import EXIT_OK, Console, guarded, in_data_folder


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    steps = Console(-1 if args.quiet else 0)  # the steps print as their own commands do
    progress = not args.quiet
    code = EXIT_OK
    if not any(True for _ in layout.iter_clips("raw")):
        con.info(f"{layout.raw} has no audio: rendering the embedded dataset (clarity synth)")

        def render() -> int:
            with in_data_folder(layout, create=True):
                return synth.render(steps, layout, SynthSettings(), jobs=None,
                                    progress=progress)

        code = guarded("clarity", render)
    else:
        con.info(f"{layout.raw} has audio: using it (empty it to render the embedded set)")

    def pipeline() -> int:
        with in_data_folder(layout):
            return run_command.pipeline(steps, layout, RunSettings(), progress)

    code = max(code, guarded("clarity", pipeline))
    con.info("\noutputs:")
    for path in (layout.raw, layout.records, layout.manifest, layout.processed,
                 layout.normalization_log, layout.features, layout.analysis,
                 layout.report_html, layout.cache):
        if path.exists():
            con.info(f"  {path}")
    return code
