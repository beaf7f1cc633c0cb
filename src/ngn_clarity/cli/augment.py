"""``clarity augment``: labelled flawed clips from every gold clip (the flaw engine)."""

from __future__ import annotations

import argparse

from ..errors import SettingsError
from ..layout import Layout
from ..steps.augment import AugmentSettings, parse_severity
from ..steps.dataset import augment_outcome
from .runner import Console, cluster, jobs, scheduler, setting


def _severity(text: str) -> tuple[float, float]:
    try:
        return parse_severity(text)
    except SettingsError as e:
        raise argparse.ArgumentTypeError(e.reason) from None


def options(p) -> None:
    """``--per-gold``, ``--severity``, ``--seed`` (also ``clarity dataset --augment``)."""
    setting(p, "--per-gold", AugmentSettings, "per_gold",
            "flawed clips per gold clip, going round the instrument's five flaws")
    lo, hi = AugmentSettings.default("severity")
    p.add_argument("--severity", type=_severity, default=(lo, hi), metavar="LO,HI",
                   help=f"severity drawn uniformly in [LO, HI], 0 = mild but audible, "
                        f"1 = strong (default {lo:g},{hi:g})")
    setting(p, "--seed", AugmentSettings, "seed", "random seed")
    setting(p, "--gold-variants", AugmentSettings, "gold_variants",
            "first make N taste-band copies of each gold clip (tone, gentle compression, "
            "short room, ...: what an engineer calls fine), recorded as gold with origin taste")
    p.add_argument("--replace", action="store_true",
                   help="first remove the flawed clips augment made with another seed or "
                        "severity range (or from an earlier version of their gold clip)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    options(p)
    jobs(p)
    scheduler(p)


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    cfg = AugmentSettings(per_gold=args.per_gold, severity=args.severity, seed=args.seed,
                          replace=args.replace, gold_variants=args.gold_variants)
    out = augment_outcome(layout, cfg, jobs=args.jobs, scheduler=cluster(args),
                          progress=not args.quiet)
    con.info(out.headline)
    assert out.report is not None
    return con.finish(out.report)
