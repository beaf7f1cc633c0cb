"""Phase 1B: training, grouped split, ONNX export parity, benchmark, predict."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ngn_clarity.cli import main
from ngn_clarity.features.tables import build_tables as extract
from ngn_clarity.layout import Layout
from ngn_clarity.model.onnx_export import OnnxModels, export_onnx
from ngn_clarity.model.train import (TrainSettings, design_matrix, fit_schema, grouped_split,
                                     load, predict_labels, train)
from ngn_clarity.pipeline import RunSettings, run
from ngn_clarity.records import CORRECTION_FIELDS
from ngn_clarity.synth import synthesize

SETTINGS = TrainSettings(n_estimators=60, max_depth=8, test_size=0.25, seed=1, jobs=2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("model") / "data")
    synthesize(layout, per_instrument=30, seed=21, jobs=2, progress=False)
    assert run(layout, RunSettings(jobs=2), progress=False).ok
    model = train(layout, SETTINGS)
    export_onnx(layout)
    return layout, model


def test_metrics_are_real_and_the_split_is_grouped(trained):
    layout, model = trained
    m = json.loads((layout.root / "models" / "metrics.json").read_text())
    assert set(m["schemas"]) == {"seed", "extended"}
    split = m["split"]
    assert split["groups_in_both"] == 0 and split["test_rows"] > 0
    table = extract(layout, "seed", jobs=1, progress=False, write=False).table
    train_idx, test_idx = grouped_split(table, SETTINGS.test_size, SETTINGS.seed)
    groups = table["group"].to_numpy()
    assert not set(groups[train_idx]) & set(groups[test_idx])
    # a gold clip and the flawed clip made from it share a group, so both sides hold pairs
    assert len(set(groups)) < len(groups)

    # Far above chance: the same forests on shuffled labels do much worse on the same split.
    kept = m["schemas"][m["kept"]["schema"]]
    shuffled = table.copy()
    shuffled["flawed_type"] = np.random.default_rng(0).permutation(
        shuffled["flawed_type"].to_numpy())
    baseline = fit_schema(shuffled, "seed", train_idx, test_idx, SETTINGS)
    assert kept["accuracy"] >= baseline.metrics["accuracy"] + 0.15
    for schema in ("seed", "extended"):
        sm = m["schemas"][schema]
        assert set(sm["classifier"]["variants"]) == {"global", "per_instrument"}
        cm = np.array(sm["classifier"]["variants"]["global"]["confusion_matrix"])
        assert cm.sum() == split["test_rows"]
        assert set(sm["regressor"]["mae"]) == set(CORRECTION_FIELDS)
        assert 0 <= sm["regressor"]["eq_mae_db"] < 10
    assert (layout.root / "models" / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_onnx_matches_scikit_learn_on_the_test_rows(trained):
    layout, _ = trained
    card, clf, reg = load(layout)
    table = extract(layout, card["schema"], jobs=1, progress=False, write=False).table
    _, test_idx = grouped_split(table, SETTINGS.test_size, SETTINGS.seed)
    rows = table.iloc[test_idx]
    x = design_matrix(rows, card["inputs"][:64])
    inst = rows["instrument"].to_numpy()
    onnx = OnnxModels(layout)

    from ngn_clarity.model.train import Trained

    sk = Trained(card["schema"], card["inputs"][:64], card["classifier_kind"], clf, reg)
    sk_labels, _ = predict_labels(sk, x, inst)
    for i in range(len(x)):
        label, proba = onnx.classify(x[i:i + 1], inst[i])
        forest = clf if card["classifier_kind"] == "global" else clf[inst[i]]
        assert label[0] == sk_labels[i]
        np.testing.assert_allclose(proba[0], forest.predict_proba(x[i:i + 1])[0], atol=1e-4)
    np.testing.assert_allclose(onnx.corrections(x), reg.predict(x), atol=1e-4, rtol=1e-5)


def test_bench_and_predict_cli(trained, tmp_path, capsys):
    layout, _ = trained
    assert main(["bench-onnx", "--calls", "200", "--batch", "64", "--data-dir",
                 str(layout.root), "-q"]) == 0
    bench = json.loads((layout.root / "models" / "onnx_bench.json").read_text())
    for k in ("classifier", "regressor", "both"):
        assert bench[k]["p50_ms"] > 0 and bench[k]["p99_ms"] >= bench[k]["p50_ms"]
    assert bench["batch_rows_per_s"] > 0

    clip = next((layout.raw / "flawed" / "bass").iterdir())
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    capsys.readouterr()
    code = main(["predict", str(clip), str(bad), "--json", "--data-dir", str(layout.root)])
    assert code == 1
    good, err = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    classes = json.loads((layout.root / "models" / "metrics.json").read_text())["classes"]
    assert good["instrument"] == "bass" and good["flaw"] in classes
    assert 0 < good["confidence"] <= 1 and list(good["corrections"]) == list(CORRECTION_FIELDS)
    assert "not an audio file" in err["error"]


def test_train_refuses_an_empty_data_folder(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path / "none"), "-q"]) == 1
    assert "no data folder at" in capsys.readouterr().err
    assert main(["dataset", "--init", "-q", "--data-dir", str(tmp_path / "empty")]) == 0
    assert main(["train", "--data-dir", str(tmp_path / "empty"), "-q"]) == 1
    assert "no fingerprints" in capsys.readouterr().err
    assert not (tmp_path / "empty" / "models").exists()


def test_settings_are_exposed_and_recorded(trained):
    layout, _ = trained
    m = json.loads((layout.root / "models" / "metrics.json").read_text())
    assert m["settings"]["n_estimators"] == 60 and m["settings"]["max_depth"] == 8
    assert m["settings"]["test_size"] == 0.25
    card = json.loads((layout.root / "models" / "model_card.json").read_text())
    assert len(card["inputs"]) == 69 and card["onnx_input"]["shape"] == ["N", 69]
    assert replace(SETTINGS, seed=2) != SETTINGS
