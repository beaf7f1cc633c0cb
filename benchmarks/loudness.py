"""Loudness measurement speed: ours vs pyebur128 (same engine, plain use) vs pyloudnorm.

A 300 s stereo 48 kHz signal (pink-ish noise with a slow level envelope, made here) is
measured by each contender in turn, several rounds interleaved so that machine load affects
all alike; the median time per contender is reported, and ratios against ours.

    ngn_clarity.loudness.measure  I + LRA + true peak + sample peak + M/S maxima
    pyebur128 (plain)            I + LRA + true peak, one add_frames call
    pyloudnorm 0.2               I + LRA (it has no true peak)

``--clip``: what the pipeline pays per clip instead (a 5 s mono 44.1 kHz clip, 200 times):
``measure(true_peak=False)`` (libebur128 fed 100 ms hops, each hop's energy read back) against
libebur128 fed the clip in one call (I + LRA, no hop energies) and against the lower bound of
a numpy engine (issue 22): the K-weighting as one ``scipy.signal.lfilter`` pass plus the hop
energies, without any gating; and the one-off cost of ``import scipy.signal`` in a fresh
process, which every worker of a numpy engine would pay (the pipeline imports no
scipy.signal today).

Run: ``.venv/bin/python benchmarks/loudness.py [--seconds 300] [--rounds 5] [--clip]``
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


def kweighted_hops(x, sr):
    """The K-weighted energy of every 100 ms hop by one lfilter pass: the least a numpy
    engine would do (no gating, no LRA)."""
    from scipy.signal import lfilter

    b, a = _k_filter(sr)
    y = lfilter(b, a, x[:, 0].astype(np.float64))
    hop = sr // 10
    n = len(y) // hop
    return 2.0 * np.mean((y[: n * hop] ** 2).reshape(n, hop), axis=1)


def _k_filter(sr):
    """BS.1770's two K-weighting biquads (libebur128's design at any rate), as one 4th-order
    (b, a)."""
    k = np.tan(np.pi * 1681.974450955533 / sr)
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh ** 0.4996667741545416
    q = 0.7071752369554196
    a0 = 1 + k / q + k * k
    pb = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    pa = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    k = np.tan(np.pi * 38.13547087602444 / sr)
    q = 0.5003270373238773
    ra = [1.0, 2 * (k * k - 1) / (1 + k / q + k * k), (1 - k / q + k * k) / (1 + k / q + k * k)]
    return np.convolve(pb, [1.0, -2.0, 1.0]), np.convolve(pa, ra)


def one_call_pyebur128(x, sr):
    import pyebur128 as ebu

    st = ebu.R128State(1, sr, ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_LRA)
    st.set_channel(0, ebu.ChannelType.DUAL_MONO)
    st.add_frames(np.ascontiguousarray(x).reshape(-1), x.shape[0])
    return ebu.get_loudness_global(st)


def clip_costs(rounds: int) -> None:
    import subprocess
    import sys

    from ngn_clarity import loudness

    sr = 44100
    x = signal(5.0, sr)[:, :1].copy()
    contenders = {"measure(true_peak=False)": lambda: loudness.measure(x, sr, true_peak=False),
                  "libebur128, one call, no hops": lambda: one_call_pyebur128(x, sr),
                  "lfilter K-weighting + hops": lambda: kweighted_hops(x, sr)}
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            for _ in range(200):
                fn()
            times[name].append((time.perf_counter() - t0) / 200 * 1000)
    print(f"5 s mono 44.1 kHz clip, ms a clip, median of {rounds} rounds of 200")
    for name, v in times.items():
        print(f"  {name:<32} {statistics.median(v):6.2f}")
    code = "import time; t = time.perf_counter(); import scipy.signal; " \
           "print(time.perf_counter() - t)"
    seconds = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout) for _ in range(3)]
    print(f"  import scipy.signal in a fresh process: {statistics.median(seconds):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clip", action="store_true", help="the per-clip costs instead")
    args = ap.parse_args()
    if args.clip:
        return clip_costs(args.rounds)
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
