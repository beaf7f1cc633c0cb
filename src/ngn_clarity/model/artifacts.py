"""``models/``: what a trained model set is, and how it is loaded and published.

``models/`` is a link to one folder of ``.models/`` and is replaced whole or not at all
(:func:`publish`, :func:`ngn_clarity.fsutil.publish_version`): a failed or killed train
leaves the previous set whole. The set: ``classifier.joblib``, ``regressor.joblib``,
``classifier.onnx``, ``regressor.onnx``, ``model_card.json`` (inputs, classes, corrections,
calibration, schema and version; written last), ``metrics.json``, ``cv_predictions.csv``,
``confusion.png``, and ``onnx_bench.json`` after ``bench-onnx``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import taxonomy
from ..corrections import CORRECTION_FIELDS
from ..errors import ModelError
from ..features.schema import get
from ..fsutil import publish_version
from ..layout import Layout
from .calibrate import Temperature
from .evaluate import input_names
from .metrics import TrainMetrics

#: The one input of both ONNX graphs: float32 ``[N, 69]``, the fingerprint then the
#: instrument one-hot.
INPUT = "input"
CARD = "model_card.json"


@dataclass
class Trained:
    """A fitted classifier and regressor, with what they need to be used and exported."""

    schema: str
    feature_names: list[str]
    kind: str
    classifier: Any
    regressor: Any
    temperature: Temperature
    classes: list[str]
    metrics: TrainMetrics | None = field(default=None)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities in :attr:`classes` order."""
        p = self.classifier.predict_proba(x)
        order = [list(self.classifier.classes_).index(c) for c in self.classes]
        return self.temperature.apply(p[:, order])


def model_card(trained: Trained) -> dict[str, Any]:
    """``model_card.json`` before the export adds the ONNX fields."""
    return {"schema": trained.schema, "schema_version": get(trained.schema).version,
            "classifier": trained.kind, "inputs": input_names(trained.feature_names),
            "instruments": list(taxonomy.INSTRUMENTS), "classes": trained.classes,
            "flaws_by_instrument": {i: list(taxonomy.flaws_for(i))
                                    for i in taxonomy.INSTRUMENTS},
            "corrections": list(CORRECTION_FIELDS) if trained.regressor is not None else [],
            "calibration": {"temperature": trained.temperature.t,
                            "formula": "softmax(log(p) / temperature)"}}


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
    """The fitted models as ``classifier.joblib`` (and ``regressor.joblib``) in ``out``."""
    import joblib

    joblib.dump(trained.classifier, out / "classifier.joblib")
    if trained.regressor is not None:
        joblib.dump(trained.regressor, out / "regressor.joblib")


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
    return card, Trained(card["schema"], card["inputs"][: -len(taxonomy.INSTRUMENTS)],
                         card["classifier"], clf, reg,
                         Temperature(card["calibration"]["temperature"]), card["classes"])


def publish(layout: Layout, fill: Callable[[Path], Any],
            start_from_current: bool = False) -> Path:
    """A new ``models/`` set, filled by ``fill(folder)``, swapped in whole (see the module
    doc); ``start_from_current``: the folder starts with the current set's files."""
    return publish_version(layout.models, layout.model_versions, fill, start_from_current)
