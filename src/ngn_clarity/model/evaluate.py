"""Evaluation you can trust: grouped K-fold and leave-source-out cross-validation.

* **Grouped K-fold** (``StratifiedGroupKFold``): a gold clip, every flawed clip made from it
  and every clip cut from one source file share a group, and a group is never on both sides.
* **Leave-source-out**: whole source families are held out (a General MIDI instrument
  family, a procedural voice, a sub-source such as "kick"), so the test clips are sounds
  the model never heard: the closest the embedded set gets to someone else's recording.

Each gives the out-of-fold predictions (:class:`OutOfFold`); :mod:`.metrics` summarizes
them. The models see each clip against a gold reference (:mod:`ngn_clarity.reference`):
within a fold, the reference is fitted on the training rows' gold only; a training row is
never compared with gold of its own group (a flawed clip with the gold it was made from), and
a held-out row is compared with the training gold (the model meets a new clip without being
calibrated) or, for the *calibrated* leave-source-out, with the other gold of its own held-out
family (what ``clarity calibrate`` does for a user's library).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import reference as refmod
from .. import taxonomy
from ..corrections import CORRECTION_FIELDS
from ..executor import run_tasks
from ..reference import Reference
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
    """The model's input rows: the fingerprint followed by the instrument one-hot (taxonomy
    order), float32 (what the ONNX graphs take)."""
    x = table[feature_names].to_numpy(dtype=np.float32)
    onehot = np.stack([(table["instrument"] == i).to_numpy(np.float32)
                       for i in taxonomy.INSTRUMENTS], axis=1)
    return np.ascontiguousarray(np.hstack([x, onehot]), dtype=np.float32)


def input_names(feature_names: list[str]) -> list[str]:
    return [*feature_names, *(f"instrument_{i}" for i in taxonomy.INSTRUMENTS)]


def domain_of(preset: Any) -> str:
    """``embedded`` for a clip this package rendered (its preset names a SoundFont program or
    a procedural voice), else ``library`` (a user's gold, imported or augmented)."""
    p = preset if isinstance(preset, str) else ""
    return "embedded" if re.search(r"(:program\d+|:kit\d+)$|^procedural:", p) else "library"


@dataclass
class Data:
    """What training and evaluation read from the joined table."""

    x: np.ndarray
    """``[rows, features + 5]`` input rows: the fingerprint, then the instrument one-hot."""
    y: np.ndarray
    groups: np.ndarray
    families: np.ndarray
    severity: np.ndarray
    targets: np.ndarray
    known: np.ndarray
    """Rows whose correction vector is known (the regressor trains on these)."""
    classes: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    sources: np.ndarray | None = None
    domains: np.ndarray | None = None
    """``embedded`` or ``library`` (:func:`domain_of`)."""
    spectra: np.ndarray | None = None
    """``[rows, 31]`` 1/3-octave spectra (dB re total), for the reference's bands."""

    @classmethod
    def from_table(cls, table, feature_names: list[str], spectra=None) -> "Data":
        y = table["flawed_type"].fillna(taxonomy.NO_FLAW).to_numpy(dtype=object)
        targets = table[list(CORRECTION_FIELDS)].to_numpy(dtype=np.float64)
        fam = np.array([source_family(p, s, i) for p, s, i in zip(
            table["preset"], table["source"], table["instrument"])], dtype=object)
        spec = None
        if spectra is not None:
            key = ["file", "subset", "instrument"]
            cols = [c for c in spectra.columns if c.startswith("ltas_")]
            spec = table[key].merge(spectra[[*key, *cols]], on=key, how="left")[cols].to_numpy(
                dtype=np.float64)
        return cls(design_matrix(table, feature_names), y, table["group"].to_numpy(),
                   fam, table["severity"].to_numpy(dtype=np.float64), targets,
                   ~np.isnan(targets).any(axis=1),
                   sorted(set(y), key=lambda c: (c != taxonomy.NO_FLAW, c)),
                   list(feature_names), table["source"].to_numpy(dtype=object),
                   np.array([domain_of(p) for p in table["preset"]], dtype=object), spec)

    @property
    def n_features(self) -> int:
        return self.x.shape[1] - len(taxonomy.INSTRUMENTS)

    @property
    def fingerprint(self) -> np.ndarray:
        return self.x[:, : self.n_features]

    @property
    def onehot(self) -> np.ndarray:
        return self.x[:, self.n_features:]

    @property
    def instrument(self) -> np.ndarray:
        return np.argmax(self.onehot, axis=1)

    @property
    def gold(self) -> np.ndarray:
        return self.y == taxonomy.NO_FLAW

    def reference(self, rows: np.ndarray | None = None,
                  origin: dict[str, Any] | None = None) -> Reference:
        """A reference fitted on the gold among ``rows`` (every row when None)."""
        m = self.gold.copy()
        if rows is not None:
            keep = np.zeros(len(m), dtype=bool)
            keep[rows] = True
            m &= keep
        spec = self.spectra[m] if self.spectra is not None else None
        if spec is not None and np.isnan(spec).any():
            spec = None
        return refmod.fit(self.fingerprint[m], self.instrument[m], self.feature_names,
                          spectra=spec, sources=self.sources[m] if self.sources is not None
                          else None, groups=self.groups[m], origin=origin or {"by": "train"})

    def design(self, rows: np.ndarray, ref: Reference, own_group_out: bool) -> np.ndarray:
        """The models' columns for ``rows`` against ``ref`` (``own_group_out``: never a
        neighbour from the row's own group, for rows whose group's gold is in the bank)."""
        return refmod.design(self.fingerprint[rows], self.onehot[rows], ref,
                             self.groups[rows] if own_group_out else None)

    def weights(self, rows: np.ndarray) -> np.ndarray:
        """Domain balance: within each domain (:func:`domain_of`), gold weighs as much as
        one flaw class does on average, so "sounds like this domain" never means "is
        flawed" (1 for flawed rows)."""
        w = np.ones(len(rows))
        if self.domains is None:
            return w
        y, dom = self.y[rows], self.domains[rows]
        for d in set(dom):
            m = dom == d
            gold = m & (y == taxonomy.NO_FLAW)
            flawed = m & ~gold
            n_classes = len(set(y[flawed]))
            if gold.any() and flawed.any():
                w[gold] = flawed.sum() / n_classes / gold.sum()
        return w


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
    w_train: np.ndarray
    x_test: np.ndarray
    t_train: np.ndarray | None
    """Correction targets of the training rows that have one (None: no regressor)."""
    known_train: np.ndarray | None
    """Which training rows those are."""
    kind: str
    n_estimators: int | None
    max_depth: int
    seed: int


def fit_fold(job: FoldJob) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Worker: fit one fold's models (one thread each), predict its held-out rows."""
    clf = make_classifier(job.kind, n_estimators=job.n_estimators, max_depth=job.max_depth,
                          seed=job.seed, jobs=1).fit(job.x_train, job.y_train,
                                                     sample_weight=job.w_train)
    corr = None
    if job.t_train is not None and job.known_train is not None and len(job.t_train):
        corr = make_regressor(seed=job.seed, jobs=1).fit(
            job.x_train[job.known_train], job.t_train).predict(job.x_test)
    return [str(c) for c in clf.classes_], clf.predict_proba(job.x_test), corr


def fold_designs(data: Data, tr: np.ndarray, te: np.ndarray, calibrated: bool = False,
                 compare: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) design rows of one fold: the reference from the training gold;
    the held-out rows against it, or (``calibrated``) against the held-out rows' own gold,
    never their own group's. Without ``compare``: the input rows as they are."""
    if not compare:
        return data.x[tr], data.x[te]
    ref = data.reference(tr)
    x_train = data.design(tr, ref, own_group_out=True)
    if calibrated:
        try:
            return x_train, data.design(te, data.reference(te), own_group_out=True)
        except ValueError:  # too little gold held out to calibrate with: not calibrated
            pass
    return x_train, data.design(te, ref, own_group_out=False)


def out_of_fold(data: Data, splits, kind: str, *, regress: bool = True,
                n_estimators: int | None = None, max_depth: int = 8, seed: int = 0,
                jobs: int = 1, calibrated: bool = False, compare: bool = True) -> OutOfFold:
    """Predictions for every row from models that never saw its group (or family), each
    fold with the reference of its own training gold (:func:`fold_designs`). The
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
        x_train, x_test = fold_designs(data, tr, te, calibrated, compare)
        known = data.known[tr]
        work.append(FoldJob(x_train, data.y[tr], data.weights(tr), x_test,
                            data.targets[tr][known] if regress else None,
                            known if regress else None, kind, n_estimators, max_depth, seed))
    for k, (classes, p, predicted) in run_tasks(fit_fold, work, jobs=jobs):
        te = splits[k][1]
        for j, name in enumerate(classes):
            proba[te, index[name]] = p[:, j]
        if predicted is not None:
            corr[te] = predicted
        fold[te] = k
    return OutOfFold(proba, corr, fold, list(splits))
