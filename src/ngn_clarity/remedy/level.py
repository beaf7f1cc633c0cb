"""The last stage of every remedy: the input's loudness back, and a true-peak ceiling.

A boost raises the level and an attack boost the peaks, so a fixed file is brought back to
the input's integrated loudness (BS.1770-4, within :data:`MATCH_LU`) and its true peak
(BS.1770-4 Annex 2) kept at or under the ceiling (-1 dBTP). When the matching gain would
push the true peak over the ceiling, a **true-peak limiter** takes the excess, and the gain
is raised again by what the limiter took from the loudness (a few rounds): loudness is the
promise, the limiter the means, and the result says how many dB it took
(``limiter_db``). Only when the limiter cannot hold both within :data:`_ROUNDS` rounds is the
gain lowered instead, and the result says so (``note``).

The limiter (:func:`limit_true_peak`) reads the 4x-oversampled peak of every sample (soxr,
as :func:`ngn_clarity.loudness.true_peak`), needs a gain of ``ceiling / peak`` there, holds
the least gain needed within ``lookahead_ms`` before and ``hold_ms`` after each sample
(a sliding minimum), and smooths it with a moving average of ``2 x lookahead_ms``: the gain
reaches its value before the peak arrives and no peak passes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import soxr

from .. import loudness, settings
from ..units import amplitude_db

#: The fixed file's integrated loudness is the input's within this (LU).
MATCH_LU = 0.03
#: The true-peak ceiling (dBTP).
CEILING_DBTP = settings.TRUE_PEAK_CEILING_DBTP
#: The limiter aims this far under the ceiling (the gain's own modulation adds a little).
_MARGIN_DB = 0.2
_ROUNDS = 6


def _sliding_min(v: np.ndarray, before: int, after: int) -> np.ndarray:
    """``out[i] = min(v[i - before : i + after + 1])`` (van Herk / Gil-Werman, O(n))."""
    w = before + after + 1
    n = len(v)
    padded = np.concatenate((np.full(before, np.inf), v, np.full(after + w, np.inf)))
    blocks = -(-len(padded) // w)
    padded = np.concatenate((padded, np.full(blocks * w - len(padded), np.inf))).reshape(-1, w)
    prefix = np.minimum.accumulate(padded, axis=1).ravel()
    suffix = np.minimum.accumulate(padded[:, ::-1], axis=1)[:, ::-1].ravel()
    i = np.arange(n)
    return np.minimum(suffix[i], prefix[i + w - 1])


def _oversampled_peak(x: np.ndarray, sr: int) -> np.ndarray:
    """Per sample, the largest |value| of the 4x-oversampled signal around it (any channel)."""
    factor = 4 if sr < 96000 else 2 if sr < 192000 else 1
    peak = np.max(np.abs(x), axis=1)
    if factor == 1:
        return peak
    up = np.abs(soxr.resample(x, sr, sr * factor, quality="HQ"))
    up = np.max(up, axis=1) if up.ndim == 2 else up
    up = np.pad(up, (0, max(0, len(x) * factor - len(up))))[: len(x) * factor]
    return np.maximum(peak, up.reshape(len(x), factor).max(axis=1))


def limit_true_peak(x: np.ndarray, sr: int, ceiling_dbtp: float,
                    lookahead_ms: float = 1.5, hold_ms: float = 20.0) -> tuple[np.ndarray, float]:
    """``(frames, channels)`` audio with its oversampled peaks held under ``ceiling_dbtp``
    (see the module doc); also the largest gain reduction (dB, >= 0)."""
    c = 10.0 ** (ceiling_dbtp / 20.0)
    need = np.minimum(1.0, c / np.maximum(_oversampled_peak(x, sr), 1e-12))
    if need.min() >= 1.0:
        return x, 0.0
    la, hold = max(1, int(sr * lookahead_ms / 1000)), int(sr * hold_ms / 1000)
    held = _sliding_min(need, la, hold)
    c_sum = np.concatenate(([0.0], np.cumsum(np.pad(held, (la, la), mode="edge"))))
    smooth = (c_sum[2 * la + 1:] - c_sum[:-2 * la - 1]) / (2 * la + 1)
    smooth = np.minimum(smooth[: len(x)], 1.0)
    return (x * smooth[:, None]).astype(np.float32), float(-amplitude_db(smooth.min()))


@dataclass(frozen=True)
class Levelled:
    """The output of :func:`match_level` and what it did."""

    out: np.ndarray
    target_lufs: float
    gain_db: float
    limiter_db: float
    """The true-peak limiter's largest gain reduction (0: not used)."""
    report: loudness.LoudnessReport
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "stage": "level", "gain_db": round(self.gain_db, 3),
            "target_lufs": round(self.target_lufs, 3),
            "output_lufs": round(self.report.integrated_lufs, 3),
            "output_true_peak_dbtp": round(float(self.report.true_peak_dbtp or 0.0), 3),
            "ceiling_dbtp": CEILING_DBTP, "true_peak_limiter_db": round(self.limiter_db, 3)}
        if self.note:
            d["note"] = self.note
        return d


def match_level(y: np.ndarray, sr: int, target_lufs: float,
                ceiling_dbtp: float = CEILING_DBTP) -> Levelled:
    """``y`` at ``target_lufs`` (within :data:`MATCH_LU`) with its true peak at or under
    ``ceiling_dbtp`` (see the module doc)."""
    rep = loudness.measure(y, sr, true_peak=False)
    gain = target_lufs - rep.integrated_lufs
    limited = 0.0
    for round_ in range(_ROUNDS):
        z = (y * np.float32(10.0 ** (gain / 20.0))).astype(np.float32)
        rep = loudness.measure(z, sr)
        assert rep.true_peak_dbtp is not None
        if rep.true_peak_dbtp > ceiling_dbtp:
            z, took = limit_true_peak(z, sr, ceiling_dbtp - _MARGIN_DB)
            rep = loudness.measure(z, sr)
            limited = max(limited, took)
        error = target_lufs - rep.integrated_lufs
        if abs(error) <= MATCH_LU and (rep.true_peak_dbtp or 0.0) <= ceiling_dbtp:
            return Levelled(z, target_lufs, gain, limited, rep)
        if round_ != _ROUNDS - 1:
            gain += error
    assert rep.true_peak_dbtp is not None
    if rep.true_peak_dbtp > ceiling_dbtp:  # lower the gain: the ceiling holds regardless
        cut = ceiling_dbtp - rep.true_peak_dbtp - 0.01
        z = (z * np.float32(10.0 ** (cut / 20.0))).astype(np.float32)
        rep = replace(loudness.measure(z, sr), true_peak_dbtp=rep.true_peak_dbtp + cut)
        gain += cut
    short = target_lufs - rep.integrated_lufs
    note = (f"loudness {-short:+.2f} LU off the input's: the true-peak limiter could not "
            f"hold the ceiling at the input's loudness") if abs(short) > MATCH_LU else ""
    return Levelled(z, target_lufs, gain, limited, rep, note)
