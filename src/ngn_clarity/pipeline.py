"""The whole pipeline in one call (``run_pipeline.py`` / ``clarity run``).

gather -> one task per clip -> tables -> analysis, then the seed's "Expected Output"
summary:

1. **dataset**: create missing folders, organize ``downloads/`` if present, augment gold
   clips if asked (``augment=N``), write the manifest, and scan ``raw/`` into the catalog
   (:mod:`ngn_clarity.catalog`: hashes, labels, the clips refused before any work);
2. **clips**: one task per clip that still needs anything (:mod:`ngn_clarity.work`): decode
   once, audio checks, normalize, write the processed copy and its state, fingerprint the
   normalized samples in memory; ``normalization_log.json`` and the tables are written from
   the same results;
3. **analysis** of the tables (skipped when they are unchanged).

Every clip left out (refused by a check, failed normalization) is reported once, with its
one reason, is in no table, and makes "Ready for training" say no, with the reason. Every
step is incremental and crash-safe (see :mod:`ngn_clarity.state` and
:mod:`ngn_clarity.work`). The run holds the data folder's lock. Per-clip work runs in
``jobs`` local processes or on the Dask cluster at ``scheduler``.
"""

from __future__ import annotations

import ctypes
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from . import settings, taxonomy
from .audio import is_audio_name
from .catalog import Catalog, no_audio, scan
from .errors import DataDirError
from .executor import default_jobs
from .features.schema import DEFAULT_SCHEMA, SCHEMAS, get
from .features.tables import METADATA_JSON, TABLES, check_tables
from .gain import NormalizeSettings
from .layout import Layout
from .outcome import Finding, StepReport
from .report.analyze import analyze
from .settings import Flag, Instance, Interval, Options, Scheduler, Validated
from .steps.augment import AugmentSettings, augment
from .steps.base import writing
from .steps.ingest import organize_flawed
from .steps.manifest import write_manifest
from .steps.normalize import LogTotals, log_entries, write_log
from .steps.tables import tables_from
from .work import Plan, execute


@dataclass(frozen=True)
class RunSettings(Validated):
    """What ``clarity run`` does.

    Parameters
    ----------
    schema : str
        The fingerprint (default ``extended``; ``seed`` writes the seed's exact table).
    normalize : NormalizeSettings
        Target loudness and output format of ``processed/``.
    jobs : int, optional
        Worker processes (None: every core).
    scheduler : str or Scheduler, optional
        A Dask scheduler's address; the per-clip tasks run on its workers.
    force : bool
        Redo every clip's normalization and fingerprint, up to date or not.
    augment : int
        Flawed clips to make per gold clip with ``clarity augment`` before normalizing.
    """

    schema: str = DEFAULT_SCHEMA
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    jobs: int | None = None
    scheduler: str | Scheduler | None = None
    force: bool = False
    augment: int = 0

    constraints = {"schema": Options(tuple(SCHEMAS)), "normalize": Instance(NormalizeSettings),
                   "jobs": settings.JOBS_RANGE, "scheduler": settings.SCHEDULER,
                   "force": Flag(), "augment": Interval(int, 0, 100)}


@dataclass
class Summary:
    """The numbers of the seed's "Expected Output" (:func:`format_summary` prints them)."""

    schema: str
    gold: int = 0
    flawed: int = 0
    total: int = 0
    total_floats: int = 0
    per_instrument: dict[str, int] = field(default_factory=dict)
    gold_per_instrument: dict[str, int] = field(default_factory=dict)
    valid: int = 0
    nan: int = 0
    inf: int = 0
    ready: bool = False
    not_ready_because: list[str] = field(default_factory=list)
    left_out: int = 0
    files: dict[str, int] = field(default_factory=dict)
    """Path of each output table -> its size in bytes."""


@dataclass
class RunResult:
    reports: dict[str, StepReport] = field(default_factory=dict)
    summary: Summary = field(default_factory=lambda: Summary(DEFAULT_SCHEMA))
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports.values())


