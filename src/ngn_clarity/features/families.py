"""Feature families: one documented function each, reading the shared :class:`Analysis`.

Every function returns ``{feature name: float}`` for the names the schema lists under its
family; the formula of each value is in its :class:`~.schema.FeatureSpec` definition (what a
C++ re-implementation follows) and in the function's doc. No value is NaN or Inf: empty
inputs give the documented neutral value.

Frequencies are reported as log2 Hz, levels and ratios in dB, times in seconds or ms.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..corrections import EQ_CENTRES_HZ
from ..units import amplitude_db, power_db
from .cues import CUE_FAMILIES
from .analysis import FINE_HOP, SR, THIRD_OCTAVES, Analysis

Family = Callable[[Analysis], dict[str, float]]
FAMILIES: dict[str, Family] = {}


def family(fn: Family) -> Family:
    FAMILIES[fn.__name__] = fn
    return fn


# --- seed -----------------------------------------------------------------------------------

@family
def seed_spectral(a: Analysis) -> dict[str, float]:
    """Spectral centroid, flatness and MFCC 0-12, each the mean over active frames."""
    centroid = a.centroid
    p = np.maximum(a.power, np.float32(1e-10))
    flatness = np.exp(np.mean(np.log(p), axis=0)) / np.mean(p, axis=0)
    out = {"spectral_centroid": a.mean_active(centroid),
           "spectral_flatness": a.mean_active(flatness)}
    out.update({f"mfcc_{i:02d}": a.mean_active(a.mfcc[i]) for i in range(13)})
    return out


@family
def seed_dynamics(a: Analysis) -> dict[str, float]:
    """Crest factor (peak / RMS), RMS and peak-to-average (peak / mean |x|) of ``y``."""
    y = a.y64
    peak = float(np.max(np.abs(y)))
    rms = float(np.sqrt(np.mean(y * y)))
    mean_abs = float(np.mean(np.abs(y)))
    return {"crest_factor": peak / rms if rms > 0 else 0.0, "rms_energy": rms,
            "peak_to_avg_ratio": peak / mean_abs if mean_abs > 0 else 0.0}


@family
def seed_temporal(a: Analysis) -> dict[str, float]:
    """Zero-crossing rate (2048-sample edge-padded frames, hop 512) and onset strength,
    means over active frames."""
    y = np.pad(a.y, 1024, mode="edge")
    n = a.mag.shape[1]
    neg = np.signbit(y) & (np.abs(y) > 1e-10)  # values within 1e-10 of 0 count as 0
    c = np.zeros(len(y) + 1, dtype=np.int64)  # c[k]: sign changes before sample k
    np.cumsum(neg[1:] != neg[:-1], out=c[2:])
    starts = np.arange(n) * 512
    # a frame's first sample never counts as a crossing (librosa: pad=False)
    zcr = (c[starts + 2048] - c[starts + 1]) / 2048
    return {"zero_crossing_rate": a.mean_active(zcr),
            "onset_strength": a.mean_active(a.onset_envelope)}


@family
def seed_loudness(a: Analysis) -> dict[str, float]:
    """Integrated loudness (-70 when below the gate everywhere) and loudness range."""
    r = a.loudness
    if r is None:
        return {"integrated_lufs": -70.0, "loudness_range": 0.0}
    return {"integrated_lufs": r.integrated_lufs, "loudness_range": r.loudness_range_lu}


# --- tone: level around the correction centres ---------------------------------------------

def band_level_db(a: Analysis, centre: float) -> float | None:
    """LTAS level (dB) of the 1/3-octave band centred at ``centre`` (None above 20 kHz)."""
    lo, hi = centre * 2 ** (-1 / 6), centre * 2 ** (1 / 6)
    if hi > 20000:
        return None
    f = a.ltas_freqs
    m = (f >= lo) & (f < hi)
    v = a.ltas[m].mean() if m.any() else np.interp(centre, f, a.ltas)
    return power_db(float(v))


@family
def local_contrast(a: Analysis) -> dict[str, float]:
    """For each correction centre f (60 ... 12000 Hz): the LTAS level of the 1/3-octave band
    at f minus the mean of the bands at f/2 and 2f (dB); where 2f's band passes 20 kHz (at
    12 kHz), the 16 kHz band stands in for it. A boost at f raises it, a cut lowers it, a
    tilt barely moves it."""
    out = {}
    for c in EQ_CENTRES_HZ:
        upper = band_level_db(a, 2 * c)
        upper = band_level_db(a, 16000.0) if upper is None else upper
        level, lower = band_level_db(a, c), band_level_db(a, c / 2)
        assert level is not None and lower is not None and upper is not None  # c <= 12 kHz
        out[f"contrast_{c}"] = float(level - (lower + upper) / 2)
    return out


def _fit_range(levels: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """log2 f and level of the 1/3-octave bands in [lo, hi] within 40 dB of the loudest of
    them (deeper, a Hann-windowed estimate reads its own leakage, not the signal)."""
    f = np.asarray(THIRD_OCTAVES)
    m = (f >= lo) & (f <= hi)
    m &= levels > levels[m].max() - 40
    return np.log2(f[m]), levels[m]


@family
def spectral_edges(a: Analysis) -> dict[str, float]:
    """Where the low and the top end are and how steeply they fall: the 5 % and 95 %
    cumulative-power rolloffs of the LTAS over 20 Hz-20 kHz (log2 Hz), and the slope of the
    1/3-octave levels over 40-250 Hz and over 4-16 kHz (dB/octave)."""
    f, p = a.ltas_freqs, a.ltas
    audible = (f >= 20) & (f <= 20000)
    cum = np.cumsum(p[audible])
    fa = f[audible]
    out = {}
    for name, q in (("rolloff_05_log2hz", 0.05), ("rolloff_95_log2hz", 0.95)):
        k = int(np.searchsorted(cum, q * cum[-1])) if cum[-1] > 0 else 0
        out[name] = math.log2(max(float(fa[min(k, len(fa) - 1)]), 20.0))
    for name, lo, hi in (("low_slope", 40, 250), ("high_slope", 4000, 16000)):
        x, y = _fit_range(a.third_octave_db, lo, hi)
        out[name] = float(np.polyfit(x, y, 1)[0]) if len(x) >= 2 else 0.0
    return out


@family
def narrow_peaks(a: Analysis) -> dict[str, float]:
    """Narrow resonances: the LTAS on a 24-per-octave grid from 100 Hz to 10 kHz (dB,
    linear interpolation of bin powers) minus its running median over 1/2 octave (13
    points): the largest excess (dB) and where it sits (log2 Hz)."""
    from scipy.ndimage import median_filter

    grid = 100.0 * 2 ** (np.arange(0, 24 * math.log2(100) + 1) / 24)
    db = power_db(np.interp(grid, a.ltas_freqs, a.ltas))
    excess = db - median_filter(db, size=13, mode="nearest")
    i = int(np.argmax(excess))
    return {"narrow_peak_db": float(excess[i]), "narrow_peak_log2hz": float(np.log2(grid[i]))}


# --- dynamics ---------------------------------------------------------------------------------

@family
def loudness_dynamics(a: Analysis) -> dict[str, float]:
    """From BS.1770 loudness: PLR = sample peak (dBFS) - integrated loudness; PSR = sample
    peak - the highest short-term (3 s) loudness, or momentary (400 ms) for clips under 3 s;
    the spread (standard deviation, LU) of the momentary loudness over windows within 20 LU
    of the loudest. A limited or squashed clip reads low on all three."""
    peak_db = amplitude_db(a.peak)
    r = a.loudness
    if r is None:
        return {"plr_db": 0.0, "psr_db": 0.0, "momentary_spread_lu": 0.0}
    top = r.short_term_max_lufs if r.short_term_max_lufs is not None else (
        r.momentary_max_lufs if r.momentary_max_lufs is not None else r.integrated_lufs)
    m = a.momentary_lufs
    m = m[np.isfinite(m)]
    m = m[m >= m.max() - 20] if m.size else m
    return {"plr_db": peak_db - r.integrated_lufs, "psr_db": peak_db - top,
            "momentary_spread_lu": float(np.std(m)) if m.size > 1 else 0.0}


@family
def quiet_fill(a: Analysis) -> dict[str, float]:
    """Energy of the quietest 20 % of fine-envelope windows (512 samples, hop 128) over the
    total (dB): ringing, rooms and upward compression fill the moments after the notes."""
    lin = 10 ** (a.fine_env_db / 10)
    quiet = lin <= np.quantile(lin, 0.2)
    return {"quiet_fill_db": power_db(float(lin[quiet].sum()) / float(lin.sum()))}


@family
def waveform_peaks(a: Analysis) -> dict[str, float]:
    """Of the analysis signal: the fraction of samples with |x| >= 0.9 max |x|
    (``near_peak_fraction``: limiting and clipping pile samples near the peak), and >= 0.999
    max |x| (``flat_top_fraction``: hard clipping's flat tops)."""
    y = np.abs(a.y)
    peak = float(y.max())
    return {"near_peak_fraction": float(np.mean(y >= 0.9 * peak)) if peak > 0 else 0.0,
            "flat_top_fraction": float(np.mean(y >= 0.999 * peak)) if peak > 0 else 0.0}


# --- distortion -------------------------------------------------------------------------------

@family
def hf_flatness(a: Analysis) -> dict[str, float]:
    """Mean over active frames of the spectral flatness (geometric over arithmetic mean of
    the power, floor 1e-10) of the 6-16 kHz bins: the noise-like fizz of clipping and
    aliasing reads high."""
    band = a.power[(a.freqs >= 6000) & (a.freqs < 16000)][:, a.active].astype(np.float64)
    p = np.maximum(band, 1e-10)
    flat = np.exp(np.mean(np.log(p), axis=0)) / np.mean(p, axis=0)
    return {"hf_flatness": float(np.mean(flat)) if flat.size else 0.0}


# --- ringing, decay ---------------------------------------------------------------------------

@family
def decay(a: Analysis) -> dict[str, float]:
    """``decay_db_s``: the median over onsets of the least-squares slope (dB/s) of the fine
    envelope from its peak within 30 ms of the onset over the next 250 ms (or up to the next
    onset, at least 60 ms); 0 without onsets. Rings and rooms slow the fall (toward 0).
    ``tail_db``: energy of the last 200 ms over the whole clip (dB, floor -120)."""
    e = a.fine_env_db
    hop_s = FINE_HOP / SR
    onsets = list(a.onsets_s) + [len(e) * hop_s]
    slopes = []
    for t, nxt in zip(onsets[:-1], onsets[1:]):
        i = int(round(t / hop_s))
        seg = e[i:i + int(round(0.030 / hop_s)) + 1]
        if not seg.size:
            continue
        p = i + int(np.argmax(seg))
        end = min(p + int(round(0.250 / hop_s)), int(round(nxt / hop_s)), len(e))
        if (end - p) * hop_s < 0.06:
            continue
        slopes.append(_slope(np.arange(end - p) * hop_s, e[p:end]))
    y = a.y64
    whole = float(np.mean(y * y))
    tail = float(np.mean(y[-int(0.2 * SR):] ** 2))
    return {"decay_db_s": float(np.median(slopes)) if slopes else 0.0,
            "tail_db": power_db(tail / whole) if whole > 0 else -120.0}


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` against ``x`` (``np.polyfit(x, y, 1)[0]``, closed form:
    a fifth of its time, called once per onset)."""
    dx = x - x.mean()
    return float(dx @ (y - y.mean()) / (dx @ dx))


# --- timing -----------------------------------------------------------------------------------

@family
def grid_alignment(a: Analysis) -> dict[str, float]:
    """How well the fine onsets sit on a steady grid. For grid steps s from 60 to 600 ms
    (0.5 ms apart), the phase coherence R(s) = |mean over onsets of exp(2 pi i t / s)|;
    ``grid_r`` is the largest R (1 = every hit on one grid) and ``grid_dev_ms`` the spread
    it implies, s / (2 pi) sqrt(-2 ln R) in ms (a wrapped normal). With fewer than 4
    onsets: 1 and 0."""
    t = a.onsets_s
    if len(t) < 4:
        return {"grid_r": 1.0, "grid_dev_ms": 0.0}
    steps = np.arange(0.060, 0.6, 0.0005)
    r = np.abs(np.exp(2j * np.pi * t[None, :] / steps[:, None]).mean(axis=1))
    i = int(np.argmax(r))
    best = float(min(max(r[i], 1e-6), 1.0))
    return {"grid_r": best,
            "grid_dev_ms": float(steps[i] / (2 * np.pi) * math.sqrt(-2 * math.log(best))
                                 * 1000)}


# --- variability over time ------------------------------------------------------------------

@family
def variability(a: Analysis) -> dict[str, float]:
    """Over active frames: the standard deviation of the spectral centroid (Hz) and the mean
    spectral flux (sum of positive magnitude changes from the previous frame over the
    frame's magnitude sum; 0 for the first frame)."""
    mag, col = a.mag.astype(np.float64), a.mag_sum
    rise = np.zeros_like(col)
    rise[1:] = np.maximum(0.0, mag[:, 1:] - mag[:, :-1]).sum(axis=0)
    flux = np.divide(rise, col, out=np.zeros_like(col), where=col > 0)
    return {"spectral_centroid_std": a.std_active(a.centroid),
            "spectral_flux": a.mean_active(flux)}


# --- tone: octave levels and region contrast -------------------------------------------------

OCTAVES_HZ = (63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)


@family
def octave_levels(a: Analysis) -> dict[str, float]:
    """LTAS power in the octave bands centred at 63 ... 16000 Hz (edges x 2^(+-1/2)),
    relative to the LTAS power over 20 Hz-20 kHz (dB, floor -120): the coarse tone curve,
    which the model compares with what is usual for the instrument."""
    f, p = a.ltas_freqs, a.ltas
    total = float(p[(f >= 20) & (f <= 20000)].sum())
    out = {}
    for c in OCTAVES_HZ:
        v = float(p[(f >= c / math.sqrt(2)) & (f < c * math.sqrt(2))].sum())
        out[f"octave_{c}_db"] = power_db(v / total) if total > 0 else -120.0
    return out


#: Where each EQ flaw lives (Hz), as the flaw engine makes it (muddy and boxy split the
#: taxonomy's overlapping descriptions at 400 Hz).
REGIONS: dict[str, tuple[float, float]] = {
    "boomy": (60, 130), "muddy": (180, 400), "boxy": (400, 850), "nasal": (800, 1500),
    "harsh": (2000, 5000), "sibilant": (5000, 10000)}


def envelope_db(a: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """The LTAS's spectral envelope on a 1/12-octave grid from 30 Hz to 18 kHz: in each
    cell the largest bin power (the partials, not the gaps between them; linear
    interpolation where a cell holds no bin), in dB, then a 3-cell (1/4-octave) moving
    average with edge padding. Returns (grid Hz, envelope dB)."""
    f, p = a.ltas_freqs, a.ltas
    grid = 30.0 * 2 ** (np.arange(0, int(12 * math.log2(18000 / 30)) + 1) / 12)
    lo = np.searchsorted(f, grid * 2 ** (-1 / 24))
    hi = np.searchsorted(f, grid * 2 ** (1 / 24))
    cell = np.array([p[i:j].max() if j > i else np.interp(g, f, p)
                     for i, j, g in zip(lo, hi, grid)])
    db = power_db(cell)
    return grid, np.convolve(np.pad(db, 1, mode="edge"), np.ones(3) / 3, mode="valid")


@family
def region_contrast(a: Analysis) -> dict[str, float]:
    """For each flaw region (boomy 60-130, muddy 180-400, boxy 400-850, nasal 800-1500,
    harsh 2000-5000, sibilant 5000-10000 Hz): the largest local contrast of the spectral
    envelope (:func:`envelope_db`) at grid points inside the region, the contrast at f being
    E(f) minus the mean of E(f/2) and E(2f) (one side only where the other leaves the grid).
    A boost anywhere in the region shows, whatever its exact centre."""
    grid, env = envelope_db(a)
    lg = np.log2(grid)
    below = np.interp(lg - 1, lg, env, left=np.nan)
    above = np.interp(lg + 1, lg, env, right=np.nan)
    sides = np.nanmean(np.stack([below, above]), axis=0)
    contrast = env - sides
    return {f"region_{name}_db": float(np.nanmax(contrast[(grid >= lo) & (grid <= hi)]))
            for name, (lo, hi) in REGIONS.items()}


FAMILIES.update(CUE_FAMILIES)  # the within-clip relative cues (:mod:`.cues`)
