"""What a person reads: the HTML report, the feature analysis, and every figure.

* :mod:`.page`: ``clarity report``, one self-contained HTML page about the dataset, the
  features and the model;
* :mod:`.analyze`: ``clarity features --analyze``, statistics and plots under
  ``features/analysis/``;
* :mod:`.figures`: every figure the package draws (matplotlib, loaded on first use).
"""

from .analyze import analyze, cohens_d
from .page import build, write_report

__all__ = ["analyze", "build", "cohens_d", "write_report"]
