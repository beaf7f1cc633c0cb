"""In-process diagnostics of the real-audio benchmark (``real_audio.py --cues``), with the
package's own pieces (tables, reference, estimators, decision) and no ONNX:

* **cue families on and off**: the threshold-free ROC AUC of gold against flawed on the real
  test half, for the embedded model (compared with the train half's gold, as after
  ``calibrate``) and the real-trained model, with all features and with each feature family
  of the schema dropped in turn (its columns and their nearest-gold deviations);
* **regress, then classify**: the same, with the correction regressor's predictions added to
  the classifier's inputs (out-of-fold on the training rows).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ngn_clarity import load_training_table, reference, taxonomy
from ngn_clarity.features.schema import get
from ngn_clarity.model.decision import class_mask
from ngn_clarity.model.estimators import make_classifier, make_regressor
from ngn_clarity.model.evaluate import Data, grouped_splits

from real_eval import FAMILY, auc  # noqa: E402


def _data(path: Path) -> Data:
    names = get("extended").names
    return Data.from_table(load_training_table(path), names)


def _risk(clf, x: np.ndarray, onehot: np.ndarray, classes: list[str]) -> np.ndarray:
    p = clf.predict_proba(x)
    order = [list(clf.classes_).index(c) for c in classes]
    p = p[:, order] * (onehot @ class_mask(classes))
    p /= p.sum(axis=1, keepdims=True)
    return 1.0 - p[:, classes.index(taxonomy.NO_FLAW)]


def _columns(names: list[str], drop: set[str]) -> np.ndarray:
    """Which design columns ([x, d, dist, onehot]) stay when features ``drop`` go."""
    keep = [n not in drop for n in names]
    return np.array([*keep, *keep, True, *([True] * len(taxonomy.INSTRUMENTS))])


def _scores(train: Data, ref_test, tests: list[dict], x_test: np.ndarray,
            drop: set[str], extra: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    every = np.arange(len(train.y))
    ref_train = train.reference(every)
    keep = _columns(train.feature_names, drop)
    xt = train.design(every, ref_train, own_group_out=True)[:, keep]
    n = train.n_features
    xb = reference.design(x_test[:, :n], x_test[:, n:], ref_test)[:, keep]
    if extra is not None:
        xt, xb = np.hstack([xt, extra[0]]), np.hstack([xb, extra[1]])
    clf = make_classifier("lgbm", seed=0, jobs=2).fit(xt, train.y,
                                                      sample_weight=train.weights(every))
    risk = _risk(clf, xb, x_test[:, n:], train.classes)
    y = np.array([t["flaw"] for t in tests], dtype=object)
    flawed = y != "none"
    out = {"auc": auc(flawed, risk)}
    for fam in ("eq", "dynamics", "distortion", "space"):
        m = ~flawed | np.array([FAMILY.get(f) == fam for f in y])
        out[f"auc_{fam}"] = auc(flawed[m], risk[m])
    return out


def _corrections(train: Data, x_test: np.ndarray, ref_test) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predicted corrections of the training rows, and those of the test rows."""
    every = np.arange(len(train.y))
    ref = train.reference(every)
    xt = train.design(every, ref, own_group_out=True)
    oof = np.zeros((len(xt), train.targets.shape[1]))
    for tr, te in grouped_splits(train, 3, 0):
        known = tr[train.known[tr]]
        oof[te] = make_regressor(jobs=2).fit(xt[known], train.targets[known]).predict(xt[te])
    n = train.n_features
    xb = reference.design(x_test[:, :n], x_test[:, n:], ref_test)
    final = make_regressor(jobs=2).fit(xt[train.known], train.targets[train.known])
    return oof, final.predict(xb)


def ablation(data: dict[str, Path], tests: list[dict], x_test: np.ndarray,
             train_half: Path) -> dict[str, dict]:  # noqa: ARG001 (A's gold is in data["real"])
    """Every figure of the module doc (name -> AUCs)."""
    embedded, real = _data(data["embedded"]), _data(data["real"])
    studio = real.reference(np.flatnonzero(real.gold))  # the train half's gold
    families: dict[str, set[str]] = {}
    for spec in get("extended").specs[22:]:
        families.setdefault(spec.family, set()).add(spec.name)
    out = {}
    for model, train, ref in (("embedded, calibrated", embedded, studio),
                              ("real", real, real.reference(np.arange(len(real.y))))):
        out[f"{model}: all features"] = _scores(train, ref, tests, x_test, set())
        for fam, cols in sorted(families.items()):
            out[f"{model}: without {fam}"] = _scores(train, ref, tests, x_test, cols)
        out[f"{model}: + predicted corrections"] = _scores(
            train, ref, tests, x_test, set(), _corrections(train, x_test, ref))
    return out
