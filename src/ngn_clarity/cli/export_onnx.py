"""``clarity export-onnx``: export the trained models to ONNX again (``train`` already does)."""

from __future__ import annotations

import argparse

from ..layout import Layout
from ..model.export import export_onnx
from .runner import EXIT_OK, Console


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, con: Console, layout: Layout) -> int:
    for path in export_onnx(layout):
        con.info(f"wrote {path}")
    return EXIT_OK
