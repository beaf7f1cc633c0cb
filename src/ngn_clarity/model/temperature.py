"""Calibration: a temperature that makes the classifier's confidence mean what it says.

One scalar ``t`` is fitted on out-of-fold predictions so that ``softmax(log p / t)`` is
calibrated; it is exported into the ONNX graph as two plain nodes
(:mod:`ngn_clarity.model.export`). The expected calibration error before and after is
recorded in ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Temperature:
    """Calibration ``p -> softmax(log p / t)``; ``t`` > 1 softens over-confident models."""

    t: float = 1.0

    @property
    def at_bound(self) -> bool:
        """True when the fit stopped at an end of its range (0.25-8): the probabilities
        could not be calibrated."""
        return self.t <= 0.2501 or self.t >= 7.999

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``[rows, classes]`` probabilities."""
        z = np.log(np.maximum(proba, 1e-12)) / self.t
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @classmethod
    def fit(cls, proba: np.ndarray, y_index: np.ndarray) -> "Temperature":
        """The t (0.25-8) minimising the negative log-likelihood of the true classes.

        Parameters
        ----------
        proba : np.ndarray
            ``[rows, classes]`` out-of-fold probabilities.
        y_index : np.ndarray
            Each row's true class (column index).
        """
        from scipy.optimize import minimize_scalar

        def nll(log_t: float) -> float:
            p = cls(float(np.exp(log_t))).apply(proba)
            return float(-np.mean(np.log(np.maximum(p[np.arange(len(p)), y_index], 1e-12))))

        res = minimize_scalar(nll, bounds=(np.log(0.25), np.log(8.0)), method="bounded")
        return cls(round(float(np.exp(res.x)), 4))


def expected_calibration_error(proba: np.ndarray, y_index: np.ndarray, bins: int = 10) -> float:
    """ECE: the mean |accuracy - confidence| over confidence bins, weighted by their size."""
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_index
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return round(float(total), 4)


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature and the calibration error before and after it."""

    temperature: float
    ece_before: float
    ece_after: float


def calibrate(proba: np.ndarray, y_index: np.ndarray) -> tuple[Temperature, np.ndarray,
                                                                Calibration]:
    """Fit a temperature on out-of-fold probabilities.

    Returns
    -------
    temperature : Temperature
    calibrated : np.ndarray
        ``proba`` through it.
    calibration : Calibration
        What ``metrics.json`` records.
    """
    temperature = Temperature.fit(proba, y_index)
    calibrated = temperature.apply(proba)
    return temperature, calibrated, Calibration(
        temperature.t, expected_calibration_error(proba, y_index),
        expected_calibration_error(calibrated, y_index))
