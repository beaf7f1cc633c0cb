"""The taste band: processing an engineer would call fine, drawn for gold clips.

Real gold stems are not dry, flat renders: they carry the tone and dynamics of a production.
A gold clip gets, drawn from ``rng`` and recorded in its label like a flaw chain (so a model
learns that these amounts are *not* flaws):

* **tone**: a low shelf (80-250 Hz) and a high shelf (3-9 kHz) of +-``shelf_db``, one broad
  peak (200 Hz-5 kHz, Q 0.4-0.8) of +-``peak_db``; if together they stand out more than
  ``tone_limit_db`` anywhere (:func:`tone_extent_db`), their gains are scaled down to it.
  Sources: the 70 MedleyDB vocal presets published with DiffVox spread 1.7-2.2 dB per band
  from 150 Hz to 12 kHz and keep 90 % of their local contrast under 4.2 dB
  (``docs/flaw-engine.md``); these ranges give a per-band spread of about 2 dB.
* **high-pass** (probability ``highpass_p``): 2nd-order at 20-35 Hz (drums, bass) or 30-80
  Hz (the rest), the rumble filter of most channel strips;
* **mic distance** (``distance_p``): a 1st-order low-pass at 9-18 kHz (air absorption and
  off-axis loss of a farther microphone);
* **gentle compression** (``compression_p``): the RMS compressor at ratio 1.5-2.5, threshold
  2 dB below to 4 dB above the clip's RMS, soft knee: at most about 3-4 dB of gain reduction;
* **a short room** (``room_p``): convolution with a 0.15-0.5 s room, wet 0.04-0.15 (the
  direct sound stays 15 dB or more above the room);
* **saturation below audibility** (``saturation_p``): tanh with the peak 8-14 dB under the
  curve's full scale (harmonic distortion well under 1 %).

Mono/stereo and sample-rate variety come from the renders themselves (synth draws 44.1 or 48
kHz and the part's channel count). Every flaw's severity 0 lies beyond these ranges on its
named quantity (:mod:`.quantities`; the flaw-engine tests measure it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..dsp import rms_db
from ..settings import Interval, Validated
from .chain import Chain
from .context import loguniform
from .correction import eq_curve_db
from .drive import Shaper
from .dynamics import RmsCompressor
from .space import ConvolutionRoom
from .transforms import Butterworth, HighShelf, LowShelf, Peak, Transform

_P = Interval(float, 0.0, 1.0)


@dataclass(frozen=True)
class TasteBand(Validated):
    """The ranges of the taste band (see the module doc)."""

    shelf_db: float = 3.0
    peak_db: float = 2.5
    tone_limit_db: float = 4.0
    highpass_p: float = 0.5
    distance_p: float = 0.4
    compression_p: float = 0.6
    room_p: float = 0.4
    saturation_p: float = 0.3

    constraints = {"shelf_db": Interval(float, 0.0, 6.0), "peak_db": Interval(float, 0.0, 6.0),
                   "tone_limit_db": Interval(float, 0.0, 6.0), "highpass_p": _P,
                   "distance_p": _P, "compression_p": _P, "room_p": _P, "saturation_p": _P}


#: The 1/6-octave grid (Hz) on which a tone curve's extent is measured.
GRID_HZ = tuple(float(40.0 * 2 ** (k / 6)) for k in range(0, 52))


def tone_extent_db(stages: list[Transform], sr: int) -> float:
    """How far a chain's EQ stands out: the largest deviation (dB, either sign) of its
    response on :data:`GRID_HZ` (60 Hz-12 kHz) from the response's median there."""
    f = np.asarray(GRID_HZ)
    curve = eq_curve_db(stages, sr, f)
    inside = (f >= 60) & (f <= 12000)
    return float(np.max(np.abs(curve[inside] - np.median(curve[inside]))))


