"""The taxonomy: instruments, sub-sources, flaw types, aliases and the file-name grammar.

This module is the single source of truth for every naming rule in the pipeline. Nothing
else hard-codes an instrument, a flaw slug or a file-name pattern.

File names (docs/architecture.md, "Decisions: taxonomy")::

    gold:    <source>_<NNN>.<ext>                 kick_001.wav
    flawed:  <source>_flawed_<flaw>_<NNN>.<ext>   kick_flawed_over_compressed_003.wav

Free-form names (Suno downloads, stem libraries) are read with :func:`classify`, which looks
for source keywords ("kick", "lead vocal", "bass guitar", ...) and flaw aliases
("Overcompressed", "boxed", "sibilant", ...) in the file name and its folders, and refuses to
guess when the words point to more than one instrument or flaw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Iterable, Sequence

from .errors import TaxonomyError

SUBSETS: tuple[str, ...] = ("gold", "flawed")
INSTRUMENTS: tuple[str, ...] = ("drums", "vocals", "bass", "guitar", "keys")
NO_FLAW = "none"
"""``flawed_type`` of a gold clip."""


@dataclass(frozen=True)
class Source:
    """A sub-source of an instrument (``kick`` of drums, ``lead`` of vocals, ...)."""

    name: str
    instrument: str
    keywords: tuple[str, ...]
    """Words (or space-separated phrases) that identify this source in a free-form name."""


@dataclass(frozen=True)
class Flaw:
    """A flaw type: canonical slug, the words people use for it, and what it is."""

    slug: str
    aliases: tuple[str, ...]
    description: str
    """In an engineer's words: what is wrong and where."""


# Sources. The default source of an instrument (used when only the instrument is known) has
# the instrument's own name's stem: drums, vocal, bass, guitar, keys.
SOURCES: tuple[Source, ...] = (
    Source("kick", "drums", ("kick", "kicks", "kik", "bd", "bass drum", "kick drum")),
    Source("snare", "drums", ("snare", "snares", "snr", "rimshot", "clap", "claps")),
    Source("tom", "drums", ("tom", "toms", "floor tom", "rack tom", "tom tom")),
    Source("hihat", "drums", ("hihat", "hihats", "hi hat", "hi hats", "hat", "hats", "hh")),
    Source("cymbal", "drums", ("cymbal", "cymbals", "crash", "ride", "overhead", "overheads")),
    Source("drums", "drums", ("drum", "drums", "kit", "beat", "beats", "groove", "pattern",
                              "loop", "percussion", "perc", "breakbeat")),
    # "lead" alone is ambiguous (a lead vocal or a lead guitar): it is a keyword of both.
    Source("lead", "vocals", ("lead vocal", "lead vocals", "lead vox", "lead voc", "main vocal",
                              "lead singer", "lead")),
    Source("harmony", "vocals", ("harmony", "harmonies", "harm", "backing", "backing vocal",
                                 "backing vocals", "bgv", "bgvs", "choir", "doubles")),
    Source("vocal", "vocals", ("vocal", "vocals", "vox", "voc", "voice", "singer", "acapella",
                               "a cappella")),
    Source("bass", "bass", ("bass", "basses", "bass guitar", "electric bass", "synth bass",
                            "sub bass", "upright bass", "double bass", "bassline")),
    Source("rhythm", "guitar", ("rhythm", "rhythm guitar", "rhythm gtr", "rhy")),
    Source("lead", "guitar", ("lead guitar", "lead gtr", "guitar solo", "solo", "lead")),
    Source("guitar", "guitar", ("guitar", "guitars", "gtr", "gtrs", "acoustic guitar",
                                "electric guitar")),
    Source("piano", "keys", ("piano", "pianos", "grand piano", "upright piano")),
    Source("epiano", "keys", ("electric piano", "epiano", "rhodes", "wurli", "wurlitzer")),
    Source("organ", "keys", ("organ", "organs", "hammond")),  # not "B3": a note name
    Source("synth", "keys", ("synth", "synths", "pad", "pads", "synth lead", "synthesizer")),
    Source("keys", "keys", ("keys", "keyboard", "keyboards", "clav", "clavinet")),
)
# Generic music words that are also keywords: they name an instrument only when no other
# source word does ("Loop 01.wav" is drums, "Guitar Loop 01.wav" a guitar, not a conflict;
# "Lead.wav" in a Vocals folder a lead vocal).
WEAK_KEYWORDS: frozenset[str] = frozenset({
    "beat", "beats", "groove", "pattern", "loop", "lead", "harmony", "harmonies", "harm",
    "backing", "doubles", "rhythm", "rhy", "solo", "pad", "pads"})
