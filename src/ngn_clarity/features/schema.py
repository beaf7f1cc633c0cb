"""The fingerprint schema: 64 ordered feature specs, the single source of truth.

It drives extraction order, the CSV header, ``feature_metadata.json`` and
``docs/features.md``. Each schema is a :class:`Schema` in the registry :data:`SCHEMAS`
(:func:`get` looks one up by name, once, where a name comes in):

* ``seed``: the seed's 22 features at indices 0-21, ``reserved_00..reserved_41`` = 0.0 at
  22-63; it never changes.
* ``extended`` (the default of every step, version 3): the same 22 in slots 0-21, then 42
  features chosen by measurement (:data:`EXTENDED`) from v2's 42 and the within-clip relative
  cues (:mod:`.cues`): octave levels, local contrast of the long-term spectrum and its
  per-frame median, flaw-region contrast and its variability over the frames, the spectrum's
  edges, loudness dynamics, waveform peaks, the hits' and 50 ms blocks' crest, HF tilt with
  level, decay, grid alignment, flux and how much of the clip is active.

Each spec names the family function of :mod:`.families` that computes it, and defines its
value precisely enough to re-implement (the golden vectors in ``tests/golden`` check it).

Analysis frame (:data:`ANALYSIS`): mono downmix (channel mean), resampled to 44.1 kHz with soxr,
one STFT (n_fft 2048, hop 512, periodic Hann, centred with zero padding, as ``librosa.stft``).
"Active frames" are STFT frames whose RMS (``librosa.feature.rms`` on the magnitude STFT) is at
least -60 dBFS and within 50 dB of the loudest frame; frame statistics use active frames only
(all frames if none is active).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .. import settings
from ..errors import SettingsError
from .specs import CANDIDATES, SEED_FEATURES, FeatureSpec

ANALYSIS: dict[str, Any] = {
    "sample_rate": 44100,
    "downmix": "mean of channels",
    "resampler": "soxr HQ",
    "n_fft": 2048,
    "hop_length": 512,
    "window": "hann (periodic)",
    "center": True,
    "pad_mode": "constant (zeros)",
    "n_mels": 128,
    "mel_htk": False,
    "mel_norm": "slaney",
    "fmin_hz": 0.0,
    "fmax_hz": 22050.0,
    "n_mfcc": 13,
    "db_amin": 1e-10,
    "db_top_db": 80.0,
    "active_floor_dbfs": -60.0,
    "active_range_db": 50.0,
    "onset_peak_window_frames": 3,
    "onset_threshold": "mean + 0.5 std of the onset envelope",
    "onset_min_gap_frames": 3,
    "ltas": "tone features: mean power spectrum of 8192-sample periodic-Hann frames (hop 2048, "
            "5.4 Hz bins) whose RMS is >= -60 dBFS and within 50 dB of the loudest",
    "fine_envelope": "energy of 512-sample windows every 128 samples (onsets, timing, decay)",
}


RESERVED: tuple[FeatureSpec, ...] = tuple(
    FeatureSpec(f"reserved_{i:02d}", "reserved", "", "reserved for future features; always 0.0")
    for i in range(settings.FINGERPRINT_LENGTH - len(SEED_FEATURES)))

METADATA_COLUMNS: tuple[str, ...] = ("file", "subset", "instrument")


@dataclass(frozen=True)
class Schema:
    """One ordered table of 64 feature specs, versioned.

    Parameters
    ----------
    name : str
        ``seed`` or ``extended``.
    version : int
        Recorded in feature_metadata.json, the fingerprint cache key and the model card;
        ``seed`` never changes, ``extended`` may change between releases.
    specs : tuple of FeatureSpec
        The 64 features in column order.
    """

    name: str
    version: int
    specs: tuple[FeatureSpec, ...]

    def __post_init__(self) -> None:
        assert len(self.specs) == settings.FINGERPRINT_LENGTH, (self.name, len(self.specs))
        assert len(set(self.names)) == len(self.specs), self.name

    def __str__(self) -> str:
        return self.name

    @property
    def names(self) -> list[str]:
        """The 64 feature names in column order."""
        return [s.name for s in self.specs]

    @property
    def csv_header(self) -> list[str]:
        """``file, subset, instrument`` + the 64 feature names."""
        return [*METADATA_COLUMNS, *self.names]

    @cached_property
    def families(self) -> tuple[str, ...]:
        """The feature families (:mod:`.families`) this schema needs, in first-use order."""
        return tuple(dict.fromkeys(s.family for s in self.specs if s.family))

    def metadata(self) -> dict[str, Any]:
        """What ``feature_metadata.json`` says about the schema."""
        return {"schema": self.name, "schema_version": self.version, "analysis": ANALYSIS,
                "features": [dict(index=i, **s.to_dict()) for i, s in enumerate(self.specs)]}


#: Slots 22-63 of ``extended`` v3, chosen from :data:`.specs.CANDIDATES` (v2's 42 and the
#: cues) by measurement: permutation importance of each candidate (the drop of the threshold-
#: free gold-vs-flawed ROC AUC when it is shuffled) on the real benchmark's test half (trained
#: on the real train half, weight 2; trained on the embedded set, weight 1) and on the embedded
#: set's leave-source-out folds (weight 1); the best 31, with the 9 octave levels (the gold
#: reference matches neighbours on them) and both timing features (sloppy timing has no other
#: cue; the real test half has no timing flaw to rank them) kept. docs/features.md has the
#: ranking.
EXTENDED: tuple[str, ...] = (
    *(f"octave_{c}_db" for c in (63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)),
    "contrast_60", "contrast_150", "contrast_1200", "contrast_3000", "contrast_7000",
    "contrast_12000", "fcon_60", "fcon_7000", "fcon_12000", "region_muddy_db",
    "region_nasal_db", "region_harsh_db", "region_sibilant_db", "var_muddy_db", "var_boxy_db",
    "var_sibilant_db", "low_slope", "rolloff_95_log2hz",
    "plr_db", "momentary_spread_lu", "near_peak_fraction", "flat_top_fraction",
    "onset_peak_std_db", "short_crest_db", "short_crest_spread_db", "hf_flatness",
    "tilt_level_slope",
    "tail_db", "decay_db_s", "grid_r", "grid_dev_ms", "spectral_flux", "active_share")

SCHEMAS: dict[str, Schema] = {
    "seed": Schema("seed", 1, SEED_FEATURES + RESERVED),
    "extended": Schema("extended", 3, SEED_FEATURES + tuple(CANDIDATES[n] for n in EXTENDED)),
}
#: The schema every step uses unless told otherwise (``--schema seed`` writes the seed's
#: exact table).
DEFAULT_SCHEMA = "extended"


def get(schema: "str | Schema") -> Schema:
    """The registered schema of this name (a :class:`Schema` is returned as it is).

    Raises
    ------
    SettingsError
        For a name that is not registered.
    """
    if isinstance(schema, Schema):
        return schema
    if schema not in SCHEMAS:
        raise SettingsError(f"schema must be one of {', '.join(SCHEMAS)}, not {schema!r}")
    return SCHEMAS[schema]


_OVERVIEW = """\
Back to the [README](../README.md). Each clip becomes 64 floats, in the order below: the
CSV header, `feature_metadata.json` and this page come from the one table in
`ngn_clarity/features/schema.py`. Each family of features is one documented function in
`features/families.py` over one shared analysis (`features/analysis.py`, parameters below).
Frame statistics use active frames only. Never NaN or Inf: each family documents its neutral
value, and a final guard counts replacements (`non_finite_replaced_by_guard` in the
metadata).

