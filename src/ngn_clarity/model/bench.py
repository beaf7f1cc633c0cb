"""``clarity bench-onnx``: single-row latency and batch throughput of the exported models,
on real fingerprints of the model's schema (from the feature cache), one thread."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from ..fsutil import atomic_write_json
from ..layout import Layout
from ..settings import Interval, Validated
from ..steps.tables import build_tables
from .artifacts import publish
from .evaluate import design_matrix
from .predict import OnnxModels

#: The latency goal at p99 (ms) of both models in a row; the seed asked for < 5 ms.
GOAL_P99_MS = 0.5
SEED_P99_MS = 5.0


@dataclass(frozen=True)
class BenchSettings(Validated):
    """How long to measure.

    Parameters
    ----------
    calls : int
        Single-row calls per model.
    batch : int
        Rows per batch for the throughput.
    warmup : int
        Calls before the timed ones.
    """

    calls: int = 10_000
    batch: int = 1024
    warmup: int = 200

    constraints = {"calls": Interval(int, 10, 10_000_000), "batch": Interval(int, 1, 1_000_000),
                   "warmup": Interval(int, 0, 1_000_000)}


@dataclass(frozen=True)
class Latency:
    """Single-row latency percentiles (ms)."""

    p50_ms: float
    p99_ms: float
    p999_ms: float
    mean_ms: float


@dataclass
class BenchResult:
    """``onnx_bench.json``."""

    calls: int
    batch: int
    threads: int
    latency: dict[str, Latency] = field(default_factory=dict)
    """``classifier``, and ``regressor`` and ``both`` when there is a regressor."""
    batch_rows_per_s: float = 0.0

    @property
    def both(self) -> Latency:
        return self.latency.get("both", self.latency["classifier"])

    @property
    def goal_met(self) -> bool:
        return self.both.p99_ms < GOAL_P99_MS

    def to_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "batch": self.batch, "threads": self.threads,
                **{k: asdict(v) for k, v in self.latency.items()},
                "batch_rows_per_s": self.batch_rows_per_s,
                "goal": {"seed_p99_ms": SEED_P99_MS, "ours_p99_ms": GOAL_P99_MS,
                         "met": self.goal_met}}


def _latency(run: Callable[[int], Any], rows: np.ndarray, warmup: int) -> Latency:
    for i in rows[:warmup]:
        run(i)
    lat = np.empty(len(rows))
    for k, i in enumerate(rows):
        t0 = time.perf_counter()
        run(i)
        lat[k] = time.perf_counter() - t0
    q = {name: round(float(np.percentile(lat, p)) * 1e3, 4)
         for name, p in (("p50_ms", 50), ("p99_ms", 99), ("p999_ms", 99.9))}
    return Latency(**q, mean_ms=round(float(lat.mean()) * 1e3, 4))


def measure(models: OnnxModels, x: np.ndarray, s: BenchSettings) -> BenchResult:
    """Single-row latency (p50/p99/p99.9 over ``s.calls`` rows drawn from ``x``) and batch
    throughput of ``models``; writes nothing."""
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(x), s.calls)
    result = BenchResult(s.calls, s.batch, 1)
    runs: dict[str, Callable[[int], Any]] = {
        "classifier": lambda i: models.classify(x[i:i + 1])}
    if "regressor" in models.sessions:
        runs["regressor"] = lambda i: models.corrections(x[i:i + 1])
        runs["both"] = lambda i: (models.classify(x[i:i + 1]), models.corrections(x[i:i + 1]))
    for label, run in runs.items():
        result.latency[label] = _latency(run, rows, s.warmup)
    xb = x[rng.integers(0, len(x), s.batch)]
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        models.classify(xb)
        models.corrections(xb)
    result.batch_rows_per_s = round(reps * s.batch / (time.perf_counter() - t0), 1)
    return result


def bench_onnx(layout: Layout, s: BenchSettings | None = None) -> BenchResult:
    """Single-row latency (p50/p99/p99.9 over ``calls``) and batch throughput; written to
    ``models/onnx_bench.json`` (a new model version with everything else kept)."""
    s = s or BenchSettings()
    layout.require()
    models = OnnxModels(layout, threads=1)
    # real fingerprints of the model's schema (from the feature cache), not random numbers
    table = build_tables(layout, models.card["schema"], progress=False, write=False).table
    result = measure(models, design_matrix(table, models.feature_names), s)
    with layout.lock():
        publish(layout, lambda out: atomic_write_json(out / "onnx_bench.json",
                                                      result.to_dict()),
                start_from_current=True)
    return result
