"""Space stages: rooms and rings (algorithmic, convolution with generated responses)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pedalboard as pb

from .transforms import Transform, _board


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


def mix_response(x: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """``x`` plus its convolution with ``ir`` scaled to ``wet`` times the dry RMS."""
    from scipy.signal import oaconvolve

    room = oaconvolve(x, ir[:, None], axes=0)[: len(x)]
    scale = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)
                          / max(np.mean(room.astype(np.float64) ** 2), 1e-20)))
    return (x + wet * scale * room).astype(np.float32)


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
        return mix_response(x, ir, self.wet)

    @property
    def reverb_wet(self) -> float:
        return self.wet


#: Delays (ms) of the Schroeder network's parallel feedback combs and series all-passes.
COMB_MS = (29.7, 37.1, 41.1, 43.7)
ALLPASS = ((5.0, 0.7), (1.7, 0.7))


def schroeder_impulse(sr: int, rt60_s: float) -> np.ndarray:
    """Impulse response of a Schroeder reverberator: four parallel feedback combs (delays
    :data:`COMB_MS`, each gain ``10^(-3 d / rt60)`` so it falls 60 dB in ``rt60_s``; the
    comb's response is ``g^(k-1)`` at ``k d``) into two series all-passes (:data:`ALLPASS`),
    unit energy, ``rt60_s`` long."""
    from scipy.signal import lfilter

    n = max(int(rt60_s * sr), 1)
    ir = np.zeros(n)
    for d_ms in COMB_MS:
        d = max(1, int(d_ms * sr / 1000))
        g = 10 ** (-3 * d / sr / rt60_s)
        k = np.arange(1, n // d + 1)
        pos = k * d
        keep = pos < n
        ir[pos[keep]] += g ** (k[keep] - 1)
    for d_ms, g in ALLPASS:
        d = max(1, int(d_ms * sr / 1000))
        b, a = np.zeros(d + 1), np.zeros(d + 1)
        b[0], b[d], a[0], a[d] = -g, 1.0, 1.0, -g
        ir = lfilter(b, a, ir)
    return (ir / np.sqrt(max(float(np.sum(ir ** 2)), 1e-20))).astype(np.float32)


@dataclass(frozen=True)
class SchroederRoom(Transform):
    """An algorithmic room of another design than pedalboard's Freeverb: the clip convolved
    with a Schroeder comb/all-pass network's response (:func:`schroeder_impulse`), mixed in
    at ``wet`` times the dry RMS."""

    rt60_s: float
    wet: float

    def __call__(self, x, sr):
        return mix_response(x, schroeder_impulse(sr, self.rt60_s), self.wet)

    @property
    def reverb_wet(self) -> float:
        return self.wet
