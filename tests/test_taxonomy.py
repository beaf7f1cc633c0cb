import pytest

from ngn_clarity import taxonomy as tx


def test_twenty_five_flaw_classes_with_design_slugs():
    pairs = tx.flaw_pairs()
    assert len(pairs) == 25
    assert tx.flaws_for("drums") == ("muddy", "harsh", "over_compressed", "thin",
                                     "sloppy_timing")
    assert tx.flaws_for("bass") == ("undefined", "boomy", "thin", "muddy", "distorted")
    assert {f for _, f in pairs} == set(tx.ALL_FLAW_SLUGS)


@pytest.mark.parametrize("name, folders, expected", [
    ("Kick Flawed - Overcompressed (3).wav", (), ("drums", "kick", "over_compressed")),
    ("kick_flawed_sloppy_timing_004.wav", (), ("drums", "kick", "sloppy_timing")),
    ("Lead Vocal - SIBILANT take2.flac", (), ("vocals", "lead", "over_sibilant")),
    ("Rhythm Guitar Boxed.wav", (), ("guitar", "rhythm", "boxy")),
    ("BassDrum_muddy.wav", (), ("drums", "kick", "muddy")),
    ("Synth Bass thin.wav", (), ("bass", "bass", "thin")),
    ("Lead.wav", ("Vocals",), ("vocals", "lead", None)),
    ("Lead.wav", ("Guitars", "Song 1"), ("guitar", "lead", None)),
    ("take 01.wav", ("Drums", "Snare"), ("drums", "snare", None)),
    ("Harmony 2.wav", (), ("vocals", "harmony", None)),
    ("Rhodes Dark.aiff", (), ("keys", "epiano", "dark")),
    ("Piano - Ringing.wav", (), ("keys", "piano", "ringy")),
    # generic words (loop, groove, solo, backing, ...) do not veto a real source word
    ("Guitar Loop 01.wav", (), ("guitar", "guitar", None)),
    ("Bass Groove 120bpm.wav", (), ("bass", "bass", None)),
    ("Loop 01.wav", (), ("drums", "drums", None)),
    ("Piano solo.wav", (), ("keys", "piano", None)),
    ("Backing guitar doubles.wav", (), ("guitar", "guitar", None)),
    ("Solo.wav", ("Guitar",), ("guitar", "lead", None)),
    # a note name is not an instrument (B3 used to mean a Hammond organ)
    ("Nylon_B3.wav", ("Guitar",), ("guitar", "guitar", None)),
])
def test_classify_reads_free_form_names(name, folders, expected):
    c = tx.classify(name, folders)
    assert (c.instrument, c.source, c.flaw) == expected


@pytest.mark.parametrize("name, folders, reason", [
    ("Lead.wav", (), "could be"),
    ("Bass.wav", ("Guitar",), "more than one instrument"),
    ("take 01.wav", (), "no instrument"),
    ("Vocal Harsh.wav", (), "not a vocals flaw"),
    ("Kick muddy thin.wav", (), "more than one flaw"),
    ("Guitar Loop.wav", ("Bass",), "more than one instrument"),
    ("Sine_B3.wav", (), "no instrument"),
])
def test_classify_refuses_to_guess(name, folders, reason):
    with pytest.raises(tx.TaxonomyError, match=reason):
        tx.classify(name, folders)


def test_flawed_classification_requires_a_flaw():
    with pytest.raises(tx.TaxonomyError, match="no flaw named"):
        tx.classify("Kick 01.wav", want_flaw=True)


def test_canonical_names_round_trip():
    name = tx.canonical_name("kick", 7, ".WAV", "over_compressed")
    assert name == "kick_flawed_over_compressed_007.wav"
    parsed = tx.parse_canonical(name)
    assert (parsed.source, parsed.flaw, parsed.index, parsed.ext) == \
        ("kick", "over_compressed", 7, "wav")
    assert parsed.subset == "flawed"
    assert tx.parse_canonical("snare_1234.flac").subset == "gold"
    with pytest.raises(tx.TaxonomyError):
        tx.parse_canonical("Kick 01.wav")
    with pytest.raises(tx.TaxonomyError):
        tx.canonical_name("../evil", 1, "wav")


def test_flaw_from_name_uses_aliases_and_checks_instrument():
    assert tx.flaw_from_name("guitar", "guitar_flawed_boxy_001.wav") == "boxy"
    assert tx.flaw_from_name("guitar", "Guitar boxed.wav") == "boxy"
    assert tx.flaw_from_name("keys", "keys_003.wav") == tx.NO_FLAW
    with pytest.raises(tx.TaxonomyError, match="not a keys flaw"):
        tx.flaw_from_name("keys", "keys_flawed_muddy_001.wav")


def test_weak_keywords_are_single_source_keywords():
    keywords = {kw for src in tx.SOURCES for kw in src.keywords}
    assert tx.WEAK_KEYWORDS <= keywords
    assert all(tx.words(w) == [w] for w in tx.WEAK_KEYWORDS)
