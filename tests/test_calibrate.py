"""The decision (instrument mask, none thresholds, "not sure") and ``clarity calibrate``."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from helpers import digest
from ngn_clarity import taxonomy
from ngn_clarity.cli import main
from ngn_clarity.errors import ModelError
from ngn_clarity.layout import Layout
from ngn_clarity.model import calibrate as calmod
from ngn_clarity.model.artifacts import load_trained
from ngn_clarity.model.decision import Decision, class_mask, conformal_threshold, none_thresholds
from ngn_clarity.model.predict import OnnxModels
from ngn_clarity.model.train import TrainSettings, train
from ngn_clarity.outcome import StepReport
from ngn_clarity.pipeline import RunSettings, run
from ngn_clarity.steps.synth import SynthSettings, synthesize

CLASSES = ["none", *sorted(taxonomy.ALL_FLAW_SLUGS)]


def test_the_mask_keeps_each_instrument_to_its_own_flaws():
    d = Decision(CLASSES, np.full(5, 0.5, np.float32), 0.5)
    p = np.full((1, len(CLASSES)), 1.0 / len(CLASSES), dtype=np.float32)
    p[0, CLASSES.index("boomy")] = 0.9  # a bass flaw, on a kick
    onehot = np.eye(5, dtype=np.float32)[[taxonomy.INSTRUMENTS.index("drums")]]
    m = d.masked(p, onehot)
    allowed = {"none", *taxonomy.flaws_for("drums")}
    assert m[0, CLASSES.index("boomy")] == 0 and m.sum() == pytest.approx(1.0)
    assert {CLASSES[j] for j in np.flatnonzero(m[0])} == allowed
    assert class_mask(CLASSES).sum(axis=1).tolist() == [6.0] * 5


def test_not_sure_when_the_probabilities_are_flat():
    rng = np.random.default_rng(0)
    n, k = 3000, 6
    y = rng.integers(0, k, n)
    sharp = np.full((n, k), 0.02)
    sharp[np.arange(n), y] = 0.9
    sharp /= sharp.sum(axis=1, keepdims=True)
    threshold = conformal_threshold(sharp, y, 0.9)
    assert 0.02 < threshold <= 0.9  # the true class (0.9) is in every set, the rest not
    classes = ["none", "a", "b", "c", "d", "e"]
    d = Decision(classes, np.full(5, 1.01, np.float32), threshold)  # never none by threshold
    onehot = np.eye(5, dtype=np.float32)[[0]]
    flat = np.full((1, k), 1.0 / k, dtype=np.float32)
    clear = np.array([[0.01, 0.95, 0.01, 0.01, 0.01, 0.01]], dtype=np.float32)
    d.classes, d.set_threshold = classes, threshold
    with pytest.MonkeyPatch.context() as mp:  # a toy mask: every class allowed
        mp.setattr(Decision, "mask", property(lambda self: np.ones((5, k), np.float32)))
        assert d.labels(flat, onehot)[0] == "not_sure"
        assert d.labels(clear, onehot)[0] == "a"
        assert d.labels(flat, onehot, allow_not_sure=False)[0] in classes


def test_none_thresholds_hit_their_share_on_held_out_gold():
    rng = np.random.default_rng(1)
    inst = rng.integers(0, 5, 4000)
    p_none = rng.beta(2 + inst, 2, 4000)  # each instrument's gold looks different
    t, info = none_thresholds(p_none[:2000], inst[:2000], 0.9)
    for k in range(5):
        held = (inst[2000:] == k)
        assert np.mean(p_none[2000:][held] >= t[k]) == pytest.approx(0.9, abs=0.04)
    assert all(info["own_threshold"].values())
    few, info = none_thresholds(p_none[:30], inst[:30], 0.9, min_clips=10)
    assert not all(info["own_threshold"].values())  # too few of some: the pooled threshold


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrate")
    layout = Layout(root / "data")
    synthesize(layout, SynthSettings(per_instrument=24, flawed_per_instrument=48, seed=5),
               jobs=2, progress=False)
    assert run(layout, RunSettings(jobs=2), progress=False).ok
    train(layout, TrainSettings(cv=3, n_estimators=60, jobs=2, leave_source_out=False))
    studio = Layout(root / "studio")
    synthesize(studio, SynthSettings(per_instrument=16, flawed_per_instrument=0, seed=90),
               jobs=2, progress=False)
    halves = {}
    for name in ("a", "b"):
        for inst in taxonomy.INSTRUMENTS:
            dest = root / name / inst
            dest.mkdir(parents=True)
            files = sorted((studio.raw / "gold" / inst).iterdir())
            for f in files[(name == "b")::2]:
                shutil.copy(f, dest / f.name)
        halves[name] = root / name
    return layout, halves


def test_gold_the_model_was_trained_on_is_named(model, tmp_path, monkeypatch):
    layout, halves = model
    copy = Layout(tmp_path / "data")
    shutil.copytree(layout.root, copy.root, symlinks=True)
    _, trained = load_trained(copy)
    ref = trained.reference
    assert ref.origin.get("by") == "train"  # this test runs before any calibrates it
    rng = np.random.default_rng(0)
    picks = np.concatenate([rng.choice(np.flatnonzero(ref.bank_instrument == k), 7,
                                       replace=False) for k in range(5)])
    seen_gold = calmod.Gold(ref.bank[picks].copy(), ref.bank_instrument[picks].copy(),
                            np.array([f"f{j // 2}" for j in range(len(picks))]),
                            np.zeros((len(picks), 31)))
    assert calmod.seen_in_training(ref, seen_gold).all()
    new = calmod.read_gold(calmod.CalibrateSettings(gold=str(halves["b"])), trained.schema,
                           trained.target_lufs, StepReport("t"))
    assert not calmod.seen_in_training(ref, new).any()  # a studio's own gold
    moved = dataclasses.replace(seen_gold, x=seen_gold.x + np.float32(1e-3))
    assert not calmod.seen_in_training(ref, moved).any()
    # calibrate says so, in one line, and still calibrates
    monkeypatch.setattr(calmod, "read_gold", lambda *a, **k: seen_gold)
    done = calmod.calibrate(copy, calmod.CalibrateSettings(gold=str(halves["b"]), jobs=1))
    note = [n for n in done.report.notes if "trained on" in n]
    assert note and note[0].startswith(f"{len(picks)} of your {len(picks)} gold clips")
    _, after = load_trained(copy)
    assert not calmod.seen_in_training(after.reference, seen_gold).any()  # calibrated now


def _versions(layout: Layout) -> dict:
    return {p.name: digest(p) for p in layout.models.iterdir() if p.is_file()}


def test_calibrate_sets_thresholds_on_held_out_gold_and_keeps_the_graphs_equal(model):
    layout, halves = model
    before = _versions(layout)
    cfg = calmod.CalibrateSettings(gold=str(halves["a"]), jobs=2)
    done = calmod.calibrate(layout, cfg)
    assert done.parity["label_mismatches"] == 0 and done.parity["decision_mismatches"] == 0
    assert all(v >= 0.9 for v in done.called_none.values())  # cross-fitted, as targeted
    after = _versions(layout)
    assert after["classifier.onnx"] != before["classifier.onnx"]
    assert after["classifier.joblib"] == before["classifier.joblib"]  # no retraining
    card = json.loads((layout.models / "model_card.json").read_text())
    assert card["reference"]["by"] == "calibrate" and card["calibrations"]
    # the other half of the studio's gold, never seen: most of it is called none
    _, trained = load_trained(layout)
    rep = StepReport("t")
    gold = calmod.read_gold(calmod.CalibrateSettings(gold=str(halves["b"])), trained.schema,
                            trained.target_lufs, rep)
    x = np.hstack([gold.x, np.eye(5, dtype=np.float32)[gold.instrument]])
    labels, decisions, _ = OnnxModels(layout).classify(x)
    assert np.mean(decisions == "none") >= 0.75
    np.testing.assert_array_equal(labels, trained.predict(x))  # ONNX == Python, calibrated


def test_a_failed_calibrate_leaves_the_model_as_it_was(model, monkeypatch):
    layout, halves = model
    before, target = _versions(layout), layout.models.resolve()

    def broken(*a, **k):
        raise ModelError("injected")

    monkeypatch.setattr(calmod, "parity", broken)
    with pytest.raises(ModelError, match="injected"):
        calmod.calibrate(layout, calmod.CalibrateSettings(gold=str(halves["a"])))
    assert _versions(layout) == before and layout.models.resolve() == target


def test_calibrate_refuses_no_gold_and_one_instrument_with_a_reason(model, tmp_path, capsys):
    layout, halves = model
    (tmp_path / "empty").mkdir()
    args = ["calibrate", "--data-dir", str(layout.root), "-q", "--gold"]
    assert main([*args, str(tmp_path / "empty")]) == 1
    assert "no usable gold clips" in capsys.readouterr().err
    shutil.copytree(halves["a"] / "drums", tmp_path / "only" / "drums")
    assert main([*args, str(tmp_path / "only")]) == 1
    err = capsys.readouterr().err
    assert "vocals" in err and "--instruments" in err
    before = json.loads((layout.models / "model_card.json").read_text())["decision"]
    assert main([*args, str(tmp_path / "only"), "--instruments", "drums"]) == 0
    after = json.loads((layout.models / "model_card.json").read_text())["decision"]
    for inst in ("vocals", "bass", "guitar", "keys"):  # only drums were calibrated
        assert after["none_thresholds"][inst] == before["none_thresholds"][inst]
    assert main([*args, str(tmp_path / "nowhere")]) == 2  # a mistyped folder: usage
