"""Bring user audio into ``raw/``: ``--import-gold`` and ``--organize-flawed``.

Both steps walk a source folder, decide each file's instrument/source (and flaw) from its
name and folders with :func:`ngn_clarity.taxonomy.classify`, screen the audio (readable,
non-empty, finite, not silent), and copy the file into ``raw/<subset>/<instrument>/`` under
the next free canonical name. Copies are verified by hash and never replace an existing
file; the source is never modified (``--move`` removes it only after a verified copy on the
same file system). Each placed clip gets a label record that keeps its original name, path
and hash, written before the clip itself (a killed run never leaves an unlabelled clip).

With ``segment=SECONDS`` each file is cut into clips of about that length at its active
stretches (:mod:`.segment`), written as WAV; each clip's record gives the original file and
its span, and all clips of one file share one split group.

A file whose content is already in ``raw/`` (imported before, or a copy of another) is not
copied again: it is counted in the step's notes as already there, not as a problem, so an
unchanged re-run succeeds.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import audio, taxonomy
from ..catalog import scan
from ..fsutil import os_reason, sha256_file, walk_files
from ..layout import Layout
from ..outcome import Finding, StepReport
from ..records import ClipRecord, commit_clip
from ..segment import cut, profile, spans_of
from ..settings import Flag, Interval, Validated
from .base import writing

#: Canonical numbers are tried upwards from the next free one at most this many times.
_MAX_NAME_TRIES = 10_000


@dataclass(frozen=True)
class Screened:
    info: audio.AudioInfo
    sha256: str


def screen(path: Path) -> Screened:
    """Decode ``path`` block by block and check it is usable audio (what
    :func:`audio.read_usable` checks, in the memory of one block); raise
    :class:`audio.AudioError`."""
    info = audio.check_usable(path)
    try:
        digest = sha256_file(path)
    except OSError as e:
        raise audio.AudioError(path, f"cannot read: {os_reason(e)}") from None
    return Screened(info, digest)


def known_hashes(layout: Layout) -> dict[str, str]:
    """SHA-256 -> path of every audio file already in ``raw/``, and of every original a
    record says a clip was imported or cut from."""
    hashes: dict[str, str] = {}
    for entry in scan(layout).entries:
        if entry.sha256:
            hashes.setdefault(entry.sha256, str(entry.clip.path))
        if entry.record is not None and entry.record.original_sha256:
            hashes.setdefault(entry.record.original_sha256, str(entry.clip.path))
    return hashes


def _next_index(folder: Path, prefix: str) -> int:
    """One past the highest canonical number in ``folder`` for names starting ``prefix``."""
    highest = 0
    if folder.is_dir():
        for entry in os.scandir(folder):
            if entry.name.startswith(prefix):
                try:
                    parsed = taxonomy.parse_canonical(entry.name)
                except taxonomy.TaxonomyError:
                    continue
                if taxonomy.name_prefix(parsed.source, parsed.flaw) == prefix:
                    highest = max(highest, parsed.index)
    return highest + 1


def _folder(layout: Layout, subset: str, instrument: str) -> Path:
    folder = layout.raw_dir(subset, instrument)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, "target is not a folder", str(folder)) from None
    return folder


def _place_one(layout: Layout, subset: str, cls: taxonomy.Classification, ext: str,
               fields: dict, src: Path | None = None, data: bytes | None = None) -> Path:
    """Commit a clip (record ``fields``) under the next free canonical name (the next
    number on a collision)."""
    folder = _folder(layout, subset, cls.instrument)
    prefix = taxonomy.name_prefix(cls.source, cls.flaw)
    index = _next_index(folder, prefix)
    for _ in range(_MAX_NAME_TRIES):
        name = taxonomy.canonical_name(cls.source, index, ext, cls.flaw)
        try:
            return commit_clip(layout, ClipRecord(file=name, **fields), src=src, data=data)
        except FileExistsError:
            index += 1
    raise OSError(f"no free name for {prefix}NNN.{ext} in {folder}")


def _record(subset: str, cls: taxonomy.Classification, src: Path, screened: Screened,
            origin: str, **fields) -> dict:
    """The fields of a placed clip's record (all but its file name)."""
    return dict(
        subset=subset, instrument=cls.instrument, source=cls.source,
        flawed_type=cls.flaw or taxonomy.NO_FLAW, sha256=screened.sha256, origin=origin,
        original_name=src.name, original_path=str(src.resolve()),
        original_sha256=screened.sha256, severity=0.0 if subset == "gold" else None,
        extra={"sample_rate": screened.info.sample_rate, "channels": screened.info.channels,
               "duration_s": round(screened.info.duration_s, 6)}) | fields


