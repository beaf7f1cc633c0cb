"""The shared analysis of one clip: everything feature families read, computed once, lazily.

:class:`Analysis` holds the clip's samples and derives, on first use, the analysis signal
(mono downmix at 44.1 kHz), one STFT (n_fft 2048, hop 512, periodic Hann, centred with zero
padding: the same frames as ``librosa.stft``), the active frames, the long-term average
spectrum (LTAS) and its 1/3-octave levels, the log-mel spectrogram, a fine 2.9 ms envelope
and its onsets, and the BS.1770 loudness. Each is computed with numpy/scipy directly, with
precomputed window, mel and DCT tables; the tests check the values against librosa's
functions, which define them. The one exception to "one STFT": the tone features read a
long-term spectrum of 8192-sample frames (5.4 Hz bins), because 2048-sample frames (21.5 Hz
bins) smear a boost at the 60 and 150 Hz correction centres into the octaves beside them.

Everything here is deterministic and single-threaded (the caller limits BLAS to one thread),
so a clip gives the same bits in any process.
"""

from __future__ import annotations

import math
from functools import cached_property, lru_cache

import numpy as np

from .. import loudness
from ..dsp import pick_onsets, resample, to_mono
from ..units import amplitude_db, power_db
from .schema import ANALYSIS

SR = ANALYSIS["sample_rate"]
N_FFT = ANALYSIS["n_fft"]
HOP = ANALYSIS["hop_length"]
#: Hop of the fine envelope used for onsets and timing (2.9 ms at 44.1 kHz).
FINE_HOP = 128
FINE_WIN = 512
#: Centres of the 1/3-octave bands of the LTAS: 25 Hz .. 20 kHz (base 1 kHz, 2^(k/3)).
THIRD_OCTAVES = tuple(1000.0 * 2 ** (k / 3) for k in range(-16, 15))


