"""``--extract``: fingerprints of every clip into ``features/`` tables.

Reads ``processed/`` (the -18 LUFS copies) for every clip of ``raw/``, and writes, each
atomically:

* ``features.csv`` / ``features.pkl``: exactly ``file, subset, instrument`` + 64 floats;
* ``labels.csv``: per clip (same key) source, ``flawed_type``, severity, group, preset, origin,
  original name, the 12 correction values (empty where unknown) and the engine parameters;
* ``features.parquet``: the two joined (what :func:`load_training_table` returns);
* ``feature_metadata.json``: schema, every spec, analysis parameters, package versions,
  counts and the clips that could not be analysed, with reasons.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import audio, taxonomy
from ..cache import Cache
from ..cache import key as cache_key
from ..executor import default_jobs, run_tasks
from ..fsutil import atomic_path, atomic_write_json, sha256_file
from ..layout import Clip, Layout
from ..normalize import output_path
from ..outcome import StepReport
from ..records import CORRECTION_FIELDS, labels_from_name, read_record
from . import schema as schema_mod

FEATURES_CSV = "features.csv"
FEATURES_PKL = "features.pkl"
FEATURES_PARQUET = "features.parquet"
LABELS_CSV = "labels.csv"
METADATA_JSON = "feature_metadata.json"
LABEL_COLUMNS: tuple[str, ...] = (
    "source", "flawed_type", "severity", "group", "preset", "origin", "original_name",
    *CORRECTION_FIELDS, "params")
_PACKAGES = ("ngn-clarity", "numpy", "scipy", "librosa", "soxr", "soundfile", "pyebur128",
             "pandas", "pyarrow")


def _package_versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


#: Part of every feature cache key: bump when extraction code changes its numbers.
EXTRACTOR_VERSION = 1


def feature_key(content_sha256: str, schema: str) -> str:
    """Cache key of one file's fingerprint: its bytes, the schema and the code versions."""
    return cache_key("features", content_sha256, schema, schema_mod.SCHEMA_VERSION,
                     EXTRACTOR_VERSION)


def _extract_one(job: tuple[str, str, str, str]) -> tuple[list[float] | None, int, str | None]:
    """Worker: fingerprint one processed file and cache the result.

    Returns (vector, replaced-by-guard count, error reason). The cache entry is written
    atomically as soon as the vector exists, so a killed run keeps it.
    """
    from .extract import fingerprint

    path, schema, cache_root, k = job
    try:
        samples, sr = audio.read_usable(path)
        vec, replaced = fingerprint(samples, sr, schema)
    except audio.AudioError as e:
        return None, 0, e.reason
    values = vec.tolist()
    Cache(cache_root, "features").put(k, {"vector": values, "replaced": replaced})
    return values, replaced, None


