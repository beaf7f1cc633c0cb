"""Loudness normalization: every clip in ``raw/`` -> ``processed/`` at -18 LUFS.

``raw/<subset>/<instrument>/<name>.<ext>`` becomes ``processed/<subset>/<instrument>/<name>.wav``
with the same sample rate and channels and a gain that brings its integrated loudness
(:mod:`ngn_clarity.loudness`) to the target. The default output is 32-bit float WAV, so
no gain clips. With ``subtype="PCM_24"`` or ``"PCM_16"`` the gain is lowered, where needed,
to keep the true peak at or under -1 dBTP, and the log records ``gain_limited``.

``features/normalization_log.json`` holds, per clip, loudness before and after, LRA, true
peak, gain, flags and errors, plus totals. A clip whose output exists and whose log entry
has the same source hash and settings is skipped as up to date; outputs are written
atomically and the log is flushed as the run goes, so a killed run loses at most the work in
flight. Raw files are only read.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from tqdm import tqdm

from . import audio, loudness, settings
from .fsutil import atomic_write_json, os_reason, sha256_file
from .executor import run_tasks
from .layout import Clip, Layout
from .outcome import StepReport

LOG_VERSION = 1
#: The log is rewritten after this many seconds of work (and at the end).
_FLUSH_EVERY_S = 5.0


@dataclass(frozen=True)
class NormalizeSettings:
    target_lufs: float = settings.TARGET_LUFS
    subtype: str = "FLOAT"
    true_peak_ceiling_dbtp: float = settings.TRUE_PEAK_CEILING_DBTP

    def __post_init__(self) -> None:
        if self.subtype not in settings.OUTPUT_SUBTYPES:
            raise ValueError(f"subtype must be one of {', '.join(settings.OUTPUT_SUBTYPES)}, "
                             f"not {self.subtype!r}")
        if not -70.0 < self.target_lufs < 0.0:
            raise ValueError(f"target loudness must be between -70 and 0 LUFS, "
                             f"not {self.target_lufs}")

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


def normalize_samples(samples, sample_rate: int, cfg: NormalizeSettings):
    """Pure core: ``(out, before, after, gain_db, limited)`` for one clip's samples.

    A gain is not exactly a loudness shift: blocks of a sparse clip (a kick with gaps) cross
    the -70 LUFS absolute gate when the level moves, so the first gain can miss by 0.1-0.3
    LU. The result is re-measured and the gain corrected until it is within 0.005 LU (at
    most three times), or until the true-peak ceiling of fixed-point output limits it.
    Raises :class:`loudness.LoudnessError` (e.g. silence) when there is no loudness to fix.
    """
    before = loudness.measure(samples, sample_rate)
    gain_db, limited = loudness.gain_to_target(before, cfg.target_lufs, cfg.ceiling)

    def apply(gain: float):
        out = (samples * (10.0 ** (gain / 20.0))).astype("float32")
        # true peak scales exactly with the gain: no need to oversample again
        after = loudness.measure(out, sample_rate, true_peak=False)
        return out, replace(after, true_peak_dbtp=before.true_peak_dbtp + gain)

    out, after = apply(gain_db)
    for _ in range(_MAX_CORRECTIONS):
        error = cfg.target_lufs - after.integrated_lufs
        if limited or abs(error) <= _SETTLE_LU:
            break
        gain_db += error
        if cfg.ceiling is not None and before.true_peak_dbtp + gain_db > cfg.ceiling:
            gain_db, limited = cfg.ceiling - before.true_peak_dbtp, True
        out, after = apply(gain_db)
    return out, before, after, gain_db, limited


def output_path(layout: Layout, clip: Clip) -> Path:
    return layout.processed_dir(clip.subset, clip.instrument) / (clip.path.stem + ".wav")


@dataclass
class _Job:
    source: str
    dest: str
    rel_source: str
    rel_dest: str
    subset: str
    instrument: str
    sha256: str
    cfg: NormalizeSettings


def _round(report: loudness.LoudnessReport) -> dict[str, Any]:
    d = report.to_dict()
    for k, v in d.items():
        if isinstance(v, float):
            d[k] = round(v, 4)
    return d


def _run_job(job: _Job) -> dict[str, Any]:
    """Worker: normalize one file; never raises for bad audio (the entry says why)."""
    entry: dict[str, Any] = {
        "source": job.rel_source, "output": job.rel_dest, "subset": job.subset,
        "instrument": job.instrument, "source_sha256": job.sha256,
        "settings_key": job.cfg.key(), "status": "failed", "error": None}
    try:
        samples, sr = audio.read_usable(job.source)
        out, before, after, gain, limited = normalize_samples(samples, sr, job.cfg)
        audio.write(job.dest, out, sr, subtype=job.cfg.subtype)
    except audio.AudioError as e:
        entry["error"] = e.reason
        return entry
    except loudness.LoudnessError as e:
        entry["error"] = f"could not measure loudness: {e}"
        return entry
    except OSError as e:
        entry["error"] = f"cannot write {job.rel_dest}: {os_reason(e)}"
        return entry
    entry.update({
        "status": "normalized", "sample_rate": sr, "channels": int(samples.shape[1]),
        "before": _round(before), "after": _round(after), "gain_db": round(gain, 4),
        "gain_limited": limited, "flags": list(before.flags),
        "output_bytes": os.path.getsize(job.dest)})
    return entry


@dataclass
class NormalizeResult:
    report: StepReport
    log: dict[str, Any] = field(default_factory=dict)


def _load_log(path: Path) -> dict[str, dict[str, Any]]:
    """Previous log entries by source path ({} if there is no usable log)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {e["source"]: e for e in data.get("files", []) if "source" in e}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _up_to_date(prev: dict[str, Any] | None, sha: str, key: str, dest: Path) -> bool:
    if not prev or prev.get("status") not in ("normalized", "up_to_date"):
        return False
    if prev.get("source_sha256") != sha or prev.get("settings_key") != key:
        return False
    try:
        return dest.stat().st_size == prev.get("output_bytes")
    except OSError:
        return False


