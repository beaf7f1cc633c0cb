"""``--validate``: check the tree and every clip; errors keep a clip out of every table.

Errors (the clip is refused): a missing folder; a file that cannot be decoded (empty,
truncated, not audio, not a regular file); NaN/Inf samples; digital silence; a clip shorter
than ``settings.MIN_DURATION_S``; a clip whose energy is essentially DC or below 20 Hz; and
the catalog's refusals (:mod:`ngn_clarity.catalog`: shared output names, corrupt records, a
flawed clip that names no flaw, the same content in gold and flawed).
Warnings: short or very long clips, clipped runs, a DC offset, non-canonical names, stray
files, duplicates within a subset, and class balance against the seed's targets.

The checks on the audio are :func:`ngn_clarity.checks.audio_checks` (pure; the one-pass
pipeline task runs it on the samples it already has); their verdicts are cached by content
hash (:mod:`ngn_clarity.verdicts`), so each file is decoded to be checked once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .. import settings, taxonomy, verdicts
from ..catalog import Catalog, Entry, scan
from ..checks import Verdict
from ..executor import progress_bar, run_tasks
from ..layout import Layout
from ..outcome import Finding


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """instrument -> {"gold": n, "flawed": n, <flaw>: n, ...} (usable clips only)"""
    files_checked: int = 0
    decoded: int = 0
    """Files decoded in this run (the others' audio checks came from the cache)."""
    refused: dict[str, str] = field(default_factory=dict)
    """Path of every refused clip -> its one reason."""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, level: str, path: object, message: str) -> None:
        self.findings.append(Finding(str(path), message, level))

    def table(self) -> str:
        """A fixed-width table: clips per instrument and flaw, errors and warnings."""
        head = f"{'instrument':<10} {'gold':>5} {'flawed':>6}  flaws (count per class)"
        lines = [head, "-" * len(head)]
        for inst in taxonomy.INSTRUMENTS:
            c = self.counts.get(inst, {})
            flaws = "  ".join(f"{f}={c.get(f, 0)}" for f in taxonomy.flaws_for(inst))
            lines.append(f"{inst:<10} {c.get('gold', 0):>5} {c.get('flawed', 0):>6}  {flaws}")
        lines.append("-" * len(head))
        lines.append(f"{self.files_checked} files checked: {len(self.errors)} error(s), "
                     f"{len(self.warnings)} warning(s)")
        return "\n".join(lines)


def check_all(layout: Layout, entries: list[Entry], jobs: int | None = None,
              progress: bool = False) -> tuple[dict[str, Verdict], int]:
    """Audio-check verdict of every entry by content hash (cached).

    Returns
    -------
    verdicts : dict
        SHA-256 -> :class:`~ngn_clarity.checks.Verdict`.
    decoded : int
        Files decoded in this call (the others came from the cache).
    """
    cache = verdicts.cache(layout.cache)
    out: dict[str, Verdict] = {}
    misses: dict[str, str] = {}  # sha -> one path with that content
    for e in entries:
        if e.sha256 in out or e.sha256 in misses:
            continue
        hit = verdicts.cached(cache, e.sha256)
        if hit is not None:
            out[e.sha256] = hit
        else:
            misses[e.sha256] = str(e.clip.path)
    shas = list(misses)
    with cache, progress_bar(len(shas), "validate", progress) as bar:
        for i, checked in run_tasks(verdicts.check_file, [misses[s] for s in shas], jobs=jobs):
            out[shas[i]] = checked
            verdicts.store(cache, shas[i], checked)
            bar.update(1)
    return out, len(shas)


def validate(layout: Layout, jobs: int | None = None, progress: bool = False,
             catalog: Catalog | None = None) -> ValidationReport:
    """Check the tree and every clip (see the module doc).

    Parameters
    ----------
    layout : Layout
        The data folder.
    jobs : int, optional
        Processes that decode the clips not checked before (None: every core).
    progress : bool
        Show a progress bar on a terminal.
    catalog : Catalog, optional
        ``scan(layout)`` when the caller has it.

    Returns
    -------
    ValidationReport
        Every :class:`~ngn_clarity.outcome.Finding` (errors refuse a clip), counts per
        class, and each refused clip's one reason.
    """
    report = ValidationReport()
    for d in layout.tree_dirs():
        if d.parent.parent == layout.raw and not d.is_dir():
            report.add("error", d, "missing folder (run --init)")
    cat = catalog or scan(layout)
    report.files_checked = len(cat.entries)
    checkable = [e for e in cat.entries if e.sha256]
    found, report.decoded = check_all(layout, checkable, jobs, progress)
    counts: dict[str, defaultdict[str, int]] = {inst: defaultdict(int)
                                                for inst in taxonomy.INSTRUMENTS}
    for e in cat.entries:
        path = e.clip.path
        verdict = found.get(e.sha256, Verdict(True))
        for level, message in verdict.findings:
            report.add(level, path, message)
        if e.refusal is not None:
            report.add("error", path, e.refusal)
        for w in e.warnings:
            report.add("warning", path, w)
        reason = verdicts.first_error(e, verdict)
        if reason is not None:
            report.refused[str(path)] = reason
            continue
        c = counts[e.clip.instrument]
        c[e.clip.subset] += 1
        if e.clip.subset == "flawed":
            c[e.flawed_type] += 1
    for s in cat.skipped:
        report.add("warning", s.path, s.reason)
    report.counts = {inst: dict(c) for inst, c in counts.items()}
    _check_balance(report, layout)
    return report


def _check_balance(report: ValidationReport, layout: Layout) -> None:
    where = layout.raw
    for inst in taxonomy.INSTRUMENTS:
        c = report.counts.get(inst, {})
        gold, flawed = c.get("gold", 0), c.get("flawed", 0)
        if gold < settings.GOLD_PER_INSTRUMENT:
            report.add("warning", where / "gold" / inst,
                       f"{gold} gold clips (seed target {settings.GOLD_PER_INSTRUMENT})")
        if flawed < settings.FLAWED_PER_INSTRUMENT:
            report.add("warning", where / "flawed" / inst,
                       f"{flawed} flawed clips (seed target {settings.FLAWED_PER_INSTRUMENT})")
        per_flaw = [c.get(f, 0) for f in taxonomy.flaws_for(inst)]
        missing = [f for f, n in zip(taxonomy.flaws_for(inst), per_flaw) if n == 0]
        if flawed and missing:
            report.add("warning", where / "flawed" / inst,
                       f"no clips for flaw(s): {', '.join(missing)}")
        present = [n for n in per_flaw if n]
        if len(present) > 1 and max(present) > settings.MAX_CLASS_IMBALANCE * min(present):
            report.add("warning", where / "flawed" / inst,
                       f"flaw classes unbalanced ({min(present)}..{max(present)} per class)")

