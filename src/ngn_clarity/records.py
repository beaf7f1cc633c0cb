"""Label records: one typed JSON record per clip, kept under ``records/`` (see layout).

A record says where a clip came from (original name and path, origin step), what it is
(subset, instrument, source, flawed_type) and, for rendered clips, how it was made. The
feature step joins the records into ``labels.csv``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from .fsutil import atomic_write_json
from . import taxonomy
from .layout import Clip, Layout
from .taxonomy import NO_FLAW

RECORD_VERSION = 1

#: The correction vector every label record carries (see ngn_clarity.synth.flaws for how the
#: embedded dataset fills it): EQ gain in dB at these centres, then dynamics, drive, timing,
#: reverb. Gold clips have all zeros; clips of unknown origin leave it empty.
EQ_CENTRES_HZ: tuple[int, ...] = (60, 150, 300, 600, 1200, 3000, 7000, 12000)
CORRECTION_FIELDS: tuple[str, ...] = (
    *(f"eq_{f}_db" for f in EQ_CENTRES_HZ),
    "restore_dynamics_db", "remove_drive_db", "remove_jitter_ms", "remove_reverb_wet")


@dataclass
class ClipRecord:
    file: str
    subset: str
    instrument: str
    source: str
    flawed_type: str = NO_FLAW
    sha256: str = ""
    origin: str = ""
    """Step that put the clip in raw/: ``import-gold``, ``organize-flawed`` or ``synth``."""
    original_name: str = ""
    original_path: str = ""
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(
        timespec="seconds"))
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = RECORD_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClipRecord":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def write_record(layout: Layout, record: ClipRecord) -> None:
    path = layout.record_path(record.subset, record.instrument, record.file)
    atomic_write_json(path, record.to_dict())


def read_record(layout: Layout, subset: str, instrument: str, filename: str) -> ClipRecord | None:
    path = layout.record_path(subset, instrument, filename)
    try:
        return ClipRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


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
    """(source, flawed_type) of a clip: its record if it has one, else its name."""
    record = read_record(layout, clip.subset, clip.instrument, clip.name)
    if record is not None:
        return record.source, record.flawed_type
    return labels_from_name(clip)
