"""The third-party modules imported inside functions, not at the top of a module, and why.

Everything else is imported at the top of the module that uses it. These are imported where
they are first needed, because importing them costs a process more than the work most
commands do (``clarity --help`` and ``clarity loudness FILE`` take 0.2-0.25 s, a warm
``clarity run`` with nothing to do about 0.4 s, a pool or Dask worker fingerprints a clip in
10 ms; docs/performance.md). ``tests/test_architecture.py`` refuses any other import inside
a function.

Costs: seconds to import the module (the submodules the package uses) after numpy, median of
5 fresh processes, Python 3.11, bytecode cached, on the 2-core machine of the benchmarks
(with ``PYTHONDONTWRITEBYTECODE=1`` the same within 10 %: the site-packages' bytecode is
already there). Anything cheaper than about 0.05 s is imported at the top (pedalboard 0.01,
soundfile 0.03, tqdm 0.06 when first, threadpoolctl, soxr, pyebur128), except onnxruntime
(0.04): ``run`` imports the report page, whose latency section can run the ONNX models.
"""

from __future__ import annotations

#: module -> (seconds to import, what needs it only sometimes).
LAZY: dict[str, tuple[float, str]] = {
    "scipy.fft": (0.21, "the fingerprint's STFT, MFCC and long-term spectrum: not "
                        "`normalize`, a warm `run` or `--help`"),
    "scipy.signal": (0.67, "the flaw engine's filters and convolution: only where clips "
                           "are made (`augment`, `synth`), not `run` importing `augment`"),
    "scipy.ndimage": (0.22, "the extended schema's narrow-peak feature only"),
    "scipy.optimize": (0.34, "the temperature fit of `train`"),
    "pandas": (0.24, "building and reading the tables; a warm `run` checks them without it"),
    "pyarrow": (0.23, "the joined table's column names (its Parquet schema), so the analysis "
                      "and the report read only the columns they draw"),
    "matplotlib": (0.34, "figures of the report, `--analyze` and `train` (pyplot)"),
    "sklearn": (1.1, "splits, estimators and metrics of `train` (each of ensemble, "
                     "model_selection, metrics)"),
    "lightgbm": (1.2, "the boosted classifier of `train` (and its ONNX converter)"),
    "mapie": (0.11, "the conformal \"not sure\" sets of `train` (after sklearn)"),
    "joblib": (0.08, "saving and loading the fitted models: not `predict`, which runs ONNX"),
    "onnx": (0.64, "editing the exported graphs"),
    "skl2onnx": (1.9, "exporting the models"),
    "onnxmltools": (1.75, "exporting a LightGBM model (its converter)"),
    "distributed": (0.23, "`--scheduler`: the Dask client"),
    "onnxruntime": (0.04, "ONNX sessions of `predict`, `bench-onnx` and the report's short "
                          "bench: not `run`, which imports the report page"),
    "tinysoundfont": (0.004, "SoundFont rendering of `synth`: cheap, but optional (installed "
                             "without its dependencies), so imported where it is used"),
}


def allowed(module: str) -> bool:
    """True if ``module`` (or a package above it) may be imported inside a function."""
    parts = module.split(".")
    return any(".".join(parts[:i]) in LAZY for i in range(1, len(parts) + 1))
