"""``models/``: what a trained model set is, and how it is loaded and published.

``models/`` is a link to one folder of ``.models/`` and is replaced whole or not at all
(:func:`publish`, :func:`ngn_clarity.fsutil.publish_version`): a failed or killed train or
calibrate leaves the previous set whole. The set: ``classifier.joblib``, ``regressor.joblib``,
``classifier.onnx``, ``regressor.onnx``, ``reference.npz`` and ``reference.json`` (the gold
reference the models compare with: the bank and the profiles), ``model_card.json`` (inputs,
classes, corrections, calibration, the decision's thresholds, the reference's origin, the
loudness target and schema; written last), ``metrics.json``, ``cv_predictions.csv``,
``confusion.png``, and ``onnx_bench.json`` after ``bench-onnx``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import reference as refmod
from .. import settings, taxonomy
from ..corrections import CORRECTION_FIELDS
from ..errors import ModelError
from ..features.schema import get
from ..fsutil import atomic_path, atomic_write_json, publish_version
from ..layout import Layout
from ..reference import Profile, Reference
from .decision import Decision
from .evaluate import input_names
from .metrics import TrainMetrics
from .temperature import Temperature

#: The one input of both ONNX graphs: float32 ``[N, 69]``, the fingerprint then the
#: instrument one-hot.
INPUT = "input"
CARD = "model_card.json"


@dataclass
class Trained:
    """A fitted classifier and regressor, with what they need to be used and exported:
    the gold reference they compare with, the temperature and the decision rule."""

    schema: str
    feature_names: list[str]
    kind: str
    classifier: Any
    regressor: Any
    temperature: Temperature
    classes: list[str]
    reference: Reference
    decision: Decision
    target_lufs: float
    metrics: TrainMetrics | None = field(default=None)
    compare_with_gold: bool = True
    """The trees see each clip's deviation from its nearest gold clips (False: the input
    rows only, an ablation; the reference then serves the thresholds and the report)."""

    def design(self, x: np.ndarray, ref: Reference | None = None) -> np.ndarray:
        """The trees' columns of ``[N, features + 5]`` input rows, against ``ref`` (default
        the model's reference)."""
        if not self.compare_with_gold:
            return x
        n = len(self.feature_names)
        return refmod.design(x[:, :n], x[:, n:], ref or self.reference)

    def calibrated(self, design: np.ndarray) -> np.ndarray:
        """The classifier's probabilities of design rows, in :attr:`classes` order, through
        the temperature (not yet masked)."""
        p = self.classifier.predict_proba(design)
        order = [list(self.classifier.classes_).index(c) for c in self.classes]
        return self.temperature.apply(p[:, order].astype(np.float32))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities over each row's instrument's own classes, as the ONNX
        graph's ``probabilities``."""
        n = len(self.feature_names)
        return self.decision.masked(self.calibrated(self.design(x)), x[:, n:])

    def predict(self, x: np.ndarray, allow_not_sure: bool = True) -> np.ndarray:
        """The answers (class names, or ``not_sure``), as the graph's ``label``."""
        n = len(self.feature_names)
        return self.decision.labels(self.predict_proba(x), x[:, n:], allow_not_sure)

    def corrections(self, x: np.ndarray) -> np.ndarray | None:
        """``[N, 12]`` predicted corrections (None without a regressor)."""
        return None if self.regressor is None else self.regressor.predict(self.design(x))


def model_card(trained: Trained) -> dict[str, Any]:
    """``model_card.json`` before the export adds the ONNX fields."""
    return {"schema": trained.schema, "schema_version": get(trained.schema).version,
            "target_lufs": trained.target_lufs,
            "classifier": trained.kind, "inputs": input_names(trained.feature_names),
            "instruments": list(taxonomy.INSTRUMENTS), "classes": trained.classes,
            "flaws_by_instrument": {i: list(taxonomy.flaws_for(i))
                                    for i in taxonomy.INSTRUMENTS},
            "corrections": list(CORRECTION_FIELDS) if trained.regressor is not None else [],
            "calibration": {"temperature": trained.temperature.t,
                            "formula": "softmax(log(p) / temperature)"},
            "decision": trained.decision.to_dict(),
            "reference": reference_summary(trained.reference),
            "compare_with_gold": trained.compare_with_gold}


def reference_summary(ref: Reference) -> dict[str, Any]:
    """What the card says of the reference: where its gold came from and how much."""
    origin = {k: v for k, v in ref.origin.items() if not k.startswith("_")}
    return {**origin, "gold_clips": ref.counts(), "bank": int(len(ref.bank)),
            "sub_profiles": sorted(ref.sub_profiles), "file": "reference.json"}


