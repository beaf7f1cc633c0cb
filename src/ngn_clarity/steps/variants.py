"""``clarity augment --gold-variants N``: taste-band copies of a user's gold clips.

Each gold clip a user brought (not a variant itself) gets ``N`` copies processed within the
taste band (:mod:`ngn_clarity.flaws.taste`), written as gold ``<source>_<NNN>.wav`` with
origin ``taste``, the gold clip's split group and preset and the chain under ``params``;
variant ``k`` draws from ``(seed, the gold clip's content hash, k)``. Committed record first,
file last (:func:`ngn_clarity.records.commit_clip`), never over a file; a variant whose record
survives without its file is made again under its recorded name. :mod:`.augment` runs them
before the flawed children, so the variants get children too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import taxonomy
from ..catalog import Entry
from ..corrections import zero_correction
from ..flaws.taste import apply_taste
from ..layout import Layout
from ..outcome import StepReport
from ..records import ClipRecord, iter_records
from .naming import GoldFile, Maker, Names, drawn_seed, make_from_gold


@dataclass(frozen=True)
class Variant:
    k: int
    name: str
    seed: tuple[int, ...]


@dataclass(frozen=True)
class VariantJob(GoldFile):
    """One gold clip and the taste-band variants to make of it."""

    variants: tuple[Variant, ...] = ()


def make_variants(job: VariantJob) -> list[dict[str, Any]]:
    """Worker: read the gold clip once, make and commit each taste-band variant of it."""
    def variant(v: Variant) -> Maker:
        def make(samples: np.ndarray, sr: int):
            try:
                tasted = apply_taste(samples, sr, job.instrument,
                                     np.random.default_rng(list(v.seed)))
            except ValueError as e:
                return str(e)
            return tasted.audio, {
                "flawed_type": taxonomy.NO_FLAW, "origin": "taste", "severity": 0.0,
                "correction": zero_correction(), "params": tasted.params(),
                "extra": {"gold_file": job.gold_rel, "gold_sha256": job.gold_sha256,
                          "k": v.k, "seed": list(v.seed)}}, {"variant": "taste"}
        return make

    return make_from_gold(job, "gold", ((v.name, variant(v)) for v in job.variants))


def plan_variants(layout: Layout, count: int, seed: int, golds: list[Entry],
                  rep: StepReport) -> list[VariantJob]:
    """The taste-band variants still missing: ``count`` per gold clip that is not a variant
    itself, drawn with ``seed``. A variant whose record survives without its file is made
    again under its recorded name; variants made with another seed stay as they are (they
    are gold clips like any other)."""
    if count == 0:
        return []
    have: dict[tuple[str, int, tuple[int, ...]], ClipRecord] = {}
    owned = set()
    for rec in iter_records(layout, "gold"):
        if rec.origin == "taste" and "gold_sha256" in rec.extra and "k" in rec.extra:
            owned.add((rec.instrument, rec.file))
            have[(rec.extra["gold_sha256"], int(rec.extra["k"]),
                  tuple(rec.extra.get("seed", ())))] = rec
    names = Names(layout, frozenset(owned), "gold")
    jobs, fine = [], 0
    for e in golds:
        if e.record is not None and e.record.origin == "taste":
            continue
        todo = []
        for k in range(count):
            drawn = drawn_seed(seed, e.sha256, k, 7)
            made = have.get((e.sha256, k, drawn))
            if made is not None and (layout.raw_dir("gold", made.instrument) / made.file).exists():
                fine += 1
                continue
            name = made.file if made is not None else names.next(e.clip.instrument, e.source,
                                                                 None)
            todo.append(Variant(k, name, drawn))
        if todo:
            jobs.append(VariantJob(*GoldFile.of(layout, e), tuple(todo)))
    if fine:
        rep.notes.append(f"{fine} taste-band gold variant(s) up to date (already made)")
    return jobs
