"""loudness_normalizer.py / clarity normalize and clarity loudness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import processes_mentioning, snapshot, tone, write_tone
from ngn_clarity import audio, loudness
from ngn_clarity.cli import main
from ngn_clarity.state import NormState, journal, read_state
from ngn_clarity.steps.normalize import NormalizeSettings, normalize, verify

REPO = Path(__file__).resolve().parents[1]


def measured(path: Path) -> loudness.LoudnessReport:
    return loudness.measure(*audio.read(path))


def _tree(layout):
    raw = layout.raw
    write_tone(raw / "gold/drums/kick_001.wav", seconds=2.0, freq=80, amp=0.9)
    write_tone(raw / "gold/vocals/lead_001.wav", seconds=3.5, sr=48000, channels=2, amp=0.05,
               subtype="PCM_24")
    write_tone(raw / "gold/keys/piano_001.flac", seconds=1.0, freq=523, amp=0.3)
    write_tone(raw / "flawed/bass/bass_flawed_thin_001.wav", seconds=0.3, freq=200, amp=0.2)
    # -90 dBFS: not digital silence, but below the -70 LUFS gate everywhere
    sf.write(str(raw / "flawed/bass/bass_flawed_boomy_001.wav"),
             tone(1.0, sr=22050, freq=100, amp=10 ** (-90 / 20)), 22050, subtype="FLOAT")


def test_normalize_brings_every_clip_to_target_and_logs_it(layout):
    _tree(layout)
    before = snapshot(layout.raw)
    res = normalize(layout, progress=False)
    assert snapshot(layout.raw) == before  # raw files are never modified
    out = layout.processed
    expected = ["flawed/bass/bass_flawed_thin_001.wav", "gold/drums/kick_001.wav",
                "gold/keys/piano_001.wav", "gold/vocals/lead_001.wav"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav")) == expected
    for rel in expected:
        info = sf.info(str(out / rel))
        assert info.subtype == "FLOAT"
        assert measured(out / rel).integrated_lufs == pytest.approx(-18.0, abs=0.05)
    vocal = sf.info(str(out / "gold/vocals/lead_001.wav"))
    assert (vocal.samplerate, vocal.channels) == (48000, 2)
    # the kick reaches -18 LUFS above full scale: float output keeps it unclipped
    assert measured(out / "gold/drums/kick_001.wav").sample_peak_dbfs > -20

    log = json.loads(layout.normalization_log.read_text())
    assert log == res.log and log["complete"]
    assert log["totals"]["normalized"] == 4 and log["totals"]["failed"] == 1
    by_src = {e["source"]: e for e in log["files"]}
    silent = by_src["raw/flawed/bass/bass_flawed_boomy_001.wav"]
    assert silent["status"] == "failed" and "-70 LUFS" in silent["error"]
    short = by_src["raw/flawed/bass/bass_flawed_thin_001.wav"]
    assert "short_clip" in short["flags"]
    kick = by_src["raw/gold/drums/kick_001.wav"]
    assert kick["after"]["integrated_lufs"] == pytest.approx(-18.0, abs=0.05)
    assert kick["gain_db"] == pytest.approx(-18.0 - kick["before"]["integrated_lufs"], abs=0.3)
    for key in ("loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs"):
        assert key in kick["before"] and key in kick["after"]
    assert not res.report.ok  # the silent clip was skipped, with its reason
    assert "-70 LUFS" in res.report.skipped[0].reason


def test_sparse_clip_lands_on_target_despite_the_absolute_gate(layout):
    # Hits with long gaps: with the first gain, blocks of the decays cross the -70 LUFS
    # gate and the loudness misses the target; the normalizer corrects for that.
    x = np.zeros((44100 * 6, 1), dtype=np.float32)
    t = np.arange(22050) / 44100
    hit = (0.02 * np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.2)).astype(np.float32)
    for k in range(6):
        x[k * 44100: k * 44100 + 22050, 0] = hit
    sf.write(str(layout.raw / "gold/drums/kick_001.wav"), x, 44100, subtype="FLOAT")
    first_gain = -18.0 - loudness.measure(x, 44100).integrated_lufs
    naive = loudness.measure(x * 10 ** (first_gain / 20), 44100).integrated_lufs
    assert abs(naive - -18.0) > 0.1  # the naive gain really misses here
    normalize(layout, progress=False)
    out = layout.processed / "gold/drums/kick_001.wav"
    assert measured(out).integrated_lufs == pytest.approx(-18.0, abs=0.01)
    assert verify(layout).ok


def test_rerun_skips_up_to_date_and_redoes_what_changed(layout):
    _tree(layout)
    normalize(layout, progress=False)
    kick_out = layout.processed / "gold/drums/kick_001.wav"
    stamp = kick_out.stat().st_mtime_ns, kick_out.stat().st_ino
    res = normalize(layout, progress=False)
    assert res.log["totals"]["normalized"] == 0 and res.log["totals"]["up_to_date"] == 4
    assert (kick_out.stat().st_mtime_ns, kick_out.stat().st_ino) == stamp

    write_tone(layout.raw / "gold/keys/piano_001.flac", seconds=1.0, freq=600, amp=0.1)
    res = normalize(layout, progress=False)
    assert [d["source"] for d in res.report.done] == ["raw/gold/keys/piano_001.flac"]

    res = normalize(layout, NormalizeSettings(target_lufs=-20.0), progress=False)
    assert res.log["totals"]["normalized"] == 4
    assert measured(kick_out).integrated_lufs == pytest.approx(-20.0, abs=0.05)

    # what a plan keeps of a state (packed, no hop energies) is the same state
    state = read_state(journal(layout), "processed/gold/drums/kick_001.wav")
    assert state is not None and state.after_hop_energies
    kept = NormState.unpack(state.pack())
    assert kept == replace(state, after_hop_energies=None)
    assert kept.to_dict() == {k: v for k, v in state.to_dict().items()
                              if k != "after_hop_energies"}


def test_a_state_whose_line_is_damaged_or_missing_is_not_trusted(layout):
    _tree(layout)
    normalize(layout, progress=False)
    states = layout.norm_states
    lines = states.read_bytes().splitlines(keepends=True)
    kick = next(i for i, line in enumerate(lines) if b"kick_001" in line)
    # a digit of its gain changed on disk: the checksum fails, the clip is normalized again
    lines[kick] = lines[kick].replace(b'"gain_db":', b'"gain_db":1', 1)
    states.write_bytes(b"".join(lines))
    res = normalize(layout, progress=False)
    assert [d["source"] for d in res.report.done] == ["raw/gold/drums/kick_001.wav"]
    assert res.log["totals"]["up_to_date"] == 3
    # a run killed after the output but before its state: the last state line is lost
    states.write_bytes(states.read_bytes()[:-1])
    res = normalize(layout, progress=False)
    assert [d["source"] for d in res.report.done] == ["raw/gold/drums/kick_001.wav"]
    assert normalize(layout, progress=False).log["totals"]["normalized"] == 0


def test_an_older_releases_state_folder_is_replaced_by_the_journal(layout):
    _tree(layout)
    old = layout.processed / ".state/gold/drums/kick_001.wav.json"
    old.parent.mkdir(parents=True)
    old.write_text('{"status": "normalized"}')
    res = normalize(layout, progress=False)
    assert res.log["totals"]["normalized"] == 4
    assert not (layout.processed / ".state").exists()
    assert read_state(journal(layout), "processed/gold/drums/kick_001.wav") is not None


def test_fixed_point_output_keeps_true_peak_under_ceiling(layout):
    # A spiky clip: one loud click over a quiet tone. At -18 LUFS its peak would clip.
    x = tone(2.0, freq=300, amp=0.01)
    x[44100] = 0.99
    sf.write(str(layout.raw / "gold/drums/snare_001.wav"), x, 44100, subtype="FLOAT")
    write_tone(layout.raw / "gold/drums/snare_002.wav", seconds=2.0, amp=0.1)
    res = normalize(layout, NormalizeSettings(subtype="PCM_16"), progress=False)
    by_src = {e["source"]: e for e in res.log["files"]}
    spiky = by_src["raw/gold/drums/snare_001.wav"]
    assert spiky["gain_limited"] and spiky["after"]["true_peak_dbtp"] <= -1.0 + 1e-6
    assert spiky["after"]["integrated_lufs"] < -18.5
    plain = by_src["raw/gold/drums/snare_002.wav"]
    assert not plain["gain_limited"]
    out = layout.processed / "gold/drums/snare_001.wav"
    assert sf.info(str(out)).subtype == "PCM_16"
    assert measured(out).true_peak_dbtp <= -0.95
    assert res.log["totals"]["gain_limited"] == 1
    assert verify(layout, NormalizeSettings(subtype="PCM_16")).ok


def test_verify_passes_then_catches_missing_and_tampered_files(layout, capsys):
    write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0)
    write_tone(layout.raw / "gold/drums/kick_002.wav", seconds=2.0, freq=100)
    assert main(["normalize", "--all", "--data-dir", str(layout.root), "-q"]) == 0
    rep = verify(layout)
    assert rep.ok and len(rep.done) == 2
    out = layout.processed / "gold/drums/kick_001.wav"
    data, sr = sf.read(str(out), dtype="float32")
    sf.write(str(out), data * 1.5, sr, subtype="FLOAT")  # +3.5 dB
    (layout.processed / "gold/drums/kick_002.wav").unlink()
    assert main(["normalize", "--verify", "--data-dir", str(layout.root)]) == 1
    err = capsys.readouterr().err
    assert "LU off -18.00" in err and "missing processed file" in err


def test_an_interrupted_write_leaves_no_partial_file(layout, monkeypatch):
    write_tone(layout.raw / "gold/drums/kick_001.wav", seconds=2.0)
    real_write = sf.write

    def dies_halfway(path, data, *a, **k):
        real_write(path, data[: len(data) // 2], *a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(sf, "write", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        normalize(layout, progress=False)
    assert [p.name for p in layout.processed.rglob("*") if p.is_file()] == []



def test_kill_9_mid_run_then_rerun_equals_a_clean_run(tmp_path):
    data = tmp_path / "data"
    for i in range(40):
        write_tone(data / f"raw/gold/keys/piano_{i + 1:03d}.wav", seconds=6.0,
                   freq=200 + 10 * i, amp=0.05 + 0.01 * i, channels=2)
    cmd = [sys.executable, str(REPO / "loudness_normalizer.py"), "--normalize",
           "--data-dir", str(data), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    out_dir = data / "processed/gold/keys"
    while time.monotonic() < deadline and proc.poll() is None:
        if out_dir.is_dir() and len(list(out_dir.glob("*.wav"))) >= 5:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "normalizer finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert processes_mentioning(str(data)) == []  # no orphaned workers left behind
    for f in out_dir.glob("*.wav"):  # whatever is there under a real name is whole
        assert sf.info(str(f)).frames == 6 * 44100
    assert subprocess.run(cmd).returncode == 0
    assert list(data.rglob("*.part")) == []
    resumed = json.loads((data / "features/normalization_log.json").read_text())

    clean = tmp_path / "clean"
    (clean / "raw").mkdir(parents=True)
    os.symlink(data / "raw/gold", clean / "raw/gold")
    assert subprocess.run([*cmd[:-3], "--data-dir", str(clean), "-q"]).returncode == 0
    fresh = json.loads((clean / "features/normalization_log.json").read_text())

    def table(log):
        return {e["source"]: (e["gain_db"], e["after"]["integrated_lufs"]) for e in log["files"]}

    assert table(resumed) == table(fresh) and len(table(fresh)) == 40
    for name in sorted(p.name for p in out_dir.glob("*.wav")):
        a, _ = sf.read(str(out_dir / name))
        b, _ = sf.read(str(clean / "processed/gold/keys" / name))
        assert np.array_equal(a, b)


def test_parallel_jobs_give_the_same_results(layout, tmp_path):
    _tree(layout)
    serial = normalize(layout, progress=False, force=True).log
    parallel = normalize(layout, progress=False, force=True, jobs=2).log
    def strip(log):
        return [{k: v for k, v in e.items() if k != "status"} for e in log["files"]]

    assert strip(serial) == strip(parallel)


def test_loudness_cli_prints_json_lines(tmp_path, capsys):
    a = write_tone(tmp_path / "a.wav", seconds=5.0, amp=0.1)
    b = write_tone(tmp_path / "b.wav", seconds=0.2, amp=0.1, channels=2)
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    assert main(["loudness", str(a), str(b), str(bad), "--json"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(a), str(b), str(bad)]
    for key in ("integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs",
                "duration_s", "flags"):
        assert key in lines[0]
    assert lines[0]["flags"] == ["dual_mono"]
    assert lines[0]["integrated_lufs"] == pytest.approx(
        loudness.measure(*audio.read(a)).integrated_lufs)
    assert lines[1]["flags"] == ["short_clip", "short_for_lra"]
    assert "not an audio file" in lines[2]["error"]


def test_seed_normalizer_flags(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "loudness_normalizer.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--create-dirs", "--normalize", "--verify", "--all", "--target",
                 "--subtype", "--data-dir"):
        assert flag in out
    res = subprocess.run([sys.executable, str(REPO / "loudness_normalizer.py"),
                          "--create-dirs", "--data-dir", str(tmp_path / "d")],
                         capture_output=True, text=True)
    assert res.returncode == 0 and (tmp_path / "d/processed/gold/drums").is_dir()


def test_all_on_a_mistyped_data_dir_creates_nothing(tmp_path, capsys):
    """Only an explicit --create-dirs (or dataset --init, synth, augment) starts a new tree."""
    from ngn_clarity.cli import main

    missing = tmp_path / "dta"
    assert main(["normalize", "--all", "--data-dir", str(missing)]) == 1
    assert "no data folder at" in capsys.readouterr().err and not missing.exists()


@pytest.mark.parametrize("items", [[], [{"source": "raw/gold/é.wav", "x": [1.5, None]}],
                                   [{"a": {"b": [1, 2]}, "t": "line\nbreak"}, 3, "s", [],
                                    {}]])
def test_a_streamed_json_list_is_the_same_bytes_as_json_dump(tmp_path, items):
    from ngn_clarity.fsutil import atomic_write_json
    from ngn_clarity.steps.normalize import write_json_list

    head = {"version": 2, "totals": {"files": len(items)}, "name": "ünïcode"}
    atomic_write_json(tmp_path / "whole.json", {**head, "files": items})
    write_json_list(tmp_path / "streamed.json", head, "files", iter(items))
    assert (tmp_path / "streamed.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
