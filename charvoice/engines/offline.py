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
import io
import os
import threading
import wave
from collections.abc import Sequence
from pathlib import Path

import espeakng_loader

from charvoice.engines.base import Notify, SpeechRequest
from charvoice.errors import EngineError
from charvoice.project.characters import Character
from charvoice.project.lines import Line

NAME = "offline"
# espeak-ng voice variants (espeak-ng-data/voices/!v) that sound clearly different.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt3", "whisper")

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH = 1, 3
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


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
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent.encode(), 0)
        if self.sample_rate <= 0:
            raise EngineError("espeak-ng failed to initialise (its data files are missing from espeakng-loader)")
        self._chunks: list[bytes] = []
        self._callback = _SynthCallback(self._collect)  # kept on self so ctypes does not free it
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, samples, count, events) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(samples, count * 2))
        return 0

    def speak(self, text: str, voice: str, pitch: int, rate: int) -> bytes:
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EngineError(f"espeak-ng has no voice {voice!r}")
            self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            self._chunks = []
            encoded = text.encode("utf-8")
            status = self.lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
            pcm = b"".join(self._chunks)
        if status != 0 or not pcm:
            raise EngineError(f"espeak-ng produced no audio (status {status})")
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(pcm)
        return buffer.getvalue()

    def has_voice(self, voice: str) -> bool:
        with self.lock:
            return self.lib.espeak_SetVoiceByName(voice.encode()) == 0


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
    return locale.replace("_", "-").lower()


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

    def prepare(self, requests: Sequence[SpeechRequest], jobs: int, notify: Notify) -> None:
        """Nothing to prepare: espeak-ng loads on the first line."""

    def synthesize(self, request: SpeechRequest) -> bytes:
        espeak = _espeak()
        language = request.voice["language"]
        candidates = [language, language.split("-")[0]]
        for candidate in candidates:
            voice = f"{candidate}+{request.voice['variant']}"
            if espeak.has_voice(voice):
                pitch, rate = _take_reading(request.voice["pitch"], request.voice["rate"], request.take)
                return espeak.speak(request.text, voice, pitch, rate)
        raise EngineError(f"espeak-ng has no voice for language {language!r}")

    def close(self) -> None:
        pass