def run(layout: Layout, cfg: RunSettings | None = None, *, progress: bool = True,
        say: Callable[[str], None] = lambda msg: None,
        show: Callable[[StepReport], None] = lambda rep: None) -> RunResult:
    """Run every step on ``layout`` (see the module doc).

    Parameters
    ----------
    layout : Layout
        The data folder (it must exist).
    cfg : RunSettings, optional
        Schema, normalization, workers (default: extended schema, -18 LUFS float WAV).
    progress : bool
        Show progress bars on a terminal.
    say : callable
        Receives one line per step as it finishes.
    show : callable
        Receives each step's report right after it (each file's reason once, where it
        belongs).

    Returns
    -------
    RunResult
        The step reports, the summary and the time each step took.
    """
    cfg = cfg or RunSettings()
    layout.require()
    with layout.lock():
        return _run(layout, cfg, progress, say, show)


def _run(layout: Layout, cfg: RunSettings, progress: bool, say: Callable[[str], None],
         show: Callable[[StepReport], None]) -> RunResult:
    jobs = cfg.jobs or default_jobs()
    result = RunResult()
    clock = [time.perf_counter()]

    def lap(step: str) -> None:
        now = time.perf_counter()
        result.timings_s[step] = round(now - clock[0], 3)
        clock[0] = now

    ds, catalog, manifest = _dataset_step(layout, cfg, jobs, progress)
    result.reports["dataset"] = ds
    lap("dataset")
    s = manifest["summary"]
    del manifest  # (a few hundred bytes a clip, not needed again)
    unusable = sum(is_audio_name(sk.path) for sk in catalog.skipped)  # links, FIFOs, ...
    say(f"dataset: gold {s['gold']}, flawed {s['flawed']}; {len(catalog.refused) + unusable} "
        f"refused before any work, {catalog.hashed} file(s) hashed")
    if not catalog.entries:
        ds.errors.append(no_audio(layout))
        show(ds)
        result.summary = build_summary(layout, cfg, [])
        return result
    show(ds)

    clips = result.reports["clips"] = _clip_step(layout, cfg, catalog, jobs, progress, say)
    del catalog  # what follows reads the tables: peak memory stays flat in the clip count
    release_memory()
    lap("clips")
    show(clips)

    analysis = analyze(layout)
    release_memory()
    lap("analyze")
    say(f"analyze: {'up to date' if analysis.get('up_to_date') else 'written'} "
        f"({layout.analysis})")
    result.summary = build_summary(layout, cfg, [*ds.skipped, *clips.skipped])
    return result


