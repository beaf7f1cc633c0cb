"""The correction vector of a chain of transforms: exactly what undoes the flaw it made.

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

from typing import Iterable

import numpy as np

from ..corrections import CORRECTION_FIELDS, EQ_CENTRES_HZ
from ..dsp import crest_db
from ..units import amplitude_db
from .transforms import Transform

#: EQ corrections are clipped to +/- this many dB.
EQ_LIMIT_DB = 24.0
_IMPULSE_LEN = 1 << 15
_IMPULSE_AT = 4096


def eq_curve_db(transforms: Iterable[Transform], sr: int, freqs) -> np.ndarray:
    """Gain (dB) of the tone-shaping (``eq``) stages at ``freqs`` (Hz): a unit impulse
    through them, its spectrum's magnitude interpolated (zeros without an EQ stage). The
    impulse sits 4096 samples into a 2^15-sample buffer, so a linear-phase stage's response
    before its centre (:class:`~.transforms.FirEq` removes its delay) is measured whole."""
    stages = [t for t in transforms if t.eq]
    if not stages:
        return np.zeros(len(freqs))
    h = np.zeros((_IMPULSE_LEN, 1), dtype=np.float32)
    h[_IMPULSE_AT, 0] = 1.0
    for t in stages:
        h = t(h, sr)
    mag = np.abs(np.fft.rfft(h[:, 0].astype(np.float64)))
    return amplitude_db(np.interp(freqs, np.fft.rfftfreq(_IMPULSE_LEN, 1.0 / sr), mag))


def eq_response_db(transforms: Iterable[Transform], sr: int) -> np.ndarray:
    """Gain of the tone-shaping stages at the correction centres.

    Parameters
    ----------
    transforms : iterable of Transform
        A chain; only its ``eq`` stages count.
    sr : int
        Sample rate (Hz) the chain runs at.

    Returns
    -------
    np.ndarray
        dB at each of :data:`~ngn_clarity.corrections.EQ_CENTRES_HZ` (zeros without an EQ
        stage).
    """
    return eq_curve_db(transforms, sr, EQ_CENTRES_HZ)


def correction(flaw: str, transforms: Iterable[Transform], gold: np.ndarray,
               flawed: np.ndarray, sr: int, jitter_ms: float = 0.0) -> dict[str, float]:
    """The correction vector of a chain (see the module doc).

    Parameters
    ----------
    flaw : str
        The flaw's slug (dynamics are restored for over_compressed and undefined only).
    transforms : iterable of Transform
        The chain that made ``flawed`` from ``gold``.
    gold, flawed : np.ndarray
        The audio before and after the chain.
    sr : int
        Sample rate (Hz).
    jitter_ms : float
        Standard deviation of the slice shifts the chain applied.

    Returns
    -------
    dict
        ``{field: value}`` in :data:`~ngn_clarity.corrections.CORRECTION_FIELDS` order.
    """
    stages = list(transforms)
    eq = np.clip(-eq_response_db(stages, sr), -EQ_LIMIT_DB, EQ_LIMIT_DB)
    values: dict[str, float] = {f"eq_{f}_db": round(float(v), 3) + 0.0
                                for f, v in zip(EQ_CENTRES_HZ, eq)}
    dynamic = flaw in ("over_compressed", "undefined")
    dyn = crest_db(gold) - crest_db(flawed) if dynamic else 0.0
    drive = sum((t.distortion_drive_db for t in stages), 0.0)
    wet = sum(t.reverb_wet for t in stages)
    values.update(restore_dynamics_db=round(float(dyn), 3),
                  remove_drive_db=round(drive, 3),
                  remove_jitter_ms=round(float(jitter_ms), 3),
                  remove_reverb_wet=round(float(wet), 4))
    return {k: values[k] for k in CORRECTION_FIELDS}
