"""Non-linear stages: static waveshapers and bit reduction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pedalboard as pb

from .transforms import Transform, _board


#: The static curves a :class:`Shaper` knows, each mapping the driven signal into [-1, 1].
CURVES: tuple[str, ...] = ("tanh", "hard_clip", "asymmetric", "foldback", "arctan", "cubic",
                           "diode")


def shape(y: np.ndarray, curve: str, bias: float = 0.0) -> np.ndarray:
    """One static curve on the driven signal ``y`` (float64, 1 = the curve's full scale).

    tanh; hard_clip; asymmetric (tanh with a ``bias``, even harmonics, tube-like, DC
    removed); foldback (wave folding, fuzz); arctan (2/pi arctan: a softer knee than tanh);
    cubic (the polynomial soft clip 1.5 (y - y^3/3) on [-1, 1], mostly the 3rd harmonic);
    diode (1 - e^-y above zero, (e^(0.6 y) - 1)/0.6 below: asymmetric exponential, DC
    removed).
    """
    if curve == "tanh":
        return np.tanh(y)
    if curve == "hard_clip":
        return np.clip(y, -1.0, 1.0)
    if curve == "asymmetric":
        y = np.tanh(y + bias) - np.tanh(bias)
        return y - y.mean(axis=0)  # no DC from the bias
    if curve == "foldback":
        return np.abs(np.mod(y - 1.0, 4.0) - 2.0) - 1.0
    if curve == "arctan":
        return np.arctan(y) * (2.0 / np.pi)
    if curve == "cubic":
        c = np.clip(y, -1.0, 1.0)
        return 1.5 * (c - c ** 3 / 3.0)
    if curve == "diode":
        y = np.where(y >= 0, 1.0 - np.exp(-y), (np.exp(0.6 * np.minimum(y, 0.0)) - 1.0) / 0.6)
        return np.clip(y - y.mean(axis=0), -1.0, 1.0)
    raise ValueError(f"unknown curve {curve!r}")


@dataclass(frozen=True)
class Shaper(Transform):
    """Drive into a static non-linearity: the clip's peak is pushed ``drive_db`` past the
    curve's full scale (:func:`shape` lists the curves), then set back to the clip's peak."""

    curve: str
    drive_db: float
    bias: float = 0.0

    def __call__(self, x, sr):
        peak = float(np.max(np.abs(x))) or 1.0
        y = shape(x.astype(np.float64) / peak * 10 ** (self.drive_db / 20), self.curve,
                  self.bias)
        return (y * peak).astype(np.float32)

    @property
    def distortion_drive_db(self) -> float:
        return self.drive_db


@dataclass(frozen=True)
class Bitcrush(Transform):
    """Bit-depth reduction and sample-rate reduction (sample and hold)."""

    bits: float
    hold: int

    def __call__(self, x, sr):
        peak = float(np.max(np.abs(x))) or 1.0
        y = _board(x / peak, sr, [pb.Bitcrush(self.bits)])
        if self.hold > 1:
            y = np.repeat(y[:: self.hold], self.hold, axis=0)[: len(y)]
        return (y * peak).astype(np.float32)

    @property
    def distortion_drive_db(self) -> float:
        return 6.02 * max(0.0, 16 - self.bits)
