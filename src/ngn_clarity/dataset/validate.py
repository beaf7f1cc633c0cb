"""``--validate``: check the tree and every clip; errors keep a clip out of every table.

Errors (the clip is refused): a missing folder; a file that cannot be decoded (empty,
truncated, not audio, not a regular file); NaN/Inf samples; digital silence; a clip shorter
than ``settings.MIN_DURATION_S``; a clip whose energy is essentially DC or below 20 Hz; and
the catalog's refusals (:mod:`ngn_clarity.catalog`: shared output names, corrupt records, a
flawed clip that names no flaw, the same content in gold and flawed).
Warnings: short or very long clips, clipped runs, a DC offset, non-canonical names, stray
files, duplicates within a subset, and class balance against the seed's targets.

:func:`audio_checks` is a pure function of the decoded samples, so the one-pass pipeline
task runs it on the samples it already has; its verdicts are cached by content hash.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import audio, settings, taxonomy
from ..cache import Cache
from ..cache import key as cache_key
from ..catalog import Catalog, Entry, scan
from ..executor import run_tasks
from ..layout import Layout
from ..outcome import progress_bar
from ..units import amplitude_db

#: Bump when the checks change what they accept.
CHECKS_VERSION = 2


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
        self.findings.append(Finding(level, str(path), message))

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


def audible_fraction(samples: np.ndarray, sample_rate: int) -> float:
    """Share of the mono downmix's energy at or above 20 Hz (1.0 for most music).

    The energy below 20 Hz (DC included) is read off the spectrum of 1 ms block means (a cheap
    low-pass that keeps everything under 20 Hz; Parseval: the mean square of the part under
    20 Hz is ``(|X_0|^2 + 2 sum_{0 < f_k < 20 Hz} |X_k|^2) / n^2``) and subtracted from the
    total. A constant (DC-only) file reads 0.0. (numpy's FFT, not a scipy.signal filter:
    importing scipy.signal costs each worker process 0.9 s, more than the whole clip's work.)
    """
    x = audio.to_mono(samples).astype(np.float64)
    total = float(np.mean(x * x))
    if total <= 0.0:
        return 0.0
    block = max(1, sample_rate // 1000)
    n = len(x) // block
    if n < 16:  # under 16 ms: measure the mean only
        low = float(np.mean(x)) ** 2
    else:
        coarse = x[: n * block].reshape(n, block).mean(axis=1)
        spec = np.fft.rfft(coarse)
        k = np.fft.rfftfreq(n, block / sample_rate) < 20.0
        power = np.abs(spec[k]) ** 2
        low = float(power[0] + 2.0 * power[1:].sum()) / (n * n)
    return max(0.0, 1.0 - low / total)


def dc_offset_dbfs(samples: np.ndarray) -> float:
    """Largest channel mean (DC offset) in dBFS (floor -120 dB)."""
    return amplitude_db(float(np.max(np.abs(np.mean(samples, axis=0, dtype=np.float64)))))


def audio_checks(samples: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """Checks on decoded samples: ``{"usable": bool, "findings": [[level, message], ...]}``."""
    problem = audio.content_problem(samples)
    if problem:
        return {"usable": False, "findings": [["error", problem]]}
    duration = samples.shape[0] / sample_rate
    if duration < settings.MIN_DURATION_S:
        return {"usable": False, "findings": [
            ["error", f"too short ({duration:.3f} s < {settings.MIN_DURATION_S} s)"]]}
    audible = audible_fraction(samples, sample_rate)
    if audible < settings.MIN_AUDIBLE_ENERGY_FRACTION:
        return {"usable": False, "findings": [
            ["error", f"no audible content: {100 * (1 - audible):.1f} % of the energy is DC "
                      f"or below 20 Hz"]]}
    findings = []
    if duration < settings.SHORT_DURATION_S:
        findings.append(["warning", f"short clip ({duration:.2f} s)"])
    elif duration > settings.MAX_DURATION_S:
        findings.append(["warning", f"long clip ({duration:.0f} s > "
                                    f"{settings.MAX_DURATION_S:.0f} s)"])
    dc = dc_offset_dbfs(samples)
    if dc > settings.DC_OFFSET_WARN_DBFS:
        findings.append(["warning", f"DC offset of {dc:.1f} dBFS (over "
                                    f"{settings.DC_OFFSET_WARN_DBFS:g} dBFS)"])
    runs = clipped_runs(samples)
    if runs:
        findings.append(["warning", f"clipping: {runs} run(s) of >= {settings.CLIP_RUN} "
                                    f"full-scale samples"])
    return {"usable": True, "findings": findings}


def check_file(path: str) -> dict[str, Any]:
    """Decode ``path`` and run :func:`audio_checks` (an unreadable file is an error)."""
    try:
        samples, sr = audio.read(path)
    except audio.AudioError as e:
        return {"usable": False, "findings": [["error", e.reason]]}
    return audio_checks(samples, sr)


_THRESHOLDS = {k: getattr(settings, k) for k in (
    "MIN_DURATION_S", "SHORT_DURATION_S", "MAX_DURATION_S", "SILENCE_PEAK", "CLIP_LEVEL",
    "CLIP_RUN", "MIN_SAMPLE_RATE", "MAX_SAMPLE_RATE", "MAX_CHANNELS", "DC_OFFSET_WARN_DBFS",
    "MIN_AUDIBLE_ENERGY_FRACTION")}


def verdict_key(sha256: str) -> str:
    """Cache key of a file's audio-check verdict: its content and the thresholds."""
    return cache_key("validate", sha256, _THRESHOLDS, CHECKS_VERSION)


def verdicts(layout: Layout, entries: list[Entry], jobs: int | None = None,
             progress: bool = False) -> tuple[dict[str, dict], int]:
    """Audio-check verdict of every entry by content hash (cached); returns (verdicts, decoded)."""
    cache = Cache(layout.cache, "validate")
    out: dict[str, dict] = {}
    misses: dict[str, str] = {}  # sha -> one path with that content
    for e in entries:
        if e.sha256 in out or e.sha256 in misses:
            continue
        hit = cache.get(verdict_key(e.sha256))
        if hit is not None:
            out[e.sha256] = hit
        else:
            misses[e.sha256] = str(e.clip.path)
    shas = list(misses)
    with progress_bar(len(shas), "validate", progress) as bar:
        for i, checked in run_tasks(check_file, [misses[s] for s in shas], jobs=jobs):
            out[shas[i]] = checked
            cache.put(verdict_key(shas[i]), checked)
            bar.update(1)
    return out, len(shas)


def validate(layout: Layout, jobs: int | None = None, progress: bool = False,
             catalog: Catalog | None = None) -> ValidationReport:
    """Check the tree and every clip (see the module doc)."""
    report = ValidationReport()
    for d in layout.tree_dirs():
        if d.parent.parent == layout.raw and not d.is_dir():
            report.add("error", d, "missing folder (run --init)")
    cat = catalog or scan(layout)
    report.files_checked = len(cat.entries)
    checkable = [e for e in cat.entries if e.sha256]
    found, report.decoded = verdicts(layout, checkable, jobs, progress)
    counts: dict[str, defaultdict[str, int]] = {inst: defaultdict(int)
                                                for inst in taxonomy.INSTRUMENTS}
    for e in cat.entries:
        path = e.clip.path
        verdict = found.get(e.sha256, {"usable": True, "findings": []})
        for level, message in verdict["findings"]:
            report.add(level, path, message)
        if e.refusal is not None:
            report.add("error", path, e.refusal)
        for w in e.warnings:
            report.add("warning", path, w)
        reason = first_error(e, verdict)
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


def first_error(entry: Entry, verdict: dict | None) -> str | None:
    """The one reason a clip is refused (catalog first, then its audio), or None."""
    if entry.refusal is not None:
        return entry.refusal
    if verdict is not None and not verdict["usable"]:
        return next(m for lv, m in verdict["findings"] if lv == "error")
    return None


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

