"""Engine audio -> engine-ready audio: mono, resampled, trimmed, loudness-normalised, encoded.

Loudness is integrated loudness per ITU-R BS.1770-4 (K-weighting, 400 ms blocks, absolute
and relative gates); the true peak is measured on a 4x oversampled signal. Where the gain to
reach the target would push the true peak over the ceiling, a look-ahead limiter holds the
peaks down and the gain is re-applied, so short loud words do not drag a whole line quieter.

scipy is imported inside the functions that use it: it takes about a second to import, and
commands that process no audio (check, a no-op build) should not pay for it.

ffmpeg (from the imageio-ffmpeg wheel) decodes anything that is not plain PCM WAV and encodes
MP3; Ogg Vorbis is encoded in-process by libsndfile (the soundfile wheel), WAV by the standard
library.
"""

from __future__ import annotations

import errno
import io
import math
import os
import subprocess
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from charvoice.errors import AudioError
from charvoice.fsutil import atomic_target, write_failure
from charvoice.project.config import AudioSettings

_SILENCE_FLOOR_DB = -65.0  # below this a frame is silence whatever the line's level
_SILENCE_BELOW_PEAK_DB = 45.0  # ... and so is anything this far under the loudest frame
_LIMITER_MARGIN_DB = 0.5  # head-room for inter-sample peaks the lossy encoders add
_INTER_SAMPLE_HEADROOM = 10 ** (3 / 20)


@dataclass(frozen=True)
class Processed:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    lufs: float
    offset_s: float = 0.0  # seconds trimmed from the start: raw time - offset_s = published time

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def warm_up() -> None:
    """Import scipy now (about a second), so the first line to process does not wait for it."""
    from scipy import ndimage, signal  # noqa: F401


@cache
def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _run_ffmpeg(args: list[str], data: bytes | None = None) -> bytes:
    try:
        result = subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", *args], input=data, capture_output=True, check=False)
    except OSError as exc:
        raise AudioError(f"cannot run ffmpeg: {exc}") from None
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioError(f"ffmpeg failed: {detail[-1] if detail else 'exit status ' + str(result.returncode)}")
    return result.stdout


