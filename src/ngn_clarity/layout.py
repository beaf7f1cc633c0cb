"""The data layout: every path under the data root, and discovery of the clips in it.

::

    <data>/
      manifest.json                   dataset statistics          (dataset --manifest)
      suno_generation_config.json     Suno prompts                (dataset --prepare-suno)
      downloads/                      where Suno downloads land   (dataset --organize-flawed)
      raw/{gold,flawed}/<instrument>/ the clips (never modified)
      records/{gold,flawed}/<instrument>/<file>.json  (kick_001.wav.json)
                                      one label record per clip (origin, original name, flaw,
                                      engine parameters, correction...), joined into labels.csv
      processed/{gold,flawed}/<instrument>/   -18 LUFS copies      (normalize)
      features/                       tables, logs, metadata      (features, normalize)
      models -> .models/<version>/    the trained model set       (train; swapped whole)
      reports/report.html             one self-contained page     (report)
      processed/.state.jsonl          per-clip normalization states (vouch for each copy)
      cache/                          validate.jsonl, features.jsonl: results keyed by
                                      content + settings hash (one journal each, see cache.py);
                                      file_hashes.json (safe to delete: it only costs the work)
      .clarity.lock                   held by the command that writes (fsutil.DataLock)

The root is ``--data-dir``, else ``$CLARITY_DATA_DIR``, else ``./data``. A clip is known by
its path below ``raw/<subset>/<instrument>/`` (``Clip.rel``: ``kick_001.wav``, or
``take2/kick_001.wav`` in a sub-folder): that is the ``file`` column of every table, and its
processed copy and label record mirror it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import settings, taxonomy
from .audio import AUDIO_EXTENSIONS, is_audio_name
from .errors import DataDirError
from .fsutil import DataLock, is_own_temporary, remove_stale_parts, walk_files
from .outcome import Finding


def _case_hint(top: str, rel: tuple[str, ...]) -> str:
    """``; folder names are lower-case: rename ...`` when only the case is wrong."""
    wanted = (taxonomy.SUBSETS, taxonomy.INSTRUMENTS)
    for depth, (part, names) in enumerate(zip(rel[:-1], wanted)):
        if part not in names and part.lower() in names:
            where = "/".join((top, *rel[:depth]))
            return (f" (folder names are lower-case: rename {where}/{part} to "
                    f"{where}/{part.lower()})")
    return ""


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$CLARITY_DATA_DIR``, else ``./data``."""
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(settings.DATA_DIR_ENV) or settings.DEFAULT_DATA_DIR
    return Path(data_dir)


