"""What the pipeline may ask of an engine beyond speech, as typed protocols.

An engine declares what it can do in its `capabilities` (a Capabilities value: each slot holds
the object that does it, or None); the pipeline asks through the Engines object, never by
probing an engine's attributes or comparing its name. A new engine fills the slots it supports
and touches nothing outside engines/.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from charvoice.engines.base import EngineTimings, Notify, SpeechRequest, TimedAudio
from charvoice.errors import EngineError
from charvoice.project.characters import Character
from charvoice.project.lines import Line


@dataclass(frozen=True)
class Transcript:
    """What speech to text heard: the text, and (asked with timestamps) `segments` of
    `{text, start, end}` in seconds."""

    text: str
    duration: float | None = None  # as the recogniser reports it
    segments: list[dict[str, Any]] = field(default_factory=list)
    language_code: str | None = None  # the language it detected (ISO 639-1)


class TranscriptionUnavailable(EngineError):
    """The service has no speech to text (a self-hosted server, say): stop asking it."""


class Transcription(Protocol):
    """Speech to text (QA's round trip, timings for actors' recordings). Raises EngineError."""

    description: str  # who transcribes, for messages ("Fish Audio")

    def transcribe(self, audio: bytes, locale: str | None, *, timestamps: bool = False) -> Transcript: ...

    def close(self) -> None: ...


class TimingRecovery(Protocol):
    """Word timings for this engine's audio kept without them (cached before timings existed)."""

    def recover_timings(self, request: SpeechRequest, raw: bytes) -> EngineTimings | None: ...


class Phonemes(Protocol):
    """The phonemes (IPA) of a word, for mouth shapes where the engine reported none."""

    def phonemes(self, text: str, locale: str) -> list[str]: ...


@dataclass
class CharacterCost:
    character: str
    name: str
    lines: int = 0
    bytes: int = 0


class Billing(Protocol):
    """An engine that charges for speech: the cost of lines before they are sent, and the account."""

    service: str  # "Fish Audio"
    price_per_million_bytes: float
    asr_price_per_hour: float  # speech to text (timings of actors' recordings)
    billed: bool  # False: the engine in use is free; the figures say what this service would cost

    def line_costs(self, requests: Sequence[SpeechRequest], characters: dict[str, Character]) -> list[CharacterCost]:
        """Per character (sorted by id): lines and bytes this service would bill for `requests`."""
        ...

    def account_credit(self) -> tuple[float | None, str]:
        """(USD, "") or (None, why it is unknown)."""
        ...

    def allow_overspend(self) -> None:
        """`build --over-credit`: go on when the preview exceeds the credit."""
        ...

    def timings_with_audio(self, requests: Sequence[SpeechRequest]) -> int:
        """Of `requests`, how many get word timings with their audio (no extra call)."""
        ...

    def sample_transcripts(self, characters: Sequence[Character]) -> tuple[int, int]:
        """Speech to text that voices need before their first line (calls, seconds of audio)."""
        ...

    @property
    def billed_retries(self) -> int:
        """Retries this build made after an answer that may have been billed already."""
        ...


class Direction(Protocol):
    """An engine's own rule for a line's direction (Fish: per model and engine.fish.cues), in
    place of the project's [direction] table written in `cue_style`."""

    def with_cues(self, text: str, direction: tuple[str, ...], note: str) -> str:
        """The text sent for a line: `text` with the cues its direction tags and note give."""
        ...

    def warnings(self, lines: Iterable[Line]) -> list[str]:
        """One warning for each tag (or cue) of `lines` that this engine will not voice."""
        ...


@dataclass(frozen=True)
class Capabilities:
    phonemes: Phonemes | None = None
    timing_recovery: TimingRecovery | None = None
    transcription: Transcription | None = None  # None also when it cannot run now (no key)
    billing: Billing | None = None
    cue_style: str = ""  # how direction cues are written into the text: "paren", "bracket", "" (none)
    direction: Direction | None = None  # the engine's own rule for direction (else [direction] in cue_style)
    # A placeholder voice (the offline scratch voice): never sent to speech to text by QA, shown
    # as "scratch" by status; `description` names it in messages.
    scratch: bool = False
    description: str = ""


class Engine(Protocol):
    """What every engine provides: requests (offline, no network), preparation, speech."""

    name: str

    @property
    def capabilities(self) -> Capabilities:
        """What else it can do, for the pipeline to ask through Engines."""
        ...

    def request(self, line: Line, character: Character, text: str) -> SpeechRequest:
        """The request that would voice `text` (already prepared) as `character`."""

    def prepare(self, requests: Sequence[SpeechRequest], jobs: int, notify: Notify) -> None:
        """Before a build sends anything: get ready to voice `requests` with `jobs` in flight
        (check samples, clone voices). Raise CharvoiceError when it cannot; build nothing then."""

    def synthesize(self, request: SpeechRequest) -> TimedAudio:
        """The audio for the request, with its word timings when the engine knows them; raise
        EngineError on failure."""

    def close(self) -> None:
        """Release connections and libraries."""
