"""The 64-float fingerprint (``feature_extractor.py`` / ``clarity features``).

* :mod:`.schema`: the 64 ordered feature specs (seed and extended), the one source of truth;
* :mod:`.extract`: samples -> fingerprint (pure);
* :mod:`.tables`: :func:`build_tables`, every clip -> ``features.csv/.pkl/.parquet``,
  ``labels.csv``, metadata;
* :mod:`.analyze`: statistics and plots.
"""

from .schema import DEFAULT_SCHEMA, SCHEMAS, FeatureSpec, csv_header, names, specs
from .tables import build_tables, load_training_table

__all__ = ["DEFAULT_SCHEMA", "SCHEMAS", "FeatureSpec", "build_tables", "csv_header",
           "load_training_table", "names", "specs"]
