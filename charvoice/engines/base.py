"""What every engine provides, and the request whose hash is the cache key."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from charvoice.fsutil import text_sha256
from charvoice.project.characters import Character
from charvoice.project.lines import Line


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


@dataclass(frozen=True)
class TimedAudio:
    audio: bytes
    timings: EngineTimings | None = None


class TimingsMemo:
    """What an engine's `synthesize` heard about word timings, until the build takes it.

    `synthesize` stays the one way to get audio (everything that wraps or counts engine calls
    keeps working); the timings it learnt on the way wait here, by cache key."""

    LIMIT = 256  # lines in flight are far fewer; anything older was never asked for

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, EngineTimings] = {}

    def remember(self, request: SpeechRequest, timings: EngineTimings | None) -> None:
        if timings is None:
            return
        with self._lock:
            if len(self._items) >= self.LIMIT:
                self._items.pop(next(iter(self._items)))
            self._items[request.cache_key] = timings

    def take(self, request: SpeechRequest) -> EngineTimings | None:
        with self._lock:
            return self._items.pop(request.cache_key, None)


@dataclass(frozen=True)
class Notify:
    """How an engine tells the user what it does while it prepares (cloning a voice takes a while)."""

    echo: Callable[[str], None] = lambda message: None
    warn: Callable[[str], None] = lambda message: None


class Engine(Protocol):
    name: str

    def request(self, line: Line, character: Character, text: str) -> SpeechRequest:
        """The request that would voice `text` (already prepared) as `character`."""

    def prepare(self, requests: Sequence[SpeechRequest], jobs: int, notify: Notify) -> None:
        """Before a build sends anything: get ready to voice `requests` with `jobs` in flight
        (check samples, clone voices). Raise CharvoiceError when it cannot; build nothing then."""

    def synthesize(self, request: SpeechRequest) -> bytes:
        """Audio file bytes (WAV preferred) for the request; raise EngineError on failure.

        An engine that knows when each word is spoken keeps those timings in a TimingsMemo
        and offers `take_timings(request) -> EngineTimings | None` right after."""

    def close(self) -> None:
        """Release connections and libraries."""
