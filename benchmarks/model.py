"""Model quality side by side: seed vs extended fingerprint, Random Forest vs LightGBM.

Renders the embedded set (``clarity synth --per-instrument N``, default 300: 3000 clips) or
uses ``--data DIR`` (a data folder already run), then for each schema and classifier the
same out-of-fold evaluation ``clarity train`` does (``ngn_clarity.model.evaluate``):

* grouped K-fold (a gold clip and every flawed clip made from it on one side): accuracy
  mean +- sd over folds, gold-vs-flawed accuracy, gold recall, the weakest flaw recalls;
* leave-source-out: whole source families (a General MIDI family, a procedural voice) held
  out, so the test sounds were never heard;
* the correction regressor's EQ error on flawed clips (it does not depend on the classifier).

Run: ``.venv/bin/python benchmarks/model.py [--per-instrument 300] [--cv 5] [--data DIR]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ngn_clarity import taxonomy
from ngn_clarity.features.schema import SCHEMAS
from ngn_clarity.layout import Layout
from ngn_clarity.model.evaluate import Data, grouped_splits, out_of_fold, source_splits
from ngn_clarity.model.metrics import summarize
from ngn_clarity.steps.tables import build_tables


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "ngn_clarity.cli", *args, "-q"], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-instrument", type=int, default=300)
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--data", type=Path, default=None, help="a data folder already run")
    args = ap.parse_args()
    tmp = None
    if args.data is None:
        tmp = Path(tempfile.mkdtemp(prefix="clarity-model-"))
        args.data = tmp / "data"
        _cli("synth", "--per-instrument", str(args.per_instrument), "--data-dir",
             str(args.data))
        _cli("run", "--data-dir", str(args.data))
    layout = Layout(args.data)
    rows = []
    try:
        for schema in ("seed", "extended"):
            table = build_tables(layout, schema, jobs=args.jobs, progress=False,
                                 write=False).table
            data = Data.from_table(table, SCHEMAS[schema].names)
            grouped = grouped_splits(data, args.cv, 0)
            loso = source_splits(data, args.cv)
            for kind in ("rf", "lgbm"):
                t0 = time.perf_counter()
                oof = out_of_fold(data, grouped, kind, regress=kind == "lgbm",
                                  jobs=args.jobs)
                cv = summarize(data, oof)
                held = summarize(data, out_of_fold(data, loso, kind, regress=False,
                                                   jobs=args.jobs)) if loso else None
                rows.append((schema, kind, len(data.y), cv, held,
                             time.perf_counter() - t0))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'schema':<9} {'model':<5} {'clips':>5} {'grouped CV acc':>15} "
          f"{'gold/flawed':>11} {'gold rec':>8} {'LOSO acc':>8} {'EQ MAE':>7} {'s':>5}  "
          f"weakest flaw recalls")
    for schema, kind, n, cv, held, secs in rows:
        flaws = {c: r for c, r in cv.recall.items() if c != taxonomy.NO_FLAW}
        weakest = ", ".join(f"{c} {r:.2f}" for c, r in sorted(flaws.items(),
                                                             key=lambda kv: kv[1])[:5])
        eq = cv.eq_mae_flawed_db
        print(f"{schema:<9} {kind:<5} {n:>5} {cv.accuracy_mean:>8.3f} +- "
              f"{cv.accuracy_std:.3f} {cv.gold_vs_flawed_accuracy:>11.3f} "
              f"{cv.gold_recall:>8.3f} {held.accuracy if held else float('nan'):>8.3f} "
              f"{'' if eq is None else f'{eq:.2f}':>7} {secs:>5.0f}  {weakest}")


if __name__ == "__main__":
    main()
