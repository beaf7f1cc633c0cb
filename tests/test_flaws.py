"""The flaw engine: every variant of every flaw moves what it names, and its correction is exact."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from scipy.signal import welch

from flawmetrics import named_quantity, onset_shift_ms
from ngn_clarity import flaws, taxonomy
from ngn_clarity.corrections import CORRECTION_FIELDS, EQ_CENTRES_HZ
from ngn_clarity.dsp import crest_db
from ngn_clarity.flaws import (Bitcrush, Limiter, Peak, Shaper, SliceJitter, eq_response_db,
                               make_flawed)
from ngn_clarity.synth import clips
from ngn_clarity.synth.voices import default_soundfont

SF2 = str(default_soundfont())
GOLDS_PER_CASE = 2


@lru_cache(maxsize=None)
def golds(instrument: str) -> tuple[tuple[np.ndarray, int, str], ...]:
    """Rendered gold clips of the embedded set (SoundFont and procedural), one per recipe."""
    specs, _ = clips.plan(instrument, 8, 0, seed=3, soundfont=SF2)
    return tuple((clips.render_gold_raw(g, SF2).audio, g.sample_rate, g.name) for g in specs)


CASES = [(inst, flaw, variant) for inst, flaw in taxonomy.flaw_pairs()
         for variant in sorted(flaws.VARIANTS[flaw])]


def test_every_flaw_has_at_least_three_variants_and_draws_them_all():
    assert set(flaws.VARIANTS) == set(taxonomy.ALL_FLAW_SLUGS)
    x = np.random.default_rng(0).standard_normal((44100 * 2, 1)).astype(np.float32) * 0.1
    x[::11025] += 0.8  # a few hits, so slices can move
    for flaw, variants in flaws.VARIANTS.items():
        assert len(variants) >= 3, flaw
        inst = next(i for i in taxonomy.INSTRUMENTS if flaw in taxonomy.flaws_for(i))
        drawn = {make_flawed(x, 44100, inst, flaw, 0.5, np.random.default_rng(s)).variant
                 for s in range(40)}
        assert drawn == set(variants), flaw


@pytest.mark.parametrize("instrument, flaw, variant", CASES)
def test_every_variant_moves_what_its_flaw_names(instrument, flaw, variant):
    k = len(golds(instrument))
    for j in range(GOLDS_PER_CASE):  # a different pair of gold clips for each variant
        gold, sr, name = golds(instrument)[(j + sorted(flaws.VARIANTS[flaw]).index(variant)
                                            + CASES.index((instrument, flaw, variant))) % k]
        for severity in (0.0, 1.0):
            made = make_flawed(gold, sr, instrument, flaw, severity,
                               np.random.default_rng([j, int(severity)]), variant)
            assert made.variant == variant and made.flaw == flaw
            moved, least = named_quantity(flaw, made.audio, gold, sr)
            assert moved > least, (name, severity, moved, made.chain)
            assert list(made.correction) == list(CORRECTION_FIELDS)
            assert np.max(np.abs(made.audio)) == pytest.approx(np.max(np.abs(gold)), rel=1e-5)


EQ_ONLY = [(flaw, v) for flaw in ("muddy", "harsh", "nasal", "boxy", "over_sibilant", "boomy",
                                  "thin", "dark") for v in sorted(flaws.VARIANTS[flaw])]


@pytest.mark.parametrize("flaw, variant", EQ_ONLY)
def test_eq_correction_is_minus_the_measured_response(flaw, variant):
    """White noise through the chain: the measured gain at each centre is -correction."""
    sr, rng = 48000, np.random.default_rng(7)
    noise = rng.standard_normal((sr * 8, 1)).astype(np.float32) * 0.1
    inst = next(i for i in taxonomy.INSTRUMENTS if flaw in taxonomy.flaws_for(i))
    made = make_flawed(noise, sr, inst, flaw, 0.8, rng, variant)
    f, p_in = welch(noise[:, 0], sr, nperseg=16384)  # 2.9 Hz: resolves a Q 4 boost at 60 Hz
    _, p_out = welch(made.audio[:, 0], sr, nperseg=16384)
    offset = _level_db(made, noise)  # the flat gain that set the peak back: not EQ
    checked = 0
    for centre in EQ_CENTRES_HZ:
        expected = -made.correction[f"eq_{centre}_db"]
        if abs(expected) >= flaws.EQ_LIMIT_DB:
            continue
        measured = 10 * np.log10(np.interp(centre, f, p_out) / np.interp(centre, f, p_in))
        assert measured - offset == pytest.approx(expected, abs=1.0), centre
        checked += 1
    assert checked >= 5


def _level_db(made, noise) -> float:
    """The flat gain the engine applied to bring the peak back (not part of the EQ)."""
    out = flaws.Chain.from_dicts(made.chain)(noise.copy(), 48000)
    return float(20 * np.log10(np.max(np.abs(made.audio)) / np.max(np.abs(out))))


def test_eq_response_of_known_filters():
    sr = 48000
    peak = eq_response_db([Peak(1200.0, 9.0, 1.4)], sr)
    assert peak[EQ_CENTRES_HZ.index(1200)] == pytest.approx(9.0, abs=0.05)
    assert abs(peak[EQ_CENTRES_HZ.index(60)]) < 0.05
    hp = eq_response_db([flaws.Butterworth("highpass", 300.0, 2)], sr)
    assert hp[EQ_CENTRES_HZ.index(300)] == pytest.approx(-3.01, abs=0.05)  # -3 dB at cutoff
    assert hp[EQ_CENTRES_HZ.index(150)] == pytest.approx(-12.3, abs=0.3)  # 12 dB/octave
    assert eq_response_db([Shaper("tanh", 20.0), Limiter(6.0, -1.0, 50.0)], sr).tolist() == [
        0.0] * 8  # non-linear stages are not EQ


def test_dynamics_drive_jitter_and_wet_corrections_come_from_what_was_done():
    drums, sr, _ = golds("drums")[0]
    made = make_flawed(drums, sr, "drums", "over_compressed", 0.7,
                       np.random.default_rng(1), "limiter")
    assert made.correction["restore_dynamics_db"] == pytest.approx(
        crest_db(drums) - crest_db(made.audio), abs=0.01)
    assert made.correction["restore_dynamics_db"] > 1.0
    bass, sr, _ = golds("bass")[0]
    for variant in ("tanh", "hard_clip", "asymmetric", "foldback"):
        made = make_flawed(bass, sr, "bass", "distorted", 0.5, np.random.default_rng(2),
                           variant)
        assert made.correction["remove_drive_db"] == pytest.approx(
            made.chain[0]["drive_db"], abs=1e-3)
    made = make_flawed(bass, sr, "bass", "distorted", 0.5, np.random.default_rng(2),
                       "bitcrush")
    assert made.correction["remove_drive_db"] == pytest.approx(
        6.02 * (16 - made.chain[0]["bits"]), abs=0.01)
    keys, sr, _ = golds("keys")[0]
    for variant in ("room", "convolution", "modal"):
        made = make_flawed(keys, sr, "keys", "ringy", 0.5, np.random.default_rng(3), variant)
        assert made.correction["remove_reverb_wet"] == pytest.approx(made.chain[-1]["wet"],
                                                                     abs=1e-4)


def test_jitter_correction_is_the_shift_the_hits_actually_moved():
    """Each moved slice's audio is found in the output exactly at its recorded shift."""
    for gold, sr, name in golds("drums")[:4]:
        fade = int(0.005 * sr)
        for mode in ("scatter", "drift", "flams"):
            out, shifts = SliceJitter(mode, 25.0, 11).apply(gold, sr)
            cuts = SliceJitter.cuts(gold, sr)
            assert len(shifts) == len(cuts) - 1 >= 2, name
            ends = np.append(cuts[2:], len(gold))
            for cut, end, shift in zip(cuts[1:], ends, shifts):
                a = cut + fade + 10  # past the fade-in, before the next slice
                b = min(a + int(0.010 * sr), end - fade, len(gold) - abs(shift) - 1)
                if b - a < 50 or a + shift < 0:
                    continue
                np.testing.assert_allclose(out[a + shift:b + shift], gold[a:b], atol=1e-6,
                                           err_msg=f"{name} {mode} cut {cut}")
            assert onset_shift_ms(out, gold, sr) > 3
    made = make_flawed(gold, sr, "drums", "sloppy_timing", 0.5, np.random.default_rng(4),
                       "scatter")
    assert made.correction["remove_jitter_ms"] > 5 and made.facts["slices_moved"] >= 2


