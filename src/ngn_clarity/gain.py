"""Loudness normalization of samples (pure): bring a clip to the target loudness.

:func:`normalize_samples` is the core the ``normalize`` step, the one-pass pipeline task,
``features FILE`` and ``predict`` share. :class:`NormalizeSettings` says how (target,
output format, true-peak ceiling); its :meth:`~NormalizeSettings.key` names everything that
changes an output, so a processed copy is trusted only while the key it was made with holds.
With fixed-point output (``PCM_24``, ``PCM_16``) the gain is lowered, where needed, to keep
the true peak at or under -1 dBTP, and the result says it was ``limited``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

import numpy as np

from . import loudness, settings
from .settings import Interval, Options, Validated

#: Version of the per-clip state and of ``normalization_log.json`` (part of the settings
#: key: a new version redoes every clip).
LOG_VERSION = 2


@dataclass(frozen=True)
class NormalizeSettings(Validated):
    """How clips are normalized.

    Parameters
    ----------
    target_lufs : float
        Integrated loudness to reach (default ``settings.TARGET_LUFS``, -18).
    subtype : str
        WAV sample format of the output: FLOAT (never clips), PCM_24 or PCM_16.
    true_peak_ceiling_dbtp : float
        With PCM output, the gain is lowered to keep the true peak at or under this.
    """

    target_lufs: float = settings.TARGET_LUFS
    subtype: str = "FLOAT"
    true_peak_ceiling_dbtp: float = settings.TRUE_PEAK_CEILING_DBTP

    constraints = {"target_lufs": settings.TARGET_LUFS_RANGE,
                   "subtype": Options(settings.OUTPUT_SUBTYPES),
                   "true_peak_ceiling_dbtp": Interval(float, -20.0, 0.0)}

    @property
    def ceiling(self) -> float | None:
        """True-peak ceiling that applies: none for float output."""
        return None if self.subtype == "FLOAT" else self.true_peak_ceiling_dbtp

    def key(self) -> str:
        """Hash of everything that changes an output: settings and the loudness engine."""
        blob = json.dumps({**asdict(self), "engine": loudness.ENGINE,
                           "log_version": LOG_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: Re-measure and correct the gain at most this many times (see normalize_samples).
_MAX_CORRECTIONS = 3
#: ... until the result is this close to the target (LU).
_SETTLE_LU = 0.005


@dataclass(frozen=True)
class Normalized:
    """One clip brought to the target: the samples, the loudness before and after, and the
    gain (``limited``: lowered to keep the true-peak ceiling)."""

    out: np.ndarray
    before: loudness.LoudnessReport
    after: loudness.LoudnessReport
    gain_db: float
    limited: bool


def normalize_samples(samples: np.ndarray, sample_rate: int,
                      cfg: NormalizeSettings) -> Normalized:
    """Bring one clip's samples to the target loudness.

    The clip is measured once. A gain shifts every BS.1770 measure by exactly that much
    unless a gating block crosses the -70 LUFS absolute gate (blocks of a sparse clip, a kick
    with gaps, can): then the first gain can miss by 0.1-0.3 LU, so the result is re-measured
    and the gain corrected until it is within 0.005 LU (at most three times), or until the
    true-peak ceiling of fixed-point output limits it. ``after`` describes ``out`` (what a
    fingerprint of ``out`` reads). True peak is measured for fixed-point output only (float
    output cannot clip). Raises :class:`~ngn_clarity.errors.LoudnessError` (e.g. silence)
    when there is no loudness to fix.

    Parameters
    ----------
    samples : np.ndarray
        ``(frames, channels)`` float audio.
    sample_rate : int
        Its rate (Hz).
    cfg : NormalizeSettings
        Target and output format.

    Returns
    -------
    Normalized
        The normalized samples and what was measured.
    """
    before = loudness.measure(samples, sample_rate, true_peak=cfg.ceiling is not None)
    gain_db, limited = loudness.gain_to_target(before, cfg.target_lufs, cfg.ceiling)

    def apply(gain: float) -> tuple[np.ndarray, loudness.LoudnessReport]:
        out = (samples * np.float32(10.0 ** (gain / 20.0))).astype(np.float32)
        if before.gain_is_exact(gain):
            return out, before.scaled(gain)
        after = loudness.measure(out, sample_rate, true_peak=False)
        tp = None if before.true_peak_dbtp is None else before.true_peak_dbtp + gain
        return out, replace(after, true_peak_dbtp=tp)  # true peak scales exactly

    out, after = apply(gain_db)
    for _ in range(_MAX_CORRECTIONS):
        error = cfg.target_lufs - after.integrated_lufs
        if limited or abs(error) <= _SETTLE_LU:
            break
        gain_db += error
        tp = before.true_peak_dbtp
        if cfg.ceiling is not None and tp is not None and tp + gain_db > cfg.ceiling:
            gain_db, limited = cfg.ceiling - tp, True
        out, after = apply(gain_db)
    return Normalized(out, before, after, gain_db, limited)
