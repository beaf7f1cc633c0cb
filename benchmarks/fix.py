"""Does ``clarity fix`` bring a flawed stem closer to its gold, and leave gold alone?

Run the way a user runs things: a model (``clarity synth`` + ``run`` + ``train`` into
``<work>/data``, or ``--data-dir`` with a trained model), then ``clarity fix --json`` on clips
the model never trained on:

* **held-out synthetic**: a fresh ``clarity synth`` seed (``--heldout-seed``), its gold clips
  and their flawed children (each record names its gold clip);
* **real test half**: the recordings ``benchmarks/real_audio.py`` keeps out of training,
  each as it is (gold) and flawed by sox (a chain we do not use; EQ truth measured on an
  impulse). Taken from ``<real-work>/real_audio_results.json`` when that exists, else built
  here the same way from the cached recordings (``~/.cache/ngn-clarity/real-audio``); skipped
  with one line when neither the cache nor sox is there.

For each flawed clip, its distance to its gold clip before and after ``fix`` (a clip ``fix``
leaves alone keeps its distance):

* **spectral distance**: dB RMS over the 1/3-octave bands 50 Hz-16 kHz (centres
  1000 x 2^(k/3), k = -13..12, below 0.45 x the sample rate) of the long-term spectrum (mono,
  Hann frames of 8192 at 50 % overlap, mean power), both clips loudness matched (BS.1770-4),
  each band floored 60 dB under the clip's loudest band (inaudible bands do not dominate);
* **MCD**: mel-cepstral distance of the loudness-matched clips, frame by frame (mono,
  22.05 kHz, 40 mel bands, n_fft 1024, hop 256): the mean over frames of
  (10 / ln 10) sqrt(2 sum_{k=1..12} (mc_k - mc'_k)^2) with mc the mel cepstrum of the
  log amplitude in nepers, the usual MCD in dB (librosa's MFCCs are of 10 log10 power,
  20 / ln 10 times mc, so this is half of sqrt(2 sum (c_k - c'_k)^2) of them);
* for over_compressed, whether the crest factor moved toward gold's;
* **exact**: the same distance after the remedy with the *true* correction (the label's, or
  sox's measured EQ): how much is lost to the 8-centre EQ, and how much to the prediction.

For each gold clip, the spectral distance between it and what ``fix`` made of it (do no harm).
Prints the table by flaw and severity third, the goals, the start-up time of ``clarity fix
FILE`` (a 5 s file) and writes ``<work>/fix_results.json`` and ``<data>/reports/
fix_spectra.json`` (gold, flawed and fixed spectra of a few clips, for ``clarity report``).

    python benchmarks/fix.py [--work DIR] [--data-dir DIR] [--per-instrument N]
                             [--heldout N] [--real-work DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_audio  # noqa: E402

from ngn_clarity import loudness, taxonomy  # noqa: E402
from ngn_clarity.corrections import EQ_FIELDS  # noqa: E402
from ngn_clarity.dsp import crest_db, resample, to_mono  # noqa: E402
from ngn_clarity.fsutil import atomic_write_json  # noqa: E402
from ngn_clarity.remedy import EQ_FLAWS, remedy  # noqa: E402

CENTRES = 1000.0 * 2.0 ** (np.arange(-13, 13) / 3.0)  # 49.6 Hz ... 16 kHz
FLOOR_DB = 60.0
THIRDS = ("low", "mid", "high")


# --- measures --------------------------------------------------------------------------------

def matched(x: np.ndarray, sr: int) -> np.ndarray:
    """Mono at -23 LUFS."""
    lufs = loudness.measure(x, sr, true_peak=False).integrated_lufs
    return to_mono(x) * np.float32(10 ** ((-23.0 - lufs) / 20))


def third_octaves(x: np.ndarray, sr: int) -> np.ndarray:
    """1/3-octave band levels (dB) of mono audio (NaN above 0.45 x sr), floored."""
    n = 8192
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2]
    power = np.mean(np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2, axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    out = np.full(len(CENTRES), np.nan)
    for i, c in enumerate(CENTRES):
        hi = c * 2 ** (1 / 6)
        if hi < 0.45 * sr:
            band = power[(f >= c * 2 ** (-1 / 6)) & (f < hi)]
            out[i] = 10 * np.log10(band.sum() + 1e-20) if band.size else np.nan
    return np.maximum(out, np.nanmax(out) - FLOOR_DB)


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    return float(np.sqrt(np.nanmean(d ** 2)))


def mfcc(x: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    y = resample(x, sr, 22050)
    return librosa.feature.mfcc(y=y, sr=22050, n_mfcc=13, n_fft=1024, hop_length=256,
                                n_mels=40)


def mcd(ca: np.ndarray, cb: np.ndarray) -> float:
    n = min(ca.shape[1], cb.shape[1])
    d = ca[1:13, :n] - cb[1:13, :n]
    return float(np.mean(0.5 * np.sqrt(2.0 * np.sum(d ** 2, axis=0))))


class Clip:
    """A file's loudness-matched mono, spectrum, MFCCs and crest factor (computed once)."""

    def __init__(self, path: str):
        x, sr = sf.read(path, dtype="float32", always_2d=True)
        self.x, self.sr = x, sr
        self.mono = matched(x, sr)
        self.spectrum = third_octaves(self.mono, sr)
        self.cepstrum = mfcc(self.mono, sr)
        self.crest = crest_db(x)


