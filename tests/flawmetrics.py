"""What each flaw must move, measured against its gold clip (used by the flaw-engine tests).

EQ flaws raise their band against the rest of the spectrum; thin and dark lower the low or
high end; undefined lowers everything above 400 Hz; over-compression lowers the crest
factor; distortion adds energy a gain cannot explain; ringing adds energy after the notes;
sloppy timing moves the hits. Over-compression lowers the crest factor (a limiter) or narrows
the range of the 10 ms envelope (a compressor whose detector lets the first millisecond
through), whichever it does more: the flaw engine's own measure
(:func:`ngn_clarity.flaws.quantities.dynamics_loss_db`).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

from ngn_clarity.dsp import onsets
from ngn_clarity.flaws.quantities import dynamics_loss_db


def _mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def band_share(x: np.ndarray, sr: int, lo: float, hi: float) -> float:
    f, p = welch(_mono(x), sr, nperseg=8192)
    return float(p[(f >= lo) & (f < hi)].sum() / p[(f >= 20) & (f <= 20000)].sum())


def band_lift_db(flawed: np.ndarray, gold: np.ndarray, sr: int, lo: float, hi: float) -> float:
    """Mean level change (dB) of the 1/6-octave bands inside [lo, hi) minus that of the
    bands outside, over 40 Hz-16 kHz where the gold clip has energy (each clip's levels
    taken relative to its own total): how much the flaw raised the band against the rest."""
    f, pf = welch(_mono(flawed), sr, nperseg=8192)
    _, pg = welch(_mono(gold), sr, nperseg=8192)
    pf, pg = pf / pf.sum(), pg / pg.sum()
    edges = 40 * 2 ** (np.arange(0, 60) / 6)
    edges = edges[edges <= 16000]
    rows = []
    for a, b in zip(edges[:-1], edges[1:]):
        m = (f >= a) & (f < b)
        if m.any():
            rows.append((np.sqrt(a * b), pg[m].sum(), pf[m].sum()))
    top = max(g for _, g, _ in rows)
    inside, outside = [], []
    for c, g, fl in rows:
        if g >= top * 1e-6:
            (inside if lo <= c < hi else outside).append(10 * np.log10((fl + 1e-30) / g))
    return float(np.mean(inside) - np.mean(outside))


def crest_db(x: np.ndarray) -> float:
    m = _mono(x)
    return float(20 * np.log10(np.abs(m).max() / np.sqrt(np.mean(m ** 2))))


def tail_db(x: np.ndarray, sr: int) -> float:
    m = _mono(x)
    n = int(0.2 * sr)
    return float(10 * np.log10(np.mean(m[-n:] ** 2) / np.mean(m ** 2) + 1e-12))


def quiet_fill_db(flawed: np.ndarray, gold: np.ndarray, sr: int) -> float:
    """How much louder (dB, relative to each clip's total) the gold clip's quietest 20 % of
    20 ms frames became."""
    n = int(0.02 * sr)

    def frames(x):
        m = _mono(x).astype(np.float64)
        k = len(m) // n
        return (m[: k * n].reshape(k, n) ** 2).sum(axis=1)

    eg, ef = frames(gold), frames(flawed)
    quiet = eg <= np.quantile(eg, 0.2)
    return float(10 * np.log10(ef[quiet].sum() / ef.sum() + 1e-30)
                 - 10 * np.log10(eg[quiet].sum() / eg.sum() + 1e-30))


def ring_db(flawed: np.ndarray, gold: np.ndarray, sr: int) -> float:
    """Energy after the notes: the larger rise of the last 200 ms or of the quietest frames."""
    return max(tail_db(flawed, sr) - tail_db(gold, sr), quiet_fill_db(flawed, gold, sr))


def distortion_ratio(flawed: np.ndarray, gold: np.ndarray) -> float:
    """Energy a gain cannot explain, over the flawed clip's energy."""
    g, fl = _mono(gold).astype(np.float64), _mono(flawed).astype(np.float64)
    r = fl - (g @ fl) / (g @ g) * g
    return float((r @ r) / (fl @ fl))


def onset_shift_ms(flawed: np.ndarray, gold: np.ndarray, sr: int) -> float:
    """Mean distance (ms) from each gold onset to the nearest flawed one."""
    a, b = onsets(gold, sr), onsets(flawed, sr)
    if len(a) == 0 or len(b) == 0:
        return 0.0
    return float(np.abs(a[:, None] - b[None, :]).min(axis=1).mean() * 1000 / sr)


BANDS = {"muddy": (180, 400), "harsh": (2000, 5000), "nasal": (800, 1500),
         "boxy": (400, 850), "over_sibilant": (5000, 10000), "boomy": (60, 130)}


def named_quantity(flaw: str, flawed: np.ndarray, gold: np.ndarray,
                   sr: int) -> tuple[float, float]:
    """(how far the flaw moved its quantity the right way, the least it must move)."""
    if flaw in BANDS:
        return band_lift_db(flawed, gold, sr, *BANDS[flaw]), 1.0
    if flaw == "thin":
        return -band_lift_db(flawed, gold, sr, 20, 200), 1.0
    if flaw == "dark":
        return -band_lift_db(flawed, gold, sr, 2000, 20000), 1.0
    if flaw == "undefined":
        return -band_lift_db(flawed, gold, sr, 400, 20000), 1.0
    if flaw == "over_compressed":  # the crest lost (limiters) or the envelope squashed
        return dynamics_loss_db(gold, flawed, sr), 0.5
    if flaw == "distorted":
        return distortion_ratio(flawed, gold), 0.001
    if flaw == "ringy":
        return ring_db(flawed, gold, sr), 0.0
    if flaw == "sloppy_timing":
        return onset_shift_ms(flawed, gold, sr), 1.5
    raise KeyError(flaw)
