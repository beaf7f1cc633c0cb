"""Issue 10: long stems become clips; ``clarity augment`` turns any gold library into a
labelled flawed set with exact corrections, deterministically, incrementally and safely."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import digest, processes_mentioning, snapshot, write_tone
from ngn_clarity import taxonomy
from ngn_clarity.steps.augment import AugmentSettings, augment
from ngn_clarity.cli import main
from ngn_clarity.steps.ingest import import_gold, organize_flawed
from ngn_clarity.segment import segment_spans
from ngn_clarity.layout import Layout
from ngn_clarity.pipeline import RunSettings, run
from ngn_clarity.corrections import CORRECTION_FIELDS
from ngn_clarity.records import iter_records, read_record
from ngn_clarity.synth import clips
from ngn_clarity.synth.voices import default_soundfont

REPO = Path(__file__).resolve().parents[1]
SF2 = str(default_soundfont())


def _notes(seconds: float, sr: int = 44100, gap_at: tuple[float, float] | None = None,
           period: float = 0.5) -> np.ndarray:
    """Plucked notes every ``period`` s (each decays to silence before the next), with an
    optional silent stretch."""
    t = np.arange(int(seconds * sr)) / sr
    phase = np.mod(t, period)
    x = 0.4 * np.sin(2 * np.pi * 220 * t) * np.exp(-phase / 0.06)
    if gap_at:
        x[int(gap_at[0] * sr):int(gap_at[1] * sr)] = 0.0
    return x[:, None].astype(np.float32)


# --- segmentation --------------------------------------------------------------------------

def test_segments_have_the_asked_length_cut_between_notes_and_skip_silence():
    sr = 44100
    x = _notes(60.0, sr, gap_at=(20.0, 32.0))
    spans = segment_spans(x, sr, 6.0)
    secs = [(a / sr, b / sr) for a, b in spans]
    # 20 s of notes, 12 s of silence, 28 s of notes: 3 + 5 clips of about 6 s
    assert len(spans) == 8
    assert all(5.0 <= b - a <= 7.5 for a, b in secs[:-1])
    assert not any(a < 31.5 and b > 20.5 for a, b in secs)  # nothing from the silence
    assert secs[0][0] == 0.0 and secs[3][0] == pytest.approx(31.7, abs=0.35)
    env = np.abs(x[:, 0])
    for a, _ in spans[1:]:  # every inner cut is in a quiet moment between notes
        if a / sr not in (secs[3][0],):
            assert env[a] < 0.01 * env.max(), a / sr
    # spans never overlap and stay inside the stem
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))
    assert spans[-1][1] <= len(x)


def test_a_four_minute_stem_gives_about_forty_six_second_clips():
    sr = 22050
    assert len(segment_spans(_notes(240.0, sr), sr, 6.0)) == 40
    assert segment_spans(_notes(10.0, sr) * 10 ** (-90 / 20), sr, 6.0) == []  # no loudness
    quiet_then_loud = _notes(20.0, sr)
    quiet_then_loud[: 8 * sr] *= 10 ** (-30 / 20)  # 30 dB under: more than 20 LU under
    spans = segment_spans(quiet_then_loud, sr, 6.0)
    assert spans and spans[0][0] >= 7.5 * sr


def test_import_gold_with_segment_writes_clips_with_spans_and_one_group(tmp_path, layout):
    lib = tmp_path / "lib"
    (lib / "Bass").mkdir(parents=True)
    stem = _notes(40.0, 44100, gap_at=(12.0, 18.0))
    sf.write(str(lib / "Bass" / "Bass DI.flac"), stem, 44100, subtype="PCM_24")
    write_tone(lib / "Drums" / "Kick.wav", seconds=2.0, freq=60)  # shorter than a clip
    before = snapshot(lib)
    assert main(["dataset", "--import-gold", "--source", str(lib), "--segment", "6",
                 "--data-dir", str(layout.root), "-q"]) == 0
    assert snapshot(lib) == before
    names = sorted(os.listdir(layout.raw / "gold/bass"))
    assert names == [f"bass_{i:03d}.wav" for i in range(1, 7)]  # 12 s + 22 s of notes
    recs = [read_record(layout, "gold", "bass", n) for n in names]
    assert {r.group for r in recs} == {f"bass/src-{digest(lib / 'Bass' / 'Bass DI.flac')[:12]}"}
    assert all(r.original_name == "Bass DI.flac" and r.origin == "import-gold" for r in recs)
    for name, r in zip(names, recs):
        got, sr = sf.read(str(layout.raw / "gold/bass" / name), dtype="float32",
                          always_2d=True)
        a, b = round(r.span_s[0] * sr), round(r.span_s[1] * sr)
        np.testing.assert_allclose(got, stem[a:b], atol=2e-7)  # exactly that span
        assert r.sha256 == digest(layout.raw / "gold/bass" / name)
    assert (layout.raw / "gold/drums/kick_001.wav").is_file()  # a short file: one clip
    again = import_gold(layout, lib, segment=6.0)  # the same stems: already there
    assert again.done == [] and again.ok and len(again.warnings) == 2


@pytest.mark.parametrize("block", [1000, 4410, 77777, None])
def test_a_stem_read_in_blocks_gives_the_spans_and_clips_of_the_whole(block):
    """Issue 23: a 1-hour file through --segment 6 peaked at 3.15 GB; it is now profiled and
    cut block by block, and any block length gives what the whole array gives."""
    from ngn_clarity.segment import cut, profile, spans_of

    sr = 22050
    x = np.repeat(_notes(50.0, sr, gap_at=(14.0, 21.0)), 2, axis=1) * [1.0, 0.5]
    x = x.astype(np.float32)
    whole = segment_spans(x, sr, 6.0)
    blocks = [x] if block is None else [x[i:i + block] for i in range(0, len(x), block)]
    p = profile(blocks, sr, 2)
    assert p.frames == len(x) and spans_of(p, 6.0) == whole and len(whole) >= 6
    got = list(cut(blocks, whole))
    assert [(a, b) for a, b, _ in got] == whole
    for a, b, clip in got:
        np.testing.assert_array_equal(clip, x[a:b])


def test_import_with_segment_holds_one_block_not_the_file(tmp_path, layout, monkeypatch):
    import tracemalloc

    from ngn_clarity import audio

    lib = tmp_path / "lib" / "Bass"
    lib.mkdir(parents=True)
    sr, seconds = 44100, 120.0
    with sf.SoundFile(str(lib / "Bass Take.wav"), "w", sr, 2, subtype="PCM_16") as f:
        for _ in range(int(seconds / 10)):  # written in pieces: 42 MB as float32 stereo
            f.write(np.repeat(_notes(10.0, sr), 2, axis=1))
    monkeypatch.setattr(audio, "BLOCK_FRAMES", 1 << 15)
    tracemalloc.start()
    try:
        rep = import_gold(layout, tmp_path / "lib", segment=6.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rep.ok and len(rep.done) == 20
    assert peak < 12e6, f"{peak / 1e6:.0f} MB traced"  # the file decoded is 42 MB
    x, _ = sf.read(str(lib / "Bass Take.wav"), dtype="float32", always_2d=True)
    for d in rep.done:  # each clip is exactly its span of the file
        rec = read_record(layout, "gold", "bass", Path(d["dest"]).name)
        got, _ = sf.read(d["dest"], dtype="float32", always_2d=True)
        a, b = round(rec.span_s[0] * sr), round(rec.span_s[1] * sr)
        np.testing.assert_array_equal(got, x[a:b])


def _hits(seconds: float, every: float, sr: int = 44100) -> np.ndarray:
    """A snare: a noise-and-tone hit (40 ms decay) every ``every`` s, silence between."""
    x = np.zeros(int(seconds * sr))
    t = np.arange(int(0.5 * sr)) / sr
    noise = np.random.default_rng(0).standard_normal(len(t))
    hit = (0.5 * noise + 0.5 * np.sin(2 * np.pi * 200 * t)) * np.exp(-t / 0.04)
    for start in np.arange(0.1, seconds - 0.5, every):
        i = int(start * sr)
        x[i:i + len(t)] += hit[:len(x) - i]
    return (0.8 * x / np.abs(x).max())[:, None].astype(np.float32)


def test_a_sparse_percussive_stem_is_judged_by_its_hits(tmp_path, layout):
    """Issue 23: a 36 s snare, one hit every 2 s, was refused whole ("no active stretch of
    at least 3 s"); hits less than 3 s apart are one stretch now, and a stem whose hits are
    further apart is refused with the way round it."""
    sr = 44100
    spans = segment_spans(_hits(36.0, 2.0), sr, 6.0)
    assert len(spans) == 6 and all(5.0 <= (b - a) / sr <= 7.0 for a, b in spans)
    assert segment_spans(_hits(36.0, 5.0), sr, 6.0) == []
    lib = tmp_path / "lib" / "Drums"
    lib.mkdir(parents=True)
    sf.write(str(lib / "Snare.wav"), _hits(36.0, 5.0), sr, subtype="PCM_24")
    rep = import_gold(layout, tmp_path / "lib", segment=6.0)
    assert [s.reason for s in rep.skipped] == [
        "no active stretch of at least 3 s to cut a clip from (import it without --segment "
        "to keep the file whole)"]
    assert import_gold(layout, tmp_path / "lib").ok  # as it says


def test_organize_flawed_with_segment(layout):
    stem = _notes(20.0, 44100)
    layout.downloads.mkdir()
    sf.write(str(layout.downloads / "Bass Flawed - Boomy (1).wav"), stem, 44100)
    rep = organize_flawed(layout, segment=6.0)
    assert rep.ok and len(rep.done) == 3
    for d in rep.done:
        rec = read_record(layout, "flawed", "bass", Path(d["dest"]).name)
        assert rec.flawed_type == "boomy" and rec.span_s is not None


# --- augment -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gold_library(tmp_path_factory) -> Path:
    """raw/ with 2 gold clips per instrument (rendered), no flawed clips."""
    root = tmp_path_factory.mktemp("gold") / "data"
    layout = Layout(root)
    layout.init()
    for inst in taxonomy.INSTRUMENTS:
        golds, _ = clips.plan(inst, 2, 0, seed=4, soundfont=SF2)
        for g in golds:
            audio_, facts = clips.render_gold(g, SF2)
            sf.write(str(layout.raw_dir("gold", inst) / g.name), audio_, g.sample_rate,
                     subtype="PCM_24")
    return root


def _clone(src: Path, dest: Path) -> Layout:
    shutil.copytree(src, dest)
    return Layout(dest)


def _flawed(layout: Layout) -> dict[str, str]:
    return {p.relative_to(layout.raw).as_posix(): digest(p)
            for p in sorted((layout.raw / "flawed").rglob("*.wav"))}


def test_augment_makes_balanced_labelled_clips_with_exact_corrections(gold_library, tmp_path):
    layout = _clone(gold_library, tmp_path / "d")
    rep = augment(layout, AugmentSettings(per_gold=5, seed=1), jobs=2, progress=False)
    assert rep.ok and len(rep.done) == 50
    for inst in taxonomy.INSTRUMENTS:
        recs = [r for r in iter_records(layout, "flawed") if r.instrument == inst]
        assert len(recs) == 10
        counts = {f: sum(r.flawed_type == f for r in recs) for f in taxonomy.flaws_for(inst)}
        assert set(counts.values()) == {2}, counts  # every flaw, equally often
        for r in recs:
            gold = read_record(layout, "gold", inst, r.extra["gold_file"])
            assert gold is None  # placed by hand: its group is its own stem
            assert r.group == f"{inst}/{Path(r.extra['gold_file']).stem}"
            assert r.origin == "augment" and r.sha256 == digest(
                layout.raw_dir("flawed", inst) / r.file)
            assert list(r.correction) == list(CORRECTION_FIELDS)
            assert 0.0 <= r.severity <= 1.0 and r.params["chain"]
            assert r.params["variant"] in __import__("ngn_clarity.flaws", fromlist=[
                "x"]).VARIANTS[r.flawed_type]
            assert taxonomy.parse_canonical(r.file).flaw == r.flawed_type
    # a run then puts them in the tables with their group and corrections
    assert run(layout, RunSettings(jobs=2), progress=False).ok
    import pandas as pd

    labels = pd.read_csv(layout.features / "labels.csv")
    flawed = labels[labels["subset"] == "flawed"]
    assert len(flawed) == 50 and flawed[list(CORRECTION_FIELDS)].notna().all().all()
    assert set(flawed["group"]) == set(labels.loc[labels["subset"] == "gold", "group"])


def test_augment_is_deterministic_and_incremental(gold_library, tmp_path):
    a = _clone(gold_library, tmp_path / "a")
    b = _clone(gold_library, tmp_path / "b")
    augment(a, AugmentSettings(per_gold=3, seed=5), jobs=2, progress=False)
    augment(b, AugmentSettings(per_gold=3, seed=5), jobs=1, progress=False)
    assert _flawed(a) == _flawed(b) and len(_flawed(a)) == 30
    other = _clone(gold_library, tmp_path / "c")
    augment(other, AugmentSettings(per_gold=3, seed=6), jobs=1, progress=False)
    assert set(_flawed(other).values()) != set(_flawed(a).values())

    before = {p: os.stat(a.raw / p).st_mtime_ns for p in _flawed(a)}
    again = augment(a, AugmentSettings(per_gold=3, seed=5), jobs=2, progress=False)
    assert again.done == [] and "30 augmented clip(s) up to date" in again.notes[0]
    assert {p: os.stat(a.raw / p).st_mtime_ns for p in _flawed(a)} == before
    write_tone(a.raw / "gold/bass/bass_050.wav", seconds=2.0, freq=55)  # a new gold clip
    more = augment(a, AugmentSettings(per_gold=5, seed=5), jobs=2, progress=False)
    assert len(more.done) == 5 + 10 * 2  # 5 for the new clip, 2 more for each of the 10
    assert {p: os.stat(a.raw / p).st_mtime_ns for p in before} == before


def test_augment_never_overwrites_and_reports_unusable_gold(gold_library, tmp_path, capsys):
    layout = _clone(gold_library, tmp_path / "d")
    sf.write(str(layout.raw / "gold/keys/keys_900.wav"), np.zeros((44100, 1)), 44100)
    plan_target = layout.raw / "flawed/bass"
    foreign = {}
    for name in ("bass_flawed_boomy_001.wav", "bass_flawed_thin_001.wav"):
        foreign[name] = digest(write_tone(plan_target / name, seconds=1.0, freq=999))
    assert main(["augment", "--data-dir", str(layout.root), "--per-gold", "5", "-q"]) == 1
    err = capsys.readouterr().err
    assert "keys_900.wav: not augmented: digital silence" in err
    for name, h in foreign.items():  # a file already there is never replaced ...
        assert digest(plan_target / name) == h
        assert read_record(layout, "flawed", "bass", name) is None  # ... nor relabelled
    made = [r for r in iter_records(layout, "flawed") if r.instrument == "bass"]
    assert len(made) == 10 and all(r.file not in foreign for r in made)


def test_severity_and_counts_are_checked(tmp_path, capsys):
    for argv, msg in ((["--severity", "0.5,0.2"], "severity must be LO,HI with 0 <= LO <= HI"),
                      (["--severity", "x"], "severity must be LO,HI"),
                      (["--per-gold", "0"], "per-gold must be an integer in [1, 100]"),
                      (["--gold-variants", "21"],
                       "gold-variants must be an integer in [0, 20], not 21")):
        with pytest.raises(SystemExit) as e:
            main(["augment", *argv, "--data-dir", str(tmp_path)])
        assert e.value.code == 2 and msg in capsys.readouterr().err
    rep_cfg = AugmentSettings(severity=(0.2, 0.2))
    assert rep_cfg.severity == (0.2, 0.2)


#: A child that runs ``clarity augment`` and is killed with SIGKILL by the worker that has
#: just committed its ``KILL_AFTER``-th clip: the kill lands at a point the child signals,
#: not at a moment a poll happens to catch (so it can never come too late).
_KILLED_CHILD = """
import os, signal, sys
from ngn_clarity.steps import naming as step  # where augment commits its clips
from ngn_clarity.cli import main

MAIN, KILL_AFTER, done = os.getpid(), int(sys.argv[1]), [0]
real = step.commit_clip

def commit_then_kill(*a, **k):
    dest = real(*a, **k)
    done[0] += 1
    if done[0] == KILL_AFTER:
        os.kill(MAIN, signal.SIGKILL)  # the run's process; its workers die with it
    return dest

step.commit_clip = commit_then_kill
sys.exit(main(sys.argv[2:]))
"""


def test_kill_9_during_augment_then_rerun_equals_a_clean_run(gold_library, tmp_path):
    clean = _clone(gold_library, tmp_path / "clean")
    augment(clean, AugmentSettings(per_gold=8, seed=2), jobs=2, progress=False)
    data = tmp_path / "killed"
    killed = _clone(gold_library, data)
    args = ["augment", "--data-dir", str(data), "--per-gold", "8", "--seed", "2", "--jobs",
            "2", "-q"]
    proc = subprocess.run([sys.executable, "-c", _KILLED_CHILD, "7", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.returncode == -signal.SIGKILL
    assert processes_mentioning(str(data)) == []
    made = list((data / "raw/flawed").rglob("*.wav"))
    assert 7 <= len(made) < len(list((clean.raw / "flawed").rglob("*.wav")))
    for p in made:  # no clip without its record
        assert read_record(killed, "flawed", p.parent.name, p.name) is not None
    cmd = [sys.executable, "-m", "ngn_clarity.cli", *args]
    assert subprocess.run(cmd).returncode == 0
    assert _flawed(killed) == _flawed(clean)
    assert [p for p in data.rglob("*") if p.name.startswith(".~clarity.")] == []


def test_a_rerun_after_any_killed_state_gives_every_missing_child_its_clean_name(
        gold_library, tmp_path):
    """The states a kill can leave, made on purpose (the kill test above hits one at random):
    a child whose record was written but not its file, numbered below a child never started
    (neither record nor file). Found by that test: the re-run gave the new child the number
    of the record-only child, and refused its own clip."""
    clean = _clone(gold_library, tmp_path / "clean")
    augment(clean, AugmentSettings(per_gold=8, seed=2), jobs=1, progress=False)
    killed = _clone(gold_library, tmp_path / "killed")
    augment(killed, AugmentSettings(per_gold=8, seed=2), jobs=1, progress=False)
    folder = killed.raw / "flawed" / "drums"
    by_prefix: dict[str, list[Path]] = {}  # (which prefix has two depends on the renders)
    for p in sorted(folder.glob("*.wav")):
        by_prefix.setdefault(p.name.rsplit("_", 1)[0], []).append(p)
    harsh = max(by_prefix.values(), key=len)
    assert len(harsh) >= 2
    record_only, never_started = harsh[0], harsh[-1]
    never_started.unlink()
    killed.record_path("flawed", "drums", never_started.name).unlink()
    record_only.unlink()
    assert augment(killed, AugmentSettings(per_gold=8, seed=2), jobs=1, progress=False).ok
    assert _flawed(killed) == _flawed(clean)


def test_run_augment_runs_it_between_dataset_and_normalize(gold_library, tmp_path, capsys):
    layout = _clone(gold_library, tmp_path / "d")
    assert main(["run", "--augment", "2", "--data-dir", str(layout.root), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "gold 10, flawed 20" in out and "Ready for training: ✓" in out
    meta = json.loads((layout.features / "feature_metadata.json").read_text())
    assert meta["counts"]["flawed"] == 20


# --- settings are part of what a child is (issue 23, defect 6) ----------------------------

def _severities(layout: Layout) -> list[float]:
    return sorted(r.severity for r in iter_records(layout, "flawed"))


@pytest.mark.parametrize("change", [{"severity": (0.9, 1.0)}, {"seed": 1}])
def test_new_settings_are_not_up_to_date_they_say_so_then_replace(gold_library, tmp_path,
                                                                   capsys, change):
    layout = _clone(gold_library, tmp_path / "d")
    assert augment(layout, AugmentSettings(per_gold=2), jobs=1, progress=False).ok
    first = _flawed(layout)
    assert len(first) == 20 and min(_severities(layout)) < 0.9
    argv = ["augment", "--data-dir", str(layout.root), "--per-gold", "2", "--jobs", "1"]
    flags = ["--severity", "0.9,1"] if "severity" in change else ["--seed", "1"]
    capsys.readouterr()
    assert main([*argv, *flags]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "20 flawed clip(s) of 10 gold clip(s) were made with other " \
                              "settings (seed 0, severity 0,1)" in err[0], err
    assert "--replace" in err[0]
    assert _flawed(layout) == first  # nothing made, nothing removed
    assert main([*argv, *flags, "--replace", "-q"]) == 0
    made_with = AugmentSettings(per_gold=2, **change).made_with
    assert len(_flawed(layout)) == 20
    recs = list(iter_records(layout, "flawed"))  # the old records went with their clips
    assert len(recs) == 20 and all(r.extra["settings"] == made_with for r in recs)
    if "severity" in change:
        assert min(_severities(layout)) >= 0.9
    again = augment(layout, AugmentSettings(per_gold=2, **change), jobs=1, progress=False)
    assert again.ok and again.done == []


def test_records_from_before_the_settings_were_kept_are_judged_by_what_they_draw(
        gold_library, tmp_path):
    layout = _clone(gold_library, tmp_path / "d")
    augment(layout, AugmentSettings(per_gold=2, severity=(0.2, 0.6), seed=3), jobs=1,
            progress=False)
    for path in (layout.records / "flawed").rglob("*.json"):  # as an older release wrote them
        rec = json.loads(path.read_text())
        del rec["extra"]["settings"]
        path.write_text(json.dumps(rec))
    same = augment(layout, AugmentSettings(per_gold=2, severity=(0.2, 0.6), seed=3), jobs=1,
                   progress=False)
    assert same.ok and same.done == []
    other = augment(layout, AugmentSettings(per_gold=2, severity=(0.2, 0.7), seed=3), jobs=1,
                    progress=False)
    assert not other.ok and other.done == [] and "(seed 3)" in other.errors[0]


def test_children_of_an_edited_gold_clip_are_named_and_replace_removes_them(
        gold_library, tmp_path):
    layout = _clone(gold_library, tmp_path / "d")
    augment(layout, AugmentSettings(per_gold=2), jobs=1, progress=False)
    gold = sorted(layout.raw_dir("gold", "keys").iterdir())[0]
    x, sr = sf.read(str(gold), always_2d=True)
    sf.write(str(gold), 0.5 * x, sr, subtype="PCM_24")  # the user edits a gold clip
    rep = augment(layout, AugmentSettings(per_gold=2), jobs=1, progress=False)
    assert rep.ok and len(rep.done) == 2
    assert any(n.startswith("2 flawed clip(s) were made from an earlier version of their gold "
                            f"clip (e.g. raw/gold/keys/{gold.name})") and "--replace" in n
               for n in rep.notes), rep.notes
    assert len(_flawed(layout)) == 22
    mine = next(r for r in iter_records(layout, "flawed") if r.instrument == "bass")
    changed = layout.raw_dir("flawed", "bass") / mine.file  # a child the user changed ...
    sf.write(str(changed), np.zeros((100, 1)) + 0.1, 44100)
    rep = augment(layout, AugmentSettings(per_gold=2, seed=9, replace=True), jobs=1,
                  progress=False)
    assert [Path(s.path).name for s in rep.skipped] == [mine.file]  # ... is left alone
    assert "changed since augment made it" in rep.skipped[0].reason and changed.is_file()
    assert len(_flawed(layout)) == 20 + 1 and all(
        r.extra["settings"]["seed"] == 9 for r in iter_records(layout, "flawed")
        if r.file != mine.file)


def _gold(layout: Layout) -> dict[str, str]:
    return {p.relative_to(layout.raw).as_posix(): digest(p)
            for p in sorted((layout.raw / "gold").rglob("*.wav"))}


def test_gold_variants_are_tasted_gold_in_their_clip_group_reproducible_and_incremental(
        gold_library, tmp_path):
    from ngn_clarity.flaws.chain import Chain

    a = _clone(gold_library, tmp_path / "a")
    before = _gold(a)
    rep = augment(a, AugmentSettings(per_gold=1, seed=3, gold_variants=2), jobs=2,
                  progress=False)
    assert rep.ok, rep.errors
    gold_now = _gold(a)
    assert {k: gold_now[k] for k in before} == before  # the user's gold is untouched
    variants = [r for r in iter_records(a, "gold") if r.origin == "taste"]
    assert len(variants) == 2 * len(before) == len(gold_now) - len(before)
    # every gold clip (variants too) gets its flawed child
    assert len(_flawed(a)) == 3 * len(before)
    for r in variants:
        parent = a.raw_dir("gold", r.instrument) / r.extra["gold_file"]
        assert r.original_sha256 == digest(parent) and r.flawed_type == taxonomy.NO_FLAW
        assert r.group == f"{r.instrument}/{parent.stem}"  # the parent's split group
        assert r.sha256 == digest(a.raw_dir("gold", r.instrument) / r.file)
        assert taxonomy.parse_canonical(r.file).flaw is None
        # the recorded chain, run again on the parent, gives the variant (up to its peak)
        x, sr = sf.read(str(parent), dtype="float32", always_2d=True)
        y, _ = sf.read(str(a.raw_dir("gold", r.instrument) / r.file), dtype="float32",
                       always_2d=True)
        again = Chain.from_dicts(r.params["taste"])(x, sr)
        again *= np.max(np.abs(x)) / np.max(np.abs(again))
        # (the record keeps parameters rounded; the file is 24-bit)
        assert np.max(np.abs(again - y)) < min(1e-3, 0.1 * np.max(np.abs(y - x)))
    # children of a child are never made; a re-run is up to date; the same seed elsewhere
    # gives the same bytes
    again = augment(a, AugmentSettings(per_gold=1, seed=3, gold_variants=2), jobs=1,
                    progress=False)
    assert again.done == [] and _gold(a) == gold_now
    assert any("taste-band gold variant(s) up to date" in n for n in again.notes)
    b = _clone(gold_library, tmp_path / "b")
    augment(b, AugmentSettings(per_gold=1, seed=3, gold_variants=2), jobs=1, progress=False)
    assert _gold(b) == gold_now and _flawed(b) == _flawed(a)
