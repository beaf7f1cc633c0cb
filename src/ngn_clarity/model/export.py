"""ONNX export: the fitted models as two graphs, checked against them.

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
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import ModelError
from ..fsutil import atomic_write_json
from ..layout import Layout
from ..steps.tables import build_tables
from .artifacts import CARD, INPUT, Trained, load_trained, publish
from .evaluate import design_matrix
from .predict import session

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
#: Largest differences the export may show against the fitted models.
PARITY_TOLERANCE = 1e-4


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


def parity(trained: Trained, clf_bytes: bytes, reg_bytes: bytes | None,
           x: np.ndarray) -> dict[str, Any]:
    """ONNX Runtime against the fitted models on ``x``; raises ModelError past tolerance."""
    labels, proba = session(clf_bytes).run(None, {INPUT: x})
    want = trained.predict_proba(x)
    want_labels = np.array(trained.classes, dtype=object)[want.argmax(axis=1)]
    out = {"rows": int(len(x)), "label_mismatches": int(np.sum(labels != want_labels)),
           "probabilities_max_abs_diff": float(np.max(np.abs(proba - want)))}
    if reg_bytes is not None:
        got = session(reg_bytes).run(None, {INPUT: x})[0]
        out["corrections_max_abs_diff"] = float(np.max(np.abs(got - trained.regressor.predict(x))))
    ok = out["label_mismatches"] == 0 and out["probabilities_max_abs_diff"] <= PARITY_TOLERANCE
    if reg_bytes is not None:
        ok &= out["corrections_max_abs_diff"] <= PARITY_TOLERANCE
    if not ok:
        raise ModelError(f"the ONNX export does not match the trained models: {out}")
    return out


def export_to(out: Path, trained: Trained, x: np.ndarray) -> dict[str, Any]:
    """Write ``classifier.onnx`` and ``regressor.onnx`` into ``out``, checked against the
    fitted models.

    Parameters
    ----------
    out : Path
        The new model set's folder.
    trained : Trained
        The fitted models.
    x : np.ndarray
        Design-matrix rows to check the graphs on (the training rows).

    Returns
    -------
    dict
        The model-card fields that describe the graphs (``onnx``, ``onnx_input``,
        ``onnx_outputs``, ``onnx_parity``).

    Raises
    ------
    ModelError
        When a graph does not match the fitted model within :data:`PARITY_TOLERANCE`.
    """
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


def export_onnx(layout: Layout) -> list[Path]:
    """Export the saved models again (a new model version, swapped in whole).

    Returns
    -------
    list of Path
        The ONNX files written.
    """
    layout.require()
    with layout.lock():
        card, trained = load_trained(layout)
        table = build_tables(layout, trained.schema, progress=False, write=False).table
        x = design_matrix(table, trained.feature_names)

        def fill(out: Path) -> None:
            for name in ("classifier.onnx", "regressor.onnx", CARD):
                (out / name).unlink(missing_ok=True)
            card.update(export_to(out, trained, x))
            atomic_write_json(out / CARD, card)

        publish(layout, fill, start_from_current=True)
    return [layout.models / f for f in card["onnx"].values()]
