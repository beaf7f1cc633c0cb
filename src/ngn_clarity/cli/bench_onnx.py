"""``clarity bench-onnx``: single-row latency and batch throughput of the ONNX models."""

from __future__ import annotations

import argparse

from ..layout import Layout
from ..model.bench import GOAL_P99_MS, SEED_P99_MS, BenchSettings, bench_onnx
from .runner import EXIT_OK, Console, setting


def add_arguments(p: argparse.ArgumentParser) -> None:
    setting(p, "--calls", BenchSettings, "calls", "single-row calls")
    setting(p, "--batch", BenchSettings, "batch", "batch size")


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    r = bench_onnx(layout, BenchSettings(calls=args.calls, batch=args.batch))
    for k, lat in r.latency.items():
        con.info(f"{k:<11} p50 {lat.p50_ms:.3f} ms   p99 {lat.p99_ms:.3f} ms")
    con.info(f"batch of {r.batch}: {r.batch_rows_per_s:,.0f} rows/s (both models)")
    con.info(f"goal p99 < {GOAL_P99_MS:g} ms (seed: < {SEED_P99_MS:g} ms): "
             f"{'met' if r.goal_met else 'not met'}")
    return EXIT_OK
