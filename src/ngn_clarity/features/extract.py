"""Feature extraction: samples in, 64 floats out (pure; no file I/O).

:func:`fingerprint` computes one STFT of the analysis signal (see :mod:`.schema`) and derives
every spectral feature from it; loudness comes from :mod:`ngn_clarity.loudness` on the
samples as given. Values are never NaN or Inf: an empty spectrum gives 0, a clip with no
active frame uses all frames, a silent clip reads -70 LUFS, and a final guard replaces
anything non-finite with 0.0 (and :func:`fingerprint` reports how many it replaced).
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from .. import audio, loudness
from .schema import ANALYSIS, DEFAULT_SCHEMA, EXTENDED_FEATURES, specs

SR = ANALYSIS["sample_rate"]
N_FFT = ANALYSIS["n_fft"]
HOP = ANALYSIS["hop_length"]


def analysis_signal(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono downmix at 44.1 kHz, float32 (the signal every non-loudness feature reads)."""
    mono = audio.to_mono(np.asarray(samples, dtype=np.float32))
    return np.ascontiguousarray(audio.resample(mono, int(sample_rate), SR), dtype=np.float32)


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=ANALYSIS["n_mels"],
                               fmin=ANALYSIS["fmin_hz"], fmax=ANALYSIS["fmax_hz"])


