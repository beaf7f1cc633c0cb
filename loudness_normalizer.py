#!/usr/bin/env python3
"""Seed script: BRAIN_004 - normalize all audio to -18 LUFS.

Same flags as `clarity normalize` (see `python loudness_normalizer.py --help`); it only parses and calls the
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
    sys.exit(main(command="normalize", prog="loudness_normalizer.py"))
