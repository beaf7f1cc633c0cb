"""``clarity train``: the flaw classifier and the correction regressor, cross-validated,
calibrated, exported to ONNX (phase 1B)."""

from __future__ import annotations

import argparse

from ..layout import Layout
from ..model.metrics import TrainMetrics
from ..model.train import TrainSettings, train
from . import report
from .features import schema_option
from .runner import EXIT_OK, Console, choice, flag, jobs, setting


def add_arguments(p: argparse.ArgumentParser) -> None:
    choice(p, "--model", TrainSettings, "model",
           "classifier: auto = cross-validate LightGBM and the seed's Random Forest, keep the "
           "better; lgbm; rf")
    schema_option(p, TrainSettings.default("schema"))
    setting(p, "--cv", TrainSettings, "cv", "folds of the grouped and the leave-source-out "
            "cross-validation", metavar="K")
    flag(p, "--no-leave-source-out", TrainSettings, "leave_source_out",
         "skip the leave-source-out cross-validation")
    setting(p, "--n-estimators", TrainSettings, "n_estimators",
            "boosting rounds (lgbm, default 300) or trees (rf, default 500)")
    setting(p, "--max-depth", TrainSettings, "max_depth", "tree depth of the rf baseline")
    setting(p, "--seed", TrainSettings, "seed", "fold and model seed")
    setting(p, "--gold-share", TrainSettings, "gold_share",
            "set each instrument's none threshold so that this share of its out-of-fold "
            "gold clips is called none", metavar="SHARE")
    setting(p, "--confidence", TrainSettings, "confidence",
            "conformal sets hold the true class for this share of clips; the answer is "
            "not_sure unless the set is one class", metavar="C")
    flag(p, "--no-gold-comparison", TrainSettings, "compare_with_gold",
         "the models see the 64 features only, not their deviation from the nearest gold "
         "clips (an ablation)")
    jobs(p)


def show(con: Console, m: TrainMetrics, models: object) -> None:
    """The candidates side by side, the weakest flaw, and the other figures of note."""
    cv = m.cv
    con.info("")
    con.info(f"{'model':<6} {'accuracy (CV mean +- sd)':>26} {'gold vs flawed':>15} "
             f"{'balanced':>9} {'gold recall':>12}")
    for kind, v in m.cv_by_model.items():
        con.info(f"{kind:<6} {v.accuracy_mean:>18.3f} +- {v.accuracy_std:.3f} "
                 f"{v.gold_vs_flawed_accuracy:>15.3f} {v.balanced_gold_vs_flawed or 0:>9.3f} "
                 f"{v.gold_recall or 0:>12.3f}" + ("   (kept)" if kind == m.kept else ""))
    con.info(f"kept, with the none thresholds ({m.decision.get('none_share', 0):.0%} of gold "
             f"called none): accuracy {cv.accuracy:.3f}, gold recall {cv.gold_recall}, "
             f"flawed called flawed {cv.flawed_called_flawed}, balanced "
             f"{cv.balanced_gold_vs_flawed}")
    if m.not_sure:
        con.info(f"not sure: {1 - m.not_sure['coverage']:.0%} of clips; accuracy on the "
                 f"answered {m.not_sure['accuracy_answered']}")
    worst = cv.lowest_flaw_recall()
    con.info(f"recall by flaw: lowest {worst[1]} {worst[0]:.2f}; by severity "
             + ", ".join(f"{k} {v:.2f}" for k, v in cv.recall_by_severity.items()
                         if v is not None))
    if cv.eq_mae_flawed_db is not None:
        con.info(f"EQ correction error on flawed clips: {cv.eq_mae_flawed_db:.2f} dB")
    if m.rows_without_correction:
        con.info(f"regressor: trained on {m.rows_with_correction} clips with a known "
                 f"correction; {m.rows_without_correction} have none (imported flawed clips)")
    for name, lo in (("leave-source-out", m.leave_source_out),
                     ("calibrated to each family's gold", m.leave_source_out_calibrated)):
        if lo is not None:
            con.info(f"{name}: accuracy {lo.accuracy:.3f}, gold vs flawed "
                     f"{lo.gold_vs_flawed_accuracy:.3f} (balanced {lo.balanced_gold_vs_flawed}"
                     f"), {len(lo.families or ())} source families")
    for w in m.warnings:
        con.problem(f"warning: {w}")
    con.info(f"models -> {models}")


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    cfg = TrainSettings(model=args.model, schema=args.schema, cv=args.cv,
                        leave_source_out=args.leave_source_out, n_estimators=args.n_estimators,
                        max_depth=args.max_depth, seed=args.seed, jobs=args.jobs,
                        gold_share=args.gold_share, confidence=args.confidence,
                        compare_with_gold=args.compare_with_gold)
    trained = train(layout, cfg, progress=not args.quiet, say=con.info)
    report.write(con, layout)
    assert trained.metrics is not None
    show(con, trained.metrics, layout.models)
    return EXIT_OK
