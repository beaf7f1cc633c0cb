"""What every writing step does around its work: hold the data folder's lock, remove the
temporary files a killed run left, and say so in the step's report."""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..layout import Layout
from ..outcome import StepReport


@contextlib.contextmanager
def writing(layout: Layout, report: StepReport) -> Iterator[StepReport]:
    """Hold ``layout``'s writer lock while the block runs, after removing this package's own
    temporary files under it (only while the lock is held is that safe).

    Parameters
    ----------
    layout : Layout
        The data folder (the lock is re-entrant: a command that already holds it, with
        ``--wait`` or not, keeps it).
    report : StepReport
        Gets a note when stale temporary files were removed.

    Yields
    ------
    StepReport
        ``report``.
    """
    with layout.lock():
        if n := layout.remove_partial_files():
            report.notes.append(f"removed {n} temporary file(s) left by an interrupted run")
        yield report
