"""The 64-float fingerprint (``feature_extractor.py`` / ``clarity features``).

* :mod:`.schema`: the 64 ordered feature specs (seed and extended), the one source of truth;
* :mod:`.extract`: samples -> fingerprint (pure);
* :mod:`.tables`: :func:`build_tables`, every clip -> ``features.csv/.pkl/.parquet``,
  ``labels.csv``, metadata;
* :mod:`.analyze`: statistics and plots.
"""

import os
from pathlib import Path

# librosa compiles some functions with numba on first use (about 25 s); keep the compiled
# code in a persistent cache so that it is paid once per machine, not per process.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "ngn-clarity" / "numba"))

from .schema import DEFAULT_SCHEMA, SCHEMAS, FeatureSpec, csv_header, names, specs  # noqa: E402
from .tables import build_tables, load_training_table  # noqa: E402

__all__ = ["DEFAULT_SCHEMA", "SCHEMAS", "FeatureSpec", "build_tables", "csv_header",
           "load_training_table", "names", "specs"]
