"""Per-clip work: one task per clip that decodes it once and does everything it still needs.

:meth:`Plan.make` decides, without decoding anything, what each clip of the catalog needs:

* its **audio-check verdict** (cached by content hash; a cached refusal needs no task);
* its **normalized copy**, unless its state still vouches for the output
  (:meth:`ngn_clarity.state.NormState.vouches_for`), or the state records a known failure;
* its **fingerprint** (cached by source hash + normalization settings + schema), when a
  schema is asked for.

:func:`process_clip` (run in this process, a local pool or on Dask) reads the raw file once,
checks it, normalizes it, writes the output, and fingerprints the normalized samples in
memory; when the output is already up to date it reads the processed file instead. The
processed copy is the only file a worker writes: its state, verdict and fingerprint go back
to :func:`execute`, which appends them to their journals (:mod:`ngn_clarity.cache`,
:mod:`ngn_clarity.state`) as each result arrives, so a killed run keeps its finished clips.
:func:`execute` collects what the steps report (:class:`Done`): the one refusal reason of
each clip, the states and the fingerprints.

``clarity run`` plans with a normalization setting and a schema (one pass per clip);
``clarity normalize`` without a schema; ``clarity features --extract`` with no normalization
setting, in which case a clip without an up-to-date processed copy is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import audio, verdicts
from .cache import Cache
from .cache import key as cache_key
from .catalog import Catalog, Entry
from .checks import Verdict, audio_checks
from .errors import AudioError, LoudnessError
from .executor import progress_bar, run_tasks
from .features import schema as schema_mod
from .features.analysis import THIRD_OCTAVES, Analysis
from .features.extract import fingerprint_of, spectrum_of
from .features.schema import Schema
from .gain import NormalizeSettings, normalize_samples
from .layout import Layout
from .settings import Scheduler
from . import state as state_mod
from .state import NormState, failed, read_state, write_output

#: Part of every fingerprint cache key: bump when extraction code changes its numbers (or
#: what a cache entry holds).
EXTRACTOR_VERSION = 4
#: The cache namespace of fingerprints (``cache/features.jsonl``).
FEATURES = "features"


def feature_key(source_sha256: str, settings_key: str, schema: Schema) -> str:
    """Cache key of one clip's fingerprint: its raw content, how it was normalized, the
    schema and the code versions."""
    return cache_key("features", source_sha256, settings_key, schema.name, schema.version,
                     EXTRACTOR_VERSION)


@dataclass(frozen=True)
class ClipTask:
    """Everything a worker needs for one clip (small and picklable: paths, not audio)."""

    source: str
    sha256: str
    verdict: Verdict | None
    """Cached audio-check verdict, or None to check the decoded samples."""
    state: NormState
    """The clip's normalization state before this task (base fields for a new one)."""
    normalize: NormalizeSettings | None
    """Normalize with these settings; None when the processed copy is up to date."""
    dest: str
    schema: str | None
    """Fingerprint with the schema of this name (None: no fingerprint wanted)."""
    feature_key: str


@dataclass
class ClipResult:
    """What one task found and made."""

    verdict: Verdict | None = None
    """The audio-check verdict made in this task (None: it came from the cache)."""
    refusal: str | None = None
    """Why the clip is in no table (None: it goes on)."""
    state: NormState | None = None
    """The clip's new normalization state (its output is written; execute records it)."""
    vector: np.ndarray | None = None
    """The fingerprint (float64; an array pickles as one block, not 64 Python floats)."""
    replaced: int = 0
    spectrum: np.ndarray | None = None
    decoded: int = 0
    """Files decoded (0 or 1)."""


def _check(task: ClipTask, result: ClipResult) -> tuple[Verdict, np.ndarray | None, int | None]:
    """The clip's verdict, and its samples when the task needs them (decoded once)."""
    verdict, samples, sr = task.verdict, None, None
    if verdict is None or task.normalize is not None:
        try:
            samples, sr = audio.read(task.source)
            result.decoded = 1
        except AudioError as e:
            verdict = Verdict.refuse(e.reason)
        if verdict is None:
            assert samples is not None and sr is not None  # decoded (else verdict is set)
            verdict = audio_checks(samples, sr)
        if task.verdict is None:
            result.verdict = verdict  # cached by execute
    return verdict, samples, sr


def _fingerprint(task: ClipTask, result: ClipResult, state: NormState,
                 out: np.ndarray | None, sr: int | None, loud) -> None:
    """Fingerprint the normalized samples (or the processed file) into the result."""
    assert task.schema is not None
    if out is None:
        try:
            out, sr = audio.read(task.dest)
        except AudioError as e:
            result.refusal = f"processed copy unreadable: {e.reason}"
            return
        loud = state.loudness_after()
    assert sr is not None
    a = Analysis(out, sr, loud)
    vec, replaced = fingerprint_of(a, schema_mod.get(task.schema))
    result.vector, result.replaced = np.asarray(vec, dtype=np.float64), replaced
    result.spectrum = np.asarray(spectrum_of(a), dtype=np.float64)


