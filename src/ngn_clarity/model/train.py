"""Phase 1B: ``clarity train``: the classifier and the correction regressor, evaluated honestly.

1. The joined table of the chosen schema (fingerprints from the cache; only the missing
   ones are computed).
2. **Grouped K-fold** cross-validation (:mod:`.evaluate`) of each candidate classifier
   (``lgbm`` gradient-boosted trees, ``rf`` the seed's Random Forest) and of the regressor;
   the classifier with the better out-of-fold accuracy is kept (``model="auto"``).
3. **Calibration**: a temperature fitted on the kept model's out-of-fold probabilities, so
   ``predict``'s confidence means what it says (expected calibration error before and
   after is recorded).
4. **Leave-source-out** cross-validation of the kept model: whole source families held out.
5. The final models are fitted on every row (the regressor on the rows whose correction is
   known; how many is said), exported to ONNX (parity checked against scikit-learn /
   LightGBM), and the whole ``models/`` set is published at once
   (:func:`~ngn_clarity.fsutil.publish_version`): a failed or killed train leaves the
   previous model whole.

``models/``: ``classifier.joblib``, ``regressor.joblib``, ``classifier.onnx``,
``regressor.onnx``, ``model_card.json`` (inputs, classes, corrections, calibration, schema
and version), ``metrics.json`` (both cross-validations, per model), ``cv_predictions.csv``
(every clip's out-of-fold prediction) and ``confusion.png`` (row-normalised).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import settings, taxonomy
from ..errors import ModelError
from ..fsutil import atomic_path, atomic_write_json
from ..layout import Layout
from ..records import CORRECTION_FIELDS
from ..settings import Interval, Options, Validated
from .estimators import (CLASSIFIERS, Temperature, expected_calibration_error,
                         make_classifier, make_regressor)
from .evaluate import (Data, OutOfFold, grouped_splits, input_names, out_of_fold,
                       source_splits, summarize)


@dataclass(frozen=True)
class TrainSettings(Validated):
    model: str = "auto"
    """Classifier: "auto" (cross-validate lgbm and rf, keep the better), "lgbm" or "rf"."""
    schema: str = "extended"
    cv: int = 5
    """Folds of the grouped and of the leave-source-out cross-validation."""
    leave_source_out: bool = True
    n_estimators: int | None = None
    """Trees (rf, default 500) or boosting rounds (lgbm, default 300)."""
    max_depth: int = 8
    """Depth of the rf baseline's trees (the seed's 8)."""
    seed: int = 0
    jobs: int | None = None

    constraints = {"model": Options(("auto", *CLASSIFIERS)),
                   "schema": Options(("seed", "extended")),
                   "cv": Interval(int, 2, 20),
                   "n_estimators": (None, Interval(int, 1, 10_000)),
                   "max_depth": Interval(int, 1, 64), "seed": settings.SEED_RANGE,
                   "jobs": settings.JOBS_RANGE}


@dataclass
class Trained:
    schema: str
    feature_names: list[str]
    kind: str
    classifier: Any
    regressor: Any
    temperature: Temperature
    classes: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities in :attr:`classes` order."""
        p = self.classifier.predict_proba(x)
        order = [list(self.classifier.classes_).index(c) for c in self.classes]
        return self.temperature.apply(p[:, order])


def _jobs(s: TrainSettings) -> int:
    from ..executor import default_jobs

    return s.jobs or default_jobs()


def train(layout: Layout, s: TrainSettings | None = None, *, progress: bool = False,
          say: Callable[[str], None] = lambda msg: None) -> Trained:
    """Train on the data folder; publish ``models/`` whole; return the kept models."""
    layout.require()
    with layout.lock():
        return _train(layout, s or TrainSettings(), progress, say)


def _table(layout: Layout, s: TrainSettings, progress: bool):
    from ..features.tables import build_tables

    res = build_tables(layout, s.schema, jobs=s.jobs, progress=progress, write=False)
    if res.rows == 0:
        raise ModelError(f"no fingerprints in {layout.root}: run `clarity run` first")
    return res.table


