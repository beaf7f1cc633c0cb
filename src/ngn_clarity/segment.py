"""Cut a long stem into clips (``--segment SECONDS`` on import): a pure function on samples.

:func:`segment_spans` returns ``(start, end)`` frame spans of about ``seconds`` each, taken
only from the stem's active stretches and cut where the sound is quietest nearby, so notes
are kept whole where that is cheap:

1. **active stretches**: 100 ms hops whose momentary (400 ms, BS.1770 K-weighted) loudness is
   within ``quiet_lu`` (20 LU) of the stem's integrated loudness; gaps under 1 s are bridged;
2. each stretch is cut into ``round(length / seconds)`` pieces (at least one); each inner cut
   moves to the quietest 10 ms frame within ``search_s`` (0.5 s, at most a quarter of a clip)
   of its even position;
3. pieces shorter than ``min_s`` (half a clip, at least 1 s) are dropped.

A stem no longer than 1.5 clips is not cut: its active part is one clip.

A 4-minute stem gives about 40 six-second clips; a silent stretch (or a stem below the
-70 LUFS gate everywhere) gives none.
"""

from __future__ import annotations

import numpy as np

from . import loudness

#: A stretch is active where its momentary loudness is within this many LU of the stem's.
QUIET_LU = 20.0
#: Quiet gaps shorter than this (s) do not split an active stretch.
BRIDGE_S = 1.0


def _active_stretches(samples: np.ndarray, sr: int, quiet_lu: float) -> list[tuple[int, int]]:
    energies = loudness.hop_energies(samples, sr)
    hop = sr // 10
    if energies.size == 0:
        return [(0, len(samples))]
    try:
        integrated = loudness.measure(samples, sr, true_peak=False).integrated_lufs
    except loudness.LoudnessError:  # below the -70 LUFS gate everywhere: nothing to cut
        return []
    # momentary loudness of the 400 ms starting at each hop (the last ones: what is left)
    c = np.concatenate(([0.0], np.cumsum(energies)))
    k = np.arange(len(energies))
    end = np.minimum(k + 4, len(energies))
    momentary = (c[end] - c[k]) / (end - k)
    floor = 10 ** ((integrated - quiet_lu + 0.691) / 10)
    active = momentary >= floor
    stretches: list[list[int]] = []
    for i in np.flatnonzero(active):
        if stretches and i - stretches[-1][1] <= BRIDGE_S * 10:
            stretches[-1][1] = int(i) + 1
        else:
            stretches.append([int(i), int(i) + 1])
    return [(a * hop, min(len(samples), (b + 3) * hop)) for a, b in stretches]


def _quietest(env: np.ndarray, frame: int, around: int, reach: int, lo: int, hi: int) -> int:
    """Sample position of the quietest 10 ms frame within ``reach`` of ``around``."""
    a = max(lo, around - reach) // frame
    b = min(hi, around + reach) // frame
    if b <= a:
        return around
    return int((a + int(np.argmin(env[a:b]))) * frame)


def segment_spans(samples: np.ndarray, sample_rate: int, seconds: float, *,
                  quiet_lu: float = QUIET_LU, search_s: float = 0.5,
                  min_s: float | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` frames of the clips to cut (see the module doc)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    sr = int(sample_rate)
    length = int(round(seconds * sr))
    shortest = int((min_s if min_s is not None else max(1.0, seconds / 2)) * sr)
    frame = sr // 100
    mono = x.mean(axis=1).astype(np.float64)
    n = len(mono) // frame
    env = (mono[: n * frame].reshape(n, frame) ** 2).mean(axis=1) if n else np.zeros(1)
    reach = int(min(search_s, seconds / 4) * sr)
    stretches = _active_stretches(x, sr, quiet_lu)
    if stretches and len(x) <= 1.5 * length:  # already clip-sized: its active part, whole
        return [(stretches[0][0], stretches[-1][1])]
    spans: list[tuple[int, int]] = []
    for a, b in stretches:
        pieces = max(1, int(round((b - a) / length)))
        cuts = [a] + [_quietest(env, frame, a + i * (b - a) // pieces, reach, a, b)
                      for i in range(1, pieces)] + [b]
        spans += [(s, e) for s, e in zip(cuts[:-1], cuts[1:]) if e - s >= shortest]
    return spans
