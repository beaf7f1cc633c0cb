"""``clarity fix FILE...``: apply the predicted correction, write ``<stem>.fixed.wav``."""

from __future__ import annotations

import argparse
import json

from .. import taxonomy
from ..layout import Layout
from ..model.fix import FixResult, FixSettings, fix
from .runner import EXIT_FAILED, EXIT_OK, Console, setting


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="audio files to fix (judged as `predict` judges them)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write the fixed files here (default: beside each input); an "
                        "existing file is never replaced: <stem>.fixed-2.wav, ... instead")
    setting(p, "--strength", FixSettings, "strength",
            "share of the predicted correction to apply (EQ gains and crest rise)",
            metavar="0..1")
    p.add_argument("--instrument", choices=taxonomy.INSTRUMENTS, default=None,
                   help="the files' instrument (default: from names/folders)")
    p.add_argument("--dry-run", action="store_true",
                   help="judge and process, say what would be written, write nothing")
    p.add_argument("--json", action="store_true", help="one JSON object per file")


def show(con: Console, r: FixResult) -> None:
    """The answer, then each stage in one line, then what was not done."""
    if r.error is not None:
        con.problem(f"{r.file}: {r.error}")
        return
    p = r.prediction
    assert p is not None
    con.info(f"{r.file}: {p.instrument}, flaw {p.flaw} ({p.confidence:.2f})")
    for stage in r.applied:
        if stage["stage"] == "eq":
            gains = "  ".join(f"{f['freq_hz']:g}Hz {f['gain_db']:+.1f}"
                              for f in stage["filters"])
            con.info(f"  EQ (low shelf, peaks Q {stage['filters'][1]['q']}, high shelf), "
                     f"strength {stage['strength']:g}: {gains}")
        elif stage["stage"] == "transient_shaper":
            con.info(f"  transient shaper {stage['amount_db_per_db']:.2f} dB/dB: crest factor "
                     f"{stage['crest_before_db']:.1f} -> {stage['crest_after_db']:.1f} dB "
                     f"(asked +{stage['crest_rise_asked_db']:.1f})")
        elif stage["stage"] == "level":
            limiter = (f", true-peak limiter {stage['true_peak_limiter_db']:.1f} dB"
                       if stage["true_peak_limiter_db"] > 0 else "")
            con.info(f"  level: {stage['output_lufs']:.2f} LUFS (input "
                     f"{stage['input_lufs']:.2f}), true peak "
                     f"{stage['output_true_peak_dbtp']:.1f} dBTP{limiter}")
            if stage.get("note"):
                con.info(f"  note: {stage['note']}")
    if r.untouched:
        con.info(f"  {r.untouched}")
    if r.output:
        con.info(f"  -> {r.output}" if r.written else f"  would write {r.output} (dry run)")


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    cfg = FixSettings(strength=args.strength, out_dir=args.out, dry_run=args.dry_run)
    failed = False
    for r in fix(layout, args.files, cfg, args.instrument):
        failed |= r.error is not None
        if args.json:
            print(json.dumps(r.to_dict()), flush=True)
        else:
            show(con, r)
    return EXIT_FAILED if failed else EXIT_OK