def process_clip(task: ClipTask) -> ClipResult:
    """Worker: everything one clip still needs (see the module doc).

    Never raises for a bad clip (the result says why); an output that cannot be written
    raises :class:`~ngn_clarity.errors.OutputError`.
    """
    result = ClipResult()
    verdict, samples, sr = _check(task, result)
    if not verdict.usable:
        result.refusal = verdict.error
        return result
    state, out, loud = task.state, None, None
    if task.normalize is not None:
        cfg = task.normalize
        assert samples is not None and sr is not None  # usable, so decoded above
        try:
            done = normalize_samples(samples, sr, cfg)
        except LoudnessError as e:
            state = failed(state, f"could not measure loudness: {e.reason}")
            result.state, result.refusal = state, state.error
            return result
        state = write_output(task.dest, state.normalized(done, sr, samples.shape[1]),
                             done.out, sr, cfg.subtype)
        result.state = state
        if cfg.subtype == "FLOAT":  # what was written is exactly these samples
            out, loud = done.out, done.after
    if task.schema is not None:
        _fingerprint(task, result, state, out, sr, loud)
    return result


@dataclass
class Plan:
    """What each clip of a catalog still needs (see :meth:`make`), and, once
    :func:`execute` has run, what it got."""

    layout: Layout
    catalog: Catalog
    cfg: NormalizeSettings | None
    schema: Schema | None
    refused: dict[int, str] = field(default_factory=dict)
    """Catalog index -> the clip's one refusal reason, known before any task."""
    states: dict[int, tuple[bytes, bool]] = field(default_factory=dict)
    """Catalog index -> (its normalization state as
    :meth:`~ngn_clarity.state.NormState.pack` packs it, produced before this run)."""
    vectors: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    """``[catalog entries, schema width]`` float64: row i is clip i's fingerprint once
    :attr:`has_vector` says so. One array, filled in place: no object a clip (at 20,000 clips
    the dicts of small arrays this replaces were about 1 KB a clip, scattered over the heap
    between the results' transient objects, so the heap could not shrink after)."""
    replaced: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    """Non-finite values the guard replaced in each fingerprint."""
    has_vector: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    spectra: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    """``[catalog entries, 31]``: each clip's 1/3-octave long-term spectrum (for the
    report; NaN where a cache entry of an older version has none)."""
    tasks: list[ClipTask] = field(default_factory=list)
    task_index: list[int] = field(default_factory=list)
    warnings: dict[int, list[str]] = field(default_factory=dict)
    checked: Cache | None = None
    """The verdict journal (:mod:`ngn_clarity.verdicts`)."""
    features: Cache | None = None
    """The fingerprint journal."""
    norm: Cache | None = None
    """The normalization states (:func:`ngn_clarity.state.journal`)."""

    @classmethod
    def make(cls, layout: Layout, catalog: Catalog, cfg: NormalizeSettings | None,
             schema: Schema | None, force: bool = False) -> "Plan":
        """Plan every clip of ``catalog``.

        Parameters
        ----------
        layout : Layout
            The data folder.
        catalog : Catalog
            Its clips (:func:`ngn_clarity.catalog.scan`).
        cfg : NormalizeSettings or None
            Normalize with these settings; None: use the processed copies as they are.
        schema : Schema or None
            Fingerprint with this schema; None: no fingerprints.
        force : bool
            Redo every clip's normalization (and so its fingerprint).
        """
        plan = cls(layout, catalog, cfg, schema)
        n, width = len(catalog.entries), len(schema.names) if schema else 0
        plan.vectors = np.zeros((n, width))
        plan.replaced = np.zeros(n, dtype=np.int32)
        plan.has_vector = np.zeros(n, dtype=bool)
        plan.spectra = np.full((n, len(THIRD_OCTAVES) if schema else 0), np.nan)
        plan.checked = checked = verdicts.cache(layout.cache)
        plan.features = features = Cache(layout.cache, FEATURES)
        plan.norm = state_mod.journal(layout)
        for i, e in enumerate(catalog.entries):
            if e.refusal is not None:
                plan.refused[i] = e.refusal
                continue
            verdict = verdicts.cached(checked, e.sha256)
            if verdict is not None:
                plan.warnings[i] = verdict.warnings
                if (reason := verdicts.first_error(e, verdict)) is not None:
                    plan.refused[i] = reason
                    continue
            plan._plan_clip(i, e, verdict, features, force)
        return plan

    def _plan_clip(self, i: int, e: Entry, verdict: Verdict | None, features: Cache,
                   force: bool) -> None:
        layout, dest = self.layout, self.layout.processed_path(e.clip)
        assert self.norm is not None  # (make sets it)
        state = read_state(self.norm, layout.processed_rel(e.clip))
        if self.cfg is None:  # extract only: whatever normalization made the processed copy
            key = state.settings_key if state is not None else ""
            if state is None or not state.vouches_for(e.sha256, key, dest):
                self.refused[i] = ("no up-to-date processed copy (raw file new or changed "
                                   "since it was normalized): run `clarity normalize`")
                return
            redo = None
        else:
            key = self.cfg.key()
            holds = state is not None and state.vouches_for(e.sha256, key, dest)
            redo = self.cfg if force or not holds else None
            if redo is not None:
                state = NormState.new(layout, e, self.cfg, subtype=self.cfg.subtype)
        assert state is not None
        if redo is None:
            if state.status == "failed":
                self.refused[i] = state.error or "could not normalize"
                return
            self.states[i] = (state.pack(), True)
        fkey = feature_key(e.sha256, key, self.schema) if self.schema else ""
        if self.schema and redo is None:
            hit = features.get(fkey)
            if hit is not None:
                self.keep(i, hit["vector"], hit["replaced"], hit.get("spectrum"))
        need_vector = self.schema is not None and not self.has_vector[i]
        if verdict is None or redo is not None or need_vector:
            self.tasks.append(ClipTask(
                str(e.clip.path), e.sha256, verdict, state, redo, str(dest),
                self.schema.name if need_vector and self.schema else None, fkey))
            self.task_index.append(i)


    def keep(self, i: int, vector, replaced: int, spectrum) -> None:
        """Clip ``i``'s fingerprint (and spectrum, when there is one of the right length)
        into the plan's arrays; a vector of another width is not kept (not this schema)."""
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != self.vectors.shape[1:]:
            return
        self.vectors[i], self.replaced[i], self.has_vector[i] = vector, replaced, True
        if spectrum is not None and len(spectrum) == self.spectra.shape[1]:
            self.spectra[i] = spectrum

    def fingerprinted(self) -> list[int]:
        """Catalog indices of the clips with a fingerprint and no refusal, in order."""
        return [int(i) for i in np.flatnonzero(self.has_vector) if int(i) not in self.refused]


