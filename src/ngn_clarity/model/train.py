"""Phase 1B: ``clarity train``: the classifier and the correction regressor, evaluated honestly.

1. The joined table of the chosen schema (fingerprints from the cache; only the missing
   ones are computed).
2. **Grouped K-fold** cross-validation (:mod:`.evaluate`) of each candidate classifier
   (``lgbm`` gradient-boosted trees, ``rf`` the seed's Random Forest) and of the regressor;
   the classifier with the better out-of-fold accuracy is kept (``model="auto"``,
   :mod:`.select`).
3. **Calibration**: a temperature fitted on the kept model's out-of-fold probabilities, so
   ``predict``'s confidence means what it says (:mod:`.temperature`); the **decision**
   (:mod:`.decision`): each instrument's none threshold set so that ``gold_share`` of its
   out-of-fold gold is called none, and the conformal set threshold ("not sure") fitted at
   ``confidence``; every figure counts the answers that way.
4. **Leave-source-out** cross-validation of the kept model: whole source families held out,
   each held-out clip compared with the training gold (as a new library meets the model),
   and again compared with its own family's other gold (as after ``clarity calibrate``).
5. The final models are fitted on every row (the regressor on the rows whose correction is
   known; how many is said), against the reference of all the gold
   (:mod:`ngn_clarity.reference`), exported to ONNX (parity checked against scikit-learn /
   LightGBM, :mod:`.export`), and the whole ``models/`` set is published at once
   (:mod:`.artifacts`): a failed or killed train leaves the previous model whole.

Within each domain (our renders, a user's library: :func:`.evaluate.domain_of`) gold weighs
as much as one flaw class (:meth:`.evaluate.Data.weights`), so that "sounds like this
library" never means "is flawed".

The metrics are :class:`~.metrics.TrainMetrics` (``metrics.json``); the confusion matrix is
drawn by :func:`ngn_clarity.report.figures.confusion`.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .. import settings, taxonomy
from ..errors import ModelError
from ..executor import default_jobs, die_with_parent
from ..features.schema import DEFAULT_SCHEMA, SCHEMAS, get
from ..fsutil import atomic_path, atomic_write_json
from ..layout import Layout
from ..reference import NEIGHBOURS
from ..report import figures
from ..settings import Flag, Interval, Options, Validated
from ..steps.tables import build_tables
from .artifacts import CARD, Trained, model_card, publish, save
from .decision import Decision, conformal_threshold, coverage_curve, none_thresholds
from .estimators import CLASSIFIERS, make_classifier, make_regressor
from .evaluate import Data, OutOfFold, grouped_splits, out_of_fold, source_splits
from .export import export_to
from .metrics import CVMetrics, TrainMetrics, summarize
from .select import Selection, select
from .temperature import Temperature, calibrate

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
    gold_share : float
        Each instrument's none threshold is set so that this share of its out-of-fold gold
        clips is called ``none``.
    confidence : float
        The conformal sets hold the true class for this share of clips; the answer is
        ``not_sure`` unless a clip's set is exactly its decided class.
    compare_with_gold : bool
        The models see each clip's deviation from its nearest gold clips beside its features
        (False: the features only, an ablation; the gold reference still sets the
        thresholds, and ``calibrate`` can still refit them).
    """

    model: str = "auto"
    schema: str = DEFAULT_SCHEMA
    cv: int = 5
    leave_source_out: bool = True
    n_estimators: int | None = None
    max_depth: int = 8
    seed: int = 0
    jobs: int | None = None
    gold_share: float = 0.9
    confidence: float = 0.9
    compare_with_gold: bool = True

    constraints = {"model": Options(("auto", *CLASSIFIERS)),
                   "schema": Options(tuple(SCHEMAS)),
                   "cv": Interval(int, 2, 20),
                   "leave_source_out": Flag(),
                   "n_estimators": (None, Interval(int, 1, 10_000)),
                   "max_depth": Interval(int, 1, 64), "seed": settings.SEED_RANGE,
                   "jobs": settings.JOBS_RANGE,
                   "gold_share": Interval(float, 0.5, 1.0, closed="left"),
                   "confidence": Interval(float, 0.5, 1.0, closed="neither"),
                   "compare_with_gold": Flag()}


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


def target_lufs(layout: Layout) -> float:
    """The loudness the data folder's clips were normalized to (its normalization log),
    which ``predict``, ``fix`` and ``calibrate`` normalize to as well."""
    try:
        log = json.loads(layout.normalization_log.read_text())
        return float(log["settings"]["target_lufs"])
    except (OSError, ValueError, KeyError, TypeError):
        return settings.TARGET_LUFS


