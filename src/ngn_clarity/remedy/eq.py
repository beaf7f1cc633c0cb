"""The EQ remedy: 8 target gains at the correction centres -> a cascade of 8 biquads.

The correction vector's EQ part is minus the flaw's measured response at 60, 150, 300, 600,
1200, 3000, 7000 and 12000 Hz (:mod:`ngn_clarity.flaws.correction`). It is realized as one
filter per centre: a low shelf (corner :data:`LOW_SHELF_HZ`) for 60 Hz, peaks (Q
:data:`PEAK_Q`) at the six inner centres, a high shelf (corner :data:`HIGH_SHELF_HZ`) for
12 kHz, the flaw engine's own pedalboard (RBJ) stages. The bands overlap, so their gains are
*solved*: the cascade's response at the 8 centres equals the target (Newton steps on the
exact RBJ responses, :func:`biquad_db`; pedalboard's filters give the same within 0.005 dB),
each gain within +-:data:`EQ_LIMIT_DB`. The target is the correction scaled by the strength
(0-1), each value clipped to the same range first. A centre at or above 0.45 x the sample
rate is left out with its band (an 8 kHz file keeps the five lowest).

Why these corners and Q: on 102 chains the flaw engine draws for the 8 EQ flaws, the exact
correction realized this way leaves a median 1.2 dB RMS (1/3-octave bands 50 Hz-16 kHz) of
the flaw's 4.4 dB; Q 1.0 and 1.4 leave 1.2-1.5, shelves at 60/12000 Hz 1.3 (they reach only
half their gain at the centre, so the clamp bites twice as early).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence, Union

import numpy as np
import pedalboard as pb

from ..corrections import EQ_CENTRES_HZ
from ..flaws import HighShelf, LowShelf, Peak

#: The stages an EQ remedy is made of (the flaw engine's RBJ biquads, run by pedalboard).
Band = Union[Peak, LowShelf, HighShelf]

#: Each band's gain (and each target) is kept within +-this many dB.
EQ_LIMIT_DB = 12.0
LOW_SHELF_HZ = 90.0
HIGH_SHELF_HZ = 8000.0
PEAK_Q = 0.7
SHELF_Q = 0.707
#: A centre (and its band) must lie under this fraction of the sample rate.
NYQUIST_SHARE = 0.45
_NEWTON_STEPS = 8


def _coefficients(stage: Band, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook biquad (b, a) of a Peak, LowShelf or HighShelf."""
    a_ = 10.0 ** (stage.gain_db / 40.0)
    w0 = 2.0 * np.pi * stage.freq_hz / sr
    cw, alpha = np.cos(w0), np.sin(w0) / (2.0 * stage.q)
    if isinstance(stage, Peak):
        return (np.array([1 + alpha * a_, -2 * cw, 1 - alpha * a_]),
                np.array([1 + alpha / a_, -2 * cw, 1 - alpha / a_]))
    s = 2.0 * np.sqrt(a_) * alpha
    sign = 1.0 if isinstance(stage, HighShelf) else -1.0  # the high shelf mirrors the low
    b = np.array([a_ * ((a_ + 1) + sign * (a_ - 1) * cw + s),
                  -2 * sign * a_ * ((a_ - 1) + sign * (a_ + 1) * cw),
                  a_ * ((a_ + 1) + sign * (a_ - 1) * cw - s)])
    a = np.array([(a_ + 1) - sign * (a_ - 1) * cw + s,
                  2 * sign * ((a_ - 1) - sign * (a_ + 1) * cw),
                  (a_ + 1) - sign * (a_ - 1) * cw - s])
    return b, a


