"""ONNX export, latency benchmark and end-to-end prediction (the C++ plug-in's path).

Two graphs, each with one input ``input``: float32 ``[N, 69]`` = the 64 fingerprint values
in schema order, then the instrument one-hot in taxonomy order (drums, vocals, bass,
guitar, keys):

* ``classifier.onnx``: outputs ``label`` (string, [N]) and ``probabilities`` (float,
  [N, classes], in the card's ``classes`` order (the model's own, sorted), calibrated: the
  tree ensemble's
  probabilities go through ``Softmax(Log(Max(p, 1e-12)) / temperature)``, two plain nodes);
* ``regressor.onnx``: output ``variable`` (float, [N, 12]) in the card's ``corrections``
  order.

LightGBM models go through onnxmltools' converter, scikit-learn ones through skl2onnx. Every
LightGBM split threshold is written as the largest float32 not above it, so a float32
input exactly on a threshold goes the same way in ONNX Runtime as in LightGBM (rounding to
nearest can flip it). Each export is checked against the fitted models on the training
rows: labels equal, probabilities and corrections within 1e-4 (the regressor's trees run in
double precision inside the graph, see :func:`regressor_onnx`); the result is in the card.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .. import taxonomy
from ..errors import AudioError, LoudnessError, ModelError
from ..fsutil import atomic_write_json, publish_version
from ..layout import Layout
from ..records import EQ_FIELDS
from ..settings import Interval, Validated

INPUT = "input"
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
#: Largest differences the export may show against the fitted models.
PARITY_TOLERANCE = 1e-4

#: The corrections ``predict`` shows for each flaw (the others are noise for that flaw).
CORRECTIONS_FOR_FLAW: dict[str, tuple[str, ...]] = {
    **{f: EQ_FIELDS for f in ("muddy", "harsh", "nasal", "boxy", "over_sibilant", "boomy",
                              "thin", "dark")},
    "undefined": (*EQ_FIELDS, "restore_dynamics_db"),
    "over_compressed": ("restore_dynamics_db",),
    "distorted": ("remove_drive_db",),
    "sloppy_timing": ("remove_jitter_ms",),
    "ringy": (*EQ_FIELDS, "remove_reverb_wet"),
}


_registered = False


def _register_lightgbm() -> None:
    """Let skl2onnx convert LightGBM models with onnxmltools' converters."""
    global _registered
    if _registered:
        return
    import lightgbm as lgb
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    update_registered_converter(
        lgb.LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes,
        convert_lightgbm, options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
    _registered = True


def _f32_floor(t: float) -> float:
    """The largest float32 <= t: for a float32 x, ``x <= t`` iff ``x <= _f32_floor(t)``."""
    f = np.float32(t)
    if float(f) > t:
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


@contextlib.contextmanager
def _exact_lightgbm_thresholds() -> Iterator[None]:
    """While converting, replace every numerical ``<=`` threshold of the dumped LightGBM
    model by its float32 floor (onnxmltools reads the model through ``dump_booster_model``)."""
    import onnxmltools.convert.lightgbm.operator_converters.LightGbm as M

    original = M.dump_booster_model

    def exact(*a, **k):
        gbm, info = original(*a, **k)
        for tree in gbm["tree_info"]:
            stack = [tree["tree_structure"]]
            while stack:
                n = stack.pop()
                if "left_child" in n:
                    if n.get("decision_type") == "<=" and not isinstance(n["threshold"], str):
                        n["threshold"] = _f32_floor(float(n["threshold"]))
                    stack += [n["left_child"], n["right_child"]]
        return gbm, info

    M.dump_booster_model = exact
    try:
        yield
    finally:
        M.dump_booster_model = original


def _with_temperature(onx, temperature: float):
    """Replace output ``probabilities`` by ``Softmax(Log(Max(p, 1e-12)) / temperature)``."""
    from onnx import helper, numpy_helper

    g = onx.graph
    producer = next(n for n in g.node if "probabilities" in n.output)
    producer.output[list(producer.output).index("probabilities")] = "probabilities_raw"
    g.initializer.extend([
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "eps"),
        numpy_helper.from_array(np.array(temperature, dtype=np.float32), "temperature")])
    g.node.extend([
        helper.make_node("Max", ["probabilities_raw", "eps"], ["probabilities_floor"]),
        helper.make_node("Log", ["probabilities_floor"], ["log_probabilities"]),
        helper.make_node("Div", ["log_probabilities", "temperature"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["probabilities"], axis=1)])
    return onx


def classifier_onnx(classifier, n_inputs: int, temperature: float) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    _register_lightgbm()
    exact = _exact_lightgbm_thresholds() if type(classifier).__name__ == "LGBMClassifier" \
        else contextlib.nullcontext()
    with exact:
        onx = convert_sklearn(classifier,
                              initial_types=[(INPUT, FloatTensorType([None, n_inputs]))],
                              options={id(classifier): {"zipmap": False}},
                              target_opset=TARGET_OPSET)
    return _with_temperature(onx, temperature).SerializeToString()


def regressor_onnx(regressor, n_inputs: int) -> bytes:
    """The regressor as ONNX: float32 ``input`` [N, n_inputs] -> float32 ``variable``
    [N, 12], with the trees evaluated in double precision inside (Cast, tree ensemble,
    Cast). In float32 the sum over 300 trees of corrections up to 24 dB drifts by up to
    2e-4 dB from scikit-learn (measured on 1000 clips; thresholds were not the cause); in
    double it stays within 3e-6, at the same single-row latency (0.03 ms)."""
    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    n_out = regressor.n_outputs_
    onx = convert_sklearn(regressor,
                          initial_types=[("input_double", DoubleTensorType([None, n_inputs]))],
                          target_opset=TARGET_OPSET)
    g = onx.graph
    (out,) = [o.name for o in g.output]
    for node in g.node:  # the converter's own output name may be "variable": rename it
        node.output[:] = [f"{o}_double" if o == out else o for o in node.output]
    g.node.insert(0, helper.make_node("Cast", [INPUT], ["input_double"],
                                      to=TensorProto.DOUBLE))
    g.node.append(helper.make_node("Cast", [f"{out}_double"], ["variable"],
                                   to=TensorProto.FLOAT))
    del g.input[:], g.output[:]
    g.input.append(helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [None, n_inputs]))
    g.output.append(helper.make_tensor_value_info("variable", TensorProto.FLOAT,
                                                  [None, n_out]))
    return onx.SerializeToString()


