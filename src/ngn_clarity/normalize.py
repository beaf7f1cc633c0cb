"""Loudness normalization: every clip in ``raw/`` -> ``processed/`` at -18 LUFS.

``raw/<subset>/<instrument>/<rel>`` becomes ``processed/<subset>/<instrument>/<rel>`` with
a ``.wav`` suffix, the same sample rate and channels, and a gain that brings its integrated
loudness (:mod:`ngn_clarity.loudness`) to the target. The default output is 32-bit float
WAV, so no gain clips. With ``subtype="PCM_24"`` or ``"PCM_16"`` the gain is lowered, where
needed, to keep the true peak at or under -1 dBTP, and the log records ``gain_limited``.

**What counts as done.** Each clip has a state file, ``processed/.state/<subset>/
<instrument>/<rel>.json``, written atomically *after* its output: the source hash, the
settings key, the loudness before and after, the gain, and the output's identity (size and
modification time in ns). An output is up to date only while all of these still match; a run
killed after replacing an output but before its state leaves a mismatch, so the clip is
redone (never trusted). A clip whose loudness cannot be measured gets a ``failed`` state
with the reason and is not retried until its content or the settings change.

``features/normalization_log.json`` is the report built from those states at the end of a
step: per clip loudness before and after, LRA, true peak, gain, flags and errors, and
totals. Raw files are only read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import audio, loudness, settings
from .catalog import Catalog, Entry, scan
from .errors import LoudnessError
from .fsutil import atomic_write_json, identity
from .layout import Layout
from .outcome import StepReport
from .settings import Interval, Options, Validated

LOG_VERSION = 2


@dataclass(frozen=True)
class NormalizeSettings(Validated):
    target_lufs: float = settings.TARGET_LUFS
    subtype: str = "FLOAT"
    true_peak_ceiling_dbtp: float = settings.TRUE_PEAK_CEILING_DBTP

    constraints = {"target_lufs": settings.TARGET_LUFS_RANGE,
                   "subtype": Options(settings.OUTPUT_SUBTYPES),
                   "true_peak_ceiling_dbtp": Interval(float, -20.0, 0.0)}

    @property
    def ceiling(self) -> float | None:
        """True-peak ceiling that applies: none for float output."""
        return None if self.subtype == "FLOAT" else self.true_peak_ceiling_dbtp

    def key(self) -> str:
        """Hash of everything that changes an output: settings and the loudness engine."""
        blob = json.dumps({**asdict(self), "engine": loudness.ENGINE,
                           "log_version": LOG_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: Re-measure and correct the gain at most this many times (see normalize_samples).
_MAX_CORRECTIONS = 3
#: ... until the result is this close to the target (LU).
_SETTLE_LU = 0.005


@dataclass(frozen=True)
class Normalized:
    out: np.ndarray
    before: loudness.LoudnessReport
    after: loudness.LoudnessReport
    gain_db: float
    limited: bool


def normalize_samples(samples: np.ndarray, sample_rate: int,
                      cfg: NormalizeSettings) -> Normalized:
    """Pure core: bring one clip's samples to the target loudness.

    The clip is measured once. A gain shifts every BS.1770 measure by exactly that much
    unless a gating block crosses the -70 LUFS absolute gate (blocks of a sparse clip, a kick
    with gaps, can): then the first gain can miss by 0.1-0.3 LU, so the result is re-measured
    and the gain corrected until it is within 0.005 LU (at most three times), or until the
    true-peak ceiling of fixed-point output limits it. ``after`` describes ``out`` (what a
    fingerprint of ``out`` reads). True peak is measured for fixed-point output only (float
    output cannot clip). Raises :class:`~ngn_clarity.errors.LoudnessError` (e.g. silence)
    when there is no loudness to fix.
    """
    before = loudness.measure(samples, sample_rate, true_peak=cfg.ceiling is not None)
    gain_db, limited = loudness.gain_to_target(before, cfg.target_lufs, cfg.ceiling)

    def apply(gain: float) -> tuple[np.ndarray, loudness.LoudnessReport]:
        out = (samples * np.float32(10.0 ** (gain / 20.0))).astype(np.float32)
        if before.gain_is_exact(gain):
            return out, before.scaled(gain)
        after = loudness.measure(out, sample_rate, true_peak=False)
        tp = None if before.true_peak_dbtp is None else before.true_peak_dbtp + gain
        return out, replace(after, true_peak_dbtp=tp)  # true peak scales exactly

    out, after = apply(gain_db)
    for _ in range(_MAX_CORRECTIONS):
        error = cfg.target_lufs - after.integrated_lufs
        if limited or abs(error) <= _SETTLE_LU:
            break
        gain_db += error
        tp = before.true_peak_dbtp
        if cfg.ceiling is not None and tp is not None and tp + gain_db > cfg.ceiling:
            gain_db, limited = cfg.ceiling - tp, True
        out, after = apply(gain_db)
    return Normalized(out, before, after, gain_db, limited)


# --- per-clip state ------------------------------------------------------------------------

def _rel(layout: Layout, path: Path) -> str:
    return path.relative_to(layout.root).as_posix()


def base_state(layout: Layout, entry: Entry, cfg: NormalizeSettings) -> dict[str, Any]:
    """The state of a clip before its outcome is known."""
    return {"source": entry.rel_source,
            "output": _rel(layout, layout.processed_path(entry.clip)),
            "subset": entry.clip.subset, "instrument": entry.clip.instrument,
            "source_sha256": entry.sha256, "settings_key": cfg.key(), "status": "failed",
            "error": None}


def normalized_state(state: dict[str, Any], result: Normalized, sample_rate: int,
                     channels: int) -> dict[str, Any]:
    return {**state, "status": "normalized", "sample_rate": sample_rate,
            "channels": channels, "before": result.before.to_dict(),
            "after": result.after.to_dict(), "gain_db": result.gain_db,
            "gain_limited": result.limited, "flags": list(result.before.flags),
            "after_hop_energies": list(result.after.hop_energies)}


def write_output(dest: str | Path, state_path: str | Path, state: dict[str, Any],
                 out: np.ndarray, sample_rate: int, subtype: str) -> dict[str, Any]:
    """Write the normalized audio, then the state that vouches for it (in that order).

    Neither is fsynced: both are derived, and the state holds only while the output's size
    and mtime match what it recorded (:func:`state_holds`), so a crash leaves at worst a
    clip that is normalized again."""
    audio.write(dest, out, sample_rate, subtype=subtype, durable=False)
    state = {**state, "output_identity": list(identity(os.stat(dest)))}
    atomic_write_json(state_path, state, durable=False)
    return state


def write_failed(state_path: str | Path, state: dict[str, Any], error: str) -> dict[str, Any]:
    state = {**state, "status": "failed", "error": error}
    atomic_write_json(state_path, state)
    return state


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return state if isinstance(state, dict) else None
    except (OSError, ValueError):
        return None


def state_holds(state: dict[str, Any] | None, sha256: str, key: str, dest: Path) -> bool:
    """True if ``state`` vouches for ``dest`` as the output of this content and settings:
    normalized (and the output unchanged since), or a known failure."""
    if not state or state.get("source_sha256") != sha256 or state.get("settings_key") != key:
        return False
    if state.get("status") == "failed":
        return True
    if state.get("status") != "normalized":
        return False
    try:
        return list(identity(os.stat(dest))) == state.get("output_identity")
    except OSError:
        return False


def _round(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def log_entry(state: dict[str, Any], up_to_date: bool) -> dict[str, Any]:
    """One file's entry of ``normalization_log.json`` (values rounded for reading)."""
    e = {k: v for k, v in state.items() if k not in ("output_identity", "after_hop_energies")}
    if e.get("status") == "normalized":
        e["before"], e["after"] = _round(e["before"]), _round(e["after"])
        e["gain_db"] = round(e["gain_db"], 4)
        e["output_bytes"] = state["output_identity"][0]
        if up_to_date:
            e["status"] = "up_to_date"
    return e


