"""Per-clip normalization state: what vouches for a processed copy.

Each clip's state is a line of ``processed/.state.jsonl`` (a checksummed append-only
journal, :class:`ngn_clarity.cache.Cache`, keyed by the output's path; the last line of a
clip wins), appended by the run's coordinator *after* the worker wrote the output: the
source hash, the settings key, the loudness before and after, the gain, and the output's
identity (size and modification time in ns). An output is up to date only while all of
these still match (:meth:`NormState.vouches_for`); a run killed after replacing an output
but before its state leaves a mismatch, so the clip is redone (never trusted). A clip whose
loudness cannot be measured gets a ``failed`` state with the reason and is not retried
until its content or the settings change.

The JSON keeps the keys and order it always had (``normalization_log.json`` is built from
these states, and users read both). (Until issue 22 each clip had a file of its own,
``processed/.state/<subset>/<instrument>/<rel>.json``; the first run of this version
normalizes each clip once more and removes that folder.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import audio
from .cache import Cache
from .cache import key as cache_key
from .catalog import Entry
from .fsutil import identity
from .gain import NormalizeSettings, Normalized
from .layout import Layout
from .loudness import LoudnessReport

#: The keys every state has; the others appear only once known (see :meth:`NormState.to_dict`).
_BASE = ("source", "output", "subset", "instrument", "source_sha256", "settings_key",
         "status", "error")


@dataclass(frozen=True)
class NormState:
    """One clip's normalization state (see the module doc).

    ``status`` is ``"normalized"`` or ``"failed"``; ``before``/``after`` are
    :meth:`LoudnessReport.to_dict` of the source and the output; ``after_hop_energies`` are
    the output's per-hop energies (to fingerprint it without measuring it again).
    """

    source: str
    """Path below the data root, e.g. ``raw/gold/drums/kick_001.wav``."""
    output: str
    subset: str
    instrument: str
    source_sha256: str
    settings_key: str
    status: str = "failed"
    error: str | None = None
    subtype: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    gain_db: float | None = None
    gain_limited: bool | None = None
    flags: list[str] | None = None
    after_hop_energies: list[float] | None = None
    output_identity: list[int] | None = None

    @classmethod
    def new(cls, layout: Layout, entry: Entry, cfg: NormalizeSettings,
            subtype: str | None = None) -> "NormState":
        """The state of a clip before its outcome is known."""
        return cls(entry.rel_source,
                   layout.processed_rel(entry.clip),
                   entry.clip.subset, entry.clip.instrument, entry.sha256, cfg.key(),
                   subtype=subtype)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the base keys always, the others once set, in field order."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name in _BASE or getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "NormState":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def normalized(self, result: Normalized, sample_rate: int, channels: int) -> "NormState":
        """This state with the outcome of a normalization."""
        return replace(self, status="normalized", sample_rate=sample_rate, channels=channels,
                       before=result.before.to_dict(), after=result.after.to_dict(),
                       gain_db=result.gain_db, gain_limited=result.limited,
                       flags=list(result.before.flags),
                       after_hop_energies=list(result.after.hop_energies))

    def vouches_for(self, sha256: str, key: str, dest: Path) -> bool:
        """True if this state vouches for ``dest`` as the output of this content and
        settings: normalized (and the output unchanged since), or a known failure."""
        if self.source_sha256 != sha256 or self.settings_key != key:
            return False
        if self.status == "failed":
            return True
        if self.status != "normalized":
            return False
        try:
            return list(identity(os.stat(dest))) == self.output_identity
        except OSError:
            return False

    def pack(self) -> bytes:
        """All but the per-hop energies (about 1.6 KB a clip, needed only by the task that
        fingerprints from a state) as compact JSON: what a plan keeps of each clip until the
        log is written. One bytes object of about 0.8 KB, where the parsed state was about
        2 KB of small objects (dicts, floats, strings) that, freed, left the heap fragmented
        at 20,000 clips. :meth:`unpack` gives the state back."""
        d = self.to_dict()
        d.pop("after_hop_energies", None)
        return json.dumps(d, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def unpack(cls, packed: bytes) -> "NormState":
        return cls.from_dict(json.loads(packed))

    def loudness_after(self) -> LoudnessReport | None:
        """The state's measurement of its (float) output, to reuse in the fingerprint."""
        if (self.subtype or "FLOAT") != "FLOAT" or self.after is None:
            return None
        return LoudnessReport.from_dict(self.after, self.after_hop_energies or ())


def journal(layout: Layout) -> Cache:
    """The data folder's normalization states (``processed/.state.jsonl``)."""
    return Cache(layout.norm_states.parent, layout.norm_states.stem)


def _key(output: str) -> str:
    return cache_key("state", output)


def read_state(states: Cache, output: str) -> NormState | None:
    """The state of the processed copy at ``output`` (path below the data root, as
    :meth:`Layout.processed_rel` gives it and :attr:`NormState.output` holds it); None if
    there is none or its line is damaged."""
    d = states.get(_key(output))
    try:
        return NormState.from_dict(d) if isinstance(d, dict) else None
    except TypeError:
        return None


def record(states: Cache, state: NormState) -> None:
    """Append ``state`` (hold the data folder's lock; call it only once the output it
    vouches for is written)."""
    states.put(_key(state.output), state.to_dict())


def write_output(dest: str | Path, state: NormState, out: np.ndarray, sample_rate: int,
                 subtype: str) -> NormState:
    """Write the normalized audio; return the state that vouches for it, for the
    coordinator to :func:`record` (in that order).

    Neither is fsynced: both are derived, and the state holds only while the output's size
    and mtime match what it recorded (:meth:`NormState.vouches_for`), so a crash leaves at
    worst a clip that is normalized again."""
    audio.write(dest, out, sample_rate, subtype=subtype, durable=False)
    return replace(state, output_identity=list(identity(os.stat(dest))))


def failed(state: NormState, error: str) -> NormState:
    """The state that says the clip cannot be normalized, and why."""
    return replace(state, status="failed", error=error)
