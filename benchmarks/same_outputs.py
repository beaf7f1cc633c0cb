"""Do two source trees give the same outputs? Tables, models and CLI behaviour, byte for byte.

    python benchmarks/same_outputs.py OLD_TREE NEW_TREE [--work DIR] [--jobs N]

Runs one scenario with each tree's ``src/`` first on ``PYTHONPATH`` (the interpreter and
libraries are this one's), in the same data folder (``DIR/data``, emptied before each), and
compares what each left behind:

* every file under the data folder at each checkpoint (after ``run --schema seed``, after
  ``run --schema extended --force``, after ``features --all --schema seed``, after ``train``
  and ``export-onnx``, after ``augment``): SHA-256 of the bytes, except that JSON files are
  compared after dropping the keys that hold a time (``created``, ``updated``) or a file's
  mtime (``output_identity``) or a digest of files that hold a time (``inputs_sha256``),
  WAV files by their decoded samples, rate and format (libsndfile stamps the time into a
  float WAV's PEAK chunk), ONNX files without their random graph name and with their
  opset list sorted, ``report.html`` after blanking its time stamp; ``cache/file_hashes.json``
  (sizes and mtimes) is left out; ``models`` is compared through its link, whatever the
  version folder is called;
* every command's exit status, stdout and stderr, with durations (``1.2 s``) blanked.

The scenario pins every choice it makes (``--schema`` everywhere, so a change of a default
schema does not count as a difference). Prints each difference and exits 1 if there is any.
Runs take about 2-4 minutes per tree on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

_TIME_KEYS = {"created", "updated", "output_identity", "inputs_sha256"}
_DURATION = re.compile(r"\d+(\.\d+)? s\b")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00")


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _TIME_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def file_digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            data = json.dumps(_strip(json.loads(data))).encode()  # key order kept
        except ValueError:
            pass
    elif path.suffix == ".wav":
        import soundfile as sf

        samples, sr = sf.read(str(path), dtype="float64", always_2d=True)
        data = samples.tobytes() + repr((sr, sf.info(str(path)).subtype)).encode()
    elif path.suffix == ".onnx":
        import onnx

        model = onnx.load_from_string(data)
        model.graph.name = ""
        opsets = sorted((o.domain, o.version) for o in model.opset_import)
        del model.opset_import[:]
        for domain, version in opsets:
            model.opset_import.add(domain=domain, version=version)
        data = model.SerializeToString(deterministic=True)
    elif path.suffix == ".html":
        data = _STAMP.sub("<time>", data.decode("utf-8")).encode()
    return hashlib.sha256(data).hexdigest()


def snapshot(data: Path) -> dict[str, str]:
    """relative path -> digest of every file below ``data`` (``models`` through its link)."""
    out: dict[str, str] = {}
    roots = [(p, p.name) for p in sorted(data.iterdir()) if p.name != ".models"]
    for root, label in roots:
        target = root.resolve() if root.is_symlink() else root
        files = [target] if target.is_file() else sorted(target.rglob("*"))
        for f in files:
            if not f.is_file() or f.name in ("file_hashes.json", ".clarity.lock"):
                continue
            rel = label if f == target else f"{label}/{f.relative_to(target).as_posix()}"
            out[rel] = file_digest(f)
    return out


def _clean(text: str) -> str:
    return _STAMP.sub("<time>", _DURATION.sub("<t> s", text))


class Scenario:
    def __init__(self, tree: Path, work: Path, jobs: int):
        self.env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONHASHSEED": "0"}
        self.env.pop("CLARITY_DATA_DIR", None)
        self.data = work / "data"
        self.work = work
        self.jobs = str(jobs)
        self.result: dict[str, Any] = {"commands": [], "snapshots": {}}

    def clarity(self, *args: str, data: bool = True) -> None:
        cmd = [sys.executable, "-m", "ngn_clarity.cli", *args]
        if data:
            cmd += ["--data-dir", str(self.data)]
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, cwd=self.work)
        self.result["commands"].append({"args": list(args), "exit": p.returncode,
                                        "stdout": _clean(p.stdout), "stderr": _clean(p.stderr)})
        print(f"  clarity {' '.join(args)} -> {p.returncode}", flush=True)

    def check(self, name: str) -> None:
        self.result["snapshots"][name] = snapshot(self.data)

    def run(self) -> dict[str, Any]:
        shutil.rmtree(self.data, ignore_errors=True)
        j = ["--jobs", self.jobs]
        c = self.clarity
        c("synth", "--per-instrument", "12", "--seed", "3", *j)
        c("dataset", "--manifest", "--validate", *j)
        c("run", "--schema", "seed", *j)
        self.check("run seed")
        c("normalize", "--verify")
        files = [str(self.data / "raw/gold/drums/kick_001.wav"),
                 str(self.data / "raw/flawed/keys/piano_flawed_dark_001.wav"),
                 str(self.data / "processed/gold/vocals/lead_001.wav")]
        files = [f for f in files if Path(f).is_file()] or [
            str(next((self.data / "raw").rglob("*.wav")))]
        c("loudness", *files, "--json", data=False)
        c("loudness", *files, data=False)
        c("features", files[0], "--json", "--schema", "seed", data=False)
        c("features", *files, "--json", "--schema", "extended", data=False)
        c("features", files[-1], "--raw", "--schema", "extended", data=False)
        c("run", "--schema", "extended", "--force", *j)
        self.check("run extended --force")
        c("features", "--all", "--schema", "seed", *j)
        self.check("features --all seed")
        c("run", "--schema", "extended", *j)
        c("train", "--cv", "3", "--schema", "extended", *j)
        c("predict", *files, "--json")
        c("predict", *files)
        c("export-onnx")
        c("report", "--force")
        self.check("train, export-onnx, report")
        c("augment", "--per-gold", "1", "--seed", "1", *j)
        self.check("augment")
        for bad in (["normalize"], ["features"], ["dataset"], ["run", "--jobs", "0"],
                    ["train", "--cv", "1"], ["synth", "--per-instrument", "-1"],
                    ["augment", "--severity", "2,1"], ["normalize", "--all", "--target", "5"]):
            c(*bad)
        c("predict", str(self.work / "missing.wav"), "--json")
        c("run", "--schema", "seed", "--data-dir", str(self.work / "nowhere"), data=False)
        return self.result


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    diffs = []
    for a, b in zip(old["commands"], new["commands"]):
        for k in ("exit", "stdout", "stderr"):
            if a[k] != b[k]:
                diffs.append(f"clarity {' '.join(a['args'])}: {k} differs\n"
                             f"--- old\n{a[k]}\n--- new\n{b[k]}")
    for name, snap in old["snapshots"].items():
        other = new["snapshots"].get(name, {})
        for rel in sorted(set(snap) | set(other)):
            if snap.get(rel) != other.get(rel):
                what = ("only in old" if rel not in other else
                        "only in new" if rel not in snap else "differs")
                diffs.append(f"[{name}] {rel}: {what}")
    return diffs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", type=Path, help="source tree (with src/) of the reference")
    p.add_argument("new", type=Path, help="source tree to compare with it")
    p.add_argument("--work", type=Path, default=Path("/tmp/clarity-same-outputs"))
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for label, tree in (("old", args.old), ("new", args.new)):
        print(f"{label}: {tree}", flush=True)
        results.append(Scenario(tree.resolve(), args.work.resolve(), args.jobs).run())
        (args.work / f"{label}.json").write_text(json.dumps(results[-1], indent=1))
    diffs = compare(*results)
    files = sum(len(s) for s in results[0]["snapshots"].values())
    print(f"\n{len(results[0]['commands'])} commands, {files} files over "
          f"{len(results[0]['snapshots'])} checkpoints compared: {len(diffs)} difference(s)")
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
