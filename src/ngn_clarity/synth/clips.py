"""Clip specifications and their rendering: the pure core of ``clarity synth``.

A :class:`GoldSpec` says everything needed to render one gold clip (recipe, preset, sample
rate, channels, length, groove, seed); a :class:`FlawedSpec` names its gold clip, the flaw
and its severity. :func:`render_gold` and :func:`render_flawed` turn specs into float32
audio with no file I/O, so the same seed always gives the same samples.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any, Callable

import numpy as np

from .. import flaws, taxonomy
from ..flaws.taste import apply_taste
from . import music, voices
from .music import Groove, Note

SAMPLE_RATES = (44100, 48000)
MIN_SECONDS, MAX_SECONDS = 2.0, 8.0
#: Gold and flawed clips are scaled to a random sample peak in this range (dBFS), so that
#: level is no cue and nothing clips; the normalizer sets loudness later.
PEAK_DBFS = (-18.0, -3.0)


@dataclass(frozen=True)
class Recipe:
    source: str
    voice: str
    """"soundfont" or a procedural voice: strings, voice, drums, organ, epiano."""
    programs: tuple[int, ...]
    """GM programs (drum kits when ``drums``) to choose from; empty for procedural."""
    channels: int
    notes: Callable[[np.random.Generator, Groove], list[Note]]
    drums: bool = False
    pans: tuple[tuple[int, float], ...] = ()
    options: tuple[tuple[str, tuple], ...] = ()
    """Procedural voice options: name -> (low, high) drawn uniformly per clip."""


def _doubled(fn):
    """Double-tracked part: the same notes again 10-25 ms late on voice 1."""
    def notes(rng: np.random.Generator, g: Groove) -> list[Note]:
        first = fn(rng, g)
        lag = float(rng.uniform(0.010, 0.025))
        return first + [replace(n, start=n.start + lag, voice=1) for n in first]
    return notes


_KITS = (0, 8, 16, 24, 25, 32, 40)
_LR = ((0, -0.6), (1, 0.6))
_HARMONY_PANS = ((0, 0.0), (1, -0.5), (2, 0.5))
_STRINGS = (("brightness", (0.35, 0.85)), ("decay", (0.993, 0.998)))

RECIPES: dict[str, tuple[Recipe, ...]] = {
    "drums": (
        Recipe("kick", "soundfont", _KITS, 1, music.kick, drums=True),
        Recipe("snare", "soundfont", _KITS, 1, music.snare, drums=True),
        Recipe("tom", "soundfont", _KITS, 1, music.tom, drums=True),
        Recipe("drums", "soundfont", _KITS, 2, music.drum_pattern, drums=True,
               pans=((0, 0.0), (1, 0.4))),
        Recipe("kick", "drums", (), 1, music.kick, options=(("tune", (0.85, 1.2)),)),
        Recipe("snare", "drums", (), 1, music.snare, options=(("tune", (0.85, 1.2)),)),
        Recipe("tom", "drums", (), 1, music.tom, options=(("tune", (0.85, 1.2)),)),
        Recipe("drums", "drums", (), 2, music.drum_pattern, pans=((0, 0.0), (1, 0.4)),
               options=(("tune", (0.85, 1.2)),)),
    ),
    "vocals": (
        Recipe("lead", "soundfont", (52, 53, 54, 85), 1,
               partial(music.melody, low=55, high=74, lengths=(4, 4, 8, 8))),
        Recipe("harmony", "soundfont", (52, 53, 54), 2,
               partial(music.harmony, low=52, high=72), pans=_HARMONY_PANS),
        Recipe("lead", "voice", (), 1, partial(music.melody, low=52, high=72,
                                                lengths=(4, 4, 8, 8)),
               options=(("vibrato_hz", (4.8, 6.2)), ("vibrato_semitones", (0.2, 0.6)),
                        ("sibilance", (0.3, 0.8)))),
        Recipe("harmony", "voice", (), 2, partial(music.harmony, low=50, high=72),
               pans=_HARMONY_PANS,
               options=(("vibrato_hz", (4.8, 6.2)), ("vibrato_semitones", (0.2, 0.5)),
                        ("sibilance", (0.2, 0.6)))),
    ),
    "bass": (
        Recipe("bass", "soundfont", (32, 33, 34, 35, 36, 37, 38), 1, music.bass_line),
        Recipe("bass", "soundfont", (33, 34, 35, 38, 39), 1, music.bass_line),
        Recipe("bass", "strings", (), 1, music.bass_line,
               options=(("brightness", (0.25, 0.6)), ("decay", (0.994, 0.998)))),
    ),
    "guitar": (
        Recipe("rhythm", "soundfont", (24, 25, 26, 27, 28), 2,
               _doubled(partial(music.chords, strum=True, root=52)), pans=_LR),
        Recipe("lead", "soundfont", (24, 25, 26, 27, 29), 1,
               partial(music.melody, low=57, high=84)),
        Recipe("rhythm", "strings", (), 2,
               _doubled(partial(music.chords, strum=True, root=52)), pans=_LR,
               options=_STRINGS),
        Recipe("lead", "strings", (), 1, partial(music.melody, low=57, high=84),
               options=_STRINGS),
    ),
    "keys": (
        Recipe("piano", "soundfont", (0, 1, 2, 3), 2,
               partial(music.chords, root=48, voices=4)),
        Recipe("epiano", "soundfont", (4, 5, 7), 2, partial(music.chords, arpeggio=True,
                                                            root=55)),
        Recipe("organ", "soundfont", (16, 17, 18, 19), 2, partial(music.chords, root=48)),
        Recipe("organ", "organ", (), 2, partial(music.chords, root=48)),
        Recipe("epiano", "epiano", (), 2, partial(music.chords, arpeggio=True, root=55),
               options=(("index", (1.2, 3.0)),)),
    ),
}

_PROCEDURAL: dict[str, Callable[..., np.ndarray]] = {
    "strings": voices.karplus_strong, "voice": voices.formant_voice,
    "drums": voices.synth_drums, "organ": voices.organ, "epiano": voices.fm_epiano}


@dataclass(frozen=True)
class GoldSpec:
    instrument: str
    recipe: int
    """Index into ``RECIPES[instrument]``."""
    source: str
    index: int
    """1-based number within (instrument, source): the NNN of the file name."""
    voice: str
    program: int | None
    sample_rate: int
    channels: int
    seconds: float
    groove: Groove
    seed: tuple[int, ...]
    options: dict[str, float] = field(default_factory=dict)
    taste: bool = True
    """Give the clip the taste band's processing (:mod:`ngn_clarity.flaws.taste`)."""

    @property
    def name(self) -> str:
        return f"{self.source}_{self.index:03d}.wav"

    @property
    def group(self) -> str:
        """Group id shared by a gold clip and every flawed clip made from it."""
        return f"{self.instrument}/{self.source}_{self.index:03d}"


