"""The flaw engine's variants: several ways engineers actually produce each flaw.

:data:`VARIANTS` maps each flaw slug to its variants, each a builder
``(rng, severity, context) -> [Transform, ...]`` that draws every parameter from ``rng``
(severity 0 = clearly audible, beyond what the taste band of :mod:`.taste` ever does to a
gold clip; 1 = gross). A :class:`Context` lets a builder look at the clip it is about to flaw:
an engineer's flaw lands where the sound has content, so centres and cutoffs follow the clip's
own spectrum (:func:`context_of`). Every flaw family is drawn from more than one
implementation (RBJ biquads and a linear-phase FIR; Butterworth and ladder filters;
pedalboard's and an RMS-detector compressor; numpy waveshapers of several families; three
room designs), so a model cannot learn one library's sound. The measured range of each flaw
at severity 0 and 1 on its named quantity is in ``docs/flaw-engine.md``
(``benchmarks/flaw_ranges.py`` writes it; :mod:`.quantities` defines the quantities).

==================  ========================================================================
EQ flaws            ``peak`` one boost, centre (where the clip has energy in the band) and
                    Q drawn; ``broad`` a wide
(muddy, harsh,      boost or shelf; ``stacked`` two boosts in the band; ``tilt`` a cut of the
nasal, boxy,        opposite band plus a boost in the flaw's band; ``fir`` a linear-phase
over_sibilant,      FIR bell (another design and bell shape than the biquads)
boomy)
thin / dark         ``filter`` a Butterworth high/low-pass of order 1-4; ``ladder`` a Moog
                    ladder high/low-pass (12 or 24 dB/octave); ``shelf`` a shelf cut;
                    ``both`` a gentle filter and a shelf; the cutoff follows the clip's own
                    low end (5 % rolloff) or top end (97 % rolloff)
over_compressed     ``compressor`` feed-forward, attack/release/ratio drawn, hard or soft
                    knee; ``rms`` the RMS-detector compressor into a peak limiter (both
                    written here); ``limiter`` brickwall;
                    ``multiband`` three bands squashed apart; ``upward`` quiet parts raised
distorted           ``tanh``, ``hard_clip``, ``asymmetric`` (tube-like), ``foldback`` (fuzz),
                    ``arctan``, ``cubic``, ``diode`` (asymmetric exponential), ``bitcrush``
                    (bit depth and sample-rate reduction)
undefined           low-pass, compression and slight saturation in three different orders
                    (the saturation always before the low-pass)
ringy               resonances on the clip's own strong partials with an algorithmic
                    ``room`` (Freeverb), a ``schroeder`` room (comb/all-pass network), a
                    ``convolution`` room (exponential-decay noise, RT60 0.5-2.5 s), or a
                    ``modal`` ring (decaying partials)
sloppy_timing       the audio is cut just before its onsets and the slices moved (with short
                    crossfades, no clicks): ``scatter`` N(0, 14-40 ms), ``drift`` a random
                    walk (rushing/dragging), ``flams`` 40 % of the hits 1.5-3x as far off
==================  ========================================================================
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import taxonomy
from .context import Context, lerp as _lerp, loguniform as _loguniform
from .drive import Bitcrush, Shaper
from .dynamics import (Compressor, Limiter, MultibandCompressor, PeakLimiter, RmsCompressor,
                       UpwardCompressor)
from .space import ConvolutionRoom, Room, SchroederRoom
from .timing import SliceJitter
from .transforms import Butterworth, FirEq, HighShelf, Ladder, LowShelf, Peak, Transform

Build = Callable[[np.random.Generator, float, Context], list[Transform]]

#: Each EQ flaw: its band (Hz), gain range (dB) for a single boost, Q range, and the
#: opposite band a "tilt" variant cuts. Muddy (180-400 Hz) and boxy (400-850 Hz) split the
#: taxonomy's overlapping descriptions (200-500 and 300-800 Hz) where engineers do: mud in
#: the low mids, box above it, so one boost is not both.
_BANDS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float],
                        tuple[float, float]]] = {
    "muddy": ((180, 400), (6, 12), (0.7, 1.6), (2500, 6000)),
    "harsh": ((2000, 5000), (6, 13), (0.9, 2.5), (150, 450)),
    "nasal": ((800, 1500), (7, 13), (1.5, 4.0), (4000, 9000)),
    "boxy": ((400, 850), (7, 13), (1.2, 3.0), (3000, 9000)),
    "over_sibilant": ((5000, 9500), (8, 15), (0.9, 2.2), (150, 600)),
    "boomy": ((60, 130), (8, 14), (1.5, 4.0), (1500, 5000)),
}


def _eq_variants(flaw: str) -> dict[str, Build]:
    (lo, hi), (g_lo, g_hi), (q_lo, q_hi), (opp_lo, opp_hi) = _BANDS[flaw]

    def peak(rng, sev, ctx):
        return [Peak(ctx.pick(rng, lo, hi), _lerp(g_lo, g_hi, sev),
                     float(rng.uniform(q_lo, q_hi)))]

    def broad(rng, sev, ctx):
        gain = _lerp(g_lo, g_hi - 1, sev)
        if flaw == "boomy" and rng.random() < 0.5:
            return [LowShelf(_loguniform(rng, hi * 0.8, hi * 1.5), gain,
                             float(rng.uniform(0.6, 1.0)))]
        if flaw in ("harsh", "over_sibilant") and rng.random() < 0.5:
            return [HighShelf(_loguniform(rng, lo * 0.8, lo * 1.3), gain,
                              float(rng.uniform(0.6, 1.0)))]
        return [Peak(ctx.pick(rng, lo, hi), gain + 1.0, float(rng.uniform(0.5, 0.9)))]

    def stacked(rng, sev, ctx):
        f1 = ctx.pick(rng, lo, hi)
        ratio = float(rng.uniform(1.3, 2.0))
        f2 = float(np.clip(f1 * ratio if rng.random() < 0.5 else f1 / ratio, lo, hi))
        total = _lerp(g_lo, g_hi, sev)
        share = float(rng.uniform(0.45, 0.65))
        return [Peak(f1, total * share + 2.0, float(rng.uniform(q_lo, q_hi))),
                Peak(f2, total * (1 - share) + 2.0, float(rng.uniform(q_lo, q_hi)))]

    def tilt(rng, sev, ctx):
        return [Peak(_loguniform(rng, opp_lo, opp_hi), -_lerp(6, 12, sev),
                     float(rng.uniform(0.9, 1.4))),
                Peak(ctx.pick(rng, lo, hi), _lerp(g_lo + 0.5, g_hi - 1, sev),
                     float(rng.uniform(q_lo, q_hi)))]

    def fir(rng, sev, ctx):
        return [FirEq("bell", ctx.pick(rng, lo, hi), _lerp(g_lo + 0.5, g_hi, sev),
                      float(rng.uniform(q_lo, min(q_hi, 2.0))))]

    return {"peak": peak, "broad": broad, "stacked": stacked, "tilt": tilt, "fir": fir}


def _filter_variants(kind: str) -> dict[str, Build]:
    """thin (highpass) or dark (lowpass)."""
    thin = kind == "highpass"

    def cutoff(rng, sev, ctx):  # where the clip's own low or high end is
        jitter = float(rng.uniform(0.85, 1.15))
        if thin:
            lo, hi = (90, 250) if ctx.instrument == "bass" else (140, 500)
            return float(np.clip(ctx.rolloff(0.05) * _lerp(2.2, 4.0, sev), lo, hi)) * jitter
        return float(np.clip(ctx.rolloff(0.97) * _lerp(0.6, 0.3, sev), 1000, 7000)) * jitter

    def shelf(f, gain, q):
        return LowShelf(f, gain, q) if thin else HighShelf(f, gain, q)

    def filt(rng, sev, ctx):
        order = int(rng.integers(1, 5))
        f = cutoff(rng, sev, ctx) * (1.4 if order == 1 else 1.0) ** (1 if thin else -1)
        return [Butterworth(kind, f, order)]

    def ladder(rng, sev, ctx):
        steep = rng.random() < 0.5
        mode = ("hpf" if thin else "lpf") + ("24" if steep else "12")
        f = cutoff(rng, sev, ctx) * (1.0 if steep else 1.3) ** (1 if thin else -1)
        return [Ladder(mode, f, float(rng.uniform(0.0, 0.3)))]

    def shelf_only(rng, sev, ctx):
        f = cutoff(rng, sev, ctx) * 1.5 if thin else float(
            np.clip(cutoff(rng, sev, ctx) * 0.8, 3500, 6000))
        return [shelf(f, -_lerp(12, 20, sev), float(rng.uniform(0.5, 0.9)))]

    def both(rng, sev, ctx):
        f = cutoff(rng, sev, ctx)
        return [Butterworth(kind, f, int(rng.integers(1, 3))),
                shelf(f * (1.5 if thin else 0.8), -_lerp(6, 12, sev), 0.7)]

    return {"filter": filt, "ladder": ladder, "shelf": shelf_only, "both": both}


def _over_compressed() -> dict[str, Build]:
    def compressor(rng, sev, ctx):
        soft = rng.random() < 0.5
        return [Compressor(ctx.rms_db - _lerp(8, 20, sev), _lerp(6, 20, sev),
                           _loguniform(rng, 0.05, 1.0), _loguniform(rng, 30, 300),
                           knee_db=float(rng.uniform(6, 12)) if soft else 0.0,
                           makeup_db=_lerp(4, 10, sev)),
                Limiter(_lerp(4, 10, sev), -1.0, float(rng.uniform(20, 80)))]

    def limiter(rng, sev, ctx):
        return [Limiter(_lerp(8, 18, sev), -1.0, _loguniform(rng, 10, 200))]

    def multiband(rng, sev, ctx):
        return [MultibandCompressor(_loguniform(rng, 150, 400), _loguniform(rng, 2000, 5000),
                                    _lerp(8, 18, sev), _lerp(6, 20, sev),
                                    _loguniform(rng, 0.2, 10), _loguniform(rng, 40, 200)),
                Limiter(_lerp(5, 10, sev), -1.0, 50.0)]

    def upward(rng, sev, ctx):
        return [UpwardCompressor(ctx.rms_db - float(rng.uniform(0, 4)), _lerp(5, 10, sev),
                                 float(rng.uniform(30, 120)), _lerp(15, 30, sev)),
                Limiter(_lerp(7, 12, sev), -1.0, 50.0)]

    def rms(rng, sev, ctx):  # neither stage is pedalboard's
        return [RmsCompressor(ctx.rms_db - _lerp(10, 22, sev), _lerp(8, 30, sev),
                              _loguniform(rng, 0.1, 2.0), _loguniform(rng, 40, 300),
                              knee_db=float(rng.uniform(0, 8)), makeup_db=_lerp(6, 12, sev),
                              window_ms=float(rng.uniform(1, 5)),
                              lookahead_ms=float(rng.uniform(2, 6))),
                PeakLimiter(_lerp(4, 10, sev), _loguniform(rng, 20, 150))]

    return {"compressor": compressor, "limiter": limiter, "multiband": multiband,
            "upward": upward, "rms": rms}


def _distorted() -> dict[str, Build]:
    def shaper(curve):
        def build(rng, sev, ctx):
            lo, hi = {"tanh": (12, 30), "hard_clip": (8, 22), "asymmetric": (12, 28),
                      "foldback": (6, 16), "arctan": (14, 32), "cubic": (8, 20),
                      "diode": (10, 26)}[curve]
            return [Shaper(curve, _lerp(lo, hi, sev),
                           float(rng.uniform(0.3, 0.8)) if curve == "asymmetric" else 0.0)]
        return build

    def bitcrush(rng, sev, ctx):
        return [Bitcrush(round(_lerp(4.0, 2.5, sev) + float(rng.uniform(-0.5, 0.5)), 2),
                         int(rng.integers(2, 4 + int(5 * sev))))]

    return {**{c: shaper(c) for c in ("tanh", "hard_clip", "asymmetric", "foldback", "arctan",
                                      "cubic", "diode")},
            "bitcrush": bitcrush}


def _undefined() -> dict[str, Build]:
    def parts(rng, sev, ctx):
        lp = Butterworth("lowpass", _lerp(700, 250, sev) * float(rng.uniform(0.85, 1.15)),
                         int(rng.integers(2, 5)))
        comp = Compressor(ctx.rms_db - _lerp(6, 14, sev), _lerp(4, 10, sev),
                          float(rng.uniform(0.1, 1.0)), _loguniform(rng, 80, 250))
        sat = Shaper("tanh", _lerp(2, 6, sev))
        return lp, comp, sat

    def order(*idx):  # the saturation always comes before the low-pass that dulls it
        def build(rng, sev, ctx):
            p = parts(rng, sev, ctx)
            return [p[i] for i in idx]
        return build

    return {"drive_filter_squash": order(2, 0, 1), "squash_drive_filter": order(1, 2, 0),
            "drive_squash_filter": order(2, 1, 0)}


def _ringy() -> dict[str, Build]:
    def resonances(rng, sev, ctx):
        chosen = list(rng.choice(ctx.partials, size=min(int(rng.integers(2, 4)),
                                                        len(ctx.partials)), replace=False)
                      ) if ctx.partials else [_loguniform(rng, 500, 3000)]
        return [Peak(float(f), _lerp(6, 12, sev), float(rng.uniform(15, 40))) for f in chosen]

    def room(rng, sev, ctx):
        return [*resonances(rng, sev, ctx),
                Room(_lerp(0.75, 0.95, sev), float(rng.uniform(0.05, 0.3)),
                     _lerp(0.5, 0.7, sev))]

    def schroeder(rng, sev, ctx):
        return [*resonances(rng, sev, ctx),
                SchroederRoom(_lerp(0.8, 2.5, sev) * float(rng.uniform(0.8, 1.0)),
                              _lerp(0.45, 0.7, sev))]

    def convolution(rng, sev, ctx):
        return [*resonances(rng, sev, ctx),
                ConvolutionRoom(_lerp(0.5, 2.5, sev) * float(rng.uniform(0.8, 1.0)),
                                _lerp(0.45, 0.7, sev), int(rng.integers(2**31)))]

    def modal(rng, sev, ctx):  # modes on the partials of every part of the clip
        partials = ctx.modes or (_loguniform(rng, 400, 2000),)
        return [*resonances(rng, sev, ctx)[:1],
                ConvolutionRoom(_lerp(1.2, 2.5, sev), _lerp(0.5, 0.7, sev),
                                int(rng.integers(2**31)), partials)]

    return {"room": room, "schroeder": schroeder, "convolution": convolution, "modal": modal}


def _sloppy() -> dict[str, Build]:
    def mode(m):
        def build(rng, sev, ctx):
            return [SliceJitter(m, _lerp(14, 40, sev), int(rng.integers(2**31)))]
        return build

    return {m: mode(m) for m in ("scatter", "drift", "flams")}


VARIANTS: dict[str, dict[str, Build]] = {
    **{f: _eq_variants(f) for f in _BANDS},
    "thin": _filter_variants("highpass"),
    "dark": _filter_variants("lowpass"),
    "over_compressed": _over_compressed(),
    "distorted": _distorted(),
    "undefined": _undefined(),
    "ringy": _ringy(),
    "sloppy_timing": _sloppy(),
}
assert set(VARIANTS) == set(taxonomy.ALL_FLAW_SLUGS)
