"""The report's "Reference and decision" section: what good sounds like to the model (each
instrument's gold band from ``models/reference.json``, with a flawed clip of the data folder
drawn over it, like a tonal-balance target), where that gold came from (training or
``clarity calibrate``), the none thresholds, and accuracy against coverage ("not sure")."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import taxonomy
from ..features.analysis import THIRD_OCTAVES
from ..layout import Layout
from . import figures


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _example(layout: Layout, inst: str) -> tuple[str, list[float]] | None:
    """A flawed clip of ``inst`` from ``spectra.parquet`` (an EQ flaw where there is one):
    (label, its 1/3-octave spectrum)."""
    path = layout.features / "spectra.parquet"
    if not path.is_file():
        return None
    import pandas as pd

    df = pd.read_parquet(path)
    cols = [c for c in df.columns if c.startswith("ltas_")]
    part = df[(df["instrument"] == inst) & (df["flawed_type"] != taxonomy.NO_FLAW)]
    eq = part[part["flawed_type"].isin(("muddy", "boomy", "harsh", "boxy", "nasal"))]
    row = (eq if len(eq) else part).head(1)
    if row.empty:
        return None
    r = row.iloc[0]
    return f"{r['file']} ({r['flawed_type']})", [float(v) for v in r[cols]]


def _bands(layout: Layout, ref: dict[str, Any]) -> list[str]:
    out = []
    for inst in taxonomy.INSTRUMENTS:
        band = ref.get("profiles", {}).get(inst, {}).get("spectrum") or {}
        if not band:
            continue
        fig = figures.reference_band(inst, np.array(THIRD_OCTAVES), band,
                                     _example(layout, inst))
        out.append(f'<img src="{figures.data_uri(fig)}" alt="{inst} gold reference band">')
    return out


def section(layout: Layout) -> str:
    """The section's HTML (a line saying there is no model when there is none)."""
    ref = _read(layout.models / "reference.json")
    card = _read(layout.models / "model_card.json") or {}
    metrics = _read(layout.models / "metrics.json") or {}
    if ref is None:
        return "<p>No reference: run <code>clarity train</code>.</p>"
    origin = ref.get("origin", {})
    by = ("your gold (<code>clarity calibrate</code> on <code>"
          f"{html.escape(str(origin.get('gold')))}</code>, {html.escape(str(origin.get('at')))})"
          if origin.get("by") == "calibrate" else "the training data's gold")
    counts = ", ".join(f"{i} {n}" for i, n in ref.get("counts", {}).items())
    out = [f"<p>The model compares each clip with {by}: {counts} gold clips; each clip against "
           f"its 5 nearest gold clips of the same instrument (matched on octave levels).</p>"]
    decision = card.get("decision", {})
    if decision:
        thr = ", ".join(f"{i} {t:.3f}" for i, t in decision["none_thresholds"].items())
        out.append(f"<p>None thresholds (a clip is <code>none</code> when its probability of "
                   f"none is at least its instrument's; set so that "
                   f"{decision.get('none_share', 0.9):.0%} of gold is called none, "
                   f"{html.escape(str(decision.get('fitted_on')))}): {thr}. Conformal set "
                   f"threshold {decision['conformal_set_threshold']:.3f} (confidence "
                   f"{decision.get('confidence')}).</p>")
    if metrics.get("coverage"):
        rows = "".join(f"<tr><td>{r['confidence']}</td><td>{r['coverage']:.3f}</td>"
                       f"<td>{'' if r['accuracy_answered'] is None else r['accuracy_answered']}"
                       f"</td></tr>" for r in metrics["coverage"])
        out.append("<h3>Accuracy against coverage (\"not sure\", out-of-fold, cross-fitted)"
                   "</h3><table><thead><tr><th>set confidence</th><th>share answered</th>"
                   f"<th>accuracy of the answered</th></tr></thead><tbody>{rows}</tbody>"
                   "</table>")
    return "\n".join(out + _bands(layout, ref))
