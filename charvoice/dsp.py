"""The signal processing behind audio.py, all numpy: polyphase resampling, integrated loudness
(ITU-R BS.1770-4: K-weighting by FFT overlap-save, 400 ms blocks, absolute and relative gates),
the true peak on a 4x oversampled signal, and the look-ahead limiter. tests/test_audio_dsp.py
checks each against scipy and pyloudnorm."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

_LIMITER_MARGIN_DB = 0.5  # head-room for inter-sample peaks the lossy encoders add
_INTER_SAMPLE_HEADROOM = 10 ** (3 / 20)


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
