"""``features --analyze``: statistics and plots of the feature table, under
``features/analysis/`` (the figures are drawn by :mod:`.figures`).

* ``stats.csv``: per feature, the count, mean, std, min, median and max overall, per subset,
  per instrument and per flaw (long format: ``feature, group_by, group, ...``);
* ``summary.json``: NaN/Inf counts, constant features, and per instrument the features that
  do not separate gold from flawed (absolute standardized mean difference < 0.2);
* ``distributions_<instrument>.png``: each named feature's gold vs flawed distribution
  (box plots of values standardized over the instrument's clips);
* ``pca.png``: the standardized fingerprints projected on their first two principal
  components, one colour per flaw (gold in grey).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import taxonomy
from ..features.tables import (FEATURES_PARQUET, METADATA_JSON, check_tables,
                               load_training_table, table_columns)
from ..fsutil import atomic_path, atomic_write_json, sha256_file
from ..layout import Layout
from . import figures

#: |Cohen's d| below this: the feature does not separate gold from flawed for an instrument.
SEPARATION_D = 0.2


def _stats_rows(df, cols: list[str]) -> list[dict[str, Any]]:
    rows = []
    groupings = [("all", None), ("subset", "subset"), ("instrument", "instrument"),
                 ("flaw", "flawed_type")]
    for label, key in groupings:
        groups = [("all", df)] if key is None else list(df.groupby(key, sort=True))
        for name, part in groups:
            desc = part[cols].agg(["count", "mean", "std", "min", "median", "max"]).T
            for feat, r in desc.iterrows():
                rows.append({"feature": feat, "group_by": label, "group": name,
                             **{k: float(r[k]) for k in desc.columns}})
    return rows


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """Standardized mean difference b - a (pooled std); 0 when both groups are constant.

    Parameters
    ----------
    a, b : np.ndarray
        The two groups' values (e.g. gold, then one flaw).

    Returns
    -------
    float
        0.0 when either group has fewer than two values.
    """
    if len(a) < 2 or len(b) < 2:
        return 0.0
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1))
                       / (len(a) + len(b) - 2))
    return 0.0 if pooled == 0 else float((b.mean() - a.mean()) / pooled)


def _inputs_digest(layout: Layout) -> str:
    h = hashlib.sha256()
    for name in (FEATURES_PARQUET, METADATA_JSON):
        h.update(sha256_file(layout.features / name).encode())
    return h.hexdigest()


def analyze(layout: Layout, force: bool = False) -> dict[str, Any]:
    """Write the statistics and plots; return the summary.

    Skipped (the previous summary is returned) when the tables are byte for byte the ones
    the existing analysis was made from, unless ``force``.
    """
    with layout.lock():
        return _analyze(layout, force)


def _up_to_date(out: Path, digest: str) -> dict[str, Any] | None:
    try:
        previous = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    if previous.get("inputs_sha256") == digest and all(
            (out / p).is_file() for p in previous.get("plots", [])):
        return {**previous, "up_to_date": True}
    return None


def _analyze(layout: Layout, force: bool) -> dict[str, Any]:
    out = layout.analysis
    check_tables(layout)  # whole and unchanged, or DataDirError saying what to run
    digest = _inputs_digest(layout)
    if not force and (previous := _up_to_date(out, digest)):
        return previous  # (without reading the tables or importing pandas)
    import pandas as pd

    cols = table_columns(layout)[3:3 + 64]
    # only what the statistics and plots read: not the labels' text (3.4 KB a row)
    df = load_training_table(layout.root, columns=["subset", "instrument", *cols,
                                                   "flawed_type"])
    out.mkdir(parents=True, exist_ok=True)
    schema = "seed" if cols[-1] == "reserved_41" else "extended"
    named = [c for c in cols if not c.startswith("reserved_")]
    values = df[cols].to_numpy(dtype=float)

    stats = pd.DataFrame(_stats_rows(df, cols))
    with atomic_path(out / "stats.csv") as tmp:
        stats.to_csv(tmp, index=False, float_format="%.9g")

    separation: dict[str, dict[str, float]] = {}
    weak: dict[str, list[str]] = {}
    for inst, part in df.groupby("instrument"):
        gold = part[part["subset"] == "gold"]
        flawed = part[part["subset"] == "flawed"]
        d = {c: cohens_d(gold[c].to_numpy(float), flawed[c].to_numpy(float)) for c in named}
        separation[inst] = {c: round(v, 4) for c, v in d.items()}
        weak[inst] = [c for c, v in d.items() if abs(v) < SEPARATION_D]
    summary: dict[str, Any] = {
        "schema": schema, "rows": int(len(df)), "inputs_sha256": digest,
        "nan": int(np.isnan(values).sum()), "inf": int(np.isinf(values).sum()),
        "constant_features": [c for c in cols if df[c].nunique(dropna=False) <= 1],
        "separation_threshold_abs_d": SEPARATION_D,
        "not_separating_gold_from_flawed": weak,
        "gold_vs_flawed_cohens_d": separation,
        "plots": _plots(df, named, out),
    }
    atomic_write_json(out / "summary.json", summary)
    return summary


def _plots(df, named: list[str], out: Path) -> list[str]:
    """``distributions_<instrument>.png`` for each instrument present, then ``pca.png``."""
    written = []
    for inst in taxonomy.INSTRUMENTS:
        part = df[df["instrument"] == inst]
        if not part.empty:
            figures.save_png(figures.distributions(part, named, inst),
                             out / f"distributions_{inst}.png")
            written.append(f"distributions_{inst}.png")
    figures.save_png(figures.pca_by_flaw(df, named), out / "pca.png")
    return [*written, "pca.png"]
