"""File-system primitives: atomic writes, no-clobber copies, hashes, safe discovery, the lock.

Every output of the pipeline goes through :func:`atomic_path` (temporary file beside the
destination, fsync, rename), so a killed run leaves the old file or the new one, never half
of one. Temporary files carry a prefix nobody types (``.~clarity.<name>.<8 chars>.part``),
so clean-up after a killed run (:func:`remove_stale_parts`) can never take a user's file.
Outputs get the mode an ordinary file write would (``0o666`` minus the umask); a copy into
``raw/`` keeps the source's permission bits. User files are only ever read, or copied with
:func:`copy_no_clobber`, which never replaces an existing file. An ``OSError`` while writing
becomes :class:`~ngn_clarity.errors.OutputError` naming the path (``DiskFullError`` when the
device is full).

:class:`DataLock` is the advisory lock every writing command takes on the data root.
:class:`FileHashes` remembers content hashes by file identity (device, inode, size, mtime)
across runs, so a re-run with nothing changed reads no file twice.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import BusyError, OutputError, output_error
from .outcome import Finding

_CHUNK = 1 << 20
#: Prefix of every temporary file this package creates (see the module doc).
TMP_PREFIX = ".~clarity."
_PART = re.compile(r"^\.~clarity\..+\.[a-z0-9_]{8}\.part$")


def _read_umask() -> int:
    try:  # Linux >= 4.7: no need to change the process umask to read it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Mode of a new output file: what ``open(path, "w")`` would give.
FILE_MODE = 0o666 & ~_read_umask()

_DIGESTS: dict[tuple, str] = {}
_DIGESTS_MAX = 500_000


def _hash_bytes(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def identity(st: os.stat_result) -> tuple[int, int]:
    """What says "this is the same file, unchanged": size and modification time (ns).

    Any rewrite gives a new mtime, while a copy that keeps times (``cp -a``, ``rsync -a``,
    ``shutil.copy2``) keeps the identity, so a data folder can be moved or copied.
    """
    return (st.st_size, st.st_mtime_ns)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, remembered within the process by file identity."""
    st = os.stat(path)
    memo = (os.fspath(path), *identity(st))
    if memo in _DIGESTS:
        return _DIGESTS[memo]
    digest = _hash_bytes(path)
    if len(_DIGESTS) >= _DIGESTS_MAX:
        _DIGESTS.clear()
    _DIGESTS[memo] = digest
    return digest


class FileHashes:
    """Content hashes remembered across runs in one JSON file, keyed by path below ``base``.

    An entry is used only while the file's :func:`identity` (size, mtime in ns) is
    unchanged, as ``git``'s index does; anything else is hashed again. :meth:`save` writes
    the entries seen in this run (atomically), so deleted files drop out.
    """

    def __init__(self, store: str | os.PathLike, base: str | os.PathLike):
        self.store = Path(store)
        self.base = Path(base)
        try:
            self._old: dict[str, list] = json.loads(self.store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._old = {}
        self._new: dict[str, list] = {}
        self.hashed = 0
        """Files actually read in this run."""

    def sha256(self, path: str | os.PathLike) -> str:
        key = Path(path).relative_to(self.base).as_posix()
        st = os.stat(path)
        ident = list(identity(st))
        old = self._old.get(key) or self._new.get(key)
        if old and old[:2] == ident:
            digest = old[2]
        else:
            digest = sha256_file(path)
            self.hashed += 1
        self._new[key] = [*ident, digest]
        return digest

    def save(self) -> None:
        if self._new != self._old:
            atomic_write_json(self.store, self._new, indent=None)


def _tmp_name(dest: Path) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{dest.name}.", suffix=".part",
                                    dir=dest.parent)
    except OSError as e:
        raise output_error(e, dest) from None
    os.close(fd)
    return Path(name)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_dirs(folder: str | os.PathLike) -> Path:
    """``mkdir -p`` whose failure is an :class:`OutputError` naming the folder."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot create folder {folder}: a file is in the way",
                          folder) from None
    except OSError as e:
        raise output_error(e, folder, "creating") from None
    return folder


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, mode: int | None = None, *,
                durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it is renamed over ``dest``.

    The file gets ``mode`` (default :data:`FILE_MODE`). On any exception the temporary
    file is removed and ``dest`` is left as it was; an ``OSError`` is raised again as
    :class:`OutputError` naming ``dest``.

    ``durable`` (default) also flushes the file and its folder to the disk (fsync), so the
    result survives a power cut, not only a killed process. Derived files that are checked
    before use (cache entries, processed clips vouched for by their state's size and mtime)
    pass False: a crash can at worst leave one that fails its check and is made again, and
    the two fsyncs cost more than fingerprinting the clip (about 1.5 ms a file here).
    """
    dest = Path(dest)
    make_dirs(dest.parent)
    tmp = _tmp_name(dest)
    try:
        try:
            yield tmp
        except OSError as e:
            if isinstance(e, FileNotFoundError) and not tmp.parent.is_dir():
                raise
            raise output_error(e, dest) from None
        try:
            os.chmod(tmp, FILE_MODE if mode is None else mode)
            if durable:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
        except OSError as e:
            raise output_error(e, dest) from None
        try:
            os.replace(tmp, dest)
        except OSError as e:
            raise output_error(e, dest, "replacing") from None
        if durable:
            _fsync_dir(dest.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def is_own_temporary(name: str) -> bool:
    """True for the names :func:`atomic_path` and :func:`copy_no_clobber` create."""
    return bool(_PART.match(name))


def remove_stale_parts(*folders: str | os.PathLike) -> int:
    """Delete the temporary files a killed run left below ``folders``.

    Only this package's own names are touched (:func:`is_own_temporary`); run it only while
    holding the data root's :class:`DataLock`. Returns how many files were removed.
    """
    removed = 0
    for folder in folders:
        if not Path(folder).is_dir():
            continue
        for dirpath, _, filenames in os.walk(str(folder)):
            for name in filenames:
                if is_own_temporary(name):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(dirpath, name))
                        removed += 1
    return removed


