"""The words of a line's text, timed by any source (an engine's events, a recogniser's
segments) or, when none knows, estimated from the voiced span by length."""

from __future__ import annotations

from difflib import SequenceMatcher

from charvoice.engines.base import EngineTimings
from charvoice.text_words import letters, word_spans
from charvoice.timings.format import Word

MIN_SHAPE_S = 0.02  # a mouth shape (or a word) shorter than this is a flicker no animation frame shows


def align(text: str, source: EngineTimings, source_text: str | None = None) -> list[Word]:
    """The words of `text` timed by `source` (whose words may be spelt differently, grouped in
    phrases, or missing). Letters are matched in order; a word no letter of which matched
    (a number read out, a word the recogniser missed) shares the gap around it by length."""
    spans = word_spans(text)
    if not spans:
        return []
    times: list[tuple[float, float] | None] = [None] * len(spans)
    if source_text == text and all(w.char_from >= 0 for w in source.words):
        by_span = {(w.char_from, w.char_to): w for w in source.words}
        for index, span in enumerate(spans):
            found = by_span.get(span)
            if found is not None:
                times[index] = (found.start_s, found.end_s)
    else:
        line_chars: list[int] = []  # word index of each letter of the line
        line_letters = []
        for index, (start, end) in enumerate(spans):
            chunk = letters(text[start:end])
            line_letters.append(chunk)
            line_chars.extend([index] * len(chunk))
        source_letters, source_times = [], []
        for spoken in source.words:
            chunk = letters(spoken.text)
            step = (spoken.end_s - spoken.start_s) / max(1, len(chunk))
            for k in range(len(chunk)):
                source_times.append((spoken.start_s + k * step, spoken.start_s + (k + 1) * step))
            source_letters.append(chunk)
        matcher = SequenceMatcher(None, "".join(line_letters), "".join(source_letters), autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                word = line_chars[block.a + k]
                begin, finish = source_times[block.b + k]
                known = times[word]
                times[word] = (begin, finish) if known is None else (min(known[0], begin), max(known[1], finish))
    first = min((w.start_s for w in source.words), default=0.0)
    if source.source == "engine":
        # The synthesiser spoke from its first sound on: a word it did not report before its
        # first reported one (espeak-ng now and then drops the first word event) starts there.
        first = min([first, *(time for time, name in source.phonemes if name)]) if source.phonemes else 0.0
    last = max((w.end_s for w in source.words), default=first)
    return _fill(text, spans, times, first, last)


def _fill(
    text: str, spans: list[tuple[int, int]], times: list[tuple[float, float] | None], first: float, last: float
) -> list[Word]:
    """Give untimed words a share of the gap between their timed neighbours; keep order."""
    filled = list(times)
    index = 0
    while index < len(filled):
        if filled[index] is not None:
            index += 1
            continue
        run_end = index
        while run_end < len(filled) and filled[run_end] is None:
            run_end += 1
        before = filled[index - 1][1] if index > 0 and filled[index - 1] else first  # type: ignore[index]
        following = filled[run_end] if run_end < len(filled) else None
        after = max(following[0] if following else last, before)
        stop = run_end
        if following is not None and after - before < MIN_SHAPE_S:
            # No time between the neighbours: the source spoke this word as part of the next
            # one ("the mainland" as one word): they share the next one's span.
            after, stop = max(following[1], before), run_end + 1
        weights = [max(1, len(letters(text[s:e]))) for s, e in spans[index:stop]]
        total, cursor = sum(weights), before
        for k, weight in enumerate(weights):
            width = (after - before) * weight / total
            filled[index + k] = (cursor, cursor + width)
            cursor += width
        index = stop
    words: list[Word] = []
    previous_end = 0.0
    for (start, end), (char_from, char_to) in zip(filled, spans, strict=True):  # type: ignore[misc]
        start = max(start, words[-1].start_s if words else 0.0)
        if words and start < previous_end:  # overlapping neighbours: the earlier word yields
            words[-1] = Word(words[-1].start_s, max(words[-1].start_s, start), *_span_of(words[-1]))
        words.append(Word(start, max(start, end), char_from, char_to, text[char_from:char_to]))
        previous_end = words[-1].end_s
    return words


def _span_of(word: Word) -> tuple[int, int, str]:
    return word.char_from, word.char_to, word.text


def estimate(text: str, start_s: float, end_s: float) -> list[Word]:
    """Words spread over [start_s, end_s] by their length (nothing knows better)."""
    spans = word_spans(text)
    return _fill(text, spans, [None] * len(spans), start_s, end_s)


def shifted(words: list[Word], offset_s: float, duration_s: float) -> list[Word]:
    """Raw-audio times -> published times: minus what trimming cut, within the asset."""

    def clip(time: float) -> float:
        return min(duration_s, max(0.0, time - offset_s))

    return [Word(clip(w.start_s), clip(w.end_s), w.char_from, w.char_to, w.text) for w in words]
