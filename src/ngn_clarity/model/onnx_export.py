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

from .. import taxonomy
from ..fsutil import atomic_path, atomic_write_json
from ..layout import Layout
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
    """Write the ONNX files next to the sklearn models; return their paths."""
    card, clf, reg = load(layout)
    out = models_dir(layout)
    n = len(card["inputs"])
    written = []
    models = {"classifier": clf} if card["classifier_kind"] == "global" else {
        f"classifier_{inst}": m for inst, m in clf.items()}
    models["regressor"] = reg
    for name, model in models.items():
        onx = _convert(model, n)
        dest = out / f"{name}.onnx"
        with atomic_path(dest) as tmp:
            tmp.write_bytes(onx.SerializeToString())
        written.append(dest)
    card["onnx"] = {name: f"{name}.onnx" for name in models}
    card["onnx_input"] = {"name": INPUT, "shape": ["N", n], "dtype": "float32"}
    atomic_write_json(out / "model_card.json", card)
    return written


class OnnxModels:
    """The exported models in onnxruntime sessions (one thread each, for latency)."""

    def __init__(self, layout: Layout, threads: int = 1):
        import onnxruntime as ort

        out = models_dir(layout)
        self.card = json.loads((out / "model_card.json").read_text())
        if "onnx" not in self.card:
            raise FileNotFoundError(f"no ONNX models in {out}: run `clarity export-onnx`")
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

    def corrections(self, x: np.ndarray) -> np.ndarray:
        return self.sessions["regressor"].run(None, {INPUT: x})[0]


def bench_onnx(layout: Layout, calls: int = 10_000, batch: int = 1024,
               warmup: int = 200) -> dict[str, Any]:
    """Single-row latency (p50/p99 over ``calls``) and batch throughput of both models."""
    from ..features.tables import extract
    from .train import design_matrix

    models = OnnxModels(layout, threads=1)
    # real fingerprints of the model's schema (from the feature cache), not random numbers
    table = extract(layout, models.card["schema"], progress=False, write=False).table
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
    atomic_write_json(models_dir(layout) / "onnx_bench.json", result)
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
            normalized, *_ = normalize_samples(samples, sr, cfg)
        except audio.AudioError as e:
            out.append({"file": path, "error": e.reason})
            continue
        except ValueError as e:  # loudness errors (silence)
            out.append({"file": path, "error": str(e)})
            continue
        try:
            inst = instrument or _instrument_of(path)
        except taxonomy.TaxonomyError as e:
            out.append({"file": path, "error": f"cannot tell the instrument ({e}); "
                                              f"pass --instrument"})
            continue
        vec, _ = fingerprint(normalized, sr, schema)
        x = np.hstack([vec.astype(np.float32),
                       [np.float32(i == inst) for i in taxonomy.INSTRUMENTS]])[None, :]
        label, proba = models.classify(x, inst)
        corr = models.corrections(x)[0]
        out.append({"file": path, "instrument": inst, "flaw": str(label[0]),
                    "confidence": round(float(proba[0].max()), 4),
                    "corrections": {k: round(float(v), 3)
                                    for k, v in zip(models.card["corrections"], corr)}})
    return out


def _instrument_of(path: str) -> str:
    """Instrument from the file's name and nearest folders (raises TaxonomyError)."""
    p = Path(path)
    for part in reversed(p.parent.parts[-2:]):  # raw/<subset>/<instrument>/file
        if part in taxonomy.INSTRUMENTS:
            return part
    return taxonomy.classify(p.name, p.parent.parts[-2:]).instrument
