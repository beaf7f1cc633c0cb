"""The gold reference: profiles recover known distributions, the nearest-gold deviation finds
the right neighbours and sees a bump, and the ONNX graph computes the same bits."""

from __future__ import annotations

import numpy as np
import pytest

from ngn_clarity import reference as R
from ngn_clarity import taxonomy
from ngn_clarity.features.schema import get
from ngn_clarity.model import graph

NAMES = get("extended").names
MATCH = [NAMES.index(n) for n in R.MATCH_FEATURES]


def _onehot(inst: np.ndarray) -> np.ndarray:
    return np.eye(len(taxonomy.INSTRUMENTS), dtype=np.float32)[inst]


def _bank(n_per: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inst = np.repeat(np.arange(5), n_per)
    x = rng.normal(0, 1, (len(inst), len(NAMES))).astype(np.float32)
    x += inst[:, None].astype(np.float32) * 10  # each instrument somewhere else
    return x, inst


def test_profiles_recover_centre_and_scale_of_known_distributions():
    rng = np.random.default_rng(1)
    inst = np.repeat(np.arange(5), 4000)
    centre = rng.uniform(-20, 20, (5, len(NAMES)))
    scale = rng.uniform(0.5, 4, (5, len(NAMES)))
    x = (centre[inst] + scale[inst] * rng.standard_normal((len(inst), len(NAMES))))
    x[:, 5] = 3.0  # a constant feature: its scale is the floor, not zero
    ref = R.fit(x.astype(np.float32), inst, NAMES)
    c, s = ref.tables()
    keep = np.arange(len(NAMES)) != 5
    # the median's standard error is 1.25 sigma / sqrt(4000) = 0.02 sigma: within 0.1 sigma
    assert np.all(np.abs(c[:, keep] - centre[:, keep]) < 0.1 * scale[:, keep])
    np.testing.assert_allclose(s[:, keep], scale[:, keep], rtol=0.06)
    assert np.all(c[:, 5] == 3.0) and np.all(s[:, 5] == R.ABSOLUTE_FLOOR)
    z = R.zscores(x[:3].astype(np.float32), _onehot(inst[:3]), ref)
    np.testing.assert_allclose(z, (x[:3] - c[inst[:3]]) / s[inst[:3]], rtol=1e-5, atol=1e-5)


def test_an_instrument_without_enough_gold_gets_the_pooled_profile():
    x, inst = _bank()
    keep = (inst != 2) | (np.arange(len(inst)) % 40 < 3)  # bass: 3 gold clips only
    ref = R.fit(x[keep], inst[keep], NAMES)
    assert ref.profiles["bass"].count == 3 and ref.has_bank[2] == 0 and ref.has_bank[0] == 1
    pooled = np.median(x[keep], axis=0)
    np.testing.assert_allclose(ref.profiles["bass"].centre, pooled, rtol=1e-5)
    with pytest.raises(ValueError, match="at least"):
        R.fit(x[:3], inst[:3], NAMES)


def test_nearest_gold_ignores_level_offsets_and_shows_a_bump():
    x, inst = _bank()
    ref = R.fit(x, inst, NAMES, groups=np.arange(len(x)))
    probe = x[7].copy()  # a drums clip
    probe[MATCH] += 6.0  # 6 dB louder in every octave: the same spectrum
    probe[MATCH[2]] += 9.0  # and a 9 dB bump at 250 Hz
    d, dist = R.nearest_gold(probe[None], _onehot(inst[7:8]), ref)
    others = np.median(np.abs(x[inst == 0][:, MATCH] - x[inst == 0][:1, MATCH]), axis=1)
    assert dist[0, 0] < np.median(others)  # its neighbours are closer than a typical clip
    # the deviation is about the bump (9 dB over the offset), not the 6 dB offset
    assert d[0, MATCH[2]] - np.median(d[0, MATCH]) > 7.0
    d2, _ = R.nearest_gold(probe[None], _onehot(inst[7:8]), ref, exclude=np.array([7]))
    assert not np.allclose(d2, d)  # without its own group the neighbours change


def test_neighbours_are_of_the_clips_own_instrument():
    x, inst = _bank()
    ref = R.fit(x, inst, NAMES)
    probe = x[inst == 3][:1] + 40.0  # a guitar clip far away from everything
    d, dist = R.nearest_gold(probe, _onehot(np.array([3])), ref)
    assert dist[0, 0] < 1e6  # never a clip of another instrument (1e9 away)
    np.testing.assert_allclose(d[0], probe[0] - np.median(x[inst == 3][
        np.argsort(np.median(np.abs((probe[:, MATCH] - x[inst == 3][:, MATCH])
                                    - np.median(probe[:, MATCH] - x[inst == 3][:, MATCH],
                                                axis=1, keepdims=True)), axis=1),
                   kind="stable")[:5]], axis=0), rtol=1e-5, atol=1e-4)


def test_the_onnx_reference_gives_the_bits_numpy_gives():
    """The graph's preprocessing (input -> features) against reference.design, with ties
    (duplicated bank clips) and an instrument without a bank of its own."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    x, inst = _bank(seed=3)
    x[10] = x[11]  # a tie
    keep = (inst != 4) | (np.arange(len(inst)) % 40 < 2)  # keys: too little gold
    ref = R.fit(x[keep], inst[keep], NAMES)
    rng = np.random.default_rng(4)
    probe_inst = rng.integers(0, 5, 300)
    probe = (x[rng.integers(0, len(x), 300)] + rng.normal(0, 0.5, (300, len(NAMES)))
             ).astype(np.float32)
    rows = np.hstack([probe, _onehot(probe_inst)]).astype(np.float32)
    nodes, consts = graph.preprocessing(len(NAMES))
    nodes += graph._match_median(len(ref.match))
    width = 2 * len(NAMES) + 1 + 5
    g = helper.make_graph(
        nodes, "reference", [helper.make_tensor_value_info(graph.INPUT, TensorProto.FLOAT,
                                                           [None, len(NAMES) + 5])],
        [helper.make_tensor_value_info(graph.FEATURES, TensorProto.FLOAT, [None, width])],
        [*consts, *graph.reference_initializers(ref)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", graph.OPSET)])
    onnx.checker.check_model(model)
    got = ort.InferenceSession(model.SerializeToString()).run(None, {graph.INPUT: rows})[0]
    want = R.design(probe, _onehot(probe_inst), ref)
    np.testing.assert_array_equal(got, want)


def test_design_columns_are_named():
    x, inst = _bank()
    ref = R.fit(x, inst, NAMES)
    assert R.design(x[:2], _onehot(inst[:2]), ref).shape[1] == len(R.design_names(NAMES))
    assert R.match_features(get("seed").names) == R.SEED_MATCH_FEATURES
