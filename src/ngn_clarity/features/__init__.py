"""The 64-float fingerprint (``feature_extractor.py`` / ``clarity features``).

* :mod:`.schema`: the ordered feature specs of each :class:`~.schema.Schema` (seed and
  extended), the one source of truth;
* :mod:`.analysis`, :mod:`.families`, :mod:`.extract`: samples -> fingerprint (pure);
* :mod:`.tables`: the tables' files (``features.csv/.pkl/.parquet``, ``labels.csv``,
  metadata): how they are written, checked and read;
* :mod:`.golden`: deterministic signals and their expected fingerprints.

The step that fingerprints every clip into the tables is :mod:`ngn_clarity.steps.tables`.
"""

from .schema import DEFAULT_SCHEMA, SCHEMAS, FeatureSpec, Schema, get

__all__ = ["DEFAULT_SCHEMA", "SCHEMAS", "FeatureSpec", "Schema", "get"]
