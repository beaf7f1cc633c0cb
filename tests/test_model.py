"""Phase 1B: grouped and leave-source-out CV, calibration, ONNX parity, bench, predict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ngn_clarity import taxonomy
from ngn_clarity.cli import main
from ngn_clarity.steps.tables import build_tables
from ngn_clarity.layout import Layout
from ngn_clarity.model.evaluate import (Data, grouped_splits, out_of_fold, source_family,
                                        source_splits)
from ngn_clarity.model.predict import OnnxModels
from ngn_clarity.model.artifacts import load
from ngn_clarity.model.train import TrainSettings, train
from ngn_clarity.pipeline import RunSettings, run
from ngn_clarity.corrections import CORRECTION_FIELDS
from ngn_clarity.features.schema import get
from ngn_clarity.steps.synth import SynthSettings, synthesize

SETTINGS = TrainSettings(cv=3, n_estimators=80, seed=1, jobs=2)
FAMILIES = {"tone": ("muddy", "harsh", "nasal", "boxy", "over_sibilant", "boomy"),
            "filter": ("thin", "dark", "undefined"),
            "dynamics": ("over_compressed", "distorted"),
            "ringing and timing": ("ringy", "sloppy_timing")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("model") / "data")
    synthesize(layout, SynthSettings(per_instrument=30, flawed_per_instrument=60, seed=21),
               jobs=2, progress=False)
    assert run(layout, RunSettings(jobs=2, schema="extended"), progress=False).ok
    lines: list[str] = []
    model = train(layout, SETTINGS, say=lines.append)
    return layout, model, lines


def test_cv_metrics_are_real_and_the_folds_are_grouped(trained):
    layout, model, lines = trained
    m = json.loads((layout.models / "metrics.json").read_text())
    cv = m["cv"]
    for key in ("folds", "accuracy_mean", "accuracy_std", "gold_vs_flawed_accuracy",
                "recall", "recall_by_severity", "eq_mae_flawed_db", "confusion"):
        assert key in cv and key in m["leave_source_out"], key
    assert cv["folds"] == 3 and set(m["cv_by_model"]) == {"lgbm", "rf"}
    assert m["kept"] in ("lgbm", "rf")
    assert set(cv["recall"]) == set(m["classes"]) == set(model.classes)
    assert set(cv["recall_by_severity"]) == {"low", "mid", "high"}
    assert 0 < cv["eq_mae_flawed_db"] < 6
    assert np.array(cv["confusion"]["matrix"]).sum() == m["rows"] == 450
    table = build_tables(layout, "extended", progress=False, write=False).table
    data = Data.from_table(table, model.feature_names)
    for tr, te in grouped_splits(data, 3, SETTINGS.seed):  # no group on both sides
        assert not set(data.groups[tr]) & set(data.groups[te])
    for tr, te in source_splits(data, 3):  # no source family on both sides
        assert not set(data.families[tr]) & set(data.families[te])
    assert len(m["leave_source_out"]["families"]) >= 8
    assert any(line.startswith("leave-source-out") for line in lines)  # train says what it does


def test_the_model_beats_shuffled_labels_on_every_flaw_family(trained):
    """Out-of-fold recall of each flaw family, real labels against shuffled ones."""
    layout, model, _ = trained
    table = build_tables(layout, "extended", progress=False, write=False).table
    data = Data.from_table(table, model.feature_names)
    splits = grouped_splits(data, 3, 0)
    real = out_of_fold(data, splits, "lgbm", regress=False, n_estimators=80, jobs=2)
    shuffled = Data(**{**data.__dict__, "y": np.random.default_rng(0).permutation(data.y)})
    fake = out_of_fold(shuffled, splits, "lgbm", regress=False, n_estimators=80, jobs=2)
    classes = np.array(data.classes, dtype=object)
    for family, flaws in FAMILIES.items():
        rows = np.isin(data.y, flaws)
        got = np.mean(classes[real.proba[rows].argmax(1)] == data.y[rows])
        chance = np.mean(classes[fake.proba[rows].argmax(1)] == data.y[rows])
        assert got >= chance + 0.2, (family, got, chance)


def test_calibration_makes_confidence_mean_what_it_says(trained):
    layout, model, _ = trained
    cal = json.loads((layout.models / "metrics.json").read_text())["cv"]["calibration"]
    assert cal["ece_after"] <= cal["ece_before"]
    assert cal["ece_after"] < 0.1
    card = json.loads((layout.models / "model_card.json").read_text())
    assert card["calibration"]["temperature"] == model.temperature.t > 0


def test_onnx_matches_the_models(trained):
    layout, model, _ = trained
    card, clf, reg = load(layout)
    assert card["classes"] == model.classes and len(card["inputs"]) == 69
    assert card["onnx_parity"]["label_mismatches"] == 0
    table = build_tables(layout, card["schema"], progress=False, write=False).table
    x = Data.from_table(table, model.feature_names).x
    onnx = OnnxModels(layout)
    labels, decisions, proba = onnx.classify(x)
    want = model.predict_proba(x)
    np.testing.assert_array_equal(labels, model.predict(x))
    np.testing.assert_array_equal(decisions, model.predict(x, allow_not_sure=False))
    assert set(labels) - set(decisions) <= {"not_sure"} and (labels != decisions).any()
    np.testing.assert_allclose(proba, want, atol=1e-4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # the trees run in double inside the graph: only the final cast to float32 differs
    np.testing.assert_allclose(onnx.corrections(x), model.corrections(x), atol=1e-5, rtol=0)
    assert onnx.corrections(x).shape == (len(x), len(CORRECTION_FIELDS))
    for inst in taxonomy.INSTRUMENTS:  # never a flaw the instrument cannot have
        rows = x[:, -5 + taxonomy.INSTRUMENTS.index(inst)] == 1
        assert set(decisions[rows]) <= {"none", *taxonomy.flaws_for(inst)}, inst


def test_bench_and_predict_cli(trained, tmp_path, capsys):
    layout, model, _ = trained
    assert main(["bench-onnx", "--calls", "200", "--batch", "64", "--data-dir",
                 str(layout.root), "-q"]) == 0
    bench = json.loads((layout.models / "onnx_bench.json").read_text())
    for k in ("classifier", "regressor", "both"):
        assert 0 < bench[k]["p50_ms"] <= bench[k]["p99_ms"] <= bench[k]["p999_ms"]
    assert bench["batch_rows_per_s"] > 0

    clip = sorted((layout.raw / "flawed" / "bass").iterdir())[0]
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    capsys.readouterr()
    code = main(["predict", str(clip), str(bad), "--json", "--data-dir", str(layout.root)])
    assert code == 1
    good, err = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert good["instrument"] == "bass" and good["best_guess"] in model.classes
    assert good["flaw"] in (good["best_guess"], "not_sure") and len(good["top"]) == 3
    probs = {t["class"]: t["probability"] for t in good["top"]}
    assert list(probs.values()) == sorted(probs.values(), reverse=True)
    assert good["best_guess"] not in probs or probs[good["best_guess"]] == good["confidence"]
    from ngn_clarity.corrections import CORRECTIONS_FOR_FLAW

    assert set(good["corrections"]) == set(CORRECTIONS_FOR_FLAW.get(good["flaw"], ()))
    assert "not an audio file" in err["error"]
    assert main(["predict", str(clip), "--data-dir", str(layout.root)]) in (0, 1)
    out = capsys.readouterr().out
    assert f"{clip}: bass, flaw " in out and out.count(" 0.") >= 3  # the top 3 are shown


def _model_copy(layout: Layout, dest) -> Layout:
    """A data folder holding a copy of ``layout``'s model set (and an empty raw/)."""
    import os
    import shutil

    shutil.copytree(layout.model_versions, dest / ".models")
    os.symlink(os.readlink(layout.models), dest / "models")
    (dest / "raw").mkdir()
    return Layout(dest)