def test_slice_jitter_makes_no_clicks():
    """No sample step of the jittered clip is larger than the gold clip's largest step."""
    for gold, sr, name in golds("drums"):
        for mode in ("scatter", "drift", "flams"):
            for sigma in (10.0, 40.0):
                out, _ = SliceJitter(mode, sigma, 5).apply(gold, sr)
                natural = float(np.max(np.abs(np.diff(gold, axis=0))))
                assert float(np.max(np.abs(np.diff(out, axis=0)))) <= natural * 1.0001, (
                    name, mode, sigma)
                assert out.shape == gold.shape


def test_the_engine_is_deterministic_and_records_every_drawn_parameter():
    gold, sr, _ = golds("guitar")[0]
    a = make_flawed(gold, sr, "guitar", "boxy", 0.4, np.random.default_rng(9))
    b = make_flawed(gold, sr, "guitar", "boxy", 0.4, np.random.default_rng(9))
    assert np.array_equal(a.audio, b.audio) and a.chain == b.chain
    # the recorded chain rebuilds the same audio
    out = gold
    for stage in a.chain:
        out = Peak(stage["freq_hz"], stage["gain_db"], stage["q"])(out, sr)
    out *= np.max(np.abs(a.audio)) / np.max(np.abs(out))
    np.testing.assert_allclose(out, a.audio, atol=2e-4)
    with pytest.raises(taxonomy.TaxonomyError):
        make_flawed(gold, sr, "guitar", "nasal", 0.4, np.random.default_rng(9))
    assert Bitcrush(4.0, 2).to_dict() == {"transform": "Bitcrush", "bits": 4.0, "hold": 2}


