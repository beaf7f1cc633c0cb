"""audio.py: every format, depth, rate and channel count the pipeline promises, and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from helpers import tone
from ngn_clarity import audio, dsp


@pytest.mark.parametrize("ext, fmt, subtype", [
    ("wav", "WAV", "PCM_16"), ("wav", "WAV", "PCM_24"), ("wav", "WAV", "FLOAT"),
    ("flac", "FLAC", "PCM_24"), ("aiff", "AIFF", "PCM_24"), ("ogg", "OGG", "VORBIS"),
    ("mp3", "MP3", "MPEG_LAYER_III"),
])
def test_reads_every_format_to_float32_frames_by_channels(tmp_path, ext, fmt, subtype):
    x = tone(1.0, sr=44100, freq=440, amp=0.5, channels=2)
    path = tmp_path / f"clip.{ext}"
    sf.write(str(path), x, 44100, format=fmt, subtype=subtype)
    y, sr = audio.read(path)
    assert sr == 44100 and y.dtype == np.float32 and y.ndim == 2 and y.shape[1] == 2
    assert abs(y.shape[0] - 44100) < 2000  # lossy codecs pad a little
    assert 0.4 < np.abs(y).max() < 0.6


@pytest.mark.parametrize("sr, channels", [(8000, 1), (192000, 2), (48000, 8)])
def test_rates_and_channel_counts_at_the_limits(tmp_path, sr, channels):
    path = tmp_path / "clip.wav"
    sf.write(str(path), tone(0.5, sr=sr, freq=100, channels=channels), sr, subtype="PCM_24")
    y, got = audio.read(path)
    assert got == sr and y.shape == (sr // 2, channels)


@pytest.mark.parametrize("sr, channels, reason", [
    (4000, 1, "unsupported sample rate 4000 Hz"), (48000, 9, "unsupported channel count 9")])
def test_refuses_what_it_does_not_support(tmp_path, sr, channels, reason):
    path = tmp_path / "clip.wav"
    sf.write(str(path), np.zeros((sr // 10, channels), dtype=np.float32) + 0.1, sr)
    with pytest.raises(audio.AudioError, match=reason):
        audio.read(path)


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "clip.txt").write_text("x")
    with pytest.raises(audio.AudioError, match="unsupported file type"):
        audio.read(tmp_path / "clip.txt")
    with pytest.raises(audio.AudioError, match="cannot open|unreadable|no such"):
        audio.read(tmp_path / "missing.wav")


def test_write_is_atomic_and_round_trips(tmp_path):
    x = tone(0.5, sr=48000, channels=2)
    dest = audio.write(tmp_path / "out.wav", x, 48000)
    y, sr = audio.read(dest)
    np.testing.assert_array_equal(y, x)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temporary file left


def test_downmix_and_resample():
    x = np.stack([np.ones(100), -np.ones(100) * 0.5], axis=1).astype(np.float32)
    np.testing.assert_allclose(dsp.to_mono(x), 0.25)
    y = dsp.resample(tone(1.0, sr=48000, freq=1000)[:, 0], 48000, 44100)
    assert len(y) == 44100


def test_a_one_sample_click_is_too_short_everywhere_not_silent(tmp_path, capsys):
    """One reason, the true one (issue 23): loudness and predict said "silent", run said
    "too short"."""
    from ngn_clarity.checks import audio_checks
    from ngn_clarity.cli import main

    path = tmp_path / "click.wav"
    sf.write(str(path), np.array([[0.5]], dtype=np.float32), 44100)  # -6 dBFS, one frame
    want = "too short (1 sample frame, 0.02 ms < 0.1 s)"
    with pytest.raises(audio.AudioError, match=want.replace("(", r"\(").replace(")", r"\)")):
        audio.read_usable(path)
    assert audio_checks(*audio.read(path)).error == want  # what run and validate say
    assert main(["loudness", str(path)]) == 1
    assert capsys.readouterr().err.strip() == f"{path}: {want}"
    assert main(["features", str(path)]) == 1
    assert capsys.readouterr().err.strip() == f"{path}: {want}"
