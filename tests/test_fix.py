"""``clarity fix``: the remedies on known answers, the level promise, and the command's file
rules (never overwrite, dry run, refusals). The model is a stub here (the corrections are
given); ``tests/test_model.py`` runs the command with a trained model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import digest, snapshot
from ngn_clarity import loudness
from ngn_clarity.cli import main
from ngn_clarity.corrections import CORRECTION_FIELDS, EQ_CENTRES_HZ, zero_correction
from ngn_clarity.dsp import crest_db
from ngn_clarity.flaws import Chain, Limiter, Peak
from ngn_clarity.flaws.correction import eq_curve_db
from ngn_clarity.model import fix as fixmod
from ngn_clarity.model.predict import Prediction
from ngn_clarity.remedy import (CANNOT, EQ_LIMIT_DB, eq_plan, limit_true_peak, match_level,
                                remedy, restore_crest)

SR = 44100


def pink(seconds: float = 2.0, seed: int = 0, peak: float = 0.3) -> np.ndarray:
    n = int(seconds * SR)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return (x / np.max(np.abs(x)) * peak).astype(np.float32)[:, None]


def band_levels(x: np.ndarray) -> np.ndarray:
    """Power (dB) in the 1/3-octave band around each correction centre."""
    p = np.abs(np.fft.rfft(x[:, 0].astype(np.float64))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return np.array([10 * np.log10(p[(f > c * 2 ** (-1 / 6)) & (f < c * 2 ** (1 / 6))].mean())
                     for c in EQ_CENTRES_HZ])


def lufs(x: np.ndarray) -> float:
    return loudness.measure(x, SR, true_peak=False).integrated_lufs


def test_a_9_db_peak_at_300_hz_on_pink_noise_comes_back_within_1_db():
    gold = pink()
    chain = Chain([Peak(300.0, 9.0, 1.2)])
    flawed = chain(gold, SR)
    corr = chain.correction("muddy", gold, flawed, SR)
    assert corr["eq_300_db"] == pytest.approx(-9.0, abs=0.01)
    done = remedy(flawed, SR, "muddy", corr)
    assert done.out is not None
    # level-aligned (the fix keeps the flawed clip's loudness), every centre within 1 dB
    diff = band_levels(done.out) - band_levels(gold) - (lufs(done.out) - lufs(gold))
    assert np.all(np.abs(diff) < 1.0), diff
    before = band_levels(flawed) - band_levels(gold) - (lufs(flawed) - lufs(gold))
    assert np.abs(before).max() > 7.0
    # the filters pedalboard ran give what the plan says they give, at every centre
    eq = done.applied[0]
    assert eq["stage"] == "eq" and len(eq["filters"]) == 8
    bands = eq_plan([corr[f"eq_{c}_db"] for c in EQ_CENTRES_HZ], SR).bands
    measured = eq_curve_db(bands, SR, EQ_CENTRES_HZ)
    assert measured == pytest.approx([eq["achieved_db"][str(c)] for c in EQ_CENTRES_HZ],
                                     abs=0.02)
    assert measured == pytest.approx([-v for v in chain.eq_response_db(SR)], abs=0.02)


def test_a_zero_correction_leaves_a_gold_clip_as_it_was():
    gold = pink(seed=1, peak=0.2)
    done = remedy(gold, SR, "harsh", zero_correction())
    assert done.out is not None
    assert abs(lufs(done.out) - lufs(gold)) < 0.1
    assert np.abs(band_levels(done.out) - band_levels(gold)).max() < 0.1
    assert np.array_equal(done.out, gold)  # flat filters are skipped; the gain is 0 dB


def test_the_eq_plan_reaches_its_targets_and_keeps_its_limits():
    rng = np.random.default_rng(3)
    for _ in range(5):
        target = rng.uniform(-5, 5, 8)  # a zig-zag of +-10 dB an octave apart needs more
        plan = eq_plan(target, SR)
        assert list(plan.achieved_db.values()) == pytest.approx(list(target), abs=0.01)
    plan = eq_plan([0, 0, 0, 20.0, 0, 0, 0, -30.0], SR)
    assert plan.target_db[600] == EQ_LIMIT_DB and plan.target_db[12000] == -EQ_LIMIT_DB
    assert all(abs(b.gain_db) <= EQ_LIMIT_DB for b in plan.bands)
    half = eq_plan([6.0] * 8, SR, strength=0.5)
    assert list(half.achieved_db.values()) == pytest.approx([3.0] * 8, abs=0.01)
    low_rate = eq_plan([3.0] * 8, 12000)  # 0.45 x 12 kHz = 5.4 kHz
    assert low_rate.dropped == (7000, 12000) and len(low_rate.bands) == 6
    assert eq_plan([0.0] * 8, SR).flat


def test_the_level_stage_matches_loudness_under_a_true_peak_ceiling():
    x = pink(seed=2, peak=0.5)  # 6 dB louder than this puts the peaks over full scale
    out = match_level(x, SR, lufs(x) + 6.0)
    assert abs(out.report.integrated_lufs - (lufs(x) + 6.0)) <= 0.1
    assert out.report.true_peak_dbtp is not None and out.report.true_peak_dbtp <= -1.0
    assert out.limiter_db > 0 and out.to_dict()["true_peak_limiter_db"] > 0
    assert out.note == ""
    quiet = pink(seed=2, peak=0.1)
    same = match_level(quiet, SR, lufs(quiet))
    assert same.limiter_db == 0.0 and np.array_equal(same.out, quiet)
    limited, took = limit_true_peak(x, SR, -6.0)
    assert took > 0 and loudness.measure(limited, SR).true_peak_dbtp <= -5.9


def hits(seconds: float = 2.0, seed: int = 4) -> np.ndarray:
    """Decaying noise bursts every 250 ms: a crest factor worth squashing."""
    rng = np.random.default_rng(seed)
    n, period = int(seconds * SR), SR // 4
    env = np.exp(-np.arange(period) / (0.03 * SR))
    x = rng.standard_normal(n) * np.tile(env, n // period + 1)[:n] * 0.5
    return x.astype(np.float32)[:, None]


def test_the_transient_shaper_gives_back_the_crest_factor_a_limiter_took():
    gold = hits()
    squashed = Chain([Limiter(10.0, -1.0, 50.0)])(gold, SR)
    squashed *= np.float32(0.3 / np.max(np.abs(squashed)))
    lost = crest_db(gold) - crest_db(squashed)
    assert lost > 4.0
    back = restore_crest(squashed, SR, lost)
    assert back.rise_db == pytest.approx(lost, abs=0.3)
    assert abs(crest_db(back.out) - crest_db(gold)) < 0.5 * lost
    done = remedy(squashed, SR, "over_compressed", {**zero_correction(),
                                                    "restore_dynamics_db": lost}, 0.5)
    assert done.out is not None
    shaper, level = done.applied
    assert shaper["stage"] == "transient_shaper" and level["stage"] == "level"
    assert shaper["crest_rise_asked_db"] == pytest.approx(lost / 2, abs=1e-3)
    assert abs(lufs(done.out) - lufs(squashed)) <= 0.1
    assert loudness.measure(done.out, SR).true_peak_dbtp <= -1.0


def test_a_file_too_hot_for_the_ceiling_is_turned_down_and_says_so():
    hot = hits() * np.float32(8.0)  # float audio 12 dB over full scale at its peaks
    done = remedy(hot, SR, "muddy", {**zero_correction(), "eq_300_db": -3.0})
    assert done.out is not None
    level = done.applied[-1]
    assert level["output_true_peak_dbtp"] <= -1.0 and level["true_peak_limiter_db"] > 0
    assert level["output_lufs"] < level["input_lufs"] - 0.1
    assert "LU off the input's" in level["note"]


@pytest.mark.parametrize("flaw", ["distorted", "ringy", "sloppy_timing", "none", "not_sure"])
def test_what_cannot_be_undone_is_left_alone_and_said_in_one_line(flaw):
    done = remedy(pink(0.5), SR, flaw, {k: 1.0 for k in CORRECTION_FIELDS}, 1.0, "muddy")
    assert done.out is None and done.untouched and "\n" not in done.untouched
    if flaw in CANNOT:
        assert done.not_applied[0]["correction"] == CANNOT[flaw][0]
    assert ("best guess: muddy" in done.untouched) == (flaw == "not_sure")


# --- the command, with a stub model --------------------------------------------------------

class StubModels:
    def __init__(self, layout, threads: int = 1):
        self.layout = layout


def stub_judge(models, samples, sr, path, instrument=None, top=3, all_corrections=False):
    """muddy with a -9 dB correction at 300 Hz, unless the name says gold."""
    if "gold" in Path(path).name:
        return Prediction(path, "vocals", "none", 0.9, "none", [("none", 0.9)],
                          zero_correction())
    corr = {**zero_correction(), "eq_300_db": -9.0, "eq_150_db": -2.3, "eq_600_db": -2.3}
    return Prediction(path, "vocals", "muddy", 0.8, "muddy", [("muddy", 0.8)], corr)


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    monkeypatch.setattr(fixmod, "OnnxModels", StubModels)
    monkeypatch.setattr(fixmod, "judge", stub_judge)
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(str(folder / "lead_vocal.wav"), Chain([Peak(300.0, 9.0, 1.2)])(pink(1.0), SR),
             SR, subtype="PCM_24")
    sf.write(str(folder / "gold_vocal.wav"), pink(1.0, seed=5), SR, subtype="PCM_24")
    return folder


def fix_json(capsys, *args: str) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main(["fix", *args, "--json", "--data-dir", "unused"])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_fix_writes_beside_the_input_and_never_overwrites(stubbed, capsys):
    src = stubbed / "lead_vocal.wav"
    code, (r,) = fix_json(capsys, str(src))
    out = stubbed / "lead_vocal.fixed.wav"
    assert code == 0 and r["written"] and r["output"] == str(out) and r["flaw"] == "muddy"
    assert [s["stage"] for s in r["applied"]] == ["eq", "level"]
    assert {"freq_hz", "gain_db", "q", "type"} <= set(r["applied"][0]["filters"][0])
    y, sr = sf.read(str(out), dtype="float32", always_2d=True)
    info = sf.info(str(out))
    assert (sr, y.shape[1], info.subtype) == (SR, 1, "FLOAT")
    x, _ = sf.read(str(src), dtype="float32", always_2d=True)
    assert abs(lufs(y) - lufs(x)) <= 0.1 and loudness.measure(y, SR).true_peak_dbtp <= -1.0
    first = digest(out)
    code, (again,) = fix_json(capsys, str(src))
    assert code == 0 and again["output"] == str(stubbed / "lead_vocal.fixed-2.wav")
    assert digest(out) == first  # the first output is untouched
    (stubbed / "lead_vocal.fixed-3.wav").write_text("mine")
    code, (third,) = fix_json(capsys, str(src))
    assert third["output"].endswith("lead_vocal.fixed-4.wav")
    assert (stubbed / "lead_vocal.fixed-3.wav").read_text() == "mine"


def test_fix_leaves_gold_alone_and_dry_run_writes_nothing(stubbed, tmp_path, capsys):
    before = snapshot(tmp_path)
    code, results = fix_json(capsys, str(stubbed / "lead_vocal.wav"),
                             str(stubbed / "gold_vocal.wav"), "--dry-run", "--out",
                             str(tmp_path / "out"))
    assert code == 0 and snapshot(tmp_path) == before and not (tmp_path / "out").exists()
    muddy, gold = results
    assert muddy["output"] == str(tmp_path / "out" / "lead_vocal.fixed.wav")
    assert not muddy["written"] and gold["output"] is None and "left as it is" in gold["untouched"]
    code = main(["fix", str(stubbed / "gold_vocal.wav"), "--data-dir", "unused"])
    assert code == 0 and "no flaw heard" in capsys.readouterr().out
    assert snapshot(tmp_path) == before


def test_a_file_the_reader_refuses_gets_its_reason_and_exit_1(stubbed, capsys):
    bad = stubbed / "notes.wav"
    bad.write_text("not audio")
    capsys.readouterr()
    code = main(["fix", str(bad), str(stubbed / "lead_vocal.wav"), "--data-dir", "unused"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip() == f"{bad}: not an audio file (format not recognised)"
    assert (stubbed / "lead_vocal.fixed.wav").is_file()  # the others are still fixed
    with pytest.raises(SystemExit) as usage:
        main(["fix", str(bad), "--strength", "2", "--data-dir", "unused"])
    assert usage.value.code == 2 and "strength must be a number in [0, 1]" in \
        capsys.readouterr().err


def test_the_report_section_draws_what_the_benchmark_left_and_costs_nothing_without(layout):
    from ngn_clarity.report import fix as section

    assert "benchmarks/fix.py" in section.section(layout) and "<img" not in \
        section.section(layout)
    centres = [1000.0 * 2 ** (k / 3) for k in range(-13, 13)]
    clip = {"file": "x.wav", "instrument": "vocals", "flaw": "muddy", "predicted": "muddy",
            "before_db": 4.2, "after_db": 1.1, "gold": [-20.0] * 26,
            "flawed": [-20.0] * 10 + [-12.0] * 3 + [-20.0] * 13,
            "fixed": [-20.5] * 25 + [None]}
    (layout.root / "reports").mkdir(exist_ok=True)
    (layout.root / section.INPUT).write_text(json.dumps({"centres_hz": centres,
                                                         "clips": [clip, clip]}))
    text = section.section(layout)
    assert text.count('<img src="data:image/png;base64,') == 1


def test_an_output_folder_that_cannot_be_made_is_one_line_and_exit_1(stubbed, capsys):
    blocker = stubbed / "taken"
    blocker.write_text("a file, not a folder")
    code, (r,) = fix_json(capsys, str(stubbed / "lead_vocal.wav"), "--out", str(blocker))
    assert code == 1 and r["error"] == f"cannot create folder {blocker}: a file is in the way"
    assert blocker.read_text() == "a file, not a folder"
