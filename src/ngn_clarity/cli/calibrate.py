"""``clarity calibrate --gold DIR``: compare with a studio's own gold, no retraining."""

from __future__ import annotations

import argparse

from .. import taxonomy
from ..layout import Layout
from ..model.calibrate import CalibrateSettings, calibrate
from .runner import EXIT_FAILED, EXIT_OK, Console, jobs, setting


def _instruments(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    bad = [n for n in names if n not in taxonomy.INSTRUMENTS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"instruments are one or more of {', '.join(taxonomy.INSTRUMENTS)} (comma "
            f"separated), not {text!r}")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gold", metavar="DIR", required=True,
                   help="your gold stems: drums/ vocals/ bass/ guitar/ keys/ folders, or files "
                        "named by instrument; any length")
    setting(p, "--share", CalibrateSettings, "share",
            "set each instrument's none threshold so that this share of your gold is called "
            "none (cross-fitted: a file is never judged against itself)", metavar="SHARE")
    setting(p, "--segment", CalibrateSettings, "segment",
            "cut each file into clips of about SECONDS at its active stretches",
            metavar="SECONDS")
    p.add_argument("--instruments", type=_instruments, default=None, metavar="LIST",
                   help="calibrate only these (comma separated); the others keep the "
                        "model's reference (default: all five, each needs gold)")
    jobs(p)


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    cfg = CalibrateSettings(gold=args.gold, share=args.share, segment=args.segment,
                            instruments=args.instruments, jobs=args.jobs)
    done = calibrate(layout, cfg, progress=not args.quiet, say=con.info)
    con.info("none thresholds: " + ", ".join(f"{i} {t:.3f}" for i, t in done.thresholds.items())
             + "; gold called none (cross-fitted): "
             + ", ".join(f"{i} {v:.0%}" for i, v in done.called_none.items()))
    con.info(f"ONNX checked on your {sum(done.counts.values())} gold clips: "
             f"{done.parity['label_mismatches']} mismatches; models -> {layout.models}")
    con.report(done.report)
    return EXIT_OK if done.report.ok else EXIT_FAILED
