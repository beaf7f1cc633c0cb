"""Instruments that play :class:`~ngn_clarity.synth.music.Note` lists into audio.

Two kinds, chosen per clip:

* **SoundFont** presets rendered offline with TinySoundFont (General MIDI; default font
  ``TimGM6mb.sf2`` from the ``pretty_midi`` wheel, or any ``--soundfont``). TinySoundFont
  has no reverb or chorus, so gold renders are dry.
* **Procedural** instruments in NumPy/SciPy: Karplus-Strong plucked strings (guitar, bass),
  a formant-filtered glottal source with vibrato and sibilant consonants (voice), synthesized
  drums (pitch-swept kick and toms, noise snare and hats), a drawbar organ and an FM
  electric piano.

Every function returns float32 ``(frames, channels)``; ``pan`` (-1 left .. +1 right) per
note voice places parts in stereo clips.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from .music import HAT_CLOSED, HAT_OPEN, HAT_PEDAL, KICK, SNARE, Note

RELEASE_S = 0.25


def default_soundfont() -> Path | None:
    """``TimGM6mb.sf2`` shipped inside the ``pretty_midi`` wheel, if installed."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


# --- stereo placement ---------------------------------------------------------------------

def _place(mono_parts: dict[int, np.ndarray], channels: int, pans: dict[int, float]) -> np.ndarray:
    """Mix per-voice mono signals to ``channels`` with constant-power pans."""
    frames = max(len(p) for p in mono_parts.values())
    out = np.zeros((frames, channels), dtype=np.float64)
    for voice, sig in mono_parts.items():
        if channels == 1:
            out[: len(sig), 0] += sig
            continue
        theta = (pans.get(voice, 0.0) + 1.0) * np.pi / 4.0
        out[: len(sig), 0] += sig * np.cos(theta) * np.sqrt(2)
        out[: len(sig), 1] += sig * np.sin(theta) * np.sqrt(2)
    return out.astype(np.float32)


# --- SoundFont ----------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _synth(path: str, sample_rate: int):
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-6.0)
    sfid = synth.sfload(path)
    return synth, sfid


def soundfont_has(path: str | os.PathLike, bank: int, preset: int) -> bool:
    synth, sfid = _synth(str(path), 44100)
    try:
        return bool(synth.sfpreset_name(sfid, bank, preset))
    except Exception:
        return False


