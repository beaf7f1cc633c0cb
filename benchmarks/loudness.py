"""Loudness measurement speed: ours vs pyebur128 (same engine, plain use) vs pyloudnorm.

A 300 s stereo 48 kHz signal (pink-ish noise with a slow level envelope, made here) is
measured by each contender in turn, several rounds interleaved so that machine load affects
all alike; the median time per contender is reported, and ratios against ours.

    ngn_clarity.loudness.measure  I + LRA + true peak + sample peak + M/S maxima
    pyebur128 (plain)            I + LRA + true peak, one add_frames call
    pyloudnorm 0.2               I + LRA (it has no true peak)

Run: ``.venv/bin/python benchmarks/loudness.py [--seconds 300] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def signal(seconds: float, sr: int) -> np.ndarray:
    """Low-passed noise (one pole at 0.9) under a slow 20 s level envelope."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(0)
    n = int(seconds * sr)
    noise = lfilter([1.0], [1.0, -0.9], rng.standard_normal((n, 2)), axis=0)
    env = 0.55 + 0.45 * np.sin(2 * np.pi * np.arange(n) / (sr * 20.0))
    x = noise * env[:, None]
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def ours(x, sr):
    from ngn_clarity import loudness

    r = loudness.measure(x, sr)
    return r.integrated_lufs, r.loudness_range_lu, r.true_peak_dbtp


def plain_pyebur128(x, sr):
    import pyebur128 as ebu

    mode = (ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_LRA
            | ebu.MeasurementMode.MODE_TRUE_PEAK)
    st = ebu.R128State(2, sr, mode)
    st.add_frames(np.ascontiguousarray(x).reshape(-1), x.shape[0])
    tp = max(ebu.get_true_peak(st, c) for c in range(2))
    return ebu.get_loudness_global(st), ebu.get_loudness_range(st), 20 * np.log10(tp)


def pyloudnorm(x, sr):
    import pyloudnorm as pyln

    meter = pyln.Meter(sr)
    return meter.integrated_loudness(x), meter.loudness_range(x), float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    sr = 48000
    x = signal(args.seconds, sr)
    contenders = {"ours": ours, "pyebur128": plain_pyebur128, "pyloudnorm": pyloudnorm}
    times: dict[str, list[float]] = {k: [] for k in contenders}
    values = {}
    for name, fn in contenders.items():  # warm-up (imports, caches)
        values[name] = fn(x[: sr * 5], sr)
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            values[name] = fn(x, sr)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["ours"])
    print(f"{args.seconds:.0f} s stereo 48 kHz, median of {args.rounds} rounds")
    print(f"{'contender':<12} {'seconds':>8} {'x ours':>7}   I LUFS    LRA LU   TP dBTP")
    for name in contenders:
        med = statistics.median(times[name])
        i, lra, tp = values[name]
        print(f"{name:<12} {med:8.3f} {med / base:7.2f}   {i:7.2f}  {lra:7.2f}  {tp:7.2f}")
    print(f"ours / pyebur128 = {base / statistics.median(times['pyebur128']):.2f} "
          f"(goal <= 1.0: no slower than libebur128 for the same measurements)")


if __name__ == "__main__":
    main()
