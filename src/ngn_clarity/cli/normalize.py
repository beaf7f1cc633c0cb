"""``clarity normalize`` / ``loudness_normalizer.py``: ``processed/`` at the target loudness."""

from __future__ import annotations

import argparse

from .. import settings
from ..gain import NormalizeSettings
from ..layout import Layout
from ..steps.normalize import normalize, verify
from .runner import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, Console, choice, cluster, jobs,
                     scheduler, setting)

STEPS = ("create_dirs", "normalize", "verify")


def target(g) -> None:
    """``--target-lufs`` (alias ``--target``), also ``clarity run``'s."""
    setting(g, "--target-lufs", NormalizeSettings, "target_lufs",
            "target integrated loudness", metavar="LUFS", aliases=("--target",))


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("steps (seed flags)")
    g.add_argument("--create-dirs", action="store_true", help="create processed/ and features/")
    g.add_argument("--normalize", action="store_true",
                   help="normalize every usable raw/ clip into processed/")
    g.add_argument("--verify", action="store_true",
                   help="re-measure processed/; exit 1 if any clip is missing or off target")
    g.add_argument("--all", action="store_true", help="create-dirs, normalize, verify")
    target(p)
    choice(p, "--subtype", NormalizeSettings, "subtype",
           "output sample format: FLOAT (32-bit float WAV, never clips); PCM lowers gain to "
           "keep true peak <= -1 dBTP")
    jobs(p)
    scheduler(p)
    p.add_argument("--force", action="store_true", help="redo clips that are up to date")


def _wants(args: argparse.Namespace, step: str) -> bool:
    return bool(args.all or getattr(args, step))


def without_data(args: argparse.Namespace, con: Console) -> int | None:
    if not any(_wants(args, s) for s in STEPS):
        con.problem("nothing to do: give --create-dirs, --normalize, --verify or --all")
        return EXIT_USAGE
    return None


def creates(args: argparse.Namespace) -> bool:
    """Only an explicit ``--create-dirs`` starts a data folder (``--all``: only an existing
    one)."""
    return bool(args.create_dirs)


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    cfg = NormalizeSettings(target_lufs=args.target_lufs, subtype=args.subtype)
    failed = False
    if _wants(args, "create_dirs"):
        created = layout.init()
        con.info(f"create-dirs: {len(created)} folder(s) created under {layout.root}")
    if _wants(args, "normalize"):
        res = normalize(layout, cfg, jobs=args.jobs, scheduler=cluster(args),
                        force=args.force, progress=not args.quiet)
        t = res.totals
        con.info(f"normalize: {t.normalized} normalized, {t.up_to_date} up to date, "
                 f"{t.failed} failed, {t.refused} refused, {t.gain_limited} "
                 f"gain-limited -> {layout.normalization_log}")
        failed |= con.finish(res.report) != EXIT_OK
    if _wants(args, "verify"):
        rep = verify(layout, cfg)
        con.info(f"verify: {len(rep.done)} within {settings.VERIFY_TOLERANCE_LU} LU of "
                 f"target, {len(rep.skipped)} problem(s)")
        failed |= con.finish(rep) != EXIT_OK
    return EXIT_FAILED if failed else EXIT_OK