def render_soundfont(notes: list[Note], path: str | os.PathLike, sample_rate: int,
                     seconds: float, channels: int, *, program: int, drums: bool = False,
                     pans: dict[int, float] | None = None) -> np.ndarray:
    """Play ``notes`` with GM ``program`` (a drum kit number when ``drums``)."""
    synth, sfid = _synth(str(path), sample_rate)
    # No state from the previous clip: reset() only fades playing voices out quickly, so
    # render (and drop) 100 ms to let those fades finish; renders are then bit-identical
    # whatever this process played before.
    synth.soundfonts[sfid].reset()
    synth.generate_simple(sample_rate // 10)
    pans = pans or {}
    voices = sorted({n.voice for n in notes}) or [0]
    chan_of = {}
    for i, v in enumerate(voices):
        chan = 9 + i if drums else i  # GM drums live on channel 10 (index 9)
        chan_of[v] = chan
        synth.program_select(chan, sfid, 0, program, is_drums=drums)
        pan = 0.0 if channels == 1 else pans.get(v, 0.0)
        synth.control_change(chan, 10, int(np.clip(round(64 + 63 * pan), 0, 127)))
    events = []
    for n in notes:
        on = int(round(n.start * sample_rate))
        off = int(round((n.start + n.duration) * sample_rate))
        events.append((on, 1, chan_of[n.voice], n.pitch, n.velocity))
        events.append((max(off, on + 1), 0, chan_of[n.voice], n.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    total = int(round(seconds * sample_rate))
    blocks, pos = [], 0
    for at, is_on, chan, pitch, vel in events:
        at = min(at, total)
        if at > pos:
            blocks.append(np.frombuffer(synth.generate_simple(at - pos), dtype=np.float32))
            pos = at
        if is_on:
            synth.noteon(chan, pitch, vel)
        else:
            synth.noteoff(chan, pitch)
    if total > pos:
        blocks.append(np.frombuffer(synth.generate_simple(total - pos), dtype=np.float32))
    stereo = np.concatenate(blocks).reshape(-1, 2)
    if channels == 1:
        return stereo.mean(axis=1, keepdims=True).astype(np.float32)
    return np.ascontiguousarray(stereo, dtype=np.float32)


# --- procedural ---------------------------------------------------------------------------

def _hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def _env(n: int, sr: int, attack_s: float, release_s: float, hold: int) -> np.ndarray:
    """Attack ramp, sustain until ``hold`` samples, then an exponential release."""
    e = np.ones(n)
    a = max(1, int(attack_s * sr))
    e[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
    if hold < n:
        t = np.arange(n - hold) / sr
        e[hold:] *= np.exp(-t / max(release_s / 5.0, 1e-3))
    return e


def _mix_notes(notes: list[Note], sr: int, seconds: float, voice_fn) -> dict[int, np.ndarray]:
    total = int(round(seconds * sr))
    parts: dict[int, np.ndarray] = {}
    for n in notes:
        start = int(round(n.start * sr))
        if start >= total:
            continue
        sig = voice_fn(n)
        end = min(total, start + len(sig))
        buf = parts.setdefault(n.voice, np.zeros(total))
        buf[start:end] += sig[: end - start]
    return parts or {0: np.zeros(total)}


def karplus_strong(notes: list[Note], sr: int, seconds: float, channels: int,
                   rng: np.random.Generator, *, brightness: float = 0.6,
                   decay: float = 0.996, pans: dict[int, float] | None = None) -> np.ndarray:
    """Plucked strings: a noise burst circulating in a damped delay line.

    The burst is low-passed at ``2 + 30 * brightness`` harmonics of the note, so a bass has
    its weight in the fundamental and a bright guitar pick reaches a few kHz.
    """

    def pluck(n: Note) -> np.ndarray:
        f0 = _hz(n.pitch)
        period = max(2, int(round(sr / f0)))
        length = int((n.duration + RELEASE_S) * sr)
        cutoff = min(0.45 * sr, f0 * (2.0 + 30.0 * brightness))
        burst = sosfilt(butter(2, cutoff, fs=sr, output="sos"), rng.uniform(-1, 1, 3 * period))
        burst = burst[-period:]
        y = np.zeros(length + period + 1)
        y[1:period + 1] = burst * (n.velocity / 127.0)
        g = decay ** (440.0 / max(f0, 40.0)) * 0.5   # low strings ring longer per period
        s = period + 1
        while s < len(y):
            e = min(s + period, len(y))
            y[s:e] = g * (y[s - period:e - period] + y[s - period - 1:e - period - 1])
            s = e
        y = y[1:length + 1]
        hold = int(n.duration * sr)
        return y * _env(length, sr, 0.001, 0.08, hold)

    return _place(_mix_notes(notes, sr, seconds, pluck), channels, pans or {})


_VOWELS = {  # formant centre frequencies (Hz) and bandwidths, adult voice
    "a": ((800, 80), (1150, 90), (2900, 120), (3900, 130)),
    "e": ((400, 60), (1600, 80), (2700, 120), (3300, 150)),
    "i": ((350, 50), (1700, 100), (2700, 120), (3700, 150)),
    "o": ((450, 70), (800, 80), (2830, 100), (3500, 130)),
    "u": ((325, 50), (700, 60), (2530, 170), (3500, 180)),
}


def _resonator(f: float, bw: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.exp(-np.pi * bw / sr)
    theta = 2 * np.pi * f / sr
    return np.array([1 - r]), np.array([1.0, -2 * r * np.cos(theta), r * r])


def formant_voice(notes: list[Note], sr: int, seconds: float, channels: int,
                  rng: np.random.Generator, *, vibrato_hz: float = 5.5,
                  vibrato_semitones: float = 0.4, breath: float = 0.02,
                  sibilance: float = 0.5, pans: dict[int, float] | None = None) -> np.ndarray:
    """Sung vowels: glottal sawtooth with delayed vibrato through four formant resonators,
    with "s"/"t" consonant noise at some onsets."""
    hp = butter(4, 4000, "highpass", fs=sr, output="sos")
    tilt = butter(1, 3000, "lowpass", fs=sr, output="sos")

    def sing(n: Note) -> np.ndarray:
        length = int((n.duration + RELEASE_S) * sr)
        t = np.arange(length) / sr
        depth = vibrato_semitones * np.clip((t - 0.15) / 0.2, 0, 1)
        f = _hz(n.pitch) * 2 ** (depth * np.sin(2 * np.pi * vibrato_hz * t) / 12)
        phase = np.cumsum(f) / sr
        source = 2.0 * (phase % 1.0) - 1.0
        source = sosfilt(tilt, source) + breath * rng.standard_normal(length)
        vowel = _VOWELS[str(rng.choice(list(_VOWELS)))]
        y = np.zeros(length)
        for k, (fc, bw) in enumerate(vowel):
            b, a = _resonator(fc, bw, sr)
            y += lfilter(b, a, source) * (1.0, 0.6, 0.35, 0.2)[k]
        y *= _env(length, sr, 0.04, 0.12, int(n.duration * sr))
        if rng.random() < sibilance:  # an "s" before the vowel, a "t" after it
            burst = int(rng.uniform(0.05, 0.11) * sr)
            noise = sosfilt(hp, rng.standard_normal(burst)) * np.hanning(burst)
            y[:burst] += noise * 0.25 * np.abs(y).max()
        return y * (n.velocity / 127.0)

    return _place(_mix_notes(notes, sr, seconds, sing), channels, pans or {})


def synth_drums(notes: list[Note], sr: int, seconds: float, channels: int,
                rng: np.random.Generator, *, tune: float = 1.0,
                pans: dict[int, float] | None = None) -> np.ndarray:
    """Kick (pitch-swept sine + click), snare (tone + noise), toms (swept sines), hats."""
    hat_hp = butter(2, 7000, "highpass", fs=sr, output="sos")
    snare_bp = butter(2, (1500, 7000), "bandpass", fs=sr, output="sos")

    def hit(n: Note) -> np.ndarray:
        v = n.velocity / 127.0
        if n.pitch in KICK:
            length = int(0.45 * sr)
            t = np.arange(length) / sr
            f = 45 * tune + 110 * tune * np.exp(-t / 0.03)
            body = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.18)
            click = rng.standard_normal(length) * np.exp(-t / 0.002) * 0.3
            return v * (body + click)
        if n.pitch in SNARE:
            length = int(0.3 * sr)
            t = np.arange(length) / sr
            tone = np.sin(2 * np.pi * 185 * tune * t) * np.exp(-t / 0.05)
            noise = sosfilt(snare_bp, rng.standard_normal(length)) * np.exp(-t / 0.07)
            return v * (0.6 * tone + 1.2 * noise)
        if n.pitch in (HAT_CLOSED, HAT_PEDAL, HAT_OPEN):
            length = int((0.35 if n.pitch == HAT_OPEN else 0.08) * sr)
            t = np.arange(length) / sr
            tau = 0.12 if n.pitch == HAT_OPEN else 0.02
            return v * 0.5 * sosfilt(hat_hp, rng.standard_normal(length)) * np.exp(-t / tau)
        length = int(0.5 * sr)  # toms: pitch from the GM key
        t = np.arange(length) / sr
        base = _hz(n.pitch - 12) * tune
        f = base * (1 + 0.5 * np.exp(-t / 0.05))
        return v * np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.22)

    return _place(_mix_notes(notes, sr, seconds, hit), channels, pans or {})


def organ(notes: list[Note], sr: int, seconds: float, channels: int, rng: np.random.Generator,
          *, drawbars=(1.0, 0.7, 0.5, 0.3, 0.2, 0.1),
          pans: dict[int, float] | None = None) -> np.ndarray:
    """Drawbar organ: harmonics 1, 2, 3, 4, 6, 8 at fixed levels, fast attack and release."""
    harmonics = (1, 2, 3, 4, 6, 8)

    def play(n: Note) -> np.ndarray:
        length = int((n.duration + 0.06) * sr)
        t = np.arange(length) / sr
        f0 = _hz(n.pitch)
        y = sum(w * np.sin(2 * np.pi * h * f0 * t) for h, w in zip(harmonics, drawbars)
                if h * f0 < sr / 2.2)
        return (n.velocity / 127.0) * 0.3 * y * _env(length, sr, 0.008, 0.05,
                                                     int(n.duration * sr))

    return _place(_mix_notes(notes, sr, seconds, play), channels, pans or {})


def fm_epiano(notes: list[Note], sr: int, seconds: float, channels: int,
              rng: np.random.Generator, *, index: float = 2.0,
              pans: dict[int, float] | None = None) -> np.ndarray:
    """Two-operator FM electric piano: a decaying modulation index gives the bell attack."""

    def play(n: Note) -> np.ndarray:
        length = int((n.duration + RELEASE_S) * sr)
        t = np.arange(length) / sr
        f0 = _hz(n.pitch)
        idx = index * np.exp(-t / 0.3) * (n.velocity / 127.0) * 1.5
        y = np.sin(2 * np.pi * f0 * t + idx * np.sin(2 * np.pi * f0 * t))
        decay = np.exp(-t / (1.2 * 261.6 / max(f0, 60.0) ** 0.5 / 16 + 0.4))
        return (n.velocity / 127.0) * 0.4 * y * decay * _env(length, sr, 0.002, 0.2,
                                                             int(n.duration * sr))

    return _place(_mix_notes(notes, sr, seconds, play), channels, pans or {})
