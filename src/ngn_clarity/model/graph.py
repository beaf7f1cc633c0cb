"""The ONNX graph around the trees: the reference inside, the decision after.

The C++ contract is one input, ``input``: float32 ``[N, F + 5]`` = the fingerprint (schema
order) then the instrument one-hot (taxonomy order). Both graphs first compute what the trees
were trained on (:func:`ngn_clarity.reference.design`): ``[x, d, dist, onehot]``, the
nearest-gold deviation from the bank ``ref_bank`` ``[M, F]`` and its instrument table
``ref_bank_instruments`` ``[5, M]`` (initializers); medians are TopK then ReduceMin (odd
counts: the middle value), neighbours TopK of the smallest distances (ties: the lower index, as
numpy's stable sort), so the graph gives the bits :mod:`ngn_clarity.reference` gives;

then the classifier's probabilities go through the temperature
(``Softmax(Log(Max(p, 1e-12)) / T)``), the instrument's class mask and the decision
(:mod:`.decision`): outputs ``label`` (a class, or ``not_sure``), ``decision`` (the class
before "not sure") and ``probabilities`` ``[N, classes]``. The regressor's trees run in
double (Cast in and out): output ``variable`` ``[N, 12]``.

``clarity calibrate`` swaps the reference's and the decision's initializers
(:func:`replace_initializers`): no tree changes, no retraining.
"""

from __future__ import annotations

import numpy as np

from .. import taxonomy
from ..reference import NEIGHBOURS, OTHER_INSTRUMENT, Reference
from .decision import NOT_SURE, Decision

INPUT = "input"
FEATURES = "features"
OPSET = 17


def _const(name: str, value) -> object:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value), name)


def reference_initializers(ref: Reference) -> list:
    """The reference as named initializers (what calibrate replaces)."""
    onehot = np.stack([(ref.bank_instrument == k).astype(np.float32)
                       for k in range(len(taxonomy.INSTRUMENTS))])
    return [_const("ref_bank", ref.bank.astype(np.float32)),
            _const("ref_bank_instruments", onehot),
            _const("ref_has_bank", ref.has_bank[:, None].astype(np.float32)),
            _const("ref_match", ref.match)]


def _median(node, x: str, k: int, axis: int, out: str, keepdims: int) -> list:
    """``out`` = the median of ``k`` (odd) values along ``axis``: the (k//2 + 1) largest,
    then their minimum."""
    return [node("TopK", [x, f"k{k // 2 + 1}"], [f"{out}_top", f"{out}_topi"], axis=axis,
                 largest=1),
            node("ReduceMin", [f"{out}_top"], [out], axes=[axis], keepdims=keepdims)]


