"""Loudness measurement: ITU-R BS.1770-4 / EBU R 128, behind one small function.

:func:`measure` returns integrated loudness (BS.1770-4: K-weighting, 400 ms blocks at 75 %
overlap, -70 LUFS absolute and -10 LU relative gates), loudness range (EBU Tech 3342), true
peak (BS.1770-4 Annex 2, 4x oversampling at 44.1/48 kHz, see :func:`true_peak`; measured on
request), sample peak, and the maxima of momentary (400 ms) and short-term (3 s) loudness
sampled every 100 ms (EBU Tech 3341). The report also carries the K-weighted energy of every
100 ms hop, from which any window's loudness follows (:func:`momentary_series`,
:meth:`LoudnessReport.gain_is_exact`).

The engine is libebur128 (through ``pyebur128``) for the gated loudness measures, which pass
the EBU conformance cases, and soxr for the true-peak oversampling. This module adds the
pipeline's own rules (docs/architecture.md, "Decisions: loudness"):

* **Mono is dual-mono.** A one-channel file is measured as if sent to both speakers
  (channel weight 2, +3.01 dB against plain BS.1770), so a mono stem and its stereo copy
  land at the same level. Flag ``dual_mono``.
* **Short clips.** Shorter than one 400 ms gating block there is nothing to gate: the
  integrated value is the ungated K-weighted loudness of the whole clip. Flag ``short_clip``.
  LRA needs 3 s short-term windows; a shorter clip reports LRA 0.0 and flag ``short_for_lra``
  (and no short-term maximum).
* **Silence is an error.** A clip whose gated loudness does not exist (every block below the
  -70 LUFS absolute gate) raises :class:`SilentAudioError`; no number is invented.

Channel layouts follow BS.1770 weights: 1 = dual mono; 2 = L R; 3 = L R C; 4 = L R Ls Rs;
5 = L R C Ls Rs; 6 = L R C LFE Ls Rs (LFE excluded); 7-8 = the 5.1 map plus back surrounds
weighted as surrounds (1.41).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyebur128 as ebu
import soxr

from .errors import LoudnessError, SilentAudioError
from .units import amplitude_db

__all__ = ["LoudnessError", "SilentAudioError", "LoudnessReport", "measure",
           "loudness_series", "momentary_series", "hop_energies", "energy_to_lufs",
           "gain_to_target", "true_peak", "ENGINE"]

_MODE = (ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_LRA
         | ebu.MeasurementMode.MODE_S | ebu.MeasurementMode.MODE_SAMPLE_PEAK)
_C = ebu.ChannelType
_MAPS: dict[int, tuple[int, ...]] = {
    2: (_C.LEFT, _C.RIGHT),
    3: (_C.LEFT, _C.RIGHT, _C.CENTER),
    4: (_C.LEFT, _C.RIGHT, _C.LEFT_SURROUND, _C.RIGHT_SURROUND),
    5: (_C.LEFT, _C.RIGHT, _C.CENTER, _C.LEFT_SURROUND, _C.RIGHT_SURROUND),
    6: (_C.LEFT, _C.RIGHT, _C.CENTER, _C.UNUSED, _C.LEFT_SURROUND, _C.RIGHT_SURROUND),
    7: (_C.LEFT, _C.RIGHT, _C.CENTER, _C.UNUSED, _C.LEFT_SURROUND, _C.RIGHT_SURROUND,
        _C.LEFT_SURROUND),
    8: (_C.LEFT, _C.RIGHT, _C.CENTER, _C.UNUSED, _C.LEFT_SURROUND, _C.RIGHT_SURROUND,
        _C.LEFT_SURROUND, _C.RIGHT_SURROUND),
}
#: BS.1770 gating block; shorter clips are measured ungated.
BLOCK_S = 0.4
#: Short-term window (EBU Tech 3341/3342); LRA needs at least one.
SHORT_TERM_S = 3.0
#: Momentary and short-term loudness are sampled at this step (EBU Tech 3341: >= 10 Hz).
STEP_MS = 100
#: Integrated loudness below this is silence (the BS.1770 absolute gate).
ABSOLUTE_GATE_LUFS = -70.0

def _engine() -> str:
    return (f"libebur128 {ebu.get_libebur128_version()} via pyebur128 {ebu.__version__}; "
            f"true peak: soxr {soxr.__version__} HQ 4x")


ENGINE = _engine()


@dataclass(frozen=True)
class LoudnessReport:
    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float | None
    """None only when measured with ``true_peak=False``."""
    sample_peak_dbfs: float
    momentary_max_lufs: float | None
    """Highest 400 ms loudness; None for clips shorter than 400 ms."""
    short_term_max_lufs: float | None
    """Highest 3 s loudness; None for clips shorter than 3 s."""
    duration_s: float
    sample_rate: int
    channels: int
    flags: tuple[str, ...] = ()
    hop_energies: tuple[float, ...] = field(default=(), repr=False, compare=False)
    """K-weighted energy of every 100 ms hop (see :func:`hop_energies`); not in to_dict."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flags"] = list(self.flags)
        del d["hop_energies"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], hop_energies=()) -> "LoudnessReport":
        d = {**d, "flags": tuple(d.get("flags", ())), "hop_energies": tuple(hop_energies)}
        return cls(**d)

    def scaled(self, gain_db: float) -> "LoudnessReport":
        """The report this audio gives after a gain of ``gain_db``: exact for the peaks, and
        for the gated measures whenever no gating block crosses the absolute gate (see
        :meth:`gain_is_exact`)."""
        def add(v: float | None) -> float | None:
            return None if v is None else v + gain_db
        factor = 10.0 ** (gain_db / 10.0)
        return LoudnessReport(self.integrated_lufs + gain_db, self.loudness_range_lu,
                              add(self.true_peak_dbtp), self.sample_peak_dbfs + gain_db,
                              add(self.momentary_max_lufs), add(self.short_term_max_lufs),
                              self.duration_s, self.sample_rate, self.channels, self.flags,
                              tuple(e * factor for e in self.hop_energies))

    def gain_is_exact(self, gain_db: float) -> bool:
        """True if a gain of ``gain_db`` moves every BS.1770 measure by exactly that much:
        no 400 ms gating block and no 3 s short-term block lies where the gain would move it
        across the -70 LUFS absolute gate (the relative gates move with the level). Clips
        under 400 ms are measured ungated, so any gain is exact for them."""
        if "short_clip" in self.flags:
            return True
        e = np.asarray(self.hop_energies)
        if e.size == 0:
            return False
        lo, hi = sorted((ABSOLUTE_GATE_LUFS, ABSOLUTE_GATE_LUFS - gain_db))
        for hops in (int(BLOCK_S * 1000) // STEP_MS, int(SHORT_TERM_S * 1000) // STEP_MS):
            blocks = _windowed(e, hops)
            if np.any((blocks >= lo - 1e-6) & (blocks <= hi + 1e-6)):
                return False
        return True


def _as_frames(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in range(1, 9):
        raise LoudnessError(f"expected (frames, 1-8 channels) audio, got shape {x.shape}")
    if x.shape[0] == 0:
        raise LoudnessError("no audio frames")
    if not np.isfinite(x).all():
        raise LoudnessError("audio contains NaN or Inf samples")
    return np.ascontiguousarray(x, dtype=np.float32)


def _state(channels: int, sample_rate: int, dual_mono: bool) -> ebu.R128State:
    st = ebu.R128State(channels, int(sample_rate), _MODE)
    if channels == 1:
        st.set_channel(0, _C.DUAL_MONO if dual_mono else _C.LEFT)
    else:
        for i, kind in enumerate(_MAPS[channels]):
            st.set_channel(i, kind)
    return st


def _run(x: np.ndarray, sample_rate: int, dual_mono: bool) -> tuple[ebu.R128State, np.ndarray]:
    """Feed ``x`` to a fresh state in 100 ms hops; return the state and each hop's energy.

    The energy of a hop is the channel-weighted mean square of its K-weighted samples
    (``10 ** ((L + 0.691) / 10)``), so any window of whole hops is a mean of energies.
    """
    frames, channels = x.shape
    st = _state(channels, sample_rate, dual_mono)
    hop = sample_rate * STEP_MS // 1000
    n_hops = frames // hop
    flat = x.reshape(-1)
    energies = np.zeros(n_hops)
    for k in range(n_hops):
        st.add_frames(flat[k * hop * channels:(k + 1) * hop * channels], hop)
        lufs = ebu.get_loudness_window(st, STEP_MS)
        energies[k] = 10.0 ** ((lufs + 0.691) / 10.0) if math.isfinite(lufs) else 0.0
    rest = frames - n_hops * hop
    if rest:
        st.add_frames(flat[n_hops * hop * channels:], rest)
    return st, energies


def true_peak(x: np.ndarray, sample_rate: int) -> float:
    """Linear true peak (BS.1770-4 Annex 2) of ``(frames, channels)`` float32 audio.

    Oversamples 4x below 96 kHz, 2x below 192 kHz (else reads sample peaks), streaming
    through soxr's "HQ" linear-phase interpolator in 128k-frame chunks (memory stays flat),
    and returns the largest absolute value. This is about 4x faster than libebur128's
    48-tap polyphase filter and reads the Tech 3341 cases 15-19 within tolerance.
    """
    factor = 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1
    if factor == 1:
        return float(np.max(np.abs(x)))
    stream = soxr.ResampleStream(sample_rate, sample_rate * factor, x.shape[1],
                                 dtype="float32", quality="HQ")
    peak, n = 0.0, x.shape[0]
    for i in range(0, n, _TP_CHUNK):
        y = stream.resample_chunk(x[i:i + _TP_CHUNK], last=i + _TP_CHUNK >= n)
        if y.size:
            peak = max(peak, float(y.max()), float(-y.min()))
    return peak


_TP_CHUNK = 1 << 17
_true_peak = true_peak  # measure() has a parameter of the same name


def _window_max(energies: np.ndarray, hops: int) -> float | None:
    series = _windowed(energies, hops)
    if series.size == 0:
        return None
    return float(series.max())


def _windowed(energies: np.ndarray, hops: int) -> np.ndarray:
    """Loudness (LUFS) of every full window of ``hops`` consecutive hops."""
    if energies.size < hops:
        return np.empty(0)
    c = np.concatenate(([0.0], np.cumsum(energies)))
    mean = (c[hops:] - c[:-hops]) / hops
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(mean)


def measure(samples: np.ndarray, sample_rate: int, *, mono_as_dual: bool = True,
            true_peak: bool = True) -> LoudnessReport:
    """Measure ``(frames, channels)`` (or ``(frames,)``) float audio. See the module doc.

    Parameters
    ----------
    samples : np.ndarray
        Float audio, frames first.
    sample_rate : int
        Its rate (Hz).
    mono_as_dual : bool
        Measure one channel as dual mono (as if sent to both speakers; the pipeline's rule).
    true_peak : bool
        False skips the oversampling (about half the time of a short clip) and reports
        ``true_peak_dbtp=None``, for callers that know it otherwise.

    Returns
    -------
    LoudnessReport
        Integrated loudness, LRA, true and sample peak, momentary and short-term maxima,
        flags, and the per-hop energies.

    Raises
    ------
    SilentAudioError
        When every gating block is below the -70 LUFS absolute gate.
    """
    x = _as_frames(samples)
    frames, channels = x.shape
    sample_rate = int(sample_rate)
    duration = frames / sample_rate
    dual = channels == 1 and mono_as_dual
    st, energies = _run(x, sample_rate, dual)
    flags: list[str] = ["dual_mono"] if dual else []

    if duration < BLOCK_S:
        window_ms = int(frames * 1000 // sample_rate)
        integrated = ebu.get_loudness_window(st, window_ms) if window_ms > 0 else -math.inf
        flags.append("short_clip")
    else:
        integrated = ebu.get_loudness_global(st)
    if not math.isfinite(integrated) or integrated < ABSOLUTE_GATE_LUFS:
        raise SilentAudioError("silent: below the -70 LUFS absolute gate everywhere")

    if duration < SHORT_TERM_S:
        flags.append("short_for_lra")
        lra = 0.0
    else:
        lra = float(ebu.get_loudness_range(st))
    sample_peak = max(ebu.get_sample_peak(st, c) for c in range(channels))
    return LoudnessReport(
        integrated_lufs=float(integrated), loudness_range_lu=lra,
        true_peak_dbtp=(amplitude_db(max(_true_peak(x, sample_rate), sample_peak))
                        if true_peak else None),
        sample_peak_dbfs=amplitude_db(sample_peak),
        momentary_max_lufs=_window_max(energies, int(BLOCK_S * 1000) // STEP_MS),
        short_term_max_lufs=_window_max(energies, int(SHORT_TERM_S * 1000) // STEP_MS),
        duration_s=duration, sample_rate=sample_rate, channels=channels, flags=tuple(flags),
        hop_energies=tuple(float(v) for v in energies))


def hop_energies(samples: np.ndarray, sample_rate: int, *,
                 mono_as_dual: bool = True) -> np.ndarray:
    """K-weighted, channel-weighted mean square of every 100 ms hop (BS.1770 energy:
    ``-0.691 + 10 log10(mean)`` of any run of hops is its loudness in LUFS)."""
    x = _as_frames(samples)
    return _run(x, int(sample_rate), x.shape[1] == 1 and mono_as_dual)[1]


class HopMeter:
    """:func:`hop_energies` and the integrated loudness of audio fed block by block, in the
    memory of one block (a 1-hour stem is cut into clips without being held whole).

    Blocks of any length give what one call on the whole audio gives: the state is fed in
    the same 100 ms hops, the remainder carried to the next block.
    """

    def __init__(self, channels: int, sample_rate: int, *, mono_as_dual: bool = True):
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.frames = 0
        self._state = _state(self.channels, self.sample_rate,
                             self.channels == 1 and mono_as_dual)
        self._hop = self.sample_rate * STEP_MS // 1000
        self._carry = np.empty((0, self.channels), dtype=np.float32)
        self._energies: list[float] = []

    def add(self, block: np.ndarray) -> None:
        """Feed the next ``(frames, channels)`` block (raises LoudnessError for NaN/Inf)."""
        x = np.concatenate([self._carry, _as_frames(block)]) if len(self._carry) \
            else _as_frames(block)
        self.frames += len(x) - len(self._carry)
        whole = len(x) // self._hop * self._hop
        flat = np.ascontiguousarray(x[:whole]).reshape(-1)
        step = self._hop * self.channels
        for k in range(0, flat.size, step):
            self._state.add_frames(flat[k:k + step], self._hop)
            lufs = ebu.get_loudness_window(self._state, STEP_MS)
            self._energies.append(10.0 ** ((lufs + 0.691) / 10.0) if math.isfinite(lufs)
                                  else 0.0)
        self._carry = x[whole:].copy()

    def finish(self) -> tuple[np.ndarray, float | None]:
        """(every hop's energy, the integrated loudness as :func:`measure` reads it, or None
        when it is below the -70 LUFS absolute gate everywhere)."""
        if len(self._carry):
            self._state.add_frames(np.ascontiguousarray(self._carry).reshape(-1),
                                   len(self._carry))
            self._carry = self._carry[:0]
        if self.frames < BLOCK_S * self.sample_rate:
            window_ms = int(self.frames * 1000 // self.sample_rate)
            integrated = ebu.get_loudness_window(self._state, window_ms) if window_ms > 0 \
                else -math.inf
        else:
            integrated = ebu.get_loudness_global(self._state)
        ok = math.isfinite(integrated) and integrated >= ABSOLUTE_GATE_LUFS
        return np.asarray(self._energies), float(integrated) if ok else None


def energy_to_lufs(energy: float) -> float:
    return -0.691 + 10.0 * math.log10(energy) if energy > 0 else -math.inf


def momentary_series(report: LoudnessReport) -> np.ndarray:
    """Momentary (400 ms) loudness every 100 ms of the measured audio, from its report."""
    return _windowed(np.asarray(report.hop_energies), int(BLOCK_S * 1000) // STEP_MS)


def loudness_series(samples: np.ndarray, sample_rate: int, *,
                    mono_as_dual: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Momentary and short-term loudness (LUFS) every 100 ms, from the first full window.

    Element ``k`` of the momentary series covers ``[0.1 k, 0.1 k + 0.4)`` s; of the
    short-term series ``[0.1 k, 0.1 k + 3)`` s. Silent windows are ``-inf``.
    """
    x = _as_frames(samples)
    _, energies = _run(x, int(sample_rate), x.shape[1] == 1 and mono_as_dual)
    return (_windowed(energies, int(BLOCK_S * 1000) // STEP_MS),
            _windowed(energies, int(SHORT_TERM_S * 1000) // STEP_MS))


def gain_to_target(report: LoudnessReport, target_lufs: float,
                   true_peak_ceiling_dbtp: float | None = None) -> tuple[float, bool]:
    """Gain (dB) that brings ``report`` to ``target_lufs``; lowered to keep the true peak at
    or under ``true_peak_ceiling_dbtp`` when one is given. Returns ``(gain_db, limited)``.
    """
    gain = target_lufs - report.integrated_lufs
    if true_peak_ceiling_dbtp is None:
        return gain, False
    if report.true_peak_dbtp is None:
        raise ValueError("a true-peak ceiling needs a report measured with true_peak=True")
    if report.true_peak_dbtp + gain > true_peak_ceiling_dbtp:
        return true_peak_ceiling_dbtp - report.true_peak_dbtp, True
    return gain, False
