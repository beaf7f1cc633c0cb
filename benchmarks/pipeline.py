"""The embedded demo end to end: wall time and peak memory, side by side.

Renders the embedded dataset (``clarity synth``), then times ``clarity run`` in fresh
processes, each on its own copy of the same raw audio:

    cold, serial (--jobs 1)        the baseline
    cold, --jobs 2
    warm re-run of the --jobs 2 folder (nothing changed)

and prints seconds, peak resident memory of the largest process, and ratios against the
baseline. With ``--scale`` it also runs a 5x smaller set, to show that peak memory does not
grow with the number of files. Goal: the whole ``make demo`` under 60 s after set-up; a warm
re-run under 10 % of a cold one.

Run: ``.venv/bin/python benchmarks/pipeline.py [--per-instrument 100] [--scale]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(json.dumps({"seconds": time.perf_counter() - t, "code": code,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out)
    if result["code"] != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {result['code']}")
    return result


def clarity(*args: str) -> list[str]:
    return [sys.executable, "-m", "ngn_clarity.cli", *args]


def render(root: Path, n: int) -> dict:
    return measure(clarity("synth", "--per-instrument", str(n), "--data-dir", str(root), "-q"))


def copy_raw(src: Path, dest: Path) -> Path:
    shutil.copytree(src / "raw", dest / "raw")
    shutil.copytree(src / "records", dest / "records")
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-instrument", type=int, default=100)
    ap.add_argument("--scale", action="store_true", help="also run a 5x smaller set")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clarity-bench-"))
    rows = []
    try:
        n = args.per_instrument
        synth = render(tmp / "src", n)
        rows.append((f"synth ({n * 10} clips, --jobs 2)", synth))
        serial = measure(clarity("run", "--jobs", "1", "--data-dir",
                                 str(copy_raw(tmp / "src", tmp / "serial")), "-q"))
        rows.append(("run cold, --jobs 1", serial))
        par_dir = copy_raw(tmp / "src", tmp / "parallel")
        rows.append(("run cold, --jobs 2", measure(clarity("run", "--jobs", "2", "--data-dir",
                                                           str(par_dir), "-q"))))
        rows.append(("run warm, --jobs 2", measure(clarity("run", "--jobs", "2", "--data-dir",
                                                           str(par_dir), "-q"))))
        if args.scale:
            small = max(1, n // 5)
            render(tmp / "small", small)
            rows.append((f"run cold, --jobs 2, {small * 10} clips",
                         measure(clarity("run", "--jobs", "2", "--data-dir",
                                         str(tmp / "small"), "-q"))))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows[1][1]
    print(f"{'':<34} {'seconds':>8} {'x serial':>9} {'peak MB':>8} {'x serial':>9}")
    for name, r in rows:
        print(f"{name:<34} {r['seconds']:8.1f} {r['seconds'] / base['seconds']:9.2f} "
              f"{r['peak_mb']:8.0f} {r['peak_mb'] / base['peak_mb']:9.2f}")
    cold, warm = rows[2][1]["seconds"], rows[3][1]["seconds"]
    demo = synth["seconds"] + cold
    print(f"demo (synth + cold run, --jobs 2): {demo:.1f} s (goal < 60 s: "
          f"{'met' if demo < 60 else 'not met'}); warm / cold = {warm / cold:.2f} "
          f"(goal < 0.10: {'met' if warm / cold < 0.10 else 'not met'})")


if __name__ == "__main__":
    main()
