"""Loudness normalization (``loudness_normalizer.py`` / ``clarity normalize``): every clip in
``raw/`` -> ``processed/`` at -18 LUFS, and the check of what is there.

``raw/<subset>/<instrument>/<rel>`` becomes ``processed/<subset>/<instrument>/<rel>`` with
a ``.wav`` suffix, the same sample rate and channels, and a gain that brings its integrated
loudness (:mod:`ngn_clarity.loudness`) to the target (:mod:`ngn_clarity.gain`). The default
output is 32-bit float WAV, so no gain clips. Each clip's state
(:mod:`ngn_clarity.state`) says what counts as done; the work is one task per clip
(:mod:`ngn_clarity.work`).

``features/normalization_log.json`` is the report built from those states at the end of a
step: per clip loudness before and after, LRA, true peak, gain, flags and errors, and
totals. Raw files are only read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from .. import audio, loudness, settings
from ..catalog import Catalog, scan
from ..errors import LoudnessError
from ..gain import LOG_VERSION, NormalizeSettings
from ..layout import Layout
from ..settings import Scheduler
from ..outcome import StepReport
from ..fsutil import atomic_write_json
from ..state import NormState, journal, read_state
from ..work import Done, Plan, execute
from .base import writing

__all__ = ["LogTotals", "NormalizeResult", "NormalizeSettings", "build_log", "log_entries",
           "normalize", "verify", "write_log"]


def _round(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def log_entry(state: NormState, up_to_date: bool) -> dict[str, Any]:
    """One file's entry of ``normalization_log.json`` (values rounded for reading)."""
    e = {k: v for k, v in state.to_dict().items()
         if k not in ("output_identity", "after_hop_energies")}
    if state.status == "normalized":
        e["before"], e["after"] = _round(e["before"]), _round(e["after"])
        e["gain_db"] = round(e["gain_db"], 4)
        assert state.output_identity is not None
        e["output_bytes"] = state.output_identity[0]
        if up_to_date:
            e["status"] = "up_to_date"
    return e


def log_entries(done: Done) -> list[dict[str, Any]]:
    """``normalization_log.json`` entries of every clip of a finished plan (refused ones
    included when it normalized)."""
    plan = done.plan
    out = [log_entry(NormState.unpack(packed), before) for packed, before in plan.states.values()]
    for i, reason in plan.refused.items():
        if i in plan.states or plan.cfg is None:
            continue
        base = NormState.new(plan.layout, plan.catalog.entries[i], plan.cfg).to_dict()
        out.append({**base, "status": "refused", "error": reason})
    return out


@dataclass(frozen=True)
class LogTotals:
    """The ``totals`` of ``normalization_log.json``."""

    files: int
    normalized: int
    up_to_date: int
    failed: int
    refused: int
    gain_limited: int
    short_clips: int
    gain_db_min: float | None
    gain_db_max: float | None
    gain_db_mean: float | None

    @classmethod
    def of(cls, files: list[dict[str, Any]]) -> "LogTotals":
        ok = [e for e in files if e["status"] in ("normalized", "up_to_date")]
        gains = [e["gain_db"] for e in ok]
        return cls(
            files=len(files),
            normalized=sum(e["status"] == "normalized" for e in files),
            up_to_date=sum(e["status"] == "up_to_date" for e in files),
            failed=sum(e["status"] == "failed" for e in files),
            refused=sum(e["status"] == "refused" for e in files),
            gain_limited=sum(bool(e.get("gain_limited")) for e in ok),
            short_clips=sum("short_clip" in e.get("flags", []) for e in ok),
            gain_db_min=round(min(gains), 4) if gains else None,
            gain_db_max=round(max(gains), 4) if gains else None,
            gain_db_mean=round(sum(gains) / len(gains), 4) if gains else None)

    @classmethod
    def in_log(cls, log: dict[str, Any]) -> "LogTotals":
        """The totals of a log :func:`build_log` made."""
        return cls(**log["totals"])