# --- the second implementations: known answers -------------------------------------------------

def _gain_at(x: np.ndarray, y: np.ndarray, sr: int, freqs) -> np.ndarray:
    f, p_in = welch(x[:, 0], sr, nperseg=16384)
    _, p_out = welch(y[:, 0], sr, nperseg=16384)
    return np.array([10 * np.log10(np.interp(c, f, p_out) / np.interp(c, f, p_in))
                     for c in freqs])


def test_fir_bell_has_its_gain_at_the_centre_and_half_at_half_the_width():
    sr = 48000
    noise = np.random.default_rng(1).standard_normal((sr * 8, 1)).astype(np.float32) * 0.1
    t = flaws.FirEq("bell", 1000.0, 9.0, 1.0)
    g = _gain_at(noise, t(noise, sr), sr, [1000.0, 1000 * 2 ** 0.5, 1000 / 2 ** 0.5, 8000])
    assert g[0] == pytest.approx(9.0, abs=0.3)
    assert g[1] == pytest.approx(4.5, abs=0.4) and g[2] == pytest.approx(4.5, abs=0.4)
    assert abs(g[3]) < 0.3
    assert eq_response_db([t], sr)[EQ_CENTRES_HZ.index(1200)] == pytest.approx(
        float(t.response_db(np.array([1200.0]))[0]), abs=0.3)  # the correction sees it too


