"""feature_extractor.py / clarity features: known answers, golden vectors, tables."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import tone, write_tone
from ngn_clarity import load_training_table, loudness
from ngn_clarity.cli import main
from ngn_clarity.features import schema
from ngn_clarity.features.analysis import Analysis
from ngn_clarity.features.extract import describe, fingerprint
from ngn_clarity.features.golden import SIGNALS
from ngn_clarity.steps.tables import build_tables as extract
from ngn_clarity.layout import Layout
from ngn_clarity.steps.normalize import normalize
from ngn_clarity.steps.synth import SynthSettings, synthesize

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"


# --- schema --------------------------------------------------------------------------------

def test_schemas_have_64_ordered_features_and_the_seed_header():
    seed = schema.SCHEMAS["seed"].names
    ext = schema.SCHEMAS["extended"].names
    assert len(seed) == len(ext) == 64
    assert seed[:22] == ext[:22]
    assert seed[0:2] == ["spectral_centroid", "spectral_flatness"]
    assert seed[2:15] == [f"mfcc_{i:02d}" for i in range(13)]
    assert seed[15:22] == ["crest_factor", "rms_energy", "peak_to_avg_ratio",
                           "zero_crossing_rate", "onset_strength", "integrated_lufs",
                           "loudness_range"]
    assert seed[22:] == [f"reserved_{i:02d}" for i in range(42)]
    assert schema.SCHEMAS["seed"].csv_header[:3] == ["file", "subset", "instrument"]
    from ngn_clarity.taxonomy import ALL_FLAW_SLUGS

    for spec in schema.SCHEMAS["extended"].specs[22:]:
        assert spec.reveals, spec.name  # every extended feature says which flaws it exposes
        assert set(spec.reveals) <= set(ALL_FLAW_SLUGS)


def test_each_family_computes_declared_features_and_every_schema_feature_has_one():
    """A family computes the features its specs declare (the schemas' and the measured
    candidates of :data:`specs.CANDIDATES` extended v3 was chosen from), nothing else; every
    feature of a schema is computed by the family its spec names."""
    from ngn_clarity.features.families import FAMILIES
    from ngn_clarity.features.specs import CANDIDATES, SEED_FEATURES

    a = Analysis(tone(2.0, freq=440.0), 44100)
    declared: dict[str, set[str]] = {}
    for spec in (*SEED_FEATURES, *CANDIDATES.values()):
        declared.setdefault(spec.family, set()).add(spec.name)
    assert set(declared) == set(FAMILIES)
    for fam, fn in FAMILIES.items():
        assert set(fn(a)) == declared[fam], fam
    for name in ("seed", "extended"):
        for spec in schema.SCHEMAS[name].specs:
            if spec.family:
                assert spec.name in declared[spec.family], (name, spec.name)


def test_feature_docs_match_the_schema():
    assert (REPO / "docs" / "features.md").read_text() == schema.markdown()


# --- known answers -------------------------------------------------------------------------

def test_sine_known_answers():
    x = tone(2.0, sr=44100, freq=1000.0, amp=0.5)
    v = describe(x, 44100, "seed")
    assert v["spectral_centroid"] == pytest.approx(1000.0, rel=0.01)
    assert v["crest_factor"] == pytest.approx(math.sqrt(2), abs=0.002)
    assert v["peak_to_avg_ratio"] == pytest.approx(math.pi / 2, abs=0.002)
    assert v["zero_crossing_rate"] == pytest.approx(2000 / 44100, rel=0.02)
    assert v["rms_energy"] == pytest.approx(0.5 / math.sqrt(2), rel=1e-3)
    assert v["spectral_flatness"] < 1e-3
    assert all(v[f"reserved_{i:02d}"] == 0.0 for i in range(42))


def test_sine_at_48k_stereo_goes_through_downmix_and_resampling():
    x = tone(2.0, sr=48000, freq=1000.0, amp=0.5, channels=2)
    y = Analysis(x, 48000).y
    assert len(y) == 2 * 44100
    v = describe(x, 48000)
    assert v["spectral_centroid"] == pytest.approx(1000.0, rel=0.01)
    assert v["zero_crossing_rate"] == pytest.approx(2000 / 44100, rel=0.02)


def test_white_noise_flatness_near_its_analytic_value():
    # Periodogram bins of white noise are exponential: geometric/arithmetic mean = e^-gamma.
    x = np.random.RandomState(0).standard_normal((4 * 44100, 1)).astype(np.float32) * 0.1
    v = describe(x, 44100)
    assert v["spectral_flatness"] == pytest.approx(math.exp(-0.5772156649), abs=0.02)
    assert v["crest_factor"] > 3.0


def test_square_wave_crest_factor_is_one():
    t = np.arange(2 * 44100) / 44100
    x = (0.5 * np.sign(np.sin(2 * np.pi * 100 * t + 0.1)))[:, None].astype(np.float32)
    v = describe(x, 44100)
    assert v["crest_factor"] == pytest.approx(1.0, abs=1e-3)
    assert v["peak_to_avg_ratio"] == pytest.approx(1.0, abs=1e-3)


def _librosa_frames(x: np.ndarray):
    import librosa

    a = Analysis(x, 44100)
    mag = np.abs(librosa.stft(a.y, n_fft=2048, hop_length=512, center=True, pad_mode="constant"))
    return a, mag


def test_stft_and_frame_rms_equal_librosa():
    import librosa

    x = np.random.RandomState(5).standard_normal((44100, 1)).astype(np.float32) * 0.1
    a, mag = _librosa_frames(x)
    np.testing.assert_allclose(a.mag, mag, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.rms, librosa.feature.rms(S=mag, frame_length=2048,
                                                          hop_length=512)[0], rtol=1e-5)
    np.testing.assert_allclose(
        __import__("ngn_clarity.features.analysis", fromlist=["x"]).mel_basis(),
        librosa.filters.mel(sr=44100, n_fft=2048, n_mels=128), rtol=1e-5, atol=1e-9)


def test_mfccs_equal_librosa_on_the_same_frames():
    import librosa

    x = np.random.RandomState(3).standard_normal((3 * 44100, 1)).astype(np.float32) * 0.05
    x[44100:66150] = 0.0  # a pause: inactive frames must be left out
    a, _ = _librosa_frames(x)
    ref = librosa.feature.mfcc(y=a.y, sr=44100, n_mfcc=13, n_fft=2048, hop_length=512,
                               center=True, pad_mode="constant")
    assert 0 < a.active.sum() < a.active.size
    v = describe(x, 44100)
    got = np.array([v[f"mfcc_{i:02d}"] for i in range(13)])
    np.testing.assert_allclose(got, ref[:, a.active].mean(axis=1), rtol=1e-5, atol=1e-4)


def test_centroid_flatness_zcr_and_onset_envelope_equal_librosa():
    import librosa

    x = np.random.RandomState(4).standard_normal((44100, 1)).astype(np.float32) * 0.1
    x[:11025] = 0.0
    x[30000:30100] = 0.9  # a click: an onset
    a, mag = _librosa_frames(x)
    v = describe(x, 44100)
    act = a.active
    ref = librosa.feature.spectral_centroid(S=mag, sr=44100)[0][act].mean()
    assert v["spectral_centroid"] == pytest.approx(ref, rel=1e-5)
    ref = librosa.feature.spectral_flatness(S=mag)[0][act].mean()
    assert v["spectral_flatness"] == pytest.approx(ref, rel=1e-4)
    ref = librosa.feature.zero_crossing_rate(a.y, frame_length=2048, hop_length=512)[0]
    assert v["zero_crossing_rate"] == pytest.approx(ref[act].mean(), rel=1e-6)
    ref = librosa.onset.onset_strength(S=a.mel_db, sr=44100, lag=1, max_size=1)
    np.testing.assert_allclose(a.onset_envelope, ref, rtol=1e-5, atol=1e-6)


def test_loudness_fields_equal_the_loudness_module():
    x = tone(5.0, sr=48000, freq=300.0, amp=0.2, channels=2)
    x[: 48000] *= 0.1
    r = loudness.measure(x, 48000)
    v = describe(x, 48000)
    assert v["integrated_lufs"] == r.integrated_lufs
    assert v["loudness_range"] == r.loudness_range_lu


@pytest.mark.parametrize("case", ["silence", "dc", "tiny", "impulse", "empty_quiet"])
@pytest.mark.parametrize("name", ["seed", "extended"])
def test_degenerate_inputs_give_defined_finite_values(case, name):
    x = {"silence": np.zeros((44100, 1)), "dc": np.full((44100, 1), 0.5),
         "tiny": tone(0.002, amp=0.3), "impulse": np.eye(1, 44100).T * 0.9,
         "empty_quiet": np.full((44100, 2), 1e-9)}[case].astype(np.float32)
    vec, replaced = fingerprint(x, 44100, name)
    assert vec.shape == (64,) and np.isfinite(vec).all()
    if case in ("silence", "empty_quiet"):
        assert describe(x, 44100, name)["integrated_lufs"] == -70.0


# --- golden vectors ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["seed", "extended"])
def test_golden_vectors(name):
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    assert golden["schema_version"] == schema.SCHEMAS[name].version
    assert set(golden["signals"]) == set(SIGNALS)
    tol = golden["tolerance"]
    for sig, entry in golden["signals"].items():
        samples, sr = SIGNALS[sig][1]()
        vec, _ = fingerprint(samples, sr, name)
        want = np.array([entry["features"][n] for n in schema.SCHEMAS[name].names])
        np.testing.assert_allclose(vec, want, rtol=tol["rtol"], atol=tol["atol"],
                                   err_msg=f"{name}/{sig}")


# --- tables --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def normalized(tmp_path_factory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("features") / "data")
    synthesize(layout, SynthSettings(per_instrument=2, seed=5), jobs=1, progress=False)
    write_tone(layout.raw / "gold/keys/keys_900.wav", seconds=2.0, freq=440)  # no record
    write_tone(layout.raw / "flawed/keys/Keys Dark take.wav", seconds=2.0, freq=220)
    assert normalize(layout, jobs=1, progress=False).report.ok
    return layout


def test_extract_writes_the_seed_tables(normalized):
    layout = normalized
    res = extract(layout, "seed", jobs=1, progress=False)
    assert res.report.ok and res.rows == 22
    df = pd.read_csv(layout.features / "features.csv")
    assert list(df.columns) == schema.SCHEMAS["seed"].csv_header and df.shape == (22, 67)
    assert df.iloc[:, 3:].shape[1] == 64 and np.isfinite(df.iloc[:, 3:].to_numpy()).all()
    assert (df["reserved_41"] == 0.0).all()
    pkl = pd.read_pickle(layout.features / "features.pkl")
    pd.testing.assert_frame_equal(pkl, df)  # CSV floats round-trip exactly
    assert df["integrated_lufs"].between(-18.05, -17.95).all()  # processed audio

    labels = pd.read_csv(layout.features / "labels.csv")
    assert len(labels) == 22
    gold = labels[labels["subset"] == "gold"]
    assert (gold["flawed_type"] == "none").all() and (gold["eq_60_db"] == 0.0).all()
    dark = labels[labels["file"] == "Keys Dark take.wav"].iloc[0]
    assert dark["flawed_type"] == "dark" and math.isnan(dark["eq_60_db"])
    synth_rows = labels[labels["origin"] == "synth"]
    assert len(synth_rows) == 20 and synth_rows["group"].notna().all()
    flawed_synth = synth_rows[synth_rows["subset"] == "flawed"]
    assert (flawed_synth["flawed_type"] != "none").all()
    assert flawed_synth["group"].isin(
        synth_rows.loc[synth_rows["subset"] == "gold", "group"]).all()

    table = load_training_table(layout.root)
    assert len(table) == 22 and "flawed_type" in table and "remove_jitter_ms" in table
    assert list(table.columns[:67]) == schema.SCHEMAS["seed"].csv_header
    meta = json.loads((layout.features / "feature_metadata.json").read_text())
    assert meta["schema"] == "seed" and len(meta["features"]) == 64
    assert meta["counts"]["nan"] == 0 and meta["counts"]["total_floats"] == 22 * 64
    assert meta["packages"]["librosa"] and meta["analysis"]["n_fft"] == 2048


def test_extract_extended_in_parallel_equals_serial(normalized):
    layout = normalized
    shutil.rmtree(layout.cache, ignore_errors=True)
    assert extract(layout, "extended", jobs=1, progress=False).computed == 22
    serial = pd.read_pickle(layout.features / "features.pkl")
    shutil.rmtree(layout.cache)
    assert extract(layout, "extended", jobs=2, progress=False).computed == 22
    parallel = pd.read_pickle(layout.features / "features.pkl")
    pd.testing.assert_frame_equal(serial, parallel)
    again = extract(layout, "extended", jobs=2, progress=False)  # all from the cache
    assert (again.computed, again.cached) == (0, 22)
    pd.testing.assert_frame_equal(pd.read_pickle(layout.features / "features.pkl"), serial)
    assert list(serial.columns) == schema.SCHEMAS["extended"].csv_header
    assert serial["octave_250_db"].nunique() > 1 and (serial["octave_250_db"] < 0).all()


def test_unanalysable_clip_is_listed_with_its_reason(tmp_path):
    layout = Layout(tmp_path / "d")
    layout.init()
    write_tone(layout.raw / "gold/bass/bass_001.wav", seconds=2.0, freq=60)
    write_tone(layout.raw / "gold/bass/bass_002.wav", seconds=2.0, freq=80)
    write_tone(layout.raw / "gold/bass/bass_003.wav", seconds=2.0, freq=90)
    normalize(layout, jobs=1, progress=False)
    (layout.processed / "gold/bass/bass_002.wav").write_bytes(b"RIFF....garbage")
    (layout.processed / "gold/bass/bass_003.wav").unlink()
    code = main(["features", "--extract", "--data-dir", str(layout.root), "-q", "--jobs", "1"])
    assert code == 1
    meta = json.loads((layout.features / "feature_metadata.json").read_text())
    reasons = {Path(f["file"]).name: f["reason"] for f in meta["failures"]}
    # a processed copy changed or removed after normalization is never trusted
    for name in ("bass_002.wav", "bass_003.wav"):
        assert reasons[name].startswith("no up-to-date processed copy"), reasons[name]
        assert "run `clarity normalize`" in reasons[name]
    assert len(pd.read_csv(layout.features / "features.csv")) == 1


def test_analyze_writes_statistics_and_plots(normalized):
    layout = normalized
    extract(layout, "extended", jobs=1, progress=False)
    assert main(["features", "--analyze", "--data-dir", str(layout.root), "-q"]) == 0
    out = layout.features / "analysis"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["nan"] == 0 and summary["inf"] == 0 and summary["rows"] == 22
    assert "integrated_lufs" in summary["constant_features"] or summary["constant_features"] == []
    stats = pd.read_csv(out / "stats.csv")
    assert set(stats["group_by"]) == {"all", "subset", "instrument", "flaw"}
    assert {"mean", "std", "median"} <= set(stats.columns)
    for png in ["pca.png", *(f"distributions_{i}.png" for i in
                             ("drums", "vocals", "bass", "guitar", "keys"))]:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_features_cli_json_per_file(tmp_path, capsys):
    a = write_tone(tmp_path / "a.wav", seconds=2.0, freq=1000, amp=0.5)
    bad = tmp_path / "bad.wav"
    bad.write_text("no")
    assert main(["features", str(a), str(bad), "--json", "--schema", "extended"]) == 1
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first["file"] == str(a) and list(first["features"]) == schema.SCHEMAS["extended"].names
    assert first["features"]["spectral_centroid"] == pytest.approx(1000, rel=0.01)
    assert "error" in second


def test_seed_feature_extractor_flags():
    out = subprocess.run([sys.executable, str(REPO / "feature_extractor.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--extract", "--analyze", "--all", "--schema", "--data-dir", "--jobs"):
        assert flag in out
