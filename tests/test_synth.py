"""clarity synth: the embedded dataset and its flaw engine with exact labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from helpers import digest, write_tone
from ngn_clarity import taxonomy
from ngn_clarity.steps import manifest, validate
from ngn_clarity.cli import main
from ngn_clarity.layout import Layout
from ngn_clarity.records import read_record
from flawmetrics import named_quantity
from ngn_clarity.corrections import CORRECTION_FIELDS
from ngn_clarity.steps.synth import SynthSettings, synthesize
from ngn_clarity.synth import clips
from ngn_clarity.synth.voices import default_soundfont

SF2 = str(default_soundfont())


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("synth") / "data")
    rep = synthesize(layout, SynthSettings(per_instrument=5, seed=7), jobs=2, progress=False)
    assert rep.ok, rep.skipped
    return layout


def test_counts_names_and_labels(small_set):
    layout = small_set
    for inst in taxonomy.INSTRUMENTS:
        gold = sorted(p.name for p in layout.raw_dir("gold", inst).iterdir())
        flawed = sorted(p.name for p in layout.raw_dir("flawed", inst).iterdir())
        assert len(gold) == 5 and len(flawed) == 5
        flaw_types = set()
        for name in flawed:
            parsed = taxonomy.parse_canonical(name)
            rec = read_record(layout, "flawed", inst, name)
            assert rec.flawed_type == parsed.flaw and rec.origin == "synth"
            flaw_types.add(rec.flawed_type)
            x = rec.extra
            assert list(rec.correction) == list(CORRECTION_FIELDS) and len(CORRECTION_FIELDS) == 12
            assert 0.0 <= rec.severity <= 1.0 and rec.params
            assert x["gold_file"] in gold and rec.group == f"{inst}/{x['gold_file'][:-4]}"
            assert rec.preset and x["sample_rate"] in (44100, 48000)
            assert rec.sha256 == digest(layout.raw_dir("flawed", inst) / name)
        assert flaw_types == set(taxonomy.flaws_for(inst))  # one class each
        for name in gold:
            rec = read_record(layout, "gold", inst, name)
            assert rec.flawed_type == "none" and rec.severity == 0.0
            assert set(rec.correction.values()) == {0.0}
            info = sf.info(str(layout.raw_dir("gold", inst) / name))
            assert 2.0 <= info.duration <= 8.0 and info.channels in (1, 2)


def test_no_silent_or_clipped_file(small_set):
    rep = validate.validate(small_set)
    assert rep.errors == []
    assert not [f for f in rep.warnings if "clipping" in f.reason or "short" in f.reason
                or "DC offset" in f.reason]


def test_no_rendered_clip_has_a_dc_offset(small_set):
    """make demo warned "DC offset" about 25 of its own 1000 clips (issue 23): every render
    leaves with its DC removed."""
    from ngn_clarity.checks import dc_offset_dbfs

    for path in sorted(small_set.raw.rglob("*.wav")):
        x, _ = sf.read(str(path), always_2d=True)
        assert dc_offset_dbfs(x) < -100, path.name


def test_same_seed_gives_bit_identical_files(small_set, tmp_path):
    again = Layout(tmp_path / "again")
    synthesize(again, SynthSettings(per_instrument=5, seed=7), jobs=1, progress=False)
    other = Layout(tmp_path / "other")
    synthesize(other, SynthSettings(per_instrument=5, seed=8), jobs=1, progress=False)

    def hashes(layout):
        return {p.relative_to(layout.raw).as_posix(): digest(p)
                for p in sorted(layout.raw.rglob("*.wav"))}

    assert hashes(again) == hashes(small_set)
    assert hashes(other) != hashes(small_set)


def test_rerun_is_up_to_date_and_never_overwrites(tmp_path):
    layout = Layout(tmp_path / "d")
    foreign = write_tone(layout.raw_dir("gold", "bass") / "bass_001.wav", freq=55)
    before = digest(foreign)
    rep = synthesize(layout, SynthSettings(per_instrument=2, seed=1), jobs=1, progress=False)
    assert digest(foreign) == before
    assert [Path(s.path).name for s in rep.skipped] == ["bass_001.wav"]
    assert "not overwritten" in rep.skipped[0].reason
    again = synthesize(layout, SynthSettings(per_instrument=2, seed=1), jobs=1, progress=False)
    assert all(r["status"] == "up_to_date" for r in again.done)


# --- flaws are audible and measurable ------------------------------------------------------
# (every variant of the flaw engine: tests/test_flaws.py)

@pytest.mark.parametrize("instrument, flaw", taxonomy.flaw_pairs())
def test_each_flawed_clip_moves_what_its_flaw_names(instrument, flaw):
    """The embedded set's flawed clips against the gold clips they were made from."""
    golds, flawed = clips.plan(instrument, 10, 10, seed=3, soundfont=SF2)
    specs = [f for f in flawed if f.flaw == flaw]
    assert len(specs) == 2
    for spec in specs:
        bad, facts = clips.render_flawed(spec, SF2)
        good, _ = clips.render_gold(spec.gold, SF2)
        moved, least = named_quantity(flaw, bad, good, spec.gold.sample_rate)
        assert moved > least, (spec.gold.name, spec.severity, facts["params"]["variant"])
        assert facts["params"]["flaw"] == flaw and facts["params"]["chain"]


