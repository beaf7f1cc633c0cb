"""Canonical numbers for the clips a step adds to ``raw/`` (augment's flawed children, its
gold variants): never a number another file or a planned clip holds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import taxonomy
from ..layout import Layout


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