def _session(data: bytes | str, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def parity(trained, clf_bytes: bytes, reg_bytes: bytes | None, x: np.ndarray) -> dict[str, Any]:
    """ONNX Runtime against the fitted models on ``x``; raises ModelError past tolerance."""
    labels, proba = _session(clf_bytes).run(None, {INPUT: x})
    want = trained.predict_proba(x)
    want_labels = np.array(trained.classes, dtype=object)[want.argmax(axis=1)]
    out = {"rows": int(len(x)), "label_mismatches": int(np.sum(labels != want_labels)),
           "probabilities_max_abs_diff": float(np.max(np.abs(proba - want)))}
    if reg_bytes is not None:
        got = _session(reg_bytes).run(None, {INPUT: x})[0]
        out["corrections_max_abs_diff"] = float(np.max(np.abs(got - trained.regressor.predict(x))))
    ok = out["label_mismatches"] == 0 and out["probabilities_max_abs_diff"] <= PARITY_TOLERANCE
    if reg_bytes is not None:
        ok &= out["corrections_max_abs_diff"] <= PARITY_TOLERANCE
    if not ok:
        raise ModelError(f"the ONNX export does not match the trained models: {out}")
    return out


def export_to(out: Path, trained, x: np.ndarray) -> dict[str, Any]:
    """Write ``classifier.onnx`` and ``regressor.onnx`` into ``out``, check them against
    the fitted models on ``x``; return the model-card fields that describe them."""
    n = x.shape[1]
    clf = classifier_onnx(trained.classifier, n, trained.temperature.t)
    reg = regressor_onnx(trained.regressor, n) if trained.regressor is not None else None
    result = parity(trained, clf, reg, x)
    (out / "classifier.onnx").write_bytes(clf)
    files = {"classifier": "classifier.onnx"}
    if reg is not None:
        (out / "regressor.onnx").write_bytes(reg)
        files["regressor"] = "regressor.onnx"
    return {"onnx": files, "onnx_input": {"name": INPUT, "shape": ["N", n], "dtype": "float32"},
            "onnx_outputs": {"classifier": ["label", "probabilities"],
                             "regressor": ["variable"]},
            "onnx_parity": result}


def _trained_from(layout: Layout):
    from .estimators import Temperature
    from .train import Trained, load

    card, clf, reg = load(layout)
    return card, Trained(card["schema"], card["inputs"][: -len(taxonomy.INSTRUMENTS)],
                         card["classifier"], clf, reg,
                         Temperature(card["calibration"]["temperature"]), card["classes"])


def export_onnx(layout: Layout) -> list[Path]:
    """Export the saved models again (a new model version, swapped in whole)."""
    from ..features.tables import build_tables
    from .evaluate import design_matrix

    layout.require()
    with layout.lock():
        card, trained = _trained_from(layout)
        table = build_tables(layout, trained.schema, progress=False, write=False).table
        x = design_matrix(table, trained.feature_names)

        def fill(out: Path) -> None:
            for name in ("classifier.onnx", "regressor.onnx", "model_card.json"):
                (out / name).unlink(missing_ok=True)
            card.update(export_to(out, trained, x))
            atomic_write_json(out / "model_card.json", card)

        publish_version(layout.models, layout.model_versions, fill, start_from_current=True)
    return [layout.models / f for f in card["onnx"].values()]


class OnnxModels:
    """The exported models in onnxruntime sessions (one thread each, for latency)."""

    def __init__(self, layout: Layout, threads: int = 1):
        out = layout.models
        try:
            self.card = json.loads((out / "model_card.json").read_text())
        except (OSError, ValueError):
            raise ModelError(f"no trained model in {out}: run `clarity train` first (it "
                             f"exports the ONNX models)") from None
        if "onnx" not in self.card:
            raise ModelError(f"no ONNX models in {out}: run `clarity export-onnx`")
        self.sessions = {name: _session(str(out / file), threads)
                         for name, file in self.card["onnx"].items()}

    def classify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        label, proba = self.sessions["classifier"].run(None, {INPUT: x})
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
    """Single-row latency (p50/p99/p99.9 over ``calls``) and batch throughput."""
    from ..features.tables import build_tables
    from .evaluate import design_matrix

    s = s or BenchSettings()
    layout.require()
    models = OnnxModels(layout, threads=1)
    # real fingerprints of the model's schema (from the feature cache), not random numbers
    table = build_tables(layout, models.card["schema"], progress=False, write=False).table
    x = design_matrix(table, models.card["inputs"][: -len(taxonomy.INSTRUMENTS)])
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(x), s.calls)
    result: dict[str, Any] = {"calls": s.calls, "batch": s.batch, "threads": 1}
    runs: dict[str, Callable[[int], Any]] = {
        "classifier": lambda i: models.classify(x[i:i + 1])}
    if "regressor" in models.sessions:
        runs["regressor"] = lambda i: models.corrections(x[i:i + 1])
        runs["both"] = lambda i: (models.classify(x[i:i + 1]), models.corrections(x[i:i + 1]))
    for label, run in runs.items():
        for i in rows[: s.warmup]:
            run(i)
        lat = np.empty(s.calls)
        for k, i in enumerate(rows):
            t0 = time.perf_counter()
            run(i)
            lat[k] = time.perf_counter() - t0
        result[label] = {q: round(float(np.percentile(lat, p)) * 1e3, 4)
                         for q, p in (("p50_ms", 50), ("p99_ms", 99), ("p999_ms", 99.9))}
        result[label]["mean_ms"] = round(float(lat.mean()) * 1e3, 4)
    xb = x[rng.integers(0, len(x), s.batch)]
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        models.classify(xb)
        models.corrections(xb)
    result["batch_rows_per_s"] = round(reps * s.batch / (time.perf_counter() - t0), 1)
    both = result.get("both", result["classifier"])
    result["goal"] = {"seed_p99_ms": 5.0, "ours_p99_ms": 0.5, "met": both["p99_ms"] < 0.5}
    with layout.lock():
        publish_version(layout.models, layout.model_versions,
                        lambda out: atomic_write_json(out / "onnx_bench.json", result),
                        start_from_current=True)
    return result


