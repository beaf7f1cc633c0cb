"""NGN Clarity training pipeline: stems -> -18 LUFS -> 64-float fingerprints -> model.

Module map (pure functions on arrays at the core, file I/O at the edges, orchestration on top):

Single sources of truth
    taxonomy            instruments, sub-sources, flaw types, aliases, the file-name grammar
    layout              every path under the data root, and clip discovery
    settings            pipeline-wide defaults and the constraints each settings class declares
    features.schema     the 64 ordered feature specs (seed and extended schemas)
    flaws               the flaw engine: gold clip -> flawed clip + exact correction vector
    errors              one exception root, each refusal with a one-line ``reason``

Pure core (samples in, numbers out)
    loudness            ITU-R BS.1770-4 / EBU R 128 measurement
    units               decibel conversions
    features.analysis   the shared per-clip analysis, computed once, lazily
    features.families   one documented function per feature family
    features.extract    samples -> 64 floats
    dataset.segment     long stem -> clip boundaries
    synth.clips/music/voices   the embedded default dataset's material and rendering

Edges (files)
    audio               the one module that reads and writes audio
    fsutil              atomic writes, no-clobber copies, hashes, the lock
    records             one typed JSON record per clip
    cache               per-file results keyed by (content hash, settings hash)
    catalog             every clip in ``raw/``, its record, labels, and the clips refused

Steps (one per seed script; each returns an ``outcome.Outcome``)
    dataset             ``dataset_generator.py`` / ``clarity dataset`` (ingest, validate,
                        manifest, suno prompts)
    augment             ``clarity augment``: flawed clips from any gold library
    synth               ``clarity synth``: the embedded default dataset
    normalize           ``loudness_normalizer.py`` / ``clarity normalize``: -18 LUFS
    features            ``feature_extractor.py`` / ``clarity features`` (extract, analyze)
    model               phase 1B: train, evaluate, ONNX export, predict
    report              ``clarity report``: one self-contained HTML page

Orchestration
    work                one task per clip: decode once, do everything it still needs
    executor            this process, a local process pool, or a Dask cluster
    pipeline            ``run_pipeline.py`` / ``clarity run``
    cli                 ``clarity``: a thin layer over the Python API above
"""

__version__ = "0.1.0"


def load_training_table(data_dir=None):
    """The joined training table (``features/features.parquet``): key, 64 features, labels."""
    from .features.tables import load_training_table as load

    return load(data_dir)
