"""Audio I/O: the one module that reads and writes audio files.

* :func:`read` decodes WAV, FLAC, AIFF, OGG/Vorbis and MP3 (any bit depth, float, 8-192 kHz,
  1-8 channels) with libsndfile (``soundfile``) to ``float32`` of shape ``(frames, channels)``.
* :func:`info` reads only the header.
* :func:`write` writes atomically (temp file + rename); the default is 32-bit float WAV.
* :func:`resample` (soxr, "HQ") and :func:`to_mono` are the array helpers every step shares.

Anything that cannot be used raises :class:`AudioError`, whose message is a one-line reason.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import settings
from .fsutil import atomic_path, os_reason

#: Extensions the pipeline reads (lower case, with the dot).
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")


class AudioError(Exception):
    """An audio file that cannot be used. ``reason`` is a one-line explanation."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


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


def _check_extension(path: Path) -> None:
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(path, f"unsupported file type {path.suffix or '(no extension)'!r} "
                               f"(expected {', '.join(AUDIO_EXTENSIONS)})")


def _wav_declared_frames(path: Path, block_align: int) -> int | None:
    """Frames a RIFF/WAVE header declares in its data chunk, or None if not a plain RIFF WAV."""
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
                    return size // block_align if block_align else None
                f.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
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
    _check_extension(path)
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
        declared = _wav_declared_frames(Path(i.path), _PCM_BYTES[i.subtype] * i.channels)
        if declared is not None and declared > i.frames:
            raise AudioError(i.path, f"truncated file: header declares {declared} frames, "
                                     f"only {i.frames} present")


_PCM_BYTES = {"PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


def read(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode a file to ``float32`` samples of shape ``(frames, channels)`` and its rate.

    Raises :class:`AudioError` for anything unusable: missing, empty, not audio, truncated,
    unsupported rate or channel count. NaN/Inf samples are *not* an error here (a caller that
    needs finite audio checks with :func:`content_problem`).
    """
    i = info(path)
    try:
        data, sr = sf.read(i.path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, OSError) as e:
        raise _open_error(Path(i.path), e) from None
    if data.shape[0] == 0:
        raise AudioError(i.path, "no audio frames (empty data)")
    return data, int(sr)


def read_usable(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """:func:`read`, and also raise :class:`AudioError` for NaN/Inf samples or digital silence."""
    samples, sr = read(path)
    problem = content_problem(samples)
    if problem:
        raise AudioError(path, problem)
    return samples, sr


def content_problem(samples: np.ndarray) -> str | None:
    """One-line reason why decoded samples cannot be used, or ``None`` if they can.

    Flags non-finite samples (NaN/Inf) and digital silence (peak <= settings.SILENCE_PEAK).
    """
    if samples.size == 0:
        return "no audio frames (empty data)"
    finite = np.isfinite(samples)
    if not finite.all():
        bad = int(samples.size - np.count_nonzero(finite))
        return f"{bad} non-finite sample(s) (NaN/Inf)"
    peak = float(np.max(np.abs(samples)))
    if peak <= settings.SILENCE_PEAK:
        return "digital silence (peak at or below -120 dBFS)"
    return None


def write(path: str | os.PathLike, samples: np.ndarray, sample_rate: int,
          subtype: str = "FLOAT") -> Path:
    """Write ``(frames, channels)`` or ``(frames,)`` samples atomically as WAV (or by suffix)."""
    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF",
           ".ogg": "OGG"}.get(path.suffix.lower(), "WAV")
    with atomic_path(path) as tmp:
        sf.write(str(tmp), samples, int(sample_rate), subtype=subtype, format=fmt)
    return path


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average of the channels: ``(frames, channels)`` -> ``(frames,)`` (float32)."""
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    x = samples.astype(np.float32, copy=False)
    if x.shape[1] == 1:
        return np.ascontiguousarray(x[:, 0])
    return x @ np.full(x.shape[1], 1.0 / x.shape[1], dtype=np.float32)


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Resample with soxr ("HQ": 20-bit, linear phase), along axis 0; no-op at equal rates."""
    if sr_from == sr_to:
        return samples
    import soxr

    return soxr.resample(samples, sr_from, sr_to, quality="HQ").astype(np.float32, copy=False)
