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
step is incremental and crash-safe (see :mod:`ngn_clarity.normalize` and
:mod:`ngn_clarity.work`). The run holds the data folder's lock. Per-clip work runs in
``jobs`` local processes or on the Dask cluster at ``scheduler``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import dataset, settings
from .audio import is_audio_name
from .catalog import no_audio, scan
from .executor import default_jobs
from .features import schema as schema_mod
from .features.analyze import analyze
from .errors import DataDirError
from .features.tables import METADATA_JSON, TABLES, check_tables, tables_from
from .layout import Layout
from .normalize import NormalizeSettings, write_log
from .outcome import Skipped, StepReport
from .settings import Interval, Options, Validated


@dataclass(frozen=True)
class RunSettings(Validated):
    schema: str = schema_mod.DEFAULT_SCHEMA
    target_lufs: float = settings.TARGET_LUFS
    subtype: str = "FLOAT"
    jobs: int | None = None
    scheduler: str | None = None
    force: bool = False
    """Redo every clip's normalization and fingerprint, up to date or not."""
    augment: int = 0
    """Flawed clips to make per gold clip with ``clarity augment`` before normalizing."""

    constraints = {"schema": Options(tuple(schema_mod.SCHEMAS)),
                   "target_lufs": settings.TARGET_LUFS_RANGE,
                   "subtype": Options(settings.OUTPUT_SUBTYPES),
                   "jobs": settings.JOBS_RANGE, "augment": Interval(int, 0, 100)}


@dataclass
class RunResult:
    reports: dict[str, StepReport] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports.values())


def run(layout: Layout, cfg: RunSettings | None = None, *, progress: bool = True,
        say: Callable[[str], None] = lambda msg: None,
        show: Callable[[StepReport], None] = lambda rep: None) -> RunResult:
    """Run every step on ``layout``; ``say`` receives one line per step as it finishes and
    ``show`` the step's report right after it (each file's reason once, where it belongs)."""
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
    lap("clips")
    show(clips)

    summary = analyze(layout)
    lap("analyze")
    say(f"analyze: {'up to date' if summary.get('up_to_date') else 'written'} "
        f"({layout.analysis})")
    result.summary = build_summary(layout, cfg, [*ds.skipped, *clips.skipped])
    return result


def _dataset_step(layout: Layout, cfg: RunSettings, jobs: int, progress: bool):
    """Folders, downloads, augmentation, the catalog and the manifest: (report, catalog,
    manifest)."""
    layout.init()
    ds = StepReport("dataset")
    if n := layout.remove_partial_files():
        ds.notes.append(f"removed {n} temporary file(s) left by an interrupted run")
    if layout.downloads.is_dir():
        org = dataset.organize_flawed(layout)
        ds.skipped += org.skipped
        ds.notes += [f"organize-flawed: {len(org.done)} placed from {layout.downloads}",
                     *org.notes]
    if cfg.augment:
        from .augment import AugmentSettings, augment

        aug = augment(layout, AugmentSettings(per_gold=cfg.augment), jobs=jobs,
                      scheduler=cfg.scheduler, progress=progress)
        ds.skipped += aug.skipped
        ds.errors += aug.errors
        ds.notes += aug.notes
    catalog = scan(layout)
    for s in catalog.skipped:  # an audio file outside the layout was meant as a clip
        if is_audio_name(s.path):
            ds.skip(s.path, f"left out: {s.reason}")
        else:
            ds.notes.append(f"ignored {s.path}: {s.reason}")
    return ds, catalog, dataset.write_manifest(layout, catalog)


def _clip_step(layout: Layout, cfg: RunSettings, catalog, jobs: int, progress: bool,
               say: Callable[[str], None]) -> StepReport:
    """One task per clip, then the normalization log and the tables from its results."""
    from .work import Plan, execute

    norm_cfg = NormalizeSettings(target_lufs=cfg.target_lufs, subtype=cfg.subtype)
    plan = Plan.make(layout, catalog, norm_cfg, cfg.schema, force=cfg.force)
    done = execute(plan, jobs=jobs, scheduler=cfg.scheduler, progress=progress,
                   desc=f"clips ({cfg.schema})")
    t = write_log(layout, norm_cfg, done.log_entries())["totals"]
    ext = tables_from(done, cfg.schema)
    ext.report.warnings += _warnings(plan)
    say(f"clips: {done.decoded} file(s) decoded in {done.tasks} task(s)")
    say(f"normalize: {t['normalized']} normalized, {t['up_to_date']} up to date, "
        f"{t['failed']} failed")
    say(f"extract ({cfg.schema}): {ext.computed} analysed, {ext.cached} from cache, "
        f"{len(ext.failures)} left out")
    return ext.report


