"""The data layout: every path under the data root, and discovery of the clips in it.

::

    <data>/
      manifest.json                   dataset statistics          (dataset --manifest)
      suno_generation_config.json     Suno prompts                (dataset --prepare-suno)
      downloads/                      where Suno downloads land   (dataset --organize-flawed)
      raw/{gold,flawed}/<instrument>/ the clips (never modified)
      records/{gold,flawed}/<instrument>/<file>.json
                                      one label record per clip (origin, original name, flaw,
                                      synth parameters...), joined into labels.csv later
      processed/{gold,flawed}/<instrument>/   -18 LUFS copies      (normalize)
      features/                       tables, logs, metadata      (features, normalize)
      cache/                          per-file results keyed by content + settings hash

The root is ``--data-dir``, else ``$CLARITY_DATA_DIR``, else ``./data``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import settings, taxonomy
from .audio import is_audio_name
from .fsutil import remove_stale_parts, walk_files
from .outcome import Skipped


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$CLARITY_DATA_DIR``, else ``./data``."""
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(settings.DATA_DIR_ENV) or settings.DEFAULT_DATA_DIR
    return Path(data_dir)


@dataclass(frozen=True)
class Clip:
    """One audio file in ``raw/`` (or ``processed/``), located by the layout."""

    path: Path
    subset: str
    instrument: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Layout:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def at(cls, data_dir: str | os.PathLike | None = None) -> "Layout":
        return cls(resolve_data_dir(data_dir))

    # --- fixed paths -----------------------------------------------------------------------
    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "processed"

    @property
    def features(self) -> Path:
        return self.root / "features"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def cache(self) -> Path:
        """Per-file result caches (validation, features); safe to delete."""
        return self.root / "cache"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def suno_config(self) -> Path:
        return self.root / "suno_generation_config.json"

    @property
    def normalization_log(self) -> Path:
        return self.features / "normalization_log.json"

    # --- per-clip paths --------------------------------------------------------------------
    def raw_dir(self, subset: str, instrument: str) -> Path:
        return self.raw / taxonomy.check_subset(subset) / taxonomy.check_instrument(instrument)

    def processed_dir(self, subset: str, instrument: str) -> Path:
        return (self.processed / taxonomy.check_subset(subset)
                / taxonomy.check_instrument(instrument))

    def record_path(self, subset: str, instrument: str, filename: str) -> Path:
        return (self.records / taxonomy.check_subset(subset)
                / taxonomy.check_instrument(instrument) / f"{filename}.json")

    def tree_dirs(self) -> list[Path]:
        """Every folder ``init`` creates."""
        dirs = [self.raw_dir(s, i) for s in taxonomy.SUBSETS for i in taxonomy.INSTRUMENTS]
        dirs += [self.processed_dir(s, i) for s in taxonomy.SUBSETS
                 for i in taxonomy.INSTRUMENTS]
        return dirs + [self.features]

    def remove_partial_files(self) -> int:
        """Delete the temporary files a killed run left anywhere under the data root
        (only this package's own ``.<name>.<random>.part`` names). Returns how many."""
        return remove_stale_parts(self.root) if self.root.is_dir() else 0

    def init(self) -> list[Path]:
        """Create the tree (idempotent). Returns the folders that did not exist before."""
        created = []
        for d in self.tree_dirs():
            if not d.is_dir():
                d.mkdir(parents=True, exist_ok=True)
                created.append(d)
        return created

    # --- discovery -------------------------------------------------------------------------
    def iter_clips(self, top: str = "raw",
                   skipped: list[Skipped] | None = None) -> Iterator[Clip]:
        """Audio files under ``raw/`` (or ``processed/``) in a stable order.

        Files outside ``<subset>/<instrument>/``, and non-audio files, go to ``skipped``
        with the reason. Sub-folders of an instrument folder are walked too.
        """
        base = self.raw if top == "raw" else self.processed
        sink = skipped if skipped is not None else []
        if not base.is_dir():
            return
        for path in walk_files(base, sink):
            rel = path.relative_to(base).parts
            if len(rel) < 3 or rel[0] not in taxonomy.SUBSETS \
                    or rel[1] not in taxonomy.INSTRUMENTS:
                sink.append(Skipped(str(path), f"not under {top}/<gold|flawed>/<instrument>/"))
                continue
            if not is_audio_name(path):
                sink.append(Skipped(str(path), f"not an audio file name ({path.suffix or 'no extension'})"))
                continue
            yield Clip(path, rel[0], rel[1])
