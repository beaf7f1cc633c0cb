"""From calibrated probabilities to one answer: a flaw, ``none``, or ``not_sure``.

1. **The instrument's own flaws**: a clip can only have one of its instrument's five flaws or
   none (a kick is never "boomy"): the probabilities are masked to those six classes and
   renormalized (:meth:`Decision.masked`), in training's metrics as in ``predict``.
2. **The none threshold**: a clip is ``none`` when its probability of ``none`` is at least
   its instrument's threshold, else its most probable flaw. ``train`` sets the thresholds on
   out-of-fold gold clips, ``clarity calibrate`` on a user's gold, so that a chosen share of
   gold is called ``none`` (:func:`none_thresholds`).
3. **"Not sure"**: a split-conformal prediction set (MAPIE, LAC score) fitted on out-of-fold
   predictions: every class whose probability is at least ``1 - q`` is in the set, which then
   holds the true class for ``confidence`` of the clips; the answer is ``not_sure`` unless the
   set is exactly the decided class (:func:`conformal_threshold`).

Every step is elementwise or a selection, so the ONNX graph (:mod:`.graph`) decides the same.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import taxonomy

NOT_SURE = "not_sure"


def class_mask(classes: list[str]) -> np.ndarray:
    """``[instruments, classes]`` float32: 1 where the class is ``none`` or one of the
    instrument's flaws."""
    return np.array([[float(c == taxonomy.NO_FLAW or c in taxonomy.flaws_for(i))
                      for c in classes] for i in taxonomy.INSTRUMENTS], dtype=np.float32)


