"""The fingerprint schema: 64 ordered feature specs, the single source of truth.

It drives extraction order, the CSV header, ``feature_metadata.json`` and
``docs/features.md``. Each schema is a :class:`Schema` in the registry :data:`SCHEMAS`
(:func:`get` looks one up by name, once, where a name comes in):

* ``seed``: the seed's 22 features at indices 0-21, ``reserved_00..reserved_41`` = 0.0 at
  22-63; it never changes.
* ``extended`` (the default of every step, version 2): the same 22 in slots 0-21, then 42
  features chosen, by measured importance
  and effect size on the embedded set, to expose the flaw taxonomy: local contrast at the 8
  correction centres and per flaw region, octave levels, the spectrum's edges, narrow peaks,
  loudness dynamics, waveform peaks, decay, grid alignment, variability.

Each spec names the family function of :mod:`.families` that computes it, and defines its
value precisely enough to re-implement (the golden vectors in ``tests/golden`` check it).

Analysis frame (:data:`ANALYSIS`): mono downmix (channel mean), resampled to 44.1 kHz with soxr,
one STFT (n_fft 2048, hop 512, periodic Hann, centred with zero padding, as ``librosa.stft``).
"Active frames" are STFT frames whose RMS (``librosa.feature.rms`` on the magnitude STFT) is at
least -60 dBFS and within 50 dB of the loudest frame; frame statistics use active frames only
(all frames if none is active).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from .. import settings
from ..errors import SettingsError

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
    "ltas": "tone features: mean power spectrum of 8192-sample periodic-Hann frames (hop 4096, "
            "5.4 Hz bins) whose RMS is >= -60 dBFS and within 50 dB of the loudest",
    "fine_envelope": "energy of 512-sample windows every 128 samples (onsets, timing, decay)",
}


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    category: str
    unit: str
    definition: str
    reveals: tuple[str, ...] = ()
    """Flaw slugs this feature is meant to expose (extended features)."""
    family: str = ""
    """The function of :mod:`.families` that computes it ("" for reserved slots)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reveals"] = list(self.reveals)
        return d


_ACT = "mean over active frames"

SEED_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("spectral_centroid", "spectral", "Hz",
                f"{_ACT} of sum_k f_k |X_k| / sum_k |X_k|, 0 for an empty frame "
                "(= librosa.feature.spectral_centroid on the magnitude STFT)",
                family="seed_spectral"),
    FeatureSpec("spectral_flatness", "spectral", "ratio",
                f"{_ACT} of exp(mean_k ln P_k) / mean_k P_k with P = max(|X|^2, 1e-10) "
                "(librosa.feature.spectral_flatness, power 2)", family="seed_spectral"),
    *(FeatureSpec(f"mfcc_{i:02d}", "spectral", "dB",
                  f"{_ACT} of MFCC {i}: orthonormal DCT-II of the log-mel spectrogram "
                  "10 log10(max(mel power, 1e-10)), floored 80 dB under its maximum, 128 "
                  "Slaney mel bands 0-22050 Hz (librosa.feature.mfcc)",
                  family="seed_spectral") for i in range(13)),
    FeatureSpec("crest_factor", "dynamics", "ratio",
                "max |x| / sqrt(mean x^2) over all samples of the analysis signal "
                "(1.414 for a sine)", family="seed_dynamics"),
    FeatureSpec("rms_energy", "dynamics", "full scale",
                "sqrt(mean x^2) over all samples of the analysis signal", family="seed_dynamics"),
    FeatureSpec("peak_to_avg_ratio", "dynamics", "ratio",
                "max |x| / mean |x| over all samples (pi/2 = 1.571 for a sine)",
                family="seed_dynamics"),
    FeatureSpec("zero_crossing_rate", "temporal", "1/sample",
                f"{_ACT} of the fraction of sign changes in 2048-sample centred frames, hop "
                "512 (librosa.feature.zero_crossing_rate; 2 f / 44100 for a sine of f Hz)",
                family="seed_temporal"),
    FeatureSpec("onset_strength", "temporal", "dB",
                f"{_ACT} of the onset envelope: mean over mel bands of max(0, S_dB[t] - "
                "S_dB[t-1]) on the MFCC's log-mel spectrogram (librosa.onset.onset_strength, "
                "lag 1, max_size 1)", family="seed_temporal"),
    FeatureSpec("integrated_lufs", "loudness", "LUFS",
                "integrated loudness, ITU-R BS.1770-4 (ngn_clarity.loudness: mono as dual-mono, "
                "clips < 0.4 s ungated) of the file's own samples, all channels at their own "
                "rate; -70.0 when the clip is below the absolute gate everywhere",
                family="seed_loudness"),
    FeatureSpec("loudness_range", "loudness", "LU",
                "loudness range, EBU Tech 3342, of the same samples; 0.0 for clips under 3 s",
                family="seed_loudness"),
)


