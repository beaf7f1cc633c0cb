"""NGN Clarity training pipeline: stems -> -18 LUFS -> 64-float fingerprints -> model."""

__version__ = "0.1.0"


def load_training_table(data_dir=None):
    """The joined training table (``features/features.parquet``): key, 64 features, labels."""
    from .features.tables import load_training_table as load

    return load(data_dir)
