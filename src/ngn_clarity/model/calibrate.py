"""``clarity calibrate --gold DIR``: meet a studio's own stems without retraining.

A model compares every clip with a gold reference (:mod:`ngn_clarity.reference`). Calibrating
replaces that reference with the user's own gold, and sets each instrument's none threshold so
that ``share`` of their gold is called ``none``:

1. every audio file under ``DIR`` (``drums/ vocals/ bass/ guitar/ keys/`` folders, or names the
   import rules read) is cut into clips of about ``segment`` seconds at its active stretches
   (as ``--import-gold --segment`` does), each normalized to the model's loudness target and
   fingerprinted with its schema;
2. **cross-fitted thresholds**: the files of each instrument are split into folds; the clips of
   each fold are judged against a reference built from the *other* folds' gold (a file never
   judged against itself), and an instrument's threshold is the ``1 - share`` quantile of its
   clips' probability of ``none`` (:func:`.decision.none_thresholds`);
3. the reference of all the user's gold replaces the model's (instruments left out with
   ``instruments`` keep the current one), the thresholds replace the current ones, in
   ``reference.json``, the card and both ONNX graphs' initializers (the trees are untouched:
   seconds, no retraining), checked against the Python models, and the new ``models/`` set
   is published whole (a failed or killed calibrate leaves the previous one as it was).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import audio, taxonomy
from .. import reference as refmod
from ..errors import AudioError, LoudnessError, ModelError, SettingsError
from ..executor import progress_bar, run_tasks
from ..features.analysis import Analysis
from ..features.extract import fingerprint_of, spectrum_of
from ..features.schema import get
from ..fsutil import atomic_write_bytes, atomic_write_json, walk_files
from ..gain import NormalizeSettings, normalize_samples
from ..layout import Layout
from ..outcome import Finding, StepReport
from ..reference import NEIGHBOURS, Reference
from ..segment import segment_spans
from ..settings import Interval, Subset, Text, Validated
from . import graph
from .artifacts import CARD, Trained, load_trained, publish, reference_summary, save_reference
from .decision import Decision, none_thresholds
from .export import parity
from .predict import instrument_of

Say = Callable[[str], None]


@dataclass(frozen=True)
class CalibrateSettings(Validated):
    """How ``clarity calibrate`` calibrates.

    Parameters
    ----------
    gold : str
        The folder of the user's gold stems.
    share : float
        The share of gold clips each instrument's threshold calls ``none``.
    segment : float, optional
        Cut files into clips of about this many seconds (None: each file is one clip).
    instruments : tuple of str, optional
        Calibrate these instruments only (the others keep the model's reference and
        thresholds); None: all five, each needs gold.
    folds : int
        Folds of the cross-fitting (at most the instrument's files).
    jobs : int, optional
        Worker processes (None: every core).
    """

    gold: str = ""
    share: float = 0.9
    segment: float | None = 4.0
    instruments: tuple[str, ...] | None = None
    folds: int = 5
    jobs: int | None = None

    constraints = {"gold": Text(), "share": Interval(float, 0.5, 1.0, closed="left"),
                   "segment": (None, Interval(float, 1.0, 600.0)),
                   "instruments": (None, Subset(taxonomy.INSTRUMENTS)),
                   "folds": Interval(int, 2, 20), "jobs": (None, Interval(int, 1, 1024))}


@dataclass(frozen=True)
class FileJob:
    path: str
    instrument: str
    segment: float | None
    target_lufs: float
    schema: str


def fingerprint_file(job: FileJob) -> dict[str, Any]:
    """Worker: a file's clips, each normalized and fingerprinted (or the one-line reason)."""
    try:
        samples, sr = audio.read_usable(job.path)
        spans = segment_spans(samples, sr, job.segment) if job.segment else [(0, len(samples))]
        cfg = NormalizeSettings(target_lufs=job.target_lufs)
        rows, spectra = [], []
        for start, end in spans:
            done = normalize_samples(samples[start:end], sr, cfg)
            a = Analysis(done.out, sr, done.after)
            vec, _ = fingerprint_of(a, get(job.schema))
            rows.append(vec.astype(np.float32))
            spectra.append(spectrum_of(a))
    except (AudioError, LoudnessError) as e:
        return {"path": job.path, "error": e.reason}
    if not rows:
        return {"path": job.path, "error": "no active stretch to cut a clip from"}
    return {"path": job.path, "vectors": np.stack(rows), "spectra": np.array(spectra)}


@dataclass
class Gold:
    """The user's gold clips: fingerprints, instrument index and file of each."""

    x: np.ndarray
    instrument: np.ndarray
    file: np.ndarray
    spectra: np.ndarray
    """``[clips, 31]`` 1/3-octave spectra (dB re total), for the profiles' bands."""
    skipped: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {i: int(np.sum(self.instrument == k)) for k, i in enumerate(taxonomy.INSTRUMENTS)}


def _files(folder: Path, rep: StepReport) -> list[tuple[str, str]]:
    """(path, instrument) of every audio file below ``folder``, the instrument from its
    folder or name; the others go to ``rep`` with their reason."""
    out = []
    for path in walk_files(folder, rep.skipped):
        if not audio.is_audio_name(path):
            continue
        try:
            out.append((str(path), instrument_of(str(path))))
        except taxonomy.TaxonomyError as e:
            rep.skip(path, f"cannot tell the instrument ({e.reason}): put it in a "
                           f"{'/'.join(taxonomy.INSTRUMENTS)} folder")
    return sorted(out)


def read_gold(cfg: CalibrateSettings, schema: str, target_lufs: float, rep: StepReport,
              progress: bool = False) -> Gold:
    """Fingerprint every clip of the user's gold (see the module doc, step 1)."""
    folder = Path(cfg.gold)
    if not folder.is_dir():
        raise SettingsError(f"--gold {folder}: no such folder")
    files = _files(folder, rep)
    if cfg.instruments is not None:
        files = [(p, i) for p, i in files if i in cfg.instruments]
    jobs = [FileJob(p, i, cfg.segment, target_lufs, schema) for p, i in files]
    xs, inst, owner, spectra = [], [], [], []
    with progress_bar(len(jobs), "calibrate", progress, unit="file") as bar:
        for k, result in run_tasks(fingerprint_file, jobs, jobs=cfg.jobs):
            bar.update(1)
            if "error" in result:
                rep.skip(result["path"], result["error"])
                continue
            n = len(result["vectors"])
            xs.append(result["vectors"])
            spectra.append(result["spectra"])
            inst += [taxonomy.INSTRUMENTS.index(jobs[k].instrument)] * n
            owner += [jobs[k].path] * n
    if not xs:
        raise ModelError(f"no usable gold clips in {folder} (audio files in "
                         f"{'/ '.join(taxonomy.INSTRUMENTS)}/ folders, or named by "
                         f"instrument)")
    order = np.argsort(np.array(owner), kind="stable")  # the same order whatever the pool did
    return Gold(np.concatenate(xs)[order], np.array(inst)[order], np.array(owner)[order],
                np.concatenate(spectra)[order])


def _check(gold: Gold, cfg: CalibrateSettings) -> tuple[str, ...]:
    """The instruments to calibrate; a clear error when one has too little gold."""
    counts = gold.counts()
    wanted = cfg.instruments or taxonomy.INSTRUMENTS
    missing = [i for i in wanted if counts[i] < NEIGHBOURS + 1]
    if missing:
        have = ", ".join(f"{i} {n}" for i, n in counts.items() if n) or "none"
        hint = ("" if cfg.instruments else
                f"; to calibrate only some instruments pass --instruments (e.g. "
                f"--instruments {','.join(i for i in wanted if i not in missing) or 'drums'})")
        raise ModelError(f"calibrate needs at least {NEIGHBOURS + 1} gold clips of "
                         f"{', '.join(missing)} (found: {have}){hint}")
    return tuple(wanted)


def merged(old: Reference, gold: Gold, rows: np.ndarray, instruments: tuple[str, ...],
           origin: dict[str, Any]) -> Reference:
    """A reference of the user's gold ``rows`` for ``instruments``, the old reference's bank
    clips and profiles for the other instruments."""
    mine = np.isin(gold.instrument, [taxonomy.INSTRUMENTS.index(i) for i in instruments])
    keep_old = ~np.isin(old.bank_instrument, [taxonomy.INSTRUMENTS.index(i)
                                              for i in instruments])
    use = np.zeros(len(gold.x), dtype=bool)
    use[rows] = True
    use &= mine
    x = np.concatenate([gold.x[use], old.bank[keep_old]])
    inst = np.concatenate([gold.instrument[use], old.bank_instrument[keep_old]])
    groups = np.concatenate([gold.file[use], np.full(int(keep_old.sum()), "")])
    spectra = np.concatenate([gold.spectra[use],
                              np.full((int(keep_old.sum()), gold.spectra.shape[1]), np.nan)])
    ref = refmod.fit(x, inst, old.feature_names, spectra=spectra, groups=groups, origin=origin)
    for i in taxonomy.INSTRUMENTS:
        if i not in instruments:  # the old profile, as it was
            ref.profiles[i] = old.profiles[i]
    return ref


def _folds(gold: Gold, instruments: tuple[str, ...], k: int) -> np.ndarray:
    """Each clip's fold: an instrument's files in turn (a file is never split), or, for an
    instrument with one file, its clips in contiguous blocks."""
    fold = np.full(len(gold.x), -1)
    for name in instruments:
        rows = np.flatnonzero(gold.instrument == taxonomy.INSTRUMENTS.index(name))
        files = sorted(set(gold.file[rows]))
        if len(files) >= 2:
            n = min(k, len(files))
            index = {f: j % n for j, f in enumerate(files)}
            fold[rows] = [index[f] for f in gold.file[rows]]
        else:
            n = min(k, max(2, len(rows) // (NEIGHBOURS + 1)))
            fold[rows] = np.arange(len(rows)) * n // len(rows)
    return fold


def crossfit_thresholds(trained: Trained, gold: Gold, instruments: tuple[str, ...],
                        share: float, k: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The none thresholds of ``instruments`` from cross-fitted gold (module doc, step 2);
    the other instruments keep the model's."""
    fold = _folds(gold, instruments, k)
    onehot = np.eye(len(taxonomy.INSTRUMENTS), dtype=np.float32)[gold.instrument]
    p_none = np.full(len(gold.x), np.nan, dtype=np.float32)
    none = trained.decision.none_index
    for f in sorted(set(fold[fold >= 0])):
        held = np.flatnonzero(fold == f)
        ref = merged(trained.reference, gold, np.flatnonzero((fold != f) & (fold >= 0)),
                     instruments, {})
        design = trained.design(np.hstack([gold.x[held], onehot[held]]), ref)
        masked = trained.decision.masked(trained.calibrated(design), onehot[held])
        p_none[held] = masked[:, none]
    ok = ~np.isnan(p_none)
    thresholds, info = none_thresholds(p_none[ok], gold.instrument[ok], share)
    out = trained.decision.thresholds.copy()
    for name in instruments:
        j = taxonomy.INSTRUMENTS.index(name)
        out[j] = thresholds[j]
    called = {name: round(float(np.mean(p_none[ok & (gold.instrument == j)] >= out[j])), 4)
              for j, name in enumerate(taxonomy.INSTRUMENTS) if name in instruments}
    return out, {**info, "gold_called_none_crossfitted": called}


def seen_in_training(ref: Reference, gold: Gold) -> np.ndarray:
    """Which of the user's gold clips the model was trained on: those whose fingerprint is a
    row of a *training* reference's bank (all of training's gold clips) for the same
    instrument. Thresholds set on such clips are too strict for new gold: the trees have
    learnt them as ``none``, so their none probabilities are higher than new gold's (the real
    benchmark: 0.54 of new gold called none instead of 0.87)."""
    seen = np.zeros(len(gold.x), dtype=bool)
    if ref.origin.get("by") == "calibrate" or not len(ref.bank):
        return seen
    known = {(int(i), row.tobytes()) for i, row in
             zip(ref.bank_instrument, np.asarray(ref.bank, dtype=np.float32))}
    for k, (i, row) in enumerate(zip(gold.instrument, np.asarray(gold.x, dtype=np.float32))):
        seen[k] = (int(i), row.tobytes()) in known
    return seen


@dataclass
class Calibrated:
    """What ``calibrate`` did."""

    report: StepReport
    counts: dict[str, int]
    thresholds: dict[str, float]
    called_none: dict[str, float]
    parity: dict[str, Any]


def calibrate(layout: Layout, cfg: CalibrateSettings, *, progress: bool = False,
              say: Say = lambda msg: None) -> Calibrated:
    """Refit the model's reference and none thresholds on a user's gold (see the module
    doc); publish the new ``models/`` whole.

    Parameters
    ----------
    layout : Layout
        The data folder whose ``models/`` to calibrate.
    cfg : CalibrateSettings
        The gold folder, the share of gold to call none, segmenting, instruments.
    progress : bool
        Show a progress bar on a terminal.
    say : callable
        Gets one line per stage.

    Raises
    ------
    ModelError
        No trained model, no usable gold, or too little gold of an instrument.
    """
    layout.require()
    with layout.lock():
        card, trained = load_trained(layout)
        rep = StepReport("calibrate")
        gold = read_gold(cfg, trained.schema, trained.target_lufs, rep, progress)
        instruments = _check(gold, cfg)
        say(f"gold: {len(gold.x)} clips from {len(set(gold.file))} files ("
            + ", ".join(f"{i} {n}" for i, n in gold.counts().items() if n) + ")")
        seen = int(seen_in_training(trained.reference, gold).sum())
        if seen:
            rep.notes.append(
                f"{seen} of your {len(gold.x)} gold clips are clips this model was trained on "
                f"(the same fingerprints): the model is surer of them than of new gold, so "
                f"thresholds set on them call less new gold none; calibrate with gold it has "
                f"not heard")
        thresholds, info = crossfit_thresholds(trained, gold, instruments, cfg.share,
                                               cfg.folds)
        ref = merged(trained.reference, gold, np.arange(len(gold.x)), instruments,
                     {"by": "calibrate", "gold": str(Path(cfg.gold).resolve()),
                      "instruments": list(instruments), "segment_s": cfg.segment,
                      "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        decision = Decision(trained.decision.classes, thresholds,
                            trained.decision.set_threshold,
                            {**trained.decision.info, **info, "fitted_on": "calibrate"})
        new = dataclasses.replace(trained, reference=ref, decision=decision)
        x = np.hstack([gold.x, np.eye(len(taxonomy.INSTRUMENTS),
                                      dtype=np.float32)[gold.instrument]])
        checked = _publish(layout, card, new, x)
    return Calibrated(rep, gold.counts(), {i: round(float(t), 4) for i, t in
                                           zip(taxonomy.INSTRUMENTS, thresholds)},
                      info["gold_called_none_crossfitted"], checked)


def _publish(layout: Layout, card: dict[str, Any], trained: Trained,
             x: np.ndarray) -> dict[str, Any]:
    """The calibrated set: the graphs' reference and decision initializers replaced and
    checked against the Python models on the user's gold, the reference files, the card
    last; swapped in whole."""
    ref_inits = graph.reference_initializers(trained.reference) \
        if trained.compare_with_gold else []
    new_inits = [*ref_inits,
                 *graph.decision_initializers(trained.decision, trained.temperature.t)]
    result: dict[str, Any] = {}

    def fill(out: Path) -> None:
        clf = graph.replace_initializers((out / "classifier.onnx").read_bytes(), new_inits)
        reg_path = out / "regressor.onnx"
        reg = graph.replace_initializers(reg_path.read_bytes(), ref_inits) \
            if reg_path.exists() else None
        result.update(parity(trained, clf, reg, x))
        atomic_write_bytes(out / "classifier.onnx", clf)
        if reg is not None:
            atomic_write_bytes(reg_path, reg)
        save_reference(out, trained.reference)
        history = [*card.get("calibrations", []), trained.reference.origin]
        atomic_write_json(out / CARD, {**card, "decision": trained.decision.to_dict(),
                                       "reference": reference_summary(trained.reference),
                                       "calibrations": history, "calibration_parity": result})

    publish(layout, fill, start_from_current=True)
    return result