def atomic_write(dest: str | os.PathLike, writer: Callable[[Path], Any], *,
                 durable: bool = True) -> Path:
    """Call ``writer(tmp_path)`` and atomically move the result to ``dest``."""
    with atomic_path(dest, durable=durable) as tmp:
        writer(tmp)
    return Path(dest)


def atomic_write_text(dest: str | os.PathLike, text: str, *, durable: bool = True) -> Path:
    return atomic_write(dest, lambda p: p.write_text(text, encoding="utf-8"), durable=durable)


def atomic_write_bytes(dest: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(dest, lambda p: p.write_bytes(data))


def atomic_write_json(dest: str | os.PathLike, data: Any, indent: int | None = 2, *,
                      durable: bool = True) -> Path:
    """``data`` as JSON, streamed to the file (a log of thousands of clips is never one
    string in memory); NaN/Inf raise ValueError and leave ``dest`` as it was."""
    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=indent, ensure_ascii=False, allow_nan=False)
            f.write("\n")

    return atomic_write(dest, write, durable=durable)


def copy_no_clobber(src: str | os.PathLike | None, dest: str | os.PathLike,
                    expected_sha256: str | None = None, data: bytes | None = None) -> str:
    """Copy ``src`` (or write ``data``) to ``dest`` unless ``dest`` exists; return the SHA-256.

    The bytes go to a temporary file beside ``dest``, get the source's permission bits
    (``data``: :data:`FILE_MODE`), are hashed back from disk and compared with
    ``expected_sha256`` (when given), then are linked into place with ``os.link``, which
    fails rather than replace an existing file. Raises :class:`FileExistsError` if ``dest``
    exists, ``OSError`` if the copy does not verify; neither leaves anything behind.
    """
    dest = Path(dest)
    tmp = _tmp_name(dest)
    try:
        if data is None:
            assert src is not None, "copy_no_clobber needs src or data"
            shutil.copyfile(src, tmp)
            os.chmod(tmp, stat.S_IMODE(os.stat(src).st_mode))
        else:
            tmp.write_bytes(data)
            os.chmod(tmp, FILE_MODE)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        got = _hash_bytes(tmp)
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