def _train(layout: Layout, s: TrainSettings, progress: bool, say) -> Trained:
    from ..features.schema import SCHEMA_VERSIONS, names

    clock = time.perf_counter()
    table = _table(layout, s, progress)
    features = names(s.schema)
    data = Data.from_table(table, features)
    if len(data.classes) < 2:
        raise ModelError("the table holds one class only: a classifier needs gold and "
                         "flawed clips")
    n_groups = len(set(data.groups))
    if n_groups < s.cv:
        raise ModelError(f"{n_groups} independent group(s) of clips: grouped {s.cv}-fold "
                         f"cross-validation needs at least {s.cv} (add clips or lower --cv)")
    jobs = _jobs(s)
    unknown = int((~data.known).sum())
    say(f"table: {len(table)} clips ({s.schema} schema), {n_groups} groups; the correction "
        f"regressor learns from the {int(data.known.sum())} with a known correction"
        + (f", {unknown} rows have none (imported flawed clips)" if unknown else "")
        + f" ({time.perf_counter() - clock:.1f} s)")

    def evaluate(kind: str, splits, regress: bool) -> OutOfFold:
        return out_of_fold(data, splits, kind, regress=regress, n_estimators=s.n_estimators,
                           max_depth=s.max_depth, seed=s.seed, jobs=jobs)

    splits = grouped_splits(data, s.cv, s.seed)
    candidates = list(CLASSIFIERS) if s.model == "auto" else [s.model]
    evaluated: dict[str, OutOfFold] = {}
    corrections = None
    for kind in candidates:
        t0 = time.perf_counter()
        oof = evaluate(kind, splits, regress=corrections is None)
        if corrections is None:
            corrections = oof.corrections
        oof.corrections = corrections
        evaluated[kind] = oof
        m = summarize(data, oof)
        say(f"{s.cv}-fold grouped CV, {kind}: accuracy {m['accuracy_mean']:.3f} +- "
            f"{m['accuracy_std']:.3f}, gold vs flawed {m['gold_vs_flawed_accuracy']:.3f} "
            f"({time.perf_counter() - t0:.1f} s)")
    per_model = {k: summarize(data, o) for k, o in evaluated.items()}
    kind = max(per_model, key=lambda k: (per_model[k]["accuracy"], k == "lgbm"))
    oof = evaluated[kind]
    y_index = np.array([data.classes.index(c) for c in data.y])
    temperature = Temperature.fit(oof.proba, y_index)
    calibrated = temperature.apply(oof.proba)
    cv = summarize(data, oof, calibrated)
    cv["calibration"] = {"temperature": temperature.t,
                         "ece_before": expected_calibration_error(oof.proba, y_index),
                         "ece_after": expected_calibration_error(calibrated, y_index)}
    say(f"kept {kind}; calibration: temperature {temperature.t}, expected calibration error "
        f"{cv['calibration']['ece_before']} -> {cv['calibration']['ece_after']}; "
        f"EQ error on flawed clips {cv['eq_mae_flawed_db']} dB")
    loso = None
    if s.leave_source_out and (folds := source_splits(data, s.cv)):
        t0 = time.perf_counter()
        lo = evaluate(kind, folds, regress=True)
        loso = summarize(data, lo, temperature.apply(lo.proba))
        loso["families"] = sorted(set(data.families))
        say(f"leave-source-out ({len(folds)} folds over {len(loso['families'])} source "
            f"families): accuracy {loso['accuracy']:.3f}, gold vs flawed "
            f"{loso['gold_vs_flawed_accuracy']:.3f} ({time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    classifier, regressor = _fit_final(data, kind, s, jobs)
    trained = Trained(s.schema, features, kind, classifier, regressor, temperature,
                      [str(c) for c in classifier.classes_])
    say(f"final models fitted on {len(data.y)} clips ({time.perf_counter() - t0:.1f} s)")
    metrics = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": asdict(s), "schema": s.schema,
        "schema_version": SCHEMA_VERSIONS[s.schema], "kept": kind,
        "rows": len(data.y), "groups": n_groups,
        "rows_with_correction": int(data.known.sum()),
        "rows_without_correction": int((~data.known).sum()),
        "classes": list(data.classes),
        "cv": cv, "leave_source_out": loso,
        "cv_by_model": {k: {key: v[key] for key in ("accuracy_mean", "accuracy_std",
                                                   "gold_vs_flawed_accuracy", "gold_recall",
                                                   "recall")} for k, v in per_model.items()},
        "split": {"method": f"StratifiedGroupKFold({s.cv}) by group (a gold clip, its flawed "
                            f"clips and the clips cut from one file stay together)",
                  "groups_in_both": 0},
    }
    trained.metrics = metrics
    _publish(layout, trained, table, data, calibrated, oof, say)
    say(f"published {layout.models} ({time.perf_counter() - clock:.1f} s in all)")
    return trained


def _fit_final(data: Data, kind: str, s: TrainSettings, jobs: int):
    """The classifier and the regressor on every row, side by side in two processes."""
    from concurrent.futures import ProcessPoolExecutor

    from ..executor import die_with_parent

    def classifier():
        return make_classifier(kind, n_estimators=s.n_estimators, max_depth=s.max_depth,
                               seed=s.seed, jobs=1).fit(data.x, data.y)

    if not data.known.any():
        return classifier(), None
    reg_args = (data.x[data.known], data.targets[data.known], s.seed)
    if jobs < 2:
        return classifier(), _fit_regressor(*reg_args)
    with ProcessPoolExecutor(1, initializer=die_with_parent) as pool:
        future = pool.submit(_fit_regressor, *reg_args)
        return classifier(), future.result()


