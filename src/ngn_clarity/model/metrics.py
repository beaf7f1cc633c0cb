"""What the cross-validations measured, typed, and written to ``metrics.json`` as before.

:func:`summarize` turns out-of-fold predictions into :class:`CVMetrics`: accuracy mean and
standard deviation over folds, gold-vs-flawed accuracy beside its balanced form (the mean of
gold called none and flawed called flawed: a set of 5 flawed clips per gold clip scores 0.83
plain by calling everything flawed, 0.50 balanced), per-class recall and precision, recall by
severity third, the confusion matrix, and the correction error (mean absolute, per component
and over the 8 EQ gains) on flawed clips. Every figure counts a clip's answer the way
``predict`` gives it: over the instrument's own flaws and none (:mod:`.decision`), with the
none threshold when one is given. :class:`TrainMetrics` is the whole of ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import taxonomy
from ..corrections import CORRECTION_FIELDS, EQ_FIELDS
from .decision import class_mask
from .evaluate import Data, OutOfFold
from .temperature import Calibration

#: What ``metrics.json`` keeps of each candidate classifier's cross-validation.
_PER_MODEL = ("accuracy_mean", "accuracy_std", "gold_vs_flawed_accuracy",
              "balanced_gold_vs_flawed", "gold_recall", "recall")


@dataclass
class CVMetrics:
    """The metrics of one cross-validation (keys and order of ``metrics.json``)."""

    folds: int
    accuracy: float | None
    accuracy_mean: float | None
    accuracy_std: float | None
    gold_vs_flawed_accuracy: float | None
    gold_recall: float | None
    recall: dict[str, float | None]
    precision: dict[str, float | None]
    support: dict[str, int]
    recall_by_severity: dict[str, float | None]
    eq_mae_flawed_db: float | None
    mae_flawed: dict[str, float | None]
    confusion: dict[str, Any]
    balanced_gold_vs_flawed: float | None = None
    """Mean of gold recall and of flawed clips called flawed."""
    flawed_called_flawed: float | None = None
    calibration: Calibration | None = None
    """The grouped cross-validation of the kept model only."""
    families: list[str] | None = None
    """The leave-source-out cross-validation only: the source families held out."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None or k not in ("calibration",
                                                                           "families")}

    def lowest_flaw_recall(self) -> tuple[float, str]:
        """(recall, flaw) of the flaw found least often."""
        return min((r or 0.0, c) for c, r in self.recall.items() if c != taxonomy.NO_FLAW)


def _r(v: float | np.floating | None) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 4)


def _by_severity(data: Data, pred: np.ndarray) -> dict[str, float | None]:
    flawed = data.y != taxonomy.NO_FLAW
    out: dict[str, float | None] = {}
    for name, lo, hi in (("low", 0.0, 1 / 3), ("mid", 1 / 3, 2 / 3), ("high", 2 / 3, 1.01)):
        m = flawed & (data.severity >= lo) & (data.severity < hi)
        out[name] = _r(np.mean(pred[m] == data.y[m])) if m.any() else None
    return out


def masked_argmax(data: Data, proba: np.ndarray) -> np.ndarray:
    """Each row's most probable class among its instrument's own (names)."""
    allowed = data.onehot @ class_mask(data.classes)
    return np.array(data.classes, dtype=object)[np.argmax(proba * allowed, axis=1)]


def summarize(data: Data, oof: OutOfFold, proba: np.ndarray | None = None,
              pred: np.ndarray | None = None) -> CVMetrics:
    """The metrics of out-of-fold predictions.

    Parameters
    ----------
    data : Data
        The rows evaluated.
    oof : OutOfFold
        Their out-of-fold predictions.
    proba : np.ndarray, optional
        Probabilities to score instead of ``oof.proba`` (the calibrated ones).
    pred : np.ndarray, optional
        The answers to score (class names, e.g. with the none threshold); default the most
        probable of each row's instrument's own classes.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    p = oof.proba if proba is None else proba
    pred = masked_argmax(data, p) if pred is None else pred
    y = data.y
    none = taxonomy.NO_FLAW
    accs = [float(np.mean(pred[te] == y[te])) for _, te in oof.folds]
    prec, rec, _, support = precision_recall_fscore_support(y, pred, labels=data.classes,
                                                            zero_division=0)
    flawed = y != none
    rows = flawed & data.known & ~np.isnan(oof.corrections).any(axis=1)
    err = np.abs(oof.corrections[rows] - data.targets[rows]) if rows.any() else None
    eq = [CORRECTION_FIELDS.index(f) for f in EQ_FIELDS]
    gold_recall = np.mean(pred[~flawed] == none) if (~flawed).any() else None
    caught = np.mean(pred[flawed] != none) if flawed.any() else None
    return CVMetrics(
        folds=len(oof.folds), accuracy=_r(np.mean(pred == y)),
        accuracy_mean=_r(np.mean(accs)), accuracy_std=_r(np.std(accs)),
        gold_vs_flawed_accuracy=_r(np.mean((pred == none) == (y == none))),
        gold_recall=_r(gold_recall),
        recall={c: _r(r) for c, r in zip(data.classes, rec)},
        precision={c: _r(v) for c, v in zip(data.classes, prec)},
        support={c: int(s) for c, s in zip(data.classes, support)},
        recall_by_severity=_by_severity(data, pred),
        eq_mae_flawed_db=_r(err[:, eq].mean()) if err is not None else None,
        mae_flawed=({f: _r(v) for f, v in zip(CORRECTION_FIELDS, err.mean(axis=0))}
                    if err is not None else {}),
        confusion={"labels": list(data.classes),
                   "matrix": confusion_matrix(y, pred, labels=data.classes).tolist()},
        balanced_gold_vs_flawed=_r((gold_recall + caught) / 2)
        if gold_recall is not None and caught is not None else None,
        flawed_called_flawed=_r(caught))


@dataclass
class TrainMetrics:
    """``metrics.json``: both cross-validations, per model, and what was trained on."""

    created: str
    settings: dict[str, Any]
    schema: str
    schema_version: int
    kept: str
    rows: int
    groups: int
    rows_with_correction: int
    rows_without_correction: int
    classes: list[str]
    cv: CVMetrics
    leave_source_out: CVMetrics | None
    cv_by_model: dict[str, CVMetrics] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    leave_source_out_calibrated: CVMetrics | None = None
    """Whole source families held out, each held-out clip compared with the other gold of
    its own family (what ``clarity calibrate`` does for a user's library)."""
    decision: dict[str, Any] = field(default_factory=dict)
    """The none thresholds and the conformal set threshold, how they were set."""
    coverage: list[dict[str, Any]] = field(default_factory=list)
    """Accuracy on the answered clips against coverage (the share not "not sure")."""
    not_sure: dict[str, Any] = field(default_factory=dict)
    """With the kept set threshold: coverage, accuracy answered, accuracy overall."""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["cv"] = self.cv.to_dict()
        d["leave_source_out"] = self.leave_source_out and self.leave_source_out.to_dict()
        d["leave_source_out_calibrated"] = (self.leave_source_out_calibrated
                                            and self.leave_source_out_calibrated.to_dict())
        d["cv_by_model"] = {k: {f: getattr(v, f) for f in _PER_MODEL}
                            for k, v in self.cv_by_model.items()}
        return d
