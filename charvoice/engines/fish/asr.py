"""Speech to text (capabilities.Transcription) through Fish Audio's `POST /v1/asr`.

The request is what the official SDK sends (docs.fish.audio, "Speech to Text"): a msgpack body
with `audio` (the file's bytes), `language` (a hint such as "en") and `ignore_timestamps`; the
answer is JSON with `text`, `duration` and `segments` (`[{text, start, end}]`, empty when
timestamps are not asked for). The call goes through FishClient, so it shares the engine's
auth, retries (429, 5xx, timeouts), concurrency limit and key redaction.
"""

from __future__ import annotations

from charvoice.engines.capabilities import Transcript, TranscriptionUnavailable
from charvoice.engines.fish.client import FishClient
from charvoice.engines.fish.errors import FishError
from charvoice.locales import language_of


class AsrUnavailable(FishError, TranscriptionUnavailable):
    """The server has no speech-to-text endpoint (a self-hosted Fish Speech server, say)."""


def transcribe(client: FishClient, audio: bytes, locale: str | None = None, *, timestamps: bool = False) -> Transcript:
    """One `POST /v1/asr` (with `timestamps`, segments carry start and end times). Raises
    FishError (AsrUnavailable when the server has no such endpoint)."""
    try:
        data = client.asr(audio, language_of(locale) if locale else None, timestamps=timestamps)
    except FishError as error:
        if error.status in (404, 405):
            message = f"{client.server_name} has no speech-to-text endpoint (POST /v1/asr answered {error.status})"
            raise AsrUnavailable(message, error.status) from None
        raise
    duration = data.get("duration")
    segments = data.get("segments") if isinstance(data.get("segments"), list) else []
    language = data.get("language_code") if isinstance(data.get("language_code"), str) else None
    return Transcript(
        data["text"], float(duration) if isinstance(duration, (int, float)) else None, segments or [], language
    )


class FishTranscription:
    """Speech to text as the Transcription capability: through the engine's client (shared
    limits and retries) or, for QA without the Fish engine, a client of its own (`owned`)."""

    def __init__(self, client: FishClient, owned: bool = False) -> None:
        self.client = client
        self.owned = owned
        self.description = client.server_name

    def transcribe(self, audio: bytes, locale: str | None, *, timestamps: bool = False) -> Transcript:
        return transcribe(self.client, audio, locale, timestamps=timestamps)

    def close(self) -> None:
        if self.owned:
            self.client.close()
