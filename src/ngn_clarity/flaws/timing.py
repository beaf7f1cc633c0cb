"""The timing stage: onset-sliced jitter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dsp import onsets
from .transforms import Transform


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
