"""Result cache, keyed by (content hash, settings hash): one append-only journal a namespace.

``data/cache/<namespace>.jsonl`` holds one line per result::

    <key> <crc32 of "<key> <json>", 8 hex digits> <json>

Only the process that holds the data folder's lock writes (the coordinator of a run: the
workers send their results back and it appends them), one ``write`` a line, so a killed run
keeps every line it finished; a line a crash cut short, or bytes a disk garbled, fail their
checksum and read as a miss (the clip is computed again), never as a wrong result. A
re-run with nothing changed does no audio work. Reading indexes the journal once (key ->
offset, about 0.2 KB a key; values are parsed only when asked for); when more than half of
its lines are repeats or damaged, the next writer rewrites it atomically first.

One file a namespace, not one a result: a 1000-clip run wrote 3000 small files (a state, a
verdict and a fingerprint a clip, 0.5 ms each, and a burden on network file systems) where
it now appends 3000 lines (the states' journal is :func:`ngn_clarity.state.journal`). Keys come from
:func:`key`: the content hash of the input file plus everything that changes the result
(settings, schema and code versions). The first writer removes an older release's
``cache/<namespace>/`` folder of one JSON file a result (it is no longer read).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zlib
from pathlib import Path
from typing import Any

from .errors import output_error
from .fsutil import atomic_path

#: Compact the journal before appending when it holds this many lines or more that are not
#: the one good line of a key, and as many as good ones.
COMPACT_MIN_WASTE = 256


def key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _line(k: str, value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return f"{k} {zlib.crc32(f'{k} {text}'.encode()):08x} {text}\n".encode()


def _parse(line: bytes) -> tuple[str, bytes] | None:
    """(key, JSON bytes) of a journal line whose checksum holds, else None."""
    parts = line.rstrip(b"\n").split(b" ", 2)
    if len(parts) != 3 or not line.endswith(b"\n"):
        return None
    k, crc, body = parts
    try:
        if int(crc, 16) != zlib.crc32(k + b" " + body):
            return None
        return k.decode("ascii"), body
    except ValueError:  # not hex, not ASCII
        return None


class Cache:
    """One namespace's journal (see the module doc).

    Parameters
    ----------
    root : str or Path
        The data folder's ``cache/``.
    namespace : str
        ``cache/<namespace>.jsonl``.
    """

    def __init__(self, root: str | Path, namespace: str):
        self.path = Path(root) / f"{namespace}.jsonl"
        self._index: dict[str, int] | None = None
        self._waste = 0
        """Lines that are not the last good line of their key (repeats, damage)."""
        self._out: Any = None
        self._reader: Any = None
        self._prepared = False

    def _load(self) -> dict[str, int]:
        if self._index is None:
            self._index, self._waste = {}, 0
            try:
                with open(self.path, "rb") as f:
                    offset = 0
                    for line in f:
                        hit = _parse(line)
                        if hit is None or hit[0] in self._index:
                            self._waste += 1
                        if hit is not None:
                            self._index[hit[0]] = offset
                        offset += len(line)
            except OSError:
                pass
        return self._index

    def __len__(self) -> int:
        return len(self._load())

    def get(self, k: str) -> Any | None:
        """The value stored under ``k``, or None (never stored, or its line is damaged)."""
        offset = self._load().get(k)
        if offset is None:
            return None
        try:
            if self._reader is None:  # one handle for a plan's thousands of reads
                self._reader = open(self.path, "rb")
            self._reader.seek(offset)
            hit = _parse(self._reader.readline())
            return json.loads(hit[1]) if hit is not None and hit[0] == k else None
        except (OSError, ValueError):
            return None

    def put(self, k: str, value: Any) -> None:
        """Append ``value`` under ``k`` (hold the data folder's lock: one writer)."""
        line = _line(k, value)
        try:
            if self._out is None:
                if not self._prepared:
                    self._prepare()
                self._out = open(self.path, "ab", buffering=0)
                if self._out.tell() and not _ends_with_newline(self.path):
                    self._out.write(b"\n")  # a line a crash cut short stays alone
            view = memoryview(line)
            while view:
                view = view[self._out.write(view):]
        except OSError as e:  # (a line cut short by a full disk reads as a miss)
            raise output_error(e, self.path) from None
        if self._index is not None:
            if k in self._index:
                self._waste += 1
            self._index[k] = self._out.tell() - len(line)

    def open_to_append(self) -> None:
        """Make the journal ready for :meth:`put` now (compacting it first when due; the
        first put creates the file) and let the index go: once a plan has read what it
        needs, 20,000 keys' index is about 5 MB a journal that nothing reads (a later
        :meth:`get` indexes the file again)."""
        if not self._prepared:
            self._prepare()
        self._index = None

    def _prepare(self) -> None:
        """Before the first append: compact the journal when due, and remove an older
        release's one-file-a-result folder (``cache/<namespace>/``, never read now)."""
        index = self._load()
        shutil.rmtree(self.path.with_suffix(""), ignore_errors=True)
        if self._waste >= max(COMPACT_MIN_WASTE, len(index)):
            self._compact(index)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._prepared = True

    def _compact(self, index: dict[str, int]) -> None:
        """Rewrite the journal with the one good line of each key (atomically)."""
        new: dict[str, int] = {}
        self._close_reader()  # offsets change
        with open(self.path, "rb") as src, atomic_path(self.path, durable=False) as tmp, \
                open(tmp, "wb") as dst:
            for k, offset in index.items():
                src.seek(offset)
                new[k] = dst.tell()
                dst.write(src.readline())
        self._index, self._waste = new, 0

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        self._close_reader()

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