def _fit_regressor(x: np.ndarray, t: np.ndarray, seed: int):
    return make_regressor(seed=seed, jobs=1).fit(x, t)


def model_card(trained: Trained) -> dict[str, Any]:
    from ..features.schema import SCHEMA_VERSIONS

    return {"schema": trained.schema, "schema_version": SCHEMA_VERSIONS[trained.schema],
            "classifier": trained.kind, "inputs": input_names(trained.feature_names),
            "instruments": list(taxonomy.INSTRUMENTS), "classes": trained.classes,
            "flaws_by_instrument": {i: list(taxonomy.flaws_for(i))
                                    for i in taxonomy.INSTRUMENTS},
            "corrections": list(CORRECTION_FIELDS) if trained.regressor is not None else [],
            "calibration": {"temperature": trained.temperature.t,
                            "formula": "softmax(log(p) / temperature)"}}


def _publish(layout: Layout, trained: Trained, table, data: Data, calibrated: np.ndarray,
             oof: OutOfFold, say) -> None:
    import joblib

    from ..fsutil import publish_version
    from .onnx_export import export_to

    card = model_card(trained)

    def fill(out: Path) -> None:
        joblib.dump(trained.classifier, out / "classifier.joblib")
        if trained.regressor is not None:
            joblib.dump(trained.regressor, out / "regressor.joblib")
        card.update(export_to(out, trained, data.x))
        atomic_write_json(out / "metrics.json", trained.metrics)
        _predictions_csv(out / "cv_predictions.csv", table, data, calibrated, oof)
        confusion_png(trained.metrics["cv"], out / "confusion.png",
                      f"{trained.schema} schema, {trained.kind}, {trained.metrics['cv']['folds']}"
                      f"-fold grouped CV")
        atomic_write_json(out / "model_card.json", card)  # last: the set is complete

    publish_version(layout.models, layout.model_versions, fill)
    par = card["onnx_parity"]
    say(f"ONNX parity on {par['rows']} clips: {par['label_mismatches']} label mismatches, "
        f"probabilities within {par['probabilities_max_abs_diff']:.1e}"
        + (f", corrections within {par['corrections_max_abs_diff']:.1e}"
           if "corrections_max_abs_diff" in par else ""))


def _predictions_csv(dest: Path, table, data: Data, proba: np.ndarray, oof: OutOfFold) -> None:
    import pandas as pd

    classes = np.array(data.classes, dtype=object)
    top = np.argsort(-proba, axis=1)[:, :3]
    df = pd.DataFrame({"file": table["file"], "subset": table["subset"],
                       "instrument": table["instrument"], "flawed_type": data.y,
                       "severity": data.severity, "predicted": classes[top[:, 0]],
                       "confidence": proba[np.arange(len(proba)), top[:, 0]].round(4),
                       "second": classes[top[:, 1]],
                       "second_confidence": proba[np.arange(len(proba)), top[:, 1]].round(4),
                       "fold": oof.fold})
    with atomic_path(dest) as tmp:
        df.to_csv(tmp, index=False)


def load(layout: Layout) -> tuple[dict[str, Any], Any, Any]:
    """(model card, classifier, regressor or None) saved by :func:`train`."""
    import joblib

    out = layout.models
    try:
        card = json.loads((out / "model_card.json").read_text())
        return (card, joblib.load(out / "classifier.joblib"),
                joblib.load(out / "regressor.joblib") if card.get("corrections") else None)
    except (OSError, ValueError) as e:
        raise ModelError(f"no trained model in {out}: run `clarity train` first "
                         f"({getattr(e, 'strerror', None) or e})") from None


def confusion_png(m: dict[str, Any], dest: Path, title: str) -> None:
    """:func:`confusion_figure` saved as a PNG file (atomically)."""
    import matplotlib.pyplot as plt

    fig = confusion_figure(m, title)
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def confusion_figure(m: dict[str, Any], title: str):
    """The confusion matrix with each row normalised to its class (recall on the diagonal),
    so the many gold clips do not swamp the colour scale; counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, cm = m["confusion"]["labels"], np.array(m["confusion"]["matrix"], dtype=float)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(0.45 * len(labels) + 3, 0.45 * len(labels) + 2.5))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=7,
                    color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (each row sums to 1)")
    ax.set_title(f"flaw type, out-of-fold: accuracy {m['accuracy']:.3f}\n{title}", fontsize=9)
    fig.tight_layout()
    return fig
