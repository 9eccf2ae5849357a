"""The numpy DSP in charvoice.audio against the references it replaced (scipy) and an independent
loudness meter (pyloudnorm), and the promise that processing a line never imports scipy."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pyloudnorm
import pytest

from charvoice import audio, dsp
from charvoice.project.config import AudioSettings

signal = pytest.importorskip("scipy.signal", reason="scipy is the reference for the numpy filters")
ndimage = pytest.importorskip("scipy.ndimage", reason="scipy is the reference for the numpy filters")


def speech_like(seconds: float, rate: int, seed: int = 7) -> np.ndarray:
    """Noise shaped into syllables, with a few loud bursts (what the limiter is for)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * math.pi * 3.1 * t), 0, None) ** 2
    voiced = np.sin(2 * math.pi * 180 * t) + 0.5 * np.sin(2 * math.pi * 2300 * t) + 0.3 * rng.standard_normal(len(t))
    samples = 0.2 * envelope * voiced
    samples[int(0.5 * rate) : int(0.52 * rate)] *= 4.0
    return samples.astype(np.float32)


def scipy_loudness(samples: np.ndarray, rate: int) -> float:
    """The previous implementation: the same biquads run by scipy's lfilter."""
    shelf_b, shelf_a, pass_b, pass_a = dsp._k_weighting(rate)
    block, step = int(0.4 * rate), int(0.1 * rate)
    x = samples.astype(np.float64)
    if len(x) < block:
        x = np.pad(x, (0, block - len(x)))
    y = signal.lfilter(pass_b, pass_a, signal.lfilter(shelf_b, shelf_a, x))
    energy = np.concatenate(([0.0], np.cumsum(y * y)))
    starts = np.arange(0, len(y) - block + 1, step)
    return audio.gated_loudness((energy[starts + block] - energy[starts]) / block)


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000, 96000])
def test_k_weighting_matches_the_recursive_filter_and_pyloudnorm(rate):
    samples = speech_like(3.0, rate)
    ours = audio.integrated_loudness(samples, rate)
    assert ours == pytest.approx(scipy_loudness(samples, rate), abs=1e-6)
    # pyloudnorm designs its filters a little differently (0.1 LU apart at 16 kHz)
    assert ours == pytest.approx(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)), abs=0.15)


def test_loudness_of_short_and_silent_audio():
    rate = 44100
    short = speech_like(0.25, rate)
    assert audio.integrated_loudness(short, rate) == pytest.approx(scipy_loudness(short, rate), abs=1e-6)
    assert audio.integrated_loudness(np.zeros(rate, np.float32), rate) == -math.inf


@pytest.mark.parametrize(
    ("up", "down"),
    [(2, 1), (4, 1), (147, 160), (441, 160), (1, 2), (160, 441), (80, 147)],
)
def test_resampling_matches_resample_poly(up, down):
    samples = speech_like(0.7, 16000, seed=up)
    ours = dsp._resample_ratio(samples, up, down)
    reference = signal.resample_poly(samples.astype(np.float64), up, down)
    assert len(ours) == len(reference)
    assert np.abs(ours - reference).max() < 1e-5


def test_resample_by_rates_and_true_peak():
    samples = speech_like(1.0, 22050)
    assert len(audio.resample(samples, 22050, 44100)) == 44100
    assert audio.resample(samples, 44100, 44100) is not samples
    loud = speech_like(1.0, 44100) * 3
    reference = 20 * math.log10(np.abs(signal.resample_poly(loud.astype(np.float64), 4, 1)).max())
    assert audio.true_peak_db(loud) == pytest.approx(reference, abs=1e-4)


@pytest.mark.parametrize("size", [3, 221, 441])
def test_limiter_filters_match_ndimage(size):
    values = np.random.default_rng(size).random(5000)
    assert np.array_equal(dsp._moving_min(values, size), ndimage.minimum_filter1d(values, size))
    for width in (size, size + 1):
        assert np.allclose(
            dsp._moving_average(values, width),
            ndimage.uniform_filter1d(values, width),
            atol=1e-12,
        )


def test_processed_line_meets_target_and_ceiling():
    rate = 44100
    settings = AudioSettings()
    raw = speech_like(4.0, rate) * 3
    processed = audio.process(audio.wav_bytes(raw, rate), settings)  # clipped to 16 bits, as an engine sends it
    assert processed.lufs == pytest.approx(settings.loudness_lufs, abs=0.2)
    assert pyloudnorm.Meter(rate).integrated_loudness(processed.samples.astype(np.float64)) == pytest.approx(
        settings.loudness_lufs, abs=0.3
    )
    assert audio.true_peak_db(processed.samples) <= settings.true_peak_db + 0.05


@pytest.mark.parametrize("level", [1.0, 3.0, 8.0])
def test_the_reported_loudness_is_that_of_the_published_samples(level):
    """process() keeps the K-weighted signal and subtracts what the limiter took away instead of
    filtering the line again: the loudness it reports must be what a fresh measurement of its
    output finds."""
    rate = 44100
    raw = np.clip(speech_like(4.0, rate) * level, -1, 1)
    processed = audio.process(audio.wav_bytes(raw, rate), AudioSettings())
    assert processed.lufs == pytest.approx(audio.integrated_loudness(processed.samples, rate), abs=0.01)


def test_sparse_k_weighting_equals_filtering_the_whole_signal():
    rate = 44100
    rng = np.random.default_rng(7)
    difference = np.zeros(rate * 3)
    for start in (100, 9_000, 60_000, 61_000, 130_000 - 50):  # stretches near, far apart, at both ends
        difference[start : start + 300] = rng.normal(0, 0.1, 300)
    weighted = np.zeros(len(difference))
    dsp._subtract_k_weighted(weighted, difference, np.zeros(len(difference)), rate)
    np.testing.assert_allclose(-weighted, audio.k_weighted(difference, rate), atol=1e-9)


def test_processing_a_line_never_imports_scipy():
    code = (
        "import sys, io, wave, numpy as np\n"
        "from charvoice import audio\n"
        "from charvoice.project.config import AudioSettings\n"
        "t = np.arange(22050 * 2) / 22050\n"
        "pcm = (0.9 * np.sin(2 * np.pi * 220 * t) * 32767).astype('<i2')\n"
        "b = io.BytesIO()\n"
        "w = wave.open(b, 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050); w.writeframes(pcm.tobytes()); w.close()\n"
        "audio.warm_up()\n"
        "audio.process(b.getvalue(), AudioSettings())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def scipy_limit(samples: np.ndarray, ceiling_db: float, rate: int) -> np.ndarray:
    """The previous limiter: every sample oversampled by resample_poly, scipy.ndimage filters."""
    ceiling = 10 ** ((ceiling_db - dsp._LIMITER_MARGIN_DB) / 20)
    over = np.abs(signal.resample_poly(samples, 4, 1)).astype(np.float32)
    peaks = np.maximum(np.maximum(over[0::4], over[1::4]), np.maximum(over[2::4], over[3::4]))
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    width = max(3, int(0.005 * rate))
    gain = ndimage.uniform_filter1d(ndimage.minimum_filter1d(needed, size=2 * width + 1), size=width)
    return (samples * gain).astype(np.float32)


@pytest.mark.parametrize("level", [0.5, 1.0, 3.0])
def test_limiter_matches_the_full_oversampling_limiter(level):
    rate = 44100
    samples = speech_like(2.0, rate) * level
    ours = dsp._limit(samples, -1.5, rate)
    assert np.abs(ours - scipy_limit(samples, -1.5, rate)).max() < 1e-5
    assert audio.true_peak_db(ours) <= -1.5