def _data(layout: Layout, s: TrainSettings, progress: bool, say: Say):
    """(table, data) of the schema, checked to be trainable; says what it holds."""
    clock = time.perf_counter()
    res = build_tables(layout, s.schema, jobs=s.jobs, progress=progress, write=False)
    if res.rows == 0:
        raise ModelError(f"no fingerprints in {layout.root}: run `clarity run` first")
    table = res.table
    data = Data.from_table(table, get(s.schema).names, res.spectra)
    if len(data.classes) < 2:
        raise ModelError("the table holds one class only: a classifier needs gold and "
                         "flawed clips")
    if data.gold.sum() < NEIGHBOURS + 1:
        raise ModelError(f"{int(data.gold.sum())} gold clip(s): the reference the models "
                         f"compare with needs at least {NEIGHBOURS + 1}")
    n_groups = len(set(data.groups))
    if n_groups < s.cv:
        raise ModelError(f"{n_groups} independent group(s) of clips: grouped {s.cv}-fold "
                         f"cross-validation needs at least {s.cv} (add clips or lower --cv)")
    unknown = int((~data.known).sum())
    say(f"table: {len(table)} clips ({s.schema} schema), {n_groups} groups, "
        f"{int(data.gold.sum())} gold; the correction regressor learns from the "
        f"{int(data.known.sum())} with a known correction"
        + (f", {unknown} rows have none (imported flawed clips)" if unknown else "")
        + f" ({time.perf_counter() - clock:.1f} s)")
    return table, data


def _decided(data: Data, sel: Selection, s: TrainSettings,
             say: Say) -> tuple[CVMetrics, Temperature, Decision, np.ndarray]:
    """The temperature and the decision fitted on the kept model's out-of-fold predictions,
    and its grouped-CV metrics counted with them (and the masked probabilities)."""
    y_index = np.array([data.classes.index(c) for c in data.y])
    temperature, calibrated, cal = calibrate(sel.oof.proba, y_index)
    decision = Decision(data.classes, np.zeros(len(taxonomy.INSTRUMENTS), np.float32), 1.0)
    masked = decision.masked(calibrated, data.onehot)
    p_none = masked[data.gold, decision.none_index]
    decision.thresholds, info = none_thresholds(p_none, data.instrument[data.gold],
                                                s.gold_share)
    decision.set_threshold = conformal_threshold(masked, y_index, s.confidence)
    decision.info = {**info, "confidence": s.confidence, "fitted_on": "out-of-fold"}
    cv = summarize(data, sel.oof, masked, decision.labels(masked, data.onehot, False))
    cv.calibration = cal
    say(f"kept {sel.kept}; calibration: temperature {temperature.t}, expected calibration "
        f"error {cal.ece_before} -> {cal.ece_after}; none thresholds for "
        f"{s.gold_share:.0%} of gold; EQ error on flawed clips {cv.eq_mae_flawed_db} dB")
    return cv, temperature, decision, masked


def _leave_source_out(data: Data, s: TrainSettings, kind: str, temperature: Temperature,
                      decision: Decision, evaluate: Callable[..., OutOfFold],
                      say: Say) -> tuple[CVMetrics | None, CVMetrics | None]:
    """Leave-source-out against the training gold, then calibrated on each held-out
    family's own gold."""
    if not s.leave_source_out or not (folds := source_splits(data, s.cv)):
        return None, None
    out = []
    for calibrated in (False, True):
        t0 = time.perf_counter()
        lo = evaluate(kind, folds, not calibrated, calibrated)
        masked = decision.masked(temperature.apply(lo.proba), data.onehot)
        m = summarize(data, lo, masked, decision.labels(masked, data.onehot, False))
        m.families = sorted(set(data.families))
        say(f"leave-source-out{', calibrated' if calibrated else ''} ({len(folds)} folds over "
            f"{len(m.families)} source families): accuracy {m.accuracy:.3f}, gold vs flawed "
            f"{m.gold_vs_flawed_accuracy:.3f} (balanced {m.balanced_gold_vs_flawed}) "
            f"({time.perf_counter() - t0:.1f} s)")
        out.append(m)
    return out[0], out[1]


def _not_sure(data: Data, masked: np.ndarray, decision: Decision) -> dict:
    idx, sure = decision.decide(masked, data.onehot)
    y = np.array([data.classes.index(c) for c in data.y])
    return {"coverage": round(float(sure.mean()), 4),
            "accuracy_answered": round(float(np.mean(idx[sure] == y[sure])), 4)
            if sure.any() else None,
            "accuracy_all": round(float(np.mean(idx == y)), 4)}


def _warnings(cv: CVMetrics, temperature: Temperature) -> list[str]:
    """What a user must not miss: gold mostly called flawed, a fit at its bound."""
    out = []
    if cv.gold_recall is not None and cv.gold_recall < 0.5:
        out.append(f"only {cv.gold_recall:.0%} of gold clips are called none out of fold "
                   f"(balanced gold vs flawed {cv.balanced_gold_vs_flawed}): the gold is "
                   f"too little or too unlike the flawed clips' sources")
    if temperature.at_bound:
        out.append(f"the calibration temperature sits at its bound ({temperature.t}): the "
                   f"probabilities are not calibrated")
    return out


