"""What each flaw changes, measured: the named quantity on which a flaw's severity 0 lies
beyond the taste band (:mod:`.taste`), and the test signals it is measured on.

Each quantity compares a chain's output ``y`` with its input ``x`` (``(frames, channels)``
float audio at ``sr``):

==============================  =================================================================
flaw                            quantity
==============================  =================================================================
muddy, boxy, nasal, harsh,      :func:`band_excess_db`: the chain's largest gain inside the
over_sibilant, boomy            flaw's band minus its median gain over 60 Hz-12 kHz (dB)
thin, dark, undefined           :func:`band_loss_db`: the median gain over a reference band
                                minus the mean gain over the band the flaw takes away (dB)
over_compressed                 :func:`dynamics_loss_db` on drum-like hits: the larger of the
                                crest factor lost and the narrowing of the 10 ms RMS
                                envelope's range (dB)
distorted                       :func:`thd_percent`: total harmonic distortion plus noise of a
                                1 kHz sine (%)
ringy                           :func:`tail_db`: energy 30-400 ms after each click over the energy
                                of the first 2 ms (dB; a dry chain reads -120)
sloppy_timing                   the standard deviation of the slice shifts (ms; the chain's own
                                ``remove_jitter_ms``)
==============================  =================================================================

Gains are read from the long-term spectra of ``x`` and ``y`` in 1/6-octave bands (pink noise),
or at the partials of a dense harmonic tone (:func:`harmonic_tone`), so a non-linear chain is
measured as it sounds, not only its linear part.
"""

from __future__ import annotations

import math

import numpy as np

from ..dsp import crest_db
from ..units import power_db

#: Bands (Hz) each spectral flaw lives in (as the variants draw it), and where the
#: lost-band flaws are measured: (band taken away, reference band).
EXCESS_BANDS: dict[str, tuple[float, float]] = {
    "boomy": (60, 130), "muddy": (180, 400), "boxy": (400, 850), "nasal": (800, 1500),
    "harsh": (2000, 5000), "over_sibilant": (5000, 9500)}
LOSS_BANDS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "thin": ((60, 200), (500, 5000)), "dark": ((5000, 12000), (300, 3000)),
    "undefined": ((1000, 5000), (60, 300))}
#: A bass's low end lies lower: its thin flaw is measured over 40-150 Hz.
BASS_THIN_BAND = ((40.0, 150.0), (500.0, 5000.0))
#: The reference band of :func:`band_excess_db`.
REFERENCE_HZ = (60.0, 12000.0)


# --- test signals --------------------------------------------------------------------------