def preprocessing(n_features: int) -> tuple[list, list]:
    """Nodes ``input`` -> ``features`` and their constant initializers (not the reference's)."""
    from onnx import helper

    node = helper.make_node
    f, n_inst = n_features, len(taxonomy.INSTRUMENTS)
    consts = [_const("x_start", np.array([0], np.int64)),
              _const("x_end", np.array([f], np.int64)),
              _const("oh_end", np.array([f + n_inst], np.int64)),
              _const("axis1", np.array([1], np.int64)),
              _const("axis0", np.array([0], np.int64)),
              _const("one", np.float32(1.0)), _const("other", OTHER_INSTRUMENT)]
    # TopK sizes: the neighbours, and the medians of 5 neighbours, 9 or 11 match features
    for k in sorted({NEIGHBOURS, NEIGHBOURS // 2 + 1, 5, 6}):
        consts.append(_const(f"k{k}", np.array([k], np.int64)))
    nodes = [
        node("Slice", [INPUT, "x_start", "x_end", "axis1"], ["x"]),
        node("Slice", [INPUT, "x_end", "oh_end", "axis1"], ["oh"]),
        node("Gather", ["x", "ref_match"], ["xm"], axis=1),
        node("Gather", ["ref_bank", "ref_match"], ["bm"], axis=1),
        node("Unsqueeze", ["xm", "axis1"], ["xm3"]),
        node("Unsqueeze", ["bm", "axis0"], ["bm3"]),
        node("Sub", ["xm3", "bm3"], ["diff"]),
    ]
    return nodes, consts


def _match_median(n_match: int) -> list:
    from onnx import helper

    node = helper.make_node
    nodes = _median(node, "diff", n_match, 2, "offset", 1)
    nodes += [node("Sub", ["diff", "offset"], ["centred"]),
              node("Abs", ["centred"], ["spread"])]
    nodes += _median(node, "spread", n_match, 2, "score", 0)
    nodes += [
        node("MatMul", ["oh", "ref_bank_instruments"], ["same"]),
        node("MatMul", ["oh", "ref_has_bank"], ["own"]),
        node("Sub", ["one", "same"], ["elsewhere"]),
        node("Mul", ["elsewhere", "own"], ["foreign"]),
        node("Mul", ["foreign", "other"], ["penalty"]),
        node("Add", ["score", "penalty"], ["distance"]),
        node("TopK", ["distance", f"k{NEIGHBOURS}"], ["nn_distance", "nn_index"], axis=1,
             largest=0),
        node("Gather", ["ref_bank", "nn_index"], ["neighbours"], axis=0),
    ]
    nodes += _median(node, "neighbours", NEIGHBOURS, 1, "nearest", 0)
    nodes += [node("Sub", ["x", "nearest"], ["d"])]
    nodes += _median(node, "nn_distance", NEIGHBOURS, 1, "dist", 1)
    nodes += [node("Concat", ["x", "d", "dist", "oh"], [FEATURES], axis=1)]
    return nodes


def decision_nodes(classes: list[str]) -> tuple[list, list]:
    """Nodes ``probabilities_raw`` -> ``probabilities``, ``decision``, ``label`` (the
    temperature, mask, thresholds and set threshold are initializers)."""
    from onnx import helper

    node = helper.make_node
    none = classes.index(taxonomy.NO_FLAW)
    keep = np.ones(len(classes), np.float32)
    keep[none] = 0.0
    consts = [_const("eps", np.float32(1e-12)), _const("reduce1", np.array([1], np.int64)),
              _const("keep_flaws", keep), _const("drop_none", 1.0 - keep),
              _const("none_index", np.array(none, np.int64)),
              _const("not_sure_index", np.array(len(classes), np.int64)),
              _const("class_names", np.array([*classes, NOT_SURE], dtype=object)),
              _const("one_f", np.float32(1.0))]
    nodes = [
        node("Max", ["probabilities_raw", "eps"], ["p_floor"]),
        node("Log", ["p_floor"], ["log_p"]),
        node("Div", ["log_p", "temperature"], ["scaled"]),
        node("Softmax", ["scaled"], ["calibrated"], axis=1),
        node("MatMul", ["oh", "class_mask"], ["allowed"]),
        node("Mul", ["calibrated", "allowed"], ["p_allowed"]),
        node("ReduceSum", ["p_allowed", "reduce1"], ["p_total"], keepdims=1),
        node("Div", ["p_allowed", "p_total"], ["probabilities"]),
        node("Gather", ["probabilities", "none_index"], ["p_none"], axis=1),
        node("MatMul", ["oh", "none_thresholds"], ["threshold_2d"]),
        node("Squeeze", ["threshold_2d", "reduce1"], ["threshold"]),
        node("GreaterOrEqual", ["p_none", "threshold"], ["is_none"]),
        node("Mul", ["probabilities", "keep_flaws"], ["p_flaws_kept"]),
        node("Sub", ["p_flaws_kept", "drop_none"], ["p_flaws"]),
        node("ArgMax", ["p_flaws"], ["best_flaw"], axis=1, keepdims=0),
        node("Where", ["is_none", "none_index", "best_flaw"], ["decided"]),
        node("GreaterOrEqual", ["probabilities", "set_threshold"], ["in_set"]),
        node("Cast", ["in_set"], ["in_set_f"], to=1),
        node("ReduceSum", ["in_set_f", "reduce1"], ["set_size"], keepdims=0),
        node("Equal", ["set_size", "one_f"], ["singleton"]),
        node("Unsqueeze", ["decided", "reduce1"], ["decided_2d"]),
        node("GatherElements", ["in_set_f", "decided_2d"], ["decided_in_2d"], axis=1),
        node("Squeeze", ["decided_in_2d", "reduce1"], ["decided_in"]),
        node("Equal", ["decided_in", "one_f"], ["decided_is_in"]),
        node("And", ["singleton", "decided_is_in"], ["sure"]),
        node("Where", ["sure", "decided", "not_sure_index"], ["answer"]),
        node("Gather", ["class_names", "answer"], ["label"], axis=0),
        node("Gather", ["class_names", "decided"], ["decision"], axis=0),
    ]
    return nodes, consts


def decision_initializers(decision: Decision, temperature: float) -> list:
    """The decision's tunable numbers as named initializers (what calibrate replaces)."""
    return [_const("temperature", np.float32(temperature)),
            _const("class_mask", decision.mask),
            _const("none_thresholds", decision.thresholds.astype(np.float32)[:, None]),
            _const("set_threshold", np.float32(decision.set_threshold))]


def _splice(tree_model, head: list, head_consts: list, tail: list, tail_consts: list,
            inputs: list, outputs: list):
    """``tree_model``'s nodes between ``head`` and ``tail``, with new inputs and outputs."""
    g = tree_model.graph
    nodes = [*head, *g.node, *tail]
    inits = [*head_consts, *g.initializer, *tail_consts]
    del g.node[:], g.initializer[:], g.input[:], g.output[:], g.value_info[:]
    g.node.extend(nodes)
    g.initializer.extend(inits)
    g.input.extend(inputs)
    g.output.extend(outputs)
    return tree_model


def _rename_outputs(g, mapping: dict[str, str]) -> None:
    for n in g.node:
        n.output[:] = [mapping.get(o, o) for o in n.output]
        n.input[:] = [mapping.get(i, i) for i in n.input]


def _head(ref: Reference | None, n_features: int) -> tuple[list, list]:
    """Nodes and initializers ``input`` -> ``features``: the reference comparison, or (no
    reference) the one-hot split off and ``features`` = ``input``."""
    from onnx import helper

    head, consts = preprocessing(n_features)
    if ref is None:
        return head[:2] + [helper.make_node("Identity", [INPUT], [FEATURES])], consts
    return head + _match_median(len(ref.match)), [*consts, *reference_initializers(ref)]


def classifier_graph(tree_model, ref: Reference | None, decision: Decision,
                     temperature: float, n_features: int):
    """The classifier's ONNX model (the converted trees take ``features``); ``ref`` None:
    the trees take the input rows as they are."""
    from onnx import TensorProto, helper

    _rename_outputs(tree_model.graph, {"probabilities": "probabilities_raw",
                                       "label": "tree_label"})
    head, head_consts = _head(ref, n_features)
    tail, tail_consts = decision_nodes(decision.classes)
    n_classes = len(decision.classes)
    model = _splice(
        tree_model, head, head_consts, tail,
        [*tail_consts, *decision_initializers(decision, temperature)],
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT,
                                       [None, n_features + len(taxonomy.INSTRUMENTS)])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, [None]),
         helper.make_tensor_value_info("decision", TensorProto.STRING, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                       [None, n_classes])])
    _drop_unused(model)
    return model


