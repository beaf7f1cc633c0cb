"""NGN Clarity training pipeline: stems -> -18 LUFS -> 64-float fingerprints -> model."""

__version__ = "0.1.0"