DEFAULT_SOURCE: dict[str, str] = {
    "drums": "drums", "vocals": "vocal", "bass": "bass", "guitar": "guitar", "keys": "keys"}

FLAWS: tuple[Flaw, ...] = (
    Flaw("muddy", ("muddy", "mud", "murky", "muddiness"),
         "too much low-mid energy (200-500 Hz) clouding the tone"),
    Flaw("harsh", ("harsh", "harsh 3khz", "harshness", "brittle", "piercing"),
         "a hard, fatiguing peak in the 2-5 kHz presence region"),
    Flaw("over_compressed", ("over compressed", "overcompressed", "over compression",
                             "overcompression", "squashed", "squished", "crushed"),
         "transients flattened and dynamics squashed by heavy compression"),
    Flaw("thin", ("thin", "weak", "no body", "lacking body"),
         "missing low end and body below about 200 Hz"),
    Flaw("sloppy_timing", ("sloppy timing", "sloppy", "timing", "off time", "off beat",
                           "offbeat", "rushed", "dragging", "uneven timing"),
         "hits land off the grid with uneven, humanly-wrong timing"),
    Flaw("nasal", ("nasal", "nasally", "honky", "honk"),
         "a honky resonance around 800 Hz-1.5 kHz, as if sung through the nose"),
    Flaw("boxy", ("boxy", "boxed", "boxiness", "cardboard"),
         "a hollow, small-room build-up around 300-800 Hz"),
    Flaw("over_sibilant", ("over sibilant", "oversibilant", "sibilant", "sibilance", "essy",
                           "esses"),
         "piercing 's' and 't' sounds in the 5-10 kHz range"),
    Flaw("undefined", ("undefined", "indistinct", "blurry", "smeared", "no definition",
                       "lacking definition"),
         "notes blur together with no attack or upper-harmonic definition"),
    Flaw("boomy", ("boomy", "boom", "booming", "woolly", "wooly"),
         "an overhanging low-frequency resonance around 60-120 Hz"),
    Flaw("distorted", ("distorted", "distortion", "clipped", "clipping", "fuzzed", "overdriven"),
         "unintended clipping or saturation that adds buzz and grit"),
    Flaw("dark", ("dark", "dull", "muffled", "lifeless", "no air"),
         "missing top end and air above about 5 kHz"),
    Flaw("ringy", ("ringy", "ringing", "resonant", "resonance", "ringiness"),
         "narrow resonances that ring on after the note"),
)
INSTRUMENT_FLAWS: dict[str, tuple[str, ...]] = {
    "drums": ("muddy", "harsh", "over_compressed", "thin", "sloppy_timing"),
    "vocals": ("nasal", "boxy", "over_sibilant", "muddy", "over_compressed"),
    "bass": ("undefined", "boomy", "thin", "muddy", "distorted"),
    "guitar": ("muddy", "harsh", "thin", "boxy", "over_compressed"),
    "keys": ("thin", "dark", "harsh", "over_compressed", "ringy"),
}

_FLAW_BY_SLUG = {f.slug: f for f in FLAWS}
ALL_FLAW_SLUGS: tuple[str, ...] = tuple(f.slug for f in FLAWS)

# Words that say "this file is flawed" without naming the flaw.
_FLAWED_WORDS = frozenset({"flawed", "flaw", "bad", "broken"})

CANONICAL_NAME = re.compile(
    r"^(?P<source>[a-z][a-z0-9]*)"
    r"(?:_flawed_(?P<flaw>[a-z][a-z_]*?))?"
    r"_(?P<index>\d{3,})"
    r"\.(?P<ext>[A-Za-z0-9]+)$"
)


def flaw(slug: str) -> Flaw:
    return _FLAW_BY_SLUG[slug]


def flaws_for(instrument: str) -> tuple[str, ...]:
    """Canonical flaw slugs of one instrument, in the seed's order."""
    check_instrument(instrument)
    return INSTRUMENT_FLAWS[instrument]


def flaw_pairs() -> list[tuple[str, str]]:
    """Every (instrument, flaw) pair of the taxonomy: the 25 flaw classes."""
    return [(inst, f) for inst in INSTRUMENTS for f in INSTRUMENT_FLAWS[inst]]


def sources_for(instrument: str) -> tuple[str, ...]:
    check_instrument(instrument)
    seen: dict[str, None] = {}
    for s in SOURCES:
        if s.instrument == instrument:
            seen.setdefault(s.name, None)
    return tuple(seen)


