"""``--extract`` (``clarity features --extract``): the fingerprint of every usable clip into
the ``features/`` tables.

:func:`build_tables` fingerprints the processed (-18 LUFS) copy of every clip of ``raw/``
that the checks and normalization accepted (one task per clip, :mod:`ngn_clarity.work`),
and writes the tables (:mod:`ngn_clarity.features.tables`). A clip's fingerprint is cached
by its raw content, its normalization settings, the schema and the code versions, so a
re-run analyses only what changed; tables that already say exactly this are not rewritten.
A clip refused anywhere (validation, normalization) is in no table.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from ..catalog import no_audio, scan
from ..features import tables as store
from ..features.schema import DEFAULT_SCHEMA, Schema, get
from ..layout import Layout
from ..settings import Scheduler
from ..outcome import StepReport
from ..work import Done, Plan, execute
from .base import writing


@dataclass
class ExtractResult:
    """What the extraction did."""

    report: StepReport
    rows: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    """Every clip left out: ``{"file", "reason"}``."""
    replaced: int = 0
    computed: int = 0
    """Clips analysed in this run."""
    cached: int = 0
    """Clips whose fingerprint came from the cache."""
    table: Any = None
    """The joined features + labels DataFrame (None when ``write`` found the tables on disk
    already holding exactly these rows: nothing was built)."""
    spectra: Any = None
    """Each clip's 1/3-octave long-term spectrum (``spectra.parquet``'s frame), beside
    :attr:`table`."""
    written: bool = False
    """False when the tables on disk were already exactly these."""


def tables_from(done: Done, schema: Schema, write: bool = True,
                report: StepReport | None = None) -> ExtractResult:
    """Fold a finished plan into the tables (and write them, unless ``write`` is False).

    Parameters
    ----------
    done : Done
        :func:`ngn_clarity.work.execute`'s result, planned with ``schema``.
    schema : Schema
        The fingerprint's schema.
    write : bool
        Write the tables (skipped when the ones on disk already say exactly this).
    report : StepReport, optional
        Where refused clips go (a new ``extract`` report by default).
    """
    result = ExtractResult(report or StepReport("extract"))
    for path, reason in done.refused.items():
        result.report.skip(path, reason)
        result.failures.append({"file": path, "reason": reason})
    rows = done.usable()
    result.computed, result.cached = done.computed, len(rows) - done.computed
    result.replaced = sum(r for _, _, r in rows)
    result.rows = len(rows)
    spectra = done.spectra()
    if write:
        digest = store.content_digest(schema, rows, spectra, result.failures)
        if store.holds(done.plan.layout, digest):
            return result  # the tables on disk say exactly this: nothing to build
    features, labels, joined = store.frames(schema, rows)
    result.table, result.spectra = joined, store.spectra_frame(spectra, labels)
    if write:
        store.write_tables(done.plan.layout, schema, features, labels, joined, result.spectra,
                           {"computed": result.computed, "cached": result.cached,
                            "non_finite_replaced_by_guard": result.replaced},
                           result.failures, digest)
        result.written = True
    return result


def build_tables(layout: Layout, schema: Schema | str = DEFAULT_SCHEMA, *,
                 jobs: int | None = None, scheduler: str | Scheduler | None = None,
                 progress: bool = True, write: bool = True) -> ExtractResult:
    """Fingerprint every usable clip and write the tables (see the module doc).

    Parameters
    ----------
    layout : Layout
        The data folder (it must exist).
    schema : Schema or str
        The fingerprint (default ``extended``).
    jobs : int, optional
        Worker processes (None: every core).
    scheduler : str or Scheduler, optional
        A Dask scheduler's address.
    progress : bool
        Show a progress bar on a terminal.
    write : bool
        False: write nothing (no lock taken); the joined table is in ``result.table``.

    Returns
    -------
    ExtractResult
    """
    schema = get(schema)
    layout.require()
    report = StepReport("extract")
    with writing(layout, report) if write else contextlib.nullcontext(report):
        catalog = scan(layout)
        if not catalog.entries:  # as `clarity run` says it; no empty tables are written
            report.errors.append(no_audio(layout))
            return ExtractResult(report)
        plan = Plan.make(layout, catalog, None, schema)
        done = execute(plan, jobs=jobs, scheduler=scheduler, progress=progress,
                       desc=f"features ({schema})")
        return tables_from(done, schema, write, report)
