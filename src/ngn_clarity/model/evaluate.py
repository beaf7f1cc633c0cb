"""Evaluation you can trust: grouped K-fold and leave-source-out cross-validation.

* **Grouped K-fold** (``StratifiedGroupKFold``): a gold clip, every flawed clip made from it
  and every clip cut from one source file share a group, and a group is never on both sides.
* **Leave-source-out**: whole source families are held out (a General MIDI instrument
  family, a procedural voice, a sub-source such as "kick"), so the test clips are sounds
  the model never heard: the closest the embedded set gets to someone else's recording.

Each gives the out-of-fold predictions (:class:`OutOfFold`); :mod:`.metrics` summarizes
them.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import taxonomy
from ..corrections import CORRECTION_FIELDS
from ..executor import run_tasks
from .estimators import make_classifier, make_regressor

_GM_FAMILIES = ("piano", "chromatic percussion", "organ", "guitar", "bass", "strings",
                "ensemble", "brass", "reed", "pipe", "synth lead", "synth pad", "synth effects",
                "ethnic", "percussive", "sound effects")


def source_family(preset: Any, source: Any, instrument: str) -> str:
    """``<instrument>/<family>``: the General MIDI family of a SoundFont preset ("gm bass",
    "gm kit"), the procedural voice ("procedural strings"), else the clip's sub-source."""
    p = preset if isinstance(preset, str) else ""
    if m := re.search(r":program(\d+)$", p):
        fam = "gm " + _GM_FAMILIES[int(m.group(1)) // 8]
    elif p.endswith(tuple(f":kit{i}" for i in range(128))) or ":kit" in p:
        fam = "gm kit"
    elif p.startswith("procedural:"):
        fam = "procedural " + p.split(":", 1)[1]
    else:
        fam = f"source {source}" if isinstance(source, str) and source else "unknown"
    return f"{instrument}/{fam}"


def design_matrix(table, feature_names: list[str]) -> np.ndarray:
    """The fingerprint followed by the instrument one-hot (taxonomy order), float32."""
    x = table[feature_names].to_numpy(dtype=np.float32)
    onehot = np.stack([(table["instrument"] == i).to_numpy(np.float32)
                       for i in taxonomy.INSTRUMENTS], axis=1)
    return np.ascontiguousarray(np.hstack([x, onehot]), dtype=np.float32)


def input_names(feature_names: list[str]) -> list[str]:
    return [*feature_names, *(f"instrument_{i}" for i in taxonomy.INSTRUMENTS)]


@dataclass
class Data:
    """What training and evaluation read from the joined table."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    families: np.ndarray
    severity: np.ndarray
    targets: np.ndarray
    known: np.ndarray
    """Rows whose correction vector is known (the regressor trains on these)."""
    classes: list[str] = field(default_factory=list)

    @classmethod
    def from_table(cls, table, feature_names: list[str]) -> "Data":
        y = table["flawed_type"].fillna(taxonomy.NO_FLAW).to_numpy(dtype=object)
        targets = table[list(CORRECTION_FIELDS)].to_numpy(dtype=np.float64)
        fam = np.array([source_family(p, s, i) for p, s, i in zip(
            table["preset"], table["source"], table["instrument"])], dtype=object)
        return cls(design_matrix(table, feature_names), y, table["group"].to_numpy(),
                   fam, table["severity"].to_numpy(dtype=np.float64), targets,
                   ~np.isnan(targets).any(axis=1),
                   sorted(set(y), key=lambda c: (c != taxonomy.NO_FLAW, c)))


def grouped_splits(data: Data, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedGroupKFold

    k = min(k, len(set(data.groups)))
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a class rarer than k folds: fine, its folds just lack it
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return [(np.sort(a), np.sort(b)) for a, b in cv.split(data.x, data.y, data.groups)]


def source_splits(data: Data, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Hold out whole source families, each exactly once, in up to ``k`` folds."""
    from sklearn.model_selection import GroupKFold

    k = min(k, len(set(data.families)))
    if k < 2:
        return []
    return [(np.sort(a), np.sort(b)) for a, b in GroupKFold(n_splits=k).split(
        data.x, data.y, data.families)]


@dataclass
class OutOfFold:
    proba: np.ndarray
    """[rows, classes] predicted on the fold that held each row out."""
    corrections: np.ndarray
    fold: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class FoldJob:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    t_train: np.ndarray | None
    """Correction targets of the training rows that have one (None: no regressor)."""
    x_known: np.ndarray | None
    kind: str
    n_estimators: int | None
    max_depth: int
    seed: int


def fit_fold(job: FoldJob) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Worker: fit one fold's models (one thread each), predict its held-out rows."""
    clf = make_classifier(job.kind, n_estimators=job.n_estimators, max_depth=job.max_depth,
                          seed=job.seed, jobs=1).fit(job.x_train, job.y_train)
    corr = None
    if job.t_train is not None and len(job.t_train):
        corr = make_regressor(seed=job.seed, jobs=1).fit(job.x_known, job.t_train).predict(
            job.x_test)
    return [str(c) for c in clf.classes_], clf.predict_proba(job.x_test), corr


def out_of_fold(data: Data, splits, kind: str, *, regress: bool = True,
                n_estimators: int | None = None, max_depth: int = 8, seed: int = 0,
                jobs: int = 1) -> OutOfFold:
    """Predictions for every row from models that never saw its group (or family). The
    folds run in ``jobs`` processes, each model on one thread: LightGBM's OpenMP threads
    collapse on a busy machine (measured: 64 s instead of 1.7 s for one fit with two
    threads while another process used both cores)."""
    n, c = len(data.y), len(data.classes)
    proba = np.zeros((n, c))
    corr = np.full((n, len(CORRECTION_FIELDS)), np.nan)
    fold = np.full(n, -1)
    index = {name: j for j, name in enumerate(data.classes)}
    work = []
    for tr, te in splits:
        known = tr[data.known[tr]]
        work.append(FoldJob(data.x[tr], data.y[tr], data.x[te],
                            data.targets[known] if regress else None,
                            data.x[known] if regress else None, kind, n_estimators,
                            max_depth, seed))
    for k, (classes, p, predicted) in run_tasks(fit_fold, work, jobs=jobs):
        te = splits[k][1]
        for j, name in enumerate(classes):
            proba[te, index[name]] = p[:, j]
        if predicted is not None:
            corr[te] = predicted
        fold[te] = k
    return OutOfFold(proba, corr, fold, list(splits))
