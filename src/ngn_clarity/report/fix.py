"""The report's "Fix" section: what ``clarity fix`` did to a few clips, as spectra.

``benchmarks/fix.py`` leaves ``reports/fix_spectra.json`` in the data folder whose model it
ran: for a few held-out flawed clips (one per flaw), the loudness-matched 1/3-octave
long-term spectra of the gold clip, the flawed clip and what ``fix`` made of it, with the
distance to gold before and after. The section draws them, one small plot per clip; without
that file it says how to make it (nothing is computed here, so the page stays fast).
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from ..layout import Layout
from . import figures

#: The file the section shows, below the data folder (also one of the page's inputs).
INPUT = "reports/fix_spectra.json"


def spectra_figure(centres: list[float], clips: list[dict[str, Any]]):
    """One small plot per clip: gold, flawed and fixed spectra (dB) against frequency."""
    plt = figures.pyplot()
    cols = min(3, len(clips))
    rows = -(-len(clips) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    f = np.asarray(centres, dtype=float)
    for ax, clip in zip(axes.ravel(), clips):
        for key, colour, width in (("gold", "#222222", 2.0), ("flawed", "#d62728", 1.2),
                                   ("fixed", "#2ca02c", 1.2)):
            v = np.array([np.nan if x is None else x for x in clip[key]], dtype=float)
            ax.semilogx(f, v, color=colour, lw=width, label=key)
        ax.set_title(f"{clip['instrument']} {clip['flaw']} (called {clip['predicted']}): "
                     f"{clip['before_db']:.1f} -> {clip['after_db']:.1f} dB", fontsize=8)
        ax.set_xlabel("Hz", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(clips):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("dB (loudness matched)", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def section(layout: Layout) -> str:
    """The section's HTML (a hint when ``benchmarks/fix.py`` has left nothing to show)."""
    try:
        data = json.loads((layout.root / INPUT).read_text(encoding="utf-8"))
        clips, centres = data["clips"], data["centres_hz"]
    except (OSError, ValueError, KeyError, TypeError):
        return ("<p>No fix results to show: <code>python benchmarks/fix.py --data-dir "
                f"{html.escape(str(layout.root))}</code> fixes held-out clips with this "
                "model and leaves their spectra here.</p>")
    if not clips:
        return "<p>The fix benchmark left no clip to show.</p>"
    uri = figures.data_uri(spectra_figure(centres, clips))
    return (f"<p>What <code>clarity fix</code> did to {len(clips)} held-out clips (one per "
            f"flaw): the gold clip, the flawed clip and the fixed one, 1/3-octave long-term "
            f"spectra, loudness matched; the title gives the distance to gold before and "
            f"after (dB RMS, 50 Hz-16 kHz). {html.escape(str(data.get('what', '')))}</p>"
            f'<img src="{uri}" alt="gold, flawed and fixed spectra">')
