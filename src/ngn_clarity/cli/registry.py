"""The ``clarity`` commands: name -> the module that implements it, its help line and its
options. A command's module is imported only when that command runs
(:func:`load`, the one place the package imports its own modules lazily), so ``clarity
--help`` starts without the flaw engine, pandas, scikit-learn or matplotlib.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Command:
    """One command.

    Parameters
    ----------
    name : str
        ``clarity <name>``.
    module : str
        Its module below ``ngn_clarity.cli`` (``add_arguments(parser)``, ``run(args, con,
        layout)``, optionally ``check(args, con)`` and ``creates(args)``).
    help : str
        The line ``clarity --help`` shows.
    seed_script : str, optional
        The seed's script that is this command (its ``prog``).
    data : bool
        Works on a data folder (``--data-dir``).
    writes : bool
        Writes to it: holds its lock for the whole command (``--wait``), and the folder
        must exist unless the command creates it.
    """

    name: str
    module: str
    help: str
    seed_script: str | None = None
    data: bool = True
    writes: bool = True

    def load(self) -> ModuleType:
        return importlib.import_module(f"ngn_clarity.cli.{self.module}")


COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("dataset", "dataset", "organize raw audio: init, import gold, Suno prompts, "
            "organize flawed, augment, manifest, validate", "dataset_generator.py"),
    Command("augment", "augment", "make labelled flawed clips (exact corrections) from every "
            "gold clip with the flaw engine"),
    Command("loudness", "loudness", "measure integrated loudness, LRA and true peak of files",
            data=False, writes=False),
    Command("normalize", "normalize", "normalize raw/ to a target loudness (-18 LUFS) into "
            "processed/ as WAV", "loudness_normalizer.py"),
    Command("synth", "synth", "render the embedded gold + flawed dataset into raw/"),
    Command("features", "features", "extract the 64-float fingerprints into features/ (or "
            "print them for FILE...)", "feature_extractor.py"),
    Command("run", "run", "the whole pipeline: dataset -> normalize + features (one pass per "
            "clip) -> analyze, incremental", "run_pipeline.py"),
    Command("train", "train", "train and cross-validate the flaw classifier and the "
            "correction regressor, export them to ONNX (phase 1B)"),
    Command("calibrate", "calibrate", "compare with your own gold: refit the model's gold "
            "reference and none thresholds on a folder of your gold stems (no retraining)"),
    Command("export-onnx", "export_onnx", "export the trained models to ONNX again (train "
            "already does)"),
    Command("bench-onnx", "bench_onnx", "ONNX single-row latency and batch throughput"),
    Command("predict", "predict", "flaw, confidence and corrections for audio files "
            "(normalize, fingerprint, ONNX)", writes=False),
    Command("fix", "fix", "apply the predicted correction: <stem>.fixed.wav, loudness "
            "matched, true peak <= -1 dBTP", writes=False),
    Command("report", "report", "write one self-contained HTML page about the dataset and "
            "the model"),
    Command("demo", "demo", "what `make demo` runs: every built step on the data folder",
            writes=False),
)}
