"""``--prepare-suno``: prompts for generating the flawed set with Suno AI.

For each of the 25 instrument x flaw classes the config lists at least
``settings.SUNO_VARIATIONS_PER_FLAW`` distinct prompts: a style, tempo and key, the flaw in
an engineer's words, and what must stay clean, plus the file names Suno downloads should
have so that ``--organize-flawed`` can place them. The prompts are deterministic (the same
config every run).
"""

from __future__ import annotations

import math
import random
from typing import Any

from .. import settings, taxonomy
from ..fsutil import atomic_write_json
from ..layout import Layout

CONFIG_VERSION = 1

_STYLES: dict[str, tuple[str, ...]] = {
    "drums": ("tight funk", "modern pop", "indie rock", "boom-bap hip-hop", "80s rock",
              "jazz brush", "neo-soul", "punk", "R&B", "Motown"),
    "vocals": ("pop ballad", "soul", "indie folk", "R&B", "rock anthem", "gospel",
               "singer-songwriter", "synth-pop", "country", "jazz standard"),
    "bass": ("slap funk", "Motown fingerstyle", "rock pick", "reggae dub", "disco octave",
             "indie", "jazz walking", "synth-wave", "country", "neo-soul"),
    "guitar": ("clean funk", "crunchy rock", "jangly indie", "acoustic folk", "blues",
               "country twang", "alt-rock", "surf", "soul", "post-punk"),
    "keys": ("grand piano ballad", "Rhodes neo-soul", "Hammond organ gospel", "Wurlitzer pop",
             "synth pad ambient", "honky-tonk piano", "jazz piano trio", "80s synth-pop",
             "classical piano", "house piano"),
}
_SOURCE_WORDS: dict[str, tuple[str, ...]] = {
    "drums": ("kick drum", "snare drum", "toms", "full drum kit", "kick and snare pattern"),
    "vocals": ("lead vocal", "stacked harmonies", "lead vocal", "backing vocal harmony"),
    "bass": ("electric bass", "bass guitar", "synth bass", "upright bass"),
    "guitar": ("rhythm guitar", "lead guitar", "rhythm guitar", "lead guitar solo"),
    "keys": ("piano", "electric piano", "organ", "synth keys", "keyboard"),
}
_TEMPOS = (72, 84, 90, 96, 100, 108, 115, 120, 126, 132, 140)
_KEYS = ("C major", "G major", "D major", "A minor", "E minor", "F major", "B-flat major",
         "D minor", "E-flat major", "F-sharp minor", "A major", "C minor")
_FLAW_WORDS: dict[str, tuple[str, ...]] = {
    "muddy": ("muddy, with a big build-up around 250-400 Hz", "cloudy low-mids, as if "
              "nobody cut 300 Hz", "woolly and congested in the low-mids"),
    "harsh": ("harsh, with a piercing peak around 3 kHz", "brittle and fatiguing upper "
              "mids (2-5 kHz)", "spiky, ear-tiring presence peak"),
    "over_compressed": ("heavily over-compressed, squashed with no transients",
                        "pumping and flattened, crushed by a fast compressor",
                        "lifeless dynamics, slammed into a limiter"),
    "thin": ("thin, with no body below 200 Hz", "weak and small, the low end rolled "
             "off", "lacking weight and fundamental"),
    "sloppy_timing": ("sloppy timing, hits drifting ahead of and behind the beat",
                      "loose, uneven timing like an unsteady drummer",
                      "flams and late hits off the grid"),
    "nasal": ("nasal and honky around 1 kHz", "pinched, sung-through-the-nose tone",
              "a honky mid-range resonance"),
    "boxy": ("boxy, like recorded in a small closet (400-600 Hz)", "hollow cardboard "
             "tone", "small-room boxiness in the lower mids"),
    "over_sibilant": ("over-sibilant, piercing s and t sounds", "harsh, hissing esses "
                      "around 6-8 kHz", "no de-essing, spitty sibilance"),
    "undefined": ("undefined, notes blurring together with no attack",
                  "smeared and indistinct, no string definition", "soft, dull note "
                  "onsets that lose the pitch"),
    "boomy": ("boomy, with a booming resonance around 80 Hz", "overhanging low end that "
              "rings on", "a bloated, resonant sub"),
    "distorted": ("distorted and clipped, with audible buzz", "overdriven preamp "
                  "crackle and grit", "harsh digital clipping on the peaks"),
    "dark": ("dark and muffled, no top end above 5 kHz", "dull and lifeless, like a "
             "blanket over the speaker", "missing air and sparkle"),
    "ringy": ("ringy, with narrow resonances that sustain", "metallic ringing "
              "overtones", "a resonant ring after every note"),
}
_KEEP_CLEAN = ("everything else clean and well recorded", "no reverb, no other instruments",
               "dry, isolated, no effects besides the flaw", "natural performance, "
               "only this one flaw", "clean recording apart from the flaw")


