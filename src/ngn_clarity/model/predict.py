"""The plug-in's path in Python: read, normalize in memory, fingerprint, run the ONNX models.

:class:`OnnxModels` holds the exported graphs in onnxruntime sessions; :func:`predict` turns
audio files into :class:`Prediction` objects (the answer: a flaw of the file's instrument,
``none``, or ``not_sure`` when the evidence is weak; the calibrated probabilities of the top
classes; and the corrections the flaw calls for). A file is normalized to the loudness the
model was trained at (the card's ``target_lufs``) and fingerprinted with its schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import audio, settings, taxonomy
from ..corrections import CORRECTIONS_FOR_FLAW
from ..errors import AudioError, LoudnessError, ModelError
from ..features.extract import fingerprint
from ..gain import NormalizeSettings, normalize_samples
from ..layout import Layout
from .artifacts import INPUT, damaged, read_card


def session(model: bytes | str, threads: int = 1):
    """An onnxruntime session of a graph (bytes or path): CPU, ``threads`` threads, errors
    only in the log."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


class OnnxModels:
    """The exported models in onnxruntime sessions (one thread each, for latency).

    Parameters
    ----------
    layout : Layout
        The data folder whose ``models/`` to load.
    threads : int
        Threads per session.
    """

    def __init__(self, layout: Layout, threads: int = 1):
        self.card = read_card(layout, hint=" (it exports the ONNX models)")
        if "onnx" not in self.card:
            raise ModelError(f"no ONNX models in {layout.models}: run `clarity export-onnx`")
        self.sessions = {}
        for name, file in self.card["onnx"].items():
            try:
                self.sessions[name] = session(str(layout.models / file), threads)
            except Exception:  # noqa: BLE001 - onnxruntime's errors (InvalidProtobuf, ...)
                raise damaged(layout, file) from None

    @property
    def feature_names(self) -> list[str]:
        return self.card["inputs"][: -len(taxonomy.INSTRUMENTS)]

    def classify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(answers, decisions, probabilities) of ``[N, 69]`` float32 rows: the answer is
        ``not_sure`` where the decision (a class) is not certain enough."""
        label, decision, proba = self.sessions["classifier"].run(None, {INPUT: x})
        return label, decision, proba

    @property
    def target_lufs(self) -> float:
        """The loudness the model's training clips were normalized to."""
        return float(self.card.get("target_lufs", settings.TARGET_LUFS))

    def corrections(self, x: np.ndarray) -> np.ndarray | None:
        """``[N, 12]`` corrections (None without a regressor)."""
        if "regressor" not in self.sessions:
            return None
        return self.sessions["regressor"].run(None, {INPUT: x})[0]


@dataclass
class Prediction:
    """What the model says about one file (or why it could not say)."""

    file: str
    instrument: str | None = None
    flaw: str | None = None
    """The answer: a flaw, ``none``, or ``not_sure``."""
    confidence: float | None = None
    best_guess: str | None = None
    """The class decided before "not sure" (equal to ``flaw`` when sure)."""
    top: list[tuple[str, float]] = field(default_factory=list)
    """The most likely classes with their calibrated probabilities."""
    corrections: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What ``predict --json`` prints: ``file, instrument, flaw, confidence, top,
        corrections``, or ``file, error``."""
        if self.error is not None:
            return {"file": self.file, "error": self.error}
        return {"file": self.file, "instrument": self.instrument, "flaw": self.flaw,
                "best_guess": self.best_guess, "confidence": self.confidence,
                "top": [{"class": c, "probability": p} for c, p in self.top],
                "corrections": self.corrections}


def instrument_of(path: str) -> str:
    """Instrument from the file's name and nearest folders (raises TaxonomyError)."""
    p = Path(path)
    for part in reversed(p.parent.parts[-2:]):  # raw/<subset>/<instrument>/file
        if part in taxonomy.INSTRUMENTS:
            return part
    return taxonomy.classify(p.name, p.parent.parts[-2:]).instrument


def _one(models: OnnxModels, path: str, instrument: str | None, top: int,
         all_corrections: bool) -> Prediction:
    try:
        samples, sr = audio.read_usable(path)
    except AudioError as e:
        return Prediction(path, error=e.reason)
    return judge(models, samples, sr, path, instrument, top, all_corrections)


def judge(models: OnnxModels, samples: np.ndarray, sr: int, path: str,
          instrument: str | None = None, top: int = 3,
          all_corrections: bool = False) -> Prediction:
    """What the models say about decoded samples (``path`` names them and, without
    ``instrument``, tells the instrument): :func:`predict` for one file already read."""
    try:
        done = normalize_samples(samples, sr, NormalizeSettings(target_lufs=models.target_lufs))
    except LoudnessError as e:
        return Prediction(path, error=e.reason)
    try:
        inst = instrument or instrument_of(path)
    except taxonomy.TaxonomyError as e:
        return Prediction(path, error=f"cannot tell the instrument ({e.reason}); pass "
                                      f"--instrument")
    vec, _ = fingerprint(done.out, sr, models.card["schema"], loudness_report=done.after)
    x = np.hstack([vec.astype(np.float32),
                   [np.float32(i == inst) for i in taxonomy.INSTRUMENTS]])[None, :]
    label, decided, proba = models.classify(x)
    flaw, guess = str(label[0]), str(decided[0])
    corr = models.corrections(x)
    names = models.card["corrections"]
    wanted = names if all_corrections else CORRECTIONS_FOR_FLAW.get(flaw, ())
    classes = models.card["classes"]
    return Prediction(
        path, inst, flaw, round(float(proba[0, classes.index(guess)]), 4), guess,
        [(classes[j], round(float(proba[0, j]), 4)) for j in np.argsort(-proba[0])[:top]],
        {} if corr is None else {k: round(float(v), 3) for k, v in zip(names, corr[0])
                                 if k in wanted})


def predict(layout: Layout, paths: list[str], instrument: str | None = None,
            top: int = 3, all_corrections: bool = False) -> list[Prediction]:
    """Normalize in memory, fingerprint, run the ONNX models: the plug-in's path.

    Parameters
    ----------
    layout : Layout
        The data folder whose ``models/`` to use.
    paths : list of str
        Audio files (any length).
    instrument : str, optional
        The files' instrument (default: read from each file's name and folders).
    top : int
        How many classes to list.
    all_corrections : bool
        Every correction, not only those the predicted flaw calls for (none for a
        gold-sounding clip).

    Returns
    -------
    list of Prediction
        One per path, in order; an unusable file gets its one-line ``error``.
    """
    models = OnnxModels(layout)
    return [_one(models, path, instrument, top, all_corrections) for path in paths]