def warm_up() -> None:
    """Compile (or load from NUMBA_CACHE_DIR) librosa's JIT code once, before any pool starts,
    so that workers load it from the cache instead of each compiling it."""
    from .extract import fingerprint

    t = np.arange(4410) / 44100
    fingerprint((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100, "extended")


def labels_for(layout: Layout, clip: Clip) -> dict[str, Any]:
    """Labels of one clip: its record if it has one, else what its name and folder say."""
    stem = Path(clip.name).stem
    row: dict[str, Any] = {c: None for c in LABEL_COLUMNS}
    rec = read_record(layout, clip.subset, clip.instrument, clip.name)
    if rec is not None:
        x = rec.extra
        row.update(source=rec.source, flawed_type=rec.flawed_type, origin=rec.origin,
                   original_name=rec.original_name or None, severity=x.get("severity"),
                   group=x.get("group"), preset=x.get("preset"),
                   params=json.dumps(x["params"], sort_keys=True) if "params" in x else None)
        for k, v in (x.get("correction") or {}).items():
            if k in CORRECTION_FIELDS:
                row[k] = v
    else:
        row["source"], row["flawed_type"] = labels_from_name(clip)
    if clip.subset == "gold":
        row["flawed_type"] = taxonomy.NO_FLAW
        row["severity"] = 0.0 if row["severity"] is None else row["severity"]
        for k in CORRECTION_FIELDS:  # nothing to correct on a gold clip
            row[k] = 0.0 if row[k] is None else row[k]
    row["group"] = row["group"] or f"{clip.instrument}/{stem}"
    return row


@dataclass
class ExtractResult:
    report: StepReport
    rows: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    replaced: int = 0
    computed: int = 0
    """Clips analysed in this run."""
    cached: int = 0
    """Clips whose fingerprint came from the cache."""
    table: Any = None
    """The joined features + labels DataFrame."""


def _write_frame(df, dest: Path, kind: str) -> None:
    with atomic_path(dest) as tmp:
        if kind == "csv":  # shortest decimal that round-trips each float exactly
            df.to_csv(tmp, index=False, float_format=lambda v: repr(float(v)))
        elif kind == "pkl":
            df.to_pickle(tmp, compression=None)
        else:
            df.to_parquet(tmp, index=False)


def extract(layout: Layout, schema: str = schema_mod.DEFAULT_SCHEMA, *, jobs: int | None = None,
            scheduler: str | None = None, progress: bool = True,
            write: bool = True) -> ExtractResult:
    """Fingerprint every clip and write the tables (see the module doc).

    A clip whose processed file (by content hash) was fingerprinted before with the same
    schema and code is read from ``cache/features`` instead of being analysed again. With
    ``write=False`` nothing is written; the joined table is in ``result.table``.
    """
    import pandas as pd

    schema_mod.specs(schema)  # validates the name
    rep = StepReport("extract")
    result = ExtractResult(rep)
    if n := layout.remove_partial_files():
        rep.notes.append(f"removed {n} temporary file(s) left by an interrupted run")
    cache = Cache(layout.cache, "features")
    clips: list[Clip] = []
    outputs: list[tuple[list[float] | None, int, str | None] | None] = []
    work: list[tuple[str, str, str, str]] = []
    slot: list[int] = []
    for clip in layout.iter_clips("raw", rep.skipped):
        processed = output_path(layout, clip)
        try:
            k = feature_key(sha256_file(processed), schema)
        except OSError:
            rep.skip(clip.path, "no processed copy (run normalize first)")
            result.failures.append({"file": str(clip.path), "reason": "not normalized"})
            continue
        clips.append(clip)
        hit = cache.get(k)
        if hit is not None:
            outputs.append((hit["vector"], hit["replaced"], None))
            result.cached += 1
        else:
            outputs.append(None)
            slot.append(len(clips) - 1)
            work.append((str(processed), schema, str(layout.cache), k))
    if work and (scheduler or (jobs or default_jobs()) > 1):
        warm_up()
    bar = tqdm(total=len(work), desc=f"features ({schema})", unit="clip",
               disable=None if progress else True, leave=False)
    try:
        for i, out in run_tasks(_extract_one, work, jobs=jobs, scheduler=scheduler):
            outputs[slot[i]] = out
            bar.update(1)
    finally:
        bar.close()
    result.computed = len(work)
    rows, label_rows = [], []
    for clip, (vec, replaced, error) in zip(clips, outputs):
        if error is not None:
            rep.skip(clip.path, f"cannot analyse: {error}")
            result.failures.append({"file": str(clip.path), "reason": error})
            continue
        result.replaced += replaced
        key = {"file": clip.name, "subset": clip.subset, "instrument": clip.instrument}
        rows.append({**key, **dict(zip(schema_mod.names(schema), vec))})
        label_rows.append({**key, **labels_for(layout, clip)})

    header = schema_mod.csv_header(schema)
    features = pd.DataFrame(rows, columns=header)
    feature_cols = header[3:]
    features[feature_cols] = features[feature_cols].astype("float64")
    labels = pd.DataFrame(label_rows, columns=[*schema_mod.METADATA_COLUMNS, *LABEL_COLUMNS])
    for col in ("severity", *CORRECTION_FIELDS):
        labels[col] = pd.to_numeric(labels[col], errors="coerce")
    order = ["subset", "instrument", "file"]
    features = features.sort_values(order, kind="stable").reset_index(drop=True)
    labels = labels.sort_values(order, kind="stable").reset_index(drop=True)
    joined = features.merge(labels, on=list(schema_mod.METADATA_COLUMNS), how="left")
    result.table = joined
    result.rows = len(features)
    if not write:
        return result

    out = layout.features
    _write_frame(features, out / FEATURES_CSV, "csv")
    _write_frame(features, out / FEATURES_PKL, "pkl")
    _write_frame(labels, out / LABELS_CSV, "csv")
    _write_frame(joined, out / FEATURES_PARQUET, "parquet")
    values = features[feature_cols].to_numpy()
    meta = schema_mod.metadata(schema)
    meta.update({
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_dir": str(layout.root),
        "source_audio": "processed/ (loudness-normalized copies of raw/)",
        "packages": _package_versions(),
        "counts": {"rows": len(features), "computed": result.computed, "cached": result.cached,
                   "gold": int((features["subset"] == "gold").sum()),
                   "flawed": int((features["subset"] == "flawed").sum()),
                   "total_floats": int(values.size),
                   "nan": int(np.isnan(values).sum()), "inf": int(np.isinf(values).sum()),
                   "non_finite_replaced_by_guard": result.replaced},
        "failures": result.failures,
        "files": {"features_csv": FEATURES_CSV, "features_pkl": FEATURES_PKL,
                  "labels_csv": LABELS_CSV, "features_parquet": FEATURES_PARQUET},
    })
    atomic_write_json(out / METADATA_JSON, meta)
    return result


def load_training_table(data_dir: str | os.PathLike | None = None):
    """The joined training table (``features.parquet``): key, 64 features, labels."""
    import pandas as pd

    path = Layout.at(data_dir).features / FEATURES_PARQUET
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `clarity features --extract`")
    return pd.read_parquet(path)