def walk_files(root: str | os.PathLike, skipped: list[Finding] | None = None,
               file_suffixes: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield regular files below ``root`` in sorted order, following links safely.

    Hidden entries (names starting with ".") are reported, not walked, except this package's
    own temporary files, which are not the user's business. Symbolic links to files are
    yielded; links to folders are followed once (a folder reached twice is not walked again);
    dangling links, link loops and anything that is not a regular file (FIFO, socket,
    device) are reported to ``skipped`` with the reason, and so is a folder named like a
    file (its name ends in one of ``file_suffixes``, e.g. ``kick.wav/``) that holds no file.
    """
    root = Path(root)
    seen: set[tuple[int, int]] = set()
    sink = skipped if skipped is not None else []

    def visit_named(folder: Path) -> Iterator[Path]:
        found = 0
        for path in visit(folder):
            found += 1
            yield path
        if not found and folder.suffix.lower() in file_suffixes:
            sink.append(Finding(str(folder), "is a directory, not an audio file"))

    def visit(folder: Path) -> Iterator[Path]:
        try:
            st = folder.stat()
        except OSError as e:
            sink.append(Finding(str(folder), os_reason(e)))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            sink.append(Finding(str(folder), "folder already visited through a link (loop?)"))
            return
        seen.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            sink.append(Finding(str(folder), os_reason(e)))
            return
        for entry in entries:
            kind = _kind(entry, sink)
            if kind == "dir":
                yield from visit_named(Path(entry.path))
            elif kind == "file":
                yield Path(entry.path)

    yield from visit(root)


def _kind(entry: os.DirEntry, sink: list[Finding]) -> str | None:
    """``"dir"`` or ``"file"`` (links followed), else None with the reason in ``sink``."""
    path = Path(entry.path)
    if entry.name.startswith("."):
        if not is_own_temporary(entry.name):
            sink.append(Finding(str(path), "hidden file or folder (name starts with '.')"))
        return None
    try:
        is_dir = entry.is_dir(follow_symlinks=True)
        is_file = entry.is_file(follow_symlinks=True)
        if entry.is_symlink():
            os.stat(path)  # raises for loops and dangling links
    except OSError as e:
        sink.append(Finding(str(path), os_reason(e)))
        return None
    if is_dir or is_file:
        return "dir" if is_dir else "file"
    sink.append(Finding(str(path), "symbolic link to nothing usable" if entry.is_symlink()
                        else "not a regular file"))
    return None


def os_reason(e: OSError) -> str:
    """A one-line reason for an OS error, without the Python noise."""
    if e.errno == errno.ELOOP:
        return "symbolic link loop"
    if e.errno == errno.ENOENT:
        return "no such file (or a dangling symbolic link)"
    return e.strerror or str(e)


# --- the data root's lock ------------------------------------------------------------------

_HELD: dict[str, list] = {}
"""Locks this process holds: resolved lock path -> [fd, depth] (the lock is re-entrant)."""


class DataLock:
    """An advisory lock (``flock``) on ``<root>/.clarity.lock`` for writing commands.

    Re-entrant within a process (``run`` holds it while calling ``normalize``). A second
    process gets :class:`BusyError` ("data folder D is in use by pid N") at once, or waits
    for the lock with ``wait=True``. The kernel drops the lock when the holder dies, so a
    killed run never leaves it taken. Readers take no lock.
    """

    NAME = ".clarity.lock"

    def __init__(self, root: str | os.PathLike, wait: bool = False):
        self.root = Path(root)
        self.path = self.root / self.NAME
        self.wait = wait
        self._key = ""

    def __enter__(self) -> "DataLock":
        make_dirs(self.root)
        self._key = str(self.path.resolve())
        held = _HELD.get(self._key)
        if held is not None:
            held[1] += 1
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as e:
            raise output_error(e, self.path) from None
        try:
            self._acquire(fd)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        _HELD[self._key] = [fd, 1]
        return self

    def _acquire(self, fd: int) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if not self.wait:
                    raise BusyError(f"data folder {self.root} is in use by pid "
                                    f"{self._holder()} (another clarity command); wait for "
                                    f"it to finish, or pass --wait") from None
                time.sleep(0.2)

    def _holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def __exit__(self, *exc: object) -> None:
        held = _HELD.get(self._key)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self._key]
            with contextlib.suppress(OSError):
                os.ftruncate(held[0], 0)
            os.close(held[0])  # closing the descriptor releases the flock


# --- folders replaced whole ----------------------------------------------------------------

def publish_version(link: str | os.PathLike, versions: str | os.PathLike,
                    fill: Callable[[Path], Any], start_from_current: bool = False) -> Path:
    """Build a new version of a folder and make ``link`` point to it in one atomic step.

    ``fill(folder)`` writes the new version into a staging folder under ``versions``
    (pre-filled with hard links to the current version's files when
    ``start_from_current``). Only when it returns is the folder renamed complete and the
    symbolic link ``link`` replaced (``os.replace`` of a link is atomic), so a reader, and a
    run killed at any moment, sees the old version whole or the new one whole. Older
    versions and staging folders of killed runs are removed afterwards. A real folder at
    ``link`` (from an older release) is moved into ``versions`` first. Returns the new
    version's folder. Hold the data root's :class:`DataLock`.
    """
    link, versions = Path(link), Path(versions)
    make_dirs(versions)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    staging = Path(tempfile.mkdtemp(prefix=f"{stamp}-", suffix=".incomplete", dir=versions))
    try:
        current = link.resolve() if link.is_symlink() or link.is_dir() else None
        if start_from_current and current is not None and current.is_dir():
            for f in current.iterdir():
                if f.is_file():
                    os.link(f, staging / f.name)
        fill(staging)
        done = staging.with_name(staging.name[: -len(".incomplete")])
        os.rename(staging, done)
        os.chmod(done, 0o777 & ~_read_umask())
        _fsync_dir(versions)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if link.is_dir() and not link.is_symlink():  # a folder from an older release
        os.rename(link, versions / f"{stamp}-legacy")
    tmp_link = link.with_name(f"{TMP_PREFIX}{link.name}.{os.urandom(4).hex()}.part")
    os.symlink(os.path.relpath(done, link.parent), tmp_link)
    try:
        os.replace(tmp_link, link)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp_link.unlink()
        raise output_error(e, link, "replacing") from None
    _fsync_dir(link.parent)
    for old in versions.iterdir():
        if old != done:
            shutil.rmtree(old, ignore_errors=True)
    return done
