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

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from .. import audio, loudness, settings
from ..catalog import Catalog, scan
from ..errors import LoudnessError
from ..gain import LOG_VERSION, NormalizeSettings
from ..layout import Layout
from ..settings import Scheduler
from ..outcome import StepReport
from ..fsutil import atomic_write
from ..state import NormState, journal, read_state
from ..work import Done, Plan, execute
from .base import writing

__all__ = ["LogEntries", "LogTotals", "NormalizeResult", "NormalizeSettings", "log_entries",
           "log_head", "normalize", "verify", "write_log"]


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


class LogEntries:
    """``normalization_log.json``'s entries of a finished plan (refused clips included when
    it normalized), sorted by source, each made from its packed state only when iterated
    (re-iterable): the log of 20,000 clips is written without being a list in memory."""

    def __init__(self, done: Done):
        plan = self._plan = done.plan
        refused = [i for i in plan.refused if i not in plan.states and plan.cfg is not None]
        self._order = sorted([*plan.states, *refused],
                             key=lambda i: plan.catalog.entries[i].rel_source)

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        plan = self._plan
        for i in self._order:
            if i in plan.states:
                packed, before = plan.states[i]
                yield log_entry(NormState.unpack(packed), before)
            else:
                assert plan.cfg is not None
                base = NormState.new(plan.layout, plan.catalog.entries[i], plan.cfg)
                yield {**base.to_dict(), "status": "refused", "error": plan.refused[i]}


def log_entries(done: Done) -> LogEntries:
    """The log's entries of a finished plan (see :class:`LogEntries`)."""
    return LogEntries(done)


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
    def of(cls, files: Iterable[dict[str, Any]]) -> "LogTotals":
        """The totals of ``files`` (read once, one entry at a time)."""
        status = {"normalized": 0, "up_to_date": 0, "failed": 0, "refused": 0}
        n = limited = short = 0
        gains: list[float] = []
        for e in files:
            n += 1
            if e["status"] in status:
                status[e["status"]] += 1
            if e["status"] in ("normalized", "up_to_date"):
                gains.append(e["gain_db"])
                limited += bool(e.get("gain_limited"))
                short += "short_clip" in e.get("flags", [])
        return cls(
            files=n, normalized=status["normalized"], up_to_date=status["up_to_date"],
            failed=status["failed"], refused=status["refused"], gain_limited=limited,
            short_clips=short,
            gain_db_min=round(min(gains), 4) if gains else None,
            gain_db_max=round(max(gains), 4) if gains else None,
            gain_db_mean=round(sum(gains) / len(gains), 4) if gains else None)

    @classmethod
    def in_log(cls, log: dict[str, Any]) -> "LogTotals":
        """The totals of a log :func:`log_head` made."""
        return cls(**log["totals"])


def log_head(layout: Layout, cfg: NormalizeSettings,
             entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``normalization_log.json`` but its ``files`` (the entries of :func:`log_entries`,
    sorted by source, read once here for the totals)."""
    return {
        "version": LOG_VERSION,
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": True,
        "data_dir": str(layout.root),
        "settings": {**asdict(cfg), "key": cfg.key()},
        "engine": loudness.ENGINE,
        "totals": asdict(LogTotals.of(entries)),
    }


def write_json_list(dest: Path, head: dict[str, Any], key: str, items: Iterable[Any]) -> Path:
    """``{**head, key: list(items)}`` as :func:`~ngn_clarity.fsutil.atomic_write_json`
    writes it (indent 2, the same bytes, atomically), with ``items`` written one at a time
    as they come: a 20,000-clip log is never a list in memory. ``key`` must not be in
    ``head``."""
    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            first = json.dumps({**head, key: []}, indent=2, ensure_ascii=False,
                               allow_nan=False)
            f.write(first[:-len("[]\n}")])  # up to the list's opening bracket
            n = 0
            for item in items:
                text = json.dumps(item, indent=2, ensure_ascii=False, allow_nan=False)
                f.write(("[" if n == 0 else ",") + "\n    " + text.replace("\n", "\n    "))
                n += 1
            f.write("\n  ]\n}\n" if n else "[]\n}\n")

    return atomic_write(dest, write)


def write_log(layout: Layout, cfg: NormalizeSettings, entries: LogEntries) -> dict[str, Any]:
    """Write ``features/normalization_log.json`` (the entries streamed, never all in
    memory); return it without its ``files``."""
    head = log_head(layout, cfg, entries)
    write_json_list(layout.normalization_log, head, "files", entries)
    return head


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
        entries = log_entries(done)
        result = NormalizeResult(rep, {**write_log(layout, cfg, entries),
                                       "files": list(entries)})
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
        state = read_state(states, layout.processed_rel(clip))
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
            rep.done.append({"file": layout.processed_rel(clip),
                             "integrated_lufs": round(measured, 3),
                             "expected_lufs": round(expected, 3), "gain_limited": limited})
    return rep
