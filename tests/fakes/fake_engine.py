"""An in-memory speech engine for the pipeline's fast tests (the analogue of httpx's MockTransport).

`FakeEngine` makes a short WAV for each request in memory, with word timings that match it, and
records every call; a `handler` replaces the default answer (raise EngineError to fail a line,
return other audio to test processing). The `fake_engine` fixture puts it in charvoice's engine
table in place of the offline voice (so a project with `engine.name = "offline"`, or scratch
characters, uses it) and makes espeak-ng unusable, so a test on it never waits for a real
synthesiser or the network. Select that tier with `pytest -m fast`.
"""

from __future__ import annotations

import hashlib
import io
import threading
import wave
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from charvoice.engines.base import EngineTimings, Notify, SpeechRequest, SpokenWord, TimedAudio
from charvoice.engines.capabilities import Capabilities
from charvoice.project.characters import Character
from charvoice.project.lines import Line
from charvoice.text_words import word_spans

RATE = 22050
WORD_S = 0.18  # each letter-bearing word speaks for this long
GAP_S = 0.06
LEAD_S = 0.15  # silence before the first word and after the last


def speech(request: SpeechRequest) -> TimedAudio:
    """The default answer: a tone burst per word (pitch from the voice and the text), with
    the timings of those bursts; the same request always sounds the same."""
    spans = word_spans(request.text)
    seed = int(hashlib.sha256(f"{request.voice}|{request.text}|{request.take}".encode()).hexdigest()[:8], 16)
    pitch = 120 + seed % 160
    pieces = [np.zeros(int(LEAD_S * RATE))]
    words: list[SpokenWord] = []
    cursor = LEAD_S
    for start, end in spans:
        t = np.arange(int(WORD_S * RATE)) / RATE
        envelope = np.sin(np.pi * t / WORD_S)
        pieces.append(0.4 * envelope * np.sin(2 * np.pi * pitch * t))
        words.append(SpokenWord(cursor, cursor + WORD_S, request.text[start:end], start, end))
        pieces.append(np.zeros(int(GAP_S * RATE)))
        cursor += WORD_S + GAP_S
    pieces.append(np.zeros(int(LEAD_S * RATE)))
    pcm = (np.concatenate(pieces) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm.tobytes())
    return TimedAudio(out.getvalue(), EngineTimings("engine", words))


class FakeEngine:
    """Speech from memory. `calls` holds every request synthesised, in order."""

    name = "fake"

    def __init__(self, handler: Callable[[SpeechRequest], TimedAudio] = speech) -> None:
        self.handler = handler
        self.calls: list[SpeechRequest] = []
        self.prepared: list[SpeechRequest] = []
        self.closed = False
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(phonemes=self, cue_style="bracket")

    def request(self, line: Line, character: Character, text: str) -> SpeechRequest:
        return SpeechRequest(
            engine=self.name, text=text, locale=line.locale, voice={"speaker": character.id}, character=character
        )

    def prepare(self, requests: Sequence[SpeechRequest], jobs: int, notify: Notify) -> None:
        with self._lock:
            self.prepared.extend(requests)

    def synthesize(self, request: SpeechRequest) -> TimedAudio:
        with self._lock:
            self.calls.append(request)
        return self.handler(request)

    def phonemes(self, text: str, locale: str) -> list[str]:
        return [char for char in text.lower() if char.isalpha()]

    def texts(self) -> list[str]:
        with self._lock:
            return [request.text for request in self.calls]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_engine(monkeypatch) -> FakeEngine:
    """The FakeEngine every build of this test uses, in place of the offline voice."""
    from charvoice import engines
    from charvoice.engines import offline

    fake = FakeEngine()
    monkeypatch.setitem(engines.ENGINES, "offline", lambda config: fake)

    def no_espeak() -> None:
        raise AssertionError("the fast tier must not load espeak-ng")

    monkeypatch.setattr(offline, "_espeak", no_espeak)
    return fake
