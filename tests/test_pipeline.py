"""run_pipeline.py / clarity run: one command, incremental, crash-safe, local or Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers import copy_raw, processes_mentioning, write_tone
from ngn_clarity.cli import main
from ngn_clarity.errors import SettingsError
from ngn_clarity.features.schema import SCHEMAS
from ngn_clarity.gain import NormalizeSettings
from ngn_clarity.layout import Layout
from ngn_clarity.pipeline import RunSettings, format_summary, run
from ngn_clarity.steps.synth import SynthSettings, synthesize

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """Raw audio of 20 embedded clips, rendered once; tests copy it."""
    root = tmp_path_factory.mktemp("rendered") / "data"
    synthesize(Layout(root), SynthSettings(per_instrument=2, seed=11), jobs=1, progress=False)
    return root



def _tables(layout: Layout) -> dict[str, bytes]:
    return {n: (layout.features / n).read_bytes() for n in ("features.csv", "labels.csv")}


def test_run_end_to_end_then_only_what_changed(rendered, tmp_path):
    layout = copy_raw(rendered, tmp_path / "data")
    first = run(layout, RunSettings(jobs=1, schema="seed"), progress=False)
    assert first.ok
    s = first.summary
    assert (s.gold, s.flawed, s.total, s.total_floats) == (10, 10, 20, 1280)
    assert (s.valid, s.nan, s.inf, s.ready) == (20, 0, 0, True)
    text = format_summary(s)
    assert "Total floats:   1,280 (20 x 64" in text and "Ready for training: ✓" in text
    assert "features.csv" in text

    lines: list[str] = []
    before = _tables(layout)
    stamps = {p.name: p.stat().st_mtime_ns for p in layout.features.glob("*.*")
              if p.name != "normalization_log.json"}
    again = run(layout, RunSettings(jobs=1, schema="seed"), progress=False, say=lines.append)
    assert again.ok and _tables(layout) == before and again.summary == s
    assert {p.name: p.stat().st_mtime_ns for p in layout.features.glob("*.*")
            if p.name != "normalization_log.json"} == stamps  # nothing rewritten
    assert lines[0].endswith("0 refused before any work, 0 file(s) hashed")
    assert lines[1] == "clips: 0 file(s) decoded in 0 task(s)"  # nothing to do at all
    assert lines[2].startswith("normalize: 0 normalized, 20 up to date")
    assert lines[3].startswith("extract (seed): 0 analysed, 20 from cache")
    assert lines[4].startswith("analyze: up to date")

    write_tone(layout.raw / "gold/bass/bass_101.wav", seconds=2.0, freq=55)
    write_tone(layout.raw / "flawed/bass/bass_flawed_boomy_101.wav", seconds=2.0, freq=80)
    lines.clear()
    grown = run(layout, RunSettings(jobs=1, schema="seed"), progress=False, say=lines.append)
    assert grown.summary.total == 22
    assert lines[0].endswith("2 file(s) hashed")
    assert lines[1] == "clips: 2 file(s) decoded in 2 task(s)"  # one decode per new clip
    assert lines[2].startswith("normalize: 2 normalized, 20 up to date")
    assert lines[3].startswith("extract (seed): 2 analysed, 20 from cache")

    lines.clear()
    quieter = NormalizeSettings(target_lufs=-20.0)
    run(layout, RunSettings(jobs=1, schema="seed", normalize=quieter), progress=False,
        say=lines.append)
    assert lines[0].endswith("0 file(s) hashed")
    assert lines[1] == "clips: 22 file(s) decoded in 22 task(s)"
    assert lines[2].startswith("normalize: 22 normalized")
    assert lines[3].startswith("extract (seed): 22 analysed")  # processed audio changed

    lines.clear()
    run(layout, RunSettings(jobs=1, normalize=quieter, schema="extended"), progress=False,
        say=lines.append)
    assert lines[1] == "clips: 0 file(s) decoded in 22 task(s)"  # reads processed/ only
    assert lines[2].startswith("normalize: 0 normalized")
    assert lines[3].startswith("extract (extended): 22 analysed")


def test_local_pool_and_dask_cluster_give_the_same_tables(rendered, tmp_path):
    from distributed import LocalCluster

    serial = copy_raw(rendered, tmp_path / "serial")
    assert run(serial, RunSettings(jobs=1), progress=False).ok
    pooled = copy_raw(rendered, tmp_path / "pooled")
    assert run(pooled, RunSettings(jobs=2), progress=False).ok
    assert _tables(pooled) == _tables(serial)

    clustered = copy_raw(rendered, tmp_path / "dask")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        result = run(clustered, RunSettings(scheduler=cluster.scheduler_address),
                     progress=False)
    assert result.ok
    assert _tables(clustered) == _tables(serial)


@pytest.mark.parametrize("argv", [["run", "--force"], ["augment", "--per-gold", "1"]])
def test_an_unreachable_scheduler_is_one_line_naming_it(rendered, tmp_path, capsys, argv):
    """No 30 s wait and 66-line traceback (issue 23, defect 2): the address, what failed,
    exit 1; --scheduler-timeout says how long to wait."""
    layout = copy_raw(rendered, tmp_path / "d")
    before = sorted(layout.raw.rglob("*"))
    t0 = time.monotonic()
    code = main([*argv, "--data-dir", str(layout.root), "-q", "--scheduler",
                 "tcp://127.0.0.1:1", "--scheduler-timeout", "0.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and time.monotonic() - t0 < 15
    assert len(err) == 1 and err[0].startswith(
        "cannot reach the Dask scheduler at tcp://127.0.0.1:1: connection refused"), err
    assert sorted(layout.raw.rglob("*")) == before  # augment made nothing


def test_a_dashboard_address_is_bad_usage_before_any_work(rendered, tmp_path, capsys):
    layout = copy_raw(rendered, tmp_path / "d")
    with pytest.raises(SystemExit) as exc:
        main(["run", "--data-dir", str(layout.root), "--scheduler", "http://127.0.0.1:8787"])
    assert exc.value.code == 2
    assert "http://127.0.0.1:8787" in capsys.readouterr().err
    assert not layout.manifest.exists()
    with pytest.raises(SettingsError, match="scheduler must be None or a Dask scheduler address"):
        RunSettings(scheduler="http://127.0.0.1:8787")


@pytest.mark.parametrize("schema", ["seed", "extended"])
def test_one_pass_per_clip_gives_the_tables_of_the_separate_steps(rendered, tmp_path, schema):
    """run decodes each clip once and fingerprints the normalized samples in memory; the
    standalone steps write processed/ and read it back: the tables must be the same bytes."""
    one = copy_raw(rendered, tmp_path / "one")
    assert run(one, RunSettings(jobs=2, schema=schema), progress=False).ok
    two = copy_raw(rendered, tmp_path / "two")
    common = ["--data-dir", str(two.root), "--jobs", "2", "-q"]
    assert main(["dataset", "--init", "--manifest", "--validate", *common]) == 0
    assert main(["normalize", "--normalize", *common]) == 0
    assert main(["features", "--extract", "--schema", schema, *common]) == 0
    assert _tables(two) == _tables(one)
    assert (two.features / "features.parquet").read_bytes() == \
        (one.features / "features.parquet").read_bytes()


def test_kill_9_mid_run_then_rerun_gives_the_clean_tables(rendered, tmp_path):
    clean = copy_raw(rendered, tmp_path / "clean")
    assert run(clean, RunSettings(jobs=1), progress=False).ok

    data = tmp_path / "killed"
    killed = copy_raw(rendered, data)
    raw_before = {p: p.read_bytes() for p in killed.raw.rglob("*.wav")}
    cmd = [sys.executable, str(REPO / "run_pipeline.py"), "--data-dir", str(data), "-q",
           "--jobs", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    journal = data / "cache" / "features.jsonl"
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_bytes().count(b"\n") >= 3:
            break  # mid-extraction: some fingerprints done, most not
        time.sleep(0.02)
    assert proc.poll() is None, "the pipeline finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert processes_mentioning(str(data)) == []
    assert not (data / "features" / "features.csv").exists()
    assert subprocess.run(cmd).returncode == 0
    assert _tables(killed) == _tables(clean)
    assert list(data.rglob("*.part")) == []
    assert {p: p.read_bytes() for p in killed.raw.rglob("*.wav")} == raw_before


def test_run_with_no_audio_says_so(tmp_path, capsys):
    assert main(["run", "--data-dir", str(tmp_path / "typo")]) == 1
    assert "no data folder at" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()  # a mistyped --data-dir creates nothing
    assert main(["dataset", "--init", "-q", "--data-dir", str(tmp_path / "empty")]) == 0
    assert main(["run", "--data-dir", str(tmp_path / "empty")]) == 1
    assert "no audio in" in capsys.readouterr().err


def test_seed_run_pipeline_flags():
    out = subprocess.run([sys.executable, str(REPO / "run_pipeline.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--schema", "--jobs", "--scheduler", "--data-dir", "--target-lufs"):
        assert flag in out


def test_a_rerun_removes_only_its_own_stale_temporary_files(rendered, tmp_path):
    layout = copy_raw(rendered, tmp_path / "data")
    ours = [layout.cache / "features" / "ab" / ".~clarity.abc.json.k2j4x9q1.part",
            layout.processed / "gold" / "bass" / ".~clarity.bass_001.wav.a1b2c3d4.part",
            layout.raw / "gold" / "bass" / ".~clarity.bass_009.wav.zz99yy88.part",
            layout.root / ".~clarity.manifest.json.q1w2e3r4.part"]
    for p in ours:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half a file")
    users = [layout.raw / "gold" / "bass" / ".my notes.part",
             layout.raw / "gold" / "drums" / ".my take.wav.20240101.part",  # looks like ours
             layout.raw / "gold" / "drums" / ".kick_001.wav.abcdefgh.part"]  # old-style name
    for p in users:
        p.write_text("keep me")
    result = run(layout, RunSettings(jobs=1), progress=False)
    assert not any(p.exists() for p in ours)
    notes = "\n".join(result.reports["dataset"].notes)
    for p in users:
        assert p.read_text() == "keep me"  # never a name this package makes
        assert f"ignored {p}: hidden file" in notes  # reported, skipped, left alone
    assert result.ok  # a hidden non-audio file is not a clip that was left out


def test_the_summary_is_not_ready_when_a_table_is_not_the_one_its_metadata_vouches_for(
        rendered, tmp_path):
    from ngn_clarity.pipeline import build_summary

    layout = copy_raw(rendered, tmp_path / "data")
    assert run(layout, RunSettings(jobs=1, schema="seed"), progress=False).summary.ready
    with open(layout.features / "features.csv", "a") as f:
        f.write("x\n")
    s = build_summary(layout, RunSettings(schema="seed"), [])
    assert not s.ready and s.total == 0
    assert "features.csv is not the table its metadata describes" in s.not_ready_because[0]
    s = build_summary(layout, RunSettings(schema="extended"), [])
    assert not s.ready


def test_run_writes_the_extended_table_by_default_and_the_seeds_with_schema_seed(
        rendered, tmp_path):
    layout = copy_raw(rendered, tmp_path / "data")
    common = ["--data-dir", str(layout.root), "--jobs", "2", "-q"]
    assert main(["run", *common]) == 0
    df = pd.read_csv(layout.features / "features.csv")
    extended = SCHEMAS["extended"]
    assert list(df.columns) == extended.csv_header and df.shape == (20, 67)
    assert df.columns[3:25].tolist() == SCHEMAS["seed"].names[:22]  # the seed's 22 first
    meta = json.loads((layout.features / "feature_metadata.json").read_text())
    assert (meta["schema"], meta["schema_version"]) == ("extended", extended.version)

    assert main(["run", "--schema", "seed", *common]) == 0
    seed = pd.read_csv(layout.features / "features.csv")
    assert list(seed.columns) == SCHEMAS["seed"].csv_header and seed.shape == (20, 67)
    assert (seed.filter(like="reserved_") == 0.0).all().all()
    assert seed.iloc[:, :25].equals(df.iloc[:, :25])  # the same clips, the same 22 values


@pytest.mark.parametrize("command", ["run", "features", "train"])
def test_every_step_defaults_to_the_extended_schema(command):
    from ngn_clarity.cli import build_parser

    args = build_parser(full=command).parse_args([command, "--data-dir", "x"])
    assert args.schema == "extended" == RunSettings().schema