def place(layout: Layout, src: Path, screened: Screened, subset: str,
          cls: taxonomy.Classification, origin: str, move: bool = False) -> tuple[Path, str]:
    """Copy ``src`` to its canonical place in ``raw/``; return (destination, note).

    The destination folder is created if needed. On a name collision (a file appeared
    between the scan and the link) the next number is tried; nothing is overwritten.
    """
    ext = src.suffix.lower().lstrip(".")
    dest = _place_one(layout, subset, cls, ext, _record(subset, cls, src, screened, origin),
                      src=src)
    return dest, _remove_moved_source(src, dest) if move else ""


def place_segments(layout: Layout, src: Path, screened: Screened, subset: str,
                   cls: taxonomy.Classification, origin: str, seconds: float,
                   move: bool = False) -> tuple[list[Path], str]:
    """Cut ``src`` into clips of about ``seconds`` (:func:`ngn_clarity.segment.spans_of`)
    and place each as a WAV clip whose record names the original file and the span; all
    clips of one file share one split group. The file is read twice in blocks (its profile,
    then the clips as they pass), never whole. Returns (destinations, note)."""
    sr = screened.info.sample_rate
    spans = spans_of(profile(audio.blocks(src), sr, screened.info.channels), seconds)
    subtype = "FLOAT" if screened.info.subtype in ("FLOAT", "DOUBLE") else "PCM_24"
    group = f"{cls.instrument}/src-{screened.sha256[:12]}"
    placed = []
    for a, b, clip in cut(audio.blocks(src), spans):
        data = audio.encode_wav(clip, sr, subtype)
        digest = hashlib.sha256(data).hexdigest()
        fields = _record(subset, cls, src, screened, origin, span_s=(a / sr, b / sr),
                         group=group, sha256=digest)
        fields["extra"]["duration_s"] = round((b - a) / sr, 6)
        placed.append(_place_one(layout, subset, cls, "wav", fields, data=data))
    note = ""
    if move and placed:
        note = _remove_moved_source(src, placed[-1])
    return placed, note


def _remove_moved_source(src: Path, dest: Path) -> str:
    """Delete ``src`` after a verified copy, only when both live on one file system."""
    try:
        if os.stat(src).st_dev != os.stat(dest).st_dev:
            return "kept the source: --move works within one file system only"
        os.unlink(src)
        return "moved"
    except OSError as e:
        return f"kept the source: cannot remove it ({os_reason(e)})"


@dataclass(frozen=True)
class IngestSettings(Validated):
    """How ``--import-gold`` and ``--organize-flawed`` place files.

    Parameters
    ----------
    move : bool
        Remove each source file after its copy is verified (same file system only).
    segment : float, optional
        Cut each file into clips of about this many seconds (None: copy whole files).
    """

    move: bool = False
    segment: float | None = None

    constraints = {"move": Flag(), "segment": (None, Interval(float, 1.0, 600.0))}


