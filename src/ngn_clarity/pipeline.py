"""The whole pipeline in one call (``run_pipeline.py`` / ``clarity run``).

dataset (init, organize downloads if any, manifest, validate) -> normalize -> extract ->
analyze, then the seed's "Expected Output" summary. Every step is incremental: validation
results and fingerprints are cached per file by (content hash, settings hash), normalization
skips clips whose source hash and settings match its log, and analysis skips unchanged
tables, so a re-run with nothing changed does no audio work; all outputs are written
atomically, so ``kill -9`` at any moment followed by a re-run gives the tables of an
uninterrupted run. Per-file work runs in ``jobs`` local processes or on the Dask cluster at
``scheduler`` (:mod:`ngn_clarity.executor`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import dataset, settings
from .executor import default_jobs
from .features import schema as schema_mod
from .features.analyze import analyze
from .features.tables import FEATURES_CSV, FEATURES_PARQUET, FEATURES_PKL, LABELS_CSV, extract
from .layout import Layout
from .normalize import NormalizeSettings, normalize
from .outcome import StepReport


@dataclass(frozen=True)
class RunSettings:
    schema: str = schema_mod.DEFAULT_SCHEMA
    target_lufs: float = settings.TARGET_LUFS
    subtype: str = "FLOAT"
    jobs: int | None = None
    scheduler: str | None = None


@dataclass
class RunResult:
    reports: dict[str, StepReport] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports.values())


def run(layout: Layout, cfg: RunSettings | None = None, *, progress: bool = True,
        say: Callable[[str], None] = lambda msg: None) -> RunResult:
    """Run every step on ``layout``; ``say`` receives one line per step as it finishes."""
    cfg = cfg or RunSettings()
    schema_mod.specs(cfg.schema)
    norm_cfg = NormalizeSettings(target_lufs=cfg.target_lufs, subtype=cfg.subtype)
    result = RunResult()
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.timings_s[step] = round(now - clock, 3)
        clock = now

    layout.init()
    ds = StepReport("dataset")
    if n := layout.remove_partial_files():
        ds.notes.append(f"removed {n} temporary file(s) left by an interrupted run")
    if layout.downloads.is_dir():
        org = dataset.organize_flawed(layout)
        ds.skipped += org.skipped
        ds.notes.append(f"organize-flawed: {len(org.done)} placed from {layout.downloads}")
    manifest = dataset.write_manifest(layout)
    # its errors include every file the manifest could not read
    check = dataset.validate(layout, jobs=cfg.jobs)
    for f in check.errors:
        ds.skip(f.path, f"validation: {f.message}")
    result.reports["dataset"] = ds
    lap("dataset")
    s = manifest["summary"]
    say(f"dataset: gold {s['gold']}, flawed {s['flawed']}; validation {len(check.errors)} "
        f"error(s), {len(check.warnings)} warning(s), {check.decoded} file(s) decoded")
    if s["gold"] == 0 and s["flawed"] == 0:
        ds.errors.append(f"no audio in {layout.raw}: put clips in raw/gold/<instrument>/ and "
                         f"raw/flawed/<instrument>/ (or run `clarity synth`)")
        result.summary = build_summary(layout, cfg)
        return result

    norm = normalize(layout, norm_cfg, jobs=cfg.jobs or default_jobs(), scheduler=cfg.scheduler,
                     progress=progress)
    result.reports["normalize"] = norm.report
    lap("normalize")
    t = norm.log["totals"]
    say(f"normalize: {t['normalized']} normalized, {t['up_to_date']} up to date, "
        f"{t['failed']} failed")

    ext = extract(layout, cfg.schema, jobs=cfg.jobs, scheduler=cfg.scheduler,
                  progress=progress)
    result.reports["extract"] = ext.report
    lap("extract")
    say(f"extract ({cfg.schema}): {ext.computed} analysed, {ext.cached} from cache, "
        f"{len(ext.failures)} failed")

    summary = analyze(layout)
    lap("analyze")
    say(f"analyze: {'up to date' if summary.get('up_to_date') else 'written'} "
        f"({layout.features / 'analysis'})")
    result.summary = build_summary(layout, cfg)
    return result


def build_summary(layout: Layout, cfg: RunSettings) -> dict[str, Any]:
    """The numbers of the seed's "Expected Output", read from the written tables."""
    import numpy as np
    import pandas as pd

    out: dict[str, Any] = {"gold": 0, "flawed": 0, "total": 0, "total_floats": 0,
                           "per_instrument": {}, "valid": 0, "nan": 0, "inf": 0,
                           "ready": False, "files": {}, "schema": cfg.schema}
    path = layout.features / FEATURES_PARQUET
    if path.is_file():
        df = pd.read_parquet(path, columns=list(schema_mod.csv_header(cfg.schema)))
        values = df.iloc[:, 3:].to_numpy(dtype=float)
        finite = np.isfinite(values).all(axis=1)
        out.update(gold=int((df["subset"] == "gold").sum()),
                   flawed=int((df["subset"] == "flawed").sum()), total=len(df),
                   total_floats=int(values.size), valid=int(finite.sum()),
                   nan=int(np.isnan(values).sum()), inf=int(np.isinf(values).sum()),
                   per_instrument={k: int(v) for k, v in df.groupby("instrument").size().items()})
        out["ready"] = bool(out["total"] and out["valid"] == out["total"]
                            and out["gold"] and out["flawed"])
    for name in (FEATURES_CSV, FEATURES_PKL, FEATURES_PARQUET, LABELS_CSV,
                 "feature_metadata.json", "normalization_log.json"):
        p = layout.features / name
        if p.is_file():
            out["files"][str(p)] = p.stat().st_size
    return out


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def format_summary(s: dict[str, Any]) -> str:
    """The seed's "Expected Output" block, filled with this run's numbers."""
    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    inst = s["per_instrument"]
    n_inst = max(len(inst), 1)
    lines = [
        f"{mark(s['total'] > 0)} Dataset Summary",
        f"   Gold samples:   {s['gold']} ({s['gold'] // n_inst} per instrument x {len(inst)} "
        f"categories)" if inst else f"   Gold samples:   {s['gold']}",
        f"   Flawed samples: {s['flawed']}",
        f"   Total samples:  {s['total']}",
        f"   Total floats:   {s['total_floats']:,} ({s['total']} x "
        f"{settings.FINGERPRINT_LENGTH}, schema {s['schema']})",
        "",
        f"{mark(s['ready'])} Feature Statistics",
        f"   Samples with valid features: {s['valid']}",
        f"   NaN values: {s['nan']}",
        f"   Infinite values: {s['inf']}",
        f"   Ready for training: {'✓' if s['ready'] else '✗'}",
        "",
        f"{mark(bool(s['files']))} Output Files",
    ]
    lines += [f"   {p} ({_size(n)})" for p, n in s["files"].items()]
    return "\n".join(lines)
