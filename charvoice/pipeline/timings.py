"""Word timings and a mouth-shape track for every built line, for subtitles and lip-sync.

Each built line gets `<asset stem>.timings.json` beside its asset (the manifest's audio entry
names it in `timings`; the format is charvoice/timings/format.py). Where the timings come from:
- "engine": the synthesiser's own events (espeak-ng reports each word and phoneme as it
  speaks; Fish Audio's TTS-with-timestamps answer carries word segments with the audio);
- "asr": speech to text with timestamps, for actors' recordings, when the engine in use has it
  (capabilities.Transcription: Fish Audio with FISH_API_KEY set);
- "estimate": no source knows, so the words are spread over the voiced span by length.

Raw timings (on the raw audio's timeline) are kept beside the audio cache, by the same cache
key, so a line re-processed from the cache (new loudness target, say) redoes its timings with
no API call; a line that is up to date computes nothing at all.

Mouth shapes (charvoice/timings/mouth.py) come from the engine's own phoneme events where it
reports them (espeak-ng), and otherwise from the scratch voice's phonemes of each word
(Engines.phonemes), spread within the word's span.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charvoice.engines import Engines
from charvoice.engines.base import EngineTimings, SpokenWord
from charvoice.errors import EngineError
from charvoice.pipeline.cache import AudioCache
from charvoice.pipeline.manifest import AudioEntry
from charvoice.timings.align import align, estimate, shifted
from charvoice.timings.format import LineTimings, timings_path, write
from charvoice.timings.mouth import mouth_from_events, mouth_from_words

if TYPE_CHECKING:
    import numpy as np


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
