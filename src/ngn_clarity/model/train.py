"""Phase 1B: ``clarity train``: the classifier and the correction regressor, evaluated honestly.

1. The joined table of the chosen schema (fingerprints from the cache; only the missing
   ones are computed).
2. **Grouped K-fold** cross-validation (:mod:`.evaluate`) of each candidate classifier
   (``lgbm`` gradient-boosted trees, ``rf`` the seed's Random Forest) and of the regressor;
   the classifier with the better out-of-fold accuracy is kept (``model="auto"``,
   :mod:`.select`).
3. **Calibration**: a temperature fitted on the kept model's out-of-fold probabilities, so
   ``predict``'s confidence means what it says (:mod:`.calibrate`).
4. **Leave-source-out** cross-validation of the kept model: whole source families held out.
5. The final models are fitted on every row (the regressor on the rows whose correction is
   known; how many is said), exported to ONNX (parity checked against scikit-learn /
   LightGBM, :mod:`.export`), and the whole ``models/`` set is published at once
   (:mod:`.artifacts`): a failed or killed train leaves the previous model whole.

The metrics are :class:`~.metrics.TrainMetrics` (``metrics.json``); the confusion matrix is
drawn by :func:`ngn_clarity.report.figures.confusion`.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .. import settings
from ..errors import ModelError
from ..executor import default_jobs, die_with_parent
from ..features.schema import DEFAULT_SCHEMA, SCHEMAS, get
from ..fsutil import atomic_path, atomic_write_json
from ..layout import Layout
from ..report import figures
from ..settings import Flag, Interval, Options, Validated
from ..steps.tables import build_tables
from .artifacts import CARD, Trained, model_card, publish, save
from .calibrate import Temperature, calibrate
from .estimators import CLASSIFIERS, make_classifier, make_regressor
from .evaluate import Data, OutOfFold, grouped_splits, out_of_fold, source_splits
from .export import export_to
from .metrics import CVMetrics, TrainMetrics, summarize
from .select import Selection, select

Say = Callable[[str], None]


@dataclass(frozen=True)
class TrainSettings(Validated):
    """How ``clarity train`` trains.

    Parameters
    ----------
    model : str
        Classifier: ``"auto"`` (cross-validate lgbm and rf, keep the better), ``"lgbm"`` or
        ``"rf"``.
    schema : str
        The fingerprint to train on (default ``extended``).
    cv : int
        Folds of the grouped and of the leave-source-out cross-validation.
    leave_source_out : bool
        Also cross-validate with whole source families held out.
    n_estimators : int, optional
        Trees (rf, default 500) or boosting rounds (lgbm, default 300).
    max_depth : int
        Depth of the rf baseline's trees (the seed's 8).
    seed : int
        Fold and model seed.
    jobs : int, optional
        Processes for the folds (None: every core).
    """

    model: str = "auto"
    schema: str = DEFAULT_SCHEMA
    cv: int = 5
    leave_source_out: bool = True
    n_estimators: int | None = None
    max_depth: int = 8
    seed: int = 0
    jobs: int | None = None

    constraints = {"model": Options(("auto", *CLASSIFIERS)),
                   "schema": Options(tuple(SCHEMAS)),
                   "cv": Interval(int, 2, 20),
                   "leave_source_out": Flag(),
                   "n_estimators": (None, Interval(int, 1, 10_000)),
                   "max_depth": Interval(int, 1, 64), "seed": settings.SEED_RANGE,
                   "jobs": settings.JOBS_RANGE}


def train(layout: Layout, s: TrainSettings | None = None, *, progress: bool = False,
          say: Say = lambda msg: None) -> Trained:
    """Train on the data folder; publish ``models/`` whole.

    Parameters
    ----------
    layout : Layout
        The data folder (its tables' fingerprints are computed where missing).
    s : TrainSettings, optional
        Classifier, schema, folds, seed (default: auto, extended, 5 folds).
    progress : bool
        Show progress bars on a terminal.
    say : callable
        Gets one line per stage.

    Returns
    -------
    Trained
        The kept models, with their :class:`~.metrics.TrainMetrics`.
    """
    layout.require()
    with layout.lock():
        return _train(layout, s or TrainSettings(), progress, say)


def _data(layout: Layout, s: TrainSettings, progress: bool, say: Say):
    """(table, data) of the schema, checked to be trainable; says what it holds."""
    clock = time.perf_counter()
    res = build_tables(layout, s.schema, jobs=s.jobs, progress=progress, write=False)
    if res.rows == 0:
        raise ModelError(f"no fingerprints in {layout.root}: run `clarity run` first")
    table = res.table
    data = Data.from_table(table, get(s.schema).names)
    if len(data.classes) < 2:
        raise ModelError("the table holds one class only: a classifier needs gold and "
                         "flawed clips")
    n_groups = len(set(data.groups))
    if n_groups < s.cv:
        raise ModelError(f"{n_groups} independent group(s) of clips: grouped {s.cv}-fold "
                         f"cross-validation needs at least {s.cv} (add clips or lower --cv)")
    unknown = int((~data.known).sum())
    say(f"table: {len(table)} clips ({s.schema} schema), {n_groups} groups; the correction "
        f"regressor learns from the {int(data.known.sum())} with a known correction"
        + (f", {unknown} rows have none (imported flawed clips)" if unknown else "")
        + f" ({time.perf_counter() - clock:.1f} s)")
    return table, data


def _calibrated(data: Data, sel: Selection,
                say: Say) -> tuple[CVMetrics, Temperature, np.ndarray]:
    """The kept model's grouped-CV metrics after calibration, the temperature and the
    calibrated out-of-fold probabilities."""
    y_index = np.array([data.classes.index(c) for c in data.y])
    temperature, calibrated, cal = calibrate(sel.oof.proba, y_index)
    cv = summarize(data, sel.oof, calibrated)
    cv.calibration = cal
    say(f"kept {sel.kept}; calibration: temperature {temperature.t}, expected calibration "
        f"error {cal.ece_before} -> {cal.ece_after}; EQ error on flawed clips "
        f"{cv.eq_mae_flawed_db} dB")
    return cv, temperature, calibrated


def _leave_source_out(data: Data, s: TrainSettings, kind: str, temperature: Temperature,
                      evaluate: Callable[..., OutOfFold], say: Say) -> CVMetrics | None:
    if not s.leave_source_out or not (folds := source_splits(data, s.cv)):
        return None
    t0 = time.perf_counter()
    lo = evaluate(kind, folds, True)
    loso = summarize(data, lo, temperature.apply(lo.proba))
    loso.families = sorted(set(data.families))
    say(f"leave-source-out ({len(folds)} folds over {len(loso.families)} source families): "
        f"accuracy {loso.accuracy:.3f}, gold vs flawed {loso.gold_vs_flawed_accuracy:.3f} "
        f"({time.perf_counter() - t0:.1f} s)")
    return loso


def _train(layout: Layout, s: TrainSettings, progress: bool, say: Say) -> Trained:
    clock = time.perf_counter()
    table, data = _data(layout, s, progress, say)
    jobs = s.jobs or default_jobs()

    def evaluate(kind: str, splits, regress: bool) -> OutOfFold:
        return out_of_fold(data, splits, kind, regress=regress, n_estimators=s.n_estimators,
                           max_depth=s.max_depth, seed=s.seed, jobs=jobs)

    grouped = grouped_splits(data, s.cv, s.seed)
    sel = select(data, s.model, s.cv, lambda kind, regress: evaluate(kind, grouped, regress),
                 say)
    cv, temperature, calibrated = _calibrated(data, sel, say)
    loso = _leave_source_out(data, s, sel.kept, temperature, evaluate, say)

    t0 = time.perf_counter()
    classifier, regressor = _fit_final(data, sel.kept, s, jobs)
    trained = Trained(s.schema, get(s.schema).names, sel.kept, classifier, regressor,
                      temperature, [str(c) for c in classifier.classes_])
    say(f"final models fitted on {len(data.y)} clips ({time.perf_counter() - t0:.1f} s)")
    trained.metrics = TrainMetrics(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        settings=asdict(s), schema=s.schema, schema_version=get(s.schema).version,
        kept=sel.kept, rows=len(data.y), groups=len(set(data.groups)),
        rows_with_correction=int(data.known.sum()),
        rows_without_correction=int((~data.known).sum()), classes=list(data.classes),
        cv=cv, leave_source_out=loso, cv_by_model=sel.per_model,
        split={"method": f"StratifiedGroupKFold({s.cv}) by group (a gold clip, its flawed "
                         f"clips and the clips cut from one file stay together)",
               "groups_in_both": 0})
    _publish(layout, trained, table, data, calibrated, sel.oof, say)
    say(f"published {layout.models} ({time.perf_counter() - clock:.1f} s in all)")
    return trained


def _fit_final(data: Data, kind: str, s: TrainSettings, jobs: int):
    """The classifier and the regressor on every row, side by side in two processes."""
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


def _publish(layout: Layout, trained: Trained, table, data: Data, calibrated: np.ndarray,
             oof: OutOfFold, say: Say) -> None:
    """The new ``models/`` set: joblib, ONNX (parity checked), metrics, out-of-fold
    predictions, confusion matrix, and the model card last (the set is complete)."""
    card = model_card(trained)
    metrics = trained.metrics
    assert metrics is not None
    cv = metrics.cv

    def fill(out: Path) -> None:
        save(out, trained)
        card.update(export_to(out, trained, data.x))
        atomic_write_json(out / "metrics.json", metrics.to_dict())
        _predictions_csv(out / "cv_predictions.csv", table, data, calibrated, oof)
        figures.save_png(figures.confusion(
            cv.confusion["labels"], cv.confusion["matrix"], cv.accuracy or 0.0,
            f"{trained.schema} schema, {trained.kind}, {cv.folds}-fold grouped CV"),
            out / "confusion.png", dpi=90)
        atomic_write_json(out / CARD, card)  # last: the set is complete

    publish(layout, fill)
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
