"""Musical material for the embedded dataset: random but musical note lists.

Every generator takes a NumPy ``Generator`` and a :class:`Groove` (tempo, key, mode, length)
and returns :class:`Note` events in seconds. Drum notes use General MIDI percussion keys.
The same generator output feeds both the SoundFont renderer and the procedural instruments,
so a clip's notes are independent of how it is voiced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

# General MIDI percussion keys
KICK = (35, 36)
SNARE = (38, 40)
TOMS = (41, 43, 45, 47, 48, 50)
HAT_CLOSED, HAT_PEDAL, HAT_OPEN = 42, 44, 46

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 4, 3), (5, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2)),
}


@dataclass(frozen=True)
class Note:
    start: float
    """Onset, seconds from the clip start."""
    duration: float
    pitch: int
    """MIDI key (for drums: the GM percussion key)."""
    velocity: int
    """1-127."""
    voice: int = 0
    """Which part plays it (harmony line, doubled guitar, drum sub-kit); used for panning."""


@dataclass(frozen=True)
class Groove:
    tempo: float
    """Beats per minute."""
    key: int
    """Tonic pitch class, 0 = C."""
    mode: str
    """"major" or "minor"."""
    seconds: float
    """Clip length; notes end at least 0.25 s before it so releases fit."""

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def step(self) -> float:
        """A sixteenth note, the grid every generator places onsets on."""
        return self.beat / 4.0

    @property
    def steps(self) -> int:
        return max(1, int((self.seconds - 0.35) / self.step))


def random_groove(rng: np.random.Generator, seconds: float) -> Groove:
    return Groove(tempo=float(rng.integers(72, 141)), key=int(rng.integers(0, 12)),
                  mode=str(rng.choice(["major", "minor"])), seconds=seconds)


def _scale(g: Groove) -> tuple[int, ...]:
    return _MAJOR if g.mode == "major" else _MINOR


def _chord(g: Groove, degree: int, octave_root: int, size: int = 3) -> list[int]:
    scale = _scale(g)
    notes = []
    for k in range(size):
        d = degree + 2 * k
        notes.append(octave_root + g.key + scale[d % 7] + 12 * (d // 7))
    return notes


def _progression(rng: np.random.Generator, g: Groove) -> tuple[int, ...]:
    options = _PROGRESSIONS[g.mode]
    return options[int(rng.integers(len(options)))]


def _vel(rng: np.random.Generator, base: int, spread: int = 12) -> int:
    return int(np.clip(base + rng.integers(-spread, spread + 1), 1, 127))


# --- drums --------------------------------------------------------------------------------

def kick(rng: np.random.Generator, g: Groove) -> list[Note]:
    key = int(rng.choice(KICK))
    pattern = rng.choice([0b1000100010001000, 0b1000001010000010, 0b1000000010100000,
                          0b1001001000100100])
    return _drum_line(rng, g, key, int(pattern), 105)


def snare(rng: np.random.Generator, g: Groove) -> list[Note]:
    key = int(rng.choice(SNARE))
    notes = _drum_line(rng, g, key, 0b0000100000001000, 110)
    ghosts = [Note(s * g.step, 0.1, key, _vel(rng, 40, 8)) for s in range(g.steps)
              if s % 16 in (6, 14, 3) and rng.random() < 0.35]
    return sorted(notes + ghosts, key=lambda n: n.start)


def tom(rng: np.random.Generator, g: Groove) -> list[Note]:
    toms = sorted(rng.choice(TOMS, size=3, replace=False), reverse=True)
    notes, s = [], 0
    while s < g.steps:
        run = int(rng.integers(3, 7))
        for k in range(run):
            if s + k >= g.steps:
                break
            notes.append(Note((s + k) * g.step, 0.3, int(toms[min(k * 3 // run, 2)]),
                              _vel(rng, 100)))
        s += run + int(rng.integers(2, 6))
    return notes


def drum_pattern(rng: np.random.Generator, g: Groove) -> list[Note]:
    notes = kick(rng, g) + _drum_line(rng, g, int(rng.choice(SNARE)), 0b0000100000001000, 108)
    hat_every = int(rng.choice([1, 2, 2]))
    for s in range(0, g.steps, hat_every):
        key = HAT_OPEN if s % 16 == 14 and rng.random() < 0.5 else HAT_CLOSED
        accent = 85 if s % 4 == 0 else 65
        notes.append(Note(s * g.step, 0.1, key, _vel(rng, accent, 10), voice=1))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _drum_line(rng: np.random.Generator, g: Groove, key: int, pattern: int,
               vel: int) -> list[Note]:
    out = []
    for s in range(g.steps):
        if pattern >> (15 - s % 16) & 1:
            out.append(Note(s * g.step, 0.2, key, _vel(rng, vel, 10)))
    return out


# --- pitched ------------------------------------------------------------------------------

def bass_line(rng: np.random.Generator, g: Groove) -> list[Note]:
    prog = _progression(rng, g)
    root = 36 if g.key <= 4 else 24  # roots F1..E2
    rhythm = rng.choice([2, 4, 8])  # steps per note
    notes = []
    for s in range(0, g.steps, int(rhythm)):
        degree = prog[(s // 16) % len(prog)]
        pitch = _chord(g, degree, root)[0]
        if rng.random() < 0.25:
            pitch += int(rng.choice([7, 12]))
        notes.append(Note(s * g.step, rhythm * g.step * 0.9, pitch, _vel(rng, 95)))
    return notes


def chords(rng: np.random.Generator, g: Groove, *, strum: bool = False,
           arpeggio: bool = False, root: int = 48, voices: int = 3) -> list[Note]:
    prog = _progression(rng, g)
    per_chord = int(rng.choice([4, 8, 16]))
    notes = []
    for s in range(0, g.steps, per_chord):
        degree = prog[(s // 16) % len(prog)]
        chord = _chord(g, degree, root, voices)
        length = min(per_chord, g.steps - s) * g.step
        if arpeggio:
            for k in range(per_chord):
                if s + k >= g.steps:
                    break
                notes.append(Note((s + k) * g.step, g.step * 1.5, chord[k % len(chord)],
                                  _vel(rng, 80)))
            continue
        spread = float(rng.uniform(0.008, 0.025)) if strum else 0.0
        for k, p in enumerate(chord):
            notes.append(Note(s * g.step + k * spread, length * 0.95 - k * spread, p,
                              _vel(rng, 85)))
    return notes


def melody(rng: np.random.Generator, g: Groove, low: int, high: int,
           lengths=(2, 4, 4, 8), rest: float = 0.15) -> list[Note]:
    scale = _scale(g)
    pitches = [p for p in range(low, high + 1) if (p - g.key) % 12 in scale]
    i = int(rng.integers(len(pitches) // 3, 2 * len(pitches) // 3))
    notes, s = [], 0
    while s < g.steps:
        n = int(rng.choice(lengths))
        if rng.random() >= rest:
            notes.append(Note(s * g.step, min(n, g.steps - s) * g.step * 0.92, pitches[i],
                              _vel(rng, 90)))
        i = int(np.clip(i + rng.choice([-2, -1, -1, 1, 1, 2, 0]), 0, len(pitches) - 1))
        s += n
    return notes or [Note(0.0, g.step * 4, pitches[i], 90)]


def harmony(rng: np.random.Generator, g: Groove, low: int, high: int) -> list[Note]:
    """A melody with parallel voices a diatonic third and fifth below (voices 0, 1, 2)."""
    top = melody(rng, g, low + 7, high, lengths=(4, 8, 8), rest=0.05)
    scale = _scale(g)
    out = list(top)
    for voice, steps_down in ((1, 2), (2, 4)):
        for n in top:
            degree = scale.index((n.pitch - g.key) % 12)
            d = degree - steps_down
            pitch = n.pitch - ((scale[degree] - scale[d % 7]) % 12 or 12)
            out.append(replace(n, pitch=pitch, voice=voice, velocity=max(1, n.velocity - 10)))
    return sorted(out, key=lambda n: (n.start, n.voice))
