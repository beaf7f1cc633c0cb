"""The feature tables on disk: how they are built from rows, written, checked and read.

:mod:`ngn_clarity.steps.tables` fingerprints every usable clip and hands the rows here;
:func:`write_tables` writes, each atomically:

* ``features.csv`` / ``features.pkl``: exactly ``file, subset, instrument`` + 64 floats;
* ``labels.csv``: per clip (same key) source, ``flawed_type``, severity, group, preset, origin,
  original name, the 12 correction values (empty where unknown) and the engine parameters;
* ``features.parquet``: the two joined (what :func:`load_training_table` returns);
* ``spectra.parquet``: per clip (same key, with ``flawed_type``) its 1/3-octave long-term
  spectrum relative to its total power (``ltas_<Hz>`` columns, dB), which the report draws;
* ``feature_metadata.json`` (last): schema and version, every spec, analysis parameters,
  package versions, counts, every clip left out with its one reason, and the SHA-256 of
  each table above, so a reader can tell a set torn by a killed run.

A clip refused anywhere (validation, normalization) is in no table.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import taxonomy
from ..catalog import Entry
from ..corrections import CORRECTION_FIELDS
from ..errors import DataDirError
from ..fsutil import atomic_path, atomic_write_json, sha256_file
from ..layout import Layout
from .analysis import THIRD_OCTAVES
from .schema import METADATA_COLUMNS, Schema

FEATURES_CSV = "features.csv"
FEATURES_PKL = "features.pkl"
FEATURES_PARQUET = "features.parquet"
LABELS_CSV = "labels.csv"
SPECTRA_PARQUET = "spectra.parquet"
METADATA_JSON = "feature_metadata.json"
TABLES = (FEATURES_CSV, FEATURES_PKL, LABELS_CSV, FEATURES_PARQUET, SPECTRA_PARQUET)
LABEL_COLUMNS: tuple[str, ...] = (
    "source", "flawed_type", "severity", "group", "preset", "origin", "original_name",
    *CORRECTION_FIELDS, "params")
_PACKAGES = ("ngn-clarity", "numpy", "scipy", "librosa", "soxr", "soundfile", "pyebur128", "pandas",
             "pyarrow")


def _package_versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def labels_for(entry: Entry) -> dict[str, Any]:
    """Labels of one clip: its record if it has one, else what its name and folder say."""
    row: dict[str, Any] = {c: None for c in LABEL_COLUMNS}
    row.update(source=entry.source, flawed_type=entry.flawed_type, group=entry.group)
    rec = entry.record
    if rec is not None:
        row.update(origin=rec.origin or None, original_name=rec.original_name or None,
                   severity=rec.severity, preset=rec.preset or None,
                   params=entry.params)
    if entry.correction is not None:
        row.update(zip(CORRECTION_FIELDS, entry.correction.tolist()))
    if entry.clip.subset == "gold":
        row["flawed_type"] = taxonomy.NO_FLAW
        row["severity"] = 0.0 if row["severity"] is None else row["severity"]
        for k in CORRECTION_FIELDS:  # nothing to correct on a gold clip
            row[k] = 0.0 if row[k] is None else row[k]
    return row


def _write_frame(df, dest: Path, kind: str) -> None:
    with atomic_path(dest) as tmp:
        if kind == "csv":  # shortest decimal that round-trips each float exactly
            df.to_csv(tmp, index=False, float_format=lambda v: repr(float(v)),
                      chunksize=256)  # (pandas' default formats ~1500 rows as strings at once)
        elif kind == "pkl":
            df.to_pickle(tmp, compression=None)
        else:
            df.to_parquet(tmp, index=False)


def frames(schema: Schema, rows: list[tuple[Entry, np.ndarray, int]]):
    """(features, labels, joined) DataFrames of ``rows`` (entry, vector, replaced)."""
    import pandas as pd

    features = _keyed([e for e, _, _ in rows], [vec for _, vec, _ in rows], schema.names)
    columns: dict[str, list[Any]] = {c: [] for c in (*METADATA_COLUMNS, *LABEL_COLUMNS)}
    for e, _, _ in rows:  # column by column: one row's dict alive at a time, not 20,000
        row = {"file": e.clip.rel, "subset": e.clip.subset, "instrument": e.clip.instrument,
               **labels_for(e)}
        for c, values in columns.items():
            values.append(row.get(c))
    labels = pd.DataFrame(columns)
    for col in ("severity", *CORRECTION_FIELDS):
        labels[col] = pd.to_numeric(labels[col], errors="coerce")
    order = ["subset", "instrument", "file"]
    features = features.sort_values(order, kind="stable").reset_index(drop=True)
    labels = labels.sort_values(order, kind="stable").reset_index(drop=True)
    joined = features.merge(labels, on=list(METADATA_COLUMNS), how="left",
                            validate="one_to_one")
    return features, labels, joined


def _keyed(entries: list[Entry], vectors: list, names: list[str]):
    """``file, subset, instrument`` + one float64 column per name, one row per entry: built
    from one (rows, names) array, not a dict per row (a tenth of the memory)."""
    import pandas as pd

    values = (np.vstack(vectors).astype(np.float64, copy=False) if vectors
              else np.empty((0, len(names))))
    df = pd.DataFrame(values, columns=names)
    for at, (col, of) in enumerate((("file", lambda c: c.rel), ("subset", lambda c: c.subset),
                                    ("instrument", lambda c: c.instrument))):
        # the dtype pandas infers from a dict per row: str, object when there are no rows
        df.insert(at, col, pd.Series([of(e.clip) for e in entries],
                                     dtype=None if entries else object))
    return df


def spectra_frame(rows: list[tuple[Entry, np.ndarray]], labels):
    """``file, subset, instrument, flawed_type`` + the ``ltas_<Hz>`` columns."""
    cols = [f"ltas_{round(c)}" for c in THIRD_OCTAVES]
    df = _keyed([e for e, _ in rows], [s if len(s) else np.full(len(cols), np.nan)
                                       for _, s in rows], cols)
    key = list(METADATA_COLUMNS)
    df = df.merge(labels[[*key, "flawed_type"]], on=key, how="left", validate="one_to_one")
    return df[[*key, "flawed_type", *cols]].sort_values(["subset", "instrument", "file"],
                                                        kind="stable").reset_index(drop=True)


def _key(e: Entry) -> tuple[str, str, str]:
    return (e.clip.subset, e.clip.instrument, e.clip.rel)  # the tables' row order


def content_digest(schema: Schema, rows: list[tuple[Entry, np.ndarray, int]],
                   spectra: list[tuple[Entry, np.ndarray]],
                   failures: list[dict[str, str]]) -> str:
    """SHA-256 of what the tables say: every row's key, labels, fingerprint and spectrum,
    what was left out, the schema's version and the tables' columns. Plain Python and numpy,
    so a re-run that changed nothing can tell without building a DataFrame (or importing
    pandas)."""
    h = hashlib.sha256(json.dumps([schema.name, schema.version, failures,
                                   schema.csv_header, LABEL_COLUMNS],
                                  sort_keys=True).encode())
    for e, vec, _ in sorted(rows, key=lambda r: _key(r[0])):
        h.update(json.dumps([*_key(e), labels_for(e)], sort_keys=True, default=str).encode())
        h.update(np.asarray(vec, dtype=np.float64).tobytes())
    for e, spectrum in sorted(spectra, key=lambda r: _key(r[0])):
        h.update(json.dumps(_key(e)).encode())
        h.update(np.asarray(spectrum, dtype=np.float64).tobytes())
    return h.hexdigest()


def holds(layout: Layout, digest: str) -> bool:
    """True if the tables on disk are whole and say exactly ``digest``."""
    try:
        return check_tables(layout).get("content_sha256") == digest
    except DataDirError:
        return False


def write_tables(layout: Layout, schema: Schema, features, labels, joined, spectra,
                 counts: dict[str, Any], failures: list[dict[str, str]], digest: str) -> None:
    """Write the five tables, then the metadata that vouches for them (see module doc)."""
    out = layout.features
    for name, df, kind in ((FEATURES_CSV, features, "csv"), (FEATURES_PKL, features, "pkl"),
                           (LABELS_CSV, labels, "csv"), (FEATURES_PARQUET, joined, "parquet"),
                           (SPECTRA_PARQUET, spectra, "parquet")):
        _write_frame(df, out / name, kind)
    values = features.iloc[:, 3:].to_numpy()
    gold = features[features["subset"] == "gold"]
    meta = schema.metadata()
    meta.update({
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_dir": str(layout.root),
        "source_audio": "processed/ (loudness-normalized copies of raw/)",
        "packages": _package_versions(),
        "counts": {"rows": len(features), **counts,
                   "gold": len(gold),
                   "flawed": int((features["subset"] == "flawed").sum()),
                   "total_floats": int(values.size),
                   "valid": int(np.isfinite(values).all(axis=1).sum()),
                   "nan": int(np.isnan(values).sum()), "inf": int(np.isinf(values).sum()),
                   "left_out": len(failures),
                   "per_instrument": {k: int(v) for k, v in
                                      features.groupby("instrument").size().items()},
                   "gold_per_instrument": {k: int(v) for k, v in
                                           gold.groupby("instrument").size().items()}},
        "failures": failures,
        "files": {"features_csv": FEATURES_CSV, "features_pkl": FEATURES_PKL,
                  "labels_csv": LABELS_CSV, "features_parquet": FEATURES_PARQUET},
        "sha256": {name: sha256_file(out / name) for name in TABLES},
        "content_sha256": digest,
    })
    atomic_write_json(out / METADATA_JSON, meta)


def load_training_table(data_dir: str | os.PathLike | None = None,
                        columns: list[str] | None = None):
    """The joined training table (``features.parquet``): key, 64 features, labels.

    Parameters
    ----------
    data_dir : path, optional
        The data folder (default ``$CLARITY_DATA_DIR``, else ``./data``).
    columns : list of str, optional
        Read only these columns, in this order (the labels' text columns are most of a
        20,000-row table's memory once read).

    Returns
    -------
    pandas.DataFrame
        ``file, subset, instrument``, the 64 features in schema order, then the labels
        (``df.iloc[:, 3:67]`` is the fingerprint).

    Raises
    ------
    DataDirError
        If the tables are missing or were not all written by one run (a run was killed
        while writing them).
    """
    import pandas as pd

    layout = Layout.at(data_dir)
    path = _joined_table(layout)
    check_tables(layout)
    return pd.read_parquet(path, columns=columns)


def _joined_table(layout: Layout) -> Path:
    path = layout.features / FEATURES_PARQUET
    if not path.is_file():
        raise DataDirError(f"{path} does not exist: run `clarity run` (or `clarity features "
                           f"--extract`)")
    return path


def table_columns(layout: Layout) -> list[str]:
    """The joined table's column names, from ``features.parquet``'s schema (nothing else
    is read); :class:`DataDirError` when there is no table (or it is not Parquet)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = _joined_table(layout)
    try:
        return list(pq.read_schema(path).names)
    except (OSError, pa.ArrowException) as e:
        raise DataDirError(f"{path} cannot be read: {e}") from None


def check_tables(layout: Layout) -> dict[str, Any]:
    """The tables' metadata, after checking every table is the one it vouches for."""
    try:
        meta = json.loads((layout.features / METADATA_JSON).read_text(encoding="utf-8"))
        want = meta["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DataDirError(f"{layout.features / METADATA_JSON} is missing or unreadable: run "
                           f"`clarity features --extract`") from None
    for name, digest in want.items():
        try:
            if sha256_file(layout.features / name) != digest:
                raise DataDirError(f"{layout.features / name} is not the table its metadata "
                                   f"describes (a run was interrupted): run `clarity features "
                                   f"--extract`")
        except OSError:
            raise DataDirError(f"{layout.features / name} is missing: run `clarity features "
                               f"--extract`") from None
    return meta