@dataclass(frozen=True, slots=True)
class Clip:
    """One audio file in ``raw/`` (or ``processed/``), located by the layout.

    It holds its top folder (one object every clip of a scan shares) and three strings,
    and makes :attr:`path` when asked: a catalog of 20,000 clips held a ``Path`` object
    each (about 0.4 KB)."""

    top: Path
    """``raw/`` or ``processed/``."""
    subset: str
    instrument: str
    rel: str
    """Path below ``<top>/<subset>/<instrument>/``, POSIX style: the clip's ``file`` key."""

    @property
    def path(self) -> Path:
        return self.top / self.subset / self.instrument / self.rel

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    @property
    def key(self) -> tuple[str, str, str]:
        """``(file, subset, instrument)``: the key of the clip's row in every table."""
        return (self.rel, self.subset, self.instrument)


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

    @property
    def analysis(self) -> Path:
        """Statistics and plots of ``features --analyze``."""
        return self.features / "analysis"

    @property
    def models(self) -> Path:
        """The current model set: a link to one folder of :attr:`model_versions`."""
        return self.root / "models"

    @property
    def model_versions(self) -> Path:
        return self.root / ".models"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def report_html(self) -> Path:
        return self.reports / "report.html"

    @property
    def file_hashes(self) -> Path:
        return self.cache / "file_hashes.json"

    # --- per-clip paths --------------------------------------------------------------------
    def raw_dir(self, subset: str, instrument: str) -> Path:
        return self.raw / taxonomy.check_subset(subset) / taxonomy.check_instrument(instrument)

    def processed_dir(self, subset: str, instrument: str) -> Path:
        return (self.processed / taxonomy.check_subset(subset)
                / taxonomy.check_instrument(instrument))

    def processed_path(self, clip: Clip) -> Path:
        """Where the clip's normalized copy goes: same relative path, ``.wav``."""
        rel = Path(clip.rel)
        return self.processed_dir(clip.subset, clip.instrument) / rel.with_suffix(".wav")

    def processed_rel(self, clip: Clip) -> str:
        """:meth:`processed_path` below the root, POSIX style (``processed/gold/drums/
        kick_001.wav``): what the clip's normalization state is known by."""
        return self.processed_path(clip).relative_to(self.root).as_posix()

    def record_path(self, subset: str, instrument: str, rel: str) -> Path:
        return (self.records / taxonomy.check_subset(subset)
                / taxonomy.check_instrument(instrument) / f"{rel}.json")

    @property
    def norm_states(self) -> Path:
        """The journal of normalization states, which vouch for the processed copies (see
        :mod:`ngn_clarity.state`); it lives and dies with ``processed/``."""
        return self.processed / ".state.jsonl"

    def tree_dirs(self) -> list[Path]:
        """Every folder ``init`` creates."""
        dirs = [self.raw_dir(s, i) for s in taxonomy.SUBSETS for i in taxonomy.INSTRUMENTS]
        dirs += [self.processed_dir(s, i) for s in taxonomy.SUBSETS
                 for i in taxonomy.INSTRUMENTS]
        return dirs + [self.features]

    def remove_partial_files(self) -> int:
        """Delete the temporary files a killed run left in the folders this package writes
        (only its own ``.~clarity.<name>.<random>.part`` names; hold :meth:`lock`)."""
        if not self.root.is_dir():
            return 0
        n = remove_stale_parts(self.raw, self.processed, self.features, self.records,
                               self.cache, self.model_versions, self.reports)
        for entry in os.scandir(self.root):  # top-level outputs (manifest.json, models link)
            if not entry.is_dir(follow_symlinks=False) and is_own_temporary(entry.name):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    n += 1
        return n

    def exists(self) -> bool:
        return self.root.is_dir() and (self.raw.is_dir() or self.processed.is_dir())

    def require(self) -> "Layout":
        """Raise :class:`DataDirError` unless the data folder exists (a mistyped
        ``--data-dir`` must not silently start a new tree)."""
        if not self.exists():
            raise DataDirError(f"no data folder at {self.root} (run `clarity dataset --init` "
                               f"or `clarity synth` first, or check --data-dir)")
        return self

    def lock(self, wait: bool = False) -> DataLock:
        """The data root's writer lock (re-entrant; see :class:`~ngn_clarity.fsutil.DataLock`)."""
        return DataLock(self.root, wait=wait)

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
                   skipped: list[Finding] | None = None) -> Iterator[Clip]:
        """Audio files under ``raw/`` (or ``processed/``) in a stable order.

        Files outside ``<subset>/<instrument>/``, and non-audio files, go to ``skipped``
        with the reason. Sub-folders of an instrument folder are walked too.
        """
        base = self.raw if top == "raw" else self.processed
        sink = skipped if skipped is not None else []
        if not base.is_dir():
            return
        for path in walk_files(base, sink, AUDIO_EXTENSIONS):
            rel = path.relative_to(base).parts
            if len(rel) < 3 or rel[0] not in taxonomy.SUBSETS \
                    or rel[1] not in taxonomy.INSTRUMENTS:
                sink.append(Finding(str(path), f"not under {top}/<gold|flawed>/<instrument>/"
                                               f"{_case_hint(top, rel)}"))
                continue
            if not is_audio_name(path):
                ext = path.suffix or "no extension"
                sink.append(Finding(str(path), f"not an audio file name ({ext})"))
                continue
            yield Clip(base, rel[0], rel[1], "/".join(rel[2:]))
