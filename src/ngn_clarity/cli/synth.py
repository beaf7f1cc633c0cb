"""``clarity synth``: the embedded gold + flawed dataset into ``raw/``."""

from __future__ import annotations

import argparse

from ..layout import Layout
from ..steps.synth import SynthSettings, synthesize
from .runner import Console, flag, jobs, setting


def add_arguments(p: argparse.ArgumentParser) -> None:
    setting(p, "--per-instrument", SynthSettings, "per_instrument",
            "gold clips per instrument, and as many flawed")
    setting(p, "--flawed-per-instrument", SynthSettings, "flawed_per_instrument",
            "flawed clips per instrument (default: same as --per-instrument)")
    setting(p, "--seed", SynthSettings, "seed", "random seed")
    p.add_argument("--soundfont", metavar="PATH", default=SynthSettings.default("soundfont"),
                   help="a .sf2/.sf3 General MIDI SoundFont (default: TimGM6mb.sf2 from the "
                        "pretty_midi wheel)")
    flag(p, "--no-taste", SynthSettings, "taste",
         "render gold clips dry, without the taste band's production variety")
    jobs(p)


def creates(args: argparse.Namespace) -> bool:
    return True


def render(con: Console, layout: Layout, cfg: SynthSettings, *, jobs: int | None,
           progress: bool) -> int:
    """Render, then say where and what (also ``clarity demo``'s first step)."""
    rep = synthesize(layout, cfg, jobs=jobs, progress=progress)
    con.info(f"synth: {layout.raw}")
    return con.finish(rep)


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    cfg = SynthSettings(args.per_instrument, args.flawed_per_instrument, args.seed,
                        args.soundfont, args.taste)
    return render(con, layout, cfg, jobs=args.jobs, progress=not args.quiet)
