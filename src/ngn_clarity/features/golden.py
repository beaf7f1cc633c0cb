"""Golden vectors: deterministic test signals and their expected fingerprints.

``tests/golden/<schema>.json`` holds, for each signal below, its 64 expected values; the
test suite recomputes them, and a C++ implementation of the fingerprint tests itself
against the same files. The signals are made by code (legacy ``RandomState`` for the noise,
whose stream NumPy keeps stable), so both sides can regenerate them.

Regenerate after an intended change of a feature definition::

    python -m ngn_clarity.features.golden tests/golden [schema ...]

``seed`` never changes: its file still holds the values librosa computed when the schema
was made, and the numpy implementation must keep matching them within the tolerance.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.signal import chirp

from .extract import fingerprint
from .schema import SCHEMAS

#: Agreement a re-implementation must reach, per value: |got - want| <= atol + rtol * |want|.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def _sine() -> tuple[np.ndarray, int]:
    t = np.arange(2 * 44100) / 44100
    return (0.5 * np.sin(2 * np.pi * 1000 * t))[:, None].astype(np.float32), 44100


def _noise() -> tuple[np.ndarray, int]:
    x = np.random.RandomState(1234).uniform(-0.5, 0.5, 2 * 44100)
    return x[:, None].astype(np.float32), 44100


def _clicks() -> tuple[np.ndarray, int]:
    x = np.zeros(2 * 44100, dtype=np.float32)
    x[::11025] = 0.9  # one-sample clicks, 4 per second
    return x[:, None], 44100


def _chirp() -> tuple[np.ndarray, int]:
    t = np.arange(2 * 44100) / 44100
    return (0.3 * chirp(t, f0=100, t1=2.0, f1=10000, method="linear"))[:, None].astype(
        np.float32), 44100


def _stereo_48k() -> tuple[np.ndarray, int]:
    t = np.arange(2 * 48000) / 48000
    left = 0.4 * np.sin(2 * np.pi * 440 * t)
    right = 0.2 * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right], axis=1).astype(np.float32), 48000


SIGNALS: dict[str, tuple[str, Callable[[], tuple[np.ndarray, int]]]] = {
    "sine_1k": ("1 kHz sine, amplitude 0.5, 2 s, 44.1 kHz mono", _sine),
    "white_noise": ("uniform white noise in [-0.5, 0.5), RandomState(1234), 2 s, 44.1 kHz "
                    "mono", _noise),
    "click_train": ("one-sample clicks of 0.9 every 11025 samples (4 Hz), 2 s, 44.1 kHz mono",
                    _clicks),
    "chirp": ("linear chirp 100 Hz -> 10 kHz over 2 s, amplitude 0.3, 44.1 kHz mono", _chirp),
    "stereo_48k": ("48 kHz stereo: 440 Hz at 0.4 left, 660 Hz at 0.2 right, 2 s "
                   "(exercises downmix and resampling)", _stereo_48k),
}


def compute(name: str) -> dict[str, Any]:
    """The golden vectors of one schema: every signal's 64 expected values."""
    schema = SCHEMAS[name]
    out: dict[str, Any] = {"schema": name, "schema_version": schema.version,
                           "tolerance": TOLERANCE, "signals": {}}
    for signal, (description, make) in SIGNALS.items():
        samples, sr = make()
        vec, _ = fingerprint(samples, sr, schema)
        out["signals"][signal] = {"description": description, "sample_rate": sr,
                                  "channels": int(samples.shape[1]),
                                  "features": dict(zip(schema.names, map(float, vec)))}
    return out


def write(folder: str | Path, schemas: tuple[str, ...] = ("extended",)) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for schema in schemas:
        if schema not in SCHEMAS:
            raise SystemExit(f"unknown schema {schema!r}")
        (folder / f"{schema}.json").write_text(json.dumps(compute(schema), indent=1) + "\n")


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else "tests/golden",
          tuple(sys.argv[2:]) or ("extended",))
