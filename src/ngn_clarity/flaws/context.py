"""What a flaw variant may look at in the clip it is about to flaw.

An engineer's flaw lands where the sound has content, so centres and cutoffs follow the clip's
own spectrum: :func:`context_of` measures a clip once into a :class:`Context` (its RMS, the
power of 1/6-octave bands, and for ringing its strongest partials and modes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..dsp import rms_db


def lerp(lo: float, hi: float, severity: float) -> float:
    return float(lo + (hi - lo) * severity)


def loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


@dataclass(frozen=True)
class Context:
    """What a variant may look at to draw its parameters: an engineer's flaw lands where
    the sound has content, so centres and cutoffs follow the clip's own spectrum."""

    instrument: str
    sample_rate: int
    rms_db: float
    partials: tuple[float, ...]
    """The clip's strongest spectral peaks between 300 Hz and 4 kHz (Hz)."""
    modes: tuple[float, ...] = ()
    """The two strongest such peaks of each quarter of the clip (for a resonant body)."""
    bands_hz: tuple[float, ...] = ()
    """Centres of 1/6-octave bands from 30 Hz to 18 kHz ..."""
    bands_power: tuple[float, ...] = ()
    """... and the clip's mean power in each."""

    def pick(self, rng: np.random.Generator, lo: float, hi: float) -> float:
        """A frequency in [lo, hi]: a 1/6-octave band drawn with probability proportional
        to the square root of its power (log-uniform where the clip is silent), jittered
        within the band."""
        f = np.asarray(self.bands_hz)
        p = np.sqrt(np.asarray(self.bands_power))
        m = (f >= lo) & (f <= hi)
        if not m.any() or p[m].sum() <= 0:
            return loguniform(rng, lo, hi)
        c = float(rng.choice(f[m], p=p[m] / p[m].sum()))
        return float(np.clip(c * 2 ** rng.uniform(-1 / 12, 1 / 12), lo, hi))

    def rolloff(self, fraction: float) -> float:
        """Frequency below which ``fraction`` of the clip's power lies (Hz)."""
        p = np.cumsum(self.bands_power)
        if not len(p) or p[-1] <= 0:
            return 1000.0
        return float(self.bands_hz[int(np.searchsorted(p, fraction * p[-1]))])


def _mean_power(audio: np.ndarray, sr: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, mean power spectrum) of the channel mean over ``n``-sample Hann frames
    (a clip shorter than one frame is zero-padded to one)."""
    x = audio.mean(axis=1) if audio.ndim == 2 else audio
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = x[: len(x) // n * n].reshape(-1, n) * np.hanning(n)
    return (np.fft.rfftfreq(n, 1.0 / sr),
            np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0))


def _band_powers(x: np.ndarray, sr: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    freqs, power = _mean_power(x, sr, 1 << 13)
    centres = 30.0 * 2 ** (np.arange(0, 60) / 6)
    centres = centres[centres <= min(18000.0, 0.45 * sr)]
    lo, hi = centres * 2 ** (-1 / 12), centres * 2 ** (1 / 12)
    c = np.concatenate(([0.0], np.cumsum(power)))
    a, b = np.searchsorted(freqs, lo), np.searchsorted(freqs, hi)
    band = (c[b] - c[a]) / np.maximum(b - a, 1)
    return tuple(float(v) for v in centres), tuple(float(v) for v in band)


def strongest_partials(audio: np.ndarray, sr: int, lo: float = 300.0, hi: float = 4000.0,
                       k: int = 8) -> tuple[float, ...]:
    """Frequencies (Hz) of the ``k`` strongest spectral peaks between ``lo`` and ``hi``."""
    freqs, power = _mean_power(audio, sr, 1 << 14)
    band = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    local = [i for i in band if power[i] >= power[i - 1] and power[i] >= power[i + 1]]
    local.sort(key=lambda i: -power[i])
    return tuple(round(float(freqs[i]), 2) for i in local[:k])


def _modes(x: np.ndarray, sr: int) -> tuple[float, ...]:
    """Two strongest 300 Hz-4 kHz peaks of each quarter of the clip, 3 % apart at least."""
    quarter = len(x) // 4
    out: list[float] = []
    for k in range(4):
        for f in strongest_partials(x[k * quarter:(k + 1) * quarter], sr, k=2):
            if all(abs(f / g - 1) > 0.03 for g in out):
                out.append(f)
    return tuple(out)


def context_of(x: np.ndarray, sample_rate: int, instrument: str, flaw: str) -> Context:
    """What a variant of ``flaw`` may look at in ``(frames, channels)`` float32 audio (the
    partials and modes only for ``ringy``, the only flaw that uses them)."""
    ringy = flaw == "ringy"
    return Context(instrument, sample_rate, rms_db(x),
                   strongest_partials(x, sample_rate) if ringy else (),
                   _modes(x, sample_rate) if ringy else (), *_band_powers(x, sample_rate))
