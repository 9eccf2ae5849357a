"""The Fish Audio engine: lines spoken by cloned voices through the Fish Audio HTTP API.

FishEngine turns a line into a SpeechRequest without touching the network (so `check` and
`build --dry-run` work offline) and a SpeechRequest into WAV bytes. `prepare` runs before a build
sends anything: it checks the samples it will upload and clones (or finds in charvoice.lock) every
persistent voice the build needs. A self-hosted Fish Speech server serves the same `/v1/tts`;
only persistent clones need the `/model` API it lacks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from charvoice.engines.base import Notify, SpeechRequest, canonical_json, sha256_hex
from charvoice.engines.fish.client import NAME, FishClient, FishError
from charvoice.engines.fish.samples import file_sha256, voice_fingerprint
from charvoice.engines.fish.voices import VoiceSync, is_persistent
from charvoice.errors import CharvoiceError, EngineError
from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig
from charvoice.project.lines import Line

CHUNK_LENGTH = 200  # the API default; part of the cache key because it changes the sound
MODEL_ERROR_TTL_S = 60.0  # a voice that could not be cloned is not retried by every line for this long


class FishEngine:
    """Lines -> Fish Audio speech. `request` is offline; `synthesize` calls the API."""

    name = NAME

    def __init__(self, config: ProjectConfig, client: FishClient) -> None:
        self.config = config
        self.client = client
        self._samples: dict[str, bytes] = {}  # sample sha256 -> file bytes (instant clones send them)
        self._models: dict[str, str] = {}  # persistent-clone voice digest -> trained model id
        self._model_errors: dict[str, tuple[float, Exception]] = {}  # digest -> (when, error)
        self._model_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._sync = VoiceSync(config, client)

    @classmethod
    def from_config(cls, config: ProjectConfig, api_key: str | None) -> "FishEngine":
        return cls(config, FishClient.from_config(config, api_key, require_key=False))

    def request(self, line: Line, character: Character, text: str) -> SpeechRequest:
        voice = voice_fingerprint(character)
        speech = character.speech
        params = {
            "model": self.config.fish.model,  # sent as the `model` header, the rest as the body
            "format": "wav",  # lossless: our own processing decides the final encoding
            "latency": self.config.fish.latency,
            "normalize": True,
            "chunk_length": CHUNK_LENGTH,
            "prosody": {"speed": speech.speed, "volume": speech.volume},
            "temperature": speech.temperature,
            "top_p": speech.top_p,
        }
        return SpeechRequest(engine=NAME, text=text, locale=line.locale, voice=voice, params=params, character=character)

    def prepare(self, requests: Sequence[SpeechRequest], jobs: int, notify: Notify) -> None:
        """Every sample this build will upload is checked first (one that is not audio stops the
        build before any voice is cloned or any line is paid for); then every persistent clone it
        needs is trained, or found in charvoice.lock."""
        self.client.limit.set_ceiling(jobs)
        self._sync.echo, self._sync.warn = notify.echo, notify.warn
        by_id = {request.character.id: request.character for request in requests if request.engine == NAME and request.character}
        needed = [by_id[cid] for cid in sorted(by_id)]
        for character in needed:
            persistent = is_persistent(character)
            if character.voice.samples and (not persistent or self._sync.needs_clone(character)):
                self._sync.check_samples(character)
                if not persistent and not character.voice.texts:
                    notify.warn(f"{character.file}: an instant clone clones best with a transcript of each sample ([voice] texts)")
        for character in needed:
            if is_persistent(character):
                self.model_for(character)

    def synthesize(self, request: SpeechRequest) -> bytes:
        payload = {key: value for key, value in request.params.items() if key != "model"}
        payload["text"] = request.text
        voice = request.voice
        if "model_id" in voice:
            payload["reference_id"] = voice["model_id"]
        elif voice["clone"] == "persistent":
            payload["reference_id"] = self.model_for(self._character_of(request))
        else:
            character = self._character_of(request)
            payload["references"] = [
                {"audio": self._sample_bytes(character, sha), "text": voice["texts"][index] if voice["texts"] else ""}
                for index, sha in enumerate(voice["samples"])
            ]  # fmt: skip
        try:
            audio = self.client.tts(payload, request.params["model"])
        except FishError as error:
            if error.status in (400, 404) and "reference_id" in payload:
                raise FishError(f"{error} (is voice model {payload['reference_id']} still on the server? `charvoice voices sync --verify` checks)", error.status) from None
            raise
        return audio  # checked by the client: WAV with every byte it declares

    def model_for(self, character: Character) -> str:
        """The trained model id of a persistent clone, cloning it first if charvoice.lock has none."""
        digest = sha256_hex(canonical_json(voice_fingerprint(character)))
        with self._lock:
            lock = self._model_locks.setdefault(digest, threading.Lock())
        with lock:  # one clone per voice, however many of its lines are in flight
            failed_at, cached = self._model_errors.get(digest, (0.0, None))
            if cached is not None and time.monotonic() - failed_at < MODEL_ERROR_TTL_S:
                raise cached  # the same answer for the rest of this build's lines, without asking again
            if digest not in self._models:
                try:
                    self._models[digest] = self._sync.ensure(character).entry.model_id
                except CharvoiceError as error:
                    self._model_errors[digest] = (time.monotonic(), error)
                    raise
            return self._models[digest]

    def _character_of(self, request: SpeechRequest) -> Character:
        if request.character is None:  # requests are made by `request`, which always names one
            raise EngineError("internal error: a Fish Audio request without its character")
        return request.character

    def _sample_bytes(self, character: Character, sha: str) -> bytes:
        data = self._samples.get(sha)
        if data is None:
            for path in character.voice.samples:
                if file_sha256(path) == sha:
                    data = path.read_bytes()
                    break
            else:
                raise EngineError(f"{character.file}: a voice sample changed while the build ran; run the build again")
            self._samples[sha] = data
        return data

    def close(self) -> None:
        self.client.close()