@dataclass(frozen=True)
class FlawedSpec:
    gold: GoldSpec
    flaw: str
    severity: float
    index: int
    seed: tuple[int, ...]

    @property
    def instrument(self) -> str:
        return self.gold.instrument

    @property
    def source(self) -> str:
        return self.gold.source

    @property
    def name(self) -> str:
        return f"{self.gold.source}_flawed_{self.flaw}_{self.index:03d}.wav"


def spec_hash(spec: GoldSpec | FlawedSpec, soundfont: str) -> str:
    blob = json.dumps({"spec": asdict(spec), "soundfont": soundfont, "v": 2}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _rngs(seed: tuple[int, ...], n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(list(seed)).spawn(n)]


def gold_spec(instrument: str, recipe_index: int, source_index: int,
              seed: tuple[int, ...], soundfont: str | None, taste: bool = True) -> GoldSpec:
    recipe = RECIPES[instrument][recipe_index]
    rng = _rngs(seed, 1)[0]
    voice, program = recipe.voice, None
    if voice == "soundfont":
        usable = [p for p in recipe.programs
                  if soundfont and voices.soundfont_has(soundfont, 128 if recipe.drums else 0, p)]
        if usable:
            program = int(rng.choice(usable))
        else:  # a --soundfont without these presets: play the part procedurally
            voice = {"drums": "drums", "vocals": "voice", "keys": "organ"}.get(instrument,
                                                                               "strings")
    seconds = round(float(rng.uniform(MIN_SECONDS, MAX_SECONDS)), 2)
    return GoldSpec(
        instrument=instrument, recipe=recipe_index, source=recipe.source, index=source_index,
        voice=voice, program=program, sample_rate=int(rng.choice(SAMPLE_RATES)),
        channels=recipe.channels, seconds=seconds, groove=music.random_groove(rng, seconds),
        seed=seed, options={k: round(float(rng.uniform(*rng_range)), 4)
                            for k, rng_range in recipe.options}, taste=taste)


def _notes(spec: GoldSpec) -> list[Note]:
    notes_rng = _rngs(spec.seed, 3)[1]
    return RECIPES[spec.instrument][spec.recipe].notes(notes_rng, spec.groove)


def _play(spec: GoldSpec, notes: list[Note], soundfont: str | None) -> np.ndarray:
    recipe = RECIPES[spec.instrument][spec.recipe]
    pans = dict(recipe.pans)
    if spec.voice == "soundfont":
        assert soundfont is not None and spec.program is not None
        return voices.render_soundfont(notes, soundfont, spec.sample_rate, spec.seconds,
                                       spec.channels, program=spec.program,
                                       drums=recipe.drums, pans=pans)
    voice_rng = _rngs(spec.seed, 3)[2]
    return _PROCEDURAL[spec.voice](notes, spec.sample_rate, spec.seconds, spec.channels,
                                   voice_rng, pans=pans, **spec.options)


def _to_peak(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The output stage of every rendered clip: its DC offset removed (each channel's mean,
    which SoundFont samples, asymmetric waveforms and asymmetric drive leave, up to -22 dBFS;
    a studio's AC-coupled chain would not pass it), then its peak set."""
    peak_db = float(rng.uniform(*PEAK_DBFS))
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    peak = float(np.max(np.abs(x)))
    if not np.isfinite(peak) or peak <= 1e-6:
        raise ValueError("rendered silence")
    return (x * (10 ** (peak_db / 20) / peak)).astype(np.float32), peak_db


@dataclass(frozen=True)
class Played:
    """A gold clip as played (and, with ``spec.taste``, produced), before its level is set:
    what its flawed clips are made from."""

    audio: np.ndarray
    params: dict[str, Any]
    """What the gold clip's record keeps under ``params`` (the taste chain, or nothing)."""


def render_gold_raw(spec: GoldSpec, soundfont: str | None) -> Played:
    """The gold clip as played, with its taste processing when ``spec.taste`` (drawn from
    the spec's own seed)."""
    played = _play(spec, _notes(spec), soundfont)
    if not spec.taste:
        return Played(played, {})
    tasted = apply_taste(played, spec.sample_rate, spec.instrument, _rngs(spec.seed, 5)[4])
    return Played(tasted.audio, tasted.params())


def render_gold(spec: GoldSpec, soundfont: str | None,
                raw: Played | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Gold audio ``(frames, channels)`` and facts for its label record (``params``: the
    taste chain).

    ``raw`` is :func:`render_gold_raw`'s result when the caller already has it.
    """
    raw = render_gold_raw(spec, soundfont) if raw is None else raw
    audio, peak_db = _to_peak(raw.audio, _rngs(spec.seed, 4)[3])
    return audio, {"notes": len(_notes(spec)), "peak_dbfs": round(peak_db, 3),
                   "params": raw.params}


def render_flawed(spec: FlawedSpec, soundfont: str | None,
                  gold_raw: Played | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Flawed audio and its record facts: the flaw engine's chain and correction vector.

    ``gold_raw`` is :func:`render_gold_raw` of ``spec.gold`` when the caller already has it
    (rendering it again gives the same samples). The flaw is applied by
    :func:`ngn_clarity.flaws.make_flawed`, the engine ``clarity augment`` uses too.
    """
    flaw_rng, level_rng = _rngs(spec.seed, 2)
    if gold_raw is None:
        gold_raw = render_gold_raw(spec.gold, soundfont)
    made = flaws.make_flawed(gold_raw.audio, spec.gold.sample_rate, spec.instrument,
                             spec.flaw, spec.severity, flaw_rng)
    audio, peak_db = _to_peak(made.audio, level_rng)
    return audio, {"params": made.params(), "correction": made.correction,
                   "peak_dbfs": round(peak_db, 3)}


def plan(instrument: str, n_gold: int, n_flawed: int, seed: int,
         soundfont: str | None, taste: bool = True) -> tuple[list[GoldSpec], list[FlawedSpec]]:
    """Deterministic specs for one instrument: recipes in turn, flaws in turn.

    Flawed clip ``j`` is made from gold clip ``perm[j mod n_gold]`` (a seeded permutation)
    with flaw ``j mod 5``, so every flaw class gets the same count and a gold clip and its
    flawed children share a group id.
    """
    inst = taxonomy.INSTRUMENTS.index(instrument)
    recipes = RECIPES[instrument]
    per_source: dict[str, int] = {}
    golds = []
    for i in range(n_gold):
        r = i % len(recipes)
        src = recipes[r].source
        per_source[src] = per_source.get(src, 0) + 1
        golds.append(gold_spec(instrument, r, per_source[src], (seed, inst, 0, i), soundfont,
                               taste))
    if not golds:
        return [], []
    order_rng = np.random.default_rng([seed, inst, 2])
    perm = order_rng.permutation(len(golds))
    flaw_names = taxonomy.flaws_for(instrument)
    counters: dict[tuple[str, str], int] = {}
    flawed = []
    for j in range(n_flawed):
        g = golds[int(perm[j % len(golds)])]
        fl = flaw_names[j % len(flaw_names)]
        counters[(g.source, fl)] = counters.get((g.source, fl), 0) + 1
        severity = round(float(order_rng.uniform(0.0, 1.0)), 4)
        flawed.append(FlawedSpec(g, fl, severity, counters[(g.source, fl)],
                                 (seed, inst, 1, j)))
    return golds, flawed
