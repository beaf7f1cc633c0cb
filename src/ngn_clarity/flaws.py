"""The flaw engine: turn a gold clip into a flawed one, and say exactly how to undo it.

One engine serves ``clarity synth`` (the embedded set) and ``clarity augment`` (any gold
library): :func:`make_flawed` draws one of the flaw's **variants** (several ways engineers
actually produce that flaw), builds its chain of **transforms** (one small class each, with
every drawn parameter recorded, as audiomentations does), runs it, and returns the audio,
the chain and the **correction vector**.

Variants per flaw (severity 0 = mild but audible, 1 = strong):

==================  ========================================================================
EQ flaws            ``peak`` one boost, centre (where the clip has energy in the band) and
                    Q drawn; ``broad`` a wide
(muddy, harsh,      boost or shelf; ``stacked`` two boosts in the band; ``tilt`` a cut of the
nasal, boxy,        opposite band plus a smaller boost in the flaw's band
over_sibilant,
boomy)
thin / dark         ``filter`` a Butterworth high/low-pass of order 1-4; ``shelf`` a shelf
                    cut; ``both`` a gentle filter and a shelf; the cutoff follows the clip's
                    own low end (5 % rolloff) or top end (97 % rolloff)
over_compressed     ``compressor`` feed-forward, attack/release/ratio drawn, hard or soft
                    knee; ``limiter`` brickwall; ``multiband`` three bands squashed apart;
                    ``upward`` quiet parts raised (upward compression)
distorted           ``tanh``, ``hard_clip``, ``asymmetric`` (tube-like), ``foldback`` (fuzz),
                    ``bitcrush`` (bit depth and sample-rate reduction)
undefined           low-pass, compression and slight saturation in three different orders
                    (the saturation always before the low-pass)
ringy               resonances on the clip's own strong partials with an algorithmic
                    ``room``, a ``convolution`` room (exponential-decay noise, RT60
                    0.3-2.5 s), or a ``modal`` ring (decaying partials)
sloppy_timing       the audio is cut just before its onsets and the slices moved (with short
                    crossfades, no clicks): ``scatter`` N(0, 10-40 ms), ``drift`` a random
                    walk (rushing/dragging), ``flams`` 40 % of the hits 1.5-3x as far off
==================  ========================================================================

The correction vector (:data:`~ngn_clarity.records.CORRECTION_FIELDS`) is exact for every
variant:

* ``eq_<f>_db``: minus the measured response, at 60 ... 12000 Hz, of the chain's tone-shaping
  transforms (an impulse through them; clipped to +/-24 dB);
* ``restore_dynamics_db``: crest factor lost, gold minus flawed, measured (over_compressed
  and undefined);
* ``remove_drive_db``: the drive into the non-linearity: dB the clip's peak was pushed past
  the shaper's full scale (bit reduction: 6.02 dB per bit below 16);
* ``remove_jitter_ms``: the standard deviation of the slice shifts actually applied;
* ``remove_reverb_wet``: the wet level of the added room or ring.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np
import pedalboard as pb
from scipy.signal import butter, oaconvolve, sosfilt

from . import taxonomy
from .records import CORRECTION_FIELDS, EQ_CENTRES_HZ
from .units import amplitude_db, power_db

EQ_LIMIT_DB = 24.0
_IMPULSE_LEN = 1 << 15


def _lerp(lo: float, hi: float, severity: float) -> float:
    return float(lo + (hi - lo) * severity)


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def crest_db(x: np.ndarray) -> float:
    """Peak over RMS in dB (all channels together)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return amplitude_db(float(np.max(np.abs(x)))) - amplitude_db(rms)


def _rms_db(x: np.ndarray) -> float:
    return amplitude_db(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


def _board(x: np.ndarray, sr: int, plugins: list) -> np.ndarray:
    out = pb.Pedalboard(plugins)(np.ascontiguousarray(x.T, dtype=np.float32), sr)
    return np.ascontiguousarray(out.T, dtype=np.float32)


# --- transforms ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Transform:
    """One processing stage with its parameters. ``eq`` stages shape the tone linearly and
    make up the EQ correction."""

    eq: ClassVar[bool] = False

    def __call__(self, x: np.ndarray, sr: int) -> np.ndarray:
        raise NotImplementedError

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
            thr = _rms_db(band) - self.depth_db
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


@dataclass(frozen=True)
class Room(Transform):
    """Algorithmic room (pedalboard Reverb, Freeverb)."""

    room_size: float
    damping: float
    wet: float

    def __call__(self, x, sr):
        return _board(x, sr, [pb.Reverb(room_size=self.room_size, damping=self.damping,
                                        wet_level=self.wet, dry_level=1.0, width=0.5)])


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
        ir = _impulse("modal" if self.partials else "noise", sr, self.rt60_s, self.seed,
                      self.partials)
        wet = oaconvolve(x, ir[:, None], axes=0)[: len(x)]
        scale = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)
                              / max(np.mean(wet.astype(np.float64) ** 2), 1e-20)))
        return (x + self.wet * scale * wet).astype(np.float32)


