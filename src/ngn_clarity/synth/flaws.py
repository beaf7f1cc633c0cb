"""The flaw engine: one small class per flaw type, each with exact, recorded parameters.

A flaw turns a gold clip into a flawed one. ``sample(rng, severity, ...)`` draws the
parameters (severity 0 = mild but audible, 1 = strong); ``effects(params)`` returns the
``pedalboard`` plugins; ``sloppy_timing`` instead jitters note onsets before rendering.

Every flawed clip also gets a **correction vector**: what a mixing engineer would apply to
undo it. It has a fixed length and order (:data:`CORRECTION_FIELDS`):

==========================  ========================================================
``eq_<f>_db`` (8 values)     EQ gain in dB at 60, 150, 300, 600, 1200, 3000, 7000 and
                             12000 Hz: minus the flaw's linear (filter) response there,
                             read from the filter chain's impulse response, clipped to
                             +/-24 dB. 0 for flaws without filters.
``restore_dynamics_db``      crest-factor loss in dB (gold minus flawed, measured) for
                             ``over_compressed`` and ``undefined``; else 0.
``remove_drive_db``          drive of the distortion to remove (``distorted``); else 0.
``remove_jitter_ms``         standard deviation of the onset jitter (``sloppy_timing``).
``remove_reverb_wet``        wet level of the added room (``ringy``); else 0.
==========================  ========================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pedalboard as pb

from ..records import CORRECTION_FIELDS, EQ_CENTRES_HZ

EQ_LIMIT_DB = 24.0
_IMPULSE_LEN = 1 << 15


def _lerp(lo: float, hi: float, severity: float) -> float:
    return float(lo + (hi - lo) * severity)


def _db(x: float) -> float:
    return 20.0 * np.log10(max(x, 1e-12))


def crest_db(x: np.ndarray) -> float:
    """Peak over RMS in dB (all channels together)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return _db(float(np.max(np.abs(x)))) - _db(rms)


class Flaw:
    """Base class: subclasses set ``slug`` and implement :meth:`sample` and :meth:`filters`."""

    slug = ""

    def sample(self, rng: np.random.Generator, severity: float, instrument: str,
               audio: np.ndarray, sr: int) -> dict[str, float]:
        raise NotImplementedError

    def filters(self, p: dict[str, float]) -> list:
        """Linear part (EQ/filters); its response gives the EQ correction."""
        return []

    def dynamics(self, p: dict[str, float]) -> list:
        """Non-linear or time-variant part (compressor, distortion, reverb)."""
        return []

    def apply(self, audio: np.ndarray, sr: int, p: dict[str, float]) -> np.ndarray:
        chain = self.filters(p) + self.dynamics(p)
        if not chain:
            return audio
        out = pb.Pedalboard(chain)(np.ascontiguousarray(audio.T, dtype=np.float32), sr)
        return np.ascontiguousarray(out.T, dtype=np.float32)

    def eq_response_db(self, p: dict[str, float], sr: int) -> np.ndarray:
        """Gain in dB of :meth:`filters` at :data:`EQ_CENTRES_HZ` (0 without filters)."""
        chain = self.filters(p)
        if not chain:
            return np.zeros(len(EQ_CENTRES_HZ))
        impulse = np.zeros((1, _IMPULSE_LEN), dtype=np.float32)
        impulse[0, 0] = 1.0
        h = pb.Pedalboard(chain)(impulse, sr)[0]
        mag = np.abs(np.fft.rfft(h.astype(np.float64)))
        freqs = np.fft.rfftfreq(_IMPULSE_LEN, 1.0 / sr)
        return 20.0 * np.log10(np.maximum(np.interp(EQ_CENTRES_HZ, freqs, mag), 1e-6))


class _Peak(Flaw):
    """A boosted band: centre frequency range (Hz), gain range (dB), Q range."""

    freq: tuple[float, float] = (0, 0)
    gain: tuple[float, float] = (0, 0)
    q: tuple[float, float] = (1, 1)

    def sample(self, rng, severity, instrument, audio, sr):
        return {"freq_hz": float(rng.uniform(*self.freq)),
                "gain_db": _lerp(*self.gain, severity), "q": float(rng.uniform(*self.q))}

    def filters(self, p):
        return [pb.PeakFilter(p["freq_hz"], p["gain_db"], p["q"])]


