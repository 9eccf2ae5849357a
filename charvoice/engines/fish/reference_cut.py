"""Fitting voice samples into one reference of at most 30 s, cut where a sentence ends.

A reference is audio and the text it says ("10-30 seconds of clear speech", openapi.json
ReferenceAudio; the cloning guide advises 2-3 clips of 15-20 s). Audio cut mid-sentence with
the whole transcript sent tells the model words it never hears. So a sample that does not fit
is cut at the end of a sentence, found by speech to text with timestamps, and only the sentences
it keeps are sent; a server without speech to text gets the cut estimated from the pauses (the
warning says so). Samples that do not fit at all are left out, and the warning names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f\u2026])[\"'\u201d\u2019)\]]*\s+")
MIN_PIECE_S = 3.0  # a cut shorter than this is not worth its transcript
PAUSE_S = 0.25  # silence at least this long may end a sentence (the estimate without timestamps)

# Speech to text with timestamps for audio (16-bit WAV bytes): segments {text, start, end}, or
# None when the server has none.
Hear = Callable[[bytes], "list[dict[str, Any]] | None"]


@dataclass(frozen=True)
class Piece:
    """What part of a sample a reference holds, and what it says."""

    pcm: np.ndarray
    text: str
    note: str = ""  # why it was cut ("" when whole)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(text.strip()) if part.strip()]


def fit(
    pcm: np.ndarray, rate: int, text: str, limit_s: float, hear: Hear | None, wav: Callable[[np.ndarray], bytes]
) -> Piece | None:
    """The sample whole when it fits in `limit_s`, else its opening up to the end of a sentence
    (None when no sentence ends in time)."""
    seconds = len(pcm) / rate
    if seconds <= limit_s:
        return Piece(pcm, text)
    segments = hear(wav(pcm)) if hear is not None else None
    said = sentences(text)
    if segments:
        found = _by_timestamps(segments, limit_s)
        if found is None:
            return None
        end_s, kept, total = found
        # The writer's transcript, when it has as many sentences as were heard; else what was heard.
        words = " ".join(said[:kept]) if text and len(said) == total else found_text(segments, end_s)
        how = "where a sentence ends (speech to text)"
    else:
        estimate = _by_pauses(pcm, rate, said, limit_s)
        if estimate is None:
            return None
        end_s, kept = estimate
        words = " ".join(said[:kept])
        how = "at a pause where one seems to end (an estimate: this server has no speech to text; trim the sample to be sure)"
    end = min(len(pcm), int((end_s + 0.15) * rate))
    note = f"is {seconds:.1f} s; cut to {end / rate:.1f} s, with the {kept} sentence(s) it holds, {how}"
    return Piece(pcm[:end], words, note)


def found_text(segments: Sequence[dict[str, Any]], end_s: float) -> str:
    return " ".join(str(s.get("text", "")).strip() for s in segments if float(s.get("end", 0)) <= end_s + 1e-6)


def _by_timestamps(segments: Sequence[dict[str, Any]], limit_s: float) -> tuple[float, int, int] | None:
    """(end of the last sentence within `limit_s`, sentences up to it, sentences in all)."""
    ends: list[float] = []
    for index, segment in enumerate(segments):
        text = str(segment.get("text", "")).strip()
        last = index == len(segments) - 1
        if last or re.search(r"[.!?\u3002\uff01\uff1f\u2026][\"'\u201d\u2019)\]]*$", text):
            ends.append(float(segment.get("end", 0.0)))
    fitting = [end for end in ends if end >= MIN_PIECE_S and end + 0.15 <= limit_s]
    if not fitting:
        return None
    return fitting[-1], len(fitting), len(ends)


def _by_pauses(pcm: np.ndarray, rate: int, said: list[str], limit_s: float) -> tuple[float, int] | None:
    """Without timestamps: the pause before `limit_s` whose share of the speech before it best
    matches a sentence boundary's share of the transcript's letters."""
    if len(said) < 2:
        return None
    frame = max(1, rate // 100)
    count = len(pcm) // frame
    rms = np.sqrt(np.mean(pcm[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    level = 20 * np.log10(np.maximum(rms, 1e-10))
    voiced = level > level.max() - 35.0
    total_voiced = max(1, int(voiced.sum()))
    pauses: list[tuple[float, float]] = []  # (time in s, share of speech before it)
    run = 0
    for index, is_voiced in enumerate(voiced):
        if not is_voiced:
            run += 1
            continue
        if run * frame >= PAUSE_S * rate:
            middle = (index - run / 2) * frame / rate
            if MIN_PIECE_S <= middle <= limit_s - 0.15:
                pauses.append((middle, voiced[:index].sum() / total_voiced))
        run = 0
    if not pauses:
        return None
    letters = np.cumsum([len(s) for s in said]) / sum(len(s) for s in said)
    matches = [(abs(share - letters[k - 1]), time, k) for time, share in pauses for k in range(1, len(said))]
    close = [match for match in matches if match[0] <= 0.08]  # a pause where a sentence plausibly ends
    best = max(close, key=lambda match: match[1]) if close else min(matches)
    return best[1] - 0.15, best[2]
