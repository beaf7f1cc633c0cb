"""Pipeline-wide defaults: the one place a number that more than one step uses is written.

Every step takes these as keyword defaults; the CLI exposes the ones a user changes.
"""

from __future__ import annotations

#: Environment variable that overrides the default data directory.
DATA_DIR_ENV = "CLARITY_DATA_DIR"
#: Default data directory, relative to the working directory (the seed's ``Python_Training/data``).
DEFAULT_DATA_DIR = "data"

# --- loudness -----------------------------------------------------------------------------
#: Normalization target, LUFS (ITU-R BS.1770-4 integrated loudness).
TARGET_LUFS = -18.0
#: Ceiling for fixed-point output (PCM_16/PCM_24): gain is lowered to keep true peak at or under this.
TRUE_PEAK_CEILING_DBTP = -1.0
#: Sample formats the normalizer writes (WAV subtypes); FLOAT never clips.
OUTPUT_SUBTYPES: tuple[str, ...] = ("FLOAT", "PCM_24", "PCM_16")
#: ``--verify`` tolerance around the target, LU.
VERIFY_TOLERANCE_LU = 0.1

# --- dataset targets (seed: "100 samples per instrument category", "20+ variations, best 5") ---
GOLD_PER_INSTRUMENT = 100
FLAWED_PER_INSTRUMENT = 100
SUNO_VARIATIONS_PER_FLAW = 20
SUNO_KEEP_PER_FLAW = 5

# --- what counts as usable audio ----------------------------------------------------------
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
#: Clips shorter than this are rejected by validation (an error); loudness needs >= 0.4 s to gate.
MIN_DURATION_S = 0.1
#: Clips shorter than this get a validation warning ("short clip").
SHORT_DURATION_S = 1.0
#: Clips longer than this get a validation warning (stems for training are seconds, not hours).
MAX_DURATION_S = 600.0
#: Peak |x| at or below this is digital silence (about -120 dBFS).
SILENCE_PEAK = 1e-6
#: A sample with |x| at or above this counts as at full scale.
CLIP_LEVEL = 0.999
#: This many consecutive full-scale samples in a channel count as a clipped run.
CLIP_RUN = 3
#: Class balance: warn when the largest flaw class is more than this many times the smallest.
MAX_CLASS_IMBALANCE = 2.0

# --- fingerprint ---------------------------------------------------------------------------
#: Floats per clip in the "DNA" fingerprint (the seed's 64).
FINGERPRINT_LENGTH = 64