def check_instrument(instrument: str) -> str:
    if instrument not in INSTRUMENTS:
        raise TaxonomyError(
            f"unknown instrument {instrument!r} (expected one of {', '.join(INSTRUMENTS)})")
    return instrument


def check_subset(subset: str) -> str:
    if subset not in SUBSETS:
        raise TaxonomyError(f"unknown subset {subset!r} (expected gold or flawed)")
    return subset


def check_flaw(instrument: str, slug: str) -> str:
    """Return ``slug`` if it is a flaw of ``instrument``; otherwise raise with the valid ones."""
    valid = flaws_for(instrument)
    if slug not in valid:
        raise TaxonomyError(
            f"{slug!r} is not a {instrument} flaw (expected one of {', '.join(valid)})")
    return slug


# --- words ----------------------------------------------------------------------------------

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(text: str) -> list[str]:
    """Lower-case word tokens of a name: camelCase, digits and punctuation split.

    >>> words("LeadVocal_take-02 (Harsh 3kHz).wav")
    ['lead', 'vocal', 'take', '02', 'harsh', '3', 'k', 'hz', 'wav']
    """
    return [w.lower() for w in _CAMEL.findall(text)]


def _phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(words(phrase))


def _build_phrase_index(items: Iterable[tuple[str, object]]) -> list[tuple[tuple[str, ...], list]]:
    grouped: dict[tuple[str, ...], list] = {}
    for phrase, value in items:
        grouped.setdefault(_phrase_words(phrase), []).append(value)
    # Longest phrases first, so "bass drum" wins over "bass" and "lead vocal" over "lead".
    return sorted(grouped.items(), key=lambda kv: -len(kv[0]))


_SOURCE_INDEX = _build_phrase_index((kw, s) for s in SOURCES for kw in s.keywords)
_FLAW_INDEX = _build_phrase_index((a, f.slug) for f in FLAWS for a in f.aliases)


def _find_phrases(tokens: Sequence[str], index) -> tuple[list[tuple[tuple[str, ...], list]],
                                                         list[str]]:
    """Greedy longest-first phrase matching; each token is used by at most one phrase.

    Returns the matches (phrase, its list of candidates) in reading order and the tokens no
    phrase used.
    """
    used = [False] * len(tokens)
    found: list[tuple[int, tuple[str, ...], list]] = []
    for phrase, values in index:
        n = len(phrase)
        for i in range(len(tokens) - n + 1):
            if not any(used[i:i + n]) and tuple(tokens[i:i + n]) == phrase:
                used[i:i + n] = [True] * n
                found.append((i, phrase, values))
    found.sort(key=lambda ipv: ipv[0])
    rest = [t for t, u in zip(tokens, used) if not u]
    return [(p, v) for _, p, v in found], rest


