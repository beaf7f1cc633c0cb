"""Feature extraction throughput per core: seed-style vs ours vs the floor, same clips.

* seed-style: what the seed's script does per clip: ``librosa.load`` (resample to 44.1 kHz),
  then each librosa feature called on ``y`` (so the STFT is recomputed per feature), and
  pyloudnorm for integrated loudness and LRA;
* ours: ``audio.read`` + ``fingerprint(..., schema)`` for the seed and the extended schema;
* floor: ``audio.read`` + downmix/resample + one STFT.

Clips: the first N of ``data/processed`` if it exists, else N rendered with ``clarity synth``
and normalized into a temporary folder. Serial (one core), interleaved rounds, median.

Run: ``.venv/bin/python benchmarks/features.py [--clips 60] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ngn_clarity import audio
from ngn_clarity.features.extract import N_FFT, HOP, analysis_signal, fingerprint
from ngn_clarity.layout import Layout


def seed_style(path: str) -> None:
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


def ours(schema: str):
    def run(path: str) -> None:
        fingerprint(*audio.read(path), schema)
    return run


def floor(path: str) -> None:
    import librosa

    y = analysis_signal(*audio.read(path))
    np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True, pad_mode="constant"))


def clips(n: int, tmp: Path) -> list[str]:
    found = sorted(str(p) for p in Path("data/processed").rglob("*.wav"))
    if len(found) >= n:
        step = len(found) // n
        return found[::step][:n]
    from ngn_clarity.normalize import normalize
    from ngn_clarity.synth import synthesize

    layout = Layout(tmp / "data")
    synthesize(layout, per_instrument=max(1, n // 10), progress=False)
    normalize(layout, progress=False)
    return sorted(str(p) for p in layout.processed.rglob("*.wav"))[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clarity-bench-"))
    try:
        paths = clips(args.clips, tmp)
        seconds = sum(audio.info(p).duration_s for p in paths)
        contenders = {"seed-style": seed_style, "ours (seed)": ours("seed"),
                      "ours (extended)": ours("extended"), "floor": floor}
        for fn in contenders.values():  # warm-up: imports, numba cache, mel filters
            fn(paths[0])
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for _ in range(args.rounds):
            for name, fn in contenders.items():
                t0 = time.perf_counter()
                for p in paths:
                    fn(p)
                times[name].append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{len(paths)} clips, {seconds:.0f} s of audio, one core, median of {args.rounds}")
    print(f"{'contender':<17} {'ms/clip':>8} {'clips/s':>8} {'x seed-style speed':>19} "
          f"{'x floor time':>13}")
    for name, t in med.items():
        print(f"{name:<17} {1000 * t / len(paths):8.1f} {len(paths) / t:8.1f} "
              f"{med['seed-style'] / t:19.2f} {t / med['floor']:13.2f}")
    print("goals: ours >= 4x seed-style speed; ours within 1.6x of the floor's time")


if __name__ == "__main__":
    main()
