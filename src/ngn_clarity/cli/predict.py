"""``clarity predict FILE...``: flaw, confidence and corrections (the plug-in's path)."""

from __future__ import annotations

import argparse
import json

from .. import taxonomy
from ..layout import Layout
from ..model.predict import Prediction, predict
from .runner import EXIT_FAILED, EXIT_OK, Console


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="audio files to judge (any length; normalized in memory first)")
    p.add_argument("--instrument", choices=taxonomy.INSTRUMENTS,
                   default=None, help="the files' instrument (default: from names/folders)")
    p.add_argument("--json", action="store_true", help="one JSON object per file")


def show(con: Console, r: Prediction) -> None:
    """Top classes, then the corrections the flaw calls for (EQ first)."""
    if r.error is not None:
        con.problem(f"{r.file}: {r.error}")
        return
    ranked = ", ".join(f"{c} {p:.2f}" for c, p in r.top)
    guess = f", best guess {r.best_guess}" if r.flaw == "not_sure" else ""
    con.info(f"{r.file}: {r.instrument}, flaw {r.flaw}{guess} ({ranked})")
    eq = "  ".join(f"{k[3:-3]}Hz {v:+.1f}" for k, v in r.corrections.items()
                   if k.startswith("eq_"))
    rest = "  ".join(f"{k} {v:.2f}" for k, v in r.corrections.items()
                     if not k.startswith("eq_"))
    if eq:
        con.info(f"  EQ dB: {eq}")
    if rest:
        con.info(f"  {rest}")


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    results = predict(layout, args.files, args.instrument)
    for r in results:
        if args.json:
            print(json.dumps(r.to_dict()), flush=True)
        else:
            show(con, r)
    return EXIT_FAILED if any(r.error is not None for r in results) else EXIT_OK