def _prompts(instrument: str, flaw: str, count: int) -> list[dict[str, Any]]:
    rng = random.Random(f"ngn-clarity/suno/{instrument}/{flaw}")
    seen: set[str] = set()
    prompts: list[dict[str, Any]] = []
    while len(prompts) < count:
        style = rng.choice(_STYLES[instrument])
        source = rng.choice(_SOURCE_WORDS[instrument])
        tempo = rng.choice(_TEMPOS)
        key = rng.choice(_KEYS)
        flaw_words = rng.choice(_FLAW_WORDS[flaw])
        clean = rng.choice(_KEEP_CLEAN)
        text = (f"Solo isolated {source} stem, {style} style, {tempo} BPM, {key}. "
                f"Mix flaw: {flaw_words}. Keep {clean}.")
        if text in seen:
            continue
        seen.add(text)
        prompts.append({"id": f"{instrument}-{flaw}-{len(prompts) + 1:02d}", "prompt": text,
                        "style": style, "source": source, "tempo_bpm": tempo, "key": key,
                        "flaw_words": flaw_words})
    return prompts


def build_config(variations: int = settings.SUNO_VARIATIONS_PER_FLAW,
                 keep: int = settings.SUNO_KEEP_PER_FLAW) -> dict[str, Any]:
    """The whole Suno generation config as a dict (see module doc)."""
    per_instrument = settings.FLAWED_PER_INSTRUMENT
    rounds = math.ceil(per_instrument / (keep * len(taxonomy.INSTRUMENT_FLAWS["drums"])))
    instruments: dict[str, Any] = {}
    for instrument in taxonomy.INSTRUMENTS:
        source = taxonomy.DEFAULT_SOURCE[instrument]
        flaws = {}
        for slug in taxonomy.flaws_for(instrument):
            f = taxonomy.flaw(slug)
            label = slug.replace("_", " ").title().replace(" ", "-")
            flaws[slug] = {
                "description": f.description,
                "aliases": list(f.aliases),
                "generate": variations,
                "keep": keep,
                "download_name": f"{source.title()} Flawed - {label} (<n>).wav",
                "canonical_name": taxonomy.name_prefix(source, slug) + "<NNN>.<ext>",
                "prompts": _prompts(instrument, slug, variations),
            }
        instruments[instrument] = {"sources": list(taxonomy.sources_for(instrument)),
                                   "flaws": flaws}
    return {
        "version": CONFIG_VERSION,
        "targets": {
            "gold_per_instrument": settings.GOLD_PER_INSTRUMENT,
            "flawed_per_instrument": per_instrument,
            "variations_per_flaw": variations,
            "keep_per_flaw": keep,
            "rounds_to_reach_target": rounds,
        },
        "workflow": [
            "Generate every prompt of a flaw in Suno (one clip per prompt).",
            f"Listen and keep the best {keep} per flaw; download them into data/downloads/.",
            "Name each download as download_name says (any case; aliases such as "
            "'Overcompressed' or 'Boxed' are understood); sub-folders per instrument help.",
            "Run: python dataset_generator.py --organize-flawed",
            f"Repeat ({rounds} rounds of {keep} per flaw) to reach {per_instrument} "
            f"flawed clips per instrument.",
        ],
        "file_name_patterns": {
            "download": "<Source> Flawed - <Flaw> (<n>).<ext>",
            "canonical": taxonomy.name_prefix("<source>", "<flaw>") + "<NNN>.<ext>",
        },
        "instruments": instruments,
    }


def prepare_suno(layout: Layout) -> dict[str, Any]:
    """Write ``suno_generation_config.json`` at the data root; return the config."""
    config = build_config()
    atomic_write_json(layout.suno_config, config)
    return config
