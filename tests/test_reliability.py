"""Issue 12: no silently wrong table, no lost user file, a clear reason for every fault.

Each test reproduces one way the pipeline used to end with exit 0 and a wrong result, or lose
a user's file, or die with a traceback; the long kill -9 / disk-full trials are in
test_faults.py.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from helpers import copy_raw, digest, snapshot, tone, write_tone
from ngn_clarity import audio, loudness
from ngn_clarity.cli import main
from ngn_clarity.errors import BusyError, DiskFullError, OutputError
from ngn_clarity.features.tables import load_training_table
from ngn_clarity.fsutil import DataLock
from ngn_clarity.layout import Layout
from ngn_clarity.gain import NormalizeSettings, normalize_samples
from ngn_clarity.steps.normalize import verify
from ngn_clarity.pipeline import RunSettings, run
from ngn_clarity.steps.synth import SynthSettings, synthesize

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rendered") / "data"
    synthesize(Layout(root), SynthSettings(per_instrument=2, seed=12), jobs=1, progress=False)
    return root



def _measure(path: Path) -> float:
    return loudness.measure(*audio.read(path), true_peak=False).integrated_lufs


# --- 1. a killed run with a new target leaves nothing that counts as done ----------------

def test_outputs_replaced_by_a_killed_run_are_redone_not_trusted(rendered, tmp_path):
    layout = copy_raw(rendered, tmp_path / "data")
    assert run(layout, RunSettings(jobs=1), progress=False).ok
    clean = pd.read_csv(layout.features / "features.csv")
    # What a run with --target-lufs -20 killed mid-way leaves: some outputs replaced by -20
    # LUFS versions (same size: float WAV of the same length), their state not yet written.
    replaced = sorted(layout.processed.rglob("*.wav"))[:7]
    for dest in replaced:
        rel = dest.relative_to(layout.processed)
        src = next((layout.raw / rel.parent).glob(rel.stem + ".*"))
        samples, sr = audio.read(src)
        out = normalize_samples(samples, sr, NormalizeSettings(target_lufs=-20.0)).out
        size = dest.stat().st_size
        audio.write(dest, out, sr)
        assert dest.stat().st_size == size  # the size alone cannot tell
    lines: list[str] = []
    again = run(layout, RunSettings(jobs=1), progress=False, say=lines.append)
    assert again.ok
    assert lines[2].startswith("normalize: 7 normalized, 13 up to date")
    for dest in replaced:
        assert _measure(dest) == pytest.approx(-18.0, abs=0.05)
    assert verify(layout).ok
    pd.testing.assert_frame_equal(pd.read_csv(layout.features / "features.csv"), clean)


# --- 2. one clip, one processed file, one row ----------------------------------------------

def test_clips_in_sub_folders_are_distinct_rows(tmp_path):
    layout = Layout(tmp_path / "d")
    layout.init()
    write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0, freq=60)
    write_tone(layout.raw / "gold/drums/take2/kick_001.wav", seconds=2.0, freq=90, amp=0.2)
    write_tone(layout.raw / "flawed/drums/kick_flawed_thin_001.wav", seconds=2.0, freq=400)
    assert run(layout, RunSettings(jobs=1), progress=False).ok
    df = pd.read_csv(layout.features / "features.csv")
    gold = df[df["subset"] == "gold"].set_index("file")
    assert sorted(gold.index) == ["kick_001.wav", "take2/kick_001.wav"]
    assert gold.loc["kick_001.wav", "spectral_centroid"] != pytest.approx(
        gold.loc["take2/kick_001.wav", "spectral_centroid"], rel=0.05)
    assert (layout.processed / "gold/drums/take2/kick_001.wav").is_file()
    assert len(load_training_table(layout.root)) == len(df) == 3


def test_two_clips_that_would_share_an_output_are_refused_before_any_work(tmp_path, capsys):
    layout = Layout(tmp_path / "d")
    layout.init()
    write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0, freq=60)
    write_tone(layout.raw / "gold/drums/kick_001.flac", seconds=2.0, freq=90)
    write_tone(layout.raw / "gold/drums/kick_002.wav", seconds=2.0, freq=70)
    write_tone(layout.raw / "flawed/drums/kick_flawed_thin_001.wav", seconds=2.0, freq=400)
    assert main(["run", "--data-dir", str(layout.root), "--jobs", "1", "-q"]) == 1
    err = capsys.readouterr().err
    for name in ("kick_001.wav", "kick_001.flac"):
        assert f"skipped {layout.raw}/gold/drums/{name}: kick_001.flac and kick_001.wav " \
               f"would share one processed file (processed/gold/drums/kick_001.wav)" in err
        assert err.count(f"{layout.raw}/gold/drums/{name}:") == 1  # one reason, once
    assert not (layout.processed / "gold/drums/kick_001.wav").exists()  # no work done
    df = pd.read_csv(layout.features / "features.csv")
    assert sorted(df["file"]) == ["kick_002.wav", "kick_flawed_thin_001.wav"]
    assert not df.duplicated(["file", "subset", "instrument"]).any()
    assert len(pd.read_parquet(layout.features / "features.parquet")) == len(df)


# --- 3. a clip that fails validation is in no table ----------------------------------------

def test_refused_clips_are_in_no_table_and_ready_says_why(rendered, tmp_path, capsys):
    layout = copy_raw(rendered, tmp_path / "data")
    gold = layout.raw / "gold/drums" / sorted(os.listdir(layout.raw / "gold/drums"))[0]
    write_tone(layout.raw / "gold/bass/bass_050.wav", seconds=0.05, freq=80)  # too short
    shutil.copy(gold, layout.raw / "flawed/drums/x.wav")  # no flaw in its name
    shutil.copy(gold, layout.raw / "flawed/drums/kick_flawed_thin_050.wav")  # = a gold clip
    assert main(["run", "--data-dir", str(layout.root), "--jobs", "1"]) == 1
    out, err = capsys.readouterr()
    df = pd.read_csv(layout.features / "features.csv")
    left_out = {"bass_050.wav", "x.wav", "kick_flawed_thin_050.wav", gold.name}
    assert not left_out & set(df["file"])
    assert len(df) == 20 - 1  # the gold clip with a flawed copy is out too
    assert "too short" in err and "names no flaw" in err and "same content in gold and " \
                                                              "flawed" in err
    for name in left_out:
        assert sum(line.endswith(name) or f"/{name}:" in line for line in err.splitlines()) == 1
    assert "Ready for training: ✗ (4 file(s) left out (listed above))" in out
    meta = json.loads((layout.features / "feature_metadata.json").read_text())
    assert {Path(f["file"]).name for f in meta["failures"]} == left_out
    labels = pd.read_csv(layout.features / "labels.csv")
    assert not (labels["subset"].eq("flawed") & labels["flawed_type"].eq("none")).any()


# --- 4. training on your own audio; a failed train leaves the previous model whole ----------

@pytest.fixture(scope="module")
def own_audio(tmp_path_factory, rendered) -> Layout:
    """The rendered set plus flawed clips organized from downloads (no correction vector)."""
    layout = copy_raw(rendered, tmp_path_factory.mktemp("own") / "data")
    for k, (name, freq) in enumerate((("Bass Flawed - Boomy", 70), ("Kick Flawed - Thin", 900),
                                      ("Piano Flawed - Dark", 200))):
        write_tone(layout.downloads / f"{name} ({k}).wav", seconds=2.0, freq=freq, amp=0.3)
    assert run(layout, RunSettings(jobs=2), progress=False).ok
    return layout


def _model_files(layout: Layout) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(layout.models.iterdir())}


def test_train_uses_rows_with_known_corrections_and_says_how_many(own_audio, capsys):
    layout = own_audio
    assert main(["train", "--data-dir", str(layout.root), "--n-estimators", "20",
                 "--schema", "seed", "-q"]) == 0
    m = json.loads((layout.models / "metrics.json").read_text())
    assert m["rows_without_correction"] == 3
    assert m["rows_with_correction"] == 20  # the rendered clips, not the 3
    assert m["cv"]["eq_mae_flawed_db"] is not None
    assert main(["train", "--data-dir", str(layout.root), "--n-estimators", "20",
                 "--schema", "seed"]) == 0
    assert "3 rows have none (imported flawed clips)" in capsys.readouterr().out


def test_a_failed_or_killed_train_leaves_the_previous_model_whole(own_audio, monkeypatch):
    from ngn_clarity.model import train as train_mod

    layout = own_audio
    assert main(["train", "--data-dir", str(layout.root), "--n-estimators", "10",
                 "--schema", "seed", "-q"]) == 0
    before = _model_files(layout)
    assert {"classifier.joblib", "regressor.joblib", "model_card.json", "metrics.json",
            "confusion.png"} <= set(before)

    def dies(*a, **k):
        raise RuntimeError("killed while drawing the confusion matrix")

    monkeypatch.setattr(train_mod.figures, "confusion", dies)
    with pytest.raises(RuntimeError):
        train_mod.train(layout, train_mod.TrainSettings(n_estimators=12, schema="seed"))
    assert _model_files(layout) == before
    assert [p.name for p in layout.model_versions.iterdir()] == [layout.models.resolve().name]


# --- 5. DC and infrasound are refused; a DC offset is a warning ------------------------------

@pytest.mark.parametrize("sr", [44100, 48000])
def test_audible_fraction_known_answers(sr):
    """Energy shares of known mixtures: a tone under 20 Hz and one above, DC and a tone."""
    from ngn_clarity.checks import audible_fraction

    t = np.arange(sr * 3) / sr
    low, high = np.sin(2 * np.pi * 6 * t), np.sin(2 * np.pi * 440 * t)
    assert audible_fraction(high[:, None], sr) == pytest.approx(1.0, abs=1e-3)
    assert audible_fraction(low[:, None], sr) == pytest.approx(0.0, abs=1e-3)
    assert audible_fraction((low + high)[:, None], sr) == pytest.approx(0.5, abs=2e-3)
    # DC 0.3 (power 0.09) under a 0.6 sine (power 0.18): 2/3 audible
    assert audible_fraction((0.3 + 0.6 * high)[:, None], sr) == pytest.approx(2 / 3, abs=2e-3)
    assert audible_fraction(np.zeros((sr, 1)), sr) == 0.0


def test_dc_only_clip_is_refused_and_an_offset_warned(tmp_path):
    from ngn_clarity.checks import audio_checks

    dc = np.full((44100 * 2, 1), 0.5, dtype=np.float32)
    checked = audio_checks(dc, 44100)
    assert not checked.usable
    assert checked.findings[0][1].startswith("no audible content: 100.0 % of the energy is "
                                             "DC or below 20 Hz")
    t = np.arange(44100 * 2) / 44100
    infrasound = (0.5 * np.sin(2 * np.pi * 8 * t))[:, None].astype(np.float32)
    assert not audio_checks(infrasound, 44100).usable
    sub = (0.5 * np.sin(2 * np.pi * 35 * t))[:, None].astype(np.float32)  # a low bass note
    assert audio_checks(sub, 44100).to_dict() == {"usable": True, "findings": []}
    offset = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05)[:, None].astype(np.float32)
    checked = audio_checks(offset, 44100)
    assert checked.usable
    assert checked.to_dict()["findings"] == [["warning", "DC offset of -26.0 dBFS (over -40 "
                                                         "dBFS)"]]

    layout = Layout(tmp_path / "d")
    layout.init()
    sf.write(str(layout.raw / "gold/bass/bass_001.wav"), np.full((44100, 1), 1.7, np.float32),
             44100, subtype="FLOAT")  # a constant +5 dBFS file
    write_tone(layout.raw / "gold/bass/bass_002.wav", seconds=2.0, freq=55)
    write_tone(layout.raw / "flawed/bass/bass_flawed_thin_001.wav", seconds=2.0, freq=300)
    result = run(layout, RunSettings(jobs=1), progress=False)
    assert not result.ok
    assert sorted(pd.read_csv(layout.features / "features.csv")["file"]) == [
        "bass_002.wav", "bass_flawed_thin_001.wav"]


# --- 6. only this package's own temporary files are ever removed ---------------------------
# (tests/test_pipeline.py::test_a_rerun_removes_only_its_own_stale_temporary_files)

# --- 7. outputs get the mode an ordinary write would; copies keep the source's bits ---------

def test_outputs_respect_the_umask_and_copies_keep_the_source_mode(tmp_path):
    data = tmp_path / "d"
    lib = tmp_path / "lib"
    write_tone(lib / "Kick.wav", freq=60)
    write_tone(lib / "Snare.wav", freq=200)
    os.chmod(lib / "Kick.wav", 0o444)
    os.chmod(lib / "Snare.wav", 0o750)
    write_tone(data / "raw/flawed/drums/kick_flawed_thin_001.wav", seconds=2.0, freq=500)
    script = ("import os, sys; os.umask(0o027); sys.argv = ['clarity'] + sys.argv[1:]; "
              "from ngn_clarity.cli import main; sys.exit(main())")
    for args in (["dataset", "--init", "--import-gold", "--source", str(lib)],
                 ["run", "--jobs", "1"]):
        res = subprocess.run([sys.executable, "-c", script, *args, "--data-dir", str(data),
                              "-q"], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(data / "raw/gold/drums/kick_001.wav") == 0o444
    assert mode(data / "raw/gold/drums/snare_001.wav") == 0o750
    made = [data / "processed/gold/drums/kick_001.wav", data / "features/features.csv",
            data / "features/feature_metadata.json", data / "manifest.json",
            data / "records/gold/drums/kick_001.wav.json",
            data / "features/analysis/pca.png"]
    for p in made:
        assert mode(p) == 0o640, p  # 0o666 minus the umask 027


# --- 8. two writers on one data folder --------------------------------------------------------

def test_a_second_writer_is_told_who_holds_the_folder(tmp_path, capsys):
    layout = Layout(tmp_path / "d")
    layout.init()
    write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0, freq=60)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import pathlib, sys, time; from ngn_clarity.fsutil import DataLock\n"
        f"with DataLock({str(layout.root)!r}):\n"
        "    print('held', flush=True); time.sleep(3)\n"
        f"    pathlib.Path({str(tmp_path / 'released')!r}).touch()  # the last thing it does "
        "holding the lock")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    try:
        t0 = time.monotonic()
        assert main(["run", "--data-dir", str(layout.root), "-q"]) == 1
        assert time.monotonic() - t0 < 2.0  # refused at once, no work done
        err = capsys.readouterr().err
        assert f"data folder {layout.root} is in use by pid {holder.pid}" in err
        assert not (layout.features / "features.csv").exists()
        with pytest.raises(BusyError):
            with DataLock(layout.root):
                pass
        # --wait waits for the holder, then does the work
        assert main(["normalize", "--normalize", "--wait", "--data-dir", str(layout.root),
                     "-q", "--jobs", "1"]) == 0
        assert (tmp_path / "released").exists()  # it got the lock only once the holder let go
    finally:
        holder.wait()
    # readers take no lock
    with DataLock(layout.root):
        assert main(["loudness", str(layout.raw / "gold/drums/kick_001.wav"), "-q"]) == 0


# --- 9. disk full: one line, exit 1, nothing half-written -----------------------------------

def test_disk_full_gives_one_line_and_leaves_nothing_half_written(rendered, tmp_path,
                                                                  monkeypatch, capsys):
    layout = copy_raw(rendered, tmp_path / "data")
    real_write, calls = sf.write, []

    def fills_up(path, data, *a, **k):  # libsndfile reports ENOSPC as "System error"
        calls.append(path)
        if len(calls) > 3:
            real_write(path, data[: len(data) // 3], *a, **k)
            raise sf.LibsndfileError(2, "System error.")
        real_write(path, data, *a, **k)

    monkeypatch.setattr(sf, "write", fills_up)
    monkeypatch.setattr(os, "statvfs", lambda p: os.statvfs_result((4096,) * 2 + (0,) * 8))
    assert main(["run", "--data-dir", str(layout.root), "--jobs", "1", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("no space left on device while writing ")
    assert err[0].endswith(".wav")
    assert list(layout.root.rglob("*.part")) == []
    for p in layout.processed.rglob("*.wav"):  # what is there under a real name is whole
        assert sf.info(str(p)).frames > 0
    monkeypatch.undo()
    assert run(layout, RunSettings(jobs=1), progress=False).ok  # room again: it completes
    assert verify(layout).ok


# --- 10. an output that cannot be replaced ---------------------------------------------------

@pytest.mark.parametrize("name", ["features.csv", "normalization_log.json"])
def test_an_output_that_cannot_be_replaced_is_named_in_one_line(rendered, tmp_path, name,
                                                                monkeypatch, capsys):
    layout = copy_raw(rendered, tmp_path / "data")
    real_replace = os.replace

    def immutable(src, dst, *a, **k):  # what `chattr +i` does to a rename over the file
        if Path(dst).name == name:
            raise PermissionError(1, "Operation not permitted")
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", immutable)
    assert main(["run", "--data-dir", str(layout.root), "--jobs", "1", "-q"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cannot replace {layout.features / name}: Operation not permitted"]
    assert list(layout.root.rglob("*.part")) == []


# --- 11. readers refuse what is not a regular audio file -------------------------------------

def test_readers_refuse_non_regular_files_with_the_true_reason(tmp_path, capsys):
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    (tmp_path / "kick.wav").mkdir()
    os.symlink(tmp_path / "nowhere.wav", tmp_path / "dangling.wav")
    full = write_tone(tmp_path / "full.wav", seconds=3.0)
    raw = bytearray(full.read_bytes())
    at = raw.index(b"data")
    raw[at + 4: at + 8] = (441 * 2).to_bytes(4, "little")  # the header says 0.01 s
    (tmp_path / "short_header.wav").write_bytes(bytes(raw))
    want = {"fifo.wav": "not a regular file (a FIFO, socket or device)",
            "kick.wav": "is a directory, not an audio file",
            "dangling.wav": "dangling symbolic link (its target does not exist)",
            "missing.wav": "no such file",
            "short_header.wav": "header says 441 frames, file holds 132300 (corrupt WAV "
                                "header)"}
    done = []
    worker = threading.Thread(target=lambda: done.append(main(
        ["loudness", "--json", *(str(tmp_path / n) for n in want)])), daemon=True)
    worker.start()
    worker.join(20)
    assert done == [1], "a reader hung"
    got = {Path(r["file"]).name: r["error"] for r in map(json.loads,
                                                         capsys.readouterr().out.splitlines())}
    assert got == want
    for name, reason in want.items():
        with pytest.raises(audio.AudioError, match=reason.split(" (")[0]):
            audio.read(tmp_path / name)
    # a WAV with a chunk after its data is fine
    sf.write(str(tmp_path / "tagged.wav"), tone(1.0), 44100)
    with open(tmp_path / "tagged.wav", "ab") as f:
        f.write(b"LIST" + (12).to_bytes(4, "little") + b"INFOISFT" + (0).to_bytes(4, "little"))
    assert audio.read(tmp_path / "tagged.wav")[0].shape == (44100, 1)


# --- 12. every number a flag takes is checked before work starts -----------------------------

@pytest.mark.parametrize("argv, message", [
    (["bench-onnx", "--calls", "0"], "calls must be an integer in [10, 10000000], not 0"),
    (["bench-onnx", "--batch", "0"], "batch must be an integer in [1, 1000000], not 0"),
    (["train", "--cv", "1"], "cv must be an integer in [2, 20], not 1"),
    (["train", "--n-estimators", "0"], "n-estimators must be an integer in [1, 10000]"),
    (["run", "--jobs", "0"], "jobs must be an integer in [1, 1024], not 0"),
    (["run", "--target-lufs", "3"], "target-lufs must be a number in (-70, 0), not 3.0"),
    (["normalize", "--normalize", "--target", "nan"], "target-lufs must be a number"),
    (["synth", "--per-instrument", "-1"], "per-instrument must be an integer in [0, 100000]"),
    (["run", "--augment", "x"], "'x' is not an integer"),
])
def test_out_of_range_numbers_exit_2_before_any_work(tmp_path, capsys, argv, message):
    data = tmp_path / "d"
    with pytest.raises(SystemExit) as e:
        main([*argv, "--data-dir", str(data)])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not data.exists()


@pytest.mark.parametrize("argv", [
    ["dataset", "--import-gold", "--source", "LIB"],
    ["dataset", "--organize-flawed", "--source", "LIB"],
    ["augment"], ["run"], ["train"], ["features", "--extract"], ["report"],
])
def test_a_mistyped_data_dir_is_named_and_nothing_is_created(tmp_path, capsys, argv):
    """Only `dataset --init`, `synth` and an explicit `normalize --create-dirs` start a tree
    (found by a new-user probe: the importers made raw/, records/ and a lock file)."""
    lib = tmp_path / "lib" / "Bass"
    lib.mkdir(parents=True)
    write_tone(lib / "Bass.wav", seconds=2.0)
    data = tmp_path / "dta"
    argv = [str(tmp_path / "lib") if a == "LIB" else a for a in argv]
    assert main([*argv, "--data-dir", str(data)]) == 1
    assert capsys.readouterr().err.strip().endswith(
        f"no data folder at {data} (run `clarity dataset --init` or `clarity synth` first, "
        f"or check --data-dir)")
    assert not data.exists()


def test_extract_on_a_folder_with_no_audio_says_so_and_writes_no_table(tmp_path, capsys):
    layout = Layout(tmp_path / "d")
    layout.init()
    assert main(["features", "--extract", "--data-dir", str(layout.root), "-q"]) == 1
    assert f"no audio in {layout.raw}" in capsys.readouterr().err
    assert not (layout.features / "features.csv").exists()


def test_predict_without_a_model_says_what_to_run(tmp_path, capsys):
    clip = write_tone(tmp_path / "kick.wav", seconds=1.0)
    assert main(["predict", str(clip), "--data-dir", str(tmp_path / "d")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"no trained model in {tmp_path / 'd' / 'models'}: run `clarity train` first (it "
        f"exports the ONNX models)")


def test_settings_classes_refuse_bad_values_in_the_python_api_too():
    from ngn_clarity.errors import SettingsError
    from ngn_clarity.model.train import TrainSettings

    with pytest.raises(SettingsError, match=r"cv must be an integer in \[2, 20\]"):
        TrainSettings(cv=1)
    with pytest.raises(SettingsError, match="subtype must be one of"):
        NormalizeSettings(subtype="PCM_8")
    with pytest.raises(SettingsError, match="schema must be one of"):
        TrainSettings(schema="v3")


def test_output_errors_name_the_path(tmp_path):
    from ngn_clarity.fsutil import atomic_write_text

    blocker = tmp_path / "features"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OutputError, match="cannot create folder .*features: a file is in the way"):
        atomic_write_text(blocker / "x.json", "{}")
    with pytest.raises(DiskFullError, match="no space left on device while writing"):
        raise __import__("ngn_clarity.errors", fromlist=["x"]).output_error(
            OSError(28, "No space left on device"), tmp_path / "x")
    assert snapshot(tmp_path) == {"features": (digest(blocker), os.stat(blocker).st_mode)}
