"""ONNX export, latency benchmark and end-to-end prediction (the C++ plug-in's path).

``export_onnx`` converts the saved forests with skl2onnx: ``classifier.onnx`` (global) or
``classifier_<instrument>.onnx`` (per instrument) with outputs ``label`` and
``probabilities`` (no ZipMap, a plain float tensor), and ``regressor.onnx`` with output
``variable`` (12 corrections). Every model takes one input ``input``: float32 ``[N, 69]`` =
the 64 fingerprint values then the instrument one-hot in taxonomy order
(drums, vocals, bass, guitar, keys); ``models/model_card.json`` lists them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from dataclasses import dataclass

from .. import taxonomy
from ..errors import AudioError, LoudnessError, ModelError
from ..fsutil import atomic_write_json, publish_version
from ..layout import Layout
from ..settings import Interval, Validated
from .train import load, models_dir

INPUT = "input"


def _convert(model, n_inputs: int):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    if hasattr(model, "classes_"):
        options, final = {id(model): {"zipmap": False}}, None
    else:  # declare the 12 outputs (skl2onnx otherwise declares [N, 1])
        options, final = None, [("variable", FloatTensorType([None, model.n_outputs_]))]
    return convert_sklearn(model, initial_types=[(INPUT, FloatTensorType([None, n_inputs]))],
                           final_types=final, options=options, target_opset=17)


def export_onnx(layout: Layout) -> list[Path]:
    """Write the ONNX files next to the sklearn models (a new model version, swapped in
    whole); return their paths."""
    layout.require()
    with layout.lock():
        card, clf, reg = load(layout)
        n = len(card["inputs"])
        models = {"classifier": clf} if card["classifier_kind"] == "global" else {
            f"classifier_{inst}": m for inst, m in clf.items()}
        if reg is not None:
            models["regressor"] = reg
        onnx = {name: _convert(model, n).SerializeToString() for name, model in models.items()}
        card["onnx"] = {name: f"{name}.onnx" for name in models}
        card["onnx_input"] = {"name": INPUT, "shape": ["N", n], "dtype": "float32"}

        def fill(out: Path) -> None:
            for name, data in onnx.items():
                (out / f"{name}.onnx").unlink(missing_ok=True)
                (out / f"{name}.onnx").write_bytes(data)
            (out / "model_card.json").unlink()
            atomic_write_json(out / "model_card.json", card)

        publish_version(layout.models, layout.model_versions, fill, start_from_current=True)
    return [layout.models / f"{name}.onnx" for name in models]


class OnnxModels:
    """The exported models in onnxruntime sessions (one thread each, for latency)."""

    def __init__(self, layout: Layout, threads: int = 1):
        import onnxruntime as ort

        out = models_dir(layout)
        try:
            self.card = json.loads((out / "model_card.json").read_text())
        except (OSError, ValueError):
            raise ModelError(f"no trained model in {out}: run `clarity train` and `clarity "
                             f"export-onnx` first") from None
        if "onnx" not in self.card:
            raise ModelError(f"no ONNX models in {out}: run `clarity export-onnx`")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only
        self.sessions = {name: ort.InferenceSession(str(out / file), opts,
                                                    providers=["CPUExecutionProvider"])
                         for name, file in self.card["onnx"].items()}

    def classifier_for(self, instrument: str):
        return self.sessions.get("classifier") or self.sessions[f"classifier_{instrument}"]

    def classify(self, x: np.ndarray, instrument: str) -> tuple[np.ndarray, np.ndarray]:
        label, proba = self.classifier_for(instrument).run(None, {INPUT: x})
        return label, proba

    def corrections(self, x: np.ndarray) -> np.ndarray | None:
        if "regressor" not in self.sessions:
            return None
        return self.sessions["regressor"].run(None, {INPUT: x})[0]


@dataclass(frozen=True)
class BenchSettings(Validated):
    calls: int = 10_000
    batch: int = 1024
    warmup: int = 200

    constraints = {"calls": Interval(int, 10, 10_000_000), "batch": Interval(int, 1, 1_000_000),
                   "warmup": Interval(int, 0, 1_000_000)}


def bench_onnx(layout: Layout, s: BenchSettings | None = None) -> dict[str, Any]:
    """Single-row latency (p50/p99 over ``calls``) and batch throughput of both models."""
    from ..features.tables import build_tables
    from .train import design_matrix

    s = s or BenchSettings()
    calls, batch, warmup = s.calls, s.batch, s.warmup
    layout.require()
    models = OnnxModels(layout, threads=1)
    # real fingerprints of the model's schema (from the feature cache), not random numbers
    table = build_tables(layout, models.card["schema"], progress=False, write=False).table
    names = models.card["inputs"][: -len(taxonomy.INSTRUMENTS)]
    x = design_matrix(table, names)
    inst = table["instrument"].to_numpy()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(x), calls)
    result: dict[str, Any] = {"calls": calls, "batch": batch, "threads": 1}
    for label, run in (("classifier", lambda i: models.classify(x[i:i + 1], inst[i])),
                       ("regressor", lambda i: models.corrections(x[i:i + 1])),
                       ("both", lambda i: (models.classify(x[i:i + 1], inst[i]),
                                           models.corrections(x[i:i + 1])))):
        for i in rows[:warmup]:
            run(i)
        lat = np.empty(calls)
        for k, i in enumerate(rows):
            t0 = time.perf_counter()
            run(i)
            lat[k] = time.perf_counter() - t0
        result[label] = {"p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 4),
                         "p99_ms": round(float(np.percentile(lat, 99)) * 1e3, 4),
                         "mean_ms": round(float(lat.mean()) * 1e3, 4)}
    xb = x[rng.integers(0, len(x), batch)]
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        models.corrections(xb)
        models.classify(xb, inst[0])
    result["batch_rows_per_s"] = round(reps * batch / (time.perf_counter() - t0), 1)
    result["goal"] = {"seed_p99_ms": 5.0, "ours_p99_ms": 0.5,
                      "met": result["both"]["p99_ms"] < 0.5}
    with layout.lock():
        publish_version(layout.models, layout.model_versions,
                        lambda out: atomic_write_json(out / "onnx_bench.json", result),
                        start_from_current=True)
    return result


def predict(layout: Layout, paths: list[str], instrument: str | None = None) -> list[dict[str, Any]]:
    """Normalize in memory, fingerprint, run the ONNX models: the plug-in's path.

    The instrument is ``instrument`` if given, else read from each file's name and folders.
    """
    from .. import audio, settings
    from ..features.extract import fingerprint
    from ..normalize import NormalizeSettings, normalize_samples

    models = OnnxModels(layout)
    schema = models.card["schema"]
    cfg = NormalizeSettings(target_lufs=settings.TARGET_LUFS)
    out = []
    for path in paths:
        try:
            samples, sr = audio.read_usable(path)
            done = normalize_samples(samples, sr, cfg)
        except (AudioError, LoudnessError) as e:
            out.append({"file": path, "error": e.reason})
            continue
        try:
            inst = instrument or _instrument_of(path)
        except taxonomy.TaxonomyError as e:
            out.append({"file": path, "error": f"cannot tell the instrument ({e}); "
                                              f"pass --instrument"})
            continue
        vec, _ = fingerprint(done.out, sr, schema, loudness_report=done.after)
        x = np.hstack([vec.astype(np.float32),
                       [np.float32(i == inst) for i in taxonomy.INSTRUMENTS]])[None, :]
        label, proba = models.classify(x, inst)
        corr = models.corrections(x)
        out.append({"file": path, "instrument": inst, "flaw": str(label[0]),
                    "confidence": round(float(proba[0].max()), 4),
                    "corrections": {} if corr is None else {
                        k: round(float(v), 3) for k, v in zip(models.card["corrections"],
                                                             corr[0])}})
    return out


def _instrument_of(path: str) -> str:
    """Instrument from the file's name and nearest folders (raises TaxonomyError)."""
    p = Path(path)
    for part in reversed(p.parent.parts[-2:]):  # raw/<subset>/<instrument>/file
        if part in taxonomy.INSTRUMENTS:
            return part
    return taxonomy.classify(p.name, p.parent.parts[-2:]).instrument
