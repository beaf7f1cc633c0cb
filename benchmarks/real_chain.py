"""The real-audio benchmark's test set: real recordings as they are (gold) and flawed by sox,
a chain the package never uses, with randomized parameters for each flaw sox can make (every
flaw but sloppy_timing): peaking EQ, shelves, high/low-pass, compand, overdrive, reverb. Each
chain records a severity in [0, 1] (the mean position of its drawn amounts in their ranges)
and, for its EQ part, the exact correction (its response measured on an impulse).

Also the split of recordings into halves (alternating within each instrument and package, so
both halves hold every package) that ``real_audio.py`` trains and tests on.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from ngn_clarity import taxonomy
from ngn_clarity.corrections import EQ_CENTRES_HZ, EQ_FIELDS

FOLDER = {"drums": "Drums", "vocals": "Vocals", "bass": "Bass", "guitar": "Guitar",
          "keys": "Keys"}


class Draw:
    """Draws parameters and remembers where each fell in its range (for the severity)."""

    def __init__(self, rng: np.random.Generator):
        self.rng, self.positions = rng, []

    def u(self, lo: float, hi: float, strong_high: bool = True) -> float:
        v = float(self.rng.uniform(lo, hi))
        self.positions.append((v - lo) / (hi - lo) if strong_high else (hi - v) / (hi - lo))
        return v

    def lu(self, lo: float, hi: float) -> float:  # a frequency: not a strength
        return float(math.exp(self.rng.uniform(math.log(lo), math.log(hi))))

    @property
    def severity(self) -> float:
        return round(float(np.mean(self.positions)), 4) if self.positions else 0.5


def _eq(d: Draw, lo: float, hi: float, q: tuple[float, float], g: tuple[float, float]):
    return ["equalizer", f"{d.lu(lo, hi):.1f}", f"{d.lu(*q):.2f}q", f"{d.u(*g):+.1f}"]


def _tone(flaw: str, instrument: str, d: Draw) -> list[str]:
    if flaw in ("muddy", "harsh", "boxy", "nasal", "over_sibilant", "ringy"):
        band, q, g = {"muddy": ((180, 400), (0.7, 1.5), (6, 12)),
                      "harsh": ((2000, 5000), (1.0, 2.5), (6, 12)),
                      "boxy": ((400, 850), (1.2, 3.0), (6, 12)),
                      "nasal": ((800, 1500), (1.5, 4.0), (7, 12)),
                      "over_sibilant": ((5000, 9000), (1.0, 2.0), (8, 14)),
                      "ringy": ((500, 3000), (15, 30), (10, 15))}[flaw]
        return _eq(d, *band, q, g)
    if flaw == "boomy":
        if d.rng.random() < 0.5:
            return ["bass", f"{d.u(8, 14):+.1f}", f"{d.lu(70, 130):.0f}", "0.8s"]
        return _eq(d, 60, 130, (1.5, 4.0), (8, 14))
    if flaw == "thin":
        f = d.u(80, 200) if instrument == "bass" else d.u(150, 400)
        return ["highpass", f"{f:.0f}"] * int(d.rng.integers(1, 3))
    if flaw == "dark":
        return ["lowpass", f"{d.u(1500, 4000, strong_high=False):.0f}"] * int(
            d.rng.integers(1, 3))
    if flaw == "undefined":
        return ["lowpass", f"{d.u(300, 700, False):.0f}", "lowpass",
                f"{d.u(300, 700, False):.0f}"]
    return []


def sox_chain(flaw: str, instrument: str, rng: np.random.Generator
              ) -> tuple[list[str], list[str], float]:
    """(all sox effects, the EQ/filter effects alone, severity) for one flaw."""
    d = Draw(rng)
    e = _tone(flaw, instrument, d)
    dyn: list[str] = []
    if flaw in ("over_compressed", "undefined"):
        attack, decay = d.lu(0.001, 0.01), d.lu(0.05, 0.3)
        knee, floor = d.u(-40, -25, strong_high=False), d.u(-16, -10)
        dyn = ["compand", f"{attack:.3f},{decay:.3f}", f"6:-80,-80,{knee:.0f},{floor:.0f},0,-6",
               "-6", "-90", f"{attack:.3f}"]
    elif flaw == "distorted":
        dyn = ["overdrive", f"{d.u(15, 40):.0f}", f"{d.u(0, 30):.0f}"]
    elif flaw == "ringy":
        dyn = ["reverb", f"{d.u(40, 90):.0f}", f"{d.u(20, 60):.0f}", f"{d.u(60, 100):.0f}"]
    return e + dyn, e, d.severity


def run_sox(src: Path, dest: Path, effects: list[str]) -> None:
    # sox works in 32-bit integers: -12 dB of headroom first, back to -1 dBFS peak at the end
    subprocess.run(["sox", str(src), "-e", "floating-point", "-b", "32", str(dest),
                    "gain", "-12", *effects, "gain", "-n", "-1"], check=True,
                   capture_output=True)


def eq_truth(effects: list[str], sr: int, tmp: Path) -> dict[str, float] | None:
    """The correction of the EQ part of a sox chain: minus its response at the centres."""
    if not effects:
        return None
    imp = np.zeros(1 << 15, dtype=np.float32)
    imp[100] = 0.25
    sf.write(str(tmp / "impulse.wav"), imp, sr, subtype="FLOAT")
    subprocess.run(["sox", str(tmp / "impulse.wav"), "-e", "floating-point", "-b", "32",
                    str(tmp / "response.wav"), *effects], check=True, capture_output=True)
    h, _ = sf.read(str(tmp / "response.wav"), dtype="float64")
    mag = np.abs(np.fft.rfft(h[: 1 << 15])) / 0.25
    freqs = np.fft.rfftfreq(1 << 15, 1 / sr)
    gain = 20 * np.log10(np.maximum(np.interp(EQ_CENTRES_HZ, freqs, mag), 1e-6))
    return {f: float(np.clip(-g, -24, 24)) for f, g in zip(EQ_FIELDS, gain)}


def split(entries: list[dict]) -> dict[str, list[tuple[int, dict]]]:
    """Each instrument's recordings in a fixed order, numbered (alternate: even = train half
    A, odd = test half B, so both hold every package)."""
    out = {}
    for inst in taxonomy.INSTRUMENTS:
        mine = sorted((e for e in entries if e["instrument"] == inst),
                      key=lambda e: (e["source_package"], e["name"]))
        out[inst] = list(enumerate(mine))
    return out


def build_test_half(entries: list[dict], work: Path, rng: np.random.Generator) -> list[dict]:
    """Copy half B's recordings (gold) and sox-flaw each once per flaw of its instrument;
    return the test clips (path, instrument, flaw, severity, source, sox, eq_truth)."""
    tests: list[dict] = []
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    for inst, numbered in split(entries).items():
        for k, e in numbered:
            if k % 2 == 0:
                continue
            src = Path(e["path"])
            gold = work / "test_half" / inst / f"{k:03d}_gold.wav"
            gold.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, gold)
            tests.append({"path": str(gold), "instrument": inst, "flaw": "none",
                          "severity": 0.0, "source": e["source_package"], "recording": k,
                          "eq_truth": None})
            sr = sf.info(str(src)).samplerate
            for flaw in taxonomy.flaws_for(inst):
                if flaw == "sloppy_timing":
                    continue
                effects, eq_part, sev = sox_chain(flaw, inst, rng)
                dest = gold.with_name(f"{k:03d}_{flaw}.wav")
                try:
                    run_sox(src, dest, effects)
                except subprocess.CalledProcessError:
                    continue  # sox refuses an equalizer above its rate's Nyquist: no clip
                if abs(sf.info(str(dest)).frames - sf.info(str(src)).frames) > sr // 10:
                    # compand on a few short one-shots returns a truncated file: not a test
                    print(f"{dest}: sox returned {sf.info(str(dest)).duration:.2f} s of "
                          f"{sf.info(str(src)).duration:.2f} s; left out")
                    dest.unlink()
                    continue
                tests.append({"path": str(dest), "instrument": inst, "flaw": flaw,
                              "severity": sev, "source": e["source_package"], "recording": k,
                              "sox": " ".join(effects),
                              "eq_truth": eq_truth(eq_part, sr, work / "tmp")})
    return tests


def copy_train_half(entries: list[dict], dest: Path,
                    per_instrument: int | None = None) -> int:
    """Half A's recordings as ``<Instrument>/<Instrument> NNN.wav`` (import-gold names);
    ``per_instrument`` keeps that many of each instrument. Returns how many."""
    n = 0
    for inst, numbered in split(entries).items():
        mine = [(k, e) for k, e in numbered if k % 2 == 0][:per_instrument]
        for k, e in mine:
            out = dest / FOLDER[inst] / f"{FOLDER[inst]} {k:03d}.wav"
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(e["path"], out)
            n += 1
    return n
