"""Remedies: a predicted flaw and correction vector applied to audio (pure: arrays in, arrays
out, no file I/O). What ``clarity fix`` does once the model has spoken:

* **EQ flaws** (:data:`EQ_FLAWS`): the 8 EQ corrections as a low shelf, six peaks and a high
  shelf whose gains are solved to reach them at the centres, each within +-12 dB, scaled by
  the strength (:mod:`.eq`);
* **over_compressed**: ``restore_dynamics_db`` x strength as a transient shaper whose amount
  is bisected until the crest factor has risen that much (:mod:`.dynamics`);
* **distorted, ringy, sloppy_timing**: nothing; one line says what cannot be undone and why
  (:data:`CANNOT`);
* **none, not_sure**: nothing; the audio is left as it is (:data:`UNTOUCHED`);

then, whenever anything was applied, the input's integrated loudness back and the true peak
at or under -1 dBTP (:mod:`.level`). :func:`remedy` returns the samples and a description of
every stage (filters with frequency, gain and Q; the shaper's settings and the crest it
reached; the level stage), and of what was not applied and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .. import loudness
from ..corrections import EQ_FIELDS
from .dynamics import MAX_RISE_DB, Restored, TransientShaper, restore_crest
from .eq import EQ_LIMIT_DB, EqPlan, apply_eq, biquad_db, eq_plan
from .level import CEILING_DBTP, Levelled, limit_true_peak, match_level

__all__ = ["CANNOT", "CEILING_DBTP", "DYNAMICS_FLAWS", "EQ_FLAWS", "EQ_LIMIT_DB", "EqPlan",
           "Levelled", "MAX_RISE_DB", "Outcome", "Restored", "TransientShaper", "UNTOUCHED",
           "apply_eq", "biquad_db", "eq_plan", "limit_true_peak", "match_level", "remedy",
           "restore_crest"]

#: Flaws whose remedy is the EQ correction.
EQ_FLAWS: tuple[str, ...] = ("muddy", "harsh", "thin", "boomy", "boxy", "nasal", "dark",
                             "over_sibilant", "undefined")
#: Flaws whose remedy restores the crest factor.
DYNAMICS_FLAWS: tuple[str, ...] = ("over_compressed",)
#: What cannot be undone, and why: (the correction that says how much, the one line).
CANNOT: Mapping[str, tuple[str, str]] = {
    "distorted": ("remove_drive_db", "not undone: clipping and saturation replace the "
                  "waveform's peaks and mix new harmonics into the sound; no filter takes "
                  "them back out (that needs a declipper or a model of the clean sound)"),
    "sloppy_timing": ("remove_jitter_ms", "not undone: every hit would have to be moved back "
                      "to a beat grid the file does not carry; that is editing, not "
                      "processing"),
    "ringy": ("remove_reverb_wet", "not undone: the ringing is narrow resonances (Q 15-40) "
              "at the sound's own partials, between the 8 EQ centres, with a room's tail "
              "mixed into the sound; broad EQ would colour it without removing the ring"),
}
#: Answers that leave the audio as it is.
UNTOUCHED: Mapping[str, str] = {
    "none": "no flaw heard: the audio is left as it is",
    "not_sure": "the model is not sure: the audio is left as it is",
}


@dataclass
class Outcome:
    """What :func:`remedy` did: ``out`` is None when the audio is left as it is."""

    out: np.ndarray | None
    applied: list[dict[str, Any]] = field(default_factory=list)
    not_applied: list[dict[str, Any]] = field(default_factory=list)
    untouched: str | None = None
    input_lufs: float | None = None
    input_true_peak_dbtp: float | None = None


def _left_alone(flaw: str, corrections: Mapping[str, float],
                best_guess: str | None) -> Outcome | None:
    """The outcome for a flaw nothing is applied to (None: there is a remedy)."""
    if flaw in UNTOUCHED:
        why = UNTOUCHED[flaw]
        if flaw == "not_sure" and best_guess:
            why += f" (best guess: {best_guess})"
        return Outcome(None, untouched=why)
    if flaw in CANNOT:
        name, why = CANNOT[flaw]
        return Outcome(None, not_applied=[{"correction": name, "value": corrections.get(name),
                                           "why": why}], untouched=f"{flaw}: {why}")
    if flaw not in EQ_FLAWS + DYNAMICS_FLAWS:
        return Outcome(None, untouched=f"no remedy for {flaw!r}: the audio is left as it is")
    needed = EQ_FIELDS if flaw in EQ_FLAWS else ("restore_dynamics_db",)
    if any(k not in corrections for k in needed):
        return Outcome(None, untouched="the model has no correction regressor: the audio is "
                                       "left as it is")
    return None


def remedy(x: np.ndarray, sr: int, flaw: str, corrections: Mapping[str, float],
           strength: float = 1.0, best_guess: str | None = None) -> Outcome:
    """Apply the remedy the flaw calls for (see the module doc).

    Parameters
    ----------
    x : np.ndarray
        ``(frames, channels)`` float32 audio, at its own level.
    sr : int
        Its sample rate (Hz).
    flaw : str
        The model's answer: a flaw slug, ``none`` or ``not_sure``.
    corrections : mapping
        The predicted correction vector (at least the fields the remedy uses).
    strength : float
        0-1: the share of the correction applied (EQ gains and the crest rise).
    best_guess : str, optional
        The class decided before "not sure" (named when the answer is ``not_sure``).

    Returns
    -------
    Outcome
        The processed samples (None when left as they are) and what was done.
    """
    alone = _left_alone(flaw, corrections, best_guess)
    if alone is not None:
        return alone
    before = loudness.measure(x, sr)
    y, applied = x, []
    if flaw in EQ_FLAWS:
        plan = eq_plan([corrections[k] for k in EQ_FIELDS], sr, strength)
        y = apply_eq(y, sr, plan)
        applied.append(plan.to_dict())
    if flaw in DYNAMICS_FLAWS:
        restored = restore_crest(y, sr, corrections["restore_dynamics_db"] * strength)
        y = restored.out
        applied.append(restored.to_dict())
    levelled = match_level(y, sr, before.integrated_lufs)
    applied.append({**levelled.to_dict(), "input_lufs": round(before.integrated_lufs, 3),
                    "input_true_peak_dbtp": round(float(before.true_peak_dbtp or 0.0), 3)})
    return Outcome(levelled.out, applied, [], None, before.integrated_lufs,
                   before.true_peak_dbtp)
