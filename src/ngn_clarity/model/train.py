"""Phase 1B: Random Forests on the fingerprint (``clarity train``).

Two models, as the seed says (500 trees, depth 8, 80/20 split; all exposed):

* a **classifier** for ``flawed_type`` (``none`` for gold). Two variants are trained on the
  same split and the better one on the test rows is kept: ``global`` (one forest, the
  instrument one-hot appended to the 64 features) and ``per_instrument`` (one forest per
  instrument, on its own flaws and ``none``);
* a **regressor** for the 12-value correction vector (global, instrument one-hot appended),
  trained on the rows whose corrections are known.

The split is by group (a gold clip and the flawed clips made from it are never on both
sides): ``GroupShuffleSplit`` on the ``group`` label. With ``schemas=("seed", "extended")``
both fingerprints are evaluated side by side on the same split; the models of the better
schema (by classifier accuracy, then EQ MAE) are saved.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .. import settings, taxonomy
from ..errors import ModelError, SettingsError
from ..fsutil import atomic_path, atomic_write_json
from ..layout import Layout
from ..records import CORRECTION_FIELDS, EQ_CENTRES_HZ
from ..settings import Interval, Options, Validated

EQ_FIELDS = tuple(f"eq_{f}_db" for f in EQ_CENTRES_HZ)


@dataclass(frozen=True)
class TrainSettings(Validated):
    n_estimators: int = 500
    max_depth: int = 8
    test_size: float = 0.2
    seed: int = 0
    schemas: tuple[str, ...] = ("seed", "extended")
    classifier: str = "auto"
    """"auto" (measure both, keep the better), "global" or "per_instrument"."""
    jobs: int | None = None

    constraints = {"n_estimators": Interval(int, 1, 10_000), "max_depth": Interval(int, 1, 64),
                   "test_size": Interval(float, 0.0, 1.0, closed="neither"),
                   "seed": settings.SEED_RANGE,
                   "classifier": Options(("auto", "global", "per_instrument")),
                   "jobs": settings.JOBS_RANGE}

    def check_together(self) -> None:
        from ..features.schema import SCHEMAS

        if not self.schemas or not set(self.schemas) <= set(SCHEMAS):
            raise SettingsError(f"schemas must be among {', '.join(SCHEMAS)}, not "
                                f"{self.schemas!r}")


def models_dir(layout: Layout) -> Path:
    return layout.models


def design_matrix(table, feature_names: list[str]) -> np.ndarray:
    """64 features followed by the instrument one-hot (taxonomy order), float32."""
    x = table[feature_names].to_numpy(dtype=np.float32)
    onehot = np.stack([(table["instrument"] == i).to_numpy(np.float32)
                       for i in taxonomy.INSTRUMENTS], axis=1)
    return np.ascontiguousarray(np.hstack([x, onehot]), dtype=np.float32)


def input_names(feature_names: list[str]) -> list[str]:
    return [*feature_names, *(f"instrument_{i}" for i in taxonomy.INSTRUMENTS)]


def grouped_split(table, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import GroupShuffleSplit

    gss = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train_idx, test_idx = next(gss.split(table, groups=table["group"].to_numpy()))
    return np.sort(train_idx), np.sort(test_idx)


@dataclass
class Trained:
    schema: str
    feature_names: list[str]
    classifier_kind: str
    classifier: Any
    """A fitted forest (global) or {instrument: forest} (per_instrument)."""
    regressor: Any
    metrics: dict[str, Any] = field(default_factory=dict)


def predict_labels(trained: Trained, x: np.ndarray, instruments: np.ndarray):
    """(labels, probabilities-of-the-label) with either classifier kind."""
    if trained.classifier_kind == "global":
        proba = trained.classifier.predict_proba(x)
        return trained.classifier.classes_[proba.argmax(1)], proba.max(1)
    labels = np.empty(len(x), dtype=object)
    conf = np.zeros(len(x))
    for inst, forest in trained.classifier.items():
        m = instruments == inst
        if m.any():
            proba = forest.predict_proba(x[m])
            labels[m] = forest.classes_[proba.argmax(1)]
            conf[m] = proba.max(1)
    return labels, conf


def _num(v: float) -> float | None:
    """A metric for JSON: rounded, or None where it does not exist (no rows)."""
    return None if not np.isfinite(v) else round(float(v), 4)


def _forest(kind: str, s: TrainSettings):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if kind == "clf" else RandomForestRegressor
    return cls(n_estimators=s.n_estimators, max_depth=s.max_depth, random_state=s.seed,
               n_jobs=s.jobs or -1)


def _classification_metrics(y_true, y_pred) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = sorted(set(y_true) | set(y_pred), key=lambda c: (c != "none", c))
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                 zero_division=0)
    return {"accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "per_class": {c: {"precision": round(float(a), 4), "recall": round(float(b), 4),
                              "f1": round(float(d), 4), "support": int(e)}
                          for c, a, b, d, e in zip(labels, p, r, f, n)},
            "labels": labels,
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()}


def fit_schema(table, schema: str, train_idx, test_idx, s: TrainSettings) -> Trained:
    """Train both classifier variants and the regressor on one schema's table."""
    from ..features.schema import names

    feature_names = names(schema)
    x = design_matrix(table, feature_names)
    y = table["flawed_type"].fillna(taxonomy.NO_FLAW).to_numpy(dtype=object)
    inst = table["instrument"].to_numpy(dtype=object)
    tr, te = train_idx, test_idx

    glob = _forest("clf", s).fit(x[tr], y[tr])
    per = {}
    for i in taxonomy.INSTRUMENTS:
        m = inst[tr] == i
        if m.any():
            per[i] = _forest("clf", s).fit(x[tr][m], y[tr][m])
    variants = {}
    for kind, clf in (("global", glob), ("per_instrument", per)):
        t = Trained(schema, feature_names, kind, clf, None)
        pred, _ = predict_labels(t, x[te], inst[te])
        variants[kind] = _classification_metrics(y[te], pred)
    if s.classifier == "auto":
        kind = max(variants, key=lambda k: (variants[k]["accuracy"], k == "global"))
    else:
        kind = s.classifier

    known = ~table[list(CORRECTION_FIELDS)].isna().any(axis=1).to_numpy()
    targets = table[list(CORRECTION_FIELDS)].to_numpy(dtype=np.float64)
    reg = None
    if known[tr].any():
        reg = _forest("reg", s).fit(x[tr][known[tr]], targets[tr][known[tr]])
    te_known = te[known[te]]
    flawed_te = te_known[y[te_known] != taxonomy.NO_FLAW]

    def mae(rows) -> np.ndarray:
        if reg is None or not len(rows):
            return np.full(len(CORRECTION_FIELDS), np.nan)
        return np.abs(reg.predict(x[rows]) - targets[rows]).mean(axis=0)

    mae_all, mae_flawed = mae(te_known), mae(flawed_te)
    eq = [CORRECTION_FIELDS.index(f) for f in EQ_FIELDS]
    metrics = {
        "schema": schema,
        "classifier": {"kept": kind, "variants": variants},
        "accuracy": variants[kind]["accuracy"],
        "regressor": {
            "rows_train": int(known[tr].sum()), "rows_test": int(len(te_known)),
            "rows_without_correction": int((~known).sum()),
            "mae": {f: _num(v) for f, v in zip(CORRECTION_FIELDS, mae_all)},
            "eq_mae_db": _num(mae_all[eq].mean()),
            "mae_flawed_only": {f: _num(v) for f, v in zip(CORRECTION_FIELDS, mae_flawed)},
            "eq_mae_db_flawed_only": _num(mae_flawed[eq].mean()),
        },
    }
    return Trained(schema, feature_names, kind, glob if kind == "global" else per, reg,
                   metrics)


