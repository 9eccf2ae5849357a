"""Engine audio -> engine-ready audio: mono, resampled, trimmed, loudness-normalised, encoded.

Loudness is integrated loudness per ITU-R BS.1770-4 (K-weighting, 400 ms blocks, absolute
and relative gates); the true peak is measured on a 4x oversampled signal. Where the gain to
reach the target would push the true peak over the ceiling, a look-ahead limiter holds the
peaks down and the gain is re-applied, so short loud words do not drag a whole line quieter.

Everything is numpy, no scipy: `import scipy.signal` alone took over a second, paid by the
first line of every build and watch. The two K-weighting biquads run as one FIR (their impulse
response, exact to 1e-13) by FFT overlap-save; resampling and the 4x oversampling for the true
peak are polyphase windowed-sinc filters, the same design as scipy's resample_poly; the
limiter's moving minimum and average are O(n) numpy. tests/test_audio_dsp.py checks each
against scipy and the loudness against pyloudnorm. numpy itself is imported by whoever
imports this module, so commands that process no audio (check, a no-op build) import it lazily.

ffmpeg (from the imageio-ffmpeg wheel) decodes anything that is not plain PCM WAV and encodes
MP3; Ogg Vorbis is encoded in-process by libsndfile (the soundfile wheel), WAV by the standard
library.
"""

from __future__ import annotations

import ctypes
import errno
import io
import math
import os
import subprocess
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


def warm_up(sample_rate: int = 44100) -> None:
    """Design the filters now, so the first line to process does not wait for them."""
    _k_weighting_spectrum(sample_rate)
    _lowpass(4, 1)


@cache
def _keep_freed_memory() -> None:
    """Ask glibc to keep the memory a line's arrays free, for the next line's arrays.

    By default glibc hands freed blocks of a few megabytes back to the kernel, and every line
    then pays to fault its arrays in afresh: a quarter of the processing time of a 4 s line on
    the 2-core machine bench/ runs on. Blocks over 32 MB (lines of several minutes) are still
    returned. Elsewhere (macOS, Windows, musl) there is no mallopt, and nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 64 << 20)


@cache
def ffmpeg() -> str:
    import imageio_ffmpeg  # 20 ms to import: only when ffmpeg is needed (Ogg and WAV are written without it)

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run_ffmpeg(args: list[str], data: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(
            [ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", *args],
            input=data,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise AudioError(f"cannot run ffmpeg: {exc}") from None
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioError(f"ffmpeg failed: {detail[-1] if detail else 'exit status ' + str(result.returncode)}")
    return result.stdout


def pcm16_wav(pcm: bytes, rate: int) -> bytes:
    """Mono 16-bit PCM samples (little-endian bytes) as a WAV file: the one WAV writer."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Float samples (-1..1, mono) as a 16-bit PCM WAV file."""
    return pcm16_wav(np.clip(samples * 32767.0, -32768, 32767).astype("<i2").tobytes(), rate)


def wav_format(path: Path) -> tuple[int, int] | None:
    """(channels, sample rate) of a plain PCM WAV file from its header; None for anything else."""
    try:
        with wave.open(str(path)) as reader:
            return reader.getnchannels(), reader.getframerate()
    except (wave.Error, EOFError, OSError):
        return None


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
    if not data:
        raise AudioError("empty audio")
    wav = _read_pcm_wav(data)
    if wav is not None:
        pcm, rate = wav
        if rate != sample_rate:
            pcm = resample(pcm, rate, sample_rate)
        return pcm
    raw = _run_ffmpeg(["-i", "pipe:0", "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"], data)
    return np.frombuffer(raw, dtype="<f4").copy()


def decode_file(path: Path, sample_rate: int) -> np.ndarray:
    """Decode a file by path (containers such as .m4a need a seekable input)."""
    raw = _run_ffmpeg(["-i", str(path), "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"])
    return np.frombuffer(raw, dtype="<f4").copy()


