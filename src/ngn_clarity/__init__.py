"""NGN Clarity training pipeline: stems -> -18 LUFS -> 64-float fingerprints -> model.

The module map, its layers and the rules the architecture test enforces are in
``docs/architecture.md`` (the table itself: :data:`ngn_clarity.architecture.LAYERS`). In
short, bottom to top: base (settings, taxonomy, errors, units, corrections), the pure core
(dsp, loudness, gain, checks, features, flaws, synth, segment), the edges that touch files
(fsutil, audio, layout, records, cache, catalog, state, verdicts, feature tables), per-clip
work (executor, work), the steps (``steps/``), the model and the report, the pipeline, and
the command line (``cli/``).
"""

__version__ = "0.1.0"

from .features.tables import load_training_table  # noqa: E402  (after __version__)

__all__ = ["__version__", "load_training_table"]
