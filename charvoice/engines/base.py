"""What every engine provides, and the request whose hash is the cache key."""

from __future__ import annotations

import json
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
        fields: dict[str, Any] = {"engine": self.engine, "text": self.text, "locale": self.locale, "voice": self.voice, "params": self.params}
        if self.take:  # keys of regular takes stay as they were before takes existed
            fields["take"] = self.take
        return text_sha256(canonical_json(fields))


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
        """Audio file bytes (WAV preferred) for the request; raise EngineError on failure."""

    def close(self) -> None:
        """Release connections and libraries."""
