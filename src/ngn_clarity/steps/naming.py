"""The clips augment adds to ``raw/`` from a gold clip (its flawed children, its gold
variants): the gold clip they come from, their seeds, canonical numbers (never one another
file or a planned clip holds), and the worker that reads the gold clip once and commits each
clip made from it."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .. import audio, taxonomy
from ..catalog import Entry
from ..layout import Layout
from ..records import ClipRecord, commit_clip


@dataclass(frozen=True)
class GoldFile:
    """The gold clip a worker makes clips from (picklable, for any executor)."""

    root: str
    gold: str
    """Path of the gold clip."""
    gold_rel: str
    gold_source: str
    """``raw/gold/<instrument>/<rel>``: where the gold clip is, below the data root."""
    gold_sha256: str
    instrument: str
    source: str
    group: str
    preset: str
    """The gold clip's preset (what made the sound), kept for leave-source-out splits."""

    @staticmethod
    def of(layout: Layout, e: Entry) -> tuple[str, str, str, str, str, str, str, str, str]:
        """The fields of catalog entry ``e``, in order (a subclass adds its own after)."""
        return (str(layout.root), str(e.clip.path), e.clip.rel, e.rel_source, e.sha256,
                e.clip.instrument, e.source, e.own_group, e.record.preset if e.record else "")

    def record(self, data: bytes, **fields: Any) -> ClipRecord:
        """The record of a clip made from this gold clip, holding ``data``."""
        return ClipRecord(instrument=self.instrument, source=self.source,
                          sha256=hashlib.sha256(data).hexdigest(),
                          original_name=Path(self.gold_rel).name,
                          original_path=self.gold_source, original_sha256=self.gold_sha256,
                          group=self.group, preset=self.preset, **fields)


def drawn_seed(seed: int, gold_sha256: str, k: int, *stream: int) -> tuple[int, ...]:
    """The seed clip ``k`` of a gold clip draws from: ``(seed, the first 60 bits of its
    content hash, k, *stream)``."""
    return (seed, int(gold_sha256[:15], 16), k, *stream)


#: One clip to make: (samples, sample rate) -> (its audio, its record's fields, the row's
#: extra fields), or the one-line reason it cannot be made.
Maker = Callable[[np.ndarray, int],
                 "tuple[np.ndarray, dict[str, Any], dict[str, Any]] | str"]


def make_from_gold(job: GoldFile, subset: str,
                   makers: Iterable[tuple[str, Maker]]) -> list[dict[str, Any]]:
    """Worker body: read the gold clip once, make each ``(name, maker)`` clip, commit it record
    first, file last (never over a file); a row per clip (``made``, ``skipped`` with the
    reason, or ``refused``)."""
    layout = Layout(Path(job.root))
    try:
        samples, sr = audio.read_usable(job.gold)
    except audio.AudioError as e:
        return [{"status": "refused", "file": job.gold, "reason": e.reason}]
    subtype = "FLOAT" if np.max(np.abs(samples)) > 1.0 else "PCM_24"
    extra = {"sample_rate": sr, "channels": int(samples.shape[1])}
    rows: list[dict[str, Any]] = []
    for name, maker in makers:
        made = maker(samples, sr)
        if isinstance(made, str):
            rows.append({"status": "refused", "file": job.gold, "reason": made})
            continue
        out, fields, row = made
        data = audio.encode_wav(out, sr, subtype)
        fields["extra"] = {**fields.get("extra", {}), **extra}
        record = job.record(data, file=name, subset=subset, **fields)
        try:
            dest = commit_clip(layout, record, data=data)
        except FileExistsError:
            rows.append({"status": "skipped", "file": str(layout.raw_dir(
                subset, job.instrument) / name), "reason": "a file not made by augment has "
                                                           "this name; left alone"})
            continue
        rows.append({"status": "made", "file": str(dest), **row})
    return rows


@dataclass
class Names:
    """Canonical numbers for new children: per (instrument, name prefix), the smallest free
    number above every name augment does not own (files another step or the user put there).

    Numbers held by augment's own records (made, or planned by a run killed before the file
    was written) are skipped, never reused. Children are numbered in one fixed order, so a
    clean run numbers them ``base+1, base+2, ...`` and a run after a kill gives each missing
    child exactly the number a clean run gives it: the numbers still free are the ones the
    killed run never committed.
    """

    layout: Layout
    owned: frozenset[tuple[str, str]]
    """(instrument, file) of every clip of ``subset`` an augment record names."""
    subset: str = "flawed"
    used: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    cursor: dict[tuple[str, str], int] = field(default_factory=dict)

    @staticmethod
    def _index(name: str, prefix: str) -> int | None:
        if not name.startswith(prefix):
            return None
        try:
            parsed = taxonomy.parse_canonical(name)
        except taxonomy.TaxonomyError:
            return None
        return parsed.index if taxonomy.name_prefix(parsed.source, parsed.flaw) == prefix \
            else None

    def _load(self, instrument: str, prefix: str) -> None:
        folder = self.layout.raw_dir(self.subset, instrument)
        used, base = set(), 0
        names = [e.name for e in os.scandir(folder)] if folder.is_dir() else []
        for name in names:
            if (i := self._index(name, prefix)) is not None:
                used.add(i)
                if (instrument, name) not in self.owned:
                    base = max(base, i)
        for inst, name in self.owned:
            if inst == instrument and (i := self._index(name, prefix)) is not None:
                used.add(i)
        self.used[(instrument, prefix)] = used
        self.cursor[(instrument, prefix)] = base

    def next(self, instrument: str, source: str, flaw: str | None) -> str:
        prefix = taxonomy.name_prefix(source, flaw)
        key = (instrument, prefix)
        if key not in self.used:
            self._load(instrument, prefix)
        i = self.cursor[key] + 1
        while i in self.used[key]:
            i += 1
        self.used[key].add(i)
        self.cursor[key] = i
        return taxonomy.canonical_name(source, i, "wav", flaw)
