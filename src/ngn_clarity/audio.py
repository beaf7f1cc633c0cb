"""Audio I/O: the one module that reads and writes audio files.

* :func:`read` decodes WAV, FLAC, AIFF, OGG/Vorbis and MP3 (any bit depth, float, 8-192 kHz,
  1-8 channels) with libsndfile (``soundfile``) to ``float32`` of shape ``(frames, channels)``.
* :func:`info` reads only the header.
* :func:`write` writes atomically (temp file + rename); the default is 32-bit float WAV;
  :func:`encode_wav` gives a WAV file's bytes (to hash before writing).

The array helpers (downmix, resampling) are in :mod:`ngn_clarity.dsp`, the checks on decoded
samples in :mod:`ngn_clarity.checks`.

Anything that cannot be used raises :class:`AudioError`, whose message is a one-line reason.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from . import settings
from .checks import Tally, content_problem, too_short
from .errors import AudioError, DiskFullError, output_error
from .fsutil import atomic_path, os_reason

__all__ = ["AUDIO_EXTENSIONS", "BLOCK_FRAMES", "AudioError", "AudioInfo", "blocks",
           "check_usable", "encode_wav", "info", "is_audio_name", "read", "read_usable",
           "write"]

#: Extensions the pipeline reads (lower case, with the dot).
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def is_audio_name(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def _check_file(path: Path) -> None:
    """Refuse what is not a regular audio file before anything opens it (a FIFO would hang)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise AudioError(path, "dangling symbolic link (its target does not exist)") from None
        raise AudioError(path, "no such file") from None
    except OSError as e:
        raise AudioError(path, f"cannot open: {os_reason(e)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError(path, "is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioError(path, "not a regular file (a FIFO, socket or device)")
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(path, f"unsupported file type {path.suffix or '(no extension)'!r} "
                               f"(expected {', '.join(AUDIO_EXTENSIONS)})")


def _wav_data_chunk(path: Path) -> tuple[int, int] | None:
    """(offset of the data bytes, declared data size) of a plain RIFF/WAVE file, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"data":
                    return f.tell(), size
                f.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None


def _chunks_parse(data: bytes) -> bool:
    """True if ``data`` (what follows a WAV data chunk) is a sequence of RIFF chunks."""
    pos = 0
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if not all(32 <= b < 127 for b in cid) or pos + 8 + size > len(data) + 1:
            return False
        pos += 8 + size + (size & 1)
    return len(data) - pos <= 1  # a pad byte at most


def _wav_frame_problem(path: Path, block_align: int, frames: int) -> str | None:
    """A mismatch between what a WAV header declares and what the file holds, or None."""
    found = _wav_data_chunk(path)
    if found is None or not block_align:
        return None
    start, declared_bytes = found
    if declared_bytes in (0, 0xFFFFFFFF):  # streamed WAV (size unknown when written):
        return None                         # libsndfile reads to the end, as it should
    declared = declared_bytes // block_align
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if declared > frames:
        return f"truncated file: header declares {declared} frames, only {frames} present"
    trailing = size - start - declared_bytes
    if trailing > block_align + 8:
        with open(path, "rb") as f:
            f.seek(start + declared_bytes + (declared_bytes & 1))
            rest = f.read(min(trailing, 1 << 20) + 1)
        if len(rest) > (1 << 20) or not _chunks_parse(rest):
            held = (size - start) // block_align
            return f"header says {declared} frames, file holds {held} (corrupt WAV header)"
    return None


def _open_error(path: Path, e: Exception) -> AudioError:
    if isinstance(e, OSError) and not isinstance(e, sf.SoundFileError):
        return AudioError(path, f"cannot open: {os_reason(e)}")
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    if size == 0:
        return AudioError(path, "empty file (0 bytes)")
    msg = str(e)
    if "Format not recognised" in msg or "not recognised" in msg:
        return AudioError(path, "not an audio file (format not recognised)")
    detail = msg.split(": ", 1)[-1].strip() if ": " in msg else msg
    return AudioError(path, f"unreadable audio ({detail})")


def info(path: str | os.PathLike) -> AudioInfo:
    """Header facts of an audio file; raises :class:`AudioError` if it is not usable audio."""
    path = Path(path)
    _check_file(path)
    try:
        i = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError) as e:
        raise _open_error(path, e) from None
    result = AudioInfo(str(path), int(i.samplerate), int(i.channels), int(i.frames),
                       i.format, i.subtype)
    _check_info(result)
    return result


def _check_info(i: AudioInfo) -> None:
    if i.frames <= 0:
        raise AudioError(i.path, "no audio frames (empty data)")
    if not settings.MIN_SAMPLE_RATE <= i.sample_rate <= settings.MAX_SAMPLE_RATE:
        raise AudioError(i.path, f"unsupported sample rate {i.sample_rate} Hz (expected "
                                 f"{settings.MIN_SAMPLE_RATE}-{settings.MAX_SAMPLE_RATE} Hz)")
    if not 1 <= i.channels <= settings.MAX_CHANNELS:
        raise AudioError(i.path, f"unsupported channel count {i.channels} "
                                 f"(expected 1-{settings.MAX_CHANNELS})")
    if i.format == "WAV" and i.subtype in _PCM_BYTES:
        problem = _wav_frame_problem(Path(i.path), _PCM_BYTES[i.subtype] * i.channels,
                                     i.frames)
        if problem:
            raise AudioError(i.path, problem)


_PCM_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def read(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode a file (WAV, FLAC, AIFF, OGG, MP3).

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    samples : np.ndarray
        ``float32`` of shape ``(frames, channels)``.
    sample_rate : int

    Raises
    ------
    AudioError
        For anything unusable: missing, empty, not audio, truncated, unsupported rate or
        channel count. NaN/Inf samples are *not* an error here (a caller that needs finite
        audio checks with :func:`~ngn_clarity.checks.content_problem`, or calls
        :func:`read_usable`).
    """
    i = info(path)
    try:
        data, sr = sf.read(i.path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, OSError) as e:
        raise _open_error(Path(i.path), e) from None
    if data.shape[0] == 0:
        raise AudioError(i.path, "no audio frames (empty data)")
    return data, int(sr)


#: Frames per block when a file is read in blocks (about 24 s at 44.1 kHz; 4 MB a channel).
BLOCK_FRAMES = 1 << 20


def blocks(path: str | os.PathLike, frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode a file ``frames`` (default :data:`BLOCK_FRAMES`) at a time: ``float32``
    blocks of shape ``(n, channels)``, in order; :class:`AudioError` as :func:`read`."""
    i = info(path)
    try:
        with sf.SoundFile(i.path) as f:
            while True:
                block = f.read(frames or BLOCK_FRAMES, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block
    except (sf.SoundFileError, RuntimeError, OSError) as e:
        raise _open_error(Path(i.path), e) from None


def check_usable(path: str | os.PathLike, frames: int | None = None) -> AudioInfo:
    """What :func:`read_usable` checks, in the memory of one block (:func:`blocks`); the
    file's header facts, or :class:`AudioError` with the same reason."""
    i = info(path)
    tally, n = Tally(), 0
    for block in blocks(path, frames):
        tally.add(block)
        n += len(block)
    problem = tally.problem() or too_short(n, i.sample_rate)
    if problem:
        raise AudioError(path, problem)
    return i


def read_usable(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """:func:`read`, and also raise :class:`AudioError` for NaN/Inf samples, digital silence
    or a clip too short to use (the reasons and order of the run's checks)."""
    samples, sr = read(path)
    problem = content_problem(samples) or too_short(samples, sr)
    if problem:
        raise AudioError(path, problem)
    return samples, sr


_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF", ".ogg": "OGG"}


def write(path: str | os.PathLike, samples: np.ndarray, sample_rate: int,
          subtype: str = "FLOAT", *, durable: bool = True) -> Path:
    """Write ``(frames, channels)`` or ``(frames,)`` samples atomically as WAV (or by suffix);
    ``durable`` as in :func:`~ngn_clarity.fsutil.atomic_path`.

    A failed write raises :class:`~ngn_clarity.errors.OutputError` naming ``path``
    (``DiskFullError`` when the device is full; libsndfile only says "System error").
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower(), "WAV")
    with atomic_path(path, durable=durable) as tmp:
        try:
            sf.write(str(tmp), samples, int(sample_rate), subtype=subtype, format=fmt)
        except (sf.SoundFileError, RuntimeError) as e:
            raise _write_error(path, tmp, samples, e) from None
    return path


def _write_error(path: Path, tmp: Path, samples: np.ndarray, e: Exception) -> Exception:
    """libsndfile reports a full disk as "System error": tell it apart by the free space."""
    try:
        st = os.statvfs(tmp.parent)
        if st.f_bavail * st.f_frsize < max(np.asarray(samples).nbytes, 1 << 16):
            return DiskFullError(f"no space left on device while writing {path}", path)
    except OSError:
        pass
    return output_error(OSError(errno.EIO, str(e)), path)


def encode_wav(samples: np.ndarray, sample_rate: int, subtype: str = "PCM_24") -> bytes:
    """The bytes of a WAV file holding ``samples`` (to hash before writing)."""
    buf = io.BytesIO()
    sf.write(buf, samples, int(sample_rate), subtype=subtype, format="WAV")
    return buf.getvalue()