def _warnings(plan) -> list[Skipped]:
    out = []
    for i, e in enumerate(plan.catalog.entries):
        if i not in plan.refused:
            out += [Skipped(str(e.clip.path), w) for w in (*e.warnings,
                                                            *plan.warnings.get(i, ()))]
    return out


def build_summary(layout: Layout, cfg: RunSettings, left_out: list) -> dict[str, Any]:
    """The numbers of the seed's "Expected Output", from the tables' metadata once every
    table is checked to be the one it vouches for (its SHA-256)."""
    out: dict[str, Any] = {"gold": 0, "flawed": 0, "total": 0, "total_floats": 0,
                           "per_instrument": {}, "gold_per_instrument": {}, "valid": 0,
                           "nan": 0, "inf": 0, "ready": False, "not_ready_because": [],
                           "left_out": len(left_out), "files": {}, "schema": cfg.schema}
    why = out["not_ready_because"]
    if (layout.features / METADATA_JSON).is_file():
        try:
            meta = check_tables(layout)
            c = meta["counts"]
            if meta.get("schema") != cfg.schema:
                why.append(f"the tables hold the {meta.get('schema')} schema")
            out.update(gold=c["gold"], flawed=c["flawed"], total=c["rows"],
                       total_floats=c["total_floats"], valid=c["valid"], nan=c["nan"],
                       inf=c["inf"], per_instrument=c["per_instrument"],
                       gold_per_instrument=c["gold_per_instrument"])
        except DataDirError as e:
            why.append(e.reason)
        except (KeyError, TypeError):
            why.append(f"{layout.features / METADATA_JSON} is from an older version: run "
                       f"`clarity run --force`")
    if not out["total"]:
        why.append("no clip has a fingerprint")
    if out["valid"] < out["total"]:
        why.append(f"{out['total'] - out['valid']} row(s) with NaN/Inf")
    if out["total"] and not out["gold"]:
        why.append("no gold clips")
    if out["total"] and not out["flawed"]:
        why.append("no flawed clips")
    if left_out:
        why.append(f"{len(left_out)} file(s) left out (listed above)")
    out["ready"] = not why
    for name in (*TABLES, METADATA_JSON, "normalization_log.json"):
        p = layout.features / name
        if p.is_file():
            out["files"][str(p)] = p.stat().st_size
    return out


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _split(counts: dict[str, int]) -> str:
    """"100 per instrument x 5 categories" when even, else the counts by instrument."""
    values = set(counts.values())
    if len(values) == 1:
        n = len(counts)
        return f"{values.pop()} per instrument x {n} categor{'y' if n == 1 else 'ies'}"
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def format_summary(s: dict[str, Any]) -> str:
    """The seed's "Expected Output" block, filled with this run's numbers."""
    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    gold_split = _split(s["gold_per_instrument"]) if s["gold_per_instrument"] else ""
    lines = [
        f"{mark(s['total'] > 0 and not s['left_out'])} Dataset Summary",
        f"   Gold samples:   {s['gold']}" + (f" ({gold_split})" if gold_split else ""),
        f"   Flawed samples: {s['flawed']}",
        f"   Total samples:  {s['total']}",
        f"   Total floats:   {s['total_floats']:,} ({s['total']} x "
        f"{settings.FINGERPRINT_LENGTH}, schema {s['schema']})",
    ]
    if s["left_out"]:
        lines.append(f"   Left out:       {s['left_out']} file(s), each with its reason above")
    lines += [
        "",
        f"{mark(s['ready'])} Feature Statistics",
        f"   Samples with valid features: {s['valid']}",
        f"   NaN values: {s['nan']}",
        f"   Infinite values: {s['inf']}",
        "   Ready for training: " + ("✓" if s["ready"] else
                                      "✗ (" + "; ".join(s["not_ready_because"]) + ")"),
        "",
        f"{mark(bool(s['files']))} Output Files",
    ]
    lines += [f"   {p} ({_size(n)})" for p, n in s["files"].items()]
    return "\n".join(lines)