def onsets(x: np.ndarray, sr: int, min_gap_s: float = 0.05) -> np.ndarray:
    """Sample positions of onsets: rises of > 6 dB within ~9 ms of a 128-hop frame energy,
    at least ``min_gap_s`` apart (the same detector the synth tests use)."""
    m, hop, win = np.mean(x, axis=1), 128, 512
    count = (len(m) - win) // hop
    if count < 4:
        return np.zeros(0, dtype=int)
    frames = np.lib.stride_tricks.sliding_window_view(m, win)[::hop][:count]
    e = power_db(np.mean(frames.astype(np.float64) ** 2, axis=1))
    rise = np.zeros_like(e)
    rise[3:] = e[3:] - e[:-3]
    floor = e.max() - 50
    peaks = (rise[1:-1] > 6) & (rise[1:-1] >= rise[:-2]) & (rise[1:-1] >= rise[2:]) & (
        e[1:-1] > floor)
    out: list[int] = []
    for i in np.flatnonzero(peaks) + 1:
        pos = (i - 3) * hop + win // 2  # where the rise started
        if not out or pos - out[-1] > min_gap_s * sr:
            out.append(max(0, int(pos)))
    return np.array(out, dtype=int)


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


# --- variants --------------------------------------------------------------------------------

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
            return _loguniform(rng, lo, hi)
        c = float(rng.choice(f[m], p=p[m] / p[m].sum()))
        return float(np.clip(c * 2 ** rng.uniform(-1 / 12, 1 / 12), lo, hi))

    def rolloff(self, fraction: float) -> float:
        """Frequency below which ``fraction`` of the clip's power lies (Hz)."""
        p = np.cumsum(self.bands_power)
        if not len(p) or p[-1] <= 0:
            return 1000.0
        return float(self.bands_hz[int(np.searchsorted(p, fraction * p[-1]))])


def _band_powers(x: np.ndarray, sr: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    m = x.mean(axis=1).astype(np.float64)
    n = 1 << 13
    if len(m) < n:
        m = np.pad(m, (0, n - len(m)))
    frames = m[: len(m) // n * n].reshape(-1, n) * np.hanning(n)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    centres = 30.0 * 2 ** (np.arange(0, 60) / 6)
    centres = centres[centres <= min(18000.0, 0.45 * sr)]
    lo, hi = centres * 2 ** (-1 / 12), centres * 2 ** (1 / 12)
    c = np.concatenate(([0.0], np.cumsum(power)))
    a, b = np.searchsorted(freqs, lo), np.searchsorted(freqs, hi)
    band = (c[b] - c[a]) / np.maximum(b - a, 1)
    return tuple(float(v) for v in centres), tuple(float(v) for v in band)


Build = Callable[[np.random.Generator, float, Context], list[Transform]]

#: Each EQ flaw: its band (Hz), gain range (dB) for a single boost, Q range, and the
#: opposite band a "tilt" variant cuts. Muddy (180-400 Hz) and boxy (400-850 Hz) split the
#: taxonomy's overlapping descriptions (200-500 and 300-800 Hz) where engineers do: mud in
#: the low mids, box above it, so one boost is not both.
_BANDS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float],
                        tuple[float, float]]] = {
    "muddy": ((180, 400), (6, 12), (0.7, 1.6), (2500, 6000)),
    "harsh": ((2000, 5000), (6, 13), (0.9, 2.5), (150, 450)),
    "nasal": ((800, 1500), (7, 13), (1.5, 4.0), (4000, 9000)),
    "boxy": ((400, 850), (7, 13), (1.2, 3.0), (3000, 9000)),
    "over_sibilant": ((5000, 9500), (8, 15), (0.9, 2.2), (150, 600)),
    "boomy": ((60, 130), (8, 14), (1.5, 4.0), (1500, 5000)),
}