def _flaws_in(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    matches, rest = _find_phrases(tokens, _FLAW_INDEX)
    return list(dict.fromkeys(v[0] for _, v in matches)), rest


@dataclass(frozen=True)
class Classification:
    """What a free-form name says: instrument, source and (for flawed clips) the flaw."""

    instrument: str
    source: str
    flaw: str | None
    """Canonical flaw slug, or ``None`` when the name names no flaw."""


def classify(name: str, folders: Sequence[str] = (), *, want_flaw: bool = False) -> Classification:
    """Decide instrument, source and flaw from a file name and the folders above it.

    Every source word in the name and its folders must agree on one instrument ("Lead.wav"
    in a "Vocals" folder is a lead vocal; "Guitar/Bass.wav" is refused); a generic word of
    :data:`WEAK_KEYWORDS` counts only when no other source word is there ("Bass Loop.wav" is
    a bass, "Loop.wav" drums). The source is the most specific one found, nearest the file
    first; the flaw is read from the name, then from the folders, nearest first. Raises
    :class:`TaxonomyError` with the reason when the words name no instrument, more than one
    instrument, more than one flaw, a flaw the instrument does not have, or (with
    ``want_flaw``) no flaw at all.
    """
    levels = [words(PurePath(name).stem)] + [words(f) for f in reversed(list(folders))]
    flaw_levels: list[list[str]] = []
    found: list[tuple[tuple[str, ...], list[Source]]] = []
    for tokens in levels:
        level_flaws, rest = _flaws_in(tokens)
        flaw_levels.append(level_flaws)
        found.extend(_find_phrases(rest, _SOURCE_INDEX)[0])
    if not found:
        raise TaxonomyError("no instrument or source word found in the name or its folders")
    source_matches = [m for _, m in found]
    deciding = [m for p, m in found if " ".join(p) not in WEAK_KEYWORDS] or source_matches
    candidates = set(INSTRUMENTS)
    for match in deciding:
        candidates &= {s.instrument for s in match}
    if len(candidates) != 1:
        names = sorted({f"{s.instrument}/{s.name}" for m in deciding for s in m})
        kind = "could be" if candidates else "points to more than one instrument:"
        raise TaxonomyError(f"name {kind} {' or '.join(names)}")
    instrument = candidates.pop()
    specific = list(dict.fromkeys(
        s.name for m in source_matches for s in m
        if s.instrument == instrument and s.name != DEFAULT_SOURCE[instrument]))
    # One specific source (kick) names the clip; none or several (kick + snare) is the kit.
    source = specific[0] if len(specific) == 1 else DEFAULT_SOURCE[instrument]
    flaws = next((lf for lf in flaw_levels if lf), [])
    return Classification(instrument, source, _pick_flaw(instrument, flaws, want_flaw))


def _pick_flaw(instrument: str, flaws: list[str], want_flaw: bool) -> str | None:
    if len(flaws) > 1:
        valid = [f for f in flaws if f in INSTRUMENT_FLAWS[instrument]]
        if len(valid) != 1:
            raise TaxonomyError(f"name names more than one flaw ({', '.join(flaws)})")
        flaws = valid
    if not flaws:
        if want_flaw:
            raise TaxonomyError(
                f"no flaw named (a {instrument} file needs one of "
                f"{', '.join(INSTRUMENT_FLAWS[instrument])})")
        return None
    return check_flaw(instrument, flaws[0])


def says_flawed(name: str) -> bool:
    """True when a free-form name carries a word such as "flawed"."""
    return any(w in _FLAWED_WORDS for w in words(PurePath(name).stem))


# --- canonical names ------------------------------------------------------------------------

@dataclass(frozen=True)
class CanonicalName:
    source: str
    flaw: str | None
    index: int
    ext: str

    @property
    def subset(self) -> str:
        return "gold" if self.flaw is None else "flawed"


def parse_canonical(filename: str) -> CanonicalName:
    """Parse ``kick_001.wav`` / ``kick_flawed_muddy_001.wav``; raise :class:`TaxonomyError`."""
    m = CANONICAL_NAME.match(filename)
    if not m:
        raise TaxonomyError(
            f"{filename!r} is not a canonical name (<source>_<NNN>.<ext> or "
            f"<source>_flawed_<flaw>_<NNN>.<ext>)")
    flaw_slug = m["flaw"]
    if flaw_slug is not None and flaw_slug not in _FLAW_BY_SLUG:
        raise TaxonomyError(f"{filename!r}: unknown flaw {flaw_slug!r}")
    return CanonicalName(m["source"], flaw_slug, int(m["index"]), m["ext"].lower())


def canonical_name(source: str, index: int, ext: str, flaw: str | None = None) -> str:
    """``kick_007.wav`` or ``kick_flawed_muddy_007.wav``; ``ext`` with or without the dot."""
    if not re.fullmatch(r"[a-z][a-z0-9]*", source):
        raise TaxonomyError(f"source {source!r} must be lower-case letters and digits")
    if flaw is not None and flaw not in _FLAW_BY_SLUG:
        raise TaxonomyError(f"unknown flaw {flaw!r}")
    if index < 0:
        raise TaxonomyError("index must be >= 0")
    ext = ext.lower().lstrip(".")
    middle = f"_flawed_{flaw}" if flaw else ""
    return f"{source}{middle}_{index:03d}.{ext}"


def name_prefix(source: str, flaw: str | None = None) -> str:
    """The part of a canonical name before the number: ``kick_`` or ``kick_flawed_muddy_``."""
    return f"{source}_flawed_{flaw}_" if flaw else f"{source}_"


def flaw_from_name(instrument: str, filename: str) -> str:
    """``flawed_type`` label of a file in ``raw/<subset>/<instrument>/`` from its name.

    Canonical names are read exactly; other names go through :func:`classify`'s aliases.
    Returns :data:`NO_FLAW` for a name that names no flaw.
    """
    try:
        parsed = parse_canonical(filename)
        if parsed.flaw is not None:
            return check_flaw(instrument, parsed.flaw)
        return NO_FLAW
    except TaxonomyError:
        pass
    slug = _pick_flaw(instrument, _flaws_in(words(PurePath(filename).stem))[0], want_flaw=False)
    return slug or NO_FLAW