@dataclass
class Done:
    """A plan after its tasks ran."""

    plan: Plan
    refused: dict[str, str] = field(default_factory=dict)
    """Raw path -> the one reason the clip is in no table."""
    normalized: list[int] = field(default_factory=list)
    """Catalog indices of the clips normalized in this run (their states are in
    ``plan.states``)."""
    decoded: int = 0
    computed: int = 0
    """Fingerprints computed in this run."""
    tasks: int = 0
    """Tasks run (the plan's task list is released once they are done)."""

    def usable(self) -> list[tuple[Entry, np.ndarray, int]]:
        """(entry, vector, replaced) of every clip that has a fingerprint, catalog order."""
        plan = self.plan
        return [(plan.catalog.entries[i], plan.vectors[i], int(plan.replaced[i]))
                for i in plan.fingerprinted()]

    def spectra(self) -> list[tuple[Entry, np.ndarray]]:
        """(entry, long-term spectrum) of the same clips as :meth:`usable`."""
        plan = self.plan
        return [(plan.catalog.entries[i], plan.spectra[i]) for i in plan.fingerprinted()]


def _fold(plan: Plan, done: Done, task: ClipTask, i: int, result: ClipResult) -> None:
    """Keep one task's result, and append what it found to the journals (the state after
    the output it vouches for: the worker wrote that before it returned)."""
    assert plan.checked is not None and plan.features is not None and plan.norm is not None
    done.decoded += result.decoded
    if result.verdict is not None:
        verdicts.store(plan.checked, task.sha256, result.verdict)
        plan.warnings[i] = result.verdict.warnings
    if result.state is not None:
        state_mod.record(plan.norm, result.state)
        plan.states[i] = (result.state.pack(), False)
        if result.state.status == "normalized":
            done.normalized.append(i)
    if result.refusal is not None:
        plan.refused[i] = result.refusal
    elif result.vector is not None:
        spectrum = None if result.spectrum is None else result.spectrum.tolist()
        plan.features.put(task.feature_key, {"vector": result.vector.tolist(),
                                             "replaced": result.replaced,
                                             "spectrum": spectrum})
        plan.keep(i, result.vector, result.replaced, result.spectrum)
        done.computed += 1


def execute(plan: Plan, *, jobs: int | None = None,
            scheduler: str | Scheduler | None = None, progress: bool = True,
            desc: str = "clips") -> Done:
    """Run the plan's tasks; fold their results into the plan (see :class:`Done`).

    Parameters
    ----------
    plan : Plan
        From :meth:`Plan.make`.
    jobs : int, optional
        Worker processes (default: every core).
    scheduler : str or Scheduler, optional
        A Dask scheduler's address; the tasks run on its workers.
    progress : bool
        Show a progress bar on a terminal.
    desc : str
        The bar's label.
    """
    done = Done(plan)
    assert plan.checked is not None and plan.features is not None and plan.norm is not None
    for journal in (plan.checked, plan.features, plan.norm):
        journal.open_to_append()  # (the plan has read them)
    with (plan.checked, plan.features, plan.norm,
          progress_bar(len(plan.tasks), desc, progress) as bar):
        for k, result in run_tasks(process_clip, plan.tasks, jobs=jobs, scheduler=scheduler):
            bar.update(1)
            _fold(plan, done, plan.tasks[k], plan.task_index[k], result)
    done.tasks, plan.tasks, plan.task_index = len(plan.tasks), [], []  # done: let them go
    for i, reason in sorted(plan.refused.items()):
        done.refused[str(plan.catalog.entries[i].clip.path)] = reason
    return done
