"""Dataset organization (``dataset_generator.py`` / ``clarity dataset``).

Python API, one function per seed flag::

    from ngn_clarity.layout import Layout
    from ngn_clarity import dataset
    layout = Layout.at("data")
    layout.init()                                     # --init
    dataset.import_gold(layout, "../Assets/Targets")  # --import-gold
    dataset.prepare_suno(layout)                      # --prepare-suno
    dataset.organize_flawed(layout)                   # --organize-flawed (data/downloads)
    dataset.write_manifest(layout)                    # --manifest
    dataset.validate(layout)                          # --validate
"""

from .ingest import import_gold, organize_flawed, screen
from .manifest import build_manifest, write_manifest
from .suno import build_config, prepare_suno
from .validate import ValidationReport, validate

#: Where ``--import-gold`` looks by default: the seed's Clarity library beside the repo.
DEFAULT_GOLD_SOURCE = "../Assets/Targets"

__all__ = [
    "DEFAULT_GOLD_SOURCE", "ValidationReport", "build_config", "build_manifest", "import_gold",
    "organize_flawed", "prepare_suno", "screen", "validate", "write_manifest",
]
