"""ONNX export: the fitted models as two graphs, checked against them.

Two graphs, each with one input ``input``: float32 ``[N, 69]`` = the 64 fingerprint values
in schema order, then the instrument one-hot in taxonomy order (drums, vocals, bass,
guitar, keys). Inside, before the trees, both compare the clip with the gold reference
(:mod:`.graph`: the deviation from the nearest gold clips of its instrument):

* ``classifier.onnx``: outputs ``label`` (string, [N]: a class of the card's ``classes``, or
  ``not_sure``), ``decision`` (the class before "not sure") and ``probabilities`` (float,
  [N, classes], in the card's ``classes`` order, calibrated by the temperature, masked to the
  instrument's own classes);
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
from . import graph
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


def _width(trained: Trained) -> int:
    """The trees' input width: ``[x, d, dist, onehot]``, or ``[x, onehot]`` without the
    gold comparison."""
    n, k = len(trained.feature_names), len(trained.decision.mask)
    return 2 * n + 1 + k if trained.compare_with_gold else n + k


def _ref(trained: Trained):
    return trained.reference if trained.compare_with_gold else None


def classifier_onnx(trained: Trained) -> bytes:
    """The classifier's graph: reference, trees (LightGBM through onnxmltools' converter,
    scikit-learn's through skl2onnx), temperature, mask and decision (:mod:`.graph`)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    classifier = trained.classifier
    _register_lightgbm()
    exact = _exact_lightgbm_thresholds() if type(classifier).__name__ == "LGBMClassifier" \
        else contextlib.nullcontext()
    n = len(trained.feature_names)
    width = _width(trained)
    with exact:
        trees = convert_sklearn(classifier,
                                initial_types=[(graph.FEATURES, FloatTensorType([None, width]))],
                                options={id(classifier): {"zipmap": False}},
                                target_opset=TARGET_OPSET)
    if list(classifier.classes_) != trained.classes:
        raise ModelError("the classifier's classes are not in the card's order")
    return graph.classifier_graph(trees, _ref(trained), trained.decision,
                                  trained.temperature.t, n).SerializeToString()


def regressor_onnx(trained: Trained) -> bytes:
    """The regressor's graph: reference, then the trees evaluated in double precision (Cast,
    tree ensemble, Cast). In float32 the sum over 300 trees of corrections up to 24 dB
    drifts by up to 2e-4 dB from scikit-learn (measured on 1000 clips; thresholds were not
    the cause); in double it stays within 3e-6, at the same single-row latency."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    n = len(trained.feature_names)
    regressor = trained.regressor
    width = _width(trained)
    trees = convert_sklearn(regressor,
                            initial_types=[("features_double", DoubleTensorType([None, width]))],
                            target_opset=TARGET_OPSET)
    return graph.regressor_graph(trees, _ref(trained), n,
                                 regressor.n_outputs_).SerializeToString()


def parity(trained: Trained, clf_bytes: bytes, reg_bytes: bytes | None,
           x: np.ndarray) -> dict[str, Any]:
    """ONNX Runtime against the fitted models on input rows ``x``: answers equal, decisions
    equal, probabilities and corrections within :data:`PARITY_TOLERANCE`; raises ModelError
    past it."""
    labels, decisions, proba = session(clf_bytes).run(None, {INPUT: x})
    want = trained.predict_proba(x)
    n = len(trained.feature_names)
    want_labels = trained.decision.labels(want, x[:, n:])
    want_decisions = trained.decision.labels(want, x[:, n:], allow_not_sure=False)
    out = {"rows": int(len(x)), "label_mismatches": int(np.sum(labels != want_labels)),
           "decision_mismatches": int(np.sum(decisions != want_decisions)),
           "probabilities_max_abs_diff": float(np.max(np.abs(proba - want)))}
    if reg_bytes is not None:
        got = session(reg_bytes).run(None, {INPUT: x})[0]
        want_corr = trained.corrections(x)
        assert want_corr is not None
        out["corrections_max_abs_diff"] = float(np.max(np.abs(got - want_corr)))
    ok = out["label_mismatches"] == 0 and out["decision_mismatches"] == 0 \
        and out["probabilities_max_abs_diff"] <= PARITY_TOLERANCE
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
    clf = classifier_onnx(trained)
    reg = regressor_onnx(trained) if trained.regressor is not None else None
    result = parity(trained, clf, reg, x)
    (out / "classifier.onnx").write_bytes(clf)
    files = {"classifier": "classifier.onnx"}
    if reg is not None:
        (out / "regressor.onnx").write_bytes(reg)
        files["regressor"] = "regressor.onnx"
    return {"onnx": files, "onnx_input": {"name": INPUT, "shape": ["N", n], "dtype": "float32"},
            "onnx_outputs": {"classifier": ["label", "decision", "probabilities"],
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