def _train(layout: Layout, s: TrainSettings, progress: bool, say: Say) -> Trained:
    clock = time.perf_counter()
    table, data = _data(layout, s, progress, say)
    jobs = s.jobs or default_jobs()

    def evaluate(kind: str, splits, regress: bool, calibrated: bool = False) -> OutOfFold:
        return out_of_fold(data, splits, kind, regress=regress, n_estimators=s.n_estimators,
                           max_depth=s.max_depth, seed=s.seed, jobs=jobs, calibrated=calibrated,
                           compare=s.compare_with_gold)

    grouped = grouped_splits(data, s.cv, s.seed)
    sel = select(data, s.model, s.cv, lambda kind, regress: evaluate(kind, grouped, regress),
                 say)
    cv, temperature, decision, masked = _decided(data, sel, s, say)
    loso, loso_cal = _leave_source_out(data, s, sel.kept, temperature, decision, evaluate,
                                       say)
    t0 = time.perf_counter()
    trained = _fit_final(data, sel.kept, s, jobs, temperature, decision, target_lufs(layout))
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
               "groups_in_both": 0},
        leave_source_out_calibrated=loso_cal, decision=decision.to_dict(),
        coverage=coverage_curve(masked, np.array([data.classes.index(c) for c in data.y]),
                                data.onehot, decision, groups=data.groups),
        not_sure=_not_sure(data, masked, decision), warnings=_warnings(cv, temperature))
    for w in trained.metrics.warnings:
        say(f"warning: {w}")
    _publish(layout, trained, table, data, masked, sel.oof, decision, say)
    say(f"published {layout.models} ({time.perf_counter() - clock:.1f} s in all)")
    return trained


def _fit_final(data: Data, kind: str, s: TrainSettings, jobs: int, temperature: Temperature,
               decision: Decision, lufs: float) -> Trained:
    """The classifier and the regressor on every row against the reference of all the gold,
    side by side in two processes."""
    every = np.arange(len(data.y))
    ref = data.reference(every)
    x = data.design(every, ref, own_group_out=True) if s.compare_with_gold else data.x
    weights = data.weights(every)
    clf = make_classifier(kind, n_estimators=s.n_estimators, max_depth=s.max_depth,
                          seed=s.seed, jobs=1)
    reg = None
    if not data.known.any():
        clf.fit(x, data.y, sample_weight=weights)
    elif jobs < 2:
        clf.fit(x, data.y, sample_weight=weights)
        reg = _fit_regressor(x[data.known], data.targets[data.known], s.seed)
    else:
        with ProcessPoolExecutor(1, initializer=die_with_parent) as pool:
            future = pool.submit(_fit_regressor, x[data.known], data.targets[data.known],
                                 s.seed)
            clf.fit(x, data.y, sample_weight=weights)
            reg = future.result()
    classes = [str(c) for c in clf.classes_]  # the probabilities' column order
    return Trained(s.schema, get(s.schema).names, kind, clf, reg, temperature, classes, ref,
                   Decision(classes, decision.thresholds, decision.set_threshold,
                            decision.info), lufs, compare_with_gold=s.compare_with_gold)


def _fit_regressor(x: np.ndarray, t: np.ndarray, seed: int):
    return make_regressor(seed=seed, jobs=1).fit(x, t)


def _publish(layout: Layout, trained: Trained, table, data: Data, masked: np.ndarray,
             oof: OutOfFold, decision: Decision, say: Say) -> None:
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
        _predictions_csv(out / "cv_predictions.csv", table, data, masked, oof, decision)
        figures.save_png(figures.confusion(
            cv.confusion["labels"], cv.confusion["matrix"], cv.accuracy or 0.0,
            f"{trained.schema} schema, {trained.kind}, {cv.folds}-fold grouped CV"),
            out / "confusion.png", dpi=90)
        atomic_write_json(out / CARD, card)  # last: the set is complete

    publish(layout, fill)
    par = card["onnx_parity"]
    say(f"ONNX parity on {par['rows']} clips: {par['label_mismatches']} label and "
        f"{par['decision_mismatches']} decision mismatches, "
        f"probabilities within {par['probabilities_max_abs_diff']:.1e}"
        + (f", corrections within {par['corrections_max_abs_diff']:.1e}"
           if "corrections_max_abs_diff" in par else ""))


def _predictions_csv(dest: Path, table, data: Data, proba: np.ndarray, oof: OutOfFold,
                     decision: Decision) -> None:
    """Every clip's out-of-fold answer (``predicted``: with the none threshold; ``answer``:
    ``not_sure`` where the conformal set is not that one class) and its top two classes
    (``proba``: masked, in ``data.classes`` order; the decision is the metrics')."""
    import pandas as pd

    classes = np.array(data.classes, dtype=object)
    top = np.argsort(-proba, axis=1)[:, :3]
    predicted = decision.labels(proba, data.onehot, False)
    answer = decision.labels(proba, data.onehot)
    df = pd.DataFrame({"file": table["file"], "subset": table["subset"],
                       "instrument": table["instrument"], "flawed_type": data.y,
                       "severity": data.severity, "predicted": predicted, "answer": answer,
                       "confidence": proba[np.arange(len(proba)), top[:, 0]].round(4),
                       "second": classes[top[:, 1]],
                       "second_confidence": proba[np.arange(len(proba)), top[:, 1]].round(4),
                       "fold": oof.fold})
    with atomic_path(dest) as tmp:
        df.to_csv(tmp, index=False)