def build_log(layout: Layout, cfg: NormalizeSettings,
              entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``normalization_log.json`` from the entries of :func:`log_entries`."""
    files = sorted(entries, key=lambda e: e["source"])
    return {
        "version": LOG_VERSION,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": True,
        "data_dir": str(layout.root),
        "settings": {**asdict(cfg), "key": cfg.key()},
        "engine": loudness.ENGINE,
        "totals": asdict(LogTotals.of(files)),
        "files": files,
    }


def write_log(layout: Layout, cfg: NormalizeSettings,
              entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Write ``features/normalization_log.json``; return it."""
    log = build_log(layout, cfg, entries)
    atomic_write_json(layout.normalization_log, log)
    return log


@dataclass
class NormalizeResult:
    """The step's report and the log it wrote."""

    report: StepReport
    log: dict[str, Any] = field(default_factory=dict)

    @property
    def totals(self) -> LogTotals:
        return LogTotals.in_log(self.log)


def normalize(layout: Layout, cfg: NormalizeSettings | None = None, *,
              jobs: int | None = 1, scheduler: str | Scheduler | None = None,
              force: bool = False, progress: bool = True,
              catalog: Catalog | None = None) -> NormalizeResult:
    """Normalize every usable clip of ``raw/``; write ``features/normalization_log.json``.

    Clips refused by the checks (:mod:`ngn_clarity.checks`, :mod:`ngn_clarity.catalog`) are
    reported with their reason and not normalized.

    Parameters
    ----------
    layout : Layout
        The data folder.
    cfg : NormalizeSettings, optional
        Target and output format (default -18 LUFS, float WAV).
    jobs : int, optional
        Worker processes (None: every core).
    scheduler : str or Scheduler, optional
        A Dask scheduler's address (see :mod:`ngn_clarity.executor`).
    force : bool
        Redo clips that are up to date.
    progress : bool
        Show a progress bar on a terminal.
    catalog : Catalog, optional
        ``scan(layout)`` when the caller has it.

    Returns
    -------
    NormalizeResult
        The step's report and the log.
    """
    cfg = cfg or NormalizeSettings()
    rep = StepReport("normalize")
    with writing(layout, rep):
        plan = Plan.make(layout, catalog or scan(layout), cfg, schema=None, force=force)
        done = execute(plan, jobs=jobs, scheduler=scheduler, progress=progress)
        for path, reason in done.refused.items():
            rep.skip(path, reason)
        for i in done.normalized:
            state = NormState.unpack(plan.states[i][0])
            assert state.gain_db is not None
            rep.done.append({"source": state.source, "gain_db": round(state.gain_db, 4),
                             "gain_limited": state.gain_limited})
        result = NormalizeResult(rep, write_log(layout, cfg, log_entries(done)))
    if up := result.totals.up_to_date:
        rep.notes.append(f"{up} file(s) up to date (same source and settings), not redone")
    return result


def verify(layout: Layout, cfg: NormalizeSettings | None = None,
           tolerance_lu: float = settings.VERIFY_TOLERANCE_LU) -> StepReport:
    """Re-measure every processed file; a clip is wrong if missing or off target.

    Clips whose state says ``gain_limited`` (fixed-point output under the true-peak
    ceiling) may sit below the target and are checked against their recorded level.
    """
    cfg = cfg or NormalizeSettings()
    rep = StepReport("verify")
    states = journal(layout)
    for entry in scan(layout).entries:
        clip = entry.clip
        if entry.refusal is not None:
            rep.skip(clip.path, f"not normalized: {entry.refusal}")
            continue
        dest = layout.processed_path(clip)
        state = read_state(states, dest.relative_to(layout.root).as_posix())
        if state is not None and state.status == "failed" \
                and state.source_sha256 == entry.sha256:
            rep.skip(clip.path, f"not normalized: {state.error}")
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
        limited = bool(state is not None and state.gain_limited)
        expected = cfg.target_lufs
        if limited and state is not None:
            expected = (state.after or {}).get("integrated_lufs", expected)
        off = measured - expected
        if abs(off) > tolerance_lu:
            rep.skip(dest, f"{measured:.2f} LUFS is {off:+.2f} LU off {expected:.2f} "
                           f"(tolerance {tolerance_lu} LU)")
        else:
            rep.done.append({"file": dest.relative_to(layout.root).as_posix(),
                             "integrated_lufs": round(measured, 3),
                             "expected_lufs": round(expected, 3), "gain_limited": limited})
    return rep
