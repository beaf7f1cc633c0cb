"""File-system primitives: atomic writes, no-clobber copies, content hashes, safe discovery.

Every output of the pipeline goes through :func:`atomic_write` (temp file in the same folder,
fsync, rename), so a killed run leaves the old file or the new one, never half of one.
User files are only ever read, or copied with :func:`copy_no_clobber`, which never replaces
an existing file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from .outcome import Skipped

_CHUNK = 1 << 20


_DIGESTS: dict[tuple, str] = {}
_DIGESTS_MAX = 500_000


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes.

    Remembered within the process by (path, device, inode, size, mtime), so the steps of
    one run that all need a file's hash read it once.
    """
    st = os.stat(path)
    memo = (os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if memo in _DIGESTS:
        return _DIGESTS[memo]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    if len(_DIGESTS) >= _DIGESTS_MAX:
        _DIGESTS.clear()
    _DIGESTS[memo] = digest = h.hexdigest()
    return digest


def _tmp_name(dest: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    return Path(name)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it is renamed over ``dest``.

    On any exception the temporary file is removed and ``dest`` is left as it was.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(dest)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


_PART = re.compile(r"^\..+\.[a-z0-9_]{8}\.part$")


def remove_stale_parts(folder: str | os.PathLike) -> int:
    """Delete temporary files that a killed run left below ``folder``.

    Only names this module creates are touched (``.<name>.<8 random chars>.part``, from
    :func:`_tmp_name`). Run it only when no other run uses the folder. Returns how many.
    """
    removed = 0
    for tmp in Path(folder).rglob(".*.part"):
        if _PART.match(tmp.name):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed += 1
    return removed


def atomic_write(dest: str | os.PathLike, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and atomically move the result to ``dest``."""
    with atomic_path(dest) as tmp:
        writer(tmp)
    return Path(dest)


def atomic_write_text(dest: str | os.PathLike, text: str) -> Path:
    return atomic_write(dest, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(dest: str | os.PathLike, data: Any) -> Path:
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write_text(dest, text)


def copy_no_clobber(src: str | os.PathLike, dest: str | os.PathLike,
                    expected_sha256: str | None = None) -> str:
    """Copy ``src`` to ``dest`` unless ``dest`` exists; verify the copy; return its SHA-256.

    The bytes go to a temporary file beside ``dest``, are hashed back from disk and compared
    with ``expected_sha256`` (when given), then are linked into place with ``os.link``, which
    fails rather than replace an existing file. Raises :class:`FileExistsError` if ``dest``
    exists, :class:`IOError` if the copy does not verify; neither leaves anything behind.
    """
    dest = Path(dest)
    tmp = _tmp_name(dest)
    try:
        shutil.copyfile(src, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        got = sha256_file(tmp)
        if expected_sha256 is not None and got != expected_sha256:
            raise OSError(errno.EIO, f"copy does not match the source (sha256 {got[:12]}...)")
        try:
            os.link(tmp, dest)
        except OSError as e:
            if e.errno in (errno.EEXIST,):
                raise FileExistsError(errno.EEXIST, "destination exists", str(dest)) from None
            # File systems without hard links: check-then-rename (not race-free, still no
            # overwrite of a file that existed before we looked).
            if dest.exists():
                raise FileExistsError(errno.EEXIST, "destination exists", str(dest)) from None
            os.rename(tmp, dest)
        _fsync_dir(dest.parent)
        return got
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def walk_files(root: str | os.PathLike, skipped: list[Skipped] | None = None) -> Iterator[Path]:
    """Yield regular files below ``root`` in sorted order, following links safely.

    Hidden entries (names starting with ".") are reported, not walked. Symbolic links to files are
    yielded; links to folders are followed once (a folder reached twice is not walked again);
    dangling links and link loops are reported to ``skipped`` with the reason.
    """
    root = Path(root)
    seen: set[tuple[int, int]] = set()
    sink = skipped if skipped is not None else []

    def visit(folder: Path) -> Iterator[Path]:
        try:
            st = folder.stat()
        except OSError as e:
            sink.append(Skipped(str(folder), os_reason(e)))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            sink.append(Skipped(str(folder), "folder already visited through a link (loop?)"))
            return
        seen.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            sink.append(Skipped(str(folder), os_reason(e)))
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                sink.append(Skipped(str(path), "hidden file or folder (name starts with '.')"))
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = entry.is_file(follow_symlinks=True)
                if entry.is_symlink():
                    os.stat(path)  # raises for loops and dangling links
            except OSError as e:
                sink.append(Skipped(str(path), os_reason(e)))
                continue
            if is_dir:
                yield from visit(path)
            elif is_file:
                yield path
            elif entry.is_symlink():
                sink.append(Skipped(str(path), "symbolic link to nothing usable"))
            else:
                sink.append(Skipped(str(path), "not a regular file"))

    yield from visit(root)


def os_reason(e: OSError) -> str:
    """A one-line reason for an OS error, without the Python noise."""
    if e.errno == errno.ELOOP:
        return "symbolic link loop"
    if e.errno == errno.ENOENT:
        return "no such file (or a dangling symbolic link)"
    return e.strerror or str(e)

