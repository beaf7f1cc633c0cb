"""``clarity loudness FILE...``: integrated loudness, LRA and true peak of files."""

from __future__ import annotations

import argparse

from .. import audio, loudness
from .runner import Console, per_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files to measure")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per file (JSON lines) instead of a table")


def run(args: argparse.Namespace, con: Console, layout: None) -> int:
    if not args.json:
        con.info(f"{'integrated':>10} {'LRA':>6} {'TP dBTP':>8} {'peak':>7} {'dur s':>7}  file")

    def show(name: str, r: dict) -> None:
        flags = f"  [{', '.join(r['flags'])}]" if r["flags"] else ""
        con.info(f"{r['integrated_lufs']:10.2f} {r['loudness_range_lu']:6.2f} "
                 f"{r['true_peak_dbtp']:8.2f} {r['sample_peak_dbfs']:7.2f} "
                 f"{r['duration_s']:7.2f}  {name}{flags}")

    return per_file(con, args.files, args.json,
                    lambda name: loudness.measure(*audio.read_usable(name)).to_dict(), show)
