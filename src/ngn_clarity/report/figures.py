"""Every figure the package draws (matplotlib, Agg): data in, a figure out.

The report page embeds them (:func:`data_uri`); ``features --analyze`` and ``train`` save
some as PNG files (:func:`save_png`). matplotlib is imported on first use (it costs a
process about 2 s, see :mod:`ngn_clarity.lazy`), so importing this module is free.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from .. import taxonomy
from ..fsutil import atomic_path

#: The spectra show this many dB below their highest band.
SPECTRUM_RANGE_DB = 75.0

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def data_uri(fig, dpi: int = 80) -> str:
    """The figure as a PNG ``data:`` URI (the figure is closed)."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def save_png(fig, dest: Path, dpi: int = 80) -> None:
    """Write the figure to ``dest`` as PNG, atomically (the figure is closed)."""
    plt = pyplot()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)


def standardize(x: np.ndarray) -> np.ndarray:
    """Each column minus its mean over its standard deviation (constant columns: 1)."""
    if len(x) == 0:  # no clip: nothing to scale (numpy would warn)
        return x
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def principal_components(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``z`` (centred, ``[rows, features]``) projected on its first two principal
    components, and their share of the variance.

    From the eigenvectors of the ``[features, features]`` matrix ``z.T @ z`` (the right
    singular vectors of ``z``; its eigenvalues are the squared singular values), not an SVD
    of ``z`` itself, which makes a ``[rows, features]`` matrix (10 MB at 20,000 rows,
    tracemalloc) to keep two of its columns. Each component's sign puts its largest
    loading positive (an SVD's sign is arbitrary)."""
    w, v = np.linalg.eigh(z.T @ z)
    order = np.argsort(w)[::-1]
    w, v = np.clip(w[order], 0.0, None), v[:, order[:2]]
    cols = np.arange(v.shape[1])
    v *= np.where(v[np.abs(v).argmax(axis=0), cols] < 0, -1.0, 1.0)
    return z @ v, w[:2] / max(w.sum(), 1e-12)


# --- features --analyze ----------------------------------------------------------------------

def box_stats(z: np.ndarray) -> np.ndarray:
    """Per column of ``z`` (NaN ignored): [whisker low, q1, median, q3, whisker high], the
    whiskers at the most extreme values within 1.5 IQR of the box (matplotlib's boxplot
    rule). Shape ``[5, columns]``; an all-NaN column gives NaN."""
    q1, med, q3 = np.nanpercentile(z, [25, 50, 75], axis=0)
    iqr = q3 - q1
    inside_lo = np.where(z >= q1 - 1.5 * iqr, z, np.nan)
    inside_hi = np.where(z <= q3 + 1.5 * iqr, z, np.nan)
    return np.stack([np.nanmin(inside_lo, axis=0), q1, med, q3, np.nanmax(inside_hi, axis=0)])


def _boxes(ax, stats: np.ndarray, pos: np.ndarray, width: float, color: str) -> None:
    """Box plots from :func:`box_stats` as three artists (boxes, whiskers, medians), not
    six per box: drawing 64 features x 2 groups stays a few milliseconds."""
    from matplotlib.collections import LineCollection, PolyCollection

    lo, q1, med, q3, hi = stats
    left, right = pos - width / 2, pos + width / 2
    ax.add_collection(PolyCollection(
        [((a, b), (c, b), (c, d), (a, d)) for a, b, c, d in zip(left, q1, right, q3)],
        facecolors=color, edgecolors=color, alpha=0.55))
    ax.add_collection(LineCollection(
        [*(((x, a), (x, b)) for x, a, b in zip(pos, lo, q1)),
         *(((x, a), (x, b)) for x, a, b in zip(pos, q3, hi))], colors=color, linewidths=0.8))
    ax.add_collection(LineCollection(
        [((a, m), (c, m)) for a, c, m in zip(left, right, med)], colors="black",
        linewidths=0.8))


def margins(fig, left: float = 0.8, bottom: float = 0.6, right: float = 0.2,
            top: float = 0.4) -> None:
    """Fixed margins in inches (``tight_layout`` measures every label's text and costs
    0.15-0.2 s a figure; the figures drawn on every run know their labels' size)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=left / w, bottom=bottom / h, right=1 - right / w,
                        top=1 - top / h)


def distributions(part, named: list[str], inst: str):
    """For every feature of one instrument's clips, box plots of gold (blue) and flawed (red)
    values, standardized over the instrument's clips so that all share one axis."""
    plt = pyplot()
    z = standardize(part[named].to_numpy(float))
    gold = (part["subset"] == "gold").to_numpy()
    fig, ax = plt.subplots(figsize=(max(8.0, 0.32 * len(named) + 2), 4.8))
    pos = np.arange(len(named)) * 3.0
    spans = []
    for mask, offset, color, label in ((gold, -0.5, "tab:blue", "gold"),
                                       (~gold, 0.5, "tab:red", "flawed")):
        if mask.any():
            stats = box_stats(z[mask])
            _boxes(ax, stats, pos + offset, 0.9, color)
            spans += [np.nanmin(stats[0]), np.nanmax(stats[4])]
            ax.plot([], [], color=color, linewidth=6, alpha=0.55, label=label)
    finite = [v for v in spans if np.isfinite(v)]
    ax.set_ylim((min(finite) - 0.3, max(finite) + 0.3) if finite else (-1, 1))
    ax.set_xlim(-2, pos[-1] + 2 if len(pos) else 2)
    ax.set_xticks(pos)
    ax.set_xticklabels(named, rotation=90, fontsize=7)
    ax.set_ylabel("standardized value (z)")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"{inst}: gold vs flawed, per feature ({int(gold.sum())} gold, "
                 f"{int((~gold).sum())} flawed clips)")
    longest = max((len(n) for n in named), default=4)
    margins(fig, left=0.7, bottom=0.2 + 0.06 * longest, right=0.2, top=0.4)
    return fig


def pca_by_flaw(df, named: list[str]):
    """The standardized fingerprints on their first two principal components, one colour
    per flaw (gold in grey)."""
    plt = pyplot()
    z = standardize(df[named].to_numpy(float))
    fig, ax = plt.subplots(figsize=(9, 7))
    if len(z) >= 2:
        proj, explained = principal_components(z)
        flaws = df["flawed_type"].fillna("none").to_numpy()
        cmap = plt.get_cmap("tab20")
        for i, flaw in enumerate(sorted(set(flaws), key=lambda f: (f != "none", f))):
            m = flaws == flaw
            color = "lightgrey" if flaw == "none" else cmap(i % 20)
            ax.scatter(proj[m, 0], proj[m, 1], s=8, color=color, label=f"{flaw} ({m.sum()})")
        ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({explained[1]:.0%} of variance)")
        ax.legend(fontsize=7, markerscale=2, ncol=2)
    ax.set_title("Fingerprints, first two principal components (standardized), by flaw")
    margins(fig)
    return fig


# --- the report's dataset and feature sections ----------------------------------------------

def loudness_histograms(before: list[float], after: list[float]):
    """Integrated loudness of every clip before and after normalization."""
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(9, 2.8))
    ax[0].hist(before, bins=30, color="#888")
    ax[0].set_title("integrated loudness before (LUFS)")
    ax[1].hist(after, bins=30, color="#1f77b4")
    ax[1].set_title("after normalization (LUFS)")
    margins(fig, left=0.5, bottom=0.4)
    fig.subplots_adjust(wspace=0.25)
    return fig


