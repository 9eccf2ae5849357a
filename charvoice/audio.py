"""Engine audio -> engine-ready audio: mono, resampled, trimmed, loudness-normalised, encoded.

Loudness is integrated loudness per ITU-R BS.1770-4 (K-weighting, 400 ms blocks, absolute
and relative gates); the true peak is measured on a 4x oversampled signal. Where the gain to
reach the target would push the true peak over the ceiling, a look-ahead limiter holds the
peaks down and the gain is re-applied, so short loud words do not drag a whole line quieter.

The signal processing is charvoice/dsp.py. Everything is numpy, no scipy: `import scipy.signal` alone took over a second, paid by the
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

from charvoice.dsp import (
    _at_least_one_block,
    _energies_of_weighted,
    _k_weighting_spectrum,
    _limit,
    _lowpass,
    _subtract_k_weighted,
    gated_loudness,
    k_weighted,
    resample,
)
from charvoice.dsp import block_energies as block_energies  # re-exported: callers measure through audio
from charvoice.dsp import integrated_loudness as integrated_loudness
from charvoice.dsp import true_peak_db as true_peak_db
from charvoice.errors import AudioError
from charvoice.fsutil import atomic_target, write_failure
from charvoice.project.config import AudioSettings

_SILENCE_FLOOR_DB = -65.0  # below this a frame is silence whatever the line's level
_SILENCE_BELOW_PEAK_DB = 45.0  # ... and so is anything this far under the loudest frame


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
