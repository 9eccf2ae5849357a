"""Independent measurements of the files charvoice writes (soundfile + pyloudnorm, not charvoice's own code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile


def read(path: Path) -> tuple[np.ndarray, int, int]:
    """(samples, sample rate, channels) decoded by libsndfile."""
    data, rate = soundfile.read(str(path), always_2d=True)
    return data, rate, data.shape[1]


def loudness(path: Path) -> float:
    data, rate, _ = read(path)
    return pyloudnorm.Meter(rate).integrated_loudness(data[:, 0])


def duration(path: Path) -> float:
    info = soundfile.info(str(path))
    return info.frames / info.samplerate