def spectra(part, cols: list[str], freqs: np.ndarray, inst: str):
    """One instrument's gold long-term spectra (median and 10-90 % band) with each flaw's
    median over them; None with fewer than two gold clips."""
    gold = part[part["flawed_type"] == taxonomy.NO_FLAW][cols].to_numpy(float)
    if len(gold) < 2:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    lo, med, hi = np.nanpercentile(gold, [10, 50, 90], axis=0)
    ax.fill_between(freqs, lo, hi, color="#bbb", alpha=0.6, label="gold 10-90 %")
    ax.plot(freqs, med, color="black", linewidth=2, label=f"gold median ({len(gold)})")
    for k, flaw in enumerate(taxonomy.flaws_for(inst)):
        bad = part[part["flawed_type"] == flaw][cols].to_numpy(float)
        if len(bad):
            ax.plot(freqs, np.nanmedian(bad, axis=0), color=PALETTE[k], linewidth=1.4,
                    label=f"{flaw} median ({len(bad)})")
    ax.set_xscale("log")
    ax.set_xlim(25, 20000)
    top = float(np.nanmax(hi)) + 5  # the top 75 dB: what a flaw moves, not the floor
    ax.set_ylim(max(float(np.nanmin(lo)) - 10, top - SPECTRUM_RANGE_DB), top)
    ax.set_xlabel("Hz (1/3-octave bands)")
    ax.set_ylabel("dB re total power")
    ax.set_title(f"{inst}: what each flaw does to the long-term spectrum")
    ax.legend(fontsize=7, ncol=2)
    margins(fig, bottom=0.55)
    return fig


