"""Speech to text for QA: Fish Audio's `POST /v1/asr`, and the word error rate of a transcript.

The request is what the official SDK sends (docs.fish.audio, "Speech to Text"): a msgpack body
with `audio` (the file's bytes), `language` (a hint such as "en") and `ignore_timestamps`; the
answer is JSON with `text`, `duration` and `segments` (`[{text, start, end}]`, empty when
timestamps are not asked for). The call goes through FishClient, so it shares the engine's
auth, retries (429, 5xx, timeouts), concurrency limit and key redaction.

The word error rate compares words after normalisation (Unicode NFKC, case folded, punctuation
dropped, hyphens split words); for languages written without spaces (Japanese, Chinese, Thai...)
it compares characters instead, which is the usual character error rate.
"""

from __future__ import annotations

import re
import unicodedata

from charvoice.engines.capabilities import Transcript
from charvoice.engines.fish.client import FishClient, FishError
from charvoice.locales import language_of

# Languages whose text has no spaces between words: compare characters, not words.
_UNSPACED = {"ja", "zh", "th", "lo", "km", "my", "bo", "yue", "wuu"}
_LEADING_CUES = re.compile(r"^\s*(?:(?:\([^)]*\)|\[[^\]]*\])\s*)+")


class AsrUnavailable(FishError):
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


# --- word error rate -------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Case-folded text with punctuation and markup-like brackets turned into spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _LEADING_CUES.sub(" ", text)  # "(angry) ..." and "[whispering] ..." are cues, never spoken
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char == "'" or category[0] in "LNM":
            out.append(char)
        else:
            out.append(" ")
    words = [word.strip("'") for word in "".join(out).split()]
    return " ".join(word for word in words if word)


def tokens(text: str, locale: str = "en") -> list[str]:
    """The units the error rate counts: words, or characters for unspaced languages."""
    normal = normalise(text)
    if language_of(locale) in _UNSPACED:
        return [char for char in normal if not char.isspace()]
    return normal.split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over tokens (substitutions, insertions and deletions cost 1)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str, locale: str = "en") -> float:
    """Edits needed to turn the transcript into the reference, per reference word (0 = identical)."""
    ref, hyp = tokens(reference, locale), tokens(hypothesis, locale)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)