def _build_log(layout: Layout, cfg: NormalizeSettings, entries: Iterable[dict[str, Any]],
               complete: bool) -> dict[str, Any]:
    files = sorted(entries, key=lambda e: e["source"])
    ok = [e for e in files if e["status"] in ("normalized", "up_to_date")]
    gains = [e["gain_db"] for e in ok]
    return {
        "version": LOG_VERSION,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": complete,
        "data_dir": str(layout.root),
        "settings": {**asdict(cfg), "key": cfg.key()},
        "engine": loudness.ENGINE,
        "totals": {
            "files": len(files),
            "normalized": sum(e["status"] == "normalized" for e in files),
            "up_to_date": sum(e["status"] == "up_to_date" for e in files),
            "failed": sum(e["status"] == "failed" for e in files),
            "gain_limited": sum(bool(e.get("gain_limited")) for e in ok),
            "short_clips": sum("short_clip" in e.get("flags", []) for e in ok),
            "gain_db_min": round(min(gains), 4) if gains else None,
            "gain_db_max": round(max(gains), 4) if gains else None,
            "gain_db_mean": round(sum(gains) / len(gains), 4) if gains else None,
        },
        "files": files,
    }


def normalize(layout: Layout, cfg: NormalizeSettings | None = None, *, jobs: int = 1,
              scheduler: str | None = None, force: bool = False,
              progress: bool = True) -> NormalizeResult:
    """Normalize every clip in ``raw/``; write ``features/normalization_log.json``.

    ``jobs`` worker processes, or the Dask cluster at ``scheduler`` (see :mod:`.executor`).
    """
    cfg = cfg or NormalizeSettings()
    rep = StepReport("normalize")
    if n := layout.remove_partial_files():
        rep.notes.append(f"removed {n} temporary file(s) left by an interrupted run")
    previous = {} if force else _load_log(layout.normalization_log)
    key = cfg.key()
    entries: dict[str, dict[str, Any]] = {}
    todo: list[_Job] = []
    claimed: dict[Path, str] = {}
    for clip in layout.iter_clips("raw", rep.skipped):
        dest = output_path(layout, clip)
        rel_src = clip.path.relative_to(layout.root).as_posix()
        if dest in claimed:
            rep.skip(clip.path, f"same output name as {claimed[dest]} (names differ only in "
                                f"extension); rename one")
            continue
        claimed[dest] = rel_src
        try:
            sha = sha256_file(clip.path)
        except OSError as e:
            rep.skip(clip.path, os_reason(e))
            continue
        prev = previous.get(rel_src)
        if _up_to_date(prev, sha, key, dest):
            entries[rel_src] = {**prev, "status": "up_to_date"}
            continue
        todo.append(_Job(str(clip.path), str(dest), rel_src,
                         dest.relative_to(layout.root).as_posix(), clip.subset,
                         clip.instrument, sha, cfg))

    def flush(complete: bool) -> dict[str, Any]:
        log = _build_log(layout, cfg, entries.values(), complete)
        atomic_write_json(layout.normalization_log, log)
        return log

    # disable=None: a bar on a terminal, none in logs and pipes.
    bar = tqdm(total=len(todo), desc="normalize", unit="file",
               disable=None if progress else True, leave=False)
    last_flush = time.monotonic()
    for _, entry in run_tasks(_run_job, todo, jobs=jobs, scheduler=scheduler):
        entries[entry["source"]] = entry
        bar.update(1)
        if entry["status"] == "failed":
            rep.skip(layout.root / entry["source"], entry["error"])
        else:
            rep.done.append({"source": entry["source"], "gain_db": entry["gain_db"],
                             "gain_limited": entry["gain_limited"]})
        if time.monotonic() - last_flush > _FLUSH_EVERY_S:
            flush(False)
            last_flush = time.monotonic()
    bar.close()
    log = flush(True)
    up = log["totals"]["up_to_date"]
    if up:
        rep.notes.append(f"{up} file(s) up to date (same source and settings), not redone")
    return NormalizeResult(rep, log)


