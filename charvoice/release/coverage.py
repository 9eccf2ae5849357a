"""QA: speech that no word of the line's timings covers.

A voice that reads a symbol aloud ("party popper" for an emoji), adds a word, or keeps talking
after the text ends makes sound no word timing accounts for: lip-sync and subtitles go wrong
there, and the listener hears words the script does not have. Stretches of sound (10 ms frames,
audio.voiced_frames) at least MIN_UNCOVERED_S long and further than MARGIN_S from every word
are reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MARGIN_S = 0.12  # a word's timing may start a little late or end a little early
MIN_UNCOVERED_S = 0.3  # shorter: a breath, a consonant's tail
BRIDGE_S = 0.15  # sound broken by gaps shorter than this is one stretch (a spoken word has gaps)


def uncovered_speech(words: Sequence[tuple[float, float]], samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of sound no word (start, end) covers."""
    from charvoice import audio

    voiced = audio.voiced_frames(samples, rate)
    if not len(voiced):
        return []
    step = max(1, rate // 100) / rate  # seconds per frame
    times = np.arange(len(voiced)) * step
    covered = np.zeros(len(voiced), dtype=bool)
    for start, end in words:
        covered |= (times + step > start - MARGIN_S) & (times < end + MARGIN_S)
    stretches: list[list[float]] = []
    for index in np.flatnonzero(voiced & ~covered):
        at = float(times[index])
        if stretches and at - stretches[-1][1] <= BRIDGE_S:
            stretches[-1][1] = at + step
        else:
            stretches.append([at, at + step])
    return [(round(a, 2), round(b, 2)) for a, b in stretches if b - a >= MIN_UNCOVERED_S]
