"""QA's checks of a line's word timings: do they cover the speech in the published asset, and
is there speech that no word covers?

A voice that reads a symbol aloud ("party popper" for an emoji), adds a word, or keeps talking
after the text ends makes sound no word timing accounts for: lip-sync and subtitles go wrong
there, and the listener hears words the script does not have. Stretches of sound (10 ms frames,
audio.voiced_frames) at least MIN_UNCOVERED_S long and further than MARGIN_S from every word
are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from charvoice.timings.format import LineTimings

if TYPE_CHECKING:
    import numpy as np

LATE_START_S = 0.2  # the first word may start this long after the sound does (a breath, a click)
OVERRUN_S = 0.02  # the last word may end this far past the end of the audio (rounding)
MARGIN_S = 0.12  # a word's timing may start a little late or end a little early
MIN_UNCOVERED_S = 0.3  # shorter: a breath, a consonant's tail
BRIDGE_S = 0.15  # sound broken by gaps shorter than this is one stretch (a spoken word has gaps)


def coverage_problems(timings: LineTimings, text: str, samples: np.ndarray, rate: int) -> list[str]:
    """Why these timings do not cover the speech in `samples` ([] when they do)."""
    from charvoice import audio

    problems = []
    duration = len(samples) / rate
    if not timings.words:
        return ["the timings have no words"] if text.strip() else []
    if abs(timings.duration_s - duration) > 0.05:
        problems.append(
            f"the timings are for {timings.duration_s:.2f} s of audio, the asset is {duration:.2f} s (stale)"
        )
    order = [(w.start_s, w.char_from) for w in timings.words]
    if order != sorted(order) or any(w.end_s < w.start_s for w in timings.words):
        problems.append("the words are out of order")
    if any(
        not 0 <= w.char_from < w.char_to <= len(text) or text[w.char_from : w.char_to] != w.text for w in timings.words
    ):
        problems.append("the words do not match the line's text")
    span = audio.voiced_span(samples, rate)
    first = timings.words[0]
    if span is not None and first.start_s > span[0] / rate + LATE_START_S:
        problems.append(
            f"the first word starts at {first.start_s:.2f} s, {first.start_s - span[0] / rate:.2f} s after the speech"
        )
    last = max(w.end_s for w in timings.words)
    if last > duration + OVERRUN_S:
        problems.append(f"the last word ends at {last:.2f} s, after the audio ({duration:.2f} s)")
    return problems


def uncovered_speech(words: Sequence[tuple[float, float]], samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of sound no word (start, end) covers."""
    import numpy as np

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
