"""The engine: a gold clip in, a flawed clip and everything needed to label it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import taxonomy
from .chain import Chain
from .context import context_of
from .variants import VARIANTS


@dataclass
class Flawed:
    """A flawed clip: the audio and everything needed to label it exactly."""

    audio: np.ndarray
    flaw: str
    variant: str
    severity: float
    chain: list[dict[str, Any]]
    """The chain's ``to_dicts()``: each stage and its parameters."""
    correction: dict[str, float]
    facts: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """What the label record keeps under ``params``."""
        return {"flaw": self.flaw, "variant": self.variant, "severity": self.severity,
                "chain": self.chain, **self.facts}


def draw_chain(audio: np.ndarray, sample_rate: int, instrument: str, flaw: str,
               severity: float, rng: np.random.Generator,
               variant: str | None = None) -> tuple[str, Chain]:
    """Draw one variant of ``flaw`` for this clip and its parameters.

    Parameters
    ----------
    audio : np.ndarray
        ``(frames, channels)`` float32 gold audio (the variants look at its spectrum).
    sample_rate : int
        Its rate (Hz).
    instrument, flaw : str
        A flaw of the instrument (:func:`ngn_clarity.taxonomy.check_flaw`).
    severity : float
        0 = mild but audible, 1 = strong.
    rng : np.random.Generator
        Source of every random draw.
    variant : str, optional
        The variant's name; drawn from ``rng`` when None.

    Returns
    -------
    name : str
        The variant drawn.
    chain : Chain
        Its transforms with their drawn parameters.
    """
    taxonomy.check_flaw(instrument, flaw)
    variants = VARIANTS[flaw]
    name = variant or str(rng.choice(sorted(variants)))
    ctx = context_of(audio, sample_rate, instrument, flaw)
    return name, Chain(variants[name](rng, float(severity), ctx))


def make_flawed(audio: np.ndarray, sample_rate: int, instrument: str, flaw: str,
                severity: float, rng: np.random.Generator,
                variant: str | None = None) -> Flawed:
    """Apply ``flaw`` to a gold clip.

    Parameters
    ----------
    audio : np.ndarray
        ``(frames, channels)`` float audio.
    sample_rate : int
        Its rate (Hz).
    instrument, flaw : str
        A flaw of the instrument.
    severity : float
        0 = mild but audible, 1 = strong.
    rng : np.random.Generator
        Source of every random draw (the variant too, unless ``variant`` is given).
    variant : str, optional
        Which variant to apply.

    Returns
    -------
    Flawed
        The audio at the input's peak level, the chain, and the exact correction vector.
    """
    x = np.ascontiguousarray(audio, dtype=np.float32)
    name, chain = draw_chain(x, sample_rate, instrument, flaw, severity, rng, variant)
    y, shifts = chain.process(x, sample_rate)
    jitter = float(np.std(shifts) * 1000 / sample_rate) if len(shifts) else 0.0
    corr = chain.correction(flaw, x, y, sample_rate, jitter)
    peak_in, peak_out = float(np.max(np.abs(x))), float(np.max(np.abs(y)))
    if not np.isfinite(peak_out) or peak_out <= 1e-9:
        raise ValueError(f"the {flaw}/{name} chain silenced the clip")
    y = (y * (peak_in / peak_out)).astype(np.float32)
    facts = {"slices_moved": int(len(shifts))} if flaw == "sloppy_timing" else {}
    return Flawed(y, flaw, name, round(float(severity), 4), chain.to_dicts(), corr, facts)
