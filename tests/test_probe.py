"""Issue 23: what a new user's probe found, each a clear line now (the defects' tests are with
their steps: test_synth, test_pipeline, test_model, test_augment)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import copy_raw, write_tone
from ngn_clarity.cli import main
from ngn_clarity.layout import Layout
from ngn_clarity.steps.synth import SynthSettings, synthesize


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rendered") / "data"
    synthesize(Layout(root), SynthSettings(per_instrument=1, seed=5), jobs=1, progress=False)
    return root


def _err(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_odd_entries_under_raw_each_get_one_clear_line(rendered, tmp_path, capsys):
    """A capitalised instrument folder is told names are lower-case; a folder named like an
    audio file is reported, not ignored; a newline in a file name keeps its line whole."""
    layout = copy_raw(rendered, tmp_path / "d")
    clip = write_tone(layout.raw / "gold" / "Drums" / "kick_009.wav", seconds=1.0)
    folder = layout.raw / "gold" / "bass" / "x.wav"
    folder.mkdir()
    odd = layout.raw / "gold" / "keys" / "bad\nname.wav"
    odd.write_text("not audio")
    assert main(["run", "--data-dir", str(layout.root), "-q", "--jobs", "1"]) == 1
    err = _err(capsys)
    assert f"  skipped {clip}: left out: not under raw/<gold|flawed>/<instrument>/ (folder " \
           f"names are lower-case: rename raw/gold/Drums to raw/gold/drums)" in err
    assert f"  skipped {folder}: left out: is a directory, not an audio file" in err
    line = next(e for e in err if "bad" in e)
    assert "bad\\nname.wav" in line and line.endswith("not an audio file (format not "
                                                       "recognised)")
    assert not any(e.startswith("name.wav") for e in err)


def test_more_jobs_than_cores_is_a_warning_and_workers_stay_one_per_clip(tmp_path, capsys):
    from ngn_clarity.executor import run_tasks

    cores = os.cpu_count() or 1
    clip = write_tone(tmp_path / "kick.wav", seconds=0.5)
    assert main(["features", str(clip), "--jobs", str(cores + 1), "-q"]) == 0
    err = _err(capsys)
    assert len(err) == 1 and err[0].startswith(f"warning: --jobs {cores + 1} is more than the "
                                               f"{cores} CPU core(s) here")
    pids = {pid for _, pid in run_tasks(_pid, [0, 1, 2], jobs=64)}
    assert 1 <= len(pids) <= 3 and os.getpid() not in pids


def _pid(_: int) -> int:
    return os.getpid()


def test_copies_share_one_split_group_and_the_run_says_so(rendered, tmp_path, capsys):
    import pandas as pd
    import shutil

    layout = copy_raw(rendered, tmp_path / "d")
    src = sorted(layout.raw_dir("gold", "keys").iterdir())[0]
    shutil.copy(src, layout.raw_dir("gold", "keys") / "keys_050.wav")  # same bytes
    assert main(["run", "--data-dir", str(layout.root), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 clip(s) have the same content as another clip: copies share one split group" \
           in out and "Ready for training: ✓" in out
    labels = pd.read_csv(layout.features / "labels.csv")
    keys = labels[labels["instrument"] == "keys"]
    group = keys.loc[keys["file"] == src.name, "group"].item()
    assert keys.loc[keys["file"] == "keys_050.wav", "group"].item() == group
    assert set(keys["group"]) == {group}  # the flawed child of the first copy too


@pytest.mark.parametrize("counts, shown", [
    ({"bass": 100, "drums": 100, "guitar": 100, "keys": 100, "vocals": 100},
     "500 (100 per instrument x 5 categories)"),
    ({"drums": 5000}, "5000 (drums 5000; none of vocals, bass, guitar, keys)"),
    ({"bass": 3, "drums": 2, "guitar": 2, "keys": 2, "vocals": 2},
     "11 (bass 3, drums 2, guitar 2, keys 2, vocals 2)"),
])
def test_the_summary_says_which_instruments_it_has(counts, shown):
    """It said "5000 per instrument x 1 category" when only drums were there (issue 23)."""
    from ngn_clarity.pipeline import Summary, format_summary

    s = Summary("extended", gold=sum(counts.values()), gold_per_instrument=counts)
    assert f"   Gold samples:   {shown}\n" in format_summary(s)
