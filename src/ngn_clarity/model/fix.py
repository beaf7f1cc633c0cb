"""``clarity fix``: read, judge as ``predict`` does, apply the remedy, write ``<stem>.fixed.wav``.

The model is the one ``predict`` runs (the ONNX graphs, the same instrument rules, the file
normalized in memory to the card's ``target_lufs`` for the judgement); the remedy
(:func:`ngn_clarity.remedy.remedy`) works on the file at its own level, and its output keeps
the input's integrated loudness (within 0.03 LU) with its true peak at or under -1 dBTP.

Output: ``<stem>.fixed.wav`` beside the input, or in ``out_dir``: 32-bit float WAV at the
input's sample rate and channels. No file is ever replaced: when that name is taken the next
free one of ``<stem>.fixed-2.wav``, ``<stem>.fixed-3.wav``, ... is used (the bytes are linked
into place with a call that fails rather than overwrite, so two runs at once never clobber
each other either). Nothing is written for a file left as it is (``none``, ``not_sure``, a
flaw that cannot be undone) nor with ``dry_run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import audio
from ..errors import AudioError, ClarityError, OutputError, output_error
from ..fsutil import copy_no_clobber, make_dirs
from ..layout import Layout
from ..remedy import remedy
from ..settings import Flag, Interval, Text, Validated
from .predict import OnnxModels, Prediction, judge

#: ``<stem>.fixed.wav``, then ``<stem>.fixed-2.wav`` ... up to this number.
MAX_NAMES = 999


@dataclass(frozen=True)
class FixSettings(Validated):
    """How ``clarity fix`` works.

    Parameters
    ----------
    strength : float
        0-1: the share of the predicted correction applied (EQ gains, crest rise).
    out_dir : str, optional
        Where the fixed files go (None: beside each input).
    dry_run : bool
        Judge and process, write nothing.
    """

    strength: float = 1.0
    out_dir: str | None = None
    dry_run: bool = False

    constraints = {"strength": Interval(float, 0.0, 1.0), "out_dir": (None, Text()),
                   "dry_run": Flag()}


@dataclass
class FixResult:
    """What ``fix`` did to one file (``fix --json`` prints :meth:`to_dict`)."""

    file: str
    prediction: Prediction | None = None
    output: str | None = None
    """The file written (with ``dry_run``: the one that would be)."""
    written: bool = False
    applied: list[dict[str, Any]] = field(default_factory=list)
    not_applied: list[dict[str, Any]] = field(default_factory=list)
    untouched: str | None = None
    """Why the audio was left as it is (None when a remedy was applied)."""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"file": self.file, "error": self.error}
        p = self.prediction
        assert p is not None
        return {"file": self.file, "instrument": p.instrument, "flaw": p.flaw,
                "best_guess": p.best_guess, "confidence": p.confidence,
                "output": self.output, "written": self.written, "applied": self.applied,
                "not_applied": self.not_applied, "untouched": self.untouched}


def output_name(src: str | Path, number: int = 1) -> str:
    """``<stem>.fixed.wav`` (``number`` 1) or ``<stem>.fixed-<number>.wav``."""
    stem = Path(src).stem
    return f"{stem}.fixed.wav" if number == 1 else f"{stem}.fixed-{number}.wav"


def free_output(src: str | Path, out_dir: str | Path | None) -> Path:
    """The first name of :func:`output_name` that does not exist in the output folder."""
    folder = Path(out_dir) if out_dir is not None else Path(src).parent
    for k in range(1, MAX_NAMES + 1):
        dest = folder / output_name(src, k)
        if not dest.exists() and not dest.is_symlink():
            return dest
    raise OutputError(f"no free name for {output_name(src)} in {folder} (up to "
                      f"{output_name(src, MAX_NAMES)} taken)", folder)


def write_fixed(src: str | Path, out_dir: str | Path | None, samples: np.ndarray,
                sr: int) -> Path:
    """Write ``samples`` (32-bit float WAV) to the first free output name; never replaces a
    file (see the module doc). Raises :class:`OutputError` naming the folder or file."""
    folder = Path(out_dir) if out_dir is not None else Path(src).parent
    make_dirs(folder)
    data = audio.encode_wav(samples, sr, "FLOAT")
    for _ in range(MAX_NAMES):
        dest = free_output(src, folder)
        try:
            copy_no_clobber(None, dest, data=data)
            return dest
        except FileExistsError:
            continue  # taken between the look and the link: the next name
        except OSError as e:
            raise output_error(e, dest) from None
    raise OutputError(f"no free name for {output_name(src)} in {folder}", folder)


Judge = Callable[[np.ndarray, int, str], Prediction]


def fix_file(path: str, judge_samples: Judge, cfg: FixSettings) -> FixResult:
    """Read, judge, remedy and write one file (see the module doc); a file that cannot be
    read, judged or written gets its one-line ``error``."""
    try:
        samples, sr = audio.read_usable(path)
    except AudioError as e:
        return FixResult(path, error=e.reason)
    pred = judge_samples(samples, sr, path)
    if pred.error is not None:
        return FixResult(path, error=pred.error)
    assert pred.flaw is not None
    try:
        done = remedy(samples, sr, pred.flaw, pred.corrections, cfg.strength, pred.best_guess)
    except ClarityError as e:
        return FixResult(path, pred, error=e.reason)
    result = FixResult(path, pred, None, False, done.applied, done.not_applied, done.untouched)
    if done.out is None:
        return result
    try:
        if cfg.dry_run:
            result.output = str(free_output(path, cfg.out_dir))
        else:
            result.output, result.written = str(write_fixed(path, cfg.out_dir, done.out,
                                                            sr)), True
    except OutputError as e:
        return FixResult(path, pred, error=e.reason)
    return result


def fix(layout: Layout, paths: list[str], cfg: FixSettings | None = None,
        instrument: str | None = None) -> list[FixResult]:
    """Fix audio files with the data folder's model (see the module doc).

    Parameters
    ----------
    layout : Layout
        The data folder whose ``models/`` judge the files.
    paths : list of str
        Audio files (any length).
    cfg : FixSettings, optional
        Strength, output folder, dry run (default: full strength, beside each input).
    instrument : str, optional
        The files' instrument (default: read from each file's name and folders).

    Returns
    -------
    list of FixResult
        One per path, in order.
    """
    cfg = cfg or FixSettings()
    models = OnnxModels(layout)

    def judged(samples: np.ndarray, sr: int, path: str) -> Prediction:
        return judge(models, samples, sr, path, instrument, all_corrections=True)

    return [fix_file(path, judged, cfg) for path in paths]