def _tone(rng: np.random.Generator, band: TasteBand, sr: int) -> list[Transform]:
    def gain(limit: float) -> float:
        return float(rng.uniform(-limit, limit))

    stages: list[Transform] = [
        LowShelf(loguniform(rng, 80, 250), gain(band.shelf_db), float(rng.uniform(0.5, 0.8))),
        HighShelf(loguniform(rng, 3000, 9000), gain(band.shelf_db),
                  float(rng.uniform(0.5, 0.8))),
        Peak(loguniform(rng, 200, 5000), gain(band.peak_db), float(rng.uniform(0.4, 0.8)))]
    extent = tone_extent_db(stages, sr)
    if extent > band.tone_limit_db:  # scale every gain so the whole curve fits the limit
        k = band.tone_limit_db / extent
        stages = [replace(t, gain_db=round(t.gain_db * k, 4)) for t in stages]  # type: ignore
    return stages


def taste_chain(rng: np.random.Generator, instrument: str, rms_db: float, sr: int,
                band: TasteBand | None = None) -> Chain:
    """Draw one gold clip's taste processing.

    Parameters
    ----------
    rng : np.random.Generator
        Source of every draw.
    instrument : str
        The clip's instrument (drums and bass keep their lowest octave).
    rms_db : float
        The clip's RMS level (dBFS), where the compressor's threshold is set.
    sr : int
        Its sample rate (Hz).
    band : TasteBand, optional
        The ranges (the defaults of :class:`TasteBand` when None).

    Returns
    -------
    Chain
        The stages, in the order they run (tone, high-pass, distance, compression, room,
        saturation); the optional ones only when drawn.
    """
    band = band or TasteBand()
    stages: list[Transform] = []
    if rng.random() < band.highpass_p:
        lo, hi = (20, 35) if instrument in ("drums", "bass") else (30, 80)
        stages.append(Butterworth("highpass", float(rng.uniform(lo, hi)), 2))
    stages += _tone(rng, band, sr)
    if rng.random() < band.distance_p:
        stages.append(Butterworth("lowpass", float(rng.uniform(9000, 18000)), 1))
    if rng.random() < band.compression_p:
        stages.append(RmsCompressor(rms_db + float(rng.uniform(-2, 4)),
                                    float(rng.uniform(1.5, 2.5)), float(rng.uniform(10, 40)),
                                    float(rng.uniform(80, 300)), knee_db=8.0))
    if rng.random() < band.room_p:
        stages.append(ConvolutionRoom(float(rng.uniform(0.15, 0.5)),
                                      float(rng.uniform(0.04, 0.15)), int(rng.integers(2**31))))
    if rng.random() < band.saturation_p:
        stages.append(Shaper("tanh", float(rng.uniform(-14, -8))))
    return Chain(stages)


@dataclass(frozen=True)
class Tasted:
    """A gold clip after its taste processing, at the input's peak level."""

    audio: np.ndarray
    chain: Chain

    def params(self) -> dict[str, Any]:
        """What the clip's label record keeps under ``params``."""
        return {"taste": self.chain.to_dicts()}


def apply_taste(audio: np.ndarray, sample_rate: int, instrument: str, rng: np.random.Generator,
                band: TasteBand | None = None) -> Tasted:
    """Draw a taste chain for ``(frames, channels)`` float audio and run it.

    Returns
    -------
    Tasted
        The processed audio, scaled back to the input's sample peak, and the chain.
    """
    x = np.ascontiguousarray(audio, dtype=np.float32)
    chain = taste_chain(rng, instrument, rms_db(x), sample_rate, band)
    y = chain(x, sample_rate)
    peak_in, peak_out = float(np.max(np.abs(x))), float(np.max(np.abs(y)))
    if not np.isfinite(peak_out) or peak_out <= 1e-9:
        raise ValueError("the taste chain silenced the clip")
    return Tasted((y * (peak_in / peak_out)).astype(np.float32), chain)


__all__ = ["GRID_HZ", "TasteBand", "Tasted", "apply_taste", "taste_chain", "tone_extent_db"]
