"""Scores of one model on the real test half, as ``clarity predict`` gives its answers (the
ONNX graphs: reference, instrument mask, none thresholds, "not sure").

Every figure counts gold and flawed apart (the test half is 5 flawed clips per gold clip):
gold called none (1 - false alarms), flawed called flawed, their mean (balanced), flaw
accuracy (the decided class, 14 classes), the threshold-free ROC AUC of gold against flawed
(the probability of not being none), by flaw family, by severity third and by instrument,
and accuracy on the clips answered (not "not sure") with the share answered (coverage).
"""

from __future__ import annotations

import numpy as np

from ngn_clarity import taxonomy
from ngn_clarity.corrections import EQ_FIELDS
from ngn_clarity.layout import Layout
from ngn_clarity.model.calibrate import FileJob, fingerprint_file
from ngn_clarity.model.predict import OnnxModels

FAMILY = {**{f: "eq" for f in ("muddy", "harsh", "nasal", "boxy", "over_sibilant", "boomy",
                               "thin", "dark", "undefined")},
          "over_compressed": "dynamics", "distorted": "distortion", "ringy": "space",
          "sloppy_timing": "timing"}
THIRDS = (("low", 0.0, 1 / 3), ("mid", 1 / 3, 2 / 3), ("high", 2 / 3, 1.01))


def fingerprints(tests: list[dict], schema: str, target_lufs: float,
                 jobs: int | None = None) -> np.ndarray:
    """``[clips, features + 5]`` input rows of the test clips (each whole, normalized)."""
    from ngn_clarity.executor import run_tasks

    items = [FileJob(t["path"], t["instrument"], None, target_lufs, schema) for t in tests]
    rows: list = [None] * len(items)
    for k, result in run_tasks(fingerprint_file, items, jobs=jobs):
        if "error" in result:
            raise SystemExit(f"{result['path']}: {result['error']}")
        rows[k] = result["vectors"][0]
    onehot = np.eye(len(taxonomy.INSTRUMENTS), dtype=np.float32)[
        [taxonomy.INSTRUMENTS.index(t["instrument"]) for t in tests]]
    return np.hstack([np.stack(rows), onehot]).astype(np.float32)


def auc(flawed: np.ndarray, score: np.ndarray) -> float | None:
    """Threshold-free ROC AUC (Mann-Whitney), None without both classes."""
    if flawed.all() or not flawed.any():
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(flawed, score)), 3)


def _rates(y: np.ndarray, decided: np.ndarray) -> dict[str, float | None]:
    gold, flawed = y == "none", y != "none"
    g = float(np.mean(decided[gold] == "none")) if gold.any() else None
    f = float(np.mean(decided[flawed] != "none")) if flawed.any() else None
    return {"gold_called_none": None if g is None else round(g, 3),
            "flawed_called_flawed": None if f is None else round(f, 3),
            "balanced": None if g is None or f is None else round((g + f) / 2, 3),
            "flaw_accuracy": round(float(np.mean(decided == y)), 3)}


def score(layout: Layout, tests: list[dict], x: np.ndarray) -> dict:
    """Every figure of the module doc for the model in ``layout`` on the test clips."""
    models = OnnxModels(layout)
    labels, decided, proba = models.classify(x)
    none = models.card["classes"].index("none")
    y = np.array([t["flaw"] for t in tests], dtype=object)
    sev = np.array([t["severity"] for t in tests])
    risk = 1.0 - proba[:, none]
    flawed = y != "none"
    out = {"clips": len(tests), "gold": int((~flawed).sum()), **_rates(y, decided),
           "auc": auc(flawed, risk)}
    for fam in ("eq", "dynamics", "distortion", "space"):
        m = ~flawed | np.array([FAMILY.get(f) == fam for f in y])
        out[f"auc_{fam}"] = auc(flawed[m], risk[m])
    for name, lo, hi in THIRDS:
        m = ~flawed | ((sev >= lo) & (sev < hi))
        out[f"severity_{name}"] = {**_rates(y[m], decided[m]), "auc": auc(flawed[m], risk[m])}
    out["by_instrument"] = {}
    for inst in taxonomy.INSTRUMENTS:
        m = np.array([t["instrument"] == inst for t in tests])
        if m.any():
            out["by_instrument"][inst] = {**_rates(y[m], decided[m]),
                                          "auc": auc(flawed[m], risk[m]), "clips": int(m.sum())}
    sure = labels != "not_sure"
    out["coverage"] = round(float(sure.mean()), 3)
    out["accuracy_answered"] = round(float(np.mean(decided[sure] == y[sure])), 3) \
        if sure.any() else None
    corr = models.corrections(x)
    if corr is not None:
        errs = [abs(float(corr[i][models.card["corrections"].index(f)]) - t["eq_truth"][f])
                for i, t in enumerate(tests) if t.get("eq_truth") for f in EQ_FIELDS]
        out["eq_mae_db"] = round(float(np.mean(errs)), 2) if errs else None
    return out


def line(name: str, r: dict) -> str:
    """One row of the printed table."""
    def f(v):
        return "   -" if v is None else f"{v:.3f}"
    return (f"{name:<34} {f(r['gold_called_none'])} {f(r['flawed_called_flawed'])} "
            f"{f(r['balanced'])} {f(r['flaw_accuracy'])} {f(r['auc'])} {f(r.get('auc_eq'))} "
            f"{f(r['severity_high']['flaw_accuracy'])} {f(r['coverage'])} "
            f"{f(r['accuracy_answered'])}")


HEADER = (f"{'model':<34} {'gold':>5} {'flawd':>5} {'bal':>5} {'flaw':>5} {'AUC':>5} "
          f"{'AUCeq':>5} {'sev3':>5} {'cover':>5} {'ansd':>5}\n"
          f"{'':<34} {'none':>5} {'found':>5} {'':>5} {'acc':>5}")