def verify(layout: Layout, cfg: NormalizeSettings | None = None,
           tolerance_lu: float = settings.VERIFY_TOLERANCE_LU) -> StepReport:
    """Re-measure every processed file; a clip is wrong if missing or off target.

    Clips that the log marks ``gain_limited`` (fixed-point output under the true-peak
    ceiling) may sit below the target and are checked against their logged level instead.
    """
    cfg = cfg or NormalizeSettings()
    rep = StepReport("verify")
    logged = _load_log(layout.normalization_log)
    for clip in layout.iter_clips("raw", rep.skipped):
        rel_src = clip.path.relative_to(layout.root).as_posix()
        dest = output_path(layout, clip)
        prev = logged.get(rel_src, {})
        if prev.get("status") == "failed":
            rep.skip(clip.path, f"not normalized: {prev.get('error')}")
            continue
        if not dest.is_file():
            rep.skip(dest, "missing processed file (run --normalize)")
            continue
        try:
            samples, sr = audio.read(dest)
            measured = loudness.measure(samples, sr, true_peak=False).integrated_lufs
        except (audio.AudioError, loudness.LoudnessError) as e:
            rep.skip(dest, f"cannot measure: {getattr(e, 'reason', e)}")
            continue
        expected = cfg.target_lufs
        if prev.get("gain_limited"):
            expected = prev.get("after", {}).get("integrated_lufs", expected)
        off = measured - expected
        entry = {"file": dest.relative_to(layout.root).as_posix(),
                 "integrated_lufs": round(measured, 3), "expected_lufs": round(expected, 3),
                 "gain_limited": bool(prev.get("gain_limited"))}
        if abs(off) > tolerance_lu:
            rep.skip(dest, f"{measured:.2f} LUFS is {off:+.2f} LU off {expected:.2f} "
                           f"(tolerance {tolerance_lu} LU)")
        else:
            rep.done.append(entry)
    return rep