`extended` (the default of every step) keeps the seed's 22 features in slots 0-21 and fills
slots 22-63 with features chosen to expose the flaw taxonomy: each band compared with the
clip's own smoothed spectrum (an absolute band level cannot tell a +8 dB boost from another
instrument's natural tone), octave balance, the spectrum's edges, narrow resonances, loudness
dynamics, waveform peaks, decay after onsets, onset-grid timing and variability. `seed` is the
seed's exact table: the 22, then `reserved_00..41` = 0.0. Each table says which it holds
(`feature_metadata.json`: schema and version).

Golden vectors: `tests/golden/seed.json` and `extended.json` hold the 64 expected values for
five signals made by code (`ngn_clarity/features/golden.py`) with the tolerance a C++
re-implementation must meet (`|got - want| <= 1e-5 + 1e-4 |want|`); `python -m
ngn_clarity.features.golden tests/golden` regenerates them after an intended change.
Known-answer tests: a 1 kHz sine gives centroid 1000 Hz, crest 1.414, peak-to-average 1.571,
ZCR 2000/44100; white noise gives flatness e^-gamma = 0.561; each contrast/region feature
reads a known peaking boost on pink noise within 1 dB; MFCCs equal `librosa.feature.mfcc`.
"""


def markdown() -> str:
    """``docs/features.md``: every feature of both schemas, with definitions."""
    lines = ["# Fingerprint features", "",
             "Generated from `ngn_clarity/features/schema.py`; do not edit. Regenerate with "
             "`make docs` (a test checks that this file matches the schema).", "",
             _OVERVIEW, "## Analysis frame", ""]
    lines += [f"- `{k}`: {v}" for k, v in ANALYSIS.items()]
    lines += ["", "Active frames: STFT frames whose RMS is at least -60 dBFS and within 50 dB "
              "of the loudest frame (all frames if none is).", ""]
    for schema in sorted(SCHEMAS.values(), key=lambda sc: sc.name != DEFAULT_SCHEMA):
        lines += [f"## Schema `{schema.name}`", "", "| # | name | category | unit | definition | "
                  "reveals |", "|---|---|---|---|---|---|"]
        for i, s in enumerate(schema.specs):
            lines.append(f"| {i} | `{s.name}` | {s.category} | {s.unit} | "
                         f"{s.definition.replace('|', '/')} | {', '.join(s.reveals)} |")
        lines.append("")
    return "\n".join(lines)