@pytest.mark.parametrize("name, damage, commands", [
    ("classifier.onnx", "truncate", ["predict", "bench-onnx"]),
    ("regressor.onnx", "truncate", ["predict", "bench-onnx"]),
    ("classifier.joblib", "truncate", ["export-onnx"]),
    ("model_card.json", "delete", ["predict", "bench-onnx", "report"]),
    ("metrics.json", "truncate", ["report"]),
])
def test_a_damaged_model_file_is_named_in_one_line(trained, tmp_path, capsys, name, damage,
                                                    commands):
    """Issue 23, defect 3: no onnxruntime traceback, no "no trained model" with exit 0."""
    layout = _model_copy(trained[0], tmp_path / "d")
    path = layout.models / name
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:200])
    clip = sorted((trained[0].raw / "gold" / "bass").iterdir())[0]
    fix = "`clarity export-onnx` or `clarity train`" if name.endswith(".onnx") \
        else "`clarity train`"
    what = "is missing" if damage == "delete" else "is damaged"
    for command in commands:
        argv = {"predict": ["predict", str(clip)], "bench-onnx": ["bench-onnx", "--calls",
                                                                  "10"]}.get(command,
                                                                            [command])
        capsys.readouterr()
        assert main([*argv, "--data-dir", str(layout.root), "-q"]) == 1, command
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(f"{path} {what} (run {fix})"), (command, err)
    if "report" in commands:
        assert f"{path} {what}" in layout.report_html.read_text()


def test_train_refuses_an_empty_data_folder(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path / "none"), "-q"]) == 1
    assert "no data folder at" in capsys.readouterr().err
    assert main(["dataset", "--init", "-q", "--data-dir", str(tmp_path / "empty")]) == 0
    assert main(["train", "--data-dir", str(tmp_path / "empty"), "-q"]) == 1
    assert "no fingerprints" in capsys.readouterr().err
    assert not (tmp_path / "empty" / "models").exists()


def test_settings_are_exposed_and_recorded(trained):
    layout, _, _ = trained
    m = json.loads((layout.models / "metrics.json").read_text())
    assert m["settings"]["cv"] == 3 and m["settings"]["n_estimators"] == 80
    version = get("extended").version
    assert m["schema"] == "extended" and m["schema_version"] == version
    card = json.loads((layout.models / "model_card.json").read_text())
    assert card["onnx_input"]["shape"] == ["N", 69] and card["schema_version"] == version
    assert card["target_lufs"] == -18.0 and card["compare_with_gold"] is True
    assert card["flaws_by_instrument"]["bass"] == list(taxonomy.flaws_for("bass"))


def test_source_families():
    assert source_family("TimGM6mb.sf2:program33", "bass", "bass") == "bass/gm bass"
    assert source_family("TimGM6mb.sf2:kit25", "kick", "drums") == "drums/gm kit"
    assert source_family("procedural:strings", "lead", "guitar") == "guitar/procedural strings"
    assert source_family(None, "kick", "drums") == "drums/source kick"
