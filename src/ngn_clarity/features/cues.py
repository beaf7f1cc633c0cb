"""Within-clip relative cues: what a flaw does to a clip relative to the clip itself.

A boost stays at one frequency while the notes move (the median of per-frame contrast);
natural tone moves a region's share of the spectrum with the notes, a fixed boost holds it; a
compressor evens the hits and the short-term crest; a saturator brightens the loud moments
more than the quiet ones. Each family is one function on the shared
:class:`~.analysis.Analysis` (registered in :data:`.families.FAMILIES`), returns
``{feature: float}`` with the formula in its doc (the schema's definitions say the same),
never NaN or Inf, and is cheap enough for a C++ twin in real time (per-frame band sums,
medians, one line fit).

Frames: the long frames (8192 samples, hop 2048, :attr:`~.analysis.Analysis.long_frames`) for
band levels, the 2048-sample STFT for tilt, the fine envelope (512-sample windows, hop 128)
for onset peaks.

Measured candidates that were left out (their measured importance is in
``docs/features.md``): a share of frames with a persistent bump per region, attack-versus-body
spectra, tail-to-direct energy after the notes, the note envelope's sustain and decay.
"""

from __future__ import annotations

import numpy as np

from ..corrections import EQ_CENTRES_HZ
from ..units import power_db
from .analysis import FINE_HOP, SR, Analysis, sixth_octaves

#: Where each spectral flaw lives (Hz), as the flaw engine makes it.
REGIONS: dict[str, tuple[float, float]] = {
    "boomy": (60, 130), "muddy": (180, 400), "boxy": (400, 850), "nasal": (800, 1500),
    "harsh": (2000, 5000), "sibilant": (5000, 10000)}


def frame_levels(a: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """(band centres, ``[active long frames, bands]`` levels in dB): each active long frame's
    power in the 1/6-octave bands of :func:`~.analysis.sixth_octaves`
    (:attr:`~.analysis.Analysis.frame_levels`)."""
    return sixth_octaves()[0], a.frame_levels


def frame_contrast_db(a: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """(band centres, ``[frames, bands]`` per-frame local contrast): a band's level minus the
    mean of the levels one octave below and above it (the edge band standing in past 40 Hz
    or 16 kHz)."""
    centres, levels = frame_levels(a)
    k = 6  # one octave in 1/6-octave bands
    below = np.concatenate([np.repeat(levels[:, :1], k, axis=1), levels[:, :-k]], axis=1)
    above = np.concatenate([levels[:, k:], np.repeat(levels[:, -1:], k, axis=1)], axis=1)
    return centres, levels - (below + above) / 2


def frame_contrast(a: Analysis) -> dict[str, float]:
    """``fcon_<f>``: for each correction centre f, the median over active long frames of the
    1/3-octave local contrast at f (the mean of the two 1/6-octave contrasts around f, the
    band at f minus the mean of the bands an octave away). The median over frames follows
    what stays from note to note, where the long-term spectrum's contrast follows the
    loudest notes."""
    centres, con = frame_contrast_db(a)
    out = {}
    for c in EQ_CENTRES_HZ:
        j = int(np.argmin(np.abs(np.log2(centres / c))))
        band = con[:, max(j - 1, 0):j + 1].mean(axis=1)
        out[f"fcon_{c}"] = float(np.median(band)) if band.size else 0.0
    return out


def band_variability(a: Analysis) -> dict[str, float]:
    """``var_<region>_db``: for each flaw region, the standard deviation over active long
    frames of the region's level (power summed over its 1/6-octave bands) relative to the
    frame's total level (dB). Natural tone moves with the notes; a fixed boost holds a region's
    share steady."""
    centres, levels = frame_levels(a)
    lin = 10.0 ** (levels / 10.0)
    total = power_db(lin.sum(axis=1))
    out = {}
    for name, (lo, hi) in REGIONS.items():
        inside = (centres >= lo) & (centres <= hi)
        rel = power_db(lin[:, inside].sum(axis=1)) - total
        out[f"var_{name}_db"] = float(np.std(rel)) if rel.size > 1 else 0.0
    return out


def level_tilt(a: Analysis) -> dict[str, float]:
    """Over active STFT frames: ``tilt_level_slope`` the least-squares slope of each frame's
    share of power above 4 kHz (dB) against its level (dB) (saturation brightens the loud
    frames), and ``hf_loud_quiet_db`` the mean HF share of the loudest quarter of frames minus
    that of the quietest quarter. 0 with fewer than 4 frames or no level spread."""
    if int(a.active.sum()) < 4:
        return {"tilt_level_slope": 0.0, "hf_loud_quiet_db": 0.0}
    total = a.power.sum(axis=0, dtype=np.float64)[a.active]
    level = power_db(total)
    high = a.power[a.freqs >= 4000].sum(axis=0, dtype=np.float64)[a.active]
    hf = power_db(high / np.maximum(total, 1e-30))
    x = level - level.mean()
    den = float(x @ x)
    if den <= 1e-9:
        return {"tilt_level_slope": 0.0, "hf_loud_quiet_db": 0.0}
    loud, quiet = level >= np.percentile(level, 75), level <= np.percentile(level, 25)
    return {"tilt_level_slope": float(x @ (hf - hf.mean()) / den),
            "hf_loud_quiet_db": float(hf[loud].mean() - hf[quiet].mean())}


def onset_peaks(a: Analysis) -> dict[str, float]:
    """``onset_peak_std_db``: the standard deviation of the fine envelope's peak (within 30
    ms) at each onset (dB; a compressor evens the hits); ``short_crest_db`` and
    ``short_crest_spread_db``: the median and the 10-90 % range of the crest factor (peak over
    RMS, dB) of 50 ms blocks of the analysis signal above -60 dBFS RMS. 0 where undefined."""
    e, hop_s = a.fine_env_db, FINE_HOP / SR
    peaks = [float(e[i:i + int(round(0.03 / hop_s)) + 1].max())
             for i in (int(round(t / hop_s)) for t in a.onsets_s) if i < len(e)]
    y = a.y64
    w = int(0.05 * SR)
    n = len(y) // w
    crest = np.zeros(0)
    if n:
        blocks = y[: n * w].reshape(n, w)
        rms = np.sqrt(np.mean(blocks ** 2, axis=1))
        ok = rms > 1e-3
        crest = 20 * np.log10(np.max(np.abs(blocks[ok]), axis=1) / rms[ok])
    return {"onset_peak_std_db": float(np.std(peaks)) if len(peaks) > 1 else 0.0,
            "short_crest_db": float(np.median(crest)) if crest.size else 0.0,
            "short_crest_spread_db": float(np.percentile(crest, 90) - np.percentile(crest, 10))
            if crest.size > 2 else 0.0}


def source_activity(a: Analysis) -> dict[str, float]:
    """``active_share``: the share of STFT frames that are active (RMS >= -60 dBFS and within
    50 dB of the loudest). It tells a sparse source (hits with gaps) from a sustained one, so
    the trees can judge the other cues per kind of source, and it rises where a room or upward
    compression fills the gaps."""
    return {"active_share": float(np.mean(a.active))}


#: The cue families, by name (registered in :data:`.families.FAMILIES`).
CUE_FAMILIES = {fn.__name__: fn for fn in (
    frame_contrast, band_variability, level_tilt, onset_peaks, source_activity)}