def build_log(layout: Layout, cfg: NormalizeSettings,
              entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    files = sorted(entries, key=lambda e: e["source"])
    ok = [e for e in files if e["status"] in ("normalized", "up_to_date")]
    gains = [e["gain_db"] for e in ok]
    return {
        "version": LOG_VERSION,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": True,
        "data_dir": str(layout.root),
        "settings": {**asdict(cfg), "key": cfg.key()},
        "engine": loudness.ENGINE,
        "totals": {
            "files": len(files),
            "normalized": sum(e["status"] == "normalized" for e in files),
            "up_to_date": sum(e["status"] == "up_to_date" for e in files),
            "failed": sum(e["status"] == "failed" for e in files),
            "refused": sum(e["status"] == "refused" for e in files),
            "gain_limited": sum(bool(e.get("gain_limited")) for e in ok),
            "short_clips": sum("short_clip" in e.get("flags", []) for e in ok),
            "gain_db_min": round(min(gains), 4) if gains else None,
            "gain_db_max": round(max(gains), 4) if gains else None,
            "gain_db_mean": round(sum(gains) / len(gains), 4) if gains else None,
        },
        "files": files,
    }


def write_log(layout: Layout, cfg: NormalizeSettings,
              entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    log = build_log(layout, cfg, entries)
    atomic_write_json(layout.normalization_log, log)
    return log


# --- the step ------------------------------------------------------------------------------

@dataclass
class NormalizeResult:
    report: StepReport
    log: dict[str, Any] = field(default_factory=dict)


def normalize(layout: Layout, cfg: NormalizeSettings | None = None, *,
              jobs: int | None = 1, scheduler: str | None = None, force: bool = False,
              progress: bool = True, catalog: Catalog | None = None) -> NormalizeResult:
    """Normalize every usable clip of ``raw/``; write ``features/normalization_log.json``.

    Clips refused by validation (:mod:`ngn_clarity.dataset.validate`) are reported with their
    reason and not normalized. ``jobs`` worker processes, or the Dask cluster at
    ``scheduler`` (see :mod:`.executor`).
    """
    from .work import Plan, execute

    cfg = cfg or NormalizeSettings()
    rep = StepReport("normalize")
    with layout.lock():
        if n := layout.remove_partial_files():
            rep.notes.append(f"removed {n} temporary file(s) left by an interrupted run")
        plan = Plan.make(layout, catalog or scan(layout), cfg, schema=None, force=force)
        done = execute(plan, jobs=jobs, scheduler=scheduler, progress=progress)
        for path, reason in done.refused.items():
            rep.skip(path, reason)
        for state in done.normalized:
            rep.done.append({"source": state["source"], "gain_db": round(state["gain_db"], 4),
                             "gain_limited": state["gain_limited"]})
        log = write_log(layout, cfg, done.log_entries())
    up = log["totals"]["up_to_date"]
    if up:
        rep.notes.append(f"{up} file(s) up to date (same source and settings), not redone")
    return NormalizeResult(rep, log)


def verify(layout: Layout, cfg: NormalizeSettings | None = None,
           tolerance_lu: float = settings.VERIFY_TOLERANCE_LU) -> StepReport:
    """Re-measure every processed file; a clip is wrong if missing or off target.

    Clips whose state says ``gain_limited`` (fixed-point output under the true-peak
    ceiling) may sit below the target and are checked against their recorded level.
    """
    cfg = cfg or NormalizeSettings()
    rep = StepReport("verify")
    for entry in scan(layout).entries:
        clip = entry.clip
        if entry.refusal is not None:
            rep.skip(clip.path, f"not normalized: {entry.refusal}")
            continue
        dest = layout.processed_path(clip)
        state = read_state(layout.norm_state_path(clip)) or {}
        if state.get("status") == "failed" and state.get("source_sha256") == entry.sha256:
            rep.skip(clip.path, f"not normalized: {state.get('error')}")
            continue
        if not dest.is_file():
            rep.skip(dest, "missing processed file (run --normalize)")
            continue
        try:
            samples, sr = audio.read(dest)
            measured = loudness.measure(samples, sr, true_peak=False).integrated_lufs
        except (audio.AudioError, LoudnessError) as e:
            rep.skip(dest, f"cannot measure: {e.reason}")
            continue
        expected = cfg.target_lufs
        if state.get("gain_limited"):
            expected = state.get("after", {}).get("integrated_lufs", expected)
        off = measured - expected
        entry_out = {"file": _rel(layout, dest), "integrated_lufs": round(measured, 3),
                     "expected_lufs": round(expected, 3),
                     "gain_limited": bool(state.get("gain_limited"))}
        if abs(off) > tolerance_lu:
            rep.skip(dest, f"{measured:.2f} LUFS is {off:+.2f} LU off {expected:.2f} "
                           f"(tolerance {tolerance_lu} LU)")
        else:
            rep.done.append(entry_out)
    return rep
