"""Every feature the fingerprint can hold, as a :class:`FeatureSpec` (name, category, unit,
definition precise enough to re-implement, the flaws it is meant to reveal, the family function
that computes it). :mod:`.schema` picks the 64 of each schema from these tables.

* :data:`SEED_FEATURES`: the seed's 22 (slots 0-21 of every schema);
* :data:`EXTENDED_FEATURES`: extended v2's 42 (band contrast, octave levels, edges, narrow
  peaks, loudness dynamics, waveform peaks, decay, timing, variability);
* :data:`CUE_FEATURES`: the within-clip relative cues (:mod:`.cues`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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

#: Extended v2's 42 (slots 22-63 of extended v2, in that order).
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

_LONG = ("active long frames (8192-sample Hann frames of the analysis signal, hop 2048, RMS >= "
         "-60 dBFS and within 50 dB of the loudest)")
_CUE_REGIONS = {"boomy": ("60-130", ("boomy",)), "muddy": ("180-400", ("muddy",)),
                "boxy": ("400-850", ("boxy",)), "nasal": ("800-1500", ("nasal",)),
                "harsh": ("2000-5000", ("harsh",)),
                "sibilant": ("5000-10000", ("over_sibilant",))}

CUE_FEATURES: tuple[FeatureSpec, ...] = (
    *(FeatureSpec(f"fcon_{c}", "tone", "dB",
                  f"median over {_LONG} of the frame's 1/3-octave local contrast at {c} Hz: "
                  f"the mean of the two 1/6-octave contrasts around {c} Hz, each a band's "
                  f"level (power over the bins between centre x 2^(+-1/12), dB) minus the mean "
                  f"of the bands one octave below and above (the 40 Hz or 16 kHz band past the "
                  f"ends)", _CONTRAST_REVEALS[c], "frame_contrast")
      for c in (60, 150, 300, 600, 1200, 3000, 7000, 12000)),
    *(FeatureSpec(f"var_{name}_db", "tone", "dB",
                  f"standard deviation over {_LONG} of the power in the 1/6-octave bands of "
                  f"{hz} Hz relative to the frame's total power (dB); 0 with one frame",
                  reveals, "band_variability")
      for name, (hz, reveals) in _CUE_REGIONS.items()),
    FeatureSpec("tilt_level_slope", "distortion", "dB/dB",
                "least-squares slope over active STFT frames of the frame's share of power "
                "above 4 kHz (dB) against the frame's power (dB); 0 with fewer than 4 frames",
                ("distorted",), "level_tilt"),
    FeatureSpec("hf_loud_quiet_db", "distortion", "dB",
                "mean HF share (as above) of the loudest quarter of active STFT frames minus "
                "that of the quietest quarter", ("distorted",), "level_tilt"),
    FeatureSpec("onset_peak_std_db", "dynamics", "dB",
                "standard deviation over onsets of the fine envelope's largest value within "
                "30 ms of the onset (dB); 0 with fewer than 2 onsets", ("over_compressed",),
                "onset_peaks"),
    FeatureSpec("short_crest_db", "dynamics", "dB",
                "median over 50 ms blocks of the analysis signal with RMS above 1e-3 of the "
                "block's crest factor (peak over RMS, dB)",
                ("over_compressed", "distorted"), "onset_peaks"),
    FeatureSpec("short_crest_spread_db", "dynamics", "dB",
                "10-90 % range of those blocks' crest factors (dB)", ("over_compressed",),
                "onset_peaks"),
    FeatureSpec("active_share", "source", "ratio",
                "share of STFT frames that are active (RMS >= -60 dBFS and within 50 dB of the "
                "loudest): tells a sparse source from a sustained one, and rises where a room "
                "or upward compression fills the gaps", ("ringy", "over_compressed"),
                "source_activity"),
)

#: Every feature :mod:`.schema` may choose the extended slots 22-63 from.
CANDIDATES: dict[str, FeatureSpec] = {s.name: s for s in (*EXTENDED_FEATURES, *CUE_FEATURES)}