def predict(layout: Layout, paths: list[str], instrument: str | None = None,
            top: int = 3, all_corrections: bool = False) -> list[dict[str, Any]]:
    """Normalize in memory, fingerprint, run the ONNX models: the plug-in's path.

    The instrument is ``instrument`` if given, else read from each file's name and folders.
    Each result has the ``top`` classes with their calibrated probabilities, and the
    corrections the predicted flaw calls for (none for a gold-sounding clip; every one with
    ``all_corrections``).
    """
    from .. import audio
    from ..features.extract import fingerprint
    from ..normalize import NormalizeSettings, normalize_samples

    models = OnnxModels(layout)
    schema, classes = models.card["schema"], models.card["classes"]
    cfg = NormalizeSettings()
    out: list[dict[str, Any]] = []
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
            out.append({"file": path, "error": f"cannot tell the instrument ({e.reason}); "
                                              f"pass --instrument"})
            continue
        vec, _ = fingerprint(done.out, sr, schema, loudness_report=done.after)
        x = np.hstack([vec.astype(np.float32),
                       [np.float32(i == inst) for i in taxonomy.INSTRUMENTS]])[None, :]
        label, proba = models.classify(x)
        order = np.argsort(-proba[0])[:top]
        flaw = str(label[0])
        corr = models.corrections(x)
        fields = models.card["corrections"] if all_corrections else \
            CORRECTIONS_FOR_FLAW.get(flaw, ())
        out.append({"file": path, "instrument": inst, "flaw": flaw,
                    "confidence": round(float(proba[0].max()), 4),
                    "top": [{"class": classes[j], "probability": round(float(proba[0, j]), 4)}
                            for j in order],
                    "corrections": {} if corr is None else {
                        k: round(float(v), 3) for k, v in zip(models.card["corrections"],
                                                             corr[0]) if k in fields}})
    return out


def _instrument_of(path: str) -> str:
    """Instrument from the file's name and nearest folders (raises TaxonomyError)."""
    p = Path(path)
    for part in reversed(p.parent.parts[-2:]):  # raw/<subset>/<instrument>/file
        if part in taxonomy.INSTRUMENTS:
            return part
    return taxonomy.classify(p.name, p.parent.parts[-2:]).instrument


__all__ = ["BenchSettings", "CORRECTIONS_FOR_FLAW", "OnnxModels", "bench_onnx",
           "export_onnx", "export_to", "predict"]
