"""The flaw engine's transforms: one small frozen dataclass per processing stage.

Each transform is a callable ``t(x, sr) -> y`` on ``(frames, channels)`` float32 audio whose
fields are the parameters it was drawn with (as audiomentations records them), so
``t.to_dict()`` is the exact recipe a label record keeps. What the correction vector needs
from a stage is a property of the stage itself:

* ``eq`` (class attribute): the stage shapes the tone linearly and makes up the EQ
  correction (measured on an impulse, :mod:`.correction`);
* :attr:`Transform.distortion_drive_db`: dB the clip is pushed past a non-linearity's full
  scale (shapers; bit reduction counts 6.02 dB per bit below 16);
* :attr:`Transform.reverb_wet`: the wet level of an added room or ring;
* :meth:`Transform.process`: the output and, for a stage that moves time (slice jitter),
  the shift of each moved slice.

Filters and compressors come from pedalboard (JUCE) and scipy.signal (imported when a
filter first runs: it costs a process about 0.5-2 s, see :mod:`ngn_clarity.lazy`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pedalboard as pb

from ..dsp import onsets, rms_db
from ..units import power_db


def _board(x: np.ndarray, sr: int, plugins: list) -> np.ndarray:
    out = pb.Pedalboard(plugins)(np.ascontiguousarray(x.T, dtype=np.float32), sr)
    return np.ascontiguousarray(out.T, dtype=np.float32)


@dataclass(frozen=True)
class Transform:
    """One processing stage with its parameters. ``eq`` stages shape the tone linearly and
    make up the EQ correction."""

    eq: ClassVar[bool] = False

    def __call__(self, x: np.ndarray, sr: int) -> np.ndarray:
        raise NotImplementedError

    def process(self, x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The output, and the shift (samples) of each slice the stage moved in time (None:
        it moves nothing)."""
        return self(x, sr), None

    @property
    def distortion_drive_db(self) -> float:
        """dB the clip is driven past a non-linearity's full scale (0 for linear stages)."""
        return 0.0

    @property
    def reverb_wet(self) -> float:
        """Wet level of the room or ring the stage adds (0 for a dry stage)."""
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"transform": type(self).__name__,
                **{k: (round(v, 4) if isinstance(v, float) else v)
                   for k, v in asdict(self).items()}}


@dataclass(frozen=True)
class Peak(Transform):
    """Peaking EQ (RBJ biquad, pedalboard)."""

    freq_hz: float
    gain_db: float
    q: float
    eq: ClassVar[bool] = True

    def __call__(self, x, sr):
        return _board(x, sr, [pb.PeakFilter(self.freq_hz, self.gain_db, self.q)])


@dataclass(frozen=True)
class LowShelf(Transform):
    freq_hz: float
    gain_db: float
    q: float = 0.707
    eq: ClassVar[bool] = True

    def __call__(self, x, sr):
        return _board(x, sr, [pb.LowShelfFilter(self.freq_hz, self.gain_db, self.q)])


@dataclass(frozen=True)
class HighShelf(Transform):
    freq_hz: float
    gain_db: float
    q: float = 0.707
    eq: ClassVar[bool] = True

    def __call__(self, x, sr):
        return _board(x, sr, [pb.HighShelfFilter(self.freq_hz, self.gain_db, self.q)])


@dataclass(frozen=True)
class Butterworth(Transform):
    """High- or low-pass Butterworth filter of order 1-4 (scipy)."""

    kind: str  # "highpass" | "lowpass"
    freq_hz: float
    order: int
    eq: ClassVar[bool] = True

    def __call__(self, x, sr):
        from scipy.signal import butter, sosfilt

        sos = butter(self.order, min(self.freq_hz, 0.45 * sr), self.kind, fs=sr, output="sos")
        return sosfilt(sos, x, axis=0).astype(np.float32)


@dataclass(frozen=True)
class Gain(Transform):
    """Level change (not tone: left out of the EQ correction)."""

    gain_db: float

    def __call__(self, x, sr):
        return (x * np.float32(10 ** (self.gain_db / 20))).astype(np.float32)


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
class Shaper(Transform):
    """Drive into a static non-linearity: the clip's peak is pushed ``drive_db`` past the
    shaper's full scale. Curves: tanh, hard_clip, asymmetric (tanh with a bias: even
    harmonics, tube-like), foldback (wave folding, fuzz)."""

    curve: str
    drive_db: float
    bias: float = 0.0

    def __call__(self, x, sr):
        peak = float(np.max(np.abs(x))) or 1.0
        y = x.astype(np.float64) / peak * 10 ** (self.drive_db / 20)
        if self.curve == "tanh":
            y = np.tanh(y)
        elif self.curve == "hard_clip":
            y = np.clip(y, -1.0, 1.0)
        elif self.curve == "asymmetric":
            y = np.tanh(y + self.bias) - np.tanh(self.bias)
            y -= y.mean(axis=0)  # no DC from the bias
        elif self.curve == "foldback":
            y = np.abs(np.mod(y - 1.0, 4.0) - 2.0) - 1.0
        else:
            raise ValueError(f"unknown curve {self.curve!r}")
        return (y * peak).astype(np.float32)

    @property
    def distortion_drive_db(self) -> float:
        return self.drive_db


@dataclass(frozen=True)
class Bitcrush(Transform):
    """Bit-depth reduction and sample-rate reduction (sample and hold)."""

    bits: float
    hold: int

    def __call__(self, x, sr):
        peak = float(np.max(np.abs(x))) or 1.0
        y = _board(x / peak, sr, [pb.Bitcrush(self.bits)])
        if self.hold > 1:
            y = np.repeat(y[:: self.hold], self.hold, axis=0)[: len(y)]
        return (y * peak).astype(np.float32)

    @property
    def distortion_drive_db(self) -> float:
        return 6.02 * max(0.0, 16 - self.bits)