def _eq_variants(flaw: str) -> dict[str, Build]:
    (lo, hi), (g_lo, g_hi), (q_lo, q_hi), (opp_lo, opp_hi) = _BANDS[flaw]

    def peak(rng, sev, ctx):
        return [Peak(ctx.pick(rng, lo, hi), _lerp(g_lo, g_hi, sev),
                     float(rng.uniform(q_lo, q_hi)))]

    def broad(rng, sev, ctx):
        gain = _lerp(g_lo - 1, g_hi - 2, sev)
        if flaw == "boomy" and rng.random() < 0.5:
            return [LowShelf(_loguniform(rng, hi * 0.8, hi * 1.5), gain,
                             float(rng.uniform(0.6, 1.0)))]
        if flaw in ("harsh", "over_sibilant") and rng.random() < 0.5:
            return [HighShelf(_loguniform(rng, lo * 0.8, lo * 1.3), gain,
                              float(rng.uniform(0.6, 1.0)))]
        return [Peak(ctx.pick(rng, lo, hi), gain, float(rng.uniform(0.4, 0.8)))]

    def stacked(rng, sev, ctx):
        f1 = ctx.pick(rng, lo, hi)
        ratio = float(rng.uniform(1.3, 2.0))
        f2 = float(np.clip(f1 * ratio if rng.random() < 0.5 else f1 / ratio, lo, hi))
        total = _lerp(g_lo, g_hi, sev)
        share = float(rng.uniform(0.45, 0.65))
        return [Peak(f1, total * share + 1.5, float(rng.uniform(q_lo, q_hi))),
                Peak(f2, total * (1 - share) + 1.5, float(rng.uniform(q_lo, q_hi)))]

    def tilt(rng, sev, ctx):
        return [Peak(_loguniform(rng, opp_lo, opp_hi), -_lerp(6, 12, sev),
                     float(rng.uniform(0.9, 1.4))),
                Peak(ctx.pick(rng, lo, hi), _lerp(g_lo - 2, g_hi - 4, sev),
                     float(rng.uniform(q_lo, q_hi)))]

    return {"peak": peak, "broad": broad, "stacked": stacked, "tilt": tilt}


def _filter_variants(kind: str) -> dict[str, Build]:
    """thin (highpass) or dark (lowpass)."""
    thin = kind == "highpass"

    def cutoff(rng, sev, ctx):  # where the clip's own low or high end is
        jitter = float(rng.uniform(0.85, 1.15))
        if thin:
            lo, hi = (50, 250) if ctx.instrument == "bass" else (100, 500)
            return float(np.clip(ctx.rolloff(0.05) * _lerp(1.6, 3.5, sev), lo, hi)) * jitter
        return float(np.clip(ctx.rolloff(0.97) * _lerp(0.7, 0.3, sev), 1000, 8000)) * jitter

    def shelf(f, gain, q):
        return LowShelf(f, gain, q) if thin else HighShelf(f, gain, q)

    def filt(rng, sev, ctx):
        order = int(rng.integers(1, 5))
        f = cutoff(rng, sev, ctx) * (1.4 if order == 1 else 1.0) ** (1 if thin else -1)
        return [Butterworth(kind, f, order)]

    def shelf_only(rng, sev, ctx):
        f = cutoff(rng, sev, ctx) * (1.5 if thin else 0.8)
        return [shelf(f, -_lerp(9, 18, sev), float(rng.uniform(0.5, 0.9)))]

    def both(rng, sev, ctx):
        f = cutoff(rng, sev, ctx)
        return [Butterworth(kind, f, int(rng.integers(1, 3))),
                shelf(f * (1.5 if thin else 0.8), -_lerp(6, 12, sev), 0.7)]

    return {"filter": filt, "shelf": shelf_only, "both": both}


def _over_compressed() -> dict[str, Build]:
    def compressor(rng, sev, ctx):
        soft = rng.random() < 0.5
        return [Compressor(ctx.rms_db - _lerp(8, 20, sev), _lerp(6, 20, sev),
                           _loguniform(rng, 0.05, 1.0), _loguniform(rng, 30, 300),
                           knee_db=float(rng.uniform(6, 12)) if soft else 0.0,
                           makeup_db=_lerp(4, 10, sev)),
                Limiter(_lerp(4, 10, sev), -1.0, float(rng.uniform(20, 80)))]

    def limiter(rng, sev, ctx):
        return [Limiter(_lerp(8, 18, sev), -1.0, _loguniform(rng, 10, 200))]

    def multiband(rng, sev, ctx):
        return [MultibandCompressor(_loguniform(rng, 150, 400), _loguniform(rng, 2000, 5000),
                                    _lerp(8, 18, sev), _lerp(6, 20, sev),
                                    _loguniform(rng, 0.2, 10), _loguniform(rng, 40, 200)),
                Limiter(_lerp(5, 10, sev), -1.0, 50.0)]

    def upward(rng, sev, ctx):
        return [UpwardCompressor(ctx.rms_db - float(rng.uniform(0, 4)), _lerp(4, 10, sev),
                                 float(rng.uniform(30, 120)), _lerp(12, 30, sev)),
                Limiter(_lerp(5, 10, sev), -1.0, 50.0)]

    return {"compressor": compressor, "limiter": limiter, "multiband": multiband,
            "upward": upward}


