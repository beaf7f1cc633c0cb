"""dataset_generator.py / clarity dataset: every seed flag, on audio the tests make."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import digest, snapshot, tone, write_tone
from ngn_clarity import taxonomy
from ngn_clarity.steps import ingest, suno, validate
from ngn_clarity.cli import main
from ngn_clarity.layout import Layout
from ngn_clarity.records import read_record

REPO = Path(__file__).resolve().parents[1]


# --- init ----------------------------------------------------------------------------------

def test_init_creates_the_seed_tree_idempotently(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["dataset", "--init", "--data-dir", str(data)]) == 0
    for sub in taxonomy.SUBSETS:
        for inst in taxonomy.INSTRUMENTS:
            assert (data / "raw" / sub / inst).is_dir()
            assert (data / "processed" / sub / inst).is_dir()
    assert (data / "features").is_dir()
    marker = data / "raw" / "gold" / "drums" / "kick_001.wav"
    write_tone(marker)
    before = digest(marker)
    assert main(["dataset", "--init", "--data-dir", str(data)]) == 0
    assert "0 folder(s) created" in capsys.readouterr().out
    assert digest(marker) == before


def test_data_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CLARITY_DATA_DIR", str(tmp_path / "envdata"))
    assert main(["dataset", "--init", "-q"]) == 0
    assert (tmp_path / "envdata" / "raw" / "flawed" / "keys").is_dir()


# --- import-gold ---------------------------------------------------------------------------

def _gold_library(root: Path) -> Path:
    write_tone(root / "Drums" / "Kick" / "Kick 1.wav", freq=60)
    write_tone(root / "Drums" / "Snare Top.wav", freq=200)
    write_tone(root / "Vocals" / "Lead.wav", freq=300)
    write_tone(root / "Bass DI.flac", freq=80)
    write_tone(root / "Keys" / "Rhodes.aiff", freq=500)
    (root / "Guitars").mkdir()
    sf.write(str(root / "Guitars" / "Rhythm L.ogg"), tone(1.0, freq=330), 44100)
    shutil.copy(root / "Drums" / "Kick" / "Kick 1.wav", root / "Drums" / "Kick copy.wav")
    write_tone(root / "Misc" / "take 01.wav", freq=700)
    write_tone(root / "Lead.wav", freq=800)
    write_tone(root / "Drums" / "Kick muddy.wav", freq=61)
    (root / "notes.txt").write_text("not audio")
    return root


def test_import_gold_classifies_copies_and_lists_the_rest(tmp_path, layout):
    lib = _gold_library(tmp_path / "Assets" / "Targets")
    before = snapshot(lib)
    rep = ingest.import_gold(layout, lib)
    placed = {Path(d["dest"]).relative_to(layout.raw).as_posix(): d for d in rep.done}
    assert set(placed) == {"gold/drums/kick_001.wav", "gold/drums/snare_001.wav",
                           "gold/vocals/lead_001.wav", "gold/bass/bass_001.flac",
                           "gold/keys/epiano_001.aiff", "gold/guitar/rhythm_001.ogg"}
    reasons = {Path(s.path).name: s.reason for s in rep.skipped}
    already = {Path(s.path).name: s.reason for s in rep.warnings}
    assert "Kick copy.wav" not in reasons  # a copy is not a problem: it is already there
    assert already["Kick copy.wav"].startswith("already in raw/ as ")
    assert already["Kick copy.wav"].endswith("raw/gold/drums/kick_001.wav")
    assert "cannot classify: no instrument" in reasons["take 01.wav"]
    assert "could be" in reasons["Lead.wav"]
    assert "looks flawed" in reasons["Kick muddy.wav"]
    assert "not an audio file name" in reasons["notes.txt"]
    assert snapshot(lib) == before  # the library is never modified
    src = lib / "Drums" / "Kick" / "Kick 1.wav"
    assert digest(layout.raw / "gold/drums/kick_001.wav") == digest(src)
    rec = read_record(layout, "gold", "drums", "kick_001.wav")
    assert rec.original_name == "Kick 1.wav" and rec.flawed_type == "none"
    assert rec.sha256 == digest(src) and rec.origin == "import-gold"

    again = ingest.import_gold(layout, lib)  # a re-run places nothing twice ...
    assert again.done == []
    assert len(again.warnings) == 7  # ... and recognises the 7 audio files as done
    assert all(w.reason.startswith("already in raw/ as ") for w in again.warnings)
    assert "7 file(s) already in raw/" in again.notes[0]
    assert [Path(s.path).name for s in again.skipped] == [Path(s.path).name
                                                          for s in rep.skipped]


def test_import_gold_cli_reports_a_missing_source(tmp_path, capsys):
    data = tmp_path / "data"
    Layout(data).init()  # (a missing data folder is refused before the source is looked at)
    code = main(["dataset", "--import-gold", "--source", str(tmp_path / "nope"),
                 "--data-dir", str(data)])
    assert code == 1
    assert "does not exist" in capsys.readouterr().err


# --- organize-flawed -----------------------------------------------------------------------

def test_organize_flawed_parses_names_and_never_overwrites(tmp_path, layout):
    downloads = layout.downloads
    write_tone(downloads / "Kick Flawed - Overcompressed (3).wav", freq=55)
    write_tone(downloads / "vocals" / "Lead Vocal Flawed - SIBILANT.flac", freq=400)
    write_tone(downloads / "Bass flawed boomy.wav", freq=70)
    existing = write_tone(layout.raw / "flawed/drums/kick_flawed_over_compressed_001.wav",
                          freq=1000)
    os.chmod(existing, 0o444)
    existing_hash = digest(existing)
    before = snapshot(downloads)

    rep = ingest.organize_flawed(layout)
    dests = sorted(Path(d["dest"]).relative_to(layout.raw).as_posix() for d in rep.done)
    assert dests == ["flawed/bass/bass_flawed_boomy_001.wav",
                     "flawed/drums/kick_flawed_over_compressed_002.wav",
                     "flawed/vocals/lead_flawed_over_sibilant_001.flac"]
    assert digest(existing) == existing_hash  # the read-only file was not touched
    assert snapshot(downloads) == before
    rec = read_record(layout, "flawed", "drums", "kick_flawed_over_compressed_002.wav")
    assert rec.original_name == "Kick Flawed - Overcompressed (3).wav"
    assert rec.flawed_type == "over_compressed" and rec.source == "kick"
    assert rep.ok


def test_organize_flawed_move_removes_source_only_after_verified_copy(tmp_path, layout):
    src = write_tone(layout.downloads / "Snare Flawed - Harsh.wav", freq=3000)
    h = digest(src)
    assert main(["dataset", "--organize-flawed", "--move", "--data-dir",
                 str(layout.root), "-q"]) == 0
    dest = layout.raw / "flawed/drums/snare_flawed_harsh_001.wav"
    assert digest(dest) == h
    assert not src.exists()


def test_organize_flawed_keeps_source_when_the_copy_fails(tmp_path, layout, monkeypatch):
    src = write_tone(layout.downloads / "Snare Flawed - Harsh.wav", freq=3000)

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(shutil, "copyfile", denied)
    rep = ingest.organize_flawed(layout, move=True)
    assert rep.done == []
    assert "cannot copy into raw/flawed/drums/: Permission denied" in rep.skipped[0].reason
    assert src.exists()
    assert list((layout.raw / "flawed/drums").iterdir()) == []  # no half-written file


def test_bad_input_corpus_gets_a_reason_each_and_nothing_is_lost(tmp_path, layout):
    dl = layout.downloads
    dl.mkdir(parents=True)
    good = write_tone(dl / "Kick Flawed - Muddy (1).wav", freq=50)
    full = write_tone(tmp_path / "full.wav", seconds=1.0)
    raw_bytes = full.read_bytes()
    (dl / "Snare Flawed - Thin truncated.wav").write_bytes(raw_bytes[: len(raw_bytes) // 2])
    (dl / "Snare Flawed - Thin empty.wav").write_bytes(b"")
    (dl / "Snare Flawed - Thin text.wav").write_text("this is not a RIFF file\n")
    nan = tone(1.0, freq=200)
    nan[100:110] = np.nan
    sf.write(str(dl / "Snare Flawed - Thin nan.wav"), nan, 44100, subtype="FLOAT")
    sf.write(str(dl / "Snare Flawed - Thin silence.wav"), np.zeros((44100, 1)), 44100)
    write_tone(dl / "Tom Flawed - Thin (2) ..\\..\\..\\escape.wav", freq=90)  # traversal-looking
    write_tone(dl / "Snare Flawed — Harsh ☃ ünïcode (2).wav", freq=2500)
    write_tone(dl / ".hidden Kick Flawed Muddy.wav", freq=51)
    os.symlink(dl / "loop_b.wav", dl / "loop_a.wav")
    os.symlink(dl / "loop_a.wav", dl / "loop_b.wav")
    os.symlink(dl, dl / "folder loop")
    # Read-only target: a canonical file already exists and is read-only ...
    taken = write_tone(layout.raw / "flawed/drums/kick_flawed_muddy_001.wav", freq=999)
    os.chmod(taken, 0o444)
    taken_hash = digest(taken)
    # ... and the keys folder cannot be written into (it is a file, not a folder).
    shutil.rmtree(layout.raw / "flawed/keys")
    (layout.raw / "flawed/keys").write_text("in the way")
    write_tone(dl / "Piano Flawed - Dark.wav", freq=100)
    before = snapshot(dl)

    rep = ingest.organize_flawed(layout, dl / ".." / "downloads")
    reasons = {Path(s.path).name: s.reason for s in rep.skipped}
    assert "truncated file" in reasons["Snare Flawed - Thin truncated.wav"]
    assert reasons["Snare Flawed - Thin empty.wav"] == "empty file (0 bytes)"
    assert "not an audio file" in reasons["Snare Flawed - Thin text.wav"]
    assert "non-finite" in reasons["Snare Flawed - Thin nan.wav"]
    assert "digital silence" in reasons["Snare Flawed - Thin silence.wav"]
    assert "hidden" in reasons[".hidden Kick Flawed Muddy.wav"]
    assert reasons["loop_a.wav"] == reasons["loop_b.wav"] == "symbolic link loop"
    assert "already visited" in reasons["folder loop"]
    assert "target is not a folder" in reasons["Piano Flawed - Dark.wav"]
    placed = sorted(Path(d["dest"]).relative_to(layout.raw).as_posix() for d in rep.done)
    assert placed == ["flawed/drums/kick_flawed_muddy_002.wav",
                      "flawed/drums/snare_flawed_harsh_001.wav",
                      "flawed/drums/tom_flawed_thin_001.wav"]
    for d in rep.done:  # every destination is inside raw/
        assert layout.raw.resolve() in Path(d["dest"]).resolve().parents
    assert digest(taken) == taken_hash
    assert digest(layout.raw / "flawed/drums/kick_flawed_muddy_002.wav") == digest(good)
    assert snapshot(dl) == before
    leftovers = [p for p in layout.raw.rglob("*.part")]
    assert leftovers == []
    assert not rep.ok


# --- prepare-suno --------------------------------------------------------------------------

def test_prepare_suno_config_covers_every_class_with_distinct_prompts(layout):
    cfg = suno.prepare_suno(layout)
    on_disk = json.loads(layout.suno_config.read_text())
    assert on_disk == cfg
    assert cfg["targets"]["flawed_per_instrument"] == 100
    assert cfg["targets"]["keep_per_flaw"] == 5
    pairs = [(i, f) for i, spec in cfg["instruments"].items() for f in spec["flaws"]]
    assert sorted(pairs) == sorted(taxonomy.flaw_pairs())
    for inst, slug in pairs:
        spec = cfg["instruments"][inst]["flaws"][slug]
        texts = [p["prompt"] for p in spec["prompts"]]
        assert len(texts) >= 20 and len(set(texts)) == len(texts)
        assert all(p["flaw_words"] in p["prompt"] for p in spec["prompts"])
        # The download name the config asks for is one organize-flawed understands.
        example = spec["download_name"].replace("<n>", "7")
        c = taxonomy.classify(example, want_flaw=True)
        assert (c.instrument, c.flaw) == (inst, slug)
    assert suno.build_config() == cfg  # deterministic


# --- manifest ------------------------------------------------------------------------------

def test_manifest_counts_and_seed_summary(tmp_path, layout):
    write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0, sr=48000, channels=2)
    write_tone(layout.raw / "gold/bass/bass_001.wav", seconds=1.5)
    write_tone(layout.raw / "flawed/bass/bass_flawed_boomy_001.wav", seconds=1.0, freq=70)
    (layout.raw / "flawed/bass/bass_flawed_thin_001.wav").write_bytes(b"RIFF")
    assert main(["dataset", "--manifest", "--data-dir", str(layout.root), "-q"]) == 0
    m = json.loads(layout.manifest.read_text())
    assert m["summary"]["gold"] == 2 and m["summary"]["flawed"] == 1
    assert m["summary"]["total"] == 3 and m["summary"]["total_floats"] == 192
    assert m["counts"]["gold"]["drums"] == 1
    assert m["counts"]["flawed"]["bass"]["boomy"] == 1
    assert m["sample_rates"] == {"44100": 2, "48000": 1}
    kick = next(f for f in m["files"] if f["path"].endswith("kick_001.wav"))
    assert kick["channels"] == 2 and kick["duration_s"] == pytest.approx(2.0)
    assert kick["sha256"] == digest(layout.raw / "gold/drums/kick_001.wav")
    assert [Path(p["path"]).name for p in m["problems"]] == ["bass_flawed_thin_001.wav"]


# --- validate ------------------------------------------------------------------------------

def test_validate_reports_errors_and_fails(tmp_path, layout, capsys):
    good = write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0)
    sf.write(str(layout.raw / "gold/drums/kick_002.wav"), np.zeros((44100, 1)), 44100)
    nan = tone(1.5)
    nan[5] = np.inf
    sf.write(str(layout.raw / "gold/drums/kick_003.wav"), nan, 44100, subtype="FLOAT")
    write_tone(layout.raw / "gold/drums/kick_004.wav", seconds=0.05)
    loud = np.clip(tone(2.0, amp=2.0), -1, 1)
    sf.write(str(layout.raw / "gold/keys/piano_001.wav"), loud, 44100)
    shutil.copy(good, layout.raw / "flawed/drums/kick_flawed_muddy_001.wav")
    write_tone(layout.raw / "flawed/vocals/take_7.wav", seconds=2.0)
    (layout.raw / "gold/bass/readme.txt").write_text("x")
    rep = validate.validate(layout)
    by_name = {}
    for f in rep.findings:
        by_name.setdefault(Path(f.path).name, []).append((f.level, f.reason))

    def has(name, level, text):
        return any(lv == level and text in msg for lv, msg in by_name.get(name, []))

    assert has("kick_002.wav", "error", "digital silence")
    assert has("kick_003.wav", "error", "non-finite")
    assert has("kick_004.wav", "error", "too short")
    assert has("piano_001.wav", "warning", "clipping")
    assert has("kick_001.wav", "error", "same content in gold and flawed")
    assert has("take_7.wav", "error", "names no flaw")
    assert has("take_7.wav", "warning", "not a canonical name")
    assert has("readme.txt", "warning", "not an audio file name")
    assert has("drums", "warning", "gold clips (seed target 100)")
    assert not rep.ok
    assert main(["dataset", "--validate", "--data-dir", str(layout.root)]) == 1
    out = capsys.readouterr()
    assert "instrument  gold flawed" in out.out and "ERROR" in out.err


def test_validate_passes_a_clean_tree_with_only_warnings(layout):
    write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0)
    write_tone(layout.raw / "flawed/drums/kick_flawed_thin_001.wav", seconds=2.0, freq=900)
    rep = validate.validate(layout)
    assert rep.ok and rep.errors == [] and rep.warnings
    assert rep.counts["drums"] == {"gold": 1, "flawed": 1, "thin": 1}
    assert main(["dataset", "--validate", "--data-dir", str(layout.root), "-q"]) == 0


def test_validate_flags_a_missing_tree(tmp_path):
    rep = validate.validate(Layout(tmp_path / "empty"))
    assert len(rep.errors) == 10 and "missing folder" in rep.errors[0].reason


# --- all -----------------------------------------------------------------------------------

def test_all_runs_every_step_and_reports_missing_optional_inputs(tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)  # ../Assets/Targets does not exist from here
    data = tmp_path / "data"
    code = main(["dataset", "--all", "--data-dir", str(data)])
    out = capsys.readouterr().out
    assert code == 0
    assert "import-gold: ../Assets/Targets not found" in out
    assert "organize-flawed:" in out and "not found" in out
    assert (data / "suno_generation_config.json").is_file()
    assert (data / "manifest.json").is_file()


def test_all_imports_and_organizes_when_inputs_exist(tmp_path, monkeypatch):
    work = tmp_path / "Python_Training"
    work.mkdir()
    monkeypatch.chdir(work)
    write_tone(tmp_path / "Assets" / "Targets" / "Kick.wav", freq=60)
    data = work / "data"
    write_tone(data / "downloads" / "Kick Flawed - Thin (1).wav", freq=61)
    assert main(["dataset", "--all", "-q"]) == 0
    assert (data / "raw/gold/drums/kick_001.wav").is_file()
    assert (data / "raw/flawed/drums/kick_flawed_thin_001.wav").is_file()
    m = json.loads((data / "manifest.json").read_text())
    assert m["summary"]["total"] == 2


# --- command line --------------------------------------------------------------------------

def test_clarity_help_lists_every_step(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("dataset", "loudness", "normalize", "synth", "features", "run", "train",
                "export-onnx", "bench-onnx", "predict"):
        assert cmd in out


def test_each_step_has_help_and_the_common_options(capsys):
    for cmd in ("dataset", "loudness", "normalize", "features", "run", "train", "predict"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        out = capsys.readouterr().out
        assert "--quiet" in out and "--verbose" in out
        # only the commands that use a data folder offer --data-dir
        assert ("--data-dir" in out) == (cmd != "loudness"), cmd
        assert out.count("options:") == 2, cmd  # "options:" and "common options:", once each


def test_dataset_without_a_step_is_a_usage_error(tmp_path):
    assert main(["dataset", "--data-dir", str(tmp_path)]) == 2


@pytest.mark.parametrize("script, flags", [
    ("dataset_generator.py", ["--init", "--import-gold", "--prepare-suno",
                              "--organize-flawed", "--manifest", "--validate", "--all"]),
])
def test_seed_script_accepts_the_seed_flags(tmp_path, script, flags):
    out = subprocess.run([sys.executable, str(REPO / script), "--help"], capture_output=True,
                         text=True, check=True).stdout
    for flag in flags:
        assert flag in out
    res = subprocess.run([sys.executable, str(REPO / script), "--init", "--prepare-suno",
                          "--data-dir", str(tmp_path / "d")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "d" / "suno_generation_config.json").is_file()
