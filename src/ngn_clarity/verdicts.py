"""Audio-check verdicts on disk: cached by content hash, so a clip is decoded to be checked
once in its life (:mod:`ngn_clarity.checks` makes them)."""

from __future__ import annotations

from pathlib import Path

from . import audio
from .cache import Cache, key
from .catalog import Entry
from .checks import CHECKS_VERSION, THRESHOLDS, Verdict, audio_checks
from .errors import AudioError

#: The cache namespace of verdicts (``cache/validate.jsonl``).
NAMESPACE = "validate"


def verdict_key(sha256: str) -> str:
    """Cache key of a file's verdict: its content and the thresholds."""
    return key("validate", sha256, THRESHOLDS, CHECKS_VERSION)


def cache(root: str | Path) -> Cache:
    """The verdict cache under ``root`` (the data folder's ``cache/``)."""
    return Cache(root, NAMESPACE)


def cached(verdicts: Cache, sha256: str) -> Verdict | None:
    """The verdict stored for this content, if any."""
    hit = verdicts.get(verdict_key(sha256))
    return None if hit is None else Verdict.from_dict(hit)


def store(verdicts: Cache, sha256: str, verdict: Verdict) -> None:
    verdicts.put(verdict_key(sha256), verdict.to_dict())


def check_file(path: str) -> Verdict:
    """Decode ``path`` and run :func:`~ngn_clarity.checks.audio_checks` (an unreadable file
    is an error)."""
    try:
        samples, sr = audio.read(path)
    except AudioError as e:
        return Verdict.refuse(e.reason)
    return audio_checks(samples, sr)


def first_error(entry: Entry, verdict: Verdict | None) -> str | None:
    """The one reason a clip is refused (catalog first, then its audio), or None."""
    if entry.refusal is not None:
        return entry.refusal
    if verdict is not None and not verdict.usable:
        return verdict.error
    return None