def _distorted() -> dict[str, Build]:
    def shaper(curve):
        def build(rng, sev, ctx):
            lo, hi = {"tanh": (12, 30), "hard_clip": (8, 22), "asymmetric": (12, 28),
                      "foldback": (6, 16)}[curve]
            return [Shaper(curve, _lerp(lo, hi, sev),
                           float(rng.uniform(0.3, 0.8)) if curve == "asymmetric" else 0.0)]
        return build

    def bitcrush(rng, sev, ctx):
        return [Bitcrush(round(_lerp(4.5, 2.5, sev) + float(rng.uniform(-0.5, 0.5)), 2),
                         int(rng.integers(2, 4 + int(5 * sev))))]

    return {**{c: shaper(c) for c in ("tanh", "hard_clip", "asymmetric", "foldback")},
            "bitcrush": bitcrush}


def _undefined() -> dict[str, Build]:
    def parts(rng, sev, ctx):
        lp = Butterworth("lowpass", _lerp(700, 250, sev) * float(rng.uniform(0.85, 1.15)),
                         int(rng.integers(2, 5)))
        comp = Compressor(ctx.rms_db - _lerp(6, 14, sev), _lerp(4, 10, sev),
                          float(rng.uniform(0.1, 1.0)), _loguniform(rng, 80, 250))
        sat = Shaper("tanh", _lerp(2, 6, sev))
        return lp, comp, sat

    def order(*idx):  # the saturation always comes before the low-pass that dulls it
        def build(rng, sev, ctx):
            p = parts(rng, sev, ctx)
            return [p[i] for i in idx]
        return build

    return {"drive_filter_squash": order(2, 0, 1), "squash_drive_filter": order(1, 2, 0),
            "drive_squash_filter": order(2, 1, 0)}


def _ringy() -> dict[str, Build]:
    def resonances(rng, sev, ctx):
        chosen = list(rng.choice(ctx.partials, size=min(int(rng.integers(2, 4)),
                                                        len(ctx.partials)), replace=False)
                      ) if ctx.partials else [_loguniform(rng, 500, 3000)]
        return [Peak(float(f), _lerp(6, 12, sev), float(rng.uniform(15, 40))) for f in chosen]

    def room(rng, sev, ctx):
        return [*resonances(rng, sev, ctx),
                Room(_lerp(0.6, 0.9, sev), float(rng.uniform(0.05, 0.3)),
                     _lerp(0.35, 0.6, sev))]

    def convolution(rng, sev, ctx):
        return [*resonances(rng, sev, ctx),
                ConvolutionRoom(_lerp(0.5, 2.5, sev) * float(rng.uniform(0.8, 1.0)),
                                _lerp(0.45, 0.7, sev), int(rng.integers(2**31)))]

    def modal(rng, sev, ctx):  # modes on the partials of every part of the clip
        partials = ctx.modes or (_loguniform(rng, 400, 2000),)
        return [*resonances(rng, sev, ctx)[:1],
                ConvolutionRoom(_lerp(1.2, 2.5, sev), _lerp(0.5, 0.7, sev),
                                int(rng.integers(2**31)), partials)]

    return {"room": room, "convolution": convolution, "modal": modal}


def _sloppy() -> dict[str, Build]:
    def mode(m):
        def build(rng, sev, ctx):
            return [SliceJitter(m, _lerp(10, 40, sev), int(rng.integers(2**31)))]
        return build

    return {m: mode(m) for m in ("scatter", "drift", "flams")}


VARIANTS: dict[str, dict[str, Build]] = {
    **{f: _eq_variants(f) for f in _BANDS},
    "thin": _filter_variants("highpass"),
    "dark": _filter_variants("lowpass"),
    "over_compressed": _over_compressed(),
    "distorted": _distorted(),
    "undefined": _undefined(),
    "ringy": _ringy(),
    "sloppy_timing": _sloppy(),
}
assert set(VARIANTS) == set(taxonomy.ALL_FLAW_SLUGS)