def train(layout: Layout, s: TrainSettings | None = None, *, progress: bool = False,
          say=lambda msg: None):
    """Train on the data folder; publish ``models/`` whole; return the kept :class:`Trained`."""
    layout.require()
    with layout.lock():
        return _train(layout, s or TrainSettings(), progress, say)


def _train(layout: Layout, s: TrainSettings, progress: bool, say):
    import joblib

    from ..features.tables import build_tables
    from ..fsutil import publish_version

    tables = {}
    for schema in s.schemas:  # fingerprints come from the cache after the first run
        res = build_tables(layout, schema, jobs=s.jobs, progress=progress, write=False)
        if res.rows == 0:
            raise ModelError(f"no fingerprints in {layout.root}: run `clarity run` first")
        tables[schema] = res.table
    first = tables[s.schemas[0]]
    if first["flawed_type"].nunique() < 2:
        raise ModelError("the table holds one class only: a classifier needs gold and "
                         "flawed clips")
    train_idx, test_idx = grouped_split(first, s.test_size, s.seed)
    keys = first.iloc[:, :3]
    results = {}
    for schema, table in tables.items():
        if not table.iloc[:, :3].equals(keys):
            raise ModelError("the schemas' tables cover different clips: run `clarity run` "
                             "for each schema first")
        say(f"training on the {schema} fingerprint ({len(table)} rows)")
        results[schema] = fit_schema(table, schema, train_idx, test_idx, s)
    best = max(results.values(), key=lambda t: (t.metrics["accuracy"],
                                                -(t.metrics["regressor"]["eq_mae_db"] or 0)))
    groups = first["group"].to_numpy()
    split = {"method": "GroupShuffleSplit by group (a gold clip and its flawed clips stay "
                       "together)", "seed": s.seed, "test_size": s.test_size,
             "train_rows": int(len(train_idx)), "test_rows": int(len(test_idx)),
             "train_groups": int(len(set(groups[train_idx]))),
             "test_groups": int(len(set(groups[test_idx]))),
             "groups_in_both": int(len(set(groups[train_idx]) & set(groups[test_idx]))),
             "test_files": [f"{r.subset}/{r.instrument}/{r.file}"
                            for r in first.iloc[test_idx].itertuples()]}
    metrics = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in asdict(s).items()},
        "kept": {"schema": best.schema, "classifier": best.classifier_kind},
        "split": split,
        "schemas": {k: v.metrics for k, v in results.items()},
        "classes": sorted(set(first["flawed_type"].fillna("none"))),
    }
    card = {"schema": best.schema, "classifier_kind": best.classifier_kind,
            "inputs": input_names(best.feature_names),
            "instruments": list(taxonomy.INSTRUMENTS),
            "corrections": list(CORRECTION_FIELDS) if best.regressor is not None else [],
            "n_estimators": s.n_estimators, "max_depth": s.max_depth}

    def fill(out: Path) -> None:
        joblib.dump(best.classifier, out / "classifier.joblib")
        if best.regressor is not None:
            joblib.dump(best.regressor, out / "regressor.joblib")
        atomic_write_json(out / "metrics.json", metrics)
        _confusion_png(best.metrics["classifier"]["variants"][best.classifier_kind],
                       out / "confusion.png", f"{best.schema} schema, {best.classifier_kind}")
        atomic_write_json(out / "model_card.json", card)  # last: the set is complete

    publish_version(layout.models, layout.model_versions, fill)
    best.metrics = metrics
    return best


def load(layout: Layout) -> tuple[dict[str, Any], Any, Any]:
    """(model card, classifier, regressor or None) saved by :func:`train`."""
    import joblib

    out = models_dir(layout)
    try:
        card = json.loads((out / "model_card.json").read_text())
        reg = out / "regressor.joblib"
        return (card, joblib.load(out / "classifier.joblib"),
                joblib.load(reg) if card.get("corrections") else None)
    except (OSError, ValueError) as e:
        raise ModelError(f"no trained model in {out}: run `clarity train` first "
                         f"({getattr(e, 'strerror', None) or e})") from None


def _confusion_png(m: dict[str, Any], dest: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, cm = m["labels"], np.array(m["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(0.45 * len(labels) + 3, 0.45 * len(labels) + 2.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                    color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"flaw type, test rows: accuracy {m['accuracy']:.3f}\n{title}", fontsize=9)
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
