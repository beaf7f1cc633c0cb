"""Per-clip work: one task per clip that decodes it once and does everything it still needs.

:meth:`Plan.make` decides, without decoding anything, what each clip of the catalog needs:

* its **audio-check verdict** (cached by content hash; a cached refusal needs no task);
* its **normalized copy**, unless its state file still vouches for the output
  (:func:`ngn_clarity.normalize.state_holds`), or the state records a known failure;
* its **fingerprint** (cached by source hash + normalization settings + schema), when a
  schema is asked for.

:func:`process_clip` (run in this process, a local pool or on Dask) reads the raw file once,
checks it, normalizes it, writes the output and then its state, and fingerprints the
normalized samples in memory; when the output is already up to date it reads the processed
file instead. Every result is cached by the worker as soon as it exists (atomically), so a
killed run keeps its finished clips. :func:`execute` runs the tasks and collects what the
steps report: the one refusal reason of each clip, the states and the fingerprints.

``clarity run`` plans with a normalization setting and a schema (one pass per clip);
``clarity normalize`` without a schema; ``clarity features --extract`` with no normalization
setting, in which case a clip without an up-to-date processed copy is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import audio
from .cache import Cache
from .cache import key as cache_key
from .catalog import Catalog, Entry
from .dataset.validate import audio_checks, first_error, verdict_key
from .errors import AudioError, LoudnessError
from .executor import run_tasks
from .layout import Layout
from .normalize import (NormalizeSettings, base_state, log_entry, normalize_samples,
                        normalized_state, read_state, state_holds, write_failed,
                        write_output)
from .outcome import progress_bar

#: Part of every fingerprint cache key: bump when extraction code changes its numbers (or
#: what a cache entry holds).
EXTRACTOR_VERSION = 3


def feature_key(source_sha256: str, settings_key: str, schema: str) -> str:
    """Cache key of one clip's fingerprint: its raw content, how it was normalized, the
    schema and the code versions."""
    from .features.schema import SCHEMA_VERSIONS

    return cache_key("features", source_sha256, settings_key, schema,
                     SCHEMA_VERSIONS[schema], EXTRACTOR_VERSION)


@dataclass(frozen=True)
class ClipTask:
    source: str
    sha256: str
    verdict: dict | None
    """Cached audio-check verdict, or None to check the decoded samples."""
    state: dict
    """The clip's normalization state before this task (base fields for a new one)."""
    normalize: NormalizeSettings | None
    """Normalize with these settings; None when the processed copy is up to date."""
    dest: str
    state_path: str
    schema: str | None
    """Fingerprint with this schema (None: no fingerprint wanted)."""
    feature_key: str
    cache_root: str


def _loudness_of(state: dict) -> Any:
    """The state's measurement of its (float) output, to reuse in the fingerprint."""
    from .loudness import LoudnessReport

    if state.get("subtype", "FLOAT") != "FLOAT" or "after" not in state:
        return None
    return LoudnessReport.from_dict(state["after"], state.get("after_hop_energies", ()))


