"""The steps: each one does one thing to a data folder and returns what it did.

* :mod:`.base`: what every writing step does around its work (the data folder's lock, the
  clean-up of a killed run's temporary files, the note that says so);
* :mod:`.dataset`: the dataset steps in the order they run (``clarity dataset``), from
  :mod:`.ingest` (import-gold, organize-flawed), :mod:`.suno` (prompts), :mod:`.augment`
  (the flaw engine on every gold clip), :mod:`.manifest` and :mod:`.validate`;
* :mod:`.synth`: the embedded default dataset into ``raw/``;
* :mod:`.normalize`: ``processed/`` at -18 LUFS, its log, and ``--verify``;
* :mod:`.tables`: every clip's fingerprint into the ``features/`` tables.

Steps sit above the per-clip work (:mod:`ngn_clarity.work`) and below the model, the report,
the pipeline and the command line; none of them imports another layer's step upwards.
"""