def effect_sizes(cols: list[str], names: list[str], d: np.ndarray):
    """Cohen's d of every feature (rows), gold against each instrument/flaw (columns)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(8, 0.28 * len(cols) + 3), 0.18 * len(names) + 2))
    im = ax.imshow(np.clip(d, -3, 3), cmap="RdBu_r", vmin=-3, vmax=3, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.02, label="Cohen's d, flaw minus gold")
    ax.set_title("effect size of each feature, gold against each flaw")
    margins(fig, left=0.3 + 0.05 * max((len(n) for n in names), default=4),
            bottom=0.3 + 0.06 * max((len(c) for c in cols), default=4), right=0.3)
    return fig


def pca_by_flaw_and_instrument(df, names: list[str]):
    """The fingerprints on their first two principal components, colour by flaw, shape by
    instrument; None with fewer than three clips."""
    z = standardize(df[names].to_numpy(float))
    if len(z) < 3:
        return None
    p, share = principal_components(z)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 6))
    flaws = df["flawed_type"].fillna(taxonomy.NO_FLAW).to_numpy()
    markers = dict(zip(taxonomy.INSTRUMENTS, "osD^v"))
    kinds = sorted(set(flaws) - {taxonomy.NO_FLAW})
    for inst in taxonomy.INSTRUMENTS:
        m = (df["instrument"] == inst).to_numpy() & (flaws == taxonomy.NO_FLAW)
        ax.scatter(p[m, 0], p[m, 1], s=10, c="#cccccc", marker=markers[inst])
    for k, flaw in enumerate(kinds):
        for inst in taxonomy.INSTRUMENTS:
            m = (df["instrument"] == inst).to_numpy() & (flaws == flaw)
            if m.any():
                ax.scatter(p[m, 0], p[m, 1], s=12, color=PALETTE[k % len(PALETTE)],
                           marker=markers[inst])
        ax.scatter([], [], color=PALETTE[k % len(PALETTE)], label=flaw)
    ax.scatter([], [], color="#cccccc", label="gold")
    for inst, mk in markers.items():
        ax.scatter([], [], color="black", marker=mk, label=inst, s=12)
    ax.set_xlabel(f"PC1 ({share[0]:.0%})")
    ax.set_ylabel(f"PC2 ({share[1]:.0%})")
    ax.legend(fontsize=7, ncol=3)
    ax.set_title("fingerprints, first two principal components (colour: flaw, shape: "
                 "instrument)")
    margins(fig)
    return fig


# --- the model -------------------------------------------------------------------------------

def confusion(labels: list[str], matrix: list[list[int]], accuracy: float, title: str):
    """A confusion matrix with each row normalised to its class (recall on the diagonal),
    so the many gold clips do not swamp the colour scale; counts in the cells."""
    plt = pyplot()
    cm = np.array(matrix, dtype=float)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(0.45 * len(labels) + 3, 0.45 * len(labels) + 2.5))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=7,
                    color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"flaw type, out-of-fold: accuracy {accuracy:.3f}\n{title}\ncolour: share "
                 f"of the true class (each row sums to 1); numbers: clips", fontsize=9)
    fig.tight_layout()
    return fig


def reference_band(inst: str, freqs: np.ndarray, band: dict[str, list[float]],
                   example: tuple[str, list[float]] | None):
    """An instrument's gold reference: the 10-90 % band and median of its gold clips'
    1/3-octave spectra, with one clip's curve over it (a tonal-balance target)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    lo, med, hi = (np.array(band[k], float) for k in ("p10", "median", "p90"))
    ax.fill_between(freqs, lo, hi, color="#bbb", alpha=0.6, label="gold 10-90 %")
    ax.plot(freqs, med, color="black", linewidth=2, label="gold median")
    if example is not None:
        ax.plot(freqs, example[1], color=PALETTE[3], linewidth=1.4, label=example[0])
    ax.set_xscale("log")
    ax.set_xlim(25, 20000)
    top = float(np.nanmax(hi))
    ax.set_ylim(top - 70, top + 5)
    ax.set_xlabel("Hz (1/3-octave bands)")
    ax.set_ylabel("dB re total power")
    ax.set_title(f"{inst}: the model's gold reference")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
