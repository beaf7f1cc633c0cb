"""clarity synth: the embedded dataset and its flaw engine with exact labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

from conftest import digest, write_tone
from ngn_clarity import dataset, taxonomy
from ngn_clarity.cli import main
from ngn_clarity.layout import Layout
from ngn_clarity.records import read_record
from ngn_clarity.synth import CORRECTION_FIELDS, clips, default_soundfont, flaws, synthesize

SF2 = str(default_soundfont())


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("synth") / "data")
    rep = synthesize(layout, per_instrument=5, seed=7, jobs=2, progress=False)
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
    rep = dataset.validate(small_set)
    assert rep.errors == []
    assert not [f for f in rep.warnings if "clipping" in f.message or "short" in f.message]


def test_same_seed_gives_bit_identical_files(small_set, tmp_path):
    again = Layout(tmp_path / "again")
    synthesize(again, per_instrument=5, seed=7, jobs=1, progress=False)
    other = Layout(tmp_path / "other")
    synthesize(other, per_instrument=5, seed=8, jobs=1, progress=False)

    def hashes(layout):
        return {p.relative_to(layout.raw).as_posix(): digest(p)
                for p in sorted(layout.raw.rglob("*.wav"))}

    assert hashes(again) == hashes(small_set)
    assert hashes(other) != hashes(small_set)


def test_rerun_is_up_to_date_and_never_overwrites(tmp_path):
    layout = Layout(tmp_path / "d")
    foreign = write_tone(layout.raw_dir("gold", "bass") / "bass_001.wav", freq=55)
    before = digest(foreign)
    rep = synthesize(layout, per_instrument=2, seed=1, jobs=1, progress=False)
    assert digest(foreign) == before
    assert [Path(s.path).name for s in rep.skipped] == ["bass_001.wav"]
    assert "not overwritten" in rep.skipped[0].reason
    again = synthesize(layout, per_instrument=2, seed=1, jobs=1, progress=False)
    assert all(r["status"] == "up_to_date" for r in again.done)


# --- flaws are audible and measurable ------------------------------------------------------

def _mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1)


def band_share(x: np.ndarray, sr: int, lo: float, hi: float) -> float:
    f, p = welch(_mono(x), sr, nperseg=8192)
    return float(p[(f >= lo) & (f < hi)].sum() / p[(f >= 20) & (f <= 20000)].sum())


def crest_db(x: np.ndarray) -> float:
    m = _mono(x)
    return float(20 * np.log10(np.abs(m).max() / np.sqrt(np.mean(m ** 2))))


def tail_db(x: np.ndarray, sr: int) -> float:
    m = _mono(x)
    n = int(0.2 * sr)
    return float(10 * np.log10(np.mean(m[-n:] ** 2) / np.mean(m ** 2) + 1e-12))


def onset_deviation_ms(x: np.ndarray, sr: int, tempo: float) -> float:
    """Mean distance (ms) of detected onsets from the best-fitting sixteenth-note grid.

    Onsets: rises of more than 6 dB within ~9 ms in the 128-hop frame energy, 40 ms apart.
    """
    m, hop, win = _mono(x), 128, 512
    count = (len(m) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(count)[:, None]
    e = 10 * np.log10(np.mean(m[idx] ** 2, axis=1) + 1e-12)
    rise = np.zeros_like(e)
    rise[3:] = e[3:] - e[:-3]
    times: list[float] = []
    for i in range(1, len(rise) - 1):
        if rise[i] > 6 and rise[i] >= rise[i - 1] and rise[i] >= rise[i + 1]:
            if not times or i * hop / sr - times[-1] > 0.04:
                times.append(i * hop / sr)
    t, step = np.array(times), 60.0 / tempo / 4
    if len(t) < 2:
        return 0.0
    return float(min(np.mean(np.abs((t - ph) / step - np.round((t - ph) / step))) * step * 1e3
                     for ph in np.linspace(0, step, 50, endpoint=False)))


# flaw -> (quantity, +1 if the flaw must raise it, -1 if lower it)
QUANTITY = {
    "muddy": (lambda x, sr: band_share(x, sr, 200, 500), +1),
    "harsh": (lambda x, sr: band_share(x, sr, 2000, 5000), +1),
    "thin": (lambda x, sr: band_share(x, sr, 20, 200), -1),
    "over_compressed": (lambda x, sr: crest_db(x), -1),
    "nasal": (lambda x, sr: band_share(x, sr, 800, 1500), +1),
    "boxy": (lambda x, sr: band_share(x, sr, 300, 800), +1),
    "over_sibilant": (lambda x, sr: band_share(x, sr, 5000, 10000), +1),
    "boomy": (lambda x, sr: band_share(x, sr, 60, 120), +1),
    "dark": (lambda x, sr: band_share(x, sr, 5000, 20000), -1),
    "undefined": (lambda x, sr: band_share(x, sr, 400, 20000), -1),
    "distorted": (lambda x, sr: crest_db(x), -1),
    "ringy": (tail_db, +1),
}


@pytest.mark.parametrize("instrument, flaw", taxonomy.flaw_pairs())
def test_each_flaw_moves_what_it_names(instrument, flaw):
    golds, flawed = clips.plan(instrument, 10, 10, seed=3, soundfont=SF2)
    specs = [f for f in flawed if f.flaw == flaw]
    assert len(specs) == 2
    for spec in specs:
        bad, _ = clips.render_flawed(spec, SF2)
        good, _ = clips.render_gold(spec.gold, SF2)
        sr = spec.gold.sample_rate
        if flaw == "sloppy_timing":
            tempo = spec.gold.groove.tempo
            assert onset_deviation_ms(bad, sr, tempo) > onset_deviation_ms(good, sr, tempo) + 2
            continue
        quantity, sign = QUANTITY[flaw]
        assert sign * (quantity(bad, sr) - quantity(good, sr)) > 0, (spec.gold.name, spec.severity)


@pytest.mark.parametrize("slug", ["muddy", "thin", "dark", "boomy", "harsh"])
def test_eq_correction_undoes_the_filter(slug):
    """Filter white noise with the flaw; the band gains at the centres are -correction."""
    sr, rng = 48000, np.random.default_rng(0)
    noise = rng.standard_normal((sr * 4, 1)).astype(np.float32) * 0.1
    effect = flaws.FLAWS[slug]
    params = effect.sample(rng, 0.8, "guitar", noise, sr)
    filtered = effect.apply(noise, sr, params)
    corr = flaws.correction(slug, params, noise, filtered, sr)
    f, p_in = welch(noise[:, 0], sr, nperseg=4096)
    _, p_out = welch(filtered[:, 0], sr, nperseg=4096)
    for centre in flaws.EQ_CENTRES_HZ:
        measured = 10 * np.log10(np.interp(centre, f, p_out) / np.interp(centre, f, p_in))
        expected = -corr[f"eq_{centre}_db"]
        if abs(expected) < flaws.EQ_LIMIT_DB:
            assert measured == pytest.approx(expected, abs=1.0), centre


def test_dynamics_drive_and_jitter_corrections():
    golds, flawed = clips.plan("drums", 10, 10, seed=3, soundfont=SF2)
    by_flaw = {f.flaw: clips.render_flawed(f, SF2)[1] for f in flawed}
    assert by_flaw["over_compressed"]["correction"]["restore_dynamics_db"] > 2.0
    assert 15 <= by_flaw["sloppy_timing"]["correction"]["remove_jitter_ms"] <= 40
    golds, flawed = clips.plan("bass", 10, 10, seed=3, soundfont=SF2)
    dist = next(f for f in flawed if f.flaw == "distorted")
    meta = clips.render_flawed(dist, SF2)[1]
    assert meta["correction"]["remove_drive_db"] == pytest.approx(meta["params"]["drive_db"],
                                                                  abs=1e-3)


def test_synth_cli(tmp_path, capsys):
    data = tmp_path / "d"
    assert main(["synth", "--per-instrument", "1", "--seed", "2", "--jobs", "1",
                 "--data-dir", str(data), "-q"]) == 0
    assert len(list((data / "raw").rglob("*.wav"))) == 10
    assert main(["synth", "--soundfont", str(tmp_path / "missing.sf2"),
                 "--data-dir", str(data)]) == 1
    assert "does not exist" in capsys.readouterr().err
    m = json.loads(json.dumps(dataset.build_manifest(Layout(data))))
    assert m["summary"]["total"] == 10