@dataclass
class Decision:
    """How probabilities become an answer (see the module doc).

    Parameters
    ----------
    classes : list of str
        The classifier's classes, in its probability order.
    thresholds : np.ndarray
        ``[instruments]`` none thresholds (0: always none; above 1: never).
    set_threshold : float
        A class is in the conformal set when its probability is at least this (``1 - q``);
        0 puts every class in it (never sure), above 1 none.
    """

    classes: list[str]
    thresholds: np.ndarray
    set_threshold: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def none_index(self) -> int:
        return self.classes.index(taxonomy.NO_FLAW)

    @property
    def mask(self) -> np.ndarray:
        return class_mask(self.classes)

    def masked(self, proba: np.ndarray, onehot: np.ndarray) -> np.ndarray:
        """Probabilities over the instrument's own classes, renormalized (float32)."""
        p = proba.astype(np.float32) * (onehot.astype(np.float32) @ self.mask)
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    def decide(self, masked: np.ndarray, onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(decided class index, sure) of masked probabilities: ``none`` at or above the
        instrument's threshold, else the most probable flaw; sure when the conformal set is
        exactly that class."""
        none = self.none_index
        t = (onehot.astype(np.float32) @ self.thresholds.astype(np.float32)[:, None])[:, 0]
        flaws = masked.copy()
        flaws[:, none] = -1.0
        idx = np.where(masked[:, none] >= t, none, np.argmax(flaws, axis=1))
        inset = masked >= np.float32(self.set_threshold)
        sure = (inset.sum(axis=1) == 1) & inset[np.arange(len(idx)), idx]
        return idx, sure

    def labels(self, masked: np.ndarray, onehot: np.ndarray,
               allow_not_sure: bool = True) -> np.ndarray:
        """The answers as class names (``not_sure`` where not sure, if allowed)."""
        idx, sure = self.decide(masked, onehot)
        names = np.array(self.classes, dtype=object)[idx]
        return np.where(sure | (not allow_not_sure), names, NOT_SURE)

    def to_dict(self) -> dict[str, Any]:
        return {"none_thresholds": {i: round(float(t), 6) for i, t in
                                    zip(taxonomy.INSTRUMENTS, self.thresholds)},
                "conformal_set_threshold": round(float(self.set_threshold), 6), **self.info}

    @classmethod
    def from_dict(cls, classes: list[str], d: dict[str, Any]) -> "Decision":
        t = np.array([d["none_thresholds"][i] for i in taxonomy.INSTRUMENTS], np.float32)
        info = {k: v for k, v in d.items()
                if k not in ("none_thresholds", "conformal_set_threshold")}
        return cls(classes, t, float(d["conformal_set_threshold"]), info)


def _between(p_none: np.ndarray, share: float) -> float:
    """A threshold that calls ``share`` of ``p_none`` none: halfway between the lower
    ``1 - share`` quantile and the next smaller value, so that no clip sits on it (a float32
    rounding in another runtime cannot flip a clip)."""
    v = np.sort(p_none.astype(np.float64))
    k = int(np.floor((1.0 - share) * (len(v) - 1)))  # numpy's "lower" quantile index
    return float((v[k - 1] + v[k]) / 2) if k > 0 else float(v[0]) * (1 - 1e-6)


def none_thresholds(p_none: np.ndarray, instrument: np.ndarray, share: float,
                    min_clips: int = 10) -> tuple[np.ndarray, dict[str, Any]]:
    """Thresholds so that ``share`` of these gold clips is called ``none``.

    Parameters
    ----------
    p_none : np.ndarray
        Masked probability of ``none`` of gold clips, each from a model or reference that
        never saw the clip (out-of-fold, cross-fitted).
    instrument : np.ndarray
        Each clip's instrument index.
    share : float
        The share of gold to call ``none`` (e.g. 0.9).
    min_clips : int
        An instrument with fewer gold clips takes the threshold of all of them together.

    Returns
    -------
    thresholds : np.ndarray
        ``[instruments]``: the ``1 - share`` quantile of each instrument's ``p_none``.
    info : dict
        The clips per instrument and whether each threshold is the instrument's own.
    """
    pooled = _between(p_none, share) if len(p_none) else 0.5
    out = np.full(len(taxonomy.INSTRUMENTS), pooled, dtype=np.float32)
    own = {}
    for k, inst in enumerate(taxonomy.INSTRUMENTS):
        m = instrument == k
        own[inst] = int(m.sum())
        if m.sum() >= min_clips:
            out[k] = _between(p_none[m], share)
    return out, {"none_share": share, "gold_clips": own,
                 "own_threshold": {i: n >= min_clips for i, n in own.items()}}


def conformal_threshold(masked: np.ndarray, y_index: np.ndarray,
                        confidence: float) -> float:
    """The LAC split-conformal set threshold (``1 - q``) of out-of-fold masked probabilities
    and true classes, fitted with MAPIE's ``SplitConformalClassifier`` on the probabilities
    themselves (a prefit identity estimator): a class is in a clip's set when its probability
    is at least the returned value. With fewer clips than ``1 / (1 - confidence)``, no set can
    be that sure: 0 (every class in every set, every answer "not sure")."""
    if len(masked) < max(1.0 / (1.0 - confidence), 1.0 / confidence):
        return 0.0
    from mapie.classification import SplitConformalClassifier
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Given(ClassifierMixin, BaseEstimator):
        """A "model" whose input is already its probabilities."""

        def fit(self, x, y=None):
            self.classes_ = np.arange(masked.shape[1])
            return self

        def predict_proba(self, x):
            return np.asarray(x)

        def predict(self, x):
            return np.argmax(np.asarray(x), axis=1)

    conformal = SplitConformalClassifier(Given().fit(masked), confidence_level=confidence,
                                         conformity_score="lac", prefit=True)
    with warnings.catch_warnings():  # a class absent from these rows is expected, not a fault
        warnings.filterwarnings("ignore", "WARNING: your conformalization dataset",
                                UserWarning)
        conformal.conformalize(masked, y_index)
    lo, hi = 0.0, 1.0 + 1e-9  # the least probability MAPIE puts in a set, read off its sets
    for _ in range(3):
        grid = np.linspace(lo, hi, 2001)
        rows = np.zeros((len(grid), masked.shape[1]))
        rows[:, 0], rows[:, 1] = grid, 1.0 - grid
        inside = conformal.predict_set(rows)[1][:, 0, 0]
        if not inside.any():
            return float(hi)
        k = int(np.argmax(inside))
        lo, hi = float(grid[max(k - 1, 0)]), float(grid[k])
    return hi


def coverage_curve(masked: np.ndarray, y_index: np.ndarray, onehot: np.ndarray,
                   decision: Decision, groups: np.ndarray,
                   confidences=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95)) -> list[dict[str, Any]]:
    """Accuracy on the answered clips against coverage (the share not ``not_sure``), for
    conformal thresholds at each ``confidence``, cross-fitted: the rows are split in two
    halves by group, each half's threshold is fitted on the other half."""
    u = np.unique(groups)
    half = np.isin(groups, u[np.random.default_rng(0).permutation(len(u))[: len(u) // 2]])
    rows = []
    for conf in confidences:
        idx = np.empty(len(y_index), dtype=np.int64)
        sure = np.empty(len(y_index), dtype=bool)
        for part in (half, ~half):
            fit_on = ~part
            if not fit_on.any() or not part.any():
                continue
            d = Decision(decision.classes, decision.thresholds,
                         conformal_threshold(masked[fit_on], y_index[fit_on], conf))
            idx[part], sure[part] = d.decide(masked[part], onehot[part])
        rows.append({"confidence": conf, "coverage": round(float(sure.mean()), 4),
                     "accuracy_answered": round(float(np.mean(idx[sure] == y_index[sure])), 4)
                     if sure.any() else None})
    return rows
