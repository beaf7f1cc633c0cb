"""The pipeline end to end, the way a user runs it, against its yardsticks in the same run.

Every figure is the wall time (and peak resident memory of the largest process) of a fresh
process, each on its own copy of the same raw clips rendered by ``clarity synth``:

core (1000 clips by default, one core pinned with ``taskset -c 0`` where it exists):
    seed-style loop     pyloudnorm normalize, float WAV, librosa.load, each librosa feature
                        (``baselines.py``): the baseline
    floor               read + resample + one STFT per clip (``baselines.py``)
    run_pipeline.py --jobs 1 with the default schema (extended), cold, then warm (nothing
    changed); run_pipeline.py --schema seed --jobs 1, cold (like for like: the loop computes
    the seed's 22 features)
    fixed cost of each schema: the same cold run on 10 clips (``--per-instrument 1``): start-up,
    analysis plots and report; per clip = (cold - fixed) / (clips - 10)
--also-200:
    the seed-style loop against run_pipeline.py --jobs 1 (default schema, cold) on 200 clips
    (``--per-instrument 20``), fixed costs included
start-up:
    ``clarity --help`` and ``clarity loudness FILE``: wall time and whether librosa, pandas,
    matplotlib, sklearn or dask were imported (``python -X importtime``); ``clarity features
    FILE``: a cold process that fingerprints one clip (what a new worker pays)
--demo:
    ``clarity demo`` on a fresh folder (synth 1000 clips + run, 2 cores), ``clarity train`` on
    it, ``clarity predict FILE`` (wall, and the same import check)
--scale N:
    N distinct 1-second clips cut from 100 synth clips (each piece from its own offset, with
    its own tiny gain, so every file's hash differs; 16-bit WAV, with a label record derived
    from its source's): ``clarity run --jobs 2`` on N/10 and on N of them (wall, clips/s, ms
    per clip, peak memory), then ``clarity run --scheduler`` on the N clips with a local Dask
    cluster of 2 workers x 1 thread (the client's peak memory only)

Goals (issue 22): at 1000 clips with the default schema, run >= 4x the seed-style loop and
within 2x of the floor; per clip <= 10 ms (extended); at 200 clips >= 2.5x the seed-style
loop, fixed costs included; warm < 5 % of cold; peak memory at 20,000 clips <= 1.2x that at
2,000, i.e. < 5 KB per clip.

Run: ``.venv/bin/python benchmarks/pipeline.py [--per-instrument 100] [--also-200] [--demo]
[--scale 20000 [--no-dask]]`` (``--per-instrument 0`` skips the core runs; ``--scale 20000``
needs about 6 GB of free disk: the pieces and one run's float copies)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HEAVY = ("librosa", "pandas", "matplotlib", "sklearn", "dask")
TINY = 1
"""``--per-instrument`` of the run that measures a schema's fixed cost (10 clips)."""
SMALL = 20
"""``--per-instrument`` of the ``--also-200`` comparison (200 clips)."""

_MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
print(json.dumps({"seconds": time.perf_counter() - t, "code": p.returncode, "out": p.stdout,
                  "err": p.stderr[-20000:],
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

_CLUSTER = """
import sys
from dask.distributed import LocalCluster
c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, scheduler_port=0,
                 dashboard_address=None)
print(c.scheduler_address, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
c.close()
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


def run_pipeline(folder: Path, schema: str | None = None) -> list[str]:
    """``run_pipeline.py --jobs 1`` on ``folder``; ``schema`` None: the default (extended)."""
    return [sys.executable, str(REPO / "run_pipeline.py"),
            *(["--schema", schema] if schema else []), "--jobs", "1", "--data-dir",
            str(folder), "-q"]


def seed_style(raw: Path, out: Path) -> list[str]:
    return [sys.executable, str(HERE / "baselines.py"), "seed-style", str(raw), str(out)]


def synth(folder: Path, per_instrument: int) -> int:
    """``clarity synth`` into ``folder``; returns how many clips it made."""
    subprocess.run(clarity("synth", "--per-instrument", str(per_instrument), "--data-dir",
                           str(folder), "-q"), check=True)
    return sum(1 for _ in (folder / "raw").rglob("*.wav"))


def copy_raw(src: Path, dest: Path) -> Path:
    shutil.copytree(src / "raw", dest / "raw")
    shutil.copytree(src / "records", dest / "records")
    return dest


def table_rows(folder: Path) -> int:
    """Rows of the run's feature table (clips it fingerprinted; refused clips have none)."""
    try:
        with open(folder / "features" / "features.csv", newline="", encoding="utf-8") as f:
            return max(sum(1 for _ in csv.reader(f)) - 1, 0)
    except FileNotFoundError:
        return 0


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
    clips = synth(src, n)
    tiny_clips = synth(tmp / "tiny", TINY)
    seed = measure(pinned(seed_style(src / "raw", tmp / "seed-out")))
    shutil.rmtree(tmp / "seed-out")
    floor = measure(pinned([sys.executable, str(HERE / "baselines.py"), "floor",
                            str(src / "raw")]))
    rows.append((f"seed-style loop, {clips} clips [1 core]", seed, seed))
    rows.append(("floor (read + STFT) [1 core]", floor, seed))
    ours_dir = copy_raw(src, tmp / "ours")
    cold = measure(pinned(run_pipeline(ours_dir)))
    warm = measure(pinned(run_pipeline(ours_dir)))
    # the seed schema: the seed-style loop computes the seed's 22 features (like for like)
    cold_seed = measure(pinned(run_pipeline(copy_raw(src, tmp / "ours-seed"), "seed")))
    shutil.rmtree(tmp / "ours-seed")
    fixed = {schema: measure(pinned(run_pipeline(copy_raw(tmp / "tiny", tmp / f"tiny-{schema}"),
                                                 None if schema == "extended" else schema)))
             for schema in ("extended", "seed")}
    rows.append(("run_pipeline.py --jobs 1, cold [1 core]", cold, seed))
    rows.append(("run_pipeline.py --jobs 1, warm [1 core]", warm, seed))
    rows.append(("run_pipeline.py --schema seed, cold [1 core]", cold_seed, seed))
    for schema in ("extended", "seed"):
        rows.append((f"  fixed: {schema}, {tiny_clips} clips, cold [1 core]", fixed[schema],
                     None))
    for schema, r, title in (
            ("extended", cold, "default schema (extended), no --schema"),
            ("seed", cold_seed, "--schema seed (the loop's 22 features: like for like)")):
        speedup = seed["seconds"] / r["seconds"]
        over_floor = r["seconds"] / floor["seconds"]
        fixed_s = fixed[schema]["seconds"]
        per_clip = (r["seconds"] - fixed_s) / max(clips - tiny_clips, 1) * 1000
        goal = f" (goal <= 10 ms: {verdict(per_clip <= 10)})" if schema == "extended" else ""
        print(f"{title}, {clips} clips:")
        print(f"  vs seed-style: {speedup:.2f}x faster (goal >= 4x: {verdict(speedup >= 4)})")
        print(f"  vs floor: {over_floor:.2f}x the floor's time (goal <= 2x: "
              f"{verdict(over_floor <= 2)})")
        print(f"  per clip: {per_clip:.1f} ms = (cold {r['seconds']:.1f} s - fixed "
              f"{fixed_s:.1f} s) / {clips - tiny_clips} clips{goal}")
        print(f"  fixed: {fixed_s:.2f} s (a cold run on {tiny_clips} clips: start-up, analysis "
              f"plots, report)")
    warm_ratio = warm["seconds"] / cold["seconds"]
    print(f"warm / cold (default schema): {warm_ratio:.3f} (goal < 0.05: "
          f"{verdict(warm_ratio < 0.05)})")
    return {"ours": ours_dir}


def also_200(tmp: Path, rows: list) -> None:
    src = tmp / "src200"
    clips = synth(src, SMALL)
    seed = measure(pinned(seed_style(src / "raw", tmp / "seed200-out")))
    cold = measure(pinned(run_pipeline(copy_raw(src, tmp / "ours200"))))
    rows.append((f"seed-style loop, {clips} clips [1 core]", seed, seed))
    rows.append((f"run_pipeline.py --jobs 1, {clips} clips, cold [1 core]", cold, seed))
    speedup = seed["seconds"] / cold["seconds"]
    print(f"{clips} clips, default schema: run {speedup:.2f}x faster than the seed-style loop, "
          f"fixed costs included (goal >= 2.5x: {verdict(speedup >= 2.5)})")
    for name in ("src200", "seed200-out", "ours200"):
        shutil.rmtree(tmp / name)


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
    rows.append(("clarity demo (synth 1000 + run) [2 cores]", r, None))
    print(f"demo: {r['seconds']:.1f} s (goal < 60 s: {verdict(r['seconds'] < 60)})")
    r = measure(clarity("train", "--data-dir", str(folder), "-q"))
    rows.append(("clarity train, 1000 clips [2 cores]", r, None))
    print(f"train: {r['seconds']:.1f} s (goal < 60 s: {verdict(r['seconds'] < 60)})")
    wav = sorted((folder / "raw" / "flawed").rglob("*.wav"))[0]
    seconds, heavy = heavy_imports(["predict", str(wav), "--data-dir", str(folder)])
    print(f"predict one file: {seconds:.2f} s (goal < 1.5 s: {verdict(seconds < 1.5)}), "
          f"heavy imports: {heavy or 'none'}")


def cut_pieces(src: Path, dest: Path, n: int) -> list[str]:
    """``n`` distinct 1-second clips cut from the clips of ``src``, written below ``dest``.

    Piece j comes from source clip j mod S (in a fixed shuffled order, so any prefix mixes
    instruments and subsets): its k-th piece (k = j div S) starts at the k-th of evenly spread
    offsets among those above -60 dBFS (or the next one whose piece passes the run's audio
    checks: a tail can be all DC), times its own gain 1 + 1e-4 k, as 16-bit WAV
    named ``<source stem><k:06d>.wav`` (still a canonical name: ``kick_001000007.wav``,
    ``kick_flawed_muddy_001000007.wav``) in its source's ``raw/<subset>/<instrument>/``, with
    its source's label record (file, hash, span and original changed; same split group).
    Returns the pieces' paths below ``raw/`` (and ``records/``, plus ``.json``), in order.
    """
    import soundfile as sf

    from ngn_clarity.checks import audio_checks

    sources = sorted((src / "raw").rglob("*.wav"))
    random.Random(0).shuffle(sources)
    per_source = -(-n // len(sources))
    made: dict[tuple[int, int], str] = {}
    hashes: set[str] = set()
    for i, path in enumerate(sources):
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        rel = path.relative_to(src / "raw")
        subset, instrument = rel.parts[0], rel.parts[1]
        record_path = src / "records" / f"{rel.as_posix()}.json"
        record = json.loads(record_path.read_text()) if record_path.exists() else None
        (dest / "raw" / subset / instrument).mkdir(parents=True, exist_ok=True)
        (dest / "records" / subset / instrument).mkdir(parents=True, exist_ok=True)
        starts = active_starts(data, rate)
        for k in range(len(range(i, n, len(sources)))):
            first = k * len(starts) // per_source
            for step in range(len(starts)):  # the next start whose piece the run would take
                start = int(starts[(first + step) % len(starts)])
                piece_audio = data[start:start + rate] * (1 + 1e-4 * k)
                if audio_checks(piece_audio, rate).usable:
                    break
            buf = io.BytesIO()
            sf.write(buf, piece_audio, rate, format="WAV", subtype="PCM_16")
            blob = buf.getvalue()
            digest = hashlib.sha256(blob).hexdigest()
            hashes.add(digest)
            name = f"{path.stem}{k:06d}.wav"
            (dest / "raw" / subset / instrument / name).write_bytes(blob)
            if record is not None:
                piece = dict(record, file=name, sha256=digest,
                             original_name=path.name,
                             original_sha256=record.get("sha256", ""),
                             span_s=[start / rate, (start + rate) / rate],
                             group=record.get("group") or f"{instrument}/{path.stem}")
                (dest / "records" / subset / instrument / f"{name}.json").write_text(
                    json.dumps(piece))
            made[i, k] = f"{subset}/{instrument}/{name}"
    if len(hashes) != n:
        print(f"warning: only {len(hashes)} of the {n} pieces differ")
    # in round-robin order: the first n/10 pieces are the n/10-clip set
    return [made[(j % len(sources), j // len(sources))] for j in range(n)]


def active_starts(data, rate: int):
    """Every start (sample) of a 1-second window of ``data`` whose level is above -60 dBFS
    (silent stretches would make silent, equal pieces: refused, or one content twice); all
    starts if none is."""
    import numpy as np

    mono = data.astype(np.float64).mean(axis=1)
    energy = np.concatenate(([0.0], np.cumsum(mono ** 2)))
    window = (energy[rate:] - energy[:-rate]) / rate if len(mono) >= rate else np.zeros(1)
    starts = np.flatnonzero(window > 1e-6)
    return starts if len(starts) else np.arange(len(window))


def link_pieces(src: Path, dest: Path, pieces: list[str]) -> Path:
    """A fresh data folder holding ``pieces`` of ``src`` (hard links: no copy of the audio)."""
    for rel in pieces:
        for top, name in (("raw", rel), ("records", f"{rel}.json")):
            if not (src / top / name).exists():
                continue
            (dest / top / name).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src / top / name, dest / top / name)
            except OSError:
                shutil.copy2(src / top / name, dest / top / name)
    return dest


def scale(tmp: Path, rows: list, n: int, dask: bool = True) -> None:
    sources = synth(tmp / "scale-src", 10)
    pieces = cut_pieces(tmp / "scale-src", tmp / "scale-all", n)
    shutil.rmtree(tmp / "scale-src")
    print(f"scale set: {n} 1-second clips cut from {sources} synth clips")
    results = {}
    for label, count, how in ((f"run --jobs 2, {n // 10} clips [2 cores]", n // 10, "jobs"),
                              (f"run --jobs 2, {n} clips [2 cores]", n, "jobs"),
                              (f"run --scheduler (dask 2x1), {n} clips [client]", n, "dask"))[
                             :3 if dask else 2]:
        folder = link_pieces(tmp / "scale-all", tmp / "scale-run", pieces[:count])
        if how == "jobs":
            r = measure(clarity("run", "--jobs", "2", "-q", "--data-dir", str(folder)))
        else:
            with dask_cluster() as address:
                r = measure(clarity("run", "--scheduler", address, "-q", "--data-dir",
                                    str(folder)))
        refused = count - table_rows(folder)
        shutil.rmtree(folder)  # processed/ holds float copies: free the disk before the next
        rows.append((label, r, None))
        results[label] = r
        print(f"{label}: {r['seconds']:.1f} s, {count / r['seconds']:.0f} clips/s, "
              f"{r['seconds'] / count * 1000:.1f} ms per clip, peak {r['peak_mb']:.0f} MB, "
              f"{refused} of {count} clips refused")
    small, big = (results[label] for label in list(results)[:2])
    grow = big["peak_mb"] / small["peak_mb"]
    per_clip_kb = (big["peak_mb"] - small["peak_mb"]) * 1024 / (n - n // 10)
    print(f"peak memory {n} vs {n // 10} clips: {grow:.2f}x (goal <= 1.2x: "
          f"{verdict(grow <= 1.2)}); {per_clip_kb:.2f} KB per clip (goal < 5 KB: "
          f"{verdict(per_clip_kb < 5)})")


@contextlib.contextmanager
def dask_cluster() -> Iterator[str]:
    """A local Dask cluster (2 worker processes x 1 thread): its scheduler's address."""
    proc = subprocess.Popen([sys.executable, "-c", _CLUSTER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        address = proc.stdout.readline().strip()
        if not address:
            raise SystemExit("the Dask cluster did not start")
        yield address
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-instrument", type=int, default=100,
                    help="gold clips per instrument for the core runs (x10 clips in all; 0: "
                         "skip them)")
    ap.add_argument("--also-200", action="store_true",
                    help="also compare the seed-style loop and a run on 200 clips")
    ap.add_argument("--demo", action="store_true", help="also time demo, train and predict")
    ap.add_argument("--scale", type=int, metavar="N",
                    help="also run N and N/10 distinct 1-second clips (2 cores, and on Dask)")
    ap.add_argument("--no-dask", action="store_true", help="--scale without the Dask run")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clarity-bench-"))
    rows: list = []
    try:
        if args.per_instrument > 0:
            made = core(tmp, args.per_instrument, rows)
            startup(made["ours"])
        if args.also_200:
            also_200(tmp, rows)
        if args.demo:
            demo(tmp, rows)
        if args.scale:
            scale(tmp, rows, args.scale, dask=not args.no_dask)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'':<52} {'seconds':>8} {'x seed-style':>13} {'peak MB':>8}")
    for name, r, base in rows:
        ratio = f"{base['seconds'] / r['seconds']:.2f}" if base is not None else ""
        print(f"{name:<52} {r['seconds']:8.1f} {ratio:>13} {r['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
