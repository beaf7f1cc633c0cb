"""Dynamics stages: compressors and limiters (two independent designs each way)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pedalboard as pb

from ..dsp import rms_db
from ..units import power_db
from .transforms import Transform, _board


@dataclass(frozen=True)
class Compressor(Transform):
    """Feed-forward compressor (pedalboard/JUCE); ``knee_db`` > 0 adds a gentler stage
    below the threshold, a soft knee."""

    threshold_db: float
    ratio: float
    attack_ms: float
    release_ms: float
    knee_db: float = 0.0
    makeup_db: float = 0.0

    def __call__(self, x, sr):
        stages = []
        if self.knee_db > 0:
            stages.append(pb.Compressor(self.threshold_db - self.knee_db / 2,
                                        1 + (self.ratio - 1) / 4, self.attack_ms,
                                        self.release_ms))
        stages += [pb.Compressor(self.threshold_db, self.ratio, self.attack_ms,
                                 self.release_ms), pb.Gain(self.makeup_db)]
        return _board(x, sr, stages)


@dataclass(frozen=True)
class Limiter(Transform):
    """Brickwall limiter (pedalboard): the clip's peak is driven ``drive_db`` over a
    ceiling of ``threshold_db`` dBFS, then the level is set back."""

    drive_db: float
    threshold_db: float
    release_ms: float

    def __call__(self, x, sr):
        peak = float(np.max(np.abs(x))) or 1.0
        y = _board(x / peak, sr, [pb.Gain(self.threshold_db + self.drive_db),
                                  pb.Limiter(self.threshold_db, self.release_ms)])
        return (y * peak).astype(np.float32)


def _linkwitz_riley(x: np.ndarray, sr: int, f: float) -> tuple[np.ndarray, np.ndarray]:
    """4th-order Linkwitz-Riley split: (low, high) that sum to an all-pass of ``x``."""
    from scipy.signal import butter, sosfilt

    lo = butter(2, f, "lowpass", fs=sr, output="sos")
    hi = butter(2, f, "highpass", fs=sr, output="sos")
    low = sosfilt(lo, sosfilt(lo, x, axis=0), axis=0)
    high = sosfilt(hi, sosfilt(hi, x, axis=0), axis=0)
    return low, high  # LR4: the two bands are in phase and sum to an all-pass


@dataclass(frozen=True)
class MultibandCompressor(Transform):
    """Three bands (LR4 crossovers) compressed apart, each hard, then summed."""

    low_hz: float
    high_hz: float
    depth_db: float
    ratio: float
    attack_ms: float
    release_ms: float

    def __call__(self, x, sr):
        low, rest = _linkwitz_riley(x.astype(np.float64), sr, self.low_hz)
        mid, high = _linkwitz_riley(rest, sr, self.high_hz)
        out = np.zeros_like(x, dtype=np.float32)
        for band in (low, mid, high):
            band = band.astype(np.float32)
            thr = rms_db(band) - self.depth_db
            out += _board(band, sr, [pb.Compressor(thr, self.ratio, self.attack_ms,
                                                   self.release_ms)])
        return out


@dataclass(frozen=True)
class UpwardCompressor(Transform):
    """Upward compression: parts below ``threshold_db`` (RMS over ``window_ms``) are raised
    by ``(threshold - level) (1 - 1/ratio)`` dB, at most ``max_gain_db``."""

    threshold_db: float
    ratio: float
    window_ms: float
    max_gain_db: float

    def __call__(self, x, sr):
        mono = np.mean(x.astype(np.float64) ** 2, axis=1)
        n = max(1, int(self.window_ms * sr / 1000))
        c = np.concatenate(([0.0], np.cumsum(mono)))
        idx = np.arange(len(mono))
        lo, hi = np.maximum(idx - n // 2, 0), np.minimum(idx + n // 2 + 1, len(mono))
        level = power_db((c[hi] - c[lo]) / (hi - lo))
        gain_db = np.clip((self.threshold_db - level) * (1 - 1 / self.ratio), 0,
                          self.max_gain_db)
        return (x * (10 ** (gain_db / 20))[:, None]).astype(np.float32)


@dataclass(frozen=True)
class RmsCompressor(Transform):
    """An RMS-detector compressor written here, independent of pedalboard's: the level is
    the RMS of the channel mean over ``window_ms`` (computed on 1 ms blocks); the gain
    reduction follows a static curve with a quadratic soft knee of ``knee_db``
    (``(1 - 1/ratio) (over + knee/2)^2 / (2 knee)`` inside it, ``(1 - 1/ratio) over``
    above); it is smoothed per block by one-pole attack and release filters (time constants
    ``attack_ms``, ``release_ms``), moved ``lookahead_ms`` earlier (a look-ahead design: the
    gain falls before a transient arrives), applied per sample (blocks repeated), then
    ``makeup_db`` is added. Without look-ahead a slow detector lets attacks through and can
    raise the crest factor; the over-compression variants use 1-5 ms of it."""

    threshold_db: float
    ratio: float
    attack_ms: float
    release_ms: float
    knee_db: float = 6.0
    makeup_db: float = 0.0
    window_ms: float = 10.0
    lookahead_ms: float = 0.0

    def gain_reduction_db(self, level_db: np.ndarray) -> np.ndarray:
        """The static curve: dB of gain reduction at each detector level (dB)."""
        over = level_db - self.threshold_db
        slope = 1.0 - 1.0 / self.ratio
        k = max(self.knee_db, 1e-6) / 2
        knee = slope * (over + k) ** 2 / (4 * k)
        return np.where(over <= -k, 0.0, np.where(over >= k, slope * over, knee))

    def __call__(self, x, sr):
        blk = max(1, sr // 1000)
        power = np.mean(x.astype(np.float64) ** 2, axis=1)
        n = -(-len(power) // blk)
        block = np.pad(power, (0, n * blk - len(power))).reshape(n, blk).mean(axis=1)
        w = max(1, int(round(self.window_ms)))
        c = np.concatenate(([0.0], np.cumsum(block)))
        i = np.arange(n)
        lo = np.maximum(i - w + 1, 0)
        target = self.gain_reduction_db(power_db((c[i + 1] - c[lo]) / (i + 1 - lo)))
        attack = np.exp(-1.0 / max(self.attack_ms, 0.05))
        release = np.exp(-1.0 / max(self.release_ms, 1.0))
        smooth = np.empty(n)
        s = 0.0
        for j in range(n):  # one step per millisecond: a few thousand per clip
            a = attack if target[j] > s else release
            s = a * s + (1.0 - a) * target[j]
            smooth[j] = s
        ahead = min(int(round(self.lookahead_ms)), n - 1)
        if ahead > 0:
            smooth = np.concatenate((smooth[ahead:], np.repeat(smooth[-1:], ahead)))
        gain_db = self.makeup_db - np.repeat(smooth, blk)[: len(power)]
        return (x * (10 ** (gain_db / 20))[:, None]).astype(np.float32)


@dataclass(frozen=True)
class PeakLimiter(Transform):
    """A peak limiter written here (no pedalboard): the clip's peak is driven ``drive_db``
    over full scale, then held under it by a gain computed on 0.25 ms blocks from the
    larger of each block's and the next block's peak (one block of look-ahead, so no peak
    passes), released at ``release_ms`` (one-pole), interpolated per sample; then set back
    to the clip's peak level."""

    drive_db: float
    release_ms: float

    def __call__(self, x, sr):
        peak = float(np.max(np.abs(x))) or 1.0
        y = x.astype(np.float64) / peak * 10 ** (self.drive_db / 20)
        blk = max(1, sr // 4000)
        level = np.max(np.abs(y), axis=1)
        n = -(-len(level) // blk)
        block = np.pad(level, (0, n * blk - len(level))).reshape(n, blk).max(axis=1)
        block = np.maximum(block, np.append(block[1:], 0.0))  # look one block ahead
        target = np.minimum(1.0, 1.0 / np.maximum(block, 1e-12))
        release = np.exp(-1.0 / max(self.release_ms * 4, 1.0))  # per 0.25 ms block
        gain = np.empty(n)
        g = 1.0
        for j in range(n):  # instant attack, smooth release
            g = target[j] if target[j] < g else release * g + (1 - release) * target[j]
            gain[j] = g
        centres = (np.arange(n) + 0.5) * blk
        per_sample = np.minimum(np.interp(np.arange(len(level)), centres, gain),
                                np.repeat(gain, blk)[: len(level)])
        return (y * per_sample[:, None] * peak).astype(np.float32)