# --- the clips -------------------------------------------------------------------------------

def clarity(*args: str, capture: bool = False) -> str:
    res = subprocess.run([sys.executable, "-m", "ngn_clarity.cli", *args],
                         capture_output=True, text=True)
    if res.returncode not in (0, 1):
        raise SystemExit(f"`clarity {' '.join(args[:6])} ...` failed:\n{res.stderr[-2000:]}")
    return res.stdout if capture else ""


def model_folder(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        if not (args.data_dir / "models" / "model_card.json").is_file():
            raise SystemExit(f"no trained model in {args.data_dir}/models")
        return args.data_dir
    data = args.work / "data"
    if not (data / "models" / "model_card.json").is_file():
        t0 = time.perf_counter()
        clarity("synth", "--per-instrument", str(args.per_instrument), "--seed", "0",
                "--data-dir", str(data), "-q")
        clarity("run", "--data-dir", str(data), "-q")
        clarity("train", "--data-dir", str(data), "-q")
        print(f"model: synth {args.per_instrument}/instrument + run + train "
              f"({time.perf_counter() - t0:.0f} s)")
    return data


def heldout_cases(work: Path, n: int, seed: int) -> list[dict]:
    data = work / "heldout"
    if not (data / "raw").is_dir():
        clarity("synth", "--per-instrument", str(n), "--flawed-per-instrument", str(2 * n),
                "--seed", str(seed), "--data-dir", str(data), "-q")
    cases = []
    for rec_path in sorted((data / "records").rglob("*.json")):
        rec = json.loads(rec_path.read_text())
        folder = data / "raw" / rec["subset"] / rec["instrument"]
        gold = folder.parent.parent / "gold" / rec["instrument"] / (
            rec["extra"].get("gold_file") or rec["file"])
        cases.append({"set": "synthetic", "path": str(folder / rec["file"]),
                      "gold": str(gold), "instrument": rec["instrument"],
                      "flaw": rec["flawed_type"], "severity": rec.get("severity") or 0.0,
                      "truth": rec.get("correction")})
    return cases


def real_cases(work: Path, real_work: Path, seed: int) -> list[dict]:
    """The real test half (see the module doc); [] with one line when it cannot be had."""
    found = real_work / "real_audio_results.json"
    if found.is_file():
        tests = json.loads(found.read_text())["tests"]
    else:
        if shutil.which("sox") is None:
            print("real test half skipped: sox is not installed")
            return []
        entries = [e for e in real_audio.real_audio_sources.fetch(real_audio.CACHE)
                   if e.get("recorded") is True]
        if not entries:
            print("real test half skipped: no cached real recordings")
            return []
        tests = build_real_half(entries, work / "real_test_half", seed)
    out = []
    for t in tests:
        gold = str(Path(t["path"]).with_name(Path(t["path"]).name.split("_")[0] + "_gold.wav"))
        truth = ({**{k: 0.0 for k in EQ_FIELDS}, **t["eq_truth"]} if t.get("eq_truth")
                 else None)
        out.append({"set": "real", "path": t["path"], "gold": gold,
                    "instrument": t["instrument"], "flaw": t["flaw"], "severity": None,
                    "truth": truth})
    return out


def build_real_half(entries: list[dict], root: Path, seed: int) -> list[dict]:
    """benchmarks/real_audio.py's test half: every other recording of each instrument, as
    it is and flawed by sox (same split, same chains for the same seed)."""
    rng = np.random.default_rng(seed)
    tests = []
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    for inst in taxonomy.INSTRUMENTS:
        mine = sorted((e for e in entries if e["instrument"] == inst),
                      key=lambda e: (e["source_package"], e["name"]))
        for k, e in enumerate(mine):
            if k % 2 == 0:
                continue
            gold = root / inst / f"{k:03d}_gold.wav"
            gold.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(e["path"], gold)
            tests.append({"path": str(gold), "instrument": inst, "flaw": "none",
                          "eq_truth": None})
            sr = sf.info(str(gold)).samplerate
            for flaw in taxonomy.flaws_for(inst):
                if flaw == "sloppy_timing":
                    continue
                effects, eq_part = real_audio.sox_chain(flaw, inst, rng)
                dest = gold.with_name(f"{k:03d}_{flaw}.wav")
                real_audio.run_sox(gold, dest, effects)
                tests.append({"path": str(dest), "instrument": inst, "flaw": flaw,
                              "eq_truth": real_audio.eq_truth(eq_part, sr, root / "tmp")})
    return tests


def run_fix(data: Path, cases: list[dict], out: Path) -> dict[str, dict]:
    """``clarity fix --json`` on every case, one command per (set, instrument)."""
    results: dict[str, dict] = {}
    groups: dict[tuple[str, str], list[str]] = {}
    for c in cases:
        groups.setdefault((c["set"], c["instrument"]), []).append(c["path"])
    for (name, inst), paths in groups.items():
        dest = out / name / inst
        shutil.rmtree(dest, ignore_errors=True)
        text = clarity("fix", *paths, "--json", "--out", str(dest), "--instrument", inst,
                       "--data-dir", str(data), capture=True)
        for line in text.splitlines():
            r = json.loads(line)
            results[r["file"]] = r
    return results


# --- evaluation ------------------------------------------------------------------------------

def exact_fix(clip: Clip, case: dict) -> Clip | None:
    """The remedy with the true correction (None: no truth, or nothing to apply)."""
    if not case["truth"] or case["flaw"] not in EQ_FLAWS + ("over_compressed",):
        return None
    done = remedy(clip.x, clip.sr, case["flaw"], case["truth"])
    if done.out is None:
        return None
    fixed = Clip.__new__(Clip)
    fixed.x, fixed.sr = done.out, clip.sr
    fixed.mono = matched(done.out, clip.sr)
    fixed.spectrum = third_octaves(fixed.mono, clip.sr)
    fixed.cepstrum = mfcc(fixed.mono, clip.sr)
    fixed.crest = crest_db(done.out)
    return fixed


def evaluate(cases: list[dict], results: dict[str, dict]) -> list[dict]:
    golds: dict[str, Clip] = {}
    rows = []
    for c in cases:
        r = results.get(c["path"], {"error": "no answer"})
        if r.get("error"):
            rows.append({**c, "error": r["error"]})
            continue
        gold = golds.get(c["gold"]) or golds.setdefault(c["gold"], Clip(c["gold"]))
        clip = gold if c["path"] == c["gold"] else Clip(c["path"])
        fixed = Clip(r["output"]) if r.get("written") else clip
        row = {**c, "predicted": r["flaw"], "applied": bool(r.get("written")),
               "before": spectral_distance(clip.spectrum, gold.spectrum),
               "after": spectral_distance(fixed.spectrum, gold.spectrum),
               "change": spectral_distance(fixed.spectrum, clip.spectrum),
               "mcd_before": mcd(clip.cepstrum, gold.cepstrum),
               "mcd_after": mcd(fixed.cepstrum, gold.cepstrum),
               "crest_gold": gold.crest, "crest_before": clip.crest,
               "crest_after": fixed.crest}
        if c["flaw"] != "none":
            exact = exact_fix(clip, c)
            row["exact_after"] = (spectral_distance(exact.spectrum, gold.spectrum)
                                  if exact is not None else row["before"])
        if c["flaw"] in EQ_FLAWS and r.get("written"):
            row["spectra"] = {"gold": gold.spectrum.tolist(), "flawed": clip.spectrum.tolist(),
                              "fixed": fixed.spectrum.tolist()}
        rows.append(row)
    return rows


def third(sev: float | None) -> str:
    if sev is None:
        return "all"
    return THIRDS[min(int(sev * 3), 2)]


def median(v: list[float]) -> float:
    return statistics.median(v) if v else math.nan


def summary(rows: list[dict]) -> dict:
    """n, fixed share, median before/after/exact, reduction of the median, share closer,
    MCD medians, crest toward gold share."""
    b = [r["before"] for r in rows]
    a = [r["after"] for r in rows]
    e = [r.get("exact_after", r["before"]) for r in rows]
    out = {"clips": len(rows), "fixed": sum(r["applied"] for r in rows) / max(len(rows), 1),
           "before_db": median(b), "after_db": median(a), "exact_after_db": median(e),
           "reduction": 1 - median(a) / median(b) if rows and median(b) > 0 else math.nan,
           "exact_reduction": 1 - median(e) / median(b) if rows and median(b) > 0 else math.nan,
           "closer": sum(x < y - 1e-9 for x, y in zip(a, b)) / max(len(rows), 1),
           "mcd_before": median([r["mcd_before"] for r in rows]),
           "mcd_after": median([r["mcd_after"] for r in rows])}
    toward = [abs(r["crest_after"] - r["crest_gold"]) < abs(r["crest_before"] - r["crest_gold"])
              for r in rows]
    out["crest_toward_gold"] = sum(toward) / max(len(rows), 1)
    return out


def table(rows: list[dict], name: str) -> list[str]:
    flawed = [r for r in rows if r["flaw"] != "none" and "error" not in r]
    lines = [f"| {name}: flaw | severity | clips | fixed | distance before | after | exact "
             "correction | median reduced | closer | MCD before | after |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    flaws = sorted({r["flaw"] for r in flawed}, key=lambda f: (f not in EQ_FLAWS, f))
    for flaw in flaws:
        mine = [r for r in flawed if r["flaw"] == flaw]
        keys = sorted({third(r["severity"]) for r in mine}, key=lambda k: (k == "all", k))
        keys = [k for k in (*THIRDS, "all") if k in keys]
        for k in keys + (["all"] if len(keys) > 1 else []):
            part = mine if k == "all" else [r for r in mine if third(r["severity"]) == k]
            s = summary(part)
            extra = (f" (crest toward gold {s['crest_toward_gold']:.0%})"
                     if flaw == "over_compressed" else "")
            lines.append(f"| {flaw if k in (keys[0],) else ''} | {k} | {s['clips']} | "
                         f"{s['fixed']:.0%} | {s['before_db']:.2f} | {s['after_db']:.2f} | "
                         f"{s['exact_after_db']:.2f} | {s['reduction']:.0%}{extra} | "
                         f"{s['closer']:.0%} | {s['mcd_before']:.2f} | {s['mcd_after']:.2f} |")
    return lines


def goals(rows: list[dict], name: str) -> dict:
    ok = [r for r in rows if "error" not in r]
    eq = summary([r for r in ok if r["flaw"] in EQ_FLAWS])
    gold = [r["change"] for r in ok if r["flaw"] == "none"]
    comp = summary([r for r in ok if r["flaw"] == "over_compressed"])
    return {"set": name, "eq": eq, "gold_clips": len(gold),
            "gold_median_change_db": median(gold),
            "gold_p90_change_db": float(np.percentile(gold, 90)) if gold else math.nan,
            "gold_left_alone": (sum(not r["applied"] for r in ok if r["flaw"] == "none")
                                / max(len(gold), 1)),
            "over_compressed": comp, "errors": len(rows) - len(ok)}


def startup(data: Path, clip: str, runs: int = 5) -> dict:
    """Wall time of ``clarity fix FILE`` (start-up included), dry run: median and min."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        clarity("fix", clip, "--dry-run", "-q", "--data-dir", str(data))
        times.append(time.perf_counter() - t0)
    return {"file": clip, "seconds": sf.info(clip).duration, "median_s": median(times),
            "min_s": min(times)}


def report_spectra(data: Path, rows: list[dict], per_flaw: int = 1) -> None:
    """A few clips' gold, flawed and fixed spectra for ``clarity report``'s fix section."""
    shown, seen = [], set()
    for r in rows:
        if "spectra" in r and r["set"] == "synthetic" and r["flaw"] not in seen:
            seen.add(r["flaw"])
            shown.append({"file": Path(r["path"]).name, "instrument": r["instrument"],
                          "flaw": r["flaw"], "predicted": r["predicted"],
                          "before_db": round(r["before"], 2), "after_db": round(r["after"], 2),
                          **{k: [None if math.isnan(v) else round(v, 2) for v in s]
                             for k, s in r["spectra"].items()}})
    atomic_write_json(data / "reports" / "fix_spectra.json", {
        "centres_hz": [round(float(c), 1) for c in CENTRES],
        "what": "1/3-octave long-term spectra, loudness matched (benchmarks/fix.py)",
        "clips": shown[:6]})



def show_goals(g: dict) -> None:
    eq, comp = g["eq"], g["over_compressed"]
    print(f"{g['set']}: EQ-flawed clips {eq['clips']}: median distance {eq['before_db']:.2f} -> "
          f"{eq['after_db']:.2f} dB ({eq['reduction']:.0%} less; exact correction "
          f"{eq['exact_reduction']:.0%}), {eq['closer']:.0%} closer; MCD {eq['mcd_before']:.2f}"
          f" -> {eq['mcd_after']:.2f} dB")
    print(f"  gold clips {g['gold_clips']}: median change {g['gold_median_change_db']:.2f} dB "
          f"(90th percentile {g['gold_p90_change_db']:.2f}), left alone "
          f"{g['gold_left_alone']:.0%}")
    if comp["clips"]:
        print(f"  over_compressed {comp['clips']}: crest factor toward gold's on "
              f"{comp['crest_toward_gold']:.0%}")
    if g["errors"]:
        print(f"  {g['errors']} clips could not be fixed (see fix_results.json)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "clarity-fix")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="a data folder with a trained model (default: <work>/data, made)")
    ap.add_argument("--per-instrument", type=int, default=100,
                    help="gold clips per instrument of the model's synth set (default 100)")
    ap.add_argument("--heldout", type=int, default=40,
                    help="held-out gold clips per instrument (twice as many flawed)")
    ap.add_argument("--heldout-seed", type=int, default=20)
    ap.add_argument("--real-work", type=Path,
                    default=Path(tempfile.gettempdir()) / "clarity-real",
                    help="where benchmarks/real_audio.py left real_audio_results.json")
    ap.add_argument("--no-real", action="store_true", help="the synthetic clips only")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    data = model_folder(args)
    sets = {"synthetic": heldout_cases(args.work, args.heldout, args.heldout_seed)}
    if not args.no_real:
        sets["real"] = real_cases(args.work, args.real_work, 0)
    out: dict = {"model": str(data), "sets": {}}
    all_rows = []
    for name, cases in sets.items():
        if not cases:
            continue
        t0 = time.perf_counter()
        results = run_fix(data, cases, args.work / "fixed")
        took = time.perf_counter() - t0
        rows = evaluate(cases, results)
        all_rows += rows
        g = goals(rows, name)
        out["sets"][name] = {"goals": g, "fix_seconds": took, "rows": rows}
        print(f"\n{name}: {len(cases)} clips fixed in {took:.0f} s")
        print("\n".join(table(rows, name)))
        show_goals(g)
    first = next(c["path"] for c in sets["synthetic"] if 4.5 < sf.info(c["path"]).duration < 6)
    out["startup"] = startup(data, first)
    print(f"\nstart-up: clarity fix FILE ({out['startup']['seconds']:.1f} s file): median "
          f"{out['startup']['median_s']:.2f} s, best {out['startup']['min_s']:.2f} s")
    report_spectra(data, all_rows)
    (args.work / "fix_results.json").write_text(json.dumps(out, indent=1, default=float))
    print(f"-> {args.work / 'fix_results.json'}, {data / 'reports' / 'fix_spectra.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
