"""Small signal helpers every layer shares: samples in, arrays or numbers out (no file I/O).

* :func:`to_mono` and :func:`resample` (soxr "HQ"): the analysis frame's downmix and rate;
* :func:`rms_db` and :func:`crest_db`: level and peak-to-RMS of a whole clip;
* :func:`onsets` and :func:`pick_onsets`: the one onset rule (a rise of more than 6 dB within
  three hops of an energy envelope), used by the flaw engine's timing jitter and by the
  fingerprint's timing features.
"""

from __future__ import annotations

import numpy as np
import soxr

from .units import amplitude_db, power_db

__all__ = ["crest_db", "onsets", "pick_onsets", "resample", "rms_db", "to_mono"]


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average of the channels.

    Parameters
    ----------
    samples : np.ndarray
        ``(frames, channels)`` or ``(frames,)`` audio.

    Returns
    -------
    np.ndarray
        ``(frames,)`` float32.
    """
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    x = samples.astype(np.float32, copy=False)
    if x.shape[1] == 1:
        return np.ascontiguousarray(x[:, 0])
    return x @ np.full(x.shape[1], 1.0 / x.shape[1], dtype=np.float32)


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Resample along axis 0 with soxr ("HQ": 20-bit, linear phase).

    Parameters
    ----------
    samples : np.ndarray
        Audio, frames first.
    sr_from, sr_to : int
        Sample rates (Hz); equal rates return ``samples`` itself.

    Returns
    -------
    np.ndarray
        float32 audio at ``sr_to``.
    """
    if sr_from == sr_to:
        return samples
    return soxr.resample(samples, sr_from, sr_to, quality="HQ").astype(np.float32, copy=False)


def rms_db(x: np.ndarray) -> float:
    """RMS of every sample (all channels together) in dB (floor -120 dB)."""
    return amplitude_db(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


def crest_db(x: np.ndarray) -> float:
    """Peak over RMS in dB (all channels together)."""
    return amplitude_db(float(np.max(np.abs(x)))) - rms_db(x)


def pick_onsets(energy_db: np.ndarray, hop: int, win: int, min_gap: float) -> list[int]:
    """Onsets in an energy envelope: rises of more than 6 dB within 3 hops that are local
    maxima of the rise, within 50 dB of the loudest window, more than ``min_gap`` samples
    apart.

    Parameters
    ----------
    energy_db : np.ndarray
        Energy (dB) of ``win``-sample windows every ``hop`` samples.
    hop, win : int
        The envelope's hop and window (samples).
    min_gap : float
        Smallest distance between two onsets (samples).

    Returns
    -------
    list of int
        Sample positions where each rise started (the centre of its first window).
    """
    e = energy_db
    rise = np.zeros_like(e)
    rise[3:] = e[3:] - e[:-3]
    mid = rise[1:-1]
    peaks = (mid > 6) & (mid >= rise[:-2]) & (mid >= rise[2:]) & (e[1:-1] > e.max() - 50)
    out: list[int] = []
    for i in np.flatnonzero(peaks) + 1:
        pos = int((i - 3) * hop + win // 2)  # where the rise started
        if not out or pos - out[-1] > min_gap:
            out.append(max(0, pos))
    return out


def onsets(x: np.ndarray, sr: int, min_gap_s: float = 0.05) -> np.ndarray:
    """Sample positions of the onsets of ``(frames, channels)`` audio: :func:`pick_onsets`
    on the energy of 512-sample frames every 128 samples of the channel mean.

    Parameters
    ----------
    x : np.ndarray
        ``(frames, channels)`` audio.
    sr : int
        Its sample rate (Hz).
    min_gap_s : float
        Smallest distance between two onsets (s).

    Returns
    -------
    np.ndarray
        int sample positions, ascending (empty for fewer than four frames).
    """
    m, hop, win = np.mean(x, axis=1), 128, 512
    count = (len(m) - win) // hop
    if count < 4:
        return np.zeros(0, dtype=int)
    frames = np.lib.stride_tricks.sliding_window_view(m, win)[::hop][:count]
    e = power_db(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return np.array(pick_onsets(e, hop, win, min_gap_s * sr), dtype=int)
