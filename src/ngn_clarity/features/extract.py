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
from threadpoolctl import ThreadpoolController

from .. import loudness
from ..units import power_db
from .analysis import Analysis
from .families import FAMILIES
from .schema import DEFAULT_SCHEMA, Schema, get

SchemaLike = Schema | str
"""A :class:`~.schema.Schema`, or the name of a registered one."""


def feature_values(samples: np.ndarray, sample_rate: int, schema: SchemaLike = DEFAULT_SCHEMA,
                   loudness_report: loudness.LoudnessReport | None = None) -> dict[str, float]:
    """Every feature ``schema`` needs, by name (reserved slots are left out)."""
    return values_of(Analysis(samples, sample_rate, loudness_report), get(schema))


def values_of(a: Analysis, schema: Schema) -> dict[str, float]:
    """Run the schema's feature families on an analysis: ``{name: value}``."""
    values: dict[str, float] = {}
    for name in schema.families:
        values.update(FAMILIES[name](a))
    return values


def spectrum_of(a: Analysis) -> list[float]:
    """The clip's 1/3-octave long-term spectrum relative to its total power (dB), the
    picture the report draws (31 bands, 25 Hz - 20 kHz)."""
    total = power_db(float(a.ltas.sum()))
    return [round(float(v - total), 3) for v in a.third_octave_db]


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def fingerprint(samples: np.ndarray, sample_rate: int, schema: SchemaLike = DEFAULT_SCHEMA, *,
                loudness_report: loudness.LoudnessReport | None = None) -> tuple[np.ndarray, int]:
    """The 64-float fingerprint of a clip.

    Runs with one BLAS thread: a multi-threaded matrix product sums in another order, and
    the same clip must give the same bits in this process, a pool worker or a Dask worker.

    Parameters
    ----------
    samples : np.ndarray
        ``(frames, channels)`` or ``(frames,)`` float audio (the pipeline passes the
        -18 LUFS copy).
    sample_rate : int
        Its rate (Hz).
    schema : Schema or str
        Which 64 features (default ``extended``).
    loudness_report : LoudnessReport, optional
        ``loudness.measure(samples, sample_rate, true_peak=False)`` when the caller already
        has it (the normalizer does); it gives the same values.

    Returns
    -------
    vector : np.ndarray
        64 float64 values in schema order, never NaN or Inf.
    replaced : int
        How many non-finite values the final guard replaced with 0.0.
    """
    return fingerprint_of(Analysis(samples, sample_rate, loudness_report), get(schema))


def fingerprint_of(a: Analysis, schema: Schema) -> tuple[np.ndarray, int]:
    """:func:`fingerprint` of an analysis already made (the pipeline also reads its
    spectrum)."""
    with _blas().limit(limits=1, user_api="blas"):
        values = values_of(a, schema)
    out = np.array([values.get(s.name, 0.0) for s in schema.specs], dtype=np.float64)
    bad = ~np.isfinite(out)
    out[bad] = 0.0
    return out, int(bad.sum())


def describe(samples: np.ndarray, sample_rate: int, schema: SchemaLike = DEFAULT_SCHEMA, *,
             loudness_report: loudness.LoudnessReport | None = None) -> dict[str, Any]:
    """``{name: value}`` in schema order (what ``clarity features FILE --json`` prints)."""
    schema = get(schema)
    vec, _ = fingerprint(samples, sample_rate, schema, loudness_report=loudness_report)
    return {name: float(v) for name, v in zip(schema.names, vec)}
