"""Decibels: the one place a level is converted, with one floor.

Every level the pipeline computes from a power or an amplitude goes through
:func:`power_db` or :func:`amplitude_db`, floored at :data:`DB_FLOOR` (-120 dB, under the
noise of any 24-bit recording), so silence has a defined, finite level. (The seed's MFCCs
keep librosa's own ``amin`` of 1e-10 on mel power: that is part of their definition.)
"""

from __future__ import annotations

import numpy as np

#: The lowest level any dB value takes (a power ratio of 1e-12, an amplitude of 1e-6).
DB_FLOOR = -120.0
_POWER_FLOOR = 10.0 ** (DB_FLOOR / 10.0)
_AMPLITUDE_FLOOR = 10.0 ** (DB_FLOOR / 20.0)


def power_db(x):
    """10 log10(x), floored at :data:`DB_FLOOR` (scalars give floats, arrays arrays)."""
    out = 10.0 * np.log10(np.maximum(x, _POWER_FLOOR))
    return float(out) if np.ndim(out) == 0 else out


def amplitude_db(x):
    """20 log10(|x|), floored at :data:`DB_FLOOR`."""
    out = 20.0 * np.log10(np.maximum(np.abs(x), _AMPLITUDE_FLOOR))
    return float(out) if np.ndim(out) == 0 else out
