#!/usr/bin/env python3
"""Seed script: BRAIN_001 - organize raw audio into data/raw/.

Same flags as `clarity dataset` (see `python dataset_generator.py --help`); it only parses and calls the
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
    sys.exit(main(command="dataset", prog="dataset_generator.py"))