def biquad_db(stages: Sequence[Band], sr: int, freqs) -> np.ndarray:
    """Gain (dB) of a cascade of Peak/LowShelf/HighShelf stages at ``freqs`` (Hz), exact."""
    f = np.asarray(freqs, dtype=np.float64)
    z = np.exp(-2j * np.pi * f / sr)
    total = np.zeros(f.shape)
    for st in stages:
        b, a = _coefficients(st, sr)
        h = (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
        total += 20.0 * np.log10(np.maximum(np.abs(h), 1e-12))
    return total


def _bands(gains: Iterable[float], keep: Sequence[int]) -> list[Band]:
    out: list[Band] = []
    for g, i in zip(gains, keep):
        g = round(float(g), 3) + 0.0
        if i == 0:
            out.append(LowShelf(LOW_SHELF_HZ, g, SHELF_Q))
        elif i == len(EQ_CENTRES_HZ) - 1:
            out.append(HighShelf(HIGH_SHELF_HZ, g, SHELF_Q))
        else:
            out.append(Peak(float(EQ_CENTRES_HZ[i]), g, PEAK_Q))
    return out


@dataclass(frozen=True)
class EqPlan:
    """The filters that realize an EQ correction, and what they reach at the centres."""

    bands: tuple[Band, ...]
    target_db: dict[int, float]
    """Per centre (Hz): the correction x strength, clipped to +-limit (kept centres only)."""
    achieved_db: dict[int, float]
    """Per centre: the cascade's response there."""
    dropped: tuple[int, ...] = ()
    """Centres (Hz) at or above 0.45 x the sample rate: no band."""
    strength: float = 1.0
    limit_db: float = EQ_LIMIT_DB

    @property
    def flat(self) -> bool:
        """Every gain is 0 dB: the cascade is the identity."""
        return all(b.gain_db == 0.0 for b in self.bands)

    def to_dict(self) -> dict[str, Any]:
        kinds = {"LowShelf": "low_shelf", "Peak": "peak", "HighShelf": "high_shelf"}
        return {"stage": "eq", "strength": self.strength, "limit_db": self.limit_db,
                "filters": [{"type": kinds[type(b).__name__], "freq_hz": b.freq_hz,
                             "gain_db": b.gain_db, "q": b.q} for b in self.bands],
                "target_db": {str(k): v for k, v in self.target_db.items()},
                "achieved_db": {str(k): v for k, v in self.achieved_db.items()},
                **({"left_out_hz": list(self.dropped),
                    "why_left_out": "at or above 0.45 x the sample rate"}
                   if self.dropped else {})}


def eq_plan(correction_db: Sequence[float], sr: int, strength: float = 1.0,
            limit_db: float = EQ_LIMIT_DB) -> EqPlan:
    """The cascade whose response at the centres is ``correction_db`` x ``strength``.

    Parameters
    ----------
    correction_db : sequence of 8 floats
        Gains (dB) wanted at :data:`~ngn_clarity.corrections.EQ_CENTRES_HZ`.
    sr : int
        The audio's sample rate (Hz).
    strength : float
        0-1: the share of the correction applied.
    limit_db : float
        Each target and each band gain stays within +-this.

    Returns
    -------
    EqPlan
        The bands (gains solved; all 0 dB for a zero target), target and achieved gains.
    """
    keep = [i for i, f in enumerate(EQ_CENTRES_HZ)
            if f < NYQUIST_SHARE * sr and (i < len(EQ_CENTRES_HZ) - 1
                                           or HIGH_SHELF_HZ < NYQUIST_SHARE * sr)]
    centres = np.array([EQ_CENTRES_HZ[i] for i in keep], dtype=np.float64)
    t = np.clip(np.asarray(correction_db, np.float64)[keep] * strength, -limit_db, limit_db)
    g = np.zeros(len(keep))
    if np.any(t != 0.0):
        unit = 6.0  # the per-band response per dB, measured at 6 dB (a good Newton matrix)
        a = np.stack([biquad_db([b], sr, centres) / unit
                      for b in _bands(np.full(len(keep), unit), keep)], axis=1)
        for _ in range(_NEWTON_STEPS):
            r = t - biquad_db(_bands(g, keep), sr, centres)
            if np.max(np.abs(r)) < 1e-3:
                break
            g = np.clip(g + np.linalg.solve(a, r), -limit_db, limit_db)
    bands = tuple(_bands(g, keep))
    got = biquad_db(bands, sr, centres)
    return EqPlan(bands, {int(c): round(float(v), 3) for c, v in zip(centres, t)},
                  {int(c): round(float(v), 3) for c, v in zip(centres, got)},
                  tuple(int(f) for i, f in enumerate(EQ_CENTRES_HZ) if i not in keep),
                  float(strength), float(limit_db))


def apply_eq(x: np.ndarray, sr: int, plan: EqPlan) -> np.ndarray:
    """``(frames, channels)`` float32 through the plan's bands, as one pedalboard (what each
    band's own ``__call__`` runs, in one pass); the input itself when every gain is 0 dB."""
    kinds = {Peak: pb.PeakFilter, LowShelf: pb.LowShelfFilter, HighShelf: pb.HighShelfFilter}
    board = pb.Pedalboard([kinds[type(b)](b.freq_hz, b.gain_db, b.q)
                           for b in plan.bands if b.gain_db != 0.0])
    if not len(board):
        return x
    out = board(np.ascontiguousarray(x.T, dtype=np.float32), sr)
    return np.ascontiguousarray(out.T, dtype=np.float32)
