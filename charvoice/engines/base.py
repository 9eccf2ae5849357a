"""The values engines and the pipeline exchange: the request whose hash is the cache key, and
the audio with its timings that comes back."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from charvoice.fsutil import text_sha256
from charvoice.project.characters import Character


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class SpeechRequest:
    """Everything that changes the sound an engine makes for one line.

    The cache key is the hash of this whole object, so anything added here is automatically
    part of the key; anything that does not change the sound (the API key, timeouts) must
    stay out of it.
    """

    engine: str
    text: str  # exactly the text sent to the engine
    locale: str
    voice: dict[str, Any] = field(default_factory=dict)  # the voice fingerprint
    params: dict[str, Any] = field(default_factory=dict)  # model and sampling parameters
    take: int = 0  # 0: the line's regular take; `charvoice take` asks for 1, 2, ... (another seed)
    # Who speaks: what the engine needs to voice it (samples to send, a model to clone). Not part
    # of the key; the voice fingerprint above is.
    character: Character | None = field(default=None, compare=False, repr=False)

    @property
    def cache_key(self) -> str:
        # Not dataclasses.asdict: its deep copy is most of the cost of planning a big project.
        fields: dict[str, Any] = {
            "engine": self.engine,
            "text": self.text,
            "locale": self.locale,
            "voice": self.voice,
            "params": self.params,
        }
        if self.take:  # keys of regular takes stay as they were before takes existed
            fields["take"] = self.take
        return text_sha256(canonical_json(fields))


@dataclass(frozen=True)
class SpokenWord:
    """A word as an engine or recogniser timed it, in seconds on the raw audio's timeline.
    `char_from`/`char_to` index the request's text when the source knows them (else -1)."""

    start_s: float
    end_s: float
    text: str
    char_from: int = -1
    char_to: int = -1


@dataclass(frozen=True)
class EngineTimings:
    """Word (and, where the engine says, phoneme) timings that came with the raw audio."""

    source: str  # "engine" (the synthesiser's own events) or "asr" (a recogniser's timestamps)
    words: list[SpokenWord] = field(default_factory=list)
    phonemes: list[tuple[float, str]] = field(default_factory=list)  # (start_s, IPA), "" = pause

    def to_bytes(self) -> bytes:
        """As kept in the cache beside the audio (and shared with it)."""
        document = {
            "source": self.source,
            "words": [[w.start_s, w.end_s, w.text, w.char_from, w.char_to] for w in self.words],
            "phonemes": [[time, name] for time, name in self.phonemes],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> EngineTimings | None:
        """The timings `to_bytes` kept, or None when they are damaged (made again from the audio)."""
        try:
            document = json.loads(data)
            return cls(
                source=str(document["source"]),
                words=[SpokenWord(float(a), float(b), str(t), int(f), int(e)) for a, b, t, f, e in document["words"]],
                phonemes=[(float(time), str(name)) for time, name in document["phonemes"]],
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class TimedAudio:
    """What an engine makes for one request: the audio file's bytes (WAV preferred) and, when
    the engine knows them, the times its words were spoken. One value, so the timings can never
    be matched with another reading's audio."""

    audio: bytes
    timings: EngineTimings | None = None


@dataclass(frozen=True)
class Notify:
    """How an engine tells the user what it does while it prepares (cloning a voice takes a while)."""

    echo: Callable[[str], None] = lambda message: None
    warn: Callable[[str], None] = lambda message: None
