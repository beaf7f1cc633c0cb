"""The taste band, and flaws that start where it ends: every flaw's severity 0, whatever the
variant, lies beyond the largest amount the taste band ever applies, on the flaw's named
quantity (flaws.quantities), on pink noise and on a harmonic tone (or the signal the quantity
needs)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from ngn_clarity import taxonomy
from ngn_clarity.errors import SettingsError
from ngn_clarity.flaws import VARIANTS, Chain, make_flawed
from ngn_clarity.flaws import quantities as Q
from ngn_clarity.flaws.taste import TasteBand, apply_taste, taste_chain, tone_extent_db

SR = 44100
TASTE_DRAWS = 24
#: A flaw at severity 0 must exceed the taste band's largest value by at least this much.
MARGIN = {"band excess, dB": 1.0, "band loss, dB": 1.0, "dynamic range lost, dB": 2.0,
          "THD+N of a 1 kHz sine, %": 3.0, "tail 30-400 ms after a click, dB": 3.0,
          "slice shifts, ms (sd)": 5.0}


@lru_cache(maxsize=None)
def signal(name: str) -> np.ndarray:
    return Q.SIGNALS[name](4.0 if name != "sine" else 2.0, SR)


@lru_cache(maxsize=None)
def tasted(instrument: str, name: str) -> tuple[np.ndarray, ...]:
    x = signal(name)
    return tuple(apply_taste(x, SR, instrument, np.random.default_rng(s)).audio
                 for s in range(TASTE_DRAWS))


CASES = [(taxonomy.INSTRUMENTS[[f in taxonomy.flaws_for(i) for i in taxonomy.INSTRUMENTS]
                               .index(True)], f) for f in taxonomy.ALL_FLAW_SLUGS]
CASES.append(("bass", "thin"))  # a bass's low end is measured lower


@pytest.mark.parametrize("instrument, flaw", CASES)
def test_severity_zero_lies_beyond_the_taste_band(instrument, flaw):
    margin = MARGIN[Q.UNITS[flaw]]
    for name in Q.signals_for(flaw):
        x = signal(name)
        taste = max(Q.named(flaw, instrument, x, y, SR) for y in tasted(instrument, name))
        for variant in sorted(VARIANTS[flaw]):
            for seed in (0, 1):
                made = make_flawed(x, SR, instrument, flaw, 0.0, np.random.default_rng(seed),
                                   variant)
                q = Q.named(flaw, instrument, x, made.audio, SR,
                            made.correction["remove_jitter_ms"])
                assert q >= taste + margin, (flaw, variant, name, q, taste)


@pytest.mark.parametrize("instrument, flaw", CASES)
def test_severity_one_is_grosser_than_severity_zero(instrument, flaw):
    name = Q.signals_for(flaw)[0]
    x = signal(name)

    def median(sev: float) -> float:
        out = []
        for variant in sorted(VARIANTS[flaw]):
            made = make_flawed(x, SR, instrument, flaw, sev, np.random.default_rng(3), variant)
            out.append(Q.named(flaw, instrument, x, made.audio, SR,
                               made.correction["remove_jitter_ms"]))
        return float(np.median(out))

    low, high = median(0.0), median(1.0)
    # a band loss of 20 dB or more takes the band away: a steeper or lower filter cannot take
    # more of it (dark on noise: its cutoff already sits near 1 kHz at severity 0)
    assert high > low + 2.0 or (Q.UNITS[flaw] == "band loss, dB" and low >= 20.0), (low, high)


def test_taste_is_reproducible_and_recorded():
    x = signal("pink")
    a = apply_taste(x, SR, "vocals", np.random.default_rng(12))
    b = apply_taste(x, SR, "vocals", np.random.default_rng(12))
    assert np.array_equal(a.audio, b.audio) and a.chain == b.chain
    assert a.params() == {"taste": a.chain.to_dicts()}
    again = Chain.from_dicts(a.params()["taste"])(x, SR)  # the record rebuilds the processing
    again *= np.max(np.abs(x)) / np.max(np.abs(again))
    assert np.max(np.abs(again - a.audio)) < 1e-3
    assert np.max(np.abs(a.audio)) == pytest.approx(np.max(np.abs(x)), rel=1e-5)
    other = apply_taste(x, SR, "vocals", np.random.default_rng(13))
    assert other.chain != a.chain


def test_taste_tone_never_stands_out_more_than_its_limit():
    """The shelves and the broad peak together (the high-pass and distance filters shape only
    the extremes, below 80 Hz and above 9 kHz)."""
    band = TasteBand()
    for s in range(200):
        chain = taste_chain(np.random.default_rng(s), "keys", -20.0, SR, band)
        tone = [t for t in chain if type(t).__name__ in ("LowShelf", "HighShelf", "Peak")]
        assert len(tone) == 3
        assert tone_extent_db(tone, SR) <= band.tone_limit_db + 1e-3


def test_taste_draws_every_optional_stage_and_keeps_drums_and_bass_low_end():
    kinds: set[str] = set()
    for s in range(60):
        for inst in ("drums", "vocals"):
            chain = taste_chain(np.random.default_rng(s), inst, -20.0, SR)
            kinds |= {type(t).__name__ for t in chain}
            for t in chain:
                if type(t).__name__ == "Butterworth" and t.kind == "highpass":
                    assert t.freq_hz <= (35 if inst == "drums" else 80)
    assert kinds == {"Butterworth", "LowShelf", "HighShelf", "Peak", "RmsCompressor",
                     "ConvolutionRoom", "Shaper"}


def test_taste_band_settings_are_checked():
    with pytest.raises(SettingsError):
        TasteBand(shelf_db=9.0)
    with pytest.raises(SettingsError):
        TasteBand(room_p=1.5)