class Muddy(_Peak):
    slug, freq, gain, q = "muddy", (200, 400), (6, 12), (0.7, 1.4)


class Harsh(_Peak):
    slug, freq, gain, q = "harsh", (2000, 5000), (6, 14), (1.0, 2.5)


class Nasal(_Peak):
    slug, freq, gain, q = "nasal", (800, 1500), (7, 13), (2.0, 4.0)


class Boxy(_Peak):
    slug, freq, gain, q = "boxy", (300, 800), (7, 13), (1.5, 3.0)


class OverSibilant(_Peak):
    slug, freq, gain, q = "over_sibilant", (5500, 9000), (9, 16), (1.0, 2.0)


class Boomy(_Peak):
    slug, freq, gain, q = "boomy", (60, 120), (8, 14), (2.0, 4.0)


class Thin(Flaw):
    """Low end removed: two cascaded 6 dB/oct high-passes and a low-shelf cut."""

    slug = "thin"

    def sample(self, rng, severity, instrument, audio, sr):
        lo, hi = (80, 180) if instrument == "bass" else (150, 350)
        return {"cutoff_hz": _lerp(lo, hi, severity) * float(rng.uniform(0.9, 1.1)),
                "shelf_db": -_lerp(8, 14, severity)}

    def filters(self, p):
        f = p["cutoff_hz"]
        return [pb.HighpassFilter(f), pb.HighpassFilter(f),
                pb.LowShelfFilter(f * 1.5, p["shelf_db"], 0.7)]


class Dark(Flaw):
    """Top end removed: two cascaded 6 dB/oct low-passes and a high-shelf cut."""

    slug = "dark"

    def sample(self, rng, severity, instrument, audio, sr):
        return {"cutoff_hz": _lerp(4000, 1500, severity) * float(rng.uniform(0.9, 1.1)),
                "shelf_db": -_lerp(8, 14, severity)}

    def filters(self, p):
        f = p["cutoff_hz"]
        return [pb.LowpassFilter(f), pb.LowpassFilter(f),
                pb.HighShelfFilter(max(f, 2500.0), p["shelf_db"], 0.7)]


def _rms_db(audio: np.ndarray) -> float:
    return _db(float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))))


class OverCompressed(Flaw):
    """A fast, high-ratio compressor well below the clip's RMS, make-up gain, then a limiter
    set 6-12 dB under the compressed peak, so the peaks are always squashed."""

    slug = "over_compressed"

    def sample(self, rng, severity, instrument, audio, sr):
        p = {"threshold_db": _rms_db(audio) - _lerp(8, 20, severity),
             "ratio": _lerp(8, 20, severity), "attack_ms": float(rng.uniform(0.1, 0.5)),
             "release_ms": float(rng.uniform(40, 120)), "makeup_db": _lerp(5, 12, severity)}
        squeezed = pb.Pedalboard(self._compressor(p))(
            np.ascontiguousarray(audio.T, dtype=np.float32), sr)
        p["limiter_db"] = _db(float(np.max(np.abs(squeezed)))) - _lerp(6, 12, severity)
        return p

    @staticmethod
    def _compressor(p):
        return [pb.Compressor(p["threshold_db"], p["ratio"], p["attack_ms"], p["release_ms"]),
                pb.Gain(p["makeup_db"])]

    def dynamics(self, p):
        return self._compressor(p) + [pb.Limiter(p["limiter_db"], 50.0)]


class Undefined(Flaw):
    """Bass with no definition: upper harmonics filtered off and attacks squashed."""

    slug = "undefined"

    def sample(self, rng, severity, instrument, audio, sr):
        return {"cutoff_hz": _lerp(900, 350, severity) * float(rng.uniform(0.9, 1.1)),
                "threshold_db": _rms_db(audio) - _lerp(6, 14, severity),
                "ratio": 8.0, "attack_ms": 0.1, "release_ms": 150.0}

    def filters(self, p):
        return [pb.LowpassFilter(p["cutoff_hz"]), pb.LowpassFilter(p["cutoff_hz"])]

    def dynamics(self, p):
        return [pb.Compressor(p["threshold_db"], p["ratio"], p["attack_ms"], p["release_ms"])]


