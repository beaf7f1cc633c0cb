"""EBU Tech 3341 / 3342 conformance, on signals built here, at 44.1 and 48 kHz."""

from __future__ import annotations

import numpy as np
import pytest

from ngn_clarity import loudness

RATES = [44100, 48000]


def sine(seconds: float, dbfs: float, sr: int, freq: float = 1000.0, channels: int = 2,
         phase_deg: float = 0.0, start: int = 0) -> np.ndarray:
    n = int(round(seconds * sr))
    t = (np.arange(n) + start) / sr
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t + np.deg2rad(phase_deg))
    return np.repeat(x[:, None], channels, axis=1)


def sequence(sr: int, parts: list[tuple[float, float]]) -> np.ndarray:
    """Concatenated 1 kHz stereo sine segments (seconds, dBFS), phase-continuous."""
    out, start = [], 0
    for seconds, dbfs in parts:
        seg = sine(seconds, dbfs, sr, start=start)
        out.append(seg)
        start += seg.shape[0]
    return np.concatenate(out)


# --- Tech 3341: integrated loudness, cases 1-6 (tolerance +/-0.1 LU) ------------------------

TECH_3341_I = {
    1: ([(20, -23.0)], -23.0),
    2: ([(20, -33.0)], -33.0),
    3: ([(10, -36.0), (60, -23.0), (10, -36.0)], -23.0),
    4: ([(10, -72.0), (10, -36.0), (60, -23.0), (10, -36.0), (10, -72.0)], -23.0),
    5: ([(20, -26.0), (20.1, -20.0), (20, -26.0)], -23.0),
}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(TECH_3341_I))
def test_tech3341_integrated(case, sr):
    parts, expected = TECH_3341_I[case]
    report = loudness.measure(sequence(sr, parts), sr)
    assert report.integrated_lufs == pytest.approx(expected, abs=0.1)
    assert report.flags == ()


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case6_five_channels(sr):
    x = np.concatenate([sine(20, -28.0, sr, channels=2),     # L R
                        sine(20, -24.0, sr, channels=1),     # C
                        sine(20, -30.0, sr, channels=2)],    # Ls Rs
                       axis=1)
    assert loudness.measure(x, sr).integrated_lufs == pytest.approx(-23.0, abs=0.1)


# --- Tech 3341: short-term (case 9) and momentary (case 12) -------------------------------

@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case9_short_term_constant(sr):
    x = sequence(sr, [(1.34, -20.0), (1.66, -30.0)] * 5)
    _, short_term = loudness.loudness_series(x, sr)
    assert short_term.size > 0
    # every 3 s window holds 1.34 s at -20 dBFS and 1.66 s at -30 dBFS: -23.0 LUFS
    assert np.all(np.abs(short_term - -23.0) <= 0.1)


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case12_momentary_constant(sr):
    x = sequence(sr, [(0.18, -20.0), (0.22, -30.0)] * 25)
    momentary, _ = loudness.loudness_series(x, sr)
    after_1s = momentary[7:]  # windows starting at >= 0.7 s end at >= 1.1 s
    assert after_1s.size > 50
    assert np.all(np.abs(after_1s - -23.0) <= 0.1)
    report = loudness.measure(x, sr)
    assert report.momentary_max_lufs == pytest.approx(-23.0, abs=0.1)


# --- Tech 3341: true peak, cases 15-19 (tolerance +0.2 / -0.4 dB) ----------------------------

TECH_3341_TP = {
    15: (4, 0.50, 0.0, -6.0),
    16: (4, 0.50, 45.0, -6.0),
    17: (6, 0.50, 60.0, -6.0),
    18: (8, 0.50, 67.5, -6.0),
    19: (4, 1.41, 45.0, 3.0),
}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(TECH_3341_TP))
def test_tech3341_true_peak(case, sr):
    divisor, amp, phase, expected = TECH_3341_TP[case]
    n = sr  # 1 s
    t = np.arange(n)
    x = amp * np.sin(2 * np.pi * t / divisor + np.deg2rad(phase))
    # The cases measure a steady sine's inter-sample peak. Starting the sine mid-cycle is a
    # step from zero whose ringing in the 4x interpolator reads up to 0.6 dB high, so the
    # signal gets 10 ms raised-cosine fades (the middle 0.98 s is the exact case signal).
    fade = int(0.01 * sr)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade))
    x[:fade] *= ramp
    x[-fade:] *= ramp[::-1]
    stereo = np.repeat(x[:, None], 2, axis=1)
    tp = loudness.measure(stereo, sr).true_peak_dbtp
    assert expected - 0.4 <= tp <= expected + 0.2


