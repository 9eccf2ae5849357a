"""The offline scratch voice: espeak-ng in-process through the espeakng-loader wheel.

It needs no key and no network, so writers hear every line from the first day. Each
character gets its own voice: the `[scratch]` table's voice, pitch and rate, or values
derived from the character id so the same character always sounds the same.
"""

from __future__ import annotations

import ctypes
import difflib
import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import espeakng_loader

from charvoice.engines.base import EngineTimings, Notify, SpeechRequest, SpokenWord, TimedAudio
from charvoice.engines.capabilities import Capabilities
from charvoice.errors import EngineError, Problem
from charvoice.locales import normalize_locale
from charvoice.project.characters import Character
from charvoice.project.lines import Line
from charvoice.project.loader import Project
from charvoice.project.schema import TomlFile
from charvoice.text_words import word_spans

NAME = "offline"
RESPEAK_TOLERANCE_SAMPLES = 110  # 5 ms at espeak-ng's 22050 Hz
# espeak-ng voice variants (espeak-ng-data/voices/!v) that sound clearly different.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt3", "whisper")

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH = 1, 3
# espeak_Initialize options: report a PHONEME event per phoneme, named in IPA (language-neutral).
_INITIALIZE_PHONEME_EVENTS, _INITIALIZE_PHONEME_IPA = 0x0001, 0x0002
_EVENT_END_OF_LIST, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_PHONEMES_IPA = 0x02


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT (speak_lib.h). `sample` is the event's position in samples of the output."""

    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
        ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", _EventId),
    ]  # fmt: skip


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Espeak:
    """The espeak-ng library: global state inside, so one synthesis at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        data_parent = os.path.dirname(espeakng_loader.get_data_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        options = _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent.encode(), options)
        if self.sample_rate <= 0:
            raise EngineError("espeak-ng failed to initialise (its data files are missing from espeakng-loader)")
        self._chunks: list[bytes] = []
        self._words: list[tuple[int, int]] = []  # (sample, 0-based character position in the text)
        self._phonemes: list[tuple[int, str]] = []  # (sample, IPA name; "" for a pause)
        self._callback = _SynthCallback(self._collect)  # kept on self so ctypes does not free it
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, samples: Any, count: int, events: Any) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(samples, count * 2))
        index = 0
        while events and events[index].type != _EVENT_END_OF_LIST:
            event = events[index]
            if event.type == _EVENT_WORD:
                self._words.append((event.sample, event.text_position - 1))  # espeak counts from 1
            elif event.type == _EVENT_PHONEME:
                name = bytes(event.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._phonemes.append((event.sample, name))
            index += 1
        return 0

    def speak(self, text: str, voice: str, pitch: int, rate: int) -> bytes:
        return self.speak_timed(text, voice, pitch, rate)[0]

    def speak_timed(
        self, text: str, voice: str, pitch: int, rate: int
    ) -> tuple[bytes, list[tuple[int, int]], list[tuple[int, str]]]:
        """WAV bytes, word events (sample, character index) and phoneme events (sample, IPA)."""
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EngineError(f"espeak-ng has no voice {voice!r}")
            self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            self._chunks, self._words, self._phonemes = [], [], []
            encoded = text.encode("utf-8")
            status = self.lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
            pcm = b"".join(self._chunks)
            words, phonemes = self._words, self._phonemes
        if status != 0 or not pcm:
            raise EngineError(f"espeak-ng produced no audio (status {status})")
        from charvoice.audio import pcm16_wav

        return pcm16_wav(pcm, self.sample_rate), words, phonemes

    def phonemes(self, text: str, voice: str) -> list[str]:
        """The IPA phonemes espeak-ng would speak for `text` (one word or a few)."""
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                return []
            buffer = ctypes.create_string_buffer(text.encode("utf-8"))
            pointer = ctypes.c_void_p(ctypes.addressof(buffer))
            out: list[str] = []
            while pointer.value:  # one clause per call; espeak advances the pointer
                result = self.lib.espeak_TextToPhonemes(
                    ctypes.byref(pointer), _ESPEAK_CHARS_UTF8, _PHONEMES_IPA | (ord("_") << 8)
                )
                if result:
                    out.extend(name for name in result.decode("utf-8", "replace").replace(" ", "_").split("_") if name)
            return out

    def has_voice(self, voice: str) -> bool:
        with self.lock:
            return self.lib.espeak_SetVoiceByName(voice.encode()) == 0


@functools.lru_cache(maxsize=1 << 16)
def _phonemes(text: str, locale: str) -> tuple[str, ...]:
    """Remembered: mouth shapes ask word by word, words recur from line to line, and each
    question makes espeak-ng load a voice."""
    espeak = _espeak()
    language = espeak_language(locale)
    for candidate in (language, language.split("-")[0]):
        if espeak.has_voice(candidate):
            return tuple(espeak.phonemes(text, candidate))
    return ()


_instance: _Espeak | None = None
_instance_lock = threading.Lock()


def _espeak() -> _Espeak:
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _Espeak()
        return _instance


@functools.cache
def installed_voices() -> tuple[dict[str, str], frozenset[str]]:
    """(espeak-ng languages by lower-case name, voice variants), read from the data files."""
    data = Path(espeakng_loader.get_data_path())
    languages = {path.name.lower(): path.name for path in (data / "lang").rglob("*") if path.is_file()}
    variants = frozenset(path.name for path in (data / "voices" / "!v").iterdir() if path.is_file())
    return languages, variants


def check_project(project: Project, problems: list[Problem]) -> None:
    """A `[scratch] voice` espeak-ng lacks is an error before any line is built, whichever
    engine runs (otherwise it falls back to another voice without a word)."""
    for character in project.characters.values():
        voice = character.scratch.voice
        message = scratch_voice_problem(voice) if voice else None
        if message:
            doc = TomlFile.load(project.config.root / character.file, character.file, [])
            problems.append(Problem(character.file, message, doc.line_of(("scratch",), "voice") if doc else None))


def scratch_voice_problem(voice: str) -> str | None:
    """Why a `[scratch] voice` is not one espeak-ng has (None when it is): an unknown name
    would otherwise fall back to another voice without a word."""
    languages, variants = installed_voices()
    language, plus, variant = voice.rpartition("+")
    if not plus:  # a bare name: a variant ("m3") or a language ("en-us")
        language, variant = ("", voice) if voice in variants else (voice, "")
    unknown = []
    if language and language.lower() not in languages:
        close = difflib.get_close_matches(language.lower(), list(languages), n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        unknown.append(f"espeak-ng has no language {language!r}{hint}")
    if variant and variant not in variants:
        close = difflib.get_close_matches(variant, sorted(variants), n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        unknown.append(f"espeak-ng has no voice variant {variant!r}{hint}")
    if not unknown and (language or variant):
        return None
    return (
        f"unknown scratch voice {voice!r}: {'; '.join(unknown) or 'empty'}. Write LANGUAGE+VARIANT such as 'en-us+m3'; "
        f"variants: {', '.join(VARIANTS)} (and {len(variants) - len(VARIANTS)} more); "
        f"{len(languages)} languages such as en, en-us, en-gb-x-rp, fr, de, es, es-419, pt-br, ja, cmn"
    )


def espeak_language(locale: str) -> str:
    """`fr_CA` -> `fr-ca`: espeak names languages in lower case with a hyphen."""
    return normalize_locale(locale).replace("_", "-")


def scratch_voice(character: Character) -> tuple[str, int, int]:
    """(variant, pitch, rate) for a character: from its [scratch] table, else from its id."""
    digest = int(hashlib.sha256(character.id.encode()).hexdigest(), 16)
    variant = VARIANTS[digest % len(VARIANTS)]
    language = ""
    if character.scratch.voice:
        language, _, chosen = character.scratch.voice.rpartition("+")
        if not language and chosen not in installed_voices()[1]:  # a bare language such as "en-us"
            language, chosen = chosen, ""
        variant = chosen or variant
    pitch = character.scratch.pitch if character.scratch.pitch >= 0 else 30 + (digest >> 8) % 40
    rate = character.scratch.rate or 155 + (digest >> 16) % 30
    return (f"{language}+{variant}" if language else variant), pitch, rate


def engine_timings(
    text: str, words: list[tuple[int, int]], phonemes: list[tuple[int, str]], total: int, rate: int
) -> EngineTimings:
    """espeak-ng's events -> timed words of `text` (seconds on the raw audio).

    espeak-ng reports where each word starts (sample and character) but not where it ends, and
    a written word may be several spoken ones ("42": "forty two"). Each written word therefore
    starts at its first event and ends at the next thing that is not part of it: the next
    word's event, or the first pause after it (a phoneme event with no name).
    """
    spans = word_spans(text)
    owner: dict[int, int] = {}  # span index -> first event index
    grouped: list[tuple[int, int, int]] = []  # (span index, first sample, last sample of its events)
    for sample, position in sorted(words):
        span = next((i for i, (start, end) in enumerate(spans) if start <= position < end), None)
        if span is None:  # an event between words (punctuation read aloud): the next word
            span = next((i for i, (start, _) in enumerate(spans) if start >= position), None)
        if span is None:
            continue
        if span in owner and grouped and grouped[-1][0] == span:
            grouped[-1] = (span, grouped[-1][1], sample)
        elif span not in owner:
            owner[span] = len(grouped)
            grouped.append((span, sample, sample))
    pauses = [sample for sample, name in phonemes if not name]
    out: list[SpokenWord] = []
    for index, (span, first, last) in enumerate(grouped):
        following = grouped[index + 1][1] if index + 1 < len(grouped) else total
        pause = next((sample for sample in pauses if sample > last), total)
        end = max(first, min(following, pause, total))
        start, stop = spans[span]
        out.append(SpokenWord(first / rate, end / rate, text[start:stop], start, stop))
    return EngineTimings("engine", out, [(sample / rate, name) for sample, name in phonemes])


# espeak-ng is deterministic, so another take is another reading: a step in pitch and/or rate.
_TAKE_STEPS = ((-4, 0), (4, 0), (0, 12), (0, -12), (-6, 8), (6, -8), (-8, -6), (8, 6))


def _take_reading(pitch: int, rate: int, take: int) -> tuple[int, int]:
    if take <= 0:
        return pitch, rate
    pitch_step, rate_step = _TAKE_STEPS[(take - 1) % len(_TAKE_STEPS)]
    scale = 1 + (take - 1) // len(_TAKE_STEPS)
    return min(99, max(0, pitch + pitch_step * scale)), max(80, rate + rate_step * scale)


class OfflineEngine:
    name = NAME

    def request(self, line: Line, character: Character, text: str) -> SpeechRequest:
        voice, pitch, rate = scratch_voice(character)
        language, _, variant = voice.rpartition("+")
        locale_language = espeak_language(line.locale)
        # The script's locale decides the language; a regional choice in [scratch] wins when it
        # is the same language ("en-us" for locale "en").
        if not language or language.split("-")[0] != locale_language.split("-")[0]:
            language = locale_language
        return SpeechRequest(
            engine=NAME,
            text=text,
            locale=line.locale,
            voice={"language": language, "variant": variant, "pitch": pitch, "rate": rate},
            character=character,
        )

    @functools.cached_property
    def capabilities(self) -> Capabilities:
        return Capabilities(  # no cue style: espeak-ng would read cues out
            phonemes=self, timing_recovery=self, scratch=True, description="the offline scratch voice"
        )

    def prepare(self, requests: Sequence[SpeechRequest], jobs: int, notify: Notify) -> None:
        """Nothing to prepare: espeak-ng loads on the first line."""

    def synthesize(self, request: SpeechRequest) -> TimedAudio:
        """The speech, with the words and phonemes espeak-ng reported while speaking it."""
        return self._speak(request)

    def recover_timings(self, request: SpeechRequest, raw: bytes) -> EngineTimings | None:
        """Timings for audio of `request` kept without them: espeak-ng says a line again almost
        the same way (a few samples of jitter, words drifting by a frame or two at most), so its
        events for a new reading fit the kept one; None when the new reading differs."""
        again = self._speak(request)
        if again.audio[:4] == raw[:4] and abs(len(again.audio) - len(raw)) < 2 * RESPEAK_TOLERANCE_SAMPLES:
            return again.timings
        return None

    def _speak(self, request: SpeechRequest) -> TimedAudio:
        espeak = _espeak()
        voice = self._voice(espeak, request.voice["language"], request.voice["variant"])
        pitch, rate = _take_reading(request.voice["pitch"], request.voice["rate"], request.take)
        audio, words, phonemes = espeak.speak_timed(request.text, voice, pitch, rate)
        total = (len(audio) - 44) // 2
        timings = engine_timings(request.text, words, phonemes, total, espeak.sample_rate)
        return TimedAudio(audio, timings)

    @staticmethod
    def _voice(espeak: _Espeak, language: str, variant: str) -> str:
        for candidate in (language, language.split("-")[0]):
            voice = f"{candidate}+{variant}"
            if espeak.has_voice(voice):
                return voice
        raise EngineError(f"espeak-ng has no voice for language {language!r}")

    def phonemes(self, text: str, locale: str) -> list[str]:
        """IPA phonemes of `text` in the locale's language ([] when espeak-ng has no such language)."""
        return list(_phonemes(text, locale))

    def close(self) -> None:
        pass