def release_memory() -> None:
    """Hand memory freed by a stage back to the system before the next one: pyarrow's pool
    keeps what a table read or write freed, and glibc's heap what the frames freed, so each
    stage's transient peak would stay resident under the next (measured at 20,000 clips:
    436 -> 391 MB peak). Only a hint: nothing changes where neither is in use."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _dataset_step(layout: Layout, cfg: RunSettings, jobs: int, progress: bool):
    """Folders, downloads, augmentation, the catalog and the manifest: (report, catalog,
    manifest)."""
    layout.init()
    ds = StepReport("dataset")
    with writing(layout, ds):
        if layout.downloads.is_dir():
            org = organize_flawed(layout)
            ds.skipped += org.skipped
            ds.notes += [f"organize-flawed: {len(org.done)} placed from {layout.downloads}",
                         *org.notes]
        if cfg.augment:
            aug = augment(layout, AugmentSettings(per_gold=cfg.augment), jobs=jobs,
                          scheduler=cfg.scheduler, progress=progress)
            ds.skipped += aug.skipped
            ds.errors += aug.errors
            ds.notes += aug.notes
        catalog = scan(layout)
        if catalog.duplicates:
            ds.notes.append(f"{catalog.duplicates} clip(s) have the same content as another "
                            f"clip: copies share one split group, so no copy is on both "
                            f"sides of a cross-validation split (-v lists them)")
        for s in catalog.skipped:  # an audio file outside the layout was meant as a clip
            if is_audio_name(s.path):
                ds.skip(s.path, f"left out: {s.reason}")
            else:
                ds.notes.append(f"ignored {s.path}: {s.reason}")
        return ds, catalog, write_manifest(layout, catalog)


def _clip_step(layout: Layout, cfg: RunSettings, catalog: Catalog, jobs: int, progress: bool,
               say: Callable[[str], None]) -> StepReport:
    """One task per clip, then the normalization log and the tables from its results."""
    schema = get(cfg.schema)
    plan = Plan.make(layout, catalog, cfg.normalize, schema, force=cfg.force)
    done = execute(plan, jobs=jobs, scheduler=cfg.scheduler, progress=progress,
                   desc=f"clips ({schema})")
    t = LogTotals.in_log(write_log(layout, cfg.normalize, log_entries(done)))
    # the log holds the states now and the tables do not read them: let them go before the
    # tables' frames are built (peak memory: packed, about 0.8 KB a clip)
    plan.states.clear()
    done.normalized.clear()
    ext = tables_from(done, schema)
    ext.report.warnings += _warnings(plan)
    say(f"clips: {done.decoded} file(s) decoded in {done.tasks} task(s)")
    say(f"normalize: {t.normalized} normalized, {t.up_to_date} up to date, {t.failed} failed")
    say(f"extract ({schema}): {ext.computed} analysed, {ext.cached} from cache, "
        f"{len(ext.failures)} left out")
    return ext.report


def _warnings(plan: Plan) -> list[Finding]:
    out = []
    for i, e in enumerate(plan.catalog.entries):
        if i not in plan.refused:
            out += [Finding(str(e.clip.path), w, "warning")
                    for w in (*e.warnings, *plan.warnings.get(i, ()))]
    return out


def build_summary(layout: Layout, cfg: RunSettings, left_out: list) -> Summary:
    """The numbers of the seed's "Expected Output", from the tables' metadata once every
    table is checked to be the one it vouches for (its SHA-256)."""
    out = Summary(cfg.schema, left_out=len(left_out))
    why = out.not_ready_because
    if (layout.features / METADATA_JSON).is_file():
        try:
            meta = check_tables(layout)
            c = meta["counts"]
            if meta.get("schema") != cfg.schema:
                why.append(f"the tables hold the {meta.get('schema')} schema")
            out.gold, out.flawed, out.total = c["gold"], c["flawed"], c["rows"]
            out.total_floats, out.valid, out.nan, out.inf = (c["total_floats"], c["valid"],
                                                             c["nan"], c["inf"])
            out.per_instrument = c["per_instrument"]
            out.gold_per_instrument = c["gold_per_instrument"]
        except DataDirError as e:
            why.append(e.reason)
        except (KeyError, TypeError):
            why.append(f"{layout.features / METADATA_JSON} is from an older version: run "
                       f"`clarity run --force`")
    if not out.total:
        why.append("no clip has a fingerprint")
    if out.valid < out.total:
        why.append(f"{out.total - out.valid} row(s) with NaN/Inf")
    if out.total and not out.gold:
        why.append("no gold clips")
    if out.total and not out.flawed:
        why.append("no flawed clips")
    if left_out:
        why.append(f"{len(left_out)} file(s) left out (listed above)")
    out.ready = not why
    for name in (*TABLES, METADATA_JSON, "normalization_log.json"):
        p = layout.features / name
        if p.is_file():
            out.files[str(p)] = p.stat().st_size
    return out


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _split(counts: dict[str, int]) -> str:
    """"100 per instrument x 5 categories" when every instrument has the same count, else
    the counts by instrument and the instruments that have none."""
    values = set(counts.values())
    missing = [i for i in taxonomy.INSTRUMENTS if not counts.get(i)]
    if len(values) == 1 and not missing:
        return f"{values.pop()} per instrument x {len(counts)} categories"
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return shown + (f"; none of {', '.join(missing)}" if missing else "")


def format_summary(s: Summary) -> str:
    """The seed's "Expected Output" block, filled with this run's numbers."""
    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    gold_split = _split(s.gold_per_instrument) if s.gold_per_instrument else ""
    lines = [
        f"{mark(s.total > 0 and not s.left_out)} Dataset Summary",
        f"   Gold samples:   {s.gold}" + (f" ({gold_split})" if gold_split else ""),
        f"   Flawed samples: {s.flawed}",
        f"   Total samples:  {s.total}",
        f"   Total floats:   {s.total_floats:,} ({s.total} x "
        f"{settings.FINGERPRINT_LENGTH}, schema {s.schema})",
    ]
    if s.left_out:
        lines.append(f"   Left out:       {s.left_out} file(s), each with its reason above")
    lines += [
        "",
        f"{mark(s.ready)} Feature Statistics",
        f"   Samples with valid features: {s.valid}",
        f"   NaN values: {s.nan}",
        f"   Infinite values: {s.inf}",
        "   Ready for training: " + ("✓" if s.ready else
                                      "✗ (" + "; ".join(s.not_ready_because) + ")"),
        "",
        f"{mark(bool(s.files))} Output Files",
    ]
    lines += [f"   {p} ({_size(n)})" for p, n in s.files.items()]
    return "\n".join(lines)