def regressor_graph(tree_model, ref: Reference | None, n_features: int, n_out: int):
    """The regressor's ONNX model: the trees (converted for double ``features_double``) in
    double precision between two Casts."""
    from onnx import TensorProto, helper

    (out,) = [o.name for o in tree_model.graph.output]
    _rename_outputs(tree_model.graph, {out: "variable_double"})
    head, head_consts = _head(ref, n_features)
    head.append(helper.make_node("Cast", [FEATURES], ["features_double"],
                                 to=TensorProto.DOUBLE))
    tail = [helper.make_node("Cast", ["variable_double"], ["variable"], to=TensorProto.FLOAT)]
    model = _splice(
        tree_model, head, head_consts, tail, [],
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT,
                                       [None, n_features + len(taxonomy.INSTRUMENTS)])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, n_out])])
    _drop_unused(model)
    return model


def _drop_unused(model) -> None:
    """Remove initializers no node reads (a median helper constant a schema does not use)."""
    used = {i for n in model.graph.node for i in n.input}
    keep = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def replace_initializers(data: bytes, new: list) -> bytes:
    """The serialized model ``data`` with the initializers of the same names as ``new``
    replaced (others kept): a calibrated reference or decision, trees untouched."""
    import onnx

    model = onnx.load_from_string(data)
    names = {t.name for t in new}
    keep = [t for t in model.graph.initializer if t.name not in names]
    del model.graph.initializer[:]
    model.graph.initializer.extend([*keep, *new])
    return model.SerializeToString()