# --- Tech 3342: loudness range, cases 1-4 (tolerance +/-1 LU) ------------------------------

TECH_3342 = {
    1: ([(20, -20.0), (20, -30.0)], 10.0),
    2: ([(20, -20.0), (20, -15.0)], 5.0),
    3: ([(20, -40.0), (20, -20.0)], 20.0),
    4: ([(20, -50.0), (20, -35.0), (20, -20.0), (20, -35.0), (20, -50.0)], 15.0),
}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(TECH_3342))
def test_tech3342_loudness_range(case, sr):
    parts, expected = TECH_3342[case]
    assert loudness.measure(sequence(sr, parts), sr).loudness_range_lu == \
        pytest.approx(expected, abs=1.0)


# --- the pipeline's own rules ---------------------------------------------------------------

@pytest.mark.parametrize("sr", RATES)
def test_mono_is_measured_as_dual_mono(sr):
    mono = sine(5, -23.0, sr, channels=1)
    stereo = np.repeat(mono, 2, axis=1)
    m, s = loudness.measure(mono, sr), loudness.measure(stereo, sr)
    assert m.integrated_lufs == pytest.approx(s.integrated_lufs, abs=0.01)
    assert m.flags == ("dual_mono",)
    plain = loudness.measure(mono, sr, mono_as_dual=False)
    assert s.integrated_lufs - plain.integrated_lufs == pytest.approx(3.01, abs=0.02)


@pytest.mark.parametrize("sr", RATES)
def test_short_clip_is_ungated_over_the_whole_clip_and_flagged(sr):
    r = loudness.measure(sine(0.3, -23.0, sr), sr)
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.2)
    assert "short_clip" in r.flags and "short_for_lra" in r.flags
    assert r.momentary_max_lufs is None and r.short_term_max_lufs is None
    assert r.loudness_range_lu == 0.0


def test_lra_is_unbiased_on_short_steady_noise():
    rng = np.random.default_rng(1)
    noise = 0.1 * rng.standard_normal((5 * 48000, 2))
    assert loudness.measure(noise, 48000).loudness_range_lu < 0.5


@pytest.mark.parametrize("x", [np.zeros((48000, 2)), np.full((48000, 2), 1e-6),
                               np.zeros((4800, 1))])
def test_silence_is_an_error_not_a_number(x):
    with pytest.raises(loudness.SilentAudioError, match="-70 LUFS"):
        loudness.measure(x, 48000)


def test_non_finite_audio_is_refused():
    x = sine(1, -20, 48000)
    x[10, 0] = np.nan
    with pytest.raises(loudness.LoudnessError, match="NaN"):
        loudness.measure(x, 48000)


def test_gain_to_target_respects_a_true_peak_ceiling():
    r = loudness.measure(sine(5, -3.0, 48000), 48000)   # about -3 LUFS, TP about -3 dBTP
    gain, limited = loudness.gain_to_target(r, -18.0)
    assert gain == pytest.approx(-18.0 - r.integrated_lufs) and not limited
    gain, limited = loudness.gain_to_target(r, -10.0, true_peak_ceiling_dbtp=-20.0)
    assert limited and r.true_peak_dbtp + gain == pytest.approx(-20.0)


def test_scaled_report_matches_a_real_measurement():
    x = sine(5, -30.0, 44100)
    r = loudness.measure(x, 44100)
    predicted = r.scaled(7.5)
    actual = loudness.measure(x * 10 ** (7.5 / 20), 44100)
    assert predicted.integrated_lufs == pytest.approx(actual.integrated_lufs, abs=1e-3)
    assert predicted.true_peak_dbtp == pytest.approx(actual.true_peak_dbtp, abs=1e-3)