def process_clip(task: ClipTask) -> dict[str, Any]:
    """Worker: everything one clip still needs (see the module doc). Never raises for a
    bad clip (the result says why); an output that cannot be written raises OutputError."""
    result: dict[str, Any] = {"verdict": None, "refusal": None, "state": None, "vector": None,
                              "replaced": 0, "spectrum": None, "decoded": 0}
    verdict = task.verdict
    samples = sr = None
    if verdict is None or task.normalize is not None:
        try:
            samples, sr = audio.read(task.source)
            result["decoded"] = 1
        except AudioError as e:
            verdict = {"usable": False, "findings": [["error", e.reason]]}
        if verdict is None:
            assert samples is not None and sr is not None  # decoded (else verdict is set)
            verdict = audio_checks(samples, sr)
        if task.verdict is None:
            Cache(task.cache_root, "validate").put(verdict_key(task.sha256), verdict)
            result["verdict"] = verdict
    if not verdict["usable"]:
        result["refusal"] = next(m for lv, m in verdict["findings"] if lv == "error")
        return result

    state, out, loud = task.state, None, None
    if task.normalize is not None:
        cfg = task.normalize
        assert samples is not None and sr is not None  # usable, so decoded above
        try:
            done = normalize_samples(samples, sr, cfg)
        except LoudnessError as e:
            state = write_failed(task.state_path, state,
                                 f"could not measure loudness: {e.reason}")
            result.update(state=state, refusal=state["error"])
            return result
        state = write_output(task.dest, task.state_path,
                             normalized_state(state, done, sr, samples.shape[1]),
                             done.out, sr, cfg.subtype)
        result["state"] = state
        if cfg.subtype == "FLOAT":  # what was written is exactly these samples
            out, loud = done.out, done.after
    if task.schema is not None:
        from .features.analysis import Analysis
        from .features.extract import fingerprint_of, spectrum_of

        if out is None:
            try:
                out, sr = audio.read(task.dest)
            except AudioError as e:
                result["refusal"] = f"processed copy unreadable: {e.reason}"
                return result
            loud = _loudness_of(state)
        assert sr is not None
        a = Analysis(out, sr, loud)
        vec, replaced = fingerprint_of(a, task.schema)
        entry = {"vector": vec.tolist(), "replaced": replaced, "spectrum": spectrum_of(a)}
        Cache(task.cache_root, "features").put(task.feature_key, entry)
        result.update(entry)
    return result


def _kept(state: dict) -> dict:
    """What the plan keeps of a clip's state: all but the per-hop energies (about 1.6 KB a
    clip, needed only by the task that fingerprints from a state)."""
    return {k: v for k, v in state.items() if k != "after_hop_energies"}


def _floats(values) -> np.ndarray:
    """A vector or spectrum as float64 (a quarter of a list of Python floats' memory; the
    same values)."""
    return np.asarray(values if values is not None else (), dtype=np.float64)


@dataclass
class Plan:
    layout: Layout
    catalog: Catalog
    cfg: NormalizeSettings | None
    schema: str | None
    refused: dict[int, str] = field(default_factory=dict)
    """Catalog index -> the clip's one refusal reason, known before any task."""
    states: dict[int, tuple[dict, bool]] = field(default_factory=dict)
    """Catalog index -> (normalization state, produced before this run)."""
    vectors: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)
    spectra: dict[int, np.ndarray] = field(default_factory=dict)
    """Catalog index -> the clip's 1/3-octave long-term spectrum (for the report)."""
    tasks: list[ClipTask] = field(default_factory=list)
    task_index: list[int] = field(default_factory=list)
    warnings: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def make(cls, layout: Layout, catalog: Catalog, cfg: NormalizeSettings | None,
             schema: str | None, force: bool = False) -> "Plan":
        plan = cls(layout, catalog, cfg, schema)
        verdicts = Cache(layout.cache, "validate")
        features = Cache(layout.cache, "features")
        for i, e in enumerate(catalog.entries):
            if e.refusal is not None:
                plan.refused[i] = e.refusal
                continue
            verdict = verdicts.get(verdict_key(e.sha256))
            if verdict is not None:
                plan.warnings[i] = [m for lv, m in verdict["findings"] if lv == "warning"]
                if (reason := first_error(e, verdict)) is not None:
                    plan.refused[i] = reason
                    continue
            plan._plan_clip(i, e, verdict, features, force)
        return plan

    def _plan_clip(self, i: int, e: Entry, verdict: dict | None, features: Cache,
                   force: bool) -> None:
        layout, dest = self.layout, self.layout.processed_path(e.clip)
        state_path = layout.norm_state_path(e.clip)
        state = read_state(state_path)
        if self.cfg is None:  # extract only: whatever normalization made the processed copy
            key = (state or {}).get("settings_key", "")
            if not state_holds(state, e.sha256, key, dest):
                self.refused[i] = ("no up-to-date processed copy (raw file new or changed "
                                   "since it was normalized): run `clarity normalize`")
                return
            redo = None
        else:
            key = self.cfg.key()
            redo = self.cfg if force or not state_holds(state, e.sha256, key, dest) else None
            if redo is not None:
                state = {**base_state(layout, e, self.cfg), "subtype": self.cfg.subtype}
        assert state is not None
        if redo is None:
            if state.get("status") == "failed":
                self.refused[i] = state.get("error") or "could not normalize"
                return
            self.states[i] = (_kept(state), True)
        fkey = feature_key(e.sha256, key, self.schema) if self.schema else ""
        if self.schema and redo is None:
            hit = features.get(fkey)
            if hit is not None:
                self.vectors[i] = (_floats(hit["vector"]), hit["replaced"])
                self.spectra[i] = _floats(hit.get("spectrum"))
        need_vector = self.schema is not None and i not in self.vectors
        if verdict is None or redo is not None or need_vector:
            self.tasks.append(ClipTask(
                str(e.clip.path), e.sha256, verdict, state, redo, str(dest), str(state_path),
                self.schema if need_vector else None, fkey, str(layout.cache)))
            self.task_index.append(i)