def test_fir_shelves_and_ladder_filters_slope_as_designed():
    sr = 48000
    noise = np.random.default_rng(2).standard_normal((sr * 8, 1)).astype(np.float32) * 0.1
    low = _gain_at(noise, flaws.FirEq("low_shelf", 300.0, -12.0, 1.0)(noise, sr), sr,
                   [60.0, 300.0, 3000.0])
    assert low[0] == pytest.approx(-12.0, abs=0.6) and low[1] == pytest.approx(-6.0, abs=0.6)
    assert abs(low[2]) < 0.3
    for mode, per_octave in (("lpf12", 12.0), ("lpf24", 24.0)):
        g = _gain_at(noise, flaws.Ladder(mode, 1000.0)(noise, sr), sr, [200.0, 4000.0, 8000.0])
        assert abs(g[0]) < 1.5
        assert g[1] - g[2] == pytest.approx(per_octave, abs=3.0), mode  # the slope an octave up
    hp = _gain_at(noise, flaws.Ladder("hpf24", 1000.0)(noise, sr), sr, [125.0, 250.0, 8000.0])
    assert hp[1] - hp[0] == pytest.approx(24.0, abs=3.0) and abs(hp[2]) < 1.5


def test_rms_compressor_follows_its_static_curve_on_a_steady_tone():
    sr = 44100
    t = np.arange(sr * 2) / sr
    for level_db in (-30.0, -12.0, -6.0):
        amp = 10 ** (level_db / 20) * np.sqrt(2)  # RMS = level_db
        x = (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
        comp = flaws.RmsCompressor(-20.0, 4.0, 5.0, 50.0, knee_db=0.0, window_ms=20.0)
        y = comp(x, sr)
        steady = slice(sr // 2, None)
        got = 20 * np.log10(np.sqrt(np.mean(x[steady] ** 2)) / np.sqrt(np.mean(y[steady] ** 2)))
        want = max(0.0, (level_db + 20.0) * (1 - 1 / 4.0))
        assert got == pytest.approx(want, abs=0.3), level_db
    knee = flaws.RmsCompressor(-20.0, 4.0, 5.0, 50.0, knee_db=6.0)
    assert knee.gain_reduction_db(np.array([-20.0]))[0] == pytest.approx(0.75 * 9 / 12)


def test_look_ahead_lets_the_rms_compressor_catch_attacks():
    from ngn_clarity.flaws import quantities as Q

    x = Q.hits()
    slow = flaws.RmsCompressor(-40.0, 10.0, 2.0, 100.0, knee_db=0.0, window_ms=5.0)
    ahead = flaws.RmsCompressor(-40.0, 10.0, 2.0, 100.0, knee_db=0.0, window_ms=5.0,
                                lookahead_ms=6.0)
    assert Q.crest_loss_db(x, ahead(x, 44100)) > Q.crest_loss_db(x, slow(x, 44100)) + 1.5


def test_schroeder_room_decays_by_60_db_in_its_rt60():
    from ngn_clarity.flaws.space import schroeder_impulse

    sr = 44100
    ir = schroeder_impulse(sr, 1.2).astype(np.float64)
    energy = np.cumsum(ir[::-1] ** 2)[::-1]  # Schroeder backward integration
    edc = 10 * np.log10(energy / energy[0])
    t20 = np.argmax(edc < -25) - np.argmax(edc < -5)  # T20 fit range, extrapolated to 60 dB
    assert 3 * t20 / sr == pytest.approx(1.2, rel=0.25)
    assert np.sum(ir ** 2) == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("curve, harmonic", [("cubic", 3), ("arctan", 3), ("diode", 2)])
def test_new_shaper_curves_make_the_harmonics_of_their_family(curve, harmonic):
    sr = 48000
    t = np.arange(sr) / sr
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[:, None]
    y = Shaper(curve, 12.0)(x, sr)[:, 0].astype(np.float64)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    h = [spec[1000 * k - 3:1000 * k + 4].max() for k in (1, 2, 3)]
    assert h[harmonic - 1] > 0.05 * h[0]  # the family's harmonic is strong
    if harmonic == 3:
        assert h[1] < 1e-3 * h[0]  # odd curves make no even harmonics
    assert np.max(np.abs(y)) <= 0.5 + 1e-6  # never past the clip's own peak
