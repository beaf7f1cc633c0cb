"""Fingerprint v2: one analytic known answer per feature family, on signals made here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ngn_clarity.features.analysis import Analysis
from ngn_clarity.features.families import FAMILIES, OCTAVES_HZ, REGIONS
from ngn_clarity.flaws import Butterworth, Peak
from ngn_clarity.corrections import EQ_CENTRES_HZ

SR = 44100


def pink(seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    """Pink noise (equal power per octave) from 20 Hz up, 0.1 RMS, made in the frequency
    domain."""
    n = int(seconds * SR)
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:])
    spec[f < 20] = 0
    x = np.fft.irfft(spec, n)
    return (0.1 * x / x.std())[:, None].astype(np.float32)


def harmonic(seconds: float = 6.0, f0: float = 27.5) -> np.ndarray:
    """A steady tone with every harmonic up to 18 kHz, amplitudes 1/k (a sawtooth's)."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, int(18000 / f0)))
    return (0.1 * x / np.std(x))[:, None].astype(np.float32)


def run(family: str, x: np.ndarray, sr: int = SR) -> dict[str, float]:
    return FAMILIES[family](Analysis(x, sr))


# --- tone -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [pink, harmonic], ids=["pink noise", "harmonic tone"])
def test_a_boost_at_each_centre_raises_its_local_contrast_and_no_other(make):
    """The issue's test: +10 dB at Q 1.4 at each correction centre raises that centre's
    contrast by >= 6 dB (measured 6.9-8.1) and leaves the centres 1.5 octaves or more away
    within 1.5 dB (measured <= 0.7). Centres closer than that (60/150 Hz are 1.3 octaves
    apart, 3k/7k 1.2, 7k/12k 0.8) share part of any Q 1.4 boost, which is about an octave
    wide: their contrast moves by up to 3 dB (one of the boosted band's references rises),
    which no measure local to those centres can avoid. (The harmonic tone is an A0 with
    every partial up to 18 kHz, so every band holds a partial to boost.)"""
    x = make()
    base = run("local_contrast", x)
    for centre in EQ_CENTRES_HZ:
        boosted = run("local_contrast", Peak(float(centre), 10.0, 1.4)(x, SR))
        for c in EQ_CENTRES_HZ:
            moved = boosted[f"contrast_{c}"] - base[f"contrast_{c}"]
            if c == centre:
                assert moved >= 6.0, (centre, moved)
            elif abs(math.log2(c / centre)) >= 1.5:
                assert abs(moved) <= 1.5, (centre, c, moved)
            else:
                assert abs(moved) <= 3.5, (centre, c, moved)


def test_pink_noise_has_no_local_contrast_and_equal_octaves():
    v = run("local_contrast", pink())
    # 1/3-octave bands: pink noise falls 1 dB per 1/3 octave in mean power per bin, so a
    # band minus the mean of its octave neighbours is 0 (the fall is linear in log f)
    for c in EQ_CENTRES_HZ[1:-1]:
        assert v[f"contrast_{c}"] == pytest.approx(0.0, abs=0.6), c
    o = run("octave_levels", pink())
    levels = np.array([o[f"octave_{c}_db"] for c in OCTAVES_HZ[1:-1]])
    assert np.ptp(levels) < 1.0  # equal power per octave
    share = sum(10 ** (o[f"octave_{c}_db"] / 10) for c in OCTAVES_HZ)
    # the nine octaves span 44.5 Hz-22.6 kHz; pink noise has ln(20000/44.5) / ln(1000) of
    # its 20 Hz-20 kHz power above 44.5 Hz
    assert share == pytest.approx(math.log(20000 / 44.55) / math.log(1000), abs=0.02)


@pytest.mark.parametrize("region", list(REGIONS))
def test_a_boost_inside_a_region_shows_in_that_region(region):
    lo, hi = REGIONS[region]
    x = pink()
    base = run("region_contrast", x)
    centre = math.sqrt(lo * hi) * 1.15  # off the region's middle: the centre is not known
    got = run("region_contrast", Peak(centre, 10.0, 1.4)(x, SR))
    assert got[f"region_{region}_db"] - base[f"region_{region}_db"] >= 5.0
    for other, (olo, ohi) in REGIONS.items():  # regions an octave away do not move much
        if ohi < lo / 2 or olo > hi * 2:
            assert abs(got[f"region_{other}_db"] - base[f"region_{other}_db"]) < 1.5, other


def test_spectral_edges_of_white_and_filtered_noise():
    n = np.random.default_rng(1).standard_normal((SR * 6, 1)).astype(np.float32) * 0.1
    v = run("spectral_edges", n)
    # flat power from 20 Hz to 20 kHz: 5 % lies under 20 + 0.05 x 19980 Hz
    assert v["rolloff_05_log2hz"] == pytest.approx(math.log2(1019), abs=0.05)
    assert v["rolloff_95_log2hz"] == pytest.approx(math.log2(19001), abs=0.02)
    assert v["low_slope"] == pytest.approx(0.0, abs=1.0)
    assert v["high_slope"] == pytest.approx(0.0, abs=1.0)
    dark = run("spectral_edges", Butterworth("lowpass", 2000.0, 4)(n, SR))
    # the known answer: the digital filter's exact power response, averaged over each
    # 1/3-octave band's LTAS bins as the feature does, fitted over 4-16 kHz (bands within
    # 40 dB of the loudest): steeper than the analog 24 dB/octave as it nears Nyquist
    from scipy.signal import butter, sosfreqz

    from ngn_clarity.features.analysis import THIRD_OCTAVES, ltas_frequencies

    bins = ltas_frequencies()
    _, h = sosfreqz(butter(4, 2000.0, "lowpass", fs=SR, output="sos"), worN=bins, fs=SR)
    centres = np.array([c for c in THIRD_OCTAVES if 4000 <= c <= 16000])
    db = np.array([10 * np.log10(np.mean(np.abs(h[(bins >= c * 2 ** (-1 / 6))
                                                  & (bins < c * 2 ** (1 / 6))]) ** 2))
                   for c in centres])
    keep = db > db.max() - 40
    expected = np.polyfit(np.log2(centres[keep]), db[keep], 1)[0]
    assert dark["high_slope"] == pytest.approx(expected, abs=1.0)
    assert expected < -24.0
    thin = run("spectral_edges", Butterworth("highpass", 400.0, 2)(n, SR))
    assert thin["low_slope"] == pytest.approx(12.0, abs=2.5)  # 2nd order: 12 dB/octave


def test_a_narrow_resonance_is_found_where_it_is():
    x = pink()
    base = run("narrow_peaks", x)["narrow_peak_db"]
    v = run("narrow_peaks", Peak(1000.0, 15.0, 30.0)(x, SR))
    assert v["narrow_peak_db"] >= base + 8
    assert v["narrow_peak_log2hz"] == pytest.approx(math.log2(1000), abs=0.06)


# --- dynamics -------------------------------------------------------------------------------

def test_loudness_dynamics_of_a_steady_and_of_a_pumping_tone():
    t = np.arange(SR * 8) / SR
    steady = (0.25 * np.sin(2 * np.pi * 1000 * t))[:, None].astype(np.float32)
    v = run("loudness_dynamics", steady)
    assert v["momentary_spread_lu"] == pytest.approx(0.0, abs=0.05)
    assert v["psr_db"] == pytest.approx(v["plr_db"], abs=0.05)  # steady: max = integrated
    from ngn_clarity import loudness

    r = loudness.measure(steady, SR, true_peak=False)
    peak = float(np.max(np.abs(steady)))
    assert v["plr_db"] == pytest.approx(20 * math.log10(peak) - r.integrated_lufs, abs=1e-9)
    pumping = steady * (0.55 + 0.45 * np.sin(2 * np.pi * 0.5 * t))[:, None].astype(np.float32)
    assert run("loudness_dynamics", pumping)["momentary_spread_lu"] > 3.0


def test_waveform_peaks_of_a_sine_and_a_square():
    t = np.arange(SR * 2) / SR
    sine = (0.5 * np.sin(2 * np.pi * 100 * t + 0.1))[:, None].astype(np.float32)
    v = run("waveform_peaks", sine)
    # |sin| >= 0.9 for a fraction 1 - 2 asin(0.9) / pi of the time
    assert v["near_peak_fraction"] == pytest.approx(1 - 2 * math.asin(0.9) / math.pi, abs=0.01)
    assert v["flat_top_fraction"] < 0.03
    square = np.sign(sine).astype(np.float32) * 0.5
    v = run("waveform_peaks", square)
    assert v["near_peak_fraction"] == pytest.approx(1.0, abs=0.01)
    assert v["flat_top_fraction"] == pytest.approx(1.0, abs=0.01)


def test_quiet_fill_of_steady_noise_and_of_bursts():
    n = np.random.default_rng(2).standard_normal((SR * 4, 1)).astype(np.float32) * 0.1
    # steady noise: the quietest 20 % of windows hold about 20 % of the energy
    assert run("quiet_fill", n)["quiet_fill_db"] == pytest.approx(10 * math.log10(0.2), abs=0.5)
    bursts = n.copy()
    bursts[np.arange(len(n)) % SR > SR // 2] = 0.0  # half of every second is silent
    assert run("quiet_fill", bursts)["quiet_fill_db"] < -90.0  # silence (envelope floor)


# --- distortion, decay, timing, variability -------------------------------------------------

def test_hf_flatness_of_noise_and_of_a_harmonic_tone():
    n = np.random.default_rng(3).standard_normal((SR * 2, 1)).astype(np.float32) * 0.1
    # periodogram bins of white noise are exponential: geometric / arithmetic mean = e^-gamma
    assert run("hf_flatness", n)["hf_flatness"] == pytest.approx(math.exp(-0.5772), abs=0.03)
    assert run("hf_flatness", harmonic(2.0, 440.0))["hf_flatness"] < 0.2


def test_decay_rate_of_exponential_bursts():
    t = np.arange(SR * 4) / SR
    tau = 0.1  # s: the level falls 20 log10(e) / tau = 86.9 dB/s
    x = np.sin(2 * np.pi * 440 * t) * np.exp(-np.mod(t, 0.5) / tau)
    v = run("decay", (0.5 * x)[:, None].astype(np.float32))
    assert v["decay_db_s"] == pytest.approx(-20 * math.log10(math.e) / tau, rel=0.1)
    n = np.random.default_rng(4).standard_normal((SR * 3, 1)).astype(np.float32)
    assert run("decay", n)["tail_db"] == pytest.approx(0.0, abs=0.3)


def _clicks(times: np.ndarray, seconds: float = 8.0) -> np.ndarray:
    x = np.zeros((int(seconds * SR), 1), dtype=np.float32)
    for t in times:
        i = int(t * SR)
        x[i:i + 400, 0] += np.exp(-np.arange(min(400, len(x) - i)) / 60.0).astype(np.float32)
    return 0.5 * x


def test_grid_alignment_of_steady_and_jittered_hits():
    grid = np.arange(0.05, 7.8, 0.125)  # sixteenths at 120 BPM
    v = run("grid_alignment", _clicks(grid))
    assert v["grid_r"] > 0.99 and v["grid_dev_ms"] < 2.0
    jittered = grid + np.random.default_rng(5).normal(0, 0.020, len(grid))
    v = run("grid_alignment", _clicks(np.sort(jittered)))
    assert v["grid_dev_ms"] == pytest.approx(20.0, abs=7.0)
    assert run("grid_alignment", _clicks(np.array([0.5, 1.5])))["grid_r"] == 1.0  # < 4 hits


def test_variability_of_steady_and_of_changing_sounds():
    steady = harmonic(10.0, 220.0)
    v = run("variability", steady)
    assert v["spectral_centroid_std"] < 60.0 and v["spectral_flux"] < 0.05
    t = np.arange(SR * 3) / SR
    glide = (0.3 * np.sin(2 * np.pi * (200 + 1500 * t) * t))[:, None].astype(np.float32)
    assert run("variability", glide)["spectral_centroid_std"] > 500.0


# --- fingerprint v3: the within-clip relative cues ------------------------------------------

def test_frame_contrast_reads_a_steady_boost_as_the_long_term_contrast_does():
    x = pink()
    flat = run("frame_contrast", x)
    assert all(abs(v) < 1.0 for v in flat.values()), flat
    boosted = Peak(1200.0, 9.0, 1.4)(x, SR)
    per_frame = run("frame_contrast", boosted)["fcon_1200"]
    long_term = run("local_contrast", boosted)["contrast_1200"]
    assert per_frame > 4.0 and per_frame == pytest.approx(long_term, abs=1.0)


def _alternating(seconds: float = 6.0) -> np.ndarray:
    """A tone that jumps between 300 Hz and 3 kHz every half second (notes that move)."""
    t = np.arange(int(seconds * SR)) / SR
    f = np.where((t // 0.5) % 2 == 0, 300.0, 3000.0)
    return (0.3 * np.sin(2 * np.pi * np.cumsum(f) / SR))[:, None].astype(np.float32)


def test_band_variability_is_small_for_steady_noise_and_large_for_moving_notes():
    steady = run("band_variability", pink())
    # a noise band's power over one 186 ms frame varies by about 1/sqrt(bandwidth x length):
    # 1-2 dB at 60-130 Hz; the notes moving by three octaves vary it by 10 dB or more
    assert all(v < 2.5 for v in steady.values()), steady
    moving = run("band_variability", _alternating())
    assert moving["var_muddy_db"] > 10.0 and moving["var_harsh_db"] > 10.0


def test_level_tilt_sees_a_saturator_brighten_the_loud_frames():
    t = np.arange(SR * 4) / SR
    ramp = np.linspace(0.01, 1.0, len(t))  # a 1 kHz tone growing 40 dB
    clean = (ramp * np.sin(2 * np.pi * 1000 * t) * 0.5)[:, None].astype(np.float32)
    driven = np.tanh(6 * clean) / 6
    assert abs(run("level_tilt", clean)["tilt_level_slope"]) < 0.5  # leakage only
    assert run("level_tilt", driven.astype(np.float32))["tilt_level_slope"] > 2.0


def test_onset_peaks_known_answers():
    hits = np.zeros((SR * 4, 1), dtype=np.float32)
    env = np.exp(-np.arange(int(0.2 * SR)) / (0.03 * SR))
    for k, level_db in enumerate((0, -6, -12, 0, -6, -12, 0)):
        start = int((0.2 + 0.5 * k) * SR)
        burst = np.sin(2 * np.pi * 500 * np.arange(len(env)) / SR) * env
        hits[start:start + len(env), 0] = 0.5 * 10 ** (level_db / 20) * burst
    v = run("onset_peaks", hits)
    assert v["onset_peak_std_db"] == pytest.approx(np.std([0, -6, -12, 0, -6, -12, 0]), abs=0.8)
    t = np.arange(SR * 2) / SR
    sine = (0.5 * np.sin(2 * np.pi * 1000 * t))[:, None].astype(np.float32)
    steady = run("onset_peaks", sine)
    assert steady["short_crest_db"] == pytest.approx(20 * math.log10(math.sqrt(2)), abs=0.05)
    assert steady["short_crest_spread_db"] < 0.05 and steady["onset_peak_std_db"] == 0.0


def test_active_share_of_a_clip_half_silent():
    t = np.arange(SR * 4) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * (t < 2.0))[:, None].astype(np.float32)
    assert run("source_activity", x)["active_share"] == pytest.approx(0.5, abs=0.02)


def test_shared_window_energies_match_the_direct_sums():
    """One running sum of y**2 serves the fine envelope and the long frames' activity: each
    window's mean square equals the direct one, zero past the end."""
    rng = np.random.default_rng(3)
    y = rng.uniform(-0.5, 0.5, 44100).astype(np.float32)
    a = Analysis(y[:, None], 44100)
    starts = np.array([0, 100, 40000, 44000, 44100, 50000])
    direct = [float(np.sum(a.y64[s:s + 512] ** 2)) / 512 for s in starts]
    np.testing.assert_allclose(a.window_energy(starts, 512), direct, rtol=1e-9, atol=1e-15)
    assert a.window_energy(np.array([44100]), 512)[0] == 0.0
    # the centroid both families read: a 1 kHz sine's is 1 kHz on every inner frame
    t = np.arange(44100) / 44100
    sine = Analysis((0.5 * np.sin(2 * np.pi * 1000 * t))[:, None].astype(np.float32), 44100)
    assert np.all(np.abs(sine.centroid[4:-4] - 1000) < 30)  # away from the padded ends


def test_closed_form_decay_slope_is_polyfits():
    from ngn_clarity.features.families import _slope

    x = np.arange(40) * 0.0029
    y = -35.0 * x + np.random.default_rng(0).normal(0, 0.5, 40)
    assert _slope(x, y) == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-12)
