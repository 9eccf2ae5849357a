"""Mouth shapes (charvoice/visemes.py) for a line: from the engine's own phoneme events where it
reported them (espeak-ng), otherwise each word's phonemes spread within the word's span."""

from __future__ import annotations

from collections.abc import Callable

from charvoice.timings.align import MIN_SHAPE_S
from charvoice.timings.format import Word
from charvoice.visemes import REST, is_vowel, shape_of

REST_GAP_S = 0.06  # a gap between words at least this long closes the mouth (X)


def mouth_from_events(
    words: list[Word], phonemes: list[tuple[float, str]], offset_s: float, duration_s: float
) -> list[tuple[float, str]]:
    """The engine's own phoneme events (raw times) as shapes on the published timeline."""
    track = [(min(duration_s, max(0.0, time - offset_s)), shape_of(name)) for time, name in phonemes]
    if words:
        track.append((words[-1].end_s, REST))
    return _compact(track, duration_s)


def mouth_from_words(
    words: list[Word], phonemise: Callable[[str], list[str]], duration_s: float
) -> list[tuple[float, str]]:
    """Each word's phonemes spread within its span (vowels twice as long as consonants)."""
    track: list[tuple[float, str]] = []
    for index, word in enumerate(words):
        names = phonemise(word.text) or ["ə"]
        weights = [2.0 if is_vowel(name) else 1.0 for name in names]
        total, cursor = sum(weights), word.start_s
        for name, weight in zip(names, weights, strict=True):
            track.append((cursor, shape_of(name)))
            cursor += (word.end_s - word.start_s) * weight / total
        following = words[index + 1].start_s if index + 1 < len(words) else duration_s
        if following - word.end_s >= REST_GAP_S or index + 1 == len(words):
            track.append((word.end_s, REST))
    return _compact(track, duration_s)


def _compact(track: list[tuple[float, str]], duration_s: float) -> list[tuple[float, str]]:
    """Sorted, from 0.0 (at rest), with no repeats and no flickers shorter than MIN_SHAPE_S."""
    ordered = sorted(((min(duration_s, max(0.0, t)), shape) for t, shape in track), key=lambda item: item[0])
    out: list[tuple[float, str]] = [(0.0, REST)]
    for time, shape in ordered:
        if time - out[-1][0] < MIN_SHAPE_S:
            out[-1] = (out[-1][0], shape)  # the one before would only flicker: this one takes its place
        else:
            out.append((time, shape))
    merged: list[tuple[float, str]] = []
    for time, shape in out:
        if not merged or merged[-1][1] != shape:
            merged.append((time, shape))
    return merged