_ENV = ("the spectral envelope E: the LTAS's largest bin power in each 1/12-octave cell "
        "from 30 Hz to 18 kHz (dB), averaged over 3 cells")
_REGIONS = {"boomy": ("60-130", ("boomy",)), "muddy": ("180-400", ("muddy",)),
            "boxy": ("400-850", ("boxy",)), "nasal": ("800-1500", ("nasal",)),
            "harsh": ("2000-5000", ("harsh",)), "sibilant": ("5000-10000", ("over_sibilant",))}
_CONTRAST_REVEALS = {60: ("boomy", "thin"), 150: ("boomy", "thin", "muddy"),
                     300: ("muddy", "boxy"), 600: ("boxy", "nasal"), 1200: ("nasal",),
                     3000: ("harsh",), 7000: ("over_sibilant", "dark"),
                     12000: ("dark", "over_sibilant")}

EXTENDED_FEATURES: tuple[FeatureSpec, ...] = (
    *(FeatureSpec(f"contrast_{c}", "tone", "dB",
                  f"LTAS level (see the analysis frame) of the 1/3-octave band "
                  f"at {c} Hz minus the mean of the bands at {c / 2:g} and "
                  f"{min(2 * c, 16000):g} Hz"
                  + (" (24 kHz is past 20 kHz: the 16 kHz band stands in for it)"
                     if c == 12000 else ""), _CONTRAST_REVEALS[c], "local_contrast")
      for c in (60, 150, 300, 600, 1200, 3000, 7000, 12000)),
    *(FeatureSpec(f"region_{name}_db", "tone", "dB",
                  f"largest local contrast E(f) - (E(f/2) + E(2f)) / 2 over f in {hz} Hz, with "
                  f"{_ENV}", reveals, "region_contrast")
      for name, (hz, reveals) in _REGIONS.items()),
    *(FeatureSpec(f"octave_{c}_db", "tone", "dB",
                  f"LTAS power in the octave band {c / 2 ** 0.5:.0f}-{c * 2 ** 0.5:.0f} Hz over "
                  f"the LTAS power of 20 Hz-20 kHz (floor -120)",
                  ("boomy", "thin") if c <= 125 else ("muddy", "boxy") if c <= 500 else
                  ("nasal",) if c <= 1000 else ("harsh", "undefined") if c <= 4000 else
                  ("over_sibilant", "dark"), "octave_levels")
      for c in (63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)),
    FeatureSpec("rolloff_05_log2hz", "tone", "log2 Hz",
                "log2 of the frequency below which 5 % of the LTAS power over 20 Hz-20 kHz "
                "lies", ("thin", "boomy"), "spectral_edges"),
    FeatureSpec("rolloff_95_log2hz", "tone", "log2 Hz",
                "log2 of the frequency below which 95 % of the LTAS power over 20 Hz-20 kHz "
                "lies", ("dark", "undefined"), "spectral_edges"),
    FeatureSpec("low_slope", "tone", "dB/octave",
                "least-squares slope of the 1/3-octave LTAS levels (bands centred 1000 x "
                "2^(k/3)) against log2 f over 40-250 Hz, bands within 40 dB of the loudest",
                ("thin",), "spectral_edges"),
    FeatureSpec("high_slope", "tone", "dB/octave",
                "the same slope over 4-16 kHz", ("dark", "undefined"), "spectral_edges"),
    FeatureSpec("narrow_peak_db", "tone", "dB",
                "largest excess of the LTAS (dB, interpolated to 24 points per octave from 100 "
                "Hz to 10 kHz) over its running median of 13 points (1/2 octave)",
                ("ringy", "nasal"), "narrow_peaks"),
    FeatureSpec("narrow_peak_log2hz", "tone", "log2 Hz",
                "where that largest excess sits", ("ringy",), "narrow_peaks"),
    FeatureSpec("plr_db", "dynamics", "dB",
                "sample peak of the file (dBFS, all channels) minus integrated loudness (LUFS)",
                ("over_compressed", "distorted"), "loudness_dynamics"),
    FeatureSpec("psr_db", "dynamics", "dB",
                "sample peak (dBFS) minus the highest short-term (3 s) loudness, or the highest "
                "momentary (400 ms) loudness for clips under 3 s", ("over_compressed",),
                "loudness_dynamics"),
    FeatureSpec("momentary_spread_lu", "dynamics", "LU",
                "standard deviation of the momentary loudness (every 100 ms) over the windows "
                "within 20 LU of the loudest", ("over_compressed",), "loudness_dynamics"),
    FeatureSpec("near_peak_fraction", "dynamics", "ratio",
                "fraction of samples of the analysis signal with |x| >= 0.9 max |x|",
                ("over_compressed", "distorted"), "waveform_peaks"),
    FeatureSpec("flat_top_fraction", "dynamics", "ratio",
                "fraction of samples with |x| >= 0.999 max |x| (hard clipping's flat tops)",
                ("distorted",), "waveform_peaks"),
    FeatureSpec("quiet_fill_db", "dynamics", "dB",
                "energy of the quietest 20 % of 512-sample windows (hop 128) of the analysis "
                "signal over their total energy (floor -120)",
                ("ringy", "over_compressed"), "quiet_fill"),
    FeatureSpec("hf_flatness", "distortion", "ratio",
                "mean over active frames of the spectral flatness (geometric over arithmetic "
                "mean of max(|X|^2, 1e-10)) of the 6-16 kHz bins", ("distorted",),
                "hf_flatness"),
    FeatureSpec("decay_db_s", "decay", "dB/s",
                "median over onsets of the least-squares slope of the fine envelope (dB of "
                "512-sample windows, hop 128) from its peak within 30 ms of the onset over "
                "the next 250 ms (cut at the next onset; at least 60 ms); 0 without onsets",
                ("ringy", "over_compressed"), "decay"),
    FeatureSpec("tail_db", "decay", "dB",
                "10 log10(mean x^2 over the last 200 ms / mean x^2 over the clip), floor -120",
                ("ringy",), "decay"),
    FeatureSpec("grid_r", "timing", "ratio",
                "largest phase coherence |mean_k exp(2 pi i t_k / s)| of the onset times t_k "
                "over grid steps s from 60 to 600 ms (0.5 ms apart); 1 with fewer than 4 "
                "onsets. Onsets: rises of > 6 dB within 3 hops of the fine envelope, local "
                "maxima, within 50 dB of its top, 50 ms apart", ("sloppy_timing",),
                "grid_alignment"),
    FeatureSpec("grid_dev_ms", "timing", "ms",
                "s / (2 pi) sqrt(-2 ln R) at that step: the onsets' spread around the grid",
                ("sloppy_timing",), "grid_alignment"),
    FeatureSpec("spectral_centroid_std", "variability", "Hz",
                "standard deviation over active frames of the spectral centroid",
                ("over_compressed", "undefined"), "variability"),
    FeatureSpec("spectral_flux", "variability", "ratio",
                f"{_ACT} of sum_k max(0, |X_t,k| - |X_t-1,k|) / sum_k |X_t,k| (0 for the "
                "first frame)", ("over_compressed", "undefined", "sloppy_timing"),
                "variability"),
)

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


SCHEMAS: dict[str, Schema] = {
    "seed": Schema("seed", 1, SEED_FEATURES + RESERVED),
    "extended": Schema("extended", 2, SEED_FEATURES + EXTENDED_FEATURES),
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

