"""Word timings and a mouth-shape track for every built line, for subtitles and lip-sync.

Each built line gets `<asset stem>.timings.json` beside its asset (the manifest's audio entry
names it in `timings`), on the published asset's timeline, i.e. after trimming and padding:

  {"format": "charvoice-timings", "version": 1, "source": "engine", "duration_s": 1.42,
   "words": [[0.10, 0.42, 0, 5, "Hello"], ...],   start_s, end_s, char_from, char_to, word
   "mouth": [[0.00, "X"], [0.10, "B"], ...]}       shape from that time until the next

`char_from`/`char_to` index the manifest entry's `text`. Where the timings come from:
- "engine": the synthesiser's own events (espeak-ng reports each word and phoneme as it
  speaks; Fish Audio's TTS-with-timestamps answer carries word segments with the audio);
- "asr": Fish Audio's speech to text with timestamps (actors' recordings, and Fish lines whose
  audio was cached before timings existed), when FISH_API_KEY is set;
- "estimate": no source knows, so the words are spread over the voiced span by length.

Raw timings (on the raw audio's timeline) are kept beside the audio cache, by the same cache
key, so a line re-processed from the cache (new loudness target, say) redoes its timings with
no API call; a line that is up to date computes nothing at all.

Mouth shapes (charvoice/visemes.py) come from espeak-ng's own phoneme events for the offline
voice, and otherwise from espeak-ng's phonemes of each word, spread within the word's span.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charvoice.engines import Engines
from charvoice.engines.base import EngineTimings, SpokenWord
from charvoice.errors import EngineError
from charvoice.fsutil import atomic_write_bytes
from charvoice.pipeline.cache import AudioCache
from charvoice.text_words import letters, word_spans
from charvoice.visemes import REST, is_vowel, shape_of

if TYPE_CHECKING:
    import numpy as np

    from charvoice.pipeline.manifest import AudioEntry

FORMAT = "charvoice-timings"
VERSION = 1
SOURCES = ("engine", "asr", "estimate")
SUFFIX = ".timings.json"
MIN_SHAPE_S = 0.02  # a mouth shape shorter than this is a flicker no animation frame shows
REST_GAP_S = 0.06  # a gap between words at least this long closes the mouth (X)


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    char_from: int
    char_to: int
    text: str

    def to_json(self) -> list[Any]:
        return [round(self.start_s, 3), round(self.end_s, 3), self.char_from, self.char_to, self.text]


@dataclass
class LineTimings:
    source: str
    duration_s: float
    words: list[Word] = field(default_factory=list)
    mouth: list[tuple[float, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "source": self.source,
            "duration_s": round(self.duration_s, 3),
            "words": [word.to_json() for word in self.words],
            "mouth": [[round(time, 3), shape] for time, shape in self.mouth],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> LineTimings:
        """Parse a timings file's content; ValueError names what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'not a timings file (no "format": "{FORMAT}")')
        if data.get("version") != VERSION:
            raise ValueError(f"timings version {data.get('version')!r} is not supported")
        try:
            words = [Word(float(w[0]), float(w[1]), int(w[2]), int(w[3]), str(w[4])) for w in data["words"]]
            mouth = [(float(m[0]), str(m[1])) for m in data["mouth"]]
            return cls(str(data["source"]), float(data["duration_s"]), words, mouth)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed timings: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> LineTimings:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def timings_problem(entry: AudioEntry | None, asset: Path) -> str:
    """What is wrong with a line's timings file beside its asset ("" when nothing): none named
    by the manifest, none on disk, or one that is not the size the manifest recorded (damaged;
    manifests written before sizes were recorded accept any size)."""
    if entry is None or not entry.timings:
        return "timings missing"
    try:  # os.path, not pathlib: this runs for every line of a project that is planned
        size = os.stat(os.path.join(os.path.dirname(asset), entry.timings.rpartition("/")[2])).st_size
    except OSError:
        return "timings missing"
    if entry.timings_size is not None and size != entry.timings_size:
        return "timings damaged (not the size the manifest recorded)"
    return ""


def timings_path(asset_path: str) -> str:
    """`en/aria/intro.greet.ogg` -> `en/aria/intro.greet.timings.json` (same folder, same stem)."""
    stem, dot, _ = asset_path.rpartition(".")
    return (stem if dot else asset_path) + SUFFIX