@dataclass(frozen=True)
class Room(Transform):
    """Algorithmic room (pedalboard Reverb, Freeverb)."""

    room_size: float
    damping: float
    wet: float

    def __call__(self, x, sr):
        return _board(x, sr, [pb.Reverb(room_size=self.room_size, damping=self.damping,
                                        wet_level=self.wet, dry_level=1.0, width=0.5)])

    @property
    def reverb_wet(self) -> float:
        return self.wet


def _impulse(kind: str, sr: int, rt60_s: float, seed: int,
             partials: tuple[float, ...] = ()) -> np.ndarray:
    n = int(rt60_s * sr)
    t = np.arange(n) / sr
    env = np.exp(-6.907755 * t / rt60_s)  # -60 dB at rt60
    rng = np.random.default_rng(seed)
    if kind == "noise":
        ir = rng.standard_normal(n) * env
    else:  # decaying partials with random phases
        ir = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in partials) * env
    ir[0] = 0.0
    return (ir / np.sqrt(np.sum(ir ** 2))).astype(np.float32)


@dataclass(frozen=True)
class ConvolutionRoom(Transform):
    """Convolution with a generated impulse response: exponential-decay noise (a room)
    or, with ``partials``, decaying sinusoids (a resonant body); mixed in at ``wet``."""

    rt60_s: float
    wet: float
    seed: int
    partials: tuple[float, ...] = ()

    def __call__(self, x, sr):
        from scipy.signal import oaconvolve

        ir = _impulse("modal" if self.partials else "noise", sr, self.rt60_s, self.seed,
                      self.partials)
        wet = oaconvolve(x, ir[:, None], axes=0)[: len(x)]
        scale = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)
                              / max(np.mean(wet.astype(np.float64) ** 2), 1e-20)))
        return (x + self.wet * scale * wet).astype(np.float32)

    @property
    def reverb_wet(self) -> float:
        return self.wet


@dataclass(frozen=True)
class SliceJitter(Transform):
    """Slices cut 10 ms before each onset are moved by drawn shifts, with 5 ms raised-cosine
    crossfades; the order of the hits is kept. ``mode``: scatter (independent N(0, sigma)),
    drift (random walk), flams (a few hits far off)."""

    mode: str
    sigma_ms: float
    seed: int

    def shifts(self, n: int, sr: int) -> np.ndarray:
        """``n`` shifts in samples. The first hit stays where it is (the grid), unless it is
        the only one: then it lands late. At least one hit moves by sigma/2 or more."""
        rng = np.random.default_rng(self.seed)
        s = self.sigma_ms * sr / 1000
        if n == 1:
            return np.array([s * float(rng.uniform(0.75, 2.0))])
        if self.mode == "scatter":
            d = rng.normal(0, s, n)
        elif self.mode == "drift":  # a random walk, centred, scaled to sigma
            d = np.cumsum(rng.normal(0, 1, n))
            d = (d - d.mean()) * (s / (float(d.std()) or 1.0))
        else:  # flams: about 40 % of the hits, 1.5-3 sigma off
            d = np.where(rng.random(n) < 0.4, rng.uniform(1.5 * s, 3 * s, n)
                         * rng.choice([-1.0, 1.0], n), 0.0)
        d = np.clip(d, -3 * s, 3 * s)
        d[0] = 0.0
        if np.max(np.abs(d)) < s / 2:  # never a draw that moves nothing
            i = 1 + int(rng.integers(n - 1))
            d[i] = s * float(rng.choice([-1.0, 1.0]))
        return d

    @staticmethod
    def cuts(x: np.ndarray, sr: int) -> np.ndarray:
        """Where the slices start: 0 and 10 ms before each onset."""
        cuts = onsets(x, sr) - int(0.010 * sr)
        return np.unique(np.concatenate(([0], cuts[cuts > 0])))

    def apply(self, x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """(jittered audio, shift in samples of each moved slice, in order: every slice but
        the first, or the only one)."""
        cuts = self.cuts(x, sr)
        n = len(cuts)
        starts = cuts + self.shifts(n, sr).round().astype(int)
        if n == 1:  # one hit: it comes late
            out = np.zeros(x.shape, dtype=np.float32)
            out[starts[0]:] = x[: len(x) - starts[0]]
            return out, starts - cuts
        gap = int(0.020 * sr)
        for i in range(1, n):  # keep the hits in order, at least 20 ms apart
            starts[i] = int(np.clip(starts[i], starts[i - 1] + gap, len(x) - 1))
        fade = int(0.005 * sr)
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade)))[:, None]
        out = np.zeros(x.shape, dtype=np.float64)
        for i in range(n):
            src_end = cuts[i + 1] if i + 1 < n else len(x)
            room = starts[i + 1] - starts[i] + fade if i + 1 < n else len(x)
            piece = x[cuts[i]:src_end].astype(np.float64)
            piece = piece[: max(0, min(len(piece), room, len(x) - starts[i]))].copy()
            k = min(fade, len(piece))
            if k == 0:
                continue
            if i > 0:  # fade in (the slice starts 10 ms before its onset)
                piece[:k] *= ramp[:k]
            if i + 1 < n:  # fade out: a crossfade with the next slice, or before a gap
                piece[len(piece) - k:] *= ramp[::-1][fade - k:]
            out[starts[i]:starts[i] + len(piece)] += piece
        return out.astype(np.float32), (starts - cuts)[1:]

    def __call__(self, x, sr):
        return self.apply(x, sr)[0]

    def process(self, x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray | None]:
        return self.apply(x, sr)
