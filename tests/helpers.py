"""Shared test helpers (imported as a module: ``from helpers import tone``): every signal the
tests use is made here, by code, plus file snapshots and a look for orphaned processes."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from ngn_clarity.layout import Layout


def tone(seconds: float = 1.0, sr: int = 44100, freq: float = 440.0, amp: float = 0.5,
         channels: int = 1, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    x = (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def write_tone(path: Path, seconds: float = 1.0, sr: int = 44100, freq: float = 440.0,
               amp: float = 0.5, channels: int = 1, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr, freq, amp, channels), sr, subtype=subtype)
    return path


def copy_raw(rendered: Path, dest: Path) -> Layout:
    """A new data folder holding a copy of ``rendered``'s raw audio and its records."""
    shutil.copytree(rendered / "raw", dest / "raw")
    shutil.copytree(rendered / "records", dest / "records")
    return Layout(dest)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """path -> (sha256, mode) of every file below root (links not followed)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink() or not p.is_file():
            continue
        out[str(p.relative_to(root))] = (digest(p), os.stat(p).st_mode)
    return out


def processes_mentioning(text: str, wait_s: float = 5.0) -> list[int]:
    """PIDs whose command line contains ``text`` (polls until none or ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    if text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                        found.append(int(proc.name))
                except OSError:
                    continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
