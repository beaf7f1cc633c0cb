"""The pipeline end to end, the way a user runs it, against its yardsticks in the same run.

Every figure is the wall time (and peak resident memory of the largest process) of a fresh
process, each on its own copy of the same raw clips rendered by ``clarity synth``:

core (200 clips by default, one core pinned with ``taskset -c 0`` where it exists):
    seed-style loop     pyloudnorm normalize, float WAV, librosa.load, each librosa feature
                        (``baselines.py``): the baseline
    floor               read + resample + one STFT per clip (``baselines.py``)
    run_pipeline.py --jobs 1, cold, then warm (nothing changed)
start-up:
    ``clarity --help`` and ``clarity loudness FILE``: wall time and whether librosa, pandas,
    matplotlib, sklearn or dask were imported (``python -X importtime``); ``clarity features
    FILE``: a cold process that fingerprints one clip (what a new worker pays)
--demo:
    ``clarity demo`` on a fresh folder (synth 1000 clips + run, 2 cores), ``clarity train`` on
    it, ``clarity predict FILE`` (wall, and the same import check)
--scale:
    ``clarity run --jobs 2`` on 2000 clips: peak memory against the 200-clip run

Goals (issue 13): run >= 4x the seed-style loop and within 1.6x of the floor; warm < 5 % of
cold; demo < 60 s; train < 60 s; predict one file < 1.5 s; a worker's cold start < 3 s; peak
memory at 2000 clips within 10 % of 200 clips.

Run: ``.venv/bin/python benchmarks/pipeline.py [--per-instrument 20] [--demo] [--scale]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HEAVY = ("librosa", "pandas", "matplotlib", "sklearn", "dask")

_MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
print(json.dumps({"seconds": time.perf_counter() - t, "code": p.returncode, "out": p.stdout,
                  "err": p.stderr[-20000:],
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measure(cmd: list[str], ok: tuple[int, ...] = (0,)) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out)
    if result["code"] not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {result['code']}:\n{result['err'][-2000:]}")
    return result


def pinned(cmd: list[str]) -> list[str]:
    return ["taskset", "-c", "0", *cmd] if shutil.which("taskset") else cmd


def clarity(*args: str) -> list[str]:
    return [sys.executable, "-m", "ngn_clarity.cli", *args]


def copy_raw(src: Path, dest: Path) -> Path:
    shutil.copytree(src / "raw", dest / "raw")
    shutil.copytree(src / "records", dest / "records")
    return dest


def heavy_imports(cmd: list[str]) -> tuple[float, list[str]]:
    """Wall seconds of ``clarity CMD`` and which of :data:`HEAVY` it imported."""
    r = measure([sys.executable, "-X", "importtime", "-m", "ngn_clarity.cli", *cmd], ok=(0, 1))
    seen = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in r["err"].splitlines()
            if line.startswith("import time:")}
    return r["seconds"], sorted(seen & set(HEAVY))


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def core(tmp: Path, n: int, rows: list) -> dict:
    src = tmp / "src"
    subprocess.run(clarity("synth", "--per-instrument", str(n), "--data-dir", str(src), "-q"),
                   check=True)
    clips = sum(1 for _ in (src / "raw").rglob("*.wav"))
    seed = measure(pinned([sys.executable, str(HERE / "baselines.py"), "seed-style",
                           str(src / "raw"), str(tmp / "seed-out")]))
    floor = measure(pinned([sys.executable, str(HERE / "baselines.py"), "floor",
                            str(src / "raw")]))
    ours_dir = copy_raw(src, tmp / "ours")
    # the seed schema: the seed-style loop computes the seed's 22 features (like for like)
    run = [sys.executable, str(REPO / "run_pipeline.py"), "--schema", "seed", "--jobs", "1",
           "--data-dir", str(ours_dir), "-q"]
    cold = measure(pinned(run))
    warm = measure(pinned(run))
    for name, r in ((f"seed-style loop, {clips} clips", seed), ("floor (read + STFT)", floor),
                    ("run_pipeline.py --jobs 1, cold", cold),
                    ("run_pipeline.py --jobs 1, warm", warm)):
        rows.append((name + " [1 core]", r))
    speedup = seed["seconds"] / cold["seconds"]
    over_floor = cold["seconds"] / floor["seconds"]
    warm_ratio = warm["seconds"] / cold["seconds"]
    print(f"run vs seed-style: {speedup:.2f}x faster (goal >= 4x: {verdict(speedup >= 4)})")
    print(f"run vs floor: {over_floor:.2f}x the floor's time (goal <= 1.6x: "
          f"{verdict(over_floor <= 1.6)})")
    print(f"warm / cold: {warm_ratio:.3f} (goal < 0.05: {verdict(warm_ratio < 0.05)})")
    return {"src": src, "ours": ours_dir, "cold": cold}


def startup(ours: Path) -> None:
    wav = next((ours / "raw").rglob("*.wav"))
    for cmd in (["--help"], ["loudness", str(wav)]):
        seconds, heavy = heavy_imports(cmd)
        print(f"clarity {cmd[0]}: {seconds:.2f} s, heavy imports: {heavy or 'none'}")
    r = measure(clarity("features", str(wav), "--json"))
    print(f"cold process + one fingerprint (a worker's start): {r['seconds']:.2f} s "
          f"(goal < 3 s: {verdict(r['seconds'] < 3)})")


def demo(tmp: Path, rows: list) -> None:
    folder = tmp / "demo"
    r = measure(clarity("demo", "--data-dir", str(folder)))
    rows.append(("clarity demo (synth 1000 + run) [2 cores]", r))
    print(f"demo: {r['seconds']:.1f} s (goal < 60 s: {verdict(r['seconds'] < 60)})")
    r = measure(clarity("train", "--data-dir", str(folder), "-q"))
    rows.append(("clarity train, 1000 clips [2 cores]", r))
    print(f"train: {r['seconds']:.1f} s (goal < 60 s: {verdict(r['seconds'] < 60)})")
    wav = sorted((folder / "raw" / "flawed").rglob("*.wav"))[0]
    seconds, heavy = heavy_imports(["predict", str(wav), "--data-dir", str(folder)])
    print(f"predict one file: {seconds:.2f} s (goal < 1.5 s: {verdict(seconds < 1.5)}), "
          f"heavy imports: {heavy or 'none'}")


def scale(tmp: Path, src: Path, rows: list, n: int) -> None:
    small = copy_raw(src, tmp / "small")
    r_small = measure(clarity("run", "--jobs", "2", "--data-dir", str(small), "-q"))
    big = tmp / "big"
    subprocess.run(clarity("synth", "--per-instrument", str(10 * n), "--data-dir", str(big),
                           "-q"), check=True)
    r_big = measure(clarity("run", "--jobs", "2", "--data-dir", str(big), "-q"))
    rows.append((f"run --jobs 2, {10 * n} clips [2 cores]", r_small))
    rows.append((f"run --jobs 2, {100 * n} clips [2 cores]", r_big))
    grow = r_big["peak_mb"] / r_small["peak_mb"]
    print(f"peak memory {100 * n} vs {10 * n} clips: {grow:.2f}x (goal within 1.10x: "
          f"{verdict(grow <= 1.10)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-instrument", type=int, default=20,
                    help="gold clips per instrument for the core runs (x10 clips in all)")
    ap.add_argument("--demo", action="store_true", help="also time demo, train and predict")
    ap.add_argument("--scale", action="store_true", help="also run 10x the clips for memory")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clarity-bench-"))
    rows: list = []
    try:
        made = core(tmp, args.per_instrument, rows)
        startup(made["ours"])
        if args.demo:
            demo(tmp, rows)
        if args.scale:
            scale(tmp, made["src"], rows, args.per_instrument)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows[0][1]
    print(f"\n{'':<48} {'seconds':>8} {'x seed-style':>13} {'peak MB':>8}")
    for name, r in rows:
        ratio = f"{base['seconds'] / r['seconds']:.2f}" if "1 core" in name else ""
        print(f"{name:<48} {r['seconds']:8.1f} {ratio:>13} {r['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
