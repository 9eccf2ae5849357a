"""QA's check of a line's word timings: do they cover the speech in the published asset?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from charvoice.timings.format import LineTimings

if TYPE_CHECKING:
    import numpy as np

LATE_START_S = 0.2  # the first word may start this long after the sound does (a breath, a click)
OVERRUN_S = 0.02  # the last word may end this far past the end of the audio (rounding)


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
