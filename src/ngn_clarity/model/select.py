"""Which classifier to keep: each candidate cross-validated on the same grouped folds, the
better out-of-fold accuracy kept (LightGBM on a tie)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .estimators import CLASSIFIERS
from .evaluate import Data, OutOfFold
from .metrics import CVMetrics, summarize


@dataclass
class Selection:
    """The candidates' out-of-fold predictions and metrics, and the one kept."""

    kept: str
    evaluated: dict[str, OutOfFold]
    per_model: dict[str, CVMetrics]

    @property
    def oof(self) -> OutOfFold:
        return self.evaluated[self.kept]


def select(data: Data, model: str, folds: int,
           evaluate: Callable[[str, bool], OutOfFold],
           say: Callable[[str], None] = lambda msg: None) -> Selection:
    """Cross-validate the candidates and keep the better one.

    Parameters
    ----------
    data : Data
        The rows.
    model : str
        ``"auto"`` (every candidate of :data:`~.estimators.CLASSIFIERS`) or one of them.
    folds : int
        The number of folds (for the lines ``say`` gets).
    evaluate : callable
        ``evaluate(kind, regress)`` -> that classifier's out-of-fold predictions on the
        grouped folds (and the regressor's when ``regress``: it runs once, with the first
        candidate, and its corrections are shared).
    say : callable
        Gets one line per candidate.
    """
    candidates = list(CLASSIFIERS) if model == "auto" else [model]
    evaluated: dict[str, OutOfFold] = {}
    corrections = None
    for kind in candidates:
        t0 = time.perf_counter()
        oof = evaluate(kind, corrections is None)
        if corrections is None:
            corrections = oof.corrections
        oof.corrections = corrections
        evaluated[kind] = oof
        m = summarize(data, oof)
        say(f"{folds}-fold grouped CV, {kind}: accuracy {m.accuracy_mean:.3f} +- "
            f"{m.accuracy_std:.3f}, gold vs flawed {m.gold_vs_flawed_accuracy:.3f} "
            f"({time.perf_counter() - t0:.1f} s)")
    per_model = {k: summarize(data, o) for k, o in evaluated.items()}
    kept = max(per_model, key=lambda k: (per_model[k].accuracy or 0.0, k == "lgbm"))
    return Selection(kept, evaluated, per_model)