# --- resampling ------------------------------------------------------------------------------


@cache
def _lowpass(up: int, down: int) -> tuple[int, np.ndarray]:
    """(half length, polyphase taps[k, phase]) of the anti-aliasing filter for up/down
    resampling: a Kaiser-windowed sinc (beta 5) of 20 taps per phase, unity gain at DC, as
    scipy.signal.resample_poly designs it."""
    rate = max(up, down)
    half = 10 * rate
    n = np.arange(2 * half + 1) - half
    taps = np.sinc(n / rate) / rate * np.kaiser(2 * half + 1, 5.0)
    taps *= up / taps.sum()
    per_phase = -(-len(taps) // up)
    padded = np.zeros(per_phase * up)
    padded[: len(taps)] = taps
    return half, padded.reshape(per_phase, up)[::-1].astype(np.float32)  # row K-1-k holds tap k


def _resample_ratio(samples: np.ndarray, up: int, down: int) -> np.ndarray:
    """samples resampled by up/down (coprime), aligned like resample_poly (zeros outside)."""
    half, taps = _lowpass(up, down)
    width = len(taps)
    count = len(samples) * up // down + bool(len(samples) * up % down)
    x = np.concatenate(
        (
            np.zeros(width - 1, np.float32),
            samples.astype(np.float32, copy=False),
            np.zeros(width + down + half // up + 2, np.float32),
        )
    )
    windows = np.lib.stride_tricks.sliding_window_view(x, width)  # windows[b] ends at input sample b
    out = np.empty(count, np.float32)
    # Output j needs input sample (j*down + half) // up and phase (j*down + half) % up; outputs
    # `up` apart share the phase and step `down` through the input.
    if down == 1:  # oversampling: one matrix product gives every phase of every input sample
        every = _every_phase(windows[: len(samples) + half // up + 2], taps)
        for first in range(min(up, count)):
            position = first + half
            rows = len(range(first, count, up))
            out[first::up] = every[position // up : position // up + rows, position % up]
        return out
    for first in range(min(up, count)):
        position = first * down + half
        rows = len(range(first, count, up))
        out[first::up] = windows[position // up : position // up + down * rows : down] @ taps[:, position % up]
    return out


def _every_phase(windows: np.ndarray, taps: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """windows @ taps, a cache-sized chunk at a time (the windows overlap: copied, they are
    `width` times the signal)."""
    out = np.empty((len(windows), taps.shape[1]), np.float32)
    for start in range(0, len(windows), chunk):
        out[start : start + chunk] = np.ascontiguousarray(windows[start : start + chunk]) @ taps
    return out


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """float32 samples at `rate` -> `target` Hz (polyphase windowed sinc, as resample_poly)."""
    divisor = math.gcd(rate, target)
    up, down = target // divisor, rate // divisor
    if up == down:
        return samples.astype(np.float32)
    return _resample_ratio(samples, up, down)


# --- loudness (ITU-R BS.1770-4) -------------------------------------------------------------

_FFT_SIZE = 1 << 15


def _k_weighting(
    sample_rate: int,
) -> tuple[
    tuple[float, float, float],
    tuple[float, float, float],
    tuple[float, float, float],
    tuple[float, float, float],
]:
    """The two K-weighting biquads (high shelf, then high pass) designed for any sample rate."""
    # Stage 1: the head's acoustic effect, a +4 dB high shelf around 1.7 kHz.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = (
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    )
    shelf_a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    # Stage 2: the RLB high pass at 38 Hz.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    pass_b = (1.0, -2.0, 1.0)
    pass_a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    return shelf_b, shelf_a, pass_b, pass_a


@cache
def _k_weighting_response(sample_rate: int) -> np.ndarray:
    """The K-weighting filter's impulse response, cut where it has decayed below 1e-12 of its
    peak (about 4,600 samples at 44.1 kHz; the 38 Hz high pass rings longest). Computed once
    per rate by running the two biquads on an impulse."""
    shelf_b, shelf_a, pass_b, pass_a = _k_weighting(sample_rate)
    limit = _FFT_SIZE // 2
    response = np.zeros(limit)
    x1 = x2 = s1 = s2 = y1 = y2 = 0.0
    for n in range(limit):
        x0 = 1.0 if n == 0 else 0.0
        s0 = shelf_b[0] * x0 + shelf_b[1] * x1 + shelf_b[2] * x2 - shelf_a[1] * s1 - shelf_a[2] * s2
        y0 = pass_b[0] * s0 + pass_b[1] * s1 + pass_b[2] * s2 - pass_a[1] * y1 - pass_a[2] * y2
        x2, x1, s2, s1, y2, y1 = x1, x0, s1, s0, y1, y0
        response[n] = y0
    peak = float(np.abs(response).max())
    above = np.flatnonzero(np.abs(response) > peak * 1e-12)
    return response[: int(above[-1]) + 1]


@cache
def _k_weighting_spectrum(sample_rate: int, size: int = _FFT_SIZE) -> tuple[int, np.ndarray]:
    """(taps, spectrum) of the K-weighting response for FFTs of `size`."""
    response = _k_weighting_response(sample_rate)
    return len(response), np.fft.rfft(response, size)


def k_weighted(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The K-weighted signal (float64) by FFT overlap-save with the filter's impulse response.
    (float64 on purpose: numpy's float32 rfft is several times slower.)"""
    taps, spectrum = _k_weighting_spectrum(sample_rate)
    step = _FFT_SIZE - taps + 1
    blocks = max(1, -(-len(samples) // step))
    x = np.zeros(taps - 1 + blocks * step + _FFT_SIZE)
    x[taps - 1 : taps - 1 + len(samples)] = samples
    frames = np.lib.stride_tricks.sliding_window_view(x, _FFT_SIZE)[::step][:blocks]
    spectra = np.fft.rfft(frames, axis=1)
    spectra *= spectrum
    filtered = np.fft.irfft(spectra, _FFT_SIZE, axis=1)[:, taps - 1 :]
    return filtered.reshape(-1)[: len(samples)]


def _subtract_k_weighted(weighted: np.ndarray, before: np.ndarray, after: np.ndarray, sample_rate: int) -> None:
    """weighted -= K-weighted(before - after), in place, where the two differ only in short
    stretches (what a limiter took away from the line): each stretch is filtered by an FFT of
    its own size, so re-measuring limited audio costs the stretches, not the line."""
    nonzero = np.flatnonzero(before != after)
    if len(nonzero) == 0:
        return
    taps = len(_k_weighting_response(sample_rate))
    breaks = np.flatnonzero(np.diff(nonzero) > taps)  # stretches closer than the response go together
    starts = nonzero[np.concatenate(([0], breaks + 1))]
    ends = nonzero[np.concatenate((breaks, [len(nonzero) - 1]))] + 1
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        length = end - start + taps - 1
        size = 1 << (length - 1).bit_length()
        _, spectrum = _k_weighting_spectrum(sample_rate, size)
        difference = before[start:end].astype(np.float64) - after[start:end]
        filtered = np.fft.irfft(np.fft.rfft(difference, size) * spectrum, size)
        stop = min(len(weighted), start + length)
        weighted[start:stop] -= filtered[: stop - start]


def _at_least_one_block(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Audio shorter than one 400 ms gating block is measured with silence after it."""
    block = int(0.4 * sample_rate)
    return samples if len(samples) >= block else np.pad(samples, (0, block - len(samples)))


def block_energies(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean square of the K-weighted signal in each 400 ms gating block (100 ms apart). A gain
    g multiplies every energy by g squared exactly (the filter is linear)."""
    return _energies_of_weighted(k_weighted(_at_least_one_block(samples, sample_rate), sample_rate), sample_rate)


def _energies_of_weighted(y: np.ndarray, sample_rate: int) -> np.ndarray:
    block = int(0.4 * sample_rate)
    step = int(0.1 * sample_rate)
    if block == 4 * step:  # every rate charvoice writes: a block is four 100 ms steps
        hops = len(y) // step
        power = np.square(y[: hops * step], dtype=np.float64).reshape(hops, step).sum(axis=1)
        return (power[:-3] + power[1:-2] + power[2:-1] + power[3:]) / block
    energy = np.concatenate(([0.0], np.cumsum(np.square(y, dtype=np.float64))))
    starts = np.arange(0, len(y) - block + 1, step)
    return (energy[starts + block] - energy[starts]) / block


def gated_loudness(z: np.ndarray) -> float:
    """Integrated loudness in LUFS from block energies (absolute and relative gates)."""
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(z)
    z = z[loudness > -70.0]
    if len(z) == 0:
        return -math.inf
    relative_gate = -0.691 + 10 * math.log10(z.mean()) - 10.0
    with np.errstate(divide="ignore"):
        z = z[-0.691 + 10 * np.log10(z) > relative_gate]
    return -0.691 + 10 * math.log10(z.mean())


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (-inf for silence)."""
    return gated_loudness(block_energies(samples, sample_rate))


def _oversampled_peaks(samples: np.ndarray) -> np.ndarray:
    """Per-sample peak of the 4x oversampled signal (where inter-sample peaks show up)."""
    oversampled = np.abs(_resample_ratio(samples, 4, 1))
    return np.maximum(
        np.maximum(oversampled[0::4], oversampled[1::4]),
        np.maximum(oversampled[2::4], oversampled[3::4]),
    )


def true_peak_db(samples: np.ndarray) -> float:
    peak = float(_oversampled_peaks(samples).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _moving_min(values: np.ndarray, size: int) -> np.ndarray:
    """Centred running minimum over `size` (odd) samples, edges mirrored (van Herk / Gil-Werman:
    a prefix and a suffix minimum per block of `size`, so O(n) whatever the width)."""
    half = size // 2
    padded = np.pad(values, (half, half + size), mode="symmetric")
    blocks = -(-len(padded) // size)
    padded = np.pad(padded, (0, blocks * size - len(padded)), mode="edge").reshape(blocks, size)
    prefix = np.minimum.accumulate(padded, axis=1).reshape(-1)
    suffix = np.minimum.accumulate(padded[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    n = len(values)
    return np.minimum(suffix[:n], prefix[size - 1 : size - 1 + n])


def _moving_average(values: np.ndarray, size: int) -> np.ndarray:
    """Running mean over `size` samples, window [i - size//2, i + (size-1)//2], edges mirrored."""
    before, after = size // 2, (size - 1) // 2
    padded = np.pad(values.astype(np.float64), (before, after), mode="symmetric")
    total = np.concatenate(([0.0], np.cumsum(padded)))
    return (total[size:] - total[:-size]) / size


def _limit(samples: np.ndarray, ceiling_db: float, sample_rate: int) -> np.ndarray:
    """Hold true peaks under the ceiling with a smooth, look-ahead gain (about 5 ms)."""
    ceiling = 10 ** ((ceiling_db - _LIMITER_MARGIN_DB) / 20)
    # Inter-sample peaks of speech stay well within 3 dB of the sample peaks: only samples that
    # close to the ceiling (and their neighbours) are worth oversampling.
    close = np.abs(samples) * _INTER_SAMPLE_HEADROOM >= ceiling
    if not close.any():
        return samples
    padded = np.pad(close, 2)  # ... and the two samples either side of each
    near = np.flatnonzero(padded[:-4] | padded[1:-3] | padded[2:-2] | padded[3:-1] | padded[4:])
    peaks = _oversampled_peaks_at(samples, near)
    if peaks.max(initial=0.0) <= ceiling:
        return samples
    width = max(3, int(0.005 * sample_rate))
    # A moving average of a min-filter twice as wide never rises above the gain a peak needs.
    # The gain is 1 wherever no peak is within 1.5 widths: filter only the stretches around
    # the peaks, laid end to end (each keeps 2 widths of unity gain at both ends, so the
    # filters never reach from one stretch into the next).
    reach = 2 * width
    breaks = np.flatnonzero(np.diff(near) > 2 * reach)
    starts = np.maximum(near[np.concatenate(([0], breaks + 1))] - reach, 0)
    ends = np.minimum(near[np.concatenate((breaks, [len(near) - 1]))] + reach + 1, len(samples))
    lengths = ends - starts
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    stretch = np.arange(int(lengths.sum())) + offsets  # sample index of each stretch position
    needed = np.ones(len(stretch))
    needed[np.searchsorted(stretch, near)] = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    gain = _moving_average(_moving_min(needed, 2 * width + 1), width)
    limited = samples.astype(np.float32, copy=True)
    limited[stretch] *= gain.astype(np.float32)
    return limited


def _oversampled_peaks_at(samples: np.ndarray, where: np.ndarray) -> np.ndarray:
    """_oversampled_peaks(samples)[where], computing only those."""
    half, taps = _lowpass(4, 1)
    width = len(taps)
    x = np.concatenate(
        (np.zeros(width - 1, np.float32), samples.astype(np.float32, copy=False), np.zeros(width + 4, np.float32))
    )
    windows = np.lib.stride_tricks.sliding_window_view(x, width)
    # Output 4m + r sits in row m + (r + half) // 4, phase (r + half) % 4 (see _resample_ratio).
    peaks = np.zeros(len(where), np.float32)
    for r in range(4):
        position = r + half
        values = windows[where + position // 4] @ taps[:, position % 4]
        np.maximum(peaks, np.abs(values), out=peaks)
    return peaks


# --- the whole chain ------------------------------------------------------------------------


def voiced_frames(
    samples: np.ndarray,
    sample_rate: int,
    floor_db: float = _SILENCE_FLOOR_DB,
    below_loudest_db: float = _SILENCE_BELOW_PEAK_DB,
) -> np.ndarray:
    """Which 10 ms frames hold sound (a bool per frame). A frame is silence under `floor_db`,
    or `below_loudest_db` under the loudest frame."""
    frame = max(1, sample_rate // 100)
    count = len(samples) // frame
    if count == 0:
        return np.zeros(0, dtype=bool)
    rms = np.sqrt(np.mean(samples[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    with np.errstate(divide="ignore"):
        level = 20 * np.log10(np.maximum(rms, 1e-10))
    return level > max(floor_db, float(level.max()) - below_loudest_db)


def voiced_span(
    samples: np.ndarray,
    sample_rate: int,
    floor_db: float = _SILENCE_FLOOR_DB,
    below_loudest_db: float = _SILENCE_BELOW_PEAK_DB,
) -> tuple[int, int] | None:
    """(first, end) sample of the sound between leading and trailing silence, in 10 ms frames;
    None when it is all silence (see voiced_frames)."""
    frame = max(1, sample_rate // 100)
    voiced = np.flatnonzero(voiced_frames(samples, sample_rate, floor_db, below_loudest_db))
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
    _keep_freed_memory()
    rate = settings.sample_rate
    samples = decode_file(data, rate) if isinstance(data, Path) else decode(data, rate)
    start = 0
    if settings.trim_silence:
        start, end = trim_bounds(samples, rate, settings.pad_ms)
        samples = samples[start:end]
    # The K-weighted signal is kept and updated rather than filtered again: a gain scales it,
    # and a limiter only takes short stretches away.
    weighted = k_weighted(_at_least_one_block(samples, rate), rate)
    energies = _energies_of_weighted(weighted, rate)
    loudness = gated_loudness(energies)
    if not math.isfinite(loudness):
        raise AudioError("the audio is silent")
    for _ in range(4):  # gain, limit, measure: converges in two or three rounds
        gain = 10 ** ((settings.loudness_lufs - loudness) / 20)
        gained = (samples * gain).astype(np.float32)
        samples = _limit(gained, settings.true_peak_db, rate)
        weighted *= gain
        if samples is gained:
            energies = energies * gain * gain
        else:
            _subtract_k_weighted(weighted, gained, samples, rate)
            energies = _energies_of_weighted(weighted, rate)
        loudness = gated_loudness(energies)
        if abs(loudness - settings.loudness_lufs) < 0.2:
            break
    return Processed(samples=samples, sample_rate=rate, lufs=round(loudness, 2), offset_s=start / rate)


_OGG_LONGEST_PAGE = 27 + 255 + 255 * 255  # header, segment table, 255 segments of 255 bytes


def ogg_length(path: Path) -> int:
    """Samples in an Ogg Vorbis file by the granule position of its last page: -1 unless the
    file ends with a whole end-of-stream page (a file cut short ends mid-page, or without one).
    A page's header, not libsndfile's reader: that reads the codebooks too, and cost a line 0.7 ms."""
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - _OGG_LONGEST_PAGE))
        tail = handle.read()
    at = tail.rfind(b"OggS")
    while at >= 0:  # "OggS" may also occur inside a packet: the last page is the one ending the file
        if at + 27 <= len(tail):
            table = tail[at + 27 : at + 27 + tail[at + 26]]  # the page's segment lengths
            whole = len(table) == tail[at + 26] and at + 27 + len(table) + sum(table) == len(tail)
            if whole and tail[at + 5] & 0x04:  # header type: end of stream
                return int.from_bytes(tail[at + 6 : at + 14], "little", signed=True)
        at = tail.rfind(b"OggS", 0, at)
    return -1


def encode(
    processed: Processed, target: Path, settings: AudioSettings, key: str = "", *, durable: bool = False
) -> None:
    """Write the processed audio to `target` atomically in the configured format. `key` (the
    asset key) names the Ogg stream, so equal audio gives equal bytes on every machine;
    `durable`: on the disk (fsync) before this returns, so before the manifest names it."""
    with atomic_target(target, durable=durable) as temp:
        if settings.format == "wav":
            temp.write_bytes(wav_bytes(processed.samples, processed.sample_rate))
            return
        if settings.format == "ogg":
            # libsndfile's Vorbis encoder, in-process: a third of the time of starting ffmpeg for
            # every line, which was the largest cost of a build. Its compression level runs
            # the other way from Vorbis quality (0.0 is the best).
            import soundfile

            with soundfile.SoundFile(
                temp,
                "w",
                processed.sample_rate,
                1,
                format="OGG",
                subtype="VORBIS",
                compression_level=1 - settings.quality / 10,
            ) as out:
                # One large buffer crashes libsndfile's Vorbis writer (about a minute of audio;
                # python-soundfile #426, libsndfile #1095): feed it a second at a time.
                step = processed.sample_rate
                for start in range(0, len(processed.samples), step):
                    out.write(processed.samples[start : start + step])
            # libsndfile's Ogg writer reports no error when the disk fills up: it leaves a short
            # file. Read the length back from the last page so a truncated file is never published.
            if ogg_length(temp) < len(processed.samples):
                cause = write_failure(temp.parent) or errno.EIO
                raise OSError(cause, os.strerror(cause), str(target))
            from charvoice.ogg_pages import serial_for, with_serial

            temp.write_bytes(with_serial(temp.read_bytes(), serial_for(key)))  # not libsndfile's random serial
            return
        codec = ["-c:a", "libmp3lame", "-q:a", str(9 - min(settings.quality, 9)), "-f", "mp3"]
        source = ["-f", "f32le", "-ar", str(processed.sample_rate), "-ac", "1", "-i", "pipe:0"]
        _run_ffmpeg(
            [*source, *codec, "-map_metadata", "-1", "-y", str(temp)], processed.samples.astype("<f4").tobytes()
        )