def pink_noise(seconds: float = 4.0, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """Pink (1/f power) noise, ``(frames, 1)`` float32 at -12 dBFS peak."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return (x / np.max(np.abs(x)) * 0.25).astype(np.float32)[:, None]


def harmonic_tone(seconds: float = 4.0, sr: int = 44100, f0: float = 27.5,
                  seed: int = 0) -> np.ndarray:
    """Partials ``k f0`` up to 16 kHz, amplitude ``1/sqrt(k)``, random phases: a dense
    harmonic comb at -12 dBFS peak, ``(frames, 1)`` float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    ks = np.arange(1, int(16000 / f0) + 1)
    x = np.zeros(len(t))
    for k, ph in zip(ks, rng.uniform(0, 2 * np.pi, len(ks))):
        x += np.sin(2 * np.pi * k * f0 * t + ph) / math.sqrt(k)
    return (x / np.max(np.abs(x)) * 0.25).astype(np.float32)[:, None]


def hits(seconds: float = 4.0, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """Drum-like hits: noise bursts every 0.5 s with 5 ms attacks and 120 ms decays, levels
    varying by up to 12 dB, ``(frames, 1)`` float32 at -6 dBFS peak."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n)
    t = np.arange(int(0.5 * sr)) / sr
    env = np.minimum(t / 0.005, 1.0) * np.exp(-t / 0.12)
    for start in range(0, n - len(t), len(t)):
        x[start:start + len(t)] = env * rng.standard_normal(len(t)) * 10 ** (
            -rng.uniform(0, 12) / 20)
    return (x / np.max(np.abs(x)) * 0.5).astype(np.float32)[:, None]


def sine(seconds: float = 2.0, sr: int = 44100, freq: float = 1000.0) -> np.ndarray:
    """A sine at -6 dBFS, ``(frames, 1)`` float32."""
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


def clicks(seconds: float = 4.0, sr: int = 44100, every_s: float = 0.5) -> np.ndarray:
    """Single-sample clicks every ``every_s`` seconds (the first at 10 ms)."""
    x = np.zeros((int(seconds * sr), 1), dtype=np.float32)
    x[int(0.01 * sr)::int(every_s * sr), 0] = 0.5
    return x


# --- gains -----------------------------------------------------------------------------------

def _sixth_octaves() -> np.ndarray:
    return 40.0 * 2 ** (np.arange(0, int(6 * math.log2(16000 / 40)) + 1) / 6)


def gain_curve(x: np.ndarray, y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies Hz, gain dB) of ``y`` over ``x``: power ratio of their long-term spectra
    (8192-sample Hann frames) in 1/6-octave bands 40 Hz-16 kHz, bands where ``x`` is within
    60 dB of its strongest band only (a band holding no partial of a tone has no gain)."""
    n = 8192
    w = np.hanning(n)

    def ltas(s: np.ndarray) -> np.ndarray:
        m = s.mean(axis=1).astype(np.float64)
        m = np.pad(m, (0, (-len(m)) % n))
        return np.mean(np.abs(np.fft.rfft(m.reshape(-1, n) * w, axis=1)) ** 2, axis=0)

    f = np.fft.rfftfreq(n, 1.0 / sr)
    px, py = ltas(x), ltas(y)
    centres = _sixth_octaves()
    bx, by = np.empty(len(centres)), np.empty(len(centres))
    for i, c in enumerate(centres):
        m = (f >= c * 2 ** (-1 / 12)) & (f < c * 2 ** (1 / 12))
        bx[i], by[i] = px[m].sum(), py[m].sum()
    keep = power_db(bx) > power_db(float(bx.max())) - 60
    return centres[keep], power_db(by[keep]) - power_db(bx[keep])


def _level_matched(x: np.ndarray, y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    f, g = gain_curve(x, y, sr)
    ref = (f >= REFERENCE_HZ[0]) & (f <= REFERENCE_HZ[1])
    return f, g - float(np.median(g[ref]))


def band_excess_db(x: np.ndarray, y: np.ndarray, sr: int, band: tuple[float, float]) -> float:
    """The largest gain (dB) of ``y`` over ``x`` inside ``band`` minus the median gain over
    :data:`REFERENCE_HZ`: how far a boost stands out of the rest of the spectrum."""
    f, g = _level_matched(x, y, sr)
    inside = (f >= band[0]) & (f <= band[1])
    return float(g[inside].max()) if inside.any() else 0.0


def band_loss_db(x: np.ndarray, y: np.ndarray, sr: int, band: tuple[float, float],
                 reference: tuple[float, float]) -> float:
    """The median gain (dB) over ``reference`` minus the mean gain over ``band``: how much
    of ``band`` a filter or shelf took away, relative to the rest."""
    f, g = gain_curve(x, y, sr)
    ref = (f >= reference[0]) & (f <= reference[1])
    inside = (f >= band[0]) & (f <= band[1])
    return float(np.median(g[ref]) - g[inside].mean()) if inside.any() else 0.0


def envelope_range_db(x: np.ndarray, sr: int) -> float:
    """The 5 %-95 % range (dB) of the 10 ms RMS envelope of the channel mean, over the
    windows within 40 dB of the loudest."""
    m = x.mean(axis=1).astype(np.float64)
    w = max(1, sr // 100)
    n = len(m) // w
    if n < 2:
        return 0.0
    level = power_db(np.mean(m[: n * w].reshape(n, w) ** 2, axis=1))
    level = level[level > level.max() - 40]
    return float(np.percentile(level, 95) - np.percentile(level, 5))


def envelope_range_loss_db(x: np.ndarray, y: np.ndarray, sr: int) -> float:
    """:func:`envelope_range_db` of ``x`` minus that of ``y``: the dynamic range a
    compressor took away (unlike the crest factor, not bounded by the waveform's own
    peak-to-RMS within a window)."""
    return envelope_range_db(x, sr) - envelope_range_db(y, sr)


def crest_loss_db(x: np.ndarray, y: np.ndarray) -> float:
    """Crest factor (peak over RMS, dB) of ``x`` minus that of ``y``."""
    return crest_db(x) - crest_db(y)


def dynamics_loss_db(x: np.ndarray, y: np.ndarray, sr: int) -> float:
    """The dynamic range a chain took away (dB): the larger of :func:`crest_loss_db` (what a
    limiter takes off the peaks) and :func:`envelope_range_loss_db` (what a compressor takes
    off the envelope)."""
    return max(crest_loss_db(x, y), envelope_range_loss_db(x, y, sr))


def thd_percent(y: np.ndarray, sr: int, freq: float = 1000.0) -> float:
    """Total harmonic distortion plus noise of a processed sine of ``freq``: RMS of
    everything but the fundamental (+-3 bins, DC removed) over the fundamental's, in %
    (a Blackman-Harris window over the whole signal)."""
    from scipy.signal import get_window

    m = y.mean(axis=1).astype(np.float64)
    m = m - m.mean()
    spec = np.abs(np.fft.rfft(m * get_window("blackmanharris", len(m)))) ** 2
    k = int(round(freq * len(m) / sr))
    fund = spec[max(k - 3, 0):k + 4].sum()
    rest = spec.sum() - fund - spec[:4].sum()
    return float(100 * math.sqrt(max(rest, 0.0) / max(fund, 1e-30)))


def tail_db(x: np.ndarray, y: np.ndarray, sr: int, every_s: float = 0.5) -> float:
    """For a click train ``x`` (:func:`clicks`) and the chain's output ``y``: energy of ``y``
    30-400 ms after each click over its energy in the first 2 ms (dB, floor -120)."""
    m = y.mean(axis=1).astype(np.float64)
    starts = np.flatnonzero(np.abs(x[:, 0]) > 0)
    direct = tail = 0.0
    for s in starts:
        if s + int(every_s * sr) > len(m):
            break
        direct += float(np.sum(m[s:s + int(0.002 * sr)] ** 2))
        tail += float(np.sum(m[s + int(0.03 * sr):s + int(0.4 * sr)] ** 2))
    return power_db(tail / direct) if direct > 0 else -120.0


# --- one flaw, one quantity ------------------------------------------------------------------

#: The test signals by name (each a function of (seconds, sr) with the defaults above).
SIGNALS = {"pink": pink_noise, "tone": harmonic_tone, "hits": hits, "sine": sine,
           "clicks": clicks}


def signals_for(flaw: str) -> tuple[str, ...]:
    """The test signals a flaw's quantity is measured on."""
    if flaw in EXCESS_BANDS or flaw in LOSS_BANDS:
        return ("pink", "tone")
    return {"over_compressed": ("hits",), "distorted": ("sine",), "ringy": ("clicks",),
            "sloppy_timing": ("hits",)}[flaw]


#: What :func:`named` returns for each flaw, in words (the docs' table header).
UNITS: dict[str, str] = {
    **{f: "band excess, dB" for f in EXCESS_BANDS}, **{f: "band loss, dB" for f in LOSS_BANDS},
    "over_compressed": "dynamic range lost, dB", "distorted": "THD+N of a 1 kHz sine, %",
    "ringy": "tail 30-400 ms after a click, dB", "sloppy_timing": "slice shifts, ms (sd)"}


def named(flaw: str, instrument: str, x: np.ndarray, y: np.ndarray, sr: int,
          jitter_ms: float = 0.0) -> float:
    """The quantity of ``flaw`` (see the module doc) for input ``x`` and output ``y``;
    ``jitter_ms`` is the chain's measured slice-shift spread (sloppy_timing)."""
    if flaw in EXCESS_BANDS:
        return band_excess_db(x, y, sr, EXCESS_BANDS[flaw])
    if flaw in LOSS_BANDS:
        bands = BASS_THIN_BAND if (flaw, instrument) == ("thin", "bass") else LOSS_BANDS[flaw]
        return band_loss_db(x, y, sr, *bands)
    if flaw == "over_compressed":
        return dynamics_loss_db(x, y, sr)
    if flaw == "distorted":
        return thd_percent(y, sr)
    if flaw == "ringy":
        return tail_db(x, y, sr)
    if flaw == "sloppy_timing":
        return float(jitter_ms)
    raise ValueError(f"unknown flaw {flaw!r}")
