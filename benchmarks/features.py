"""Feature extraction throughput per core: seed-style vs ours vs the floor, same clips.

* seed-style: the seed's feature extractor per clip (``baselines.seed_style_features``);
* ours: ``audio.read`` + ``fingerprint(..., schema)`` for the seed and the extended schema;
* floor: ``audio.read`` + downmix/resample + one STFT (``baselines.floor``).

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


from baselines import floor, seed_style_features

from ngn_clarity import audio
from ngn_clarity.features.extract import fingerprint
from ngn_clarity.layout import Layout


def ours(schema: str):
    def run(path: str) -> None:
        fingerprint(*audio.read(path), schema)
    return run


#: The shared analysis, in the order the families first need it (each is cached once made).
STAGES = ("y", "mag", "centroid", "rms", "active", "mel_db", "mfcc", "onset_envelope", "ltas",
          "frame_levels", "third_octave_db", "fine_env_db", "onsets_s", "loudness",
          "momentary_lufs")


def stage_costs(paths: list[str]) -> dict[str, float]:
    """Seconds per stage over ``paths``: the decode, each shared analysis product, then each
    feature family of the extended schema on the products already made."""
    from ngn_clarity.features.analysis import Analysis
    from ngn_clarity.features.families import FAMILIES
    from ngn_clarity.features.schema import SCHEMAS

    cost: dict[str, float] = {}

    def timed(name: str, fn, *args) -> object:
        t0 = time.perf_counter()
        out = fn(*args)
        cost[name] = cost.get(name, 0.0) + time.perf_counter() - t0
        return out

    for p in paths:
        a = timed("read", lambda path: Analysis(*audio.read(path)), p)
        for stage in STAGES:
            timed(stage, getattr, a, stage)
        for fam in SCHEMAS["extended"].families:
            timed(f"family {fam}", FAMILIES[fam], a)
    return cost


def clips(n: int, tmp: Path) -> list[str]:
    found = sorted(str(p) for p in Path("data/processed").rglob("*.wav"))
    if len(found) >= n:
        step = len(found) // n
        return found[::step][:n]
    from ngn_clarity.steps.normalize import normalize
    from ngn_clarity.steps.synth import SynthSettings, synthesize

    layout = Layout(tmp / "data")
    synthesize(layout, SynthSettings(per_instrument=max(1, n // 10)), progress=False)
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
        contenders = {"seed-style": seed_style_features, "ours (seed)": ours("seed"),
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
        cost = stage_costs(paths)
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
    total = sum(cost.values())
    print(f"\nwhere the extended fingerprint's time goes "
          f"({1000 * total / len(paths):.1f} ms/clip):")
    for name, t in sorted(cost.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<28} {1000 * t / len(paths):7.2f} ms/clip {100 * t / total:5.1f} %")


if __name__ == "__main__":
    main()