def strongest_partials(audio: np.ndarray, sr: int, lo: float = 300.0, hi: float = 4000.0,
                       k: int = 8) -> tuple[float, ...]:
    """Frequencies (Hz) of the ``k`` strongest spectral peaks between ``lo`` and ``hi``."""
    x = audio.mean(axis=1) if audio.ndim == 2 else audio
    n = 1 << 14
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = x[: len(x) // n * n].reshape(-1, n) * np.hanning(n)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
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


# --- the engine ------------------------------------------------------------------------------

@dataclass
class Flawed:
    """A flawed clip: the audio and everything needed to label it exactly."""

    audio: np.ndarray
    flaw: str
    variant: str
    severity: float
    chain: list[dict[str, Any]]
    correction: dict[str, float]
    facts: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """What the label record keeps under ``params``."""
        return {"flaw": self.flaw, "variant": self.variant, "severity": self.severity,
                "chain": self.chain, **self.facts}


def eq_response_db(chain: list[Transform], sr: int) -> np.ndarray:
    """Gain (dB) of the chain's tone-shaping stages at :data:`EQ_CENTRES_HZ`."""
    stages = [t for t in chain if t.eq]
    if not stages:
        return np.zeros(len(EQ_CENTRES_HZ))
    h = np.zeros((_IMPULSE_LEN, 1), dtype=np.float32)
    h[0, 0] = 1.0
    for t in stages:
        h = t(h, sr)
    mag = np.abs(np.fft.rfft(h[:, 0].astype(np.float64)))
    freqs = np.fft.rfftfreq(_IMPULSE_LEN, 1.0 / sr)
    return amplitude_db(np.interp(EQ_CENTRES_HZ, freqs, mag))


def _drive_db(chain: list[Transform]) -> float:
    total = 0.0
    for t in chain:
        if isinstance(t, Shaper):
            total += t.drive_db
        elif isinstance(t, Bitcrush):
            total += 6.02 * max(0.0, 16 - t.bits)
    return total


def correction(flaw: str, chain: list[Transform], gold: np.ndarray, flawed: np.ndarray,
               sr: int, jitter_ms: float = 0.0) -> dict[str, float]:
    """The correction vector (see the module doc) as ``{field: value}`` in field order."""
    eq = np.clip(-eq_response_db(chain, sr), -EQ_LIMIT_DB, EQ_LIMIT_DB)
    values: dict[str, float] = {f"eq_{f}_db": round(float(v), 3) + 0.0
                                for f, v in zip(EQ_CENTRES_HZ, eq)}
    dynamic = flaw in ("over_compressed", "undefined")
    dyn = crest_db(gold) - crest_db(flawed) if dynamic else 0.0
    wet = sum(t.wet for t in chain if isinstance(t, (Room, ConvolutionRoom)))
    values.update(restore_dynamics_db=round(float(dyn), 3),
                  remove_drive_db=round(_drive_db(chain), 3),
                  remove_jitter_ms=round(float(jitter_ms), 3),
                  remove_reverb_wet=round(float(wet), 4))
    return {k: values[k] for k in CORRECTION_FIELDS}


def make_flawed(audio: np.ndarray, sample_rate: int, instrument: str, flaw: str,
                severity: float, rng: np.random.Generator,
                variant: str | None = None) -> Flawed:
    """Apply ``flaw`` to ``(frames, channels)`` float audio (see the module doc).

    The variant is drawn from ``rng`` unless given; the output has the input's peak level.
    """
    taxonomy.check_flaw(instrument, flaw)
    variants = VARIANTS[flaw]
    name = variant or str(rng.choice(sorted(variants)))
    x = np.ascontiguousarray(audio, dtype=np.float32)
    ringy = flaw == "ringy"
    ctx = Context(instrument, sample_rate, _rms_db(x),
                  strongest_partials(x, sample_rate) if ringy else (),
                  _modes(x, sample_rate) if ringy else (), *_band_powers(x, sample_rate))
    chain = variants[name](rng, float(severity), ctx)
    y, shifts = x, np.zeros(0)
    for t in chain:
        if isinstance(t, SliceJitter):
            y, shifts = t.apply(y, sample_rate)
        else:
            y = t(y, sample_rate)
    jitter = float(np.std(shifts) * 1000 / sample_rate) if len(shifts) else 0.0
    corr = correction(flaw, chain, x, y, sample_rate, jitter)
    peak_in, peak_out = float(np.max(np.abs(x))), float(np.max(np.abs(y)))
    if not np.isfinite(peak_out) or peak_out <= 1e-9:
        raise ValueError(f"the {flaw}/{name} chain silenced the clip")
    y = (y * (peak_in / peak_out)).astype(np.float32)
    facts = {"slices_moved": int(len(shifts))} if flaw == "sloppy_timing" else {}
    return Flawed(y, flaw, name, round(float(severity), 4), [t.to_dict() for t in chain],
                  corr, facts)