# --- words of the line, from any source -----------------------------------------------------


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


# --- mouth shapes ---------------------------------------------------------------------------


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


# --- one line -------------------------------------------------------------------------------


def from_transcript(segments: list[dict[str, Any]]) -> EngineTimings:
    """A speech-to-text answer's `segments` ({text, start, end}) as timings."""
    words = []
    for segment in segments:
        try:
            words.append(SpokenWord(float(segment["start"]), float(segment["end"]), str(segment["text"])))
        except (KeyError, TypeError, ValueError):
            continue
    return EngineTimings("asr", words)


def line_timings(
    text: str,
    source_text: str,
    raw: EngineTimings | None,
    samples: np.ndarray,
    rate: int,
    offset_s: float,
    phonemise: Callable[[str], list[str]],
) -> LineTimings:
    """Timings of one published asset (samples as published; raw times shift by offset_s)."""
    from charvoice import audio

    duration = len(samples) / rate
    if raw is not None and raw.words:
        words = shifted(align(text, raw, source_text if raw.source == "engine" else None), offset_s, duration)
        source = raw.source
    else:
        span = audio.voiced_span(samples, rate)
        start, end = (span[0] / rate, span[1] / rate) if span else (0.0, duration)
        words, source = estimate(text, start, end), "estimate"
    if raw is not None and raw.phonemes and raw.source == "engine":
        mouth = mouth_from_events(words, raw.phonemes, offset_s, duration)
    else:
        mouth = mouth_from_words(words, phonemise, duration)
    return LineTimings(source, duration, words, mouth)


def write(target: Path, timings: LineTimings) -> int:
    """Write the timings file atomically; its size in bytes."""
    data = timings.dumps().encode("utf-8")
    atomic_write_bytes(target, data)
    return len(data)


# --- checks (charvoice qa) ------------------------------------------------------------------

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


# --- the build's hook -----------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedTimings:
    """A timings file as written beside its asset; the empty path when none could be written."""

    path: str = ""  # relative to the manifest
    size: int | None = None


def publish(
    job: Any,
    project: Any,
    engines: Engines,
    cache: AudioCache,
    processed: Any,
    raw: EngineTimings | None,
    raw_audio: bytes | Path | None,
) -> PublishedTimings:
    """Write the timings of a just-built asset beside it."""
    config = project.config
    if raw is None and job.pinned is not None:  # a take or recording: timings recovered by an earlier build
        raw = cache.timings(job.cache_key)
    if raw is None:
        raw = _recover(job, engines, processed, raw_audio)
        if raw is not None:
            cache.add_timings(job.cache_key, raw)
    result = line_timings(
        job.line.text, job.request.text, raw, processed.samples, processed.sample_rate, processed.offset_s,
        lambda word: engines.phonemes(word, job.line.locale),
    )  # fmt: skip
    relative = timings_path(job.manifest_path)
    try:
        size = write(config.output_dir / relative, result)
    except OSError:  # a full disk, say: the line is published without timings; the next build adds them
        return PublishedTimings()
    return PublishedTimings(relative, size)


def _recover(job: Any, engines: Engines, processed: Any, raw_audio: bytes | Path | None) -> EngineTimings | None:
    """Timings for audio that came without them: the engine that made it recovers them if it
    can (the offline voice says the line again); an actor's recording goes to speech to text
    when the engine in use has it; anything else (Fish audio from a server without timestamps,
    or cached before timings existed) gets None, and the caller estimates: no extra call."""
    if job.pinned is None:
        recovery = engines.capabilities_of(job.request).timing_recovery
        if recovery is None or not isinstance(raw_audio, bytes):
            return None
        return recovery.recover_timings(job.request, raw_audio)
    transcription = engines.transcription() if job.origin == "recorded" else None
    if transcription is None:  # engine audio is never sent back to be transcribed: estimated instead
        return None
    from charvoice import audio

    try:
        transcript = transcription.transcribe(
            audio.wav_bytes(processed.samples, processed.sample_rate), job.line.locale, timestamps=True
        )
    except EngineError:
        return None  # the words are estimated instead; the line itself is fine
    asr = from_transcript(transcript.segments)
    # The recogniser heard the published audio: back to the raw timeline the cache keeps.
    return EngineTimings(
        "asr", [SpokenWord(w.start_s + processed.offset_s, w.end_s + processed.offset_s, w.text) for w in asr.words]
    )
