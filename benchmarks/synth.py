"""`clarity synth` wall time: the default dataset (500 gold + 500 flawed), side by side.

Runs, each into a fresh temporary folder: serial (--jobs 1, the baseline), the default (all
cores), and a warm re-run of the default (everything up to date). Prints seconds, clips per
second and ratios against the serial run, then validates the default set (no silent or
clipped file). Goal: default under 30 s on a 2-core machine.

Run: ``.venv/bin/python benchmarks/synth.py [--per-instrument 100]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from ngn_clarity.layout import Layout
from ngn_clarity.steps.synth import SynthSettings, synthesize
from ngn_clarity.steps.validate import validate


def timed(layout: Layout, n: int, jobs: int | None) -> float:
    t0 = time.perf_counter()
    rep = synthesize(layout, SynthSettings(per_instrument=n), jobs=jobs, progress=False)
    assert rep.ok, rep.skipped[:3]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-instrument", type=int, default=100)
    args = ap.parse_args()
    n, clips = args.per_instrument, args.per_instrument * 10
    tmp = Path(tempfile.mkdtemp(prefix="clarity-bench-"))
    try:
        serial = timed(Layout(tmp / "serial"), n, 1)
        shutil.rmtree(tmp / "serial")
        default = timed(Layout(tmp / "default"), n, None)
        warm = timed(Layout(tmp / "default"), n, None)
        rep = validate(Layout(tmp / "default"))
        clipped = [f for f in rep.warnings if "clipping" in f.reason]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cores = os.cpu_count()
    print(f"clarity synth, {clips} clips ({n} gold + {n} flawed per instrument), {cores} cores")
    print(f"{'run':<22} {'seconds':>8} {'clips/s':>8} {'x serial':>9}")
    for name, t in (("serial (--jobs 1)", serial), (f"default (--jobs {cores})", default),
                    ("warm re-run", warm)):
        print(f"{name:<22} {t:8.2f} {clips / t:8.1f} {t / serial:9.2f}")
    print(f"validation of the default set: {len(rep.errors)} error(s), "
          f"{len(clipped)} clipped file(s); goal: default < 30 s -> "
          f"{'met' if default < 30 else 'NOT met'}")


if __name__ == "__main__":
    main()
