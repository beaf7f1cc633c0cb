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

This module holds the base class and the tone stages (equalizers and filters); the other
families live beside it: :mod:`.dynamics` (compressors, limiters), :mod:`.drive`
(waveshapers, bit reduction), :mod:`.space` (rooms, rings), :mod:`.timing` (slice jitter).
Every family has at least two independent implementations, so a model cannot learn one
library's sound: RBJ biquads (pedalboard/JUCE) and a linear-phase FIR design (scipy) for EQ;
Butterworth (scipy) and Moog-ladder (pedalboard) filters; pedalboard's feed-forward
compressor and an RMS-detector compressor written here; numpy waveshapers of five families
and pedalboard's (JUCE) distortion; Freeverb (pedalboard), convolution with generated noise
or modal responses, and a Schroeder comb/all-pass network. scipy.signal is imported when a
filter first runs (it costs a process about 0.5-2 s, see :mod:`ngn_clarity.lazy`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pedalboard as pb



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

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Transform":
        """The transform a :meth:`to_dict` describes (any subclass, found by its name)."""
        def subclasses(c: type) -> list[type]:
            out: list[type] = []
            sub: type
            for sub in c.__subclasses__():
                out += [sub, *subclasses(sub)]
            return out

        kinds = {c.__name__: c for c in subclasses(Transform)}
        params = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in d.items() if k != "transform"}
        try:
            return kinds[d["transform"]](**params)
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a transform record: {d!r} ({e})") from None


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


def bell_db(f: np.ndarray, freq_hz: float, gain_db: float, q: float) -> np.ndarray:
    """A Gaussian bell on log2 frequency: ``gain_db`` at ``freq_hz``, half of it (in dB) at
    +-1/(2q) octave (the full width at half the gain is 1/q octaves, as a peaking EQ's Q
    roughly means)."""
    sigma = (1.0 / max(q, 0.05)) / 2.3548  # FWHM in octaves -> standard deviation
    return gain_db * np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / freq_hz) / sigma) ** 2)


def shelf_db(f: np.ndarray, freq_hz: float, gain_db: float, low: bool,
             width_oct: float) -> np.ndarray:
    """A logistic shelf on log2 frequency: ``gain_db`` far below (``low``) or above
    ``freq_hz``, half of it at ``freq_hz``, 10 %-90 % of the step over about ``width_oct``
    octaves."""
    z = np.log2(np.maximum(f, 1.0) / freq_hz) / (width_oct / 4.39)
    s = 1.0 / (1.0 + np.exp(np.clip(z, -60, 60)))
    return gain_db * (s if low else 1.0 - s)


@dataclass(frozen=True)
class FirEq(Transform):
    """Linear-phase FIR equalizer designed from a target curve (``scipy.signal.firwin2``,
    4095 taps, applied by overlap-add convolution, delay removed): ``kind`` "bell" (a
    Gaussian bell on log frequency, :func:`bell_db`), "low_shelf" or "high_shelf" (a
    logistic step, :func:`shelf_db`, over 1/q octaves). A different design, phase and
    bell shape from the RBJ biquads of :class:`Peak` and the shelves."""

    kind: str
    freq_hz: float
    gain_db: float
    q: float = 1.0
    eq: ClassVar[bool] = True
    taps: ClassVar[int] = 4095

    def response_db(self, f: np.ndarray) -> np.ndarray:
        """The target curve (dB) at frequencies ``f`` (Hz)."""
        if self.kind == "bell":
            return bell_db(f, self.freq_hz, self.gain_db, self.q)
        if self.kind in ("low_shelf", "high_shelf"):
            return shelf_db(f, self.freq_hz, self.gain_db, self.kind == "low_shelf",
                            1.0 / max(self.q, 0.2))
        raise ValueError(f"unknown FIR EQ kind {self.kind!r}")

    def __call__(self, x, sr):
        from scipy.signal import firwin2, oaconvolve

        f = np.concatenate(([0.0], np.geomspace(10.0, sr / 2 - 1.0, 600), [sr / 2]))
        taps = firwin2(self.taps, f, 10 ** (self.response_db(f) / 20), fs=sr)
        y = oaconvolve(x.astype(np.float64), taps[:, None], axes=0)
        d = self.taps // 2
        return y[d:d + len(x)].astype(np.float32)


@dataclass(frozen=True)
class Ladder(Transform):
    """Moog-style ladder filter (pedalboard ``LadderFilter``), a different design from the
    Butterworth filters: ``mode`` "hpf12", "hpf24", "lpf12" or "lpf24" (dB/octave),
    ``resonance`` 0-1 (the flaw engine keeps it at or under 0.3). The ladder model saturates
    (tanh stages) at ordinary levels; the clip is run through it at a 1e-3 peak and scaled
    back, where it is linear (the EQ correction measures a linear stage)."""

    mode: str
    freq_hz: float
    resonance: float = 0.0
    eq: ClassVar[bool] = True

    def __call__(self, x, sr):
        modes = {"hpf12": pb.LadderFilter.Mode.HPF12, "hpf24": pb.LadderFilter.Mode.HPF24,
                 "lpf12": pb.LadderFilter.Mode.LPF12, "lpf24": pb.LadderFilter.Mode.LPF24}
        f = min(self.freq_hz, 0.45 * sr)
        peak = float(np.max(np.abs(x))) or 1.0
        y = _board(x * np.float32(LINEAR_PEAK / peak), sr,
                   [pb.LadderFilter(modes[self.mode], f, self.resonance, 1.0)])
        return (y * np.float32(peak / LINEAR_PEAK)).astype(np.float32)


#: The level (peak) at which :class:`Ladder` runs, where its saturating stages are linear.
LINEAR_PEAK = 1e-3
