"""Label records: one typed JSON record per clip, kept under ``records/`` (see layout).

A :class:`ClipRecord` says where a clip came from (origin step, original file and, for a clip
cut from a long stem, its time span), what it is (subset, instrument, source, flawed_type),
which group it belongs to (a gold clip, the flawed clips made from it and every clip cut
from one source file share a group, so no train/test split separates them) and, for clips
the flaw engine made, the severity, the exact chain and parameters and the correction that
undoes the flaw. The feature step joins the records into ``labels.csv``.

A record that exists but cannot be read raises :class:`~ngn_clarity.errors.RecordError`:
it is reported and the clip is left out, never silently relabelled from its file name.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from . import taxonomy
from .corrections import CORRECTION_FIELDS
from .errors import RecordError
from .fsutil import atomic_write_json, copy_no_clobber
from .layout import Clip, Layout
from .taxonomy import NO_FLAW

RECORD_VERSION = 2
ORIGINS: tuple[str, ...] = ("import-gold", "organize-flawed", "synth", "augment", "")

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class ClipRecord:
    file: str
    """Path below ``raw/<subset>/<instrument>/`` (the table's ``file`` key)."""
    subset: str
    instrument: str
    source: str
    flawed_type: str = NO_FLAW
    sha256: str = ""
    """SHA-256 of the clip's file."""
    origin: str = ""
    """Step that put the clip in raw/: import-gold, organize-flawed, synth or augment."""
    original_name: str = ""
    original_path: str = ""
    original_sha256: str = ""
    """SHA-256 of the file it was imported or cut from (the clip's own when copied whole)."""
    span_s: tuple[float, float] | None = None
    """Start and end (s) in the original file, for a clip cut from a long stem."""
    group: str = ""
    """Split group; empty means the clip's own ``<instrument>/<stem>``."""
    severity: float | None = None
    """Flaw severity in [0, 1] (0.0 for gold clips; None when unknown)."""
    preset: str = ""
    """What made the sound (synth: SoundFont preset or procedural voice)."""
    correction: dict[str, float] | None = None
    """The 12 correction values (:data:`CORRECTION_FIELDS`); None when unknown."""
    params: dict[str, Any] = field(default_factory=dict)
    """The flaw engine's exact chain and parameters."""
    created: str = field(default_factory=_now)
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (synth: seed, tempo, key, ...)."""
    version: int = RECORD_VERSION

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        def bad(why: str) -> RecordError:
            return RecordError(f"corrupt label record: {why}")

        for name in ("file", "subset", "instrument", "source", "flawed_type", "sha256",
                     "origin", "original_name", "original_path", "original_sha256", "group",
                     "preset", "created"):
            if not isinstance(getattr(self, name), str):
                raise bad(f"{name} is not a string")
        if not self.file or self.subset not in taxonomy.SUBSETS \
                or self.instrument not in taxonomy.INSTRUMENTS:
            raise bad("file, subset or instrument missing or unknown")
        if self.flawed_type != NO_FLAW and self.flawed_type not in taxonomy.flaws_for(
                self.instrument):
            raise bad(f"{self.flawed_type!r} is not a {self.instrument} flaw")
        if self.severity is not None and not (isinstance(self.severity, (int, float))
                                              and 0.0 <= self.severity <= 1.0):
            raise bad(f"severity {self.severity!r} is not in [0, 1]")
        if self.correction is not None:
            if not isinstance(self.correction, dict) or set(self.correction) != set(
                    CORRECTION_FIELDS) or not all(
                    isinstance(v, (int, float)) and math.isfinite(v)
                    for v in self.correction.values()):
                raise bad("correction is not the 12 finite correction values")
            self.correction = {k: float(self.correction[k]) for k in CORRECTION_FIELDS}
        if self.span_s is not None:
            if len(self.span_s) != 2 or not self.span_s[0] < self.span_s[1]:
                raise bad(f"span {self.span_s!r} is not (start, end)")
            self.span_s = (float(self.span_s[0]), float(self.span_s[1]))
        if not isinstance(self.params, dict) or not isinstance(self.extra, dict):
            raise bad("params or extra is not an object")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["span_s"] = list(self.span_s) if self.span_s else None
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "ClipRecord":
        """Read a record (version 1 kept these fields inside ``extra``)."""
        if not isinstance(d, dict):
            raise RecordError("corrupt label record: not a JSON object")
        d = dict(d)
        if d.get("version", 1) < 2:
            extra = dict(d.get("extra") or {})
            for k in ("group", "severity", "preset", "correction", "params"):
                if k in extra:
                    d[k] = extra.pop(k)
            d["extra"] = extra
            d["group"] = d.get("group") or ""
            d["preset"] = d.get("preset") or ""
            d["version"] = RECORD_VERSION
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in known})
        except TypeError as e:
            raise RecordError(f"corrupt label record: {e}") from None

    @property
    def group_id(self) -> str:
        if self.group:
            return self.group
        stem = self.file.rsplit(".", 1)[0]
        return f"{self.instrument}/{stem}"


def write_record(layout: Layout, record: ClipRecord) -> None:
    path = layout.record_path(record.subset, record.instrument, record.file)
    atomic_write_json(path, record.to_dict())


def commit_clip(layout: Layout, record: ClipRecord, *, src: str | os.PathLike | None = None,
                data: bytes | None = None) -> Path:
    """Put a new clip into ``raw/`` with its record: the record first, then the file
    (a copy of ``src`` verified against ``record.sha256``, or ``data``), never replacing an
    existing file. So a run killed in between leaves a record without a file (ignored, and
    replaced on the next run), never a clip without its labels. Raises ``FileExistsError``
    (the record is taken back) if the name is taken.
    """
    dest = layout.raw_dir(record.subset, record.instrument) / record.file
    record_path = layout.record_path(record.subset, record.instrument, record.file)
    if os.path.lexists(dest):  # the name's record belongs to that file: leave both alone
        raise FileExistsError(17, "destination exists", str(dest))
    write_record(layout, record)
    try:
        copy_no_clobber(src, dest, expected_sha256=record.sha256 or None, data=data)
    except BaseException:
        record_path.unlink(missing_ok=True)
        raise
    return dest


def read_record(layout: Layout, subset: str, instrument: str, rel: str) -> ClipRecord | None:
    """The clip's record, None if it has none; :class:`RecordError` if it is corrupt."""
    path = layout.record_path(subset, instrument, rel)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise RecordError(f"label record {path} cannot be read: {e.strerror}", path) from None
    try:
        rec = ClipRecord.from_dict(json.loads(text))
    except ValueError:
        raise RecordError(f"label record {path} is not valid JSON", path) from None
    except RecordError as e:
        raise RecordError(f"label record {path}: {e.reason}", path) from None
    if (rec.file, rec.subset, rec.instrument) != (rel, subset, instrument):
        raise RecordError(f"label record {path} describes {rec.subset}/{rec.instrument}/"
                          f"{rec.file}", path)
    return rec


def iter_records(layout: Layout, subset: str) -> Iterator[ClipRecord]:
    """Every readable record of ``subset`` (corrupt ones are skipped here; the feature and
    validation steps report them against their clips)."""
    base = layout.records / subset
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*.json")):
        try:
            rel = path.relative_to(base).as_posix()
            instrument, file = rel.split("/", 1)
            rec = read_record(layout, subset, instrument, file[:-len(".json")])
        except (RecordError, ValueError):
            continue
        if rec is not None:
            yield rec


def labels_from_name(clip: Clip) -> tuple[str, str]:
    """(source, flawed_type) of a clip without a record, from its name and folder.

    Canonical names are read exactly, others through the flaw aliases; a gold clip, or a
    name that names no flaw of its instrument, is ``none``.
    """
    try:
        source = taxonomy.parse_canonical(clip.name).source
    except taxonomy.TaxonomyError:
        source = taxonomy.DEFAULT_SOURCE[clip.instrument]
    if clip.subset == "gold":
        return source, NO_FLAW
    try:
        return source, taxonomy.flaw_from_name(clip.instrument, clip.name)
    except taxonomy.TaxonomyError:
        return source, NO_FLAW


def clip_labels(layout: Layout, clip: Clip) -> tuple[str, str]:
    """(source, flawed_type) of a clip: its record if it has one, else its name.

    Raises :class:`RecordError` if the clip's record is corrupt.
    """
    record = read_record(layout, clip.subset, clip.instrument, clip.rel)
    if record is not None:
        return record.source, record.flawed_type
    return labels_from_name(clip)
