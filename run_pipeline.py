#!/usr/bin/env python3
"""Seed script: run the complete pipeline.

Same flags as `clarity run` (see `python run_pipeline.py --help`); it only parses and calls the
ngn_clarity package.
"""
import sys
from pathlib import Path

try:
    from ngn_clarity.cli import main
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    from ngn_clarity.cli import main

if __name__ == "__main__":
    sys.exit(main(command="run", prog="run_pipeline.py"))