class Distorted(Flaw):
    """tanh waveshaping with ``drive_db`` of drive."""

    slug = "distorted"

    def sample(self, rng, severity, instrument, audio, sr):
        return {"drive_db": _lerp(18, 36, severity),
                "pre_gain_db": -_db(float(np.max(np.abs(audio))))}

    def dynamics(self, p):
        return [pb.Gain(p["pre_gain_db"]), pb.Distortion(p["drive_db"])]


class Ringy(Flaw):
    """Two or three narrow resonances on the clip's own strongest partials (so they ring
    whenever those notes play), plus a bright room that lets them hang on."""

    slug = "ringy"

    def sample(self, rng, severity, instrument, audio, sr):
        n = int(rng.integers(2, 4))
        peaks = _strongest_partials(audio, sr, 400.0, 4000.0, 8)
        chosen = rng.choice(peaks, size=min(n, len(peaks)), replace=False) if peaks else []
        p = {"resonances": float(len(chosen)), "reverb_room": _lerp(0.55, 0.85, severity),
             "reverb_wet": _lerp(0.25, 0.45, severity)}
        for k in range(3):
            on = k < len(chosen)
            p[f"res{k}_hz"] = float(chosen[k]) if on else 0.0
            p[f"res{k}_db"] = _lerp(12, 20, severity) if on else 0.0
            p[f"res{k}_q"] = float(rng.uniform(8, 20)) if on else 1.0
        return p

    def filters(self, p):
        return [pb.PeakFilter(p[f"res{k}_hz"], p[f"res{k}_db"], p[f"res{k}_q"])
                for k in range(int(p["resonances"]))]

    def dynamics(self, p):
        return [pb.Reverb(room_size=p["reverb_room"], damping=0.2, wet_level=p["reverb_wet"],
                          dry_level=1.0, width=0.5)]


def _strongest_partials(audio: np.ndarray, sr: int, lo: float, hi: float, k: int) -> list[float]:
    """Frequencies (Hz) of the ``k`` strongest spectral peaks between ``lo`` and ``hi``."""
    x = audio.mean(axis=1) if audio.ndim == 2 else audio
    n = 1 << 14
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = x[: len(x) // n * n].reshape(-1, n) * np.hanning(n)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    band = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    local = [i for i in band if power[i] >= power[i - 1] and power[i] >= power[i + 1]]
    local.sort(key=lambda i: -power[i])
    return [round(float(freqs[i]), 2) for i in local[:k]]


class SloppyTiming(Flaw):
    """Onsets moved by N(0, jitter) before rendering (see :func:`music.jitter`)."""

    slug = "sloppy_timing"

    def sample(self, rng, severity, instrument, audio, sr):
        return {"jitter_ms": _lerp(15, 40, severity)}


FLAWS: dict[str, Flaw] = {f.slug: f for f in (
    Muddy(), Harsh(), OverCompressed(), Thin(), SloppyTiming(), Nasal(), Boxy(),
    OverSibilant(), Undefined(), Boomy(), Distorted(), Dark(), Ringy())}


def correction(slug: str, p: dict[str, float], gold: np.ndarray, flawed: np.ndarray,
               sr: int) -> dict[str, float]:
    """The correction vector (see module doc) as ``{field: value}`` in field order."""
    flaw = FLAWS[slug]
    eq = np.clip(-flaw.eq_response_db(p, sr), -EQ_LIMIT_DB, EQ_LIMIT_DB)
    values: dict[str, Any] = {f"eq_{f}_db": round(float(v), 3) + 0.0
                              for f, v in zip(EQ_CENTRES_HZ, eq)}
    dyn = crest_db(gold) - crest_db(flawed) if slug in ("over_compressed", "undefined") else 0.0
    values["restore_dynamics_db"] = round(float(dyn), 3)
    values["remove_drive_db"] = round(p.get("drive_db", 0.0), 3)
    values["remove_jitter_ms"] = round(p.get("jitter_ms", 0.0), 3)
    values["remove_reverb_wet"] = round(p.get("reverb_wet", 0.0), 4)
    return {k: values[k] for k in CORRECTION_FIELDS}


def zero_correction() -> dict[str, float]:
    return {k: 0.0 for k in CORRECTION_FIELDS}