def save_reference(out: Path, ref: Reference) -> None:
    """``reference.npz`` (the bank) and ``reference.json`` (profiles, origin) in ``out``."""
    with atomic_path(out / "reference.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, bank=ref.bank, bank_instrument=ref.bank_instrument)
    atomic_write_json(out / "reference.json", {
        "schema": "ngn-clarity reference", "version": 1, "feature_names": ref.feature_names,
        "origin": {k: v for k, v in ref.origin.items() if not k.startswith("_")},
        "counts": ref.counts(), "match_features": list(refmod.match_features(ref.feature_names)),
        "neighbours": refmod.NEIGHBOURS,
        "profiles": {i: p.to_dict(ref.feature_names) for i, p in ref.profiles.items()},
        "sub_profiles": {k: p.to_dict(ref.feature_names) for k, p in ref.sub_profiles.items()}})


def load_reference(folder: Path) -> Reference:
    """The reference :func:`save_reference` wrote (raises OSError, ValueError, KeyError)."""
    meta = json.loads((folder / "reference.json").read_text())
    names = meta["feature_names"]
    with np.load(folder / "reference.npz") as z:
        bank, inst = z["bank"].astype(np.float32), z["bank_instrument"].astype(np.int64)
    return Reference(names, {i: Profile.from_dict(p, names) for i, p in meta["profiles"].items()},
                     bank, inst, {k: Profile.from_dict(p, names)
                                  for k, p in meta.get("sub_profiles", {}).items()},
                     meta.get("origin", {}))


#: What ``predict``, ``export-onnx`` and the report read from the card.
CARD_FIELDS = ("schema", "inputs", "classes", "corrections", "calibration")
#: How to make a damaged file of the set again.
REMAKE = {"classifier.onnx": "`clarity export-onnx` or `clarity train`",
          "regressor.onnx": "`clarity export-onnx` or `clarity train`"}


def _missing(layout: Layout, e: Exception, hint: str | None = None) -> ModelError:
    why = hint if hint is not None else f" ({getattr(e, 'strerror', None) or e})"
    return ModelError(f"no trained model in {layout.models}: run `clarity train` first{why}")


def damaged(layout: Layout, name: str) -> ModelError:
    """The one line for a file of the model set that is missing or cannot be read."""
    path = layout.models / name
    what = "is damaged" if path.exists() else "is missing"
    return ModelError(f"{path} {what} (run {REMAKE.get(name, '`clarity train`')})", path)


def read_card(layout: Layout, hint: str | None = None) -> dict[str, Any]:
    """The current model card; :class:`ModelError` ending in ``hint`` (else the OS's
    reason) when there is no trained model, naming the card when it is missing or damaged
    in a model set that exists."""
    if not layout.models.is_dir():
        raise _missing(layout, FileNotFoundError(2, "no such folder"), hint)
    try:
        card = json.loads((layout.models / CARD).read_text())
    except (OSError, ValueError):
        raise damaged(layout, CARD) from None
    if not isinstance(card, dict) or not all(k in card for k in CARD_FIELDS):
        raise damaged(layout, CARD)
    return card


def problems(layout: Layout) -> list[str]:
    """What is wrong with the current model set (empty: nothing, or no model at all): each
    JSON file that is missing or unreadable, each ONNX file its card names that is gone."""
    if not layout.models.is_dir():
        return []
    out = []
    for name in (CARD, "metrics.json"):
        try:
            if not isinstance(json.loads((layout.models / name).read_text()), dict):
                raise ValueError(name)
        except (OSError, ValueError):
            out.append(damaged(layout, name).reason)
    try:
        onnx = read_card(layout).get("onnx") or {}
    except ModelError:
        return out
    return out + [damaged(layout, f).reason for f in onnx.values()
                  if not (layout.models / f).is_file()]


def save(out: Path, trained: Trained) -> None:
    """The fitted models as ``classifier.joblib`` (and ``regressor.joblib``) and the
    reference in ``out``."""
    import joblib

    joblib.dump(trained.classifier, out / "classifier.joblib")
    if trained.regressor is not None:
        joblib.dump(trained.regressor, out / "regressor.joblib")
    save_reference(out, trained.reference)


def load(layout: Layout) -> tuple[dict[str, Any], Any, Any]:
    """(model card, classifier, regressor or None) that ``train`` saved."""
    import joblib

    card, out = read_card(layout), layout.models
    loaded = []
    for name in ("classifier.joblib", "regressor.joblib")[:2 if card["corrections"] else 1]:
        try:
            loaded.append(joblib.load(out / name))
        except Exception:  # noqa: BLE001 - a truncated pickle raises anything: EOFError, ...
            raise damaged(layout, name) from None
    return card, loaded[0], loaded[1] if len(loaded) > 1 else None


def load_trained(layout: Layout) -> tuple[dict[str, Any], Trained]:
    """The saved model set as a :class:`Trained` (and its card)."""
    card, clf, reg = load(layout)
    try:
        ref = load_reference(layout.models)
        decision = Decision.from_dict(card["classes"], card["decision"])
    except (OSError, ValueError, KeyError) as e:
        raise _missing(layout, e, " (its reference or decision is missing or damaged: run "
                                  "`clarity train`)") from None
    return card, Trained(card["schema"], card["inputs"][: -len(taxonomy.INSTRUMENTS)],
                         card["classifier"], clf, reg,
                         Temperature(card["calibration"]["temperature"]), card["classes"],
                         ref, decision, float(card.get("target_lufs", settings.TARGET_LUFS)),
                         compare_with_gold=bool(card.get("compare_with_gold", True)))


def publish(layout: Layout, fill: Callable[[Path], Any],
            start_from_current: bool = False) -> Path:
    """A new ``models/`` set, filled by ``fill(folder)``, swapped in whole (see the module
    doc); ``start_from_current``: the folder starts with the current set's files."""
    return publish_version(layout.models, layout.model_versions, fill, start_from_current)
