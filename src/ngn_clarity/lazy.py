"""The third-party modules imported inside functions, not at the top of a module, and why.

Everything else is imported at the top of the module that uses it. These are imported where
they are first needed, because importing them costs a process more than the work most
commands do (``clarity --help`` and ``clarity loudness FILE`` take about 0.2 s, a warm
``clarity run`` with nothing to do 0.3 s, a pool or Dask worker fingerprints a clip in
10 ms). ``tests/test_architecture.py`` refuses any other import inside a function.

Costs: seconds to import the module after numpy, on the 2-core machine these figures come
from, Python 3.11, bytecode cached (``python -X importtime``; median of 5 fresh processes).
"""

from __future__ import annotations

#: module -> (seconds to import, what needs it only sometimes).
LAZY: dict[str, tuple[float, str]] = {
    "scipy.fft": (0.19, "the fingerprint's STFT, MFCC and long-term spectrum: not "
                        "`normalize`, a warm `run` or `--help`"),
    "scipy.signal": (0.75, "the flaw engine's filters and convolution: only where clips "
                           "are made (`augment`, `synth`), not `run` importing `augment`"),
    "scipy.ndimage": (0.49, "the extended schema's narrow-peak feature only"),
    "scipy.optimize": (0.67, "the temperature fit of `train`"),
    "pandas": (0.57, "building and reading the tables; a warm `run` checks them without it"),
    "matplotlib": (0.66, "figures of the report, `--analyze` and `train`"),
    "sklearn": (2.0, "splits, estimators and metrics of `train`"),
    "lightgbm": (2.5, "the boosted classifier of `train` (and its ONNX converter)"),
    "joblib": (0.25, "saving and loading the fitted models"),
    "onnx": (2.15, "editing the exported graphs"),
    "skl2onnx": (4.6, "exporting the models"),
    "onnxmltools": (3.6, "exporting a LightGBM model"),
    "onnxruntime": (0.18, "`predict`, `bench-onnx` and the export's parity check"),
    "distributed": (1.34, "`--scheduler`: the Dask client"),
    "tinysoundfont": (0.03, "SoundFont rendering of `synth`; optional (installed without "
                            "its dependencies), so absent until used"),
}


def allowed(module: str) -> bool:
    """True if ``module`` (or a package above it) may be imported inside a function."""
    parts = module.split(".")
    return any(".".join(parts[:i]) in LAZY for i in range(1, len(parts) + 1))