@dataclass
class Done:
    plan: Plan
    refused: dict[str, str] = field(default_factory=dict)
    """Raw path -> the one reason the clip is in no table."""
    normalized: list[dict] = field(default_factory=list)
    """States written in this run."""
    decoded: int = 0
    computed: int = 0
    """Fingerprints computed in this run."""
    tasks: int = 0
    """Tasks run (the plan's task list is released once they are done)."""

    def log_entries(self) -> list[dict]:
        """``normalization_log.json`` entries of every clip (refused ones included)."""
        out = [log_entry(state, before) for state, before in self.plan.states.values()]
        cat = self.plan.catalog
        for i, reason in self.plan.refused.items():
            e = cat.entries[i]
            if i in self.plan.states:
                continue
            if self.plan.cfg is not None:
                out.append({**base_state(self.plan.layout, e, self.plan.cfg),
                            "status": "refused", "error": reason})
        return out

    def usable(self) -> list[tuple[Entry, np.ndarray, int]]:
        """(entry, vector, replaced) of every clip that has a fingerprint, catalog order."""
        cat = self.plan.catalog
        return [(cat.entries[i], *self.plan.vectors[i]) for i in sorted(self.plan.vectors)
                if i not in self.plan.refused]

    def spectra(self) -> list[tuple[Entry, np.ndarray]]:
        """(entry, long-term spectrum) of the same clips as :meth:`usable`."""
        cat = self.plan.catalog
        return [(cat.entries[i], self.plan.spectra.get(i, _floats(None)))
                for i in sorted(self.plan.vectors) if i not in self.plan.refused]


def execute(plan: Plan, *, jobs: int | None = None, scheduler: str | None = None,
            progress: bool = True, desc: str = "clips") -> Done:
    """Run the plan's tasks; fold their results into the plan (see :class:`Done`)."""
    done = Done(plan)
    with progress_bar(len(plan.tasks), desc, progress) as bar:
        for k, result in run_tasks(process_clip, plan.tasks, jobs=jobs, scheduler=scheduler):
            bar.update(1)
            i = plan.task_index[k]
            done.decoded += result["decoded"]
            if result["verdict"] is not None:
                plan.warnings[i] = [m for lv, m in result["verdict"]["findings"]
                                    if lv == "warning"]
            if result["state"] is not None:
                state = _kept(result["state"])
                plan.states[i] = (state, False)
                if state["status"] == "normalized":
                    done.normalized.append(state)
            if result["refusal"] is not None:
                plan.refused[i] = result["refusal"]
            elif result["vector"] is not None:
                plan.vectors[i] = (_floats(result["vector"]), result["replaced"])
                plan.spectra[i] = _floats(result["spectrum"])
                done.computed += 1
    done.tasks, plan.tasks, plan.task_index = len(plan.tasks), [], []  # done: let them go
    for i, reason in sorted(plan.refused.items()):
        done.refused[str(plan.catalog.entries[i].clip.path)] = reason
    return done
