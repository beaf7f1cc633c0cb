"""``--validate``: check the tree and every clip; errors fail, warnings only inform.

Errors: a missing folder, a file that cannot be decoded (empty, truncated, not audio), NaN/Inf
samples, digital silence, a clip shorter than ``settings.MIN_DURATION_S``, a flawed clip whose
name names no flaw of its instrument, the same content in gold and flawed.
Warnings: short or very long clips, clipped runs, non-canonical names, stray files,
duplicates within a subset, and class balance against the seed's targets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .. import audio, settings, taxonomy
from ..cache import Cache
from ..cache import key as cache_key
from ..executor import run_tasks
from ..fsutil import os_reason, sha256_file
from ..layout import Layout
from ..outcome import Skipped
from ..records import clip_labels


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning"
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper():7s} {self.path}: {self.message}"


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """instrument -> {"gold": n, "flawed": n, <flaw>: n, ...}"""
    files_checked: int = 0
    decoded: int = 0
    """Files decoded in this run (the others' audio checks came from the cache)."""

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
        self.findings.append(Finding(level, str(path), message))

    def table(self) -> str:
        """A fixed-width table: clips per instrument and flaw, errors and warnings."""
        per_file: dict[str, list[Finding]] = defaultdict(list)
        for f in self.findings:
            per_file[f.path].append(f)
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


def clipped_runs(samples: np.ndarray, level: float = settings.CLIP_LEVEL,
                 run: int = settings.CLIP_RUN) -> int:
    """Number of runs of at least ``run`` consecutive samples at ``|x| >= level``, all channels."""
    x = samples if samples.ndim == 2 else samples[:, None]
    total = 0
    for ch in range(x.shape[1]):
        hot = np.abs(x[:, ch]) >= level
        if hot.sum() < run:
            continue
        window = hot[: len(hot) - run + 1].copy()
        for k in range(1, run):
            window &= hot[k: len(hot) - run + 1 + k]
        # count starts of True stretches in `window`
        total += int(window[0]) + int(np.count_nonzero(window[1:] & ~window[:-1]))
    return total


_THRESHOLDS = {k: getattr(settings, k) for k in (
    "MIN_DURATION_S", "SHORT_DURATION_S", "MAX_DURATION_S", "SILENCE_PEAK", "CLIP_LEVEL",
    "CLIP_RUN", "MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE", "MAX_CHANNELS")}


def audio_checks(path) -> dict:
    """Checks that need the decoded audio: ``{"usable": bool, "findings": [[level, msg]]}``."""
    try:
        samples, sr = audio.read_usable(path)
    except audio.AudioError as e:
        return {"usable": False, "findings": [["error", e.reason]]}
    duration = samples.shape[0] / sr
    if duration < settings.MIN_DURATION_S:
        return {"usable": False, "findings": [
            ["error", f"too short ({duration:.3f} s < {settings.MIN_DURATION_S} s)"]]}
    findings = []
    if duration < settings.SHORT_DURATION_S:
        findings.append(["warning", f"short clip ({duration:.2f} s)"])
    elif duration > settings.MAX_DURATION_S:
        findings.append(["warning", f"long clip ({duration:.0f} s > "
                                    f"{settings.MAX_DURATION_S:.0f} s)"])
    runs = clipped_runs(samples)
    if runs:
        findings.append(["warning", f"clipping: {runs} run(s) of >= {settings.CLIP_RUN} "
                                    f"full-scale samples"])
    return {"usable": True, "findings": findings}


def validate(layout: Layout, jobs: int | None = None) -> ValidationReport:
    """Check the tree and every clip. The checks that decode audio are cached by content
    hash and run in ``jobs`` processes (default: all cores)."""
    report = ValidationReport()
    for d in layout.tree_dirs():
        if d.parent.parent == layout.raw and not d.is_dir():
            report.add("error", d, "missing folder (run --init)")
    skipped: list[Skipped] = []
    hashes: dict[str, list[tuple[str, str]]] = defaultdict(list)  # sha -> [(subset, path)]
    counts = {inst: defaultdict(int) for inst in taxonomy.INSTRUMENTS}
    cache = Cache(layout.cache, "validate")
    entries = []  # [clip, digest, checked-or-None]
    for clip in layout.iter_clips("raw", skipped):
        report.files_checked += 1
        try:
            digest = sha256_file(clip.path)
        except OSError as e:
            report.add("error", clip.path, os_reason(e))
            continue
        entries.append([clip, digest, cache.get(cache_key("validate", digest, _THRESHOLDS))])
    # decode only files not checked before with these thresholds, in parallel
    misses = [e for e in entries if e[2] is None]
    for i, checked in run_tasks(audio_checks, [str(e[0].path) for e in misses], jobs=jobs):
        misses[i][2] = checked
        cache.put(cache_key("validate", misses[i][1], _THRESHOLDS), checked)
        report.decoded += 1
    for clip, digest, checked in entries:
        for level, message in checked["findings"]:
            report.add(level, clip.path, message)
        if not checked["usable"]:
            continue
        hashes[digest].append((clip.subset, str(clip.path)))
        _check_name(report, layout, clip)
        _, flaw = clip_labels(layout, clip)
        c = counts[clip.instrument]
        c[clip.subset] += 1
        if clip.subset == "flawed" and flaw != taxonomy.NO_FLAW:
            c[flaw] += 1
    for s in skipped:
        report.add("warning", s.path, s.reason)
    for digest, where in hashes.items():
        if len(where) < 2:
            continue
        where.sort(key=lambda sp: taxonomy.SUBSETS.index(sp[0]))  # gold first
        subsets = {s for s, _ in where}
        paths = ", ".join(p for _, p in where[1:])
        if len(subsets) > 1:
            report.add("error", where[0][1], f"same content in gold and flawed: {paths}")
        else:
            report.add("warning", where[0][1], f"duplicate content: {paths}")
    report.counts = {inst: dict(c) for inst, c in counts.items()}
    _check_balance(report, layout)
    return report


def _check_name(report: ValidationReport, layout: Layout, clip) -> None:
    try:
        parsed = taxonomy.parse_canonical(clip.name)
    except taxonomy.TaxonomyError:
        parsed = None
        report.add("warning", clip.path, "not a canonical name (<source>_<NNN>.<ext> or "
                                         "<source>_flawed_<flaw>_<NNN>.<ext>)")
    if clip.subset == "flawed":
        try:
            flaw = taxonomy.flaw_from_name(clip.instrument, clip.name)
        except taxonomy.TaxonomyError as e:
            report.add("error", clip.path, f"cannot label: {e}")
            return
        if flaw == taxonomy.NO_FLAW:
            report.add("error", clip.path, f"flawed clip names no flaw (expected one of "
                                           f"{', '.join(taxonomy.flaws_for(clip.instrument))})")
    elif parsed is not None and parsed.flaw is not None:
        report.add("warning", clip.path, "gold clip has a flawed name")


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
