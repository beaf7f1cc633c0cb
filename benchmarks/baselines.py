"""The two yardsticks every speed goal is measured against, one definition each.

* **seed-style**: what the seed's scripts do per clip, the way its text describes them:
  pyloudnorm measures and normalizes to -18 LUFS, the float WAV is written, then
  ``librosa.load`` reads it back (resampled to 44.1 kHz) and each librosa feature is called on
  ``y`` (so the STFT is recomputed per feature), with pyloudnorm's loudness and LRA for the
  loudness columns;
* **floor**: the least any fingerprint needs: read the file, downmix/resample to 44.1 kHz and
  take one STFT (our own numpy STFT: the fastest one measured here).

As a script it runs one of them over every WAV under a folder, serially, and prints the
seconds as JSON (``benchmarks/pipeline.py`` runs it pinned to one core):

    python benchmarks/baselines.py seed-style RAW_DIR OUT_DIR
    python benchmarks/baselines.py floor RAW_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def seed_style_features(path: str) -> None:
    """The seed's feature extractor on one (already normalized) file."""
    import librosa
    import pyloudnorm as pyln
    import soundfile as sf

    y, sr = librosa.load(path, sr=44100, mono=True)
    librosa.feature.spectral_centroid(y=y, sr=sr)
    librosa.feature.spectral_flatness(y=y)
    librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
    librosa.feature.rms(y=y)
    librosa.feature.zero_crossing_rate(y)
    librosa.onset.onset_strength(y=y, sr=sr)
    data, rate = sf.read(path)
    meter = pyln.Meter(rate)
    meter.integrated_loudness(data)
    meter.loudness_range(data)


def seed_style_normalize(src: str, dest: str) -> None:
    """The seed's normalizer on one file: pyloudnorm to -18 LUFS, float WAV out."""
    import pyloudnorm as pyln
    import soundfile as sf

    data, rate = sf.read(src)
    meter = pyln.Meter(rate)
    out = pyln.normalize.loudness(data, meter.integrated_loudness(data), -18.0)
    sf.write(dest, out, rate, subtype="FLOAT")


def seed_style(src: str, dest: str) -> None:
    """Normalize, write, read back and fingerprint: the seed-style loop for one clip."""
    seed_style_normalize(src, dest)
    seed_style_features(dest)


def floor(path: str) -> None:
    from ngn_clarity import audio
    from ngn_clarity.features.analysis import Analysis

    Analysis(*audio.read(path)).mag  # noqa: B018 (the read, resample and STFT are the point)


def main(argv: list[str]) -> None:
    which, root = argv[0], Path(argv[1])
    paths = sorted(p for p in root.rglob("*.wav") if not p.name.startswith("."))
    if which == "seed-style":
        out = Path(argv[2])
        out.mkdir(parents=True, exist_ok=True)
        import librosa  # noqa: F401 (imports are part of the seed scripts' start-up too)
        t0 = time.perf_counter()
        for i, p in enumerate(paths):
            seed_style(str(p), str(out / f"{i:05d}.wav"))
    else:
        t0 = time.perf_counter()
        for p in paths:
            floor(str(p))
    print(json.dumps({"clips": len(paths), "loop_seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main(sys.argv[1:])