@dataclass
class _Ingest:
    """One pass over a source folder (see the module doc)."""

    layout: Layout
    source_dir: Path
    subset: str
    origin: str
    cfg: IngestSettings
    report: StepReport
    hashes: dict[str, str] = field(default_factory=dict)
    already: list[Finding] = field(default_factory=list)

    def run(self) -> StepReport:
        if not self.source_dir.is_dir():
            self.report.errors.append(f"source folder {self.source_dir} does not exist")
            return self.report
        self.hashes = known_hashes(self.layout)
        raw_root = self.layout.raw.resolve()
        for path in walk_files(self.source_dir, self.report.skipped, audio.AUDIO_EXTENSIONS):
            if raw_root in path.resolve().parents:
                self.report.skip(path, "already inside raw/")
            elif not audio.is_audio_name(path):
                self.report.skip(path, f"not an audio file name "
                                       f"({path.suffix or 'no extension'})")
            else:
                self._take(path)
        if self.already:
            self.report.notes.append(f"{len(self.already)} file(s) already in raw/ (same "
                                     f"content), not copied again")
            self.report.warnings += self.already
        return self.report

    def _classify(self, path: Path) -> taxonomy.Classification | None:
        folders = path.relative_to(self.source_dir).parts[:-1]
        try:
            cls = taxonomy.classify(path.name, folders, want_flaw=(self.subset == "flawed"))
        except taxonomy.TaxonomyError as e:
            self.report.skip(path, f"cannot classify: {e}")
            return None
        if self.subset == "gold" and (cls.flaw or taxonomy.says_flawed(path.name)):
            self.report.skip(path, f"looks flawed ({cls.flaw or 'flawed'} in the name); "
                                   f"not imported as gold")
            return None
        return cls

    def _take(self, path: Path) -> None:
        """Classify, screen and place one source file."""
        cls = self._classify(path)
        if cls is None:
            return
        try:
            screened = screen(path)
        except audio.AudioError as e:
            self.report.skip(path, e.reason)
            return
        if screened.sha256 in self.hashes:
            self.already.append(Finding(str(path), f"already in raw/ as "
                                                   f"{self.hashes[screened.sha256]}", "warning"))
            return
        layout, subset, origin, segment = self.layout, self.subset, self.origin, self.cfg.segment
        try:
            if segment:
                dests, note = place_segments(layout, path, screened, subset, cls, origin,
                                             segment, self.cfg.move)
                if not dests:
                    self.report.skip(path, f"no active stretch of at least "
                                           f"{max(1.0, segment / 2):g} s to cut a clip from "
                                           f"(import it without --segment to keep the file "
                                           f"whole)")
                    return
            else:
                dest, note = place(layout, path, screened, subset, cls, origin, self.cfg.move)
                dests = [dest]
        except OSError as e:
            self.report.skip(path, f"cannot copy into raw/{subset}/{cls.instrument}/: "
                                   f"{os_reason(e)}")
            return
        self.hashes[screened.sha256] = str(dests[0])
        for dest in dests:
            entry = {"source": str(path), "dest": str(dest), "instrument": cls.instrument,
                     "sub_source": cls.source, "flawed_type": cls.flaw or taxonomy.NO_FLAW}
            if note:
                entry["note"] = note
            self.report.done.append(entry)


def _ingest(layout: Layout, source_dir: Path, subset: str, origin: str,
            cfg: IngestSettings) -> StepReport:
    report = StepReport(origin)
    with writing(layout, report):
        return _Ingest(layout, Path(source_dir), subset, origin, cfg, report).run()


def import_gold(layout: Layout, source_dir: str | os.PathLike, move: bool = False,
                segment: float | None = None) -> StepReport:
    """Copy a gold stem library into ``raw/gold/<instrument>/<source>_<NNN>.<ext>``.

    Parameters
    ----------
    layout : Layout
        The data folder.
    source_dir : path
        The library (any layout: names and folders say the instrument); only read.
    move, segment
        See :class:`IngestSettings`.

    Returns
    -------
    StepReport
        One ``done`` entry per placed clip; every file passed over with its reason.
    """
    return _ingest(layout, Path(source_dir), "gold", "import-gold",
                   IngestSettings(move, segment))


def organize_flawed(layout: Layout, source_dir: str | os.PathLike | None = None,
                    move: bool = False, segment: float | None = None) -> StepReport:
    """Copy flawed downloads (default ``<data>/downloads``) into
    ``raw/flawed/<instrument>/<source>_flawed_<flaw>_<NNN>.<ext>``; see :func:`import_gold`."""
    src = Path(source_dir) if source_dir is not None else layout.downloads
    return _ingest(layout, src, "flawed", "organize-flawed", IngestSettings(move, segment))