def spectral_centroid(mag: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Per frame sum_k f_k |X_k| / sum_k |X_k|, 0 for an empty frame: the same values as
    ``librosa.feature.spectral_centroid(S=mag, freq=freqs)`` (a test checks) without its
    per-call normalization overhead."""
    col = mag.sum(axis=0)
    return np.divide(freqs @ mag, col, out=np.zeros_like(col), where=col > 1e-30)


def _stats(values: np.ndarray, active: np.ndarray) -> tuple[float, float]:
    v = values[active] if active.any() else values
    if v.size == 0:
        return 0.0, 0.0
    return float(np.mean(v)), float(np.std(v))


def _active_frames(rms: np.ndarray) -> np.ndarray:
    db = 20.0 * np.log10(np.maximum(rms, 1e-12))
    if db.size == 0:
        return np.zeros(0, dtype=bool)
    return (db >= ANALYSIS["active_floor_dbfs"]) & (db >= db.max() - ANALYSIS["active_range_db"])


def _onsets(env: np.ndarray) -> np.ndarray:
    """Frame indices of onsets (see the ``onset_rate`` spec)."""
    if env.size < 3:
        return np.zeros(0, dtype=int)
    w, gap = ANALYSIS["onset_peak_window_frames"], ANALYSIS["onset_min_gap_frames"]
    padded = np.pad(env, w, mode="constant", constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * w + 1)
    is_max = env >= windows.max(axis=1)
    threshold = env.mean() + 0.5 * env.std()
    candidates = np.flatnonzero(is_max & (env > threshold))
    picked: list[int] = []
    for c in candidates:
        if not picked or c - picked[-1] >= gap:
            picked.append(int(c))
    return np.array(picked, dtype=int)


def _loudness(samples: np.ndarray, sample_rate: int,
              report: loudness.LoudnessReport | None = None) -> dict[str, float]:
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    peak_db = 20 * math.log10(peak) if peak > 0 else -120.0
    try:
        r = report or loudness.measure(samples, sample_rate, true_peak=False)
    except loudness.SilentAudioError:
        return {"integrated": -70.0, "lra": 0.0, "momentary_max": -70.0, "peak": peak_db}
    return {"integrated": r.integrated_lufs, "lra": r.loudness_range_lu,
            "momentary_max": (r.momentary_max_lufs if r.momentary_max_lufs is not None
                              else r.integrated_lufs),
            "peak": peak_db}


def feature_values(samples: np.ndarray, sample_rate: int, schema: str = DEFAULT_SCHEMA,
                   loudness_report: loudness.LoudnessReport | None = None) -> dict[str, float]:
    """Every feature ``schema`` needs, by name (reserved slots are left out)."""
    import librosa

    extended = schema == "extended"
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    y = analysis_signal(x, sample_rate)
    if y.size == 0:
        y = np.zeros(1, dtype=np.float32)
    with warnings.catch_warnings():  # a clip shorter than n_fft is zero-padded: expected
        warnings.filterwarnings("ignore", message="n_fft=.*is too large")
        stft = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, window="hann", center=True,
                            pad_mode="constant")
    mag = np.abs(stft)
    power = mag ** 2
    freqs = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    rms = librosa.feature.rms(S=mag, frame_length=N_FFT, hop_length=HOP)[0]
    active = _active_frames(rms)
    mel = _mel_basis() @ power  # = librosa.feature.melspectrogram(S=power, ...)
    mel_db = librosa.power_to_db(mel, ref=1.0, amin=ANALYSIS["db_amin"],
                                 top_db=ANALYSIS["db_top_db"])
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=ANALYSIS["n_mfcc"])
    centroid = spectral_centroid(mag, freqs)
    flatness = librosa.feature.spectral_flatness(S=mag)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP,
                                             center=True)[0][: mag.shape[1]]
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=SR, lag=1, max_size=1)
    onset_env = onset_env[: mag.shape[1]]
    peak = float(np.max(np.abs(y)))
    rms_all = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    mean_abs = float(np.mean(np.abs(y), dtype=np.float64))
    loud = _loudness(x, sample_rate, loudness_report)

    v: dict[str, float] = {
        "spectral_centroid": _stats(centroid, active)[0],
        "spectral_flatness": _stats(flatness, active)[0],
        **{f"mfcc_{i:02d}": _stats(mfcc[i], active)[0] for i in range(13)},
        "crest_factor": peak / rms_all if rms_all > 0 else 0.0,
        "rms_energy": rms_all,
        "peak_to_avg_ratio": peak / mean_abs if mean_abs > 0 else 0.0,
        "zero_crossing_rate": _stats(zcr, active)[0],
        "onset_strength": _stats(onset_env, active)[0],
        "integrated_lufs": loud["integrated"],
        "loudness_range": loud["lra"],
    }
    if extended:
        v.update(_extended(y, mag, power, freqs, active, mfcc, centroid, flatness, zcr,
                           onset_env, rms, loud))
    return v


def _extended(y, mag, power, freqs, active, mfcc, centroid, flatness, zcr, onset_env, rms,
              loud) -> dict[str, float]:
    import librosa

    frames = active if active.any() else np.ones(mag.shape[1], dtype=bool)
    spectrum = power[:, frames].mean(axis=1)
    audible = (freqs >= 20) & (freqs <= 20000)
    total = float(spectrum[audible].sum())
    v: dict[str, float] = {}
    for spec in EXTENDED_FEATURES:
        if spec.name.startswith("band_"):
            lo, hi = spec.params["lo_hz"], spec.params["hi_hz"]
            band = float(spectrum[(freqs >= lo) & (freqs < hi)].sum())
            v[spec.name] = band / total if total > 0 else 0.0
    v["spectral_rolloff"] = _stats(librosa.feature.spectral_rolloff(
        S=mag, sr=SR, freq=freqs, roll_percent=0.85)[0], active)[0]
    v["spectral_bandwidth"] = _stats(librosa.feature.spectral_bandwidth(
        S=mag, sr=SR, freq=freqs)[0], active)[0]
    contrast = librosa.feature.spectral_contrast(S=mag, sr=SR, freq=freqs, fmin=200.0,
                                                 n_bands=6, quantile=0.02)
    for i in range(7):
        v[f"spectral_contrast_{i}"] = _stats(contrast[i], active)[0]
    fit = (freqs >= 50) & (freqs <= 16000) & (spectrum > 0)
    if fit.sum() >= 2:
        v["spectral_slope"] = float(np.polyfit(np.log2(freqs[fit]),
                                               10 * np.log10(spectrum[fit]), 1)[0])
    else:
        v["spectral_slope"] = 0.0
    rise = np.maximum(0.0, np.diff(mag, axis=1, prepend=mag[:, :1]))
    col = mag.sum(axis=0)
    flux = np.divide(rise.sum(axis=0), col, out=np.zeros_like(col), where=col > 0)
    v["spectral_flux"], v["spectral_flux_std"] = _stats(flux, active)
    band = (freqs >= 300) & (freqs <= 5000)
    db = 10 * np.log10(np.maximum(spectrum, 1e-20))
    smooth = np.convolve(db, np.ones(31) / 31, mode="same")
    v["spectral_peakiness"] = float(np.max(db[band] - smooth[band])) if total > 0 else 0.0
    v["spectral_centroid_std"] = _stats(centroid, active)[1]
    v["spectral_flatness_std"] = _stats(flatness, active)[1]
    for i in range(1, 5):
        v[f"mfcc_{i:02d}_std"] = _stats(mfcc[i], active)[1]
    v["zero_crossing_rate_std"] = _stats(zcr, active)[1]
    rms_db = 20 * np.log10(np.maximum(rms, 1e-12))
    sel = rms_db[frames]
    v["frame_rms_db_std"] = float(np.std(sel))
    v["frame_rms_db_range"] = float(np.percentile(sel, 95) - np.percentile(sel, 5))
    framed = librosa.util.frame(np.pad(y, N_FFT // 2), frame_length=N_FFT, hop_length=HOP)
    framed = framed[:, : mag.shape[1]]
    f_peak = np.abs(framed).max(axis=0)
    f_rms = np.sqrt(np.mean(framed.astype(np.float64) ** 2, axis=0))
    crest = 20 * np.log10(np.maximum(f_peak, 1e-12) / np.maximum(f_rms, 1e-12))
    v["short_term_crest_db"] = _stats(crest, active[: crest.size])[0]
    v["peak_to_loudness_db"] = loud["peak"] - loud["integrated"]
    v["momentary_to_integrated_lu"] = loud["momentary_max"] - loud["integrated"]
    tail = y[-int(0.2 * SR):].astype(np.float64)
    whole = float(np.mean(y.astype(np.float64) ** 2))
    v["tail_energy_db"] = (max(-120.0, 10 * math.log10(max(float(np.mean(tail ** 2)), 1e-30)
                                                       / whole)) if whole > 0 else -120.0)
    mean_env = float(onset_env.mean()) if onset_env.size else 0.0
    v["onset_peak_ratio"] = (float(np.percentile(onset_env, 95)) / mean_env
                             if mean_env > 0 else 1.0)
    onsets = _onsets(onset_env)
    duration = len(y) / SR
    v["onset_rate"] = len(onsets) / duration if duration > 0 else 0.0
    ioi = np.diff(onsets) * HOP / SR
    if len(onsets) >= 3 and ioi.mean() > 0:
        v["ioi_cv"] = float(ioi.std() / ioi.mean())
        ratio = ioi / ioi.min()
        v["ioi_grid_deviation"] = float(np.mean(np.abs(ratio - np.round(ratio))))
    else:
        v["ioi_cv"] = v["ioi_grid_deviation"] = 0.0
    low = float(spectrum[freqs < 250].sum())
    high = float(spectrum[freqs > 4000].sum())
    v["low_high_ratio_db"] = float(np.clip(10 * math.log10(max(low, 1e-30) / max(high, 1e-30)),
                                           -60, 60))
    peak = float(np.max(np.abs(y)))
    v["near_peak_fraction"] = (float(np.mean(np.abs(y) >= 0.9 * peak)) if peak > 0 else 0.0)
    return v


@lru_cache(maxsize=1)
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def fingerprint(samples: np.ndarray, sample_rate: int, schema: str = DEFAULT_SCHEMA, *,
                loudness_report: loudness.LoudnessReport | None = None) -> tuple[np.ndarray, int]:
    """The 64-float fingerprint in schema order, and how many values the guard replaced.

    ``loudness_report`` is ``loudness.measure(samples, sample_rate, true_peak=False)`` when
    the caller already has it (the normalizer does); it gives the same values.

    Runs with one BLAS thread: a multi-threaded matrix product sums in another order, and
    the same clip must give the same bits in this process, a pool worker or a Dask worker.
    """
    with _blas().limit(limits=1, user_api="blas"):
        values = feature_values(samples, sample_rate, schema, loudness_report)
    out = np.array([values.get(s.name, 0.0) for s in specs(schema)], dtype=np.float64)
    bad = ~np.isfinite(out)
    out[bad] = 0.0
    return out, int(bad.sum())


def describe(samples: np.ndarray, sample_rate: int, schema: str = DEFAULT_SCHEMA, *,
             loudness_report: loudness.LoudnessReport | None = None) -> dict[str, Any]:
    """``{name: value}`` in schema order (what ``clarity features FILE --json`` prints)."""
    vec, _ = fingerprint(samples, sample_rate, schema, loudness_report=loudness_report)
    return {s.name: float(v) for s, v in zip(specs(schema), vec)}


def warm_up() -> None:
    """Compile (or load from NUMBA_CACHE_DIR) librosa's JIT code once, before any pool starts,
    so that workers load it from the cache instead of each compiling it."""
    t = np.arange(4410) / 44100
    fingerprint((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100, "extended")