def test_flawed_clips_carry_the_engines_correction():
    golds, flawed = clips.plan("drums", 10, 10, seed=3, soundfont=SF2)
    by_flaw = {f.flaw: clips.render_flawed(f, SF2)[1] for f in flawed}
    assert by_flaw["over_compressed"]["correction"]["restore_dynamics_db"] > 0.5
    assert by_flaw["sloppy_timing"]["correction"]["remove_jitter_ms"] > 0
    golds, flawed = clips.plan("bass", 10, 10, seed=3, soundfont=SF2)
    dist = next(f for f in flawed if f.flaw == "distorted")
    meta = clips.render_flawed(dist, SF2)[1]
    assert meta["correction"]["remove_drive_db"] > 0
    assert set(meta["correction"]) == set(CORRECTION_FIELDS)


def test_synth_cli(tmp_path, capsys):
    data = tmp_path / "d"
    assert main(["synth", "--per-instrument", "1", "--seed", "2", "--jobs", "1",
                 "--data-dir", str(data), "-q"]) == 0
    assert len(list((data / "raw").rglob("*.wav"))) == 10
    assert main(["synth", "--soundfont", str(tmp_path / "missing.sf2"),
                 "--data-dir", str(data)]) == 1
    assert "does not exist" in capsys.readouterr().err
    m = json.loads(json.dumps(manifest.build_manifest(Layout(data))))
    assert m["summary"]["total"] == 10


# --- an interrupted synth (issue 23, defect 1) ----------------------------------------------

def test_synth_commits_each_clip_record_first(tmp_path, monkeypatch):
    """The order every writer of raw/ keeps: a run killed between the two leaves a record
    without a file (made again), never a clip without its labels."""
    from ngn_clarity import records

    layout = Layout(tmp_path / "d")
    real, order = records.copy_no_clobber, []

    def spy(src, dest, expected_sha256=None, data=None):
        dest = Path(dest)
        subset, inst = dest.parent.parent.name, dest.parent.name
        order.append(layout.record_path(subset, inst, dest.name).is_file())
        return real(src, dest, expected_sha256, data)

    monkeypatch.setattr(records, "copy_no_clobber", spy)
    rep = synthesize(layout, SynthSettings(per_instrument=1, seed=2), jobs=1, progress=False)
    assert rep.ok and len(order) == 10 and all(order)


def test_synth_completes_the_clips_a_killed_run_left_without_a_record(tmp_path):
    """An older release wrote the audio first: a clip killed before its record is finished
    by the next run (same bytes as it renders), not refused as someone else's file."""
    layout = Layout(tmp_path / "d")
    cfg = SynthSettings(per_instrument=1, seed=2)
    assert synthesize(layout, cfg, jobs=1, progress=False).ok
    lost = [next((layout.records / "gold" / "keys").glob("*.json")),
            next((layout.records / "flawed" / "bass").glob("*.json"))]
    before = {p: json.loads(p.read_text()) for p in lost}
    for p in lost:
        p.unlink()
    rep = synthesize(layout, cfg, jobs=1, progress=False)
    assert rep.ok, rep.skipped
    assert sorted(r["status"] for r in rep.done).count("completed") == 2
    assert any("without a label record" in n for n in rep.notes)
    for p, old in before.items():
        new = json.loads(p.read_text())
        assert {**new, "created": ""} == {**old, "created": ""}
        assert new["group"] and new["severity"] is not None and new["correction"]
    again = synthesize(layout, cfg, jobs=1, progress=False)
    assert all(r["status"] == "up_to_date" for r in again.done)


#: ``clarity synth`` in a child whose ``AT``-th label record write kills the run with SIGKILL
#: (the run's process, and the worker itself) just ``before`` or just ``after`` the record
#: is written: the two moments a clip's file and its record can part.
_KILLED_SYNTH = """
import os, signal, sys
from ngn_clarity import records
from ngn_clarity.steps import synth as step
from ngn_clarity.cli import main

MAIN, AT, WHEN, n = os.getpid(), int(sys.argv[1]), sys.argv[2], [0]
real = records.write_record

def kill():
    os.kill(MAIN, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)

def hooked(layout, record):
    n[0] += 1
    if WHEN == "before" and n[0] == AT:
        kill()
    real(layout, record)
    if WHEN == "after" and n[0] == AT:
        kill()

records.write_record = step.write_record = hooked
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize("when", ["before", "after"])
def test_synth_killed_beside_a_record_write_then_rerun_equals_a_clean_synth(tmp_path, when):
    import subprocess
    import sys

    args = ["synth", "--per-instrument", "1", "--seed", "4", "--jobs", "2", "-q"]
    clean = tmp_path / "clean"
    assert main([*args, "--data-dir", str(clean)]) == 0
    data = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", _KILLED_SYNTH, "4", when, *args,
                           "--data-dir", str(data)], capture_output=True)
    assert proc.returncode == -9, proc.stderr

    def state(root):
        wavs = {p.relative_to(root).as_posix(): digest(p) for p in root.rglob("*.wav")}
        recs = {p.relative_to(root).as_posix(): {**json.loads(p.read_text()), "created": ""}
                for p in (root / "records").rglob("*.json")}
        return wavs, recs

    assert 0 < len(state(data)[0]) < 10
    again = subprocess.run([sys.executable, "-m", "ngn_clarity.cli", *args, "--data-dir",
                            str(data)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert state(data) == state(clean)