def _hann(n: int) -> np.ndarray:
    """Periodic Hann window of ``n`` samples, float64 (``scipy.signal.get_window("hann",
    n)``)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


@lru_cache(maxsize=1)
def window() -> np.ndarray:
    """Periodic Hann window of n_fft samples, float32 (the STFT's)."""
    return _hann(N_FFT).astype(np.float32)


@lru_cache(maxsize=1)
def fft_frequencies() -> np.ndarray:
    return np.fft.rfftfreq(N_FFT, 1.0 / SR)


#: Frame length and hop of the long-term spectra (see :attr:`Analysis.long_frames`).
LTAS_FFT = 8192
LTAS_HOP = 2048


@lru_cache(maxsize=1)
def long_window() -> np.ndarray:
    """Periodic Hann window of the long frames (8192 samples), float64."""
    return _hann(LTAS_FFT)


@lru_cache(maxsize=1)
def ltas_frequencies() -> np.ndarray:
    return np.fft.rfftfreq(LTAS_FFT, 1.0 / SR)


@lru_cache(maxsize=1)
def sixth_octaves() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 1/6-octave bands of the long frames: (centres 40 Hz-16 kHz, first and one-past-last
    bin inside centre x 2^(+-1/12), and for a band holding no bin the bin above its centre
    and the interpolation weight)."""
    f = ltas_frequencies()
    centres = 40.0 * 2 ** (np.arange(0, int(round(6 * math.log2(16000 / 40))) + 1) / 6)
    lo = np.searchsorted(f, centres * 2 ** (-1 / 12))
    hi = np.searchsorted(f, centres * 2 ** (1 / 12))
    k = np.searchsorted(f, centres)
    w = (centres - f[k - 1]) / (f[k] - f[k - 1])
    return centres, lo, hi, k, w


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa, htk=False)."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz)
                    / logstep, f / f_sp)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                    f_sp * m)


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """128 Slaney-normalized triangular mel filters over 0-22050 Hz (as
    ``librosa.filters.mel(sr=44100, n_fft=2048, n_mels=128)``), float32 [128, 1025]."""
    n_mels = ANALYSIS["n_mels"]
    fftfreqs = fft_frequencies()
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(ANALYSIS["fmin_hz"]),
                                   _hz_to_mel(ANALYSIS["fmax_hz"]), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


class Analysis:
    """One clip's shared analysis (see the module doc). ``samples``: (frames, channels)."""

    def __init__(self, samples: np.ndarray, sample_rate: int,
                 loudness_report: loudness.LoudnessReport | None = None):
        x = np.asarray(samples, dtype=np.float32)
        self.samples = x[:, None] if x.ndim == 1 else x
        self.sample_rate = int(sample_rate)
        self._loudness = loudness_report

    # --- the analysis signal and its STFT --------------------------------------------------
    @cached_property
    def y(self) -> np.ndarray:
        """Mono downmix (channel mean) resampled to 44.1 kHz (soxr HQ), float32."""
        mono = to_mono(self.samples)
        y = np.ascontiguousarray(resample(mono, self.sample_rate, SR), dtype=np.float32)
        return y if y.size else np.zeros(1, dtype=np.float32)

    @cached_property
    def y64(self) -> np.ndarray:
        """``y`` as float64 (converted once for every family that sums over it)."""
        return self.y.astype(np.float64)

    @cached_property
    def energy_cumsum(self) -> np.ndarray:
        """Running sum of ``y ** 2`` (float64) with a leading 0: the energy of samples
        ``[i, j)`` is ``c[j] - c[i]`` (one pass, shared by the long frames' activity and the
        fine envelope)."""
        return np.concatenate(([0.0], np.cumsum(self.y64 * self.y64)))

    def window_energy(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Mean square of ``y`` over ``[s, s + length)`` for each start ``s``, zero past its
        end."""
        c = self.energy_cumsum
        last = len(c) - 1
        return (c[np.minimum(starts + length, last)] - c[np.minimum(starts, last)]) / length

    @cached_property
    def frames(self) -> np.ndarray:
        """[n_fft, T] frames of ``y`` zero-padded by n_fft/2 at both ends, hop 512."""
        padded = np.pad(self.y, N_FFT // 2)
        n = 1 + len(self.y) // HOP
        if len(padded) < N_FFT:
            padded = np.pad(padded, (0, N_FFT - len(padded)))
        view = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n]
        return view.T

    @cached_property
    def mag(self) -> np.ndarray:
        """|STFT|, [1025, T] (``np.abs(librosa.stft(y, 2048, 512, center=True,
        pad_mode="constant"))``)."""
        import scipy.fft

        spec = scipy.fft.rfft(self.frames.T * window(), axis=1, workers=1)
        # C order: numpy's float32 matmul with a transposed (Fortran-order) operand skips
        # the fast BLAS path (measured: 17 ms instead of 0.8 ms for the mel product)
        return np.ascontiguousarray(np.abs(spec).T, dtype=np.float32)

    @cached_property
    def _centroid_and_sum(self) -> tuple[np.ndarray, np.ndarray]:
        mag = self.mag.astype(np.float64)  # not kept: 430 MB for a 10-minute clip
        col = mag.sum(axis=0)
        return np.divide(self.freqs @ mag, col, out=np.zeros_like(col), where=col > 1e-30), col

    @property
    def centroid(self) -> np.ndarray:
        """Spectral centroid of each frame (Hz; 0 for a silent frame), float64 [T]: computed
        once for ``seed_spectral`` and ``variability``."""
        return self._centroid_and_sum[0]

    @property
    def mag_sum(self) -> np.ndarray:
        """Sum of each frame's magnitudes, float64 [T]."""
        return self._centroid_and_sum[1]

    @cached_property
    def power(self) -> np.ndarray:
        """|STFT|^2 in float32, as librosa's power spectrogram."""
        return self.mag * self.mag

    @property
    def freqs(self) -> np.ndarray:
        return fft_frequencies()

    @cached_property
    def rms(self) -> np.ndarray:
        """Frame RMS from the STFT (``librosa.feature.rms(S=mag)``)."""
        p = self.power.astype(np.float64)
        p[0] *= 0.5
        p[-1] *= 0.5
        return np.sqrt(2 * p.sum(axis=0) / N_FFT ** 2)

    @cached_property
    def active(self) -> np.ndarray:
        """Frames whose RMS is >= -60 dBFS and within 50 dB of the loudest (all if none)."""
        db = amplitude_db(self.rms)
        act = (db >= ANALYSIS["active_floor_dbfs"]) & (db >= db.max() - ANALYSIS["active_range_db"])
        return act if act.any() else np.ones_like(act)

    def mean_active(self, values: np.ndarray) -> float:
        v = values[self.active] if values.size == self.active.size else values
        return float(np.mean(v)) if v.size else 0.0

    def std_active(self, values: np.ndarray) -> float:
        v = values[self.active] if values.size == self.active.size else values
        return float(np.std(v)) if v.size else 0.0

    # --- mel / MFCC / onset envelope -------------------------------------------------------
    @cached_property
    def mel_db(self) -> np.ndarray:
        """Log-mel power spectrogram (dB, amin 1e-10, floored 80 dB under its maximum)."""
        mel = mel_basis() @ self.power
        db = 10.0 * np.log10(np.maximum(mel, ANALYSIS["db_amin"]))
        return np.maximum(db, db.max() - ANALYSIS["db_top_db"])

    @cached_property
    def mfcc(self) -> np.ndarray:
        """13 MFCCs per frame: orthonormal DCT-II of the log-mel spectrogram."""
        import scipy.fft

        return scipy.fft.dct(self.mel_db, type=2, norm="ortho", axis=0,
                             workers=1)[: ANALYSIS["n_mfcc"]]

    @cached_property
    def onset_envelope(self) -> np.ndarray:
        """Mean over mel bands of max(0, S_dB[t] - S_dB[t-1]), delayed by 3 frames as
        ``librosa.onset.onset_strength(S=mel_db, lag=1, max_size=1)`` centres it."""
        diff = np.maximum(0.0, self.mel_db[:, 1:] - self.mel_db[:, :-1]).mean(axis=0)
        env = np.concatenate((np.zeros(1 + N_FFT // (2 * HOP)), diff))
        return env[: self.mel_db.shape[1]]

    # --- long-term spectrum ----------------------------------------------------------------
    @cached_property
    def long_frames(self) -> tuple[np.ndarray, np.ndarray]:
        """(power spectra ``[frames, 4097]`` float64 of 8192-sample periodic-Hann frames of
        ``y``, hop 2048, zero-padded at the end (5.4 Hz bins: the 2048-sample STFT cannot
        resolve the 60 and 150 Hz correction centres); which of them are active: RMS >= -60
        dBFS and within 50 dB of the loudest (all if none)).

        The transforms stay in float64: a pure tone's bins 150 dB down are float32 FFT
        round-off, which differs between FFT libraries, and the golden vectors must be
        reproducible by a C++ twin. A frame's mean square comes from the running sum of
        ``y ** 2`` (:attr:`energy_cumsum`), not from the frames again. (Measured, not
        taken: ``re ** 2 + im ** 2`` on the complex array's strided views is 8x slower than
        ``abs(z) ** 2``; ``overwrite_x`` makes pocketfft slower.)"""
        import scipy.fft

        n, hop = LTAS_FFT, LTAS_HOP
        count = max(1, int(np.ceil(max(len(self.y) - n, 0) / hop)) + 1)
        y = np.pad(self.y64, (0, (count - 1) * hop + n - len(self.y)))
        frames = np.lib.stride_tricks.sliding_window_view(y, n)[::hop][:count]
        power = np.abs(scipy.fft.rfft(frames * long_window(), axis=1, workers=1)) ** 2
        db = power_db(self.window_energy(np.arange(count) * hop, n))
        act = (db >= ANALYSIS["active_floor_dbfs"]) & (db >= db.max() - ANALYSIS["active_range_db"])
        return power, (act if act.any() else np.ones_like(act))

    @cached_property
    def ltas(self) -> np.ndarray:
        """Long-term average spectrum: the mean of the active :attr:`long_frames`, [4097]
        float64."""
        power, active = self.long_frames
        return power[active].mean(axis=0)

    @cached_property
    def frame_levels(self) -> np.ndarray:
        """``[active long frames, bands]``: each active long frame's level (dB) in the
        1/6-octave bands of :func:`sixth_octaves` (the mean power of the bins between the
        band's edges, or the power interpolated at its centre when it holds no bin)."""
        power, active = self.long_frames
        _, lo, hi, k, w = sixth_octaves()
        p = power[active]
        c = np.concatenate([np.zeros((len(p), 1)), np.cumsum(p, axis=1)], axis=1)
        n = hi - lo
        mean = (c[:, hi] - c[:, lo]) / np.maximum(n, 1)
        interp = p[:, k - 1] * (1.0 - w) + p[:, k] * w
        return power_db(np.where(n > 0, mean, interp))

    @property
    def ltas_freqs(self) -> np.ndarray:
        return ltas_frequencies()

    @cached_property
    def third_octave_db(self) -> np.ndarray:
        """LTAS level (dB, floor -120) in 1/3-octave bands centred at :data:`THIRD_OCTAVES`
        (edges at centre x 2^(+-1/6); each band the mean power of its bins, bands narrower
        than one bin take the bin at their centre)."""
        f, p = self.ltas_freqs, self.ltas
        out = np.empty(len(THIRD_OCTAVES))
        for i, c in enumerate(THIRD_OCTAVES):
            m = (f >= c * 2 ** (-1 / 6)) & (f < c * 2 ** (1 / 6))
            v = p[m].mean() if m.any() else np.interp(c, f, p)
            out[i] = power_db(float(v))
        return out

    # --- fine envelope, onsets -------------------------------------------------------------
    @cached_property
    def fine_env_db(self) -> np.ndarray:
        """Energy (dB) of 512-sample windows every 128 samples of ``y``."""
        starts = np.arange(0, max(len(self.y), FINE_WIN) - FINE_WIN + 1, FINE_HOP)
        return power_db(self.window_energy(starts, FINE_WIN))

    @cached_property
    def onsets_s(self) -> np.ndarray:
        """Onset times (s): rises of more than 6 dB within 3 fine hops, local maxima of the
        rise, within 50 dB of the loudest window, at least 50 ms apart; the onset is where
        the rise started (:func:`ngn_clarity.dsp.pick_onsets`)."""
        e = self.fine_env_db
        if e.size < 5:
            return np.zeros(0)
        return np.array([pos / SR for pos in pick_onsets(e, FINE_HOP, FINE_WIN, 0.05 * SR)])

    # --- loudness --------------------------------------------------------------------------
    @cached_property
    def loudness(self) -> loudness.LoudnessReport | None:
        """BS.1770 loudness of the clip's own samples (None when below the -70 LUFS gate)."""
        if self._loudness is not None:
            return self._loudness
        try:
            return loudness.measure(self.samples, self.sample_rate, true_peak=False)
        except loudness.SilentAudioError:
            return None

    @cached_property
    def momentary_lufs(self) -> np.ndarray:
        """Momentary (400 ms) loudness every 100 ms (LUFS; -inf for silent windows)."""
        if self.samples.shape[0] < self.sample_rate * 0.4:
            return np.zeros(0)
        if self.loudness is not None and self.loudness.hop_energies:
            return loudness.momentary_series(self.loudness)
        return loudness.loudness_series(self.samples, self.sample_rate)[0]

    @cached_property
    def peak(self) -> float:
        """Sample peak of the clip (all channels, linear)."""
        return float(np.max(np.abs(self.samples))) if self.samples.size else 0.0