def _read_pcm_wav(data: bytes) -> tuple[np.ndarray, int] | None:
    """Plain 16-bit PCM WAV straight from memory; None for anything ffmpeg should decode."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data)) as reader:
            if reader.getsampwidth() != 2:
                return None
            channels, rate = reader.getnchannels(), reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError):
        return None
    pcm = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        pcm = pcm[: len(pcm) // channels * channels].reshape(-1, channels).mean(axis=1)
    return pcm, rate


def decode(data: bytes, sample_rate: int) -> np.ndarray:
    """Any audio the engines return (or a sample file's bytes) -> float32 mono at `sample_rate`."""
    from scipy import signal

    if not data:
        raise AudioError("empty audio")
    wav = _read_pcm_wav(data)
    if wav is not None:
        pcm, rate = wav
        if rate != sample_rate:
            divisor = math.gcd(rate, sample_rate)
            pcm = signal.resample_poly(pcm, sample_rate // divisor, rate // divisor).astype(np.float32)
        return pcm
    raw = _run_ffmpeg(["-i", "pipe:0", "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"], data)
    return np.frombuffer(raw, dtype="<f4").copy()


def decode_file(path: Path, sample_rate: int) -> np.ndarray:
    """Decode a file by path (containers such as .m4a need a seekable input)."""
    raw = _run_ffmpeg(["-i", str(path), "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"])
    return np.frombuffer(raw, dtype="<f4").copy()


# --- loudness (ITU-R BS.1770-4) -------------------------------------------------------------


@cache
def _k_weighting(sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The two K-weighting biquads (high shelf, then high pass) designed for any sample rate."""
    # Stage 1: the head's acoustic effect, a +4 dB high shelf around 1.7 kHz.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0])
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    # Stage 2: the RLB high pass at 38 Hz.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    pass_b = np.array([1.0, -2.0, 1.0])
    pass_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return shelf_b, shelf_a, pass_b, pass_a


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (-inf for silence)."""
    from scipy import signal

    block = int(0.4 * sample_rate)
    step = int(0.1 * sample_rate)
    x = samples.astype(np.float64)
    if len(x) < block:  # shorter than one gating block: measure it as one block with silence around
        x = np.pad(x, (0, block - len(x)))
    shelf_b, shelf_a, pass_b, pass_a = _k_weighting(sample_rate)
    y = signal.lfilter(pass_b, pass_a, signal.lfilter(shelf_b, shelf_a, x))
    energy = np.concatenate(([0.0], np.cumsum(y * y)))
    starts = np.arange(0, len(y) - block + 1, step)
    z = (energy[starts + block] - energy[starts]) / block
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(z)
    z = z[loudness > -70.0]
    if len(z) == 0:
        return -math.inf
    relative_gate = -0.691 + 10 * math.log10(z.mean()) - 10.0
    with np.errstate(divide="ignore"):
        z = z[-0.691 + 10 * np.log10(z) > relative_gate]
    return -0.691 + 10 * math.log10(z.mean())


def _oversampled_peaks(samples: np.ndarray) -> np.ndarray:
    """Per-sample peak of the 4x oversampled signal (where inter-sample peaks show up)."""
    from scipy import signal

    oversampled = np.abs(signal.resample_poly(samples, 4, 1)).astype(np.float32)
    usable = len(samples) * 4
    oversampled = np.pad(oversampled, (0, max(0, usable - len(oversampled))))[:usable]
    return np.maximum(np.maximum(oversampled[0::4], oversampled[1::4]), np.maximum(oversampled[2::4], oversampled[3::4]))


def true_peak_db(samples: np.ndarray) -> float:
    peak = float(_oversampled_peaks(samples).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _limit(samples: np.ndarray, ceiling_db: float, sample_rate: int) -> np.ndarray:
    """Hold true peaks under the ceiling with a smooth, look-ahead gain (about 5 ms)."""
    from scipy import ndimage

    ceiling = 10 ** ((ceiling_db - _LIMITER_MARGIN_DB) / 20)
    # Inter-sample peaks of speech stay well within 3 dB of the sample peaks: skip the costly
    # oversampling when even that could not reach the ceiling.
    if float(np.abs(samples).max(initial=0.0)) * _INTER_SAMPLE_HEADROOM < ceiling:
        return samples
    peaks = _oversampled_peaks(samples)
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if needed.min() >= 1.0:
        return samples
    width = max(3, int(0.005 * sample_rate))
    # A moving average of a min-filter twice as wide never rises above the gain a peak needs.
    gain = ndimage.uniform_filter1d(ndimage.minimum_filter1d(needed, size=2 * width + 1), size=width)
    return (samples * gain).astype(np.float32)


# --- the whole chain ------------------------------------------------------------------------


def voiced_span(samples: np.ndarray, sample_rate: int, floor_db: float = _SILENCE_FLOOR_DB, below_loudest_db: float = _SILENCE_BELOW_PEAK_DB) -> tuple[int, int] | None:
    """(first, end) sample of the sound between leading and trailing silence, in 10 ms frames;
    None when it is all silence. A frame is silence under `floor_db`, or `below_loudest_db`
    under the loudest frame."""
    frame = max(1, sample_rate // 100)
    count = len(samples) // frame
    if count == 0:
        return None
    rms = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    with np.errstate(divide="ignore"):
        level = 20 * np.log10(np.maximum(rms, 1e-10))
    voiced = np.flatnonzero(level > max(floor_db, float(level.max()) - below_loudest_db))
    if len(voiced) == 0:
        return None
    return int(voiced[0]) * frame, (int(voiced[-1]) + 1) * frame


def trim(samples: np.ndarray, sample_rate: int, pad_ms: int) -> np.ndarray:
    """Cut leading and trailing silence down to `pad_ms`."""
    start, end = trim_bounds(samples, sample_rate, pad_ms)
    return samples[start:end]


def trim_bounds(samples: np.ndarray, sample_rate: int, pad_ms: int) -> tuple[int, int]:
    """The (start, end) samples `trim` keeps (word timings shift by `start`)."""
    if len(samples) < sample_rate // 100:
        return 0, len(samples)
    span = voiced_span(samples, sample_rate)
    if span is None:
        return 0, 0
    pad = int(sample_rate * pad_ms / 1000)
    return max(0, span[0] - pad), min(len(samples), span[1] + pad)


def process(data: bytes | Path, settings: AudioSettings) -> Processed:
    """Decode, trim and normalise raw engine audio (bytes) or a recording (a path)."""
    rate = settings.sample_rate
    samples = decode_file(data, rate) if isinstance(data, Path) else decode(data, rate)
    start = 0
    if settings.trim_silence:
        start, end = trim_bounds(samples, rate, settings.pad_ms)
        samples = samples[start:end]
    loudness = integrated_loudness(samples, rate)
    if not math.isfinite(loudness):
        raise AudioError("the audio is silent")
    for _ in range(4):  # gain, limit, measure: converges in two or three rounds
        samples = (samples * 10 ** ((settings.loudness_lufs - loudness) / 20)).astype(np.float32)
        samples = _limit(samples, settings.true_peak_db, rate)
        loudness = integrated_loudness(samples, rate)
        if abs(loudness - settings.loudness_lufs) < 0.2:
            break
    return Processed(samples=samples, sample_rate=rate, lufs=round(loudness, 2), offset_s=start / rate)


def encode(processed: Processed, target: Path, settings: AudioSettings) -> None:
    """Write the processed audio to `target` atomically in the configured format."""
    with atomic_target(target) as temp:
        if settings.format == "wav":
            pcm = np.clip(processed.samples * 32767.0, -32768, 32767).astype("<i2")
            with wave.open(str(temp), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(processed.sample_rate)
                out.writeframes(pcm.tobytes())
            return
        if settings.format == "ogg":
            # libsndfile's Vorbis encoder, in-process: a third of the time of starting ffmpeg for
            # every line, which was the largest cost of a build. Its compression level runs
            # the other way from Vorbis quality (0.0 is the best).
            import soundfile

            with soundfile.SoundFile(temp, "w", processed.sample_rate, 1, format="OGG", subtype="VORBIS", compression_level=1 - settings.quality / 10) as out:
                # One large buffer crashes libsndfile's Vorbis writer (about a minute of audio;
                # python-soundfile #426, libsndfile #1095): feed it a second at a time.
                step = processed.sample_rate
                for start in range(0, len(processed.samples), step):
                    out.write(processed.samples[start : start + step])
            # libsndfile's Ogg writer reports no error when the disk fills up: it leaves a short
            # file. Read the length back (the last page only) so a truncated file is never published.
            if soundfile.info(str(temp)).frames < len(processed.samples):
                cause = write_failure(temp.parent) or errno.EIO
                raise OSError(cause, os.strerror(cause), str(target))
            return
        codec = ["-c:a", "libmp3lame", "-q:a", str(9 - min(settings.quality, 9)), "-f", "mp3"]
        source = ["-f", "f32le", "-ar", str(processed.sample_rate), "-ac", "1", "-i", "pipe:0"]
        _run_ffmpeg([*source, *codec, "-map_metadata", "-1", "-y", str(temp)], processed.samples.astype("<f4").tobytes())
