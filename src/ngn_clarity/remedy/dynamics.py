"""The dynamics remedy: a transient shaper that gives back the crest factor a compressor took.

``restore_dynamics_db`` is the crest factor (peak over RMS, :func:`ngn_clarity.dsp.crest_db`)
the flaw took away. :class:`TransientShaper` raises the attack of every onset: two envelope
followers track the block peak level (0.5 ms blocks, in dB), a fast one (attack
``fast_ms``) and a slow one (attack ``slow_ms``), both releasing over ``release_ms``; where
the fast one stands above the slow one (the first tens of milliseconds of a hit) by more
than ``threshold_db`` (more than a noisy sustain's own flutter), the gain is ``amount`` dB
per dB of the excess, at most ``max_gain_db``, interpolated per sample. :func:`restore_crest`
finds the amount so that the measured crest factor rises by the asked dB (the strength is
applied by the caller), bounded by :data:`MAX_AMOUNT` and :data:`MAX_RISE_DB`; what it
reached is measured, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dsp import crest_db
from ..flaws import Transform
from ..units import amplitude_db

#: The crest factor is raised by at most this many dB.
MAX_RISE_DB = 12.0
#: At most this many dB of gain per dB the fast envelope stands over the slow one.
MAX_AMOUNT = 3.0
_BISECTIONS = 16
_TOLERANCE_DB = 0.05


def _follow(level: np.ndarray, attack: float, release: float) -> np.ndarray:
    """One-pole envelope follower of a level series (coefficients per step)."""
    out = np.empty_like(level)
    e = float(level[0])
    for i, v in enumerate(level.tolist()):  # one step per 0.5 ms block
        c = attack if v > e else release
        e = c * e + (1.0 - c) * v
        out[i] = e
    return out


@dataclass(frozen=True)
class TransientShaper(Transform):
    """Attack boost (see the module doc): ``amount`` dB per dB the fast envelope stands over
    the slow one beyond ``threshold_db``, at most ``max_gain_db``."""

    amount: float
    threshold_db: float = 3.0
    fast_ms: float = 1.0
    slow_ms: float = 25.0
    release_ms: float = 150.0
    max_gain_db: float = 18.0

    def excess_db(self, x: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
        """(dB the fast envelope stands over the slow one per block, the block length)."""
        blk = max(1, sr // 2000)
        peak = np.max(np.abs(x), axis=1) if x.ndim == 2 else np.abs(x)
        n = -(-len(peak) // blk)
        level = amplitude_db(np.pad(peak, (0, n * blk - len(peak))).reshape(n, blk).max(1))
        step_ms = 1000.0 * blk / sr
        rel = np.exp(-step_ms / self.release_ms)
        fast = _follow(level, np.exp(-step_ms / self.fast_ms), rel)
        slow = _follow(level, np.exp(-step_ms / self.slow_ms), rel)
        return np.maximum(fast - slow, 0.0), blk

    def gain(self, excess: np.ndarray, blk: int, frames: int) -> np.ndarray:
        """Per-sample linear gain from the per-block excess."""
        g = np.clip(self.amount * (excess - self.threshold_db), 0.0, self.max_gain_db)
        centres = (np.arange(len(g)) + 0.5) * blk
        return (10.0 ** (np.interp(np.arange(frames), centres, g) / 20.0)).astype(np.float32)

    def __call__(self, x, sr):
        excess, blk = self.excess_db(x, sr)
        return (x * self.gain(excess, blk, len(x))[:, None]).astype(np.float32)


@dataclass(frozen=True)
class Restored:
    """What :func:`restore_crest` did."""

    out: np.ndarray
    shaper: TransientShaper
    asked_db: float
    crest_before_db: float
    crest_after_db: float

    @property
    def rise_db(self) -> float:
        return self.crest_after_db - self.crest_before_db

    def to_dict(self) -> dict[str, Any]:
        s = self.shaper
        return {"stage": "transient_shaper",
                "what": "attack boost: amount dB per dB the fast envelope stands over the "
                        "slow one beyond threshold_db, at most max_gain_db",
                "amount_db_per_db": round(s.amount, 4), "threshold_db": s.threshold_db,
                "fast_ms": s.fast_ms,
                "slow_ms": s.slow_ms, "release_ms": s.release_ms,
                "max_gain_db": s.max_gain_db, "crest_rise_asked_db": round(self.asked_db, 3),
                "crest_rise_db": round(self.rise_db, 3),
                "crest_before_db": round(self.crest_before_db, 3),
                "crest_after_db": round(self.crest_after_db, 3)}


def restore_crest(x: np.ndarray, sr: int, rise_db: float) -> Restored:
    """Raise the crest factor of ``(frames, channels)`` audio by ``rise_db`` (at most
    :data:`MAX_RISE_DB`; as far as :data:`MAX_AMOUNT` gets when it cannot), by bisection on
    the shaper's amount. A rise of 0 or less returns the input untouched."""
    asked = float(min(rise_db, MAX_RISE_DB))
    before = crest_db(x)
    if asked <= 0.0:
        return Restored(x, TransientShaper(0.0), asked, before, before)
    excess, blk = TransientShaper(1.0).excess_db(x, sr)

    def run(amount: float) -> tuple[np.ndarray, float]:
        y = (x * TransientShaper(amount).gain(excess, blk, len(x))[:, None]).astype(np.float32)
        return y, crest_db(y) - before

    # the rise is not monotonic in the amount (past a point the capped boost lifts the RMS
    # more than the peaks): the first amount of a rising grid that reaches the ask, then
    # bisection between it and the one before; or the grid's best when none reaches it
    grid = np.concatenate(([0.0], np.geomspace(0.02, MAX_AMOUNT, 14)))
    runs = [(0.0, x, 0.0)]
    for amount in grid[1:]:
        y, r = run(float(amount))
        runs.append((float(amount), y, r))
        if r >= asked:
            break
    lo, hi, best = runs[-2][0], runs[-1][0], runs[-1][1]
    if runs[-1][2] < asked:
        hi, best, _ = max(runs, key=lambda t: t[2])
    else:
        for _ in range(_BISECTIONS):
            if abs(crest_db(best) - before - asked) <= _TOLERANCE_DB:
                break
            mid = 0.5 * (lo + hi)
            y, r = run(mid)
            if r >= asked:
                best, hi = y, mid
            else:
                lo = mid
    return Restored(best, TransientShaper(hi), asked, before, crest_db(best))
