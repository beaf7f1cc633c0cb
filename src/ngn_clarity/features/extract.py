"""Feature extraction: samples in, 64 floats out (pure; no file I/O).

:func:`fingerprint` builds one :class:`~.analysis.Analysis` of the clip (one STFT, shared by
every spectral feature) and runs the feature families (:mod:`.families`) the schema needs.
Values are never NaN or Inf: every family documents its neutral value for empty input, and
a final guard replaces anything non-finite with 0.0 (and :func:`fingerprint` reports how many
it replaced).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .. import loudness
from .analysis import Analysis
from .families import FAMILIES
from .schema import DEFAULT_SCHEMA, specs


@lru_cache(maxsize=None)
def _families(schema: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.family for s in specs(schema) if s.family))


def feature_values(samples: np.ndarray, sample_rate: int, schema: str = DEFAULT_SCHEMA,
                   loudness_report: loudness.LoudnessReport | None = None) -> dict[str, float]:
    """Every feature ``schema`` needs, by name (reserved slots are left out)."""
    a = Analysis(samples, sample_rate, loudness_report)
    values: dict[str, float] = {}
    for name in _families(schema):
        values.update(FAMILIES[name](a))
    return values


@lru_cache(maxsize=1)
def _blas():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def fingerprint(samples: np.ndarray, sample_rate: int, schema: str = DEFAULT_SCHEMA, *,
                loudness_report: loudness.LoudnessReport | None = None) -> tuple[np.ndarray, int]:
    """The 64-float fingerprint in schema order, and how many values the guard replaced.

    ``loudness_report`` is ``loudness.measure(samples, sample_rate, true_peak=False)`` when
    the caller already has it (the normalizer does); it gives the same values.

    Runs with one BLAS thread: a multi-threaded matrix product sums in another order, and
    the same clip must give the same bits in this process, a pool worker or a Dask worker.
    """
    with _blas().limit(limits=1, user_api="blas"):
        values = feature_values(samples, sample_rate, schema, loudness_report)
    out = np.array([values.get(s.name, 0.0) for s in specs(schema)], dtype=np.float64)
    bad = ~np.isfinite(out)
    out[bad] = 0.0
    return out, int(bad.sum())


def describe(samples: np.ndarray, sample_rate: int, schema: str = DEFAULT_SCHEMA, *,
             loudness_report: loudness.LoudnessReport | None = None) -> dict[str, Any]:
    """``{name: value}`` in schema order (what ``clarity features FILE --json`` prints)."""
    vec, _ = fingerprint(samples, sample_rate, schema, loudness_report=loudness_report)
    return {s.name: float(v) for s, v in zip(specs(schema), vec)}
