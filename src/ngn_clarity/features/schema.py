"""The fingerprint schema: 64 ordered feature specs, the single source of truth.

It drives extraction order, the CSV header, ``feature_metadata.json`` and
``docs/FEATURES.md``. Two schemas:

* ``seed`` (default): the seed's 22 features at indices 0-21, ``reserved_00..reserved_41`` =
  0.0 at 22-63.
* ``extended``: the same 22, then 42 features chosen to expose the flaw taxonomy.

Analysis frame (:data:`ANALYSIS`): mono downmix (channel mean), resampled to 44.1 kHz with soxr,
one STFT (n_fft 2048, hop 512, periodic Hann, centred with zero padding, as ``librosa.stft``).
"Active frames" are STFT frames whose RMS (``librosa.feature.rms`` on the magnitude STFT) is at
least -60 dBFS and within 50 dB of the loudest frame; frame statistics use active frames only
(all frames if none is active).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .. import settings

#: Version of each schema: ``seed`` never changes; ``extended`` changes between releases
#: (recorded in feature_metadata.json, the fingerprint cache key and the model card).
SCHEMA_VERSIONS: dict[str, int] = {"seed": 1, "extended": 1}

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
}


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    category: str
    unit: str
    definition: str
    reveals: tuple[str, ...] = ()
    """Flaw slugs this feature is meant to expose (extended features)."""
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reveals"] = list(self.reveals)
        return d


_ACT = "mean over active frames"

SEED_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("spectral_centroid", "spectral", "Hz",
                f"{_ACT} of sum_k f_k |X_k| / sum_k |X_k|, 0 for an empty frame "
                "(= librosa.feature.spectral_centroid on the magnitude STFT)"),
    FeatureSpec("spectral_flatness", "spectral", "ratio",
                f"{_ACT} of exp(mean_k ln P_k) / mean_k P_k with P = max(|X|^2, 1e-10) "
                "(librosa.feature.spectral_flatness, power 2)"),
    *(FeatureSpec(f"mfcc_{i:02d}", "spectral", "dB",
                  f"{_ACT} of MFCC {i}: orthonormal DCT-II of the log-mel spectrogram "
                  "10 log10(max(mel power, 1e-10)), floored 80 dB under its maximum, 128 "
                  "Slaney mel bands 0-22050 Hz (librosa.feature.mfcc)") for i in range(13)),
    FeatureSpec("crest_factor", "dynamics", "ratio",
                "max |x| / sqrt(mean x^2) over all samples of the analysis signal "
                "(1.414 for a sine)"),
    FeatureSpec("rms_energy", "dynamics", "full scale",
                "sqrt(mean x^2) over all samples of the analysis signal"),
    FeatureSpec("peak_to_avg_ratio", "dynamics", "ratio",
                "max |x| / mean |x| over all samples (pi/2 = 1.571 for a sine)"),
    FeatureSpec("zero_crossing_rate", "temporal", "1/sample",
                f"{_ACT} of the fraction of sign changes in 2048-sample centred frames, hop "
                "512 (librosa.feature.zero_crossing_rate; 2 f / 44100 for a sine of f Hz)"),
    FeatureSpec("onset_strength", "temporal", "dB",
                f"{_ACT} of the onset envelope: mean over mel bands of max(0, S_dB[t] - "
                "S_dB[t-1]) on the MFCC's log-mel spectrogram (librosa.onset.onset_strength, "
                "lag 1, max_size 1)"),
    FeatureSpec("integrated_lufs", "loudness", "LUFS",
                "integrated loudness, ITU-R BS.1770-4 (ngn_clarity.loudness: mono as dual-mono, "
                "clips < 0.4 s ungated) of the file's own samples, all channels at their own "
                "rate; -70.0 when the clip is below the absolute gate everywhere"),
    FeatureSpec("loudness_range", "loudness", "LU",
                "loudness range, EBU Tech 3342, of the same samples; 0.0 for clips under 3 s"),
)


def _band(lo: int, hi: int, reveals: tuple[str, ...], what: str) -> FeatureSpec:
    return FeatureSpec(f"band_{lo}_{hi}", "band energy", "ratio",
                       f"share of the power spectrum (summed over active frames) in [{lo}, {hi}) "
                       f"Hz, of 20-20000 Hz: {what}", reveals, {"lo_hz": lo, "hi_hz": hi})


EXTENDED_FEATURES: tuple[FeatureSpec, ...] = (
    _band(20, 60, ("thin", "boomy"), "sub"),
    _band(60, 120, ("boomy", "thin"), "boom"),
    _band(120, 200, ("thin", "muddy"), "low body"),
    _band(200, 500, ("muddy",), "mud"),
    _band(300, 800, ("boxy",), "box"),
    _band(800, 1500, ("nasal",), "nasal honk"),
    _band(1500, 2500, ("undefined", "dark"), "presence"),
    _band(2000, 5000, ("harsh",), "harshness"),
    _band(5000, 10000, ("over_sibilant", "dark"), "sibilance"),
    _band(10000, 20000, ("dark", "over_sibilant"), "air"),
    FeatureSpec("spectral_rolloff", "spectral", "Hz",
                f"{_ACT} of the frequency below which 85 % of the frame's magnitude lies "
                "(librosa.feature.spectral_rolloff, roll_percent 0.85)", ("dark", "harsh")),
    FeatureSpec("spectral_bandwidth", "spectral", "Hz",
                f"{_ACT} of sqrt(sum_k |X_k| (f_k - centroid)^2 / sum_k |X_k|) "
                "(librosa.feature.spectral_bandwidth, p 2)", ("undefined", "dark", "thin")),
    *(FeatureSpec(f"spectral_contrast_{i}", "spectral", "dB",
                  f"{_ACT} of spectral contrast in octave band {i} (librosa.feature."
                  "spectral_contrast: fmin 200 Hz, 6 bands + the rest, quantile 0.02): peak "
                  "minus valley level", ("ringy", "over_compressed", "distorted"))
      for i in range(7)),
    FeatureSpec("spectral_slope", "spectral", "dB/octave",
                "least-squares slope of 10 log10 of the mean power spectrum (active frames) "
                "against log2 f, over 50-16000 Hz", ("dark", "thin", "harsh", "boomy")),
    FeatureSpec("spectral_flux", "spectral", "ratio",
                f"{_ACT} of sum_k max(0, |X_t,k| - |X_t-1,k|) / sum_k |X_t,k| (0 for the "
                "first frame)", ("over_compressed", "undefined", "sloppy_timing")),
    FeatureSpec("spectral_peakiness", "spectral", "dB",
                "largest excess, 300-5000 Hz, of 10 log10 of the mean power spectrum over its "
                "31-bin moving average", ("ringy", "nasal")),
    FeatureSpec("spectral_centroid_std", "variability", "Hz",
                "standard deviation over active frames of the spectral centroid",
                ("over_compressed", "undefined")),
    FeatureSpec("spectral_flatness_std", "variability", "ratio",
                "standard deviation over active frames of the spectral flatness",
                ("distorted", "over_sibilant")),
    *(FeatureSpec(f"mfcc_{i:02d}_std", "variability", "dB",
                  f"standard deviation over active frames of MFCC {i} (MFCC spread)",
                  ("over_compressed", "ringy", "sloppy_timing")) for i in range(1, 5)),
    FeatureSpec("zero_crossing_rate_std", "variability", "1/sample",
                "standard deviation over active frames of the zero-crossing rate",
                ("distorted", "over_sibilant")),
    FeatureSpec("spectral_flux_std", "variability", "ratio",
                "standard deviation over active frames of the spectral flux",
                ("over_compressed", "sloppy_timing")),
    FeatureSpec("frame_rms_db_std", "dynamics", "dB",
                "standard deviation over active frames of 20 log10 frame RMS",
                ("over_compressed",)),
    FeatureSpec("frame_rms_db_range", "dynamics", "dB",
                "95th minus 5th percentile over active frames of 20 log10 frame RMS",
                ("over_compressed", "ringy")),
    FeatureSpec("short_term_crest_db", "dynamics", "dB",
                f"{_ACT} of 20 log10(max |x| / RMS) within each 2048-sample centred frame",
                ("over_compressed", "distorted", "undefined")),
    FeatureSpec("peak_to_loudness_db", "dynamics", "dB",
                "sample peak of the file (dBFS, all channels) minus integrated loudness "
                "(peak-to-loudness ratio)",
                ("over_compressed", "distorted")),
    FeatureSpec("momentary_to_integrated_lu", "dynamics", "LU",
                "maximum momentary (400 ms) loudness minus integrated loudness; 0 for clips "
                "under 0.4 s", ("over_compressed",)),
    FeatureSpec("tail_energy_db", "dynamics", "dB",
                "10 log10(mean x^2 over the last 200 ms / mean x^2 over the clip), floored "
                "at -120", ("ringy",)),
    FeatureSpec("onset_peak_ratio", "temporal", "ratio",
                "95th percentile over all frames of the onset envelope / its mean (1 when "
                "the envelope is flat)", ("undefined", "over_compressed")),
    FeatureSpec("onset_rate", "temporal", "1/s",
                "detected onsets per second: envelope frames that are the maximum within "
                "+/-3 frames, exceed mean + 0.5 std, and lie >= 3 frames after the previous "
                "onset", ("sloppy_timing", "undefined")),
    FeatureSpec("ioi_cv", "temporal", "ratio",
                "standard deviation / mean of the inter-onset intervals; 0 with fewer than 3 "
                "onsets", ("sloppy_timing",)),
    FeatureSpec("ioi_grid_deviation", "temporal", "ratio",
                "mean over inter-onset intervals of |IOI/u - round(IOI/u)|, u = the shortest "
                "interval (0 when every interval is a multiple of it, 0.5 at most); 0 with "
                "fewer than 3 onsets", ("sloppy_timing",)),
    FeatureSpec("low_high_ratio_db", "band energy", "dB",
                "10 log10(power below 250 Hz / power above 4000 Hz), mean power spectrum, "
                "clipped to +/-60", ("thin", "dark", "muddy", "boomy", "harsh")),
    FeatureSpec("near_peak_fraction", "dynamics", "ratio",
                "fraction of samples with |x| >= 0.9 max |x|", ("distorted", "over_compressed")),
)

RESERVED: tuple[FeatureSpec, ...] = tuple(
    FeatureSpec(f"reserved_{i:02d}", "reserved", "", "reserved for future features; always 0.0")
    for i in range(settings.FINGERPRINT_LENGTH - len(SEED_FEATURES)))

SCHEMAS: dict[str, tuple[FeatureSpec, ...]] = {
    "seed": SEED_FEATURES + RESERVED,
    "extended": SEED_FEATURES + EXTENDED_FEATURES,
}
DEFAULT_SCHEMA = "seed"
METADATA_COLUMNS: tuple[str, ...] = ("file", "subset", "instrument")

for _name, _specs in SCHEMAS.items():
    assert len(_specs) == settings.FINGERPRINT_LENGTH, (_name, len(_specs))
    assert len({s.name for s in _specs}) == len(_specs), _name


def specs(schema: str = DEFAULT_SCHEMA) -> tuple[FeatureSpec, ...]:
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r} (expected one of {', '.join(SCHEMAS)})")
    return SCHEMAS[schema]


def names(schema: str = DEFAULT_SCHEMA) -> list[str]:
    return [s.name for s in specs(schema)]


def csv_header(schema: str = DEFAULT_SCHEMA) -> list[str]:
    """``file, subset, instrument`` + the 64 feature names."""
    return [*METADATA_COLUMNS, *names(schema)]


def metadata(schema: str = DEFAULT_SCHEMA) -> dict[str, Any]:
    return {"schema": schema, "schema_version": SCHEMA_VERSIONS[schema], "analysis": ANALYSIS,
            "features": [dict(index=i, **s.to_dict()) for i, s in enumerate(specs(schema))]}


def markdown() -> str:
    """``docs/FEATURES.md``: every feature of both schemas, with definitions."""
    lines = ["# Fingerprint features", "",
             "Generated from `ngn_clarity/features/schema.py`; do not edit. Regenerate with "
             "`make docs` (a test checks that this file matches the schema).", "",
             "## Analysis frame", ""]
    lines += [f"- `{k}`: {v}" for k, v in ANALYSIS.items()]
    lines += ["", "Active frames: STFT frames whose RMS is at least -60 dBFS and within 50 dB "
              "of the loudest frame (all frames if none is).", ""]
    for schema in SCHEMAS:
        lines += [f"## Schema `{schema}`", "", "| # | name | category | unit | definition | "
                  "reveals |", "|---|---|---|---|---|---|"]
        for i, s in enumerate(specs(schema)):
            lines.append(f"| {i} | `{s.name}` | {s.category} | {s.unit} | "
                         f"{s.definition.replace('|', '/')} | {', '.join(s.reveals)} |")
        lines.append("")
    return "\n".join(lines)

