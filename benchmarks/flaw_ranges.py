"""Measure where each flaw's severity 0 and 1 lie on its named quantity, and where the taste
band ends: the table of ``docs/flaw-engine.md`` (written between its markers with
``--write``).

For each flaw (measured with the first instrument that has it, and thin with bass too), on
the test signals of :mod:`ngn_clarity.flaws.quantities`: the largest value the taste band
applies over ``--taste-draws`` draws, and the range (min-max over every variant and
``--draws`` draws) at severity 0 and at severity 1.

    python benchmarks/flaw_ranges.py [--draws 4] [--taste-draws 100] [--write]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ngn_clarity import taxonomy
from ngn_clarity.flaws import VARIANTS, make_flawed
from ngn_clarity.flaws import quantities as Q
from ngn_clarity.flaws.taste import apply_taste

SR = 44100
DOC = Path(__file__).resolve().parent.parent / "docs" / "flaw-engine.md"
BEGIN, END = "<!-- ranges: written by benchmarks/flaw_ranges.py -->", "<!-- end of ranges -->"


def cases() -> list[tuple[str, str]]:
    out = [(next(i for i in taxonomy.INSTRUMENTS if f in taxonomy.flaws_for(i)), f)
           for f in taxonomy.ALL_FLAW_SLUGS]
    return out + [("bass", "thin")]


def measure(instrument: str, flaw: str, draws: int, taste_draws: int) -> dict:
    row: dict = {"taste": -np.inf, 0.0: [], 1.0: []}
    for name in Q.signals_for(flaw):
        x = Q.SIGNALS[name](4.0 if name != "sine" else 2.0, SR)
        for s in range(taste_draws):
            y = apply_taste(x, SR, instrument, np.random.default_rng(s)).audio
            row["taste"] = max(row["taste"], Q.named(flaw, instrument, x, y, SR))
        for variant in sorted(VARIANTS[flaw]):
            for sev in (0.0, 1.0):
                for s in range(draws):
                    made = make_flawed(x, SR, instrument, flaw, sev, np.random.default_rng(s),
                                       variant)
                    row[sev].append(Q.named(flaw, instrument, x, made.audio, SR,
                                            made.correction["remove_jitter_ms"]))
    return row


def table(rows: dict[tuple[str, str], dict]) -> str:
    lines = ["| flaw | measured on | quantity | taste band, largest | severity 0 | severity 1 |",
             "|---|---|---|---|---|---|"]
    for (inst, flaw), r in rows.items():
        sig = " and ".join(Q.signals_for(flaw))
        lines.append(f"| {flaw}{' (bass)' if (inst, flaw) == ('bass', 'thin') else ''} | "
                     f"{sig} | {Q.UNITS[flaw]} | {r['taste']:.1f} | "
                     f"{min(r[0.0]):.1f} - {max(r[0.0]):.1f} | "
                     f"{min(r[1.0]):.1f} - {max(r[1.0]):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=4)
    ap.add_argument("--taste-draws", type=int, default=100)
    ap.add_argument("--write", action="store_true", help="write the table into the docs")
    args = ap.parse_args(argv)
    rows = {}
    for inst, flaw in cases():
        rows[(inst, flaw)] = measure(inst, flaw, args.draws, args.taste_draws)
        print(f"{flaw:<16} {inst:<7} taste {rows[(inst, flaw)]['taste']:.1f}", flush=True)
    text = table(rows)
    print(text)
    if args.write:
        doc = DOC.read_text()
        a, b = doc.index(BEGIN) + len(BEGIN), doc.index(END)
        DOC.write_text(doc[:a] + "\n" + text + "\n" + doc[b:])
        print(f"-> {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
