"""The Fish Audio engine: lines spoken by cloned voices through the Fish Audio HTTP API.

FishEngine turns a line into a SpeechRequest without touching the network (so `check` and
`build --dry-run` work offline) and a SpeechRequest into WAV bytes. `prepare` runs before a build
sends anything: it checks the samples it will upload and clones (or finds in charvoice.lock) every
persistent voice the build needs. A self-hosted Fish Speech server serves the same `/v1/tts`;
only persistent clones need the `/model` API it lacks.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from charvoice.engines.base import Notify, SpeechRequest, TimedAudio, canonical_json
from charvoice.engines.capabilities import Capabilities
from charvoice.engines.fish.asr import FishTranscription
from charvoice.engines.fish.client import NAME, FishClient
from charvoice.engines.fish.cost import FishBilling
from charvoice.engines.fish.direction import FishDirection
from charvoice.engines.fish.errors import FishError
from charvoice.engines.fish.lock import LOCK_NAME, LockedTranscript
from charvoice.engines.fish.references import API_SINCE
from charvoice.engines.fish.samples import apply_prosody, prepare_reference, voice_fingerprint
from charvoice.engines.fish.settings import fish_cue_style, fish_price, fish_settings
from charvoice.engines.fish.voices import VoiceSync, heard_by, is_persistent
from charvoice.errors import CharvoiceError, EngineError, FatalEngineError
from charvoice.fsutil import file_sha256, text_sha256
from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig, api_key
from charvoice.project.lines import Line

FISH_SPEECH_MIN_SAMPLING = 0.1  # ServeTTSRequest: top_p and temperature ge=0.1
FISH_SPEECH_ID = re.compile(r"[a-zA-Z0-9\-_ ]+")  # its reference loader's rule for ids
CHUNK_LENGTH = 200  # the API default; part of the cache key because it changes the sound
# `watch` keeps one engine between saves: a save does not wait for the wallet each time.
CREDIT_FRESH_S = 60.0
MODEL_ERROR_TTL_S = 60.0  # a voice that could not be cloned is not retried by every line for this long


class FishEngine:
    """Lines -> Fish Audio speech. `request` is offline; `synthesize` calls the API."""

    name = NAME

    def __init__(self, config: ProjectConfig, client: FishClient) -> None:
        self.config = config
        self.fish = fish_settings(config)  # [engine.fish], validated
        self.client = client
        self._samples: dict[str, bytes] = {}  # sample sha256 -> prepared reference (instant clones send them)
        self.transcripts: dict[str, str] = {}  # sample sha256 -> what it says (instant clones without texts)
        self.cut_texts: dict[str, str] = {}  # sample sha256 -> what its reference, cut short, says
        self.cut_notes: dict[str, str] = {}  # sample sha256 -> the warning that it was cut (said once)
        self._models: dict[str, str] = {}  # persistent-clone voice digest -> trained model id
        self._model_errors: dict[str, tuple[float, Exception]] = {}  # digest -> (when, error)
        self._model_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._sync = VoiceSync(config, client)
        self.direction = FishDirection(config)  # which cues a line's direction becomes, per model
        # Word timings with the audio: on the official service by default (documented there);
        # a self-hosted Fish Speech server has no such endpoint unless told otherwise.
        mode = self.fish.timestamps
        self._timestamps = mode == "on" or (mode == "auto" and client.official)
        self.spend_beyond_credit = False  # `build --over-credit`: go on when the preview exceeds the credit
        self._credit_seen: tuple[float, float] | None = None  # (when read, balance less what was sent since)

    @classmethod
    def from_config(cls, config: ProjectConfig, api_key: str | None) -> FishEngine:
        return cls(config, FishClient.from_config(config, api_key, require_key=False))

    @functools.cached_property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            # speech to text through this engine's client, when a key is set
            transcription=FishTranscription(self.client) if api_key() else None,
            billing=FishBilling(self.config, self),
            cue_style=fish_cue_style(self.fish.model),
            direction=self.direction,
        )

    def request(self, line: Line, character: Character, text: str) -> SpeechRequest:
        voice = voice_fingerprint(character)
        speech = character.speech
        params = {
            "model": self.fish.model,  # sent as the `model` header, the rest as the body
            "format": "wav",  # lossless: our own processing decides the final encoding
            "latency": self.fish.latency,
            "normalize": True,
            "chunk_length": CHUNK_LENGTH,
            "prosody": {"speed": speech.speed, "volume": speech.volume},
            "temperature": speech.temperature,
            "top_p": speech.top_p,
        }
        if self.fish.server == "fish-speech":
            # Fish Speech's ServeTTSRequest has no prosody (nor latency): speed and volume are
            # applied here, to the audio it returns (`local_prosody`); it re-encodes a reference
            # once per server with use_memory_cache, and a seed makes a take reproducible.
            del params["latency"], params["prosody"]
            params.update(
                model="fish-speech",
                use_memory_cache="on",
                local_prosody={"speed": speech.speed, "volume": speech.volume},
            )
        return SpeechRequest(
            engine=NAME, text=text, locale=line.locale, voice=voice, params=params, character=character
        )

    def prepare(self, requests: Sequence[SpeechRequest], jobs: int, notify: Notify) -> None:
        """Local checks first, so bad input costs no request: every sample this build will upload
        (one that is not audio stops the build), charvoice.lock, instant clones' references
        (prepared once). Then the account's credit and, on Fish Speech, its references; then
        transcripts for instant clones without texts, and every persistent clone it needs,
        trained or found in charvoice.lock."""
        self.client.limit.set_ceiling(jobs)
        self._sync.echo, self._sync.warn = notify.echo, notify.warn
        self.client.busy.say = notify.echo
        mine = [request for request in requests if request.engine == NAME]
        by_id = {request.character.id: request.character for request in mine if request.character}
        needed = [by_id[cid] for cid in sorted(by_id)]
        instant = [c for c in needed if c.voice.samples and not is_persistent(c)]
        for character in needed:
            persistent = is_persistent(character)
            if character.voice.samples and (not persistent or self._sync.needs_clone(character)):
                self._sync.check_samples(character)
        with self._sync.locked():
            pass  # a damaged charvoice.lock is reported now, before anything is sent
        for character in instant:
            for path in character.voice.samples:
                self.reference(character, file_sha256(path))
        self._check_credit(mine, notify)
        if self.fish.server == "fish-speech":
            self._check_fish_speech(mine, notify)
        if self.inline_references:
            instant += [c for c in needed if is_persistent(c)]
        for character in instant:
            self._prepare_instant(character, notify)
        for character in instant:
            for path in character.voice.samples:
                note = self.cut_notes.pop(file_sha256(path), "")
                if note:
                    notify.warn(note)
        for character in needed:
            if is_persistent(character) and not self.inline_references:
                self.model_for(character)

    def _check_fish_speech(self, requests: Sequence[SpeechRequest], notify: Notify) -> None:
        """What a self-hosted Fish Speech server would get wrong without a word: a reference id
        it does not hold (the default voice answers, 200), one outside its loader's characters
        (a 500, retried), top_p or temperature under 0.1 (refused)."""
        characters = {request.character.id: request.character for request in requests if request.character}
        problems = []
        for character in sorted(characters.values(), key=lambda c: c.id):
            for key in ("temperature", "top_p"):
                if getattr(character.speech, key) < FISH_SPEECH_MIN_SAMPLING:
                    problems.append(
                        f"{character.file}: [speech] {key} must be at least {FISH_SPEECH_MIN_SAMPLING} on a Fish Speech server"
                    )
            model_id = character.voice.model_id
            if model_id and (not FISH_SPEECH_ID.fullmatch(model_id) or len(model_id) > 255):
                problems.append(
                    f"{character.file}: model_id {model_id!r} is not a Fish Speech reference id (letters, digits, '-', '_' and spaces)"
                )
        if problems:
            raise CharvoiceError("\n".join(problems))
        shaped = sorted(c.name for c in characters.values() if c.speech.speed != 1.0 or c.speech.volume != 0.0)
        if shaped:
            self._sync.echo(
                f"Fish Speech has no prosody: the speed and volume of {', '.join(shaped)} are applied to the audio it returns"
            )
        wanted = {c.voice.model_id: c for c in characters.values() if c.voice.model_id}
        if not wanted and not any(is_persistent(c) for c in characters.values()):
            return
        references = self._sync.references
        references.forget()  # listed once per build: the server may have lost some since the last
        try:
            held = references.held()
        except FishError as error:
            raise CharvoiceError(f"cannot list the references of {self.client.server_name}: {error}") from None
        if held is None:
            notify.warn(
                f"{self.client.server_name} has no references API (Fish Speech before {API_SINCE}, such as v1.5.1): "
                "persistent clones travel with every line as instant clones do"
                + (f", and model_id {', '.join(sorted(map(repr, wanted)))} cannot be checked" if wanted else "")
            )
            return
        self._sync.check_references = True  # a pinned reference it lost is stored again (VoiceSync.ensure)
        missing = [
            f"{c.file}: reference {rid!r} is not on {self.client.server_name}"
            for rid, c in sorted(wanted.items())
            if rid not in held
        ]
        if missing:
            listed = ", ".join(sorted(held)) or "none"
            raise CharvoiceError(
                "\n".join(missing) + f" (it has: {listed}); a missing one would be voiced by the default voice"
            )

    @property
    def inline_references(self) -> bool:
        """A Fish Speech server without the references API: persistent clones go inline."""
        return self.fish.server == "fish-speech" and self._sync.references.api is False

    @property
    def billed_retries(self) -> int:
        """Retries after an answer that may have been billed (bounded by engine.fish.paid_retries)."""
        return self.client.billed_retries

    def account_credit(self) -> tuple[float | None, str]:
        """(USD, "") or (None, why it is unknown): the account's credit, for the cost preview."""
        if self.fish.server != "fish-audio":
            return None, "a self-hosted Fish Speech server bills nobody"
        if self.client.missing_key:
            return None, "FISH_API_KEY is not set"
        try:
            return self.client.credit(), ""
        except FishError as error:
            return None, str(error)
        except FatalEngineError as error:
            return None, error.format_message()

    def _check_credit(self, requests: Sequence[SpeechRequest], notify: Notify) -> None:
        """Stop before the first request when the build would cost more than the account holds
        (unless told to go on): a build that runs dry halfway leaves half a scene voiced."""
        cost = sum(len(request.text.encode("utf-8")) for request in requests) * fish_price(self.fish) / 1_000_000
        if cost <= 0 or self.fish.server != "fish-audio":
            return
        if self.client.missing_key:
            return  # the first request says so
        known = self._credit_seen
        if known is not None and time.monotonic() - known[0] < CREDIT_FRESH_S:
            credit = known[1]  # `watch`: the balance read a moment ago, less what was sent since
        else:
            try:
                credit = self.client.credit()  # a bad key or an outage stops the build here, before anything is paid
            except FishError as error:
                notify.warn(f"cannot check the account's credit before the build ({error})")
                return
            except FatalEngineError as error:  # bad key, or the service down: say so once, before anything is sent
                raise FatalEngineError(
                    f"{error.format_message()}\n{len(requests)} line(s) were not built; none was sent"
                ) from None
            known = (time.monotonic(), credit)
        self._credit_seen = (known[0], credit - cost)
        if cost > credit:
            message = (
                f"this build would cost about ${cost:.2f} on Fish Audio, but the account has ${credit:.2f} of credit"
            )
            if self.spend_beyond_credit:
                notify.warn(f"{message}; going on (--over-credit): lines past the credit will fail")
                return
            raise FatalEngineError(
                f"{message}. Top up at https://fish.audio/app/billing, build fewer lines (targets), or pass --over-credit to go on anyway"
            )

    def _prepare_instant(self, character: Character, notify: Notify) -> None:
        """An instant clone's samples, ready to travel with every line: each prepared once
        (mono, trimmed, MP3) and, without [voice] texts, transcribed once by speech to text. The
        transcripts go to charvoice.lock (committed: nobody pays for them twice) and are shown,
        with the line that corrects them."""
        config = self.config
        hashes = [file_sha256(path) for path in character.voice.samples]
        for sha in hashes:
            self.reference(character, sha)
        if character.voice.texts:
            return
        with self._sync.locked() as lock:
            for sha in hashes:
                if sha in lock.transcripts:
                    self.transcripts[sha] = lock.transcripts[sha].text
            missing = [
                (path, sha)
                for path, sha in zip(character.voice.samples, hashes, strict=True)
                if sha not in lock.transcripts
            ]
            if not missing:
                return
            for path, sha in missing:
                try:
                    text = self.transcript(character, sha)
                except EngineError as error:
                    raise CharvoiceError(str(error)) from None
                if not text:
                    notify.warn(
                        f"{character.file}: {self.client.server_name} could not transcribe sample {config.relative(path)}; "
                        "it is sent without a transcript, which clones worse: add [voice] texts"
                    )
                    continue
                lock.transcripts[sha] = LockedTranscript(config.relative(path), text)
                notify.echo(f"{character.name}: sample {config.relative(path)} says: {text!r}")
            lock.save()
        if all(self.transcripts.get(sha) for sha in hashes):
            texts = ", ".join(json.dumps(self.transcripts[sha], ensure_ascii=False) for sha in hashes)
            notify.echo(
                f"{character.name}: transcripts kept in {LOCK_NAME}; to correct them, put this in "
                f"{character.file} under [voice]: texts = [{texts}]"
            )

    def synthesize(self, request: SpeechRequest) -> TimedAudio:
        payload = {key: value for key, value in request.params.items() if key not in ("model", "local_prosody")}
        payload["text"] = request.text
        if "local_prosody" in request.params:
            payload["seed"] = request.take  # Fish Speech: the same take, the same voice
            payload["temperature"], payload["top_p"] = (
                float(payload["temperature"]),
                float(payload["top_p"]),
            )  # strict floats there
        voice = request.voice
        if "model_id" in voice:
            payload["reference_id"] = voice["model_id"]
        elif voice["clone"] == "persistent" and not self.inline_references:
            payload["reference_id"] = self.model_for(self._character_of(request))
        else:
            character = self._character_of(request)
            texts = voice["texts"]
            payload["references"] = [
                {"audio": self.reference(character, sha), "text": self._reference_text(character, sha, texts, index)}
                for index, sha in enumerate(voice["samples"])
            ]  # fmt: skip
        try:
            timed = self._tts(request, payload)
        except FishError as error:
            if error.status in (400, 404) and "reference_id" in payload:
                raise FishError(
                    f"{error} (is voice model {payload['reference_id']} still on the server? `charvoice voices sync --verify` checks)",
                    error.status,
                ) from None
            raise
        if "local_prosody" in request.params:
            # Speed changed here, after the server timed the words: their times are estimated instead.
            return TimedAudio(apply_prosody(timed.audio, **request.params["local_prosody"]))
        return timed  # checked by the client: WAV with every byte it declares

    def _tts(self, request: SpeechRequest, payload: dict[str, Any]) -> TimedAudio:
        """`/v1/tts`, or the same request with word timings (see timestamps.py) where the
        server has that endpoint."""
        from charvoice.engines.fish import timestamps

        if self._timestamps:
            try:
                audio, timings = timestamps.tts_with_timestamps(self.client, payload, request.params["model"])
            except FishError as error:
                if self.client.official or not timestamps.unavailable(
                    error
                ):  # official: documented, so 404 is the model
                    raise
                self._timestamps = False  # a server without it: plain synthesis from now on
            else:
                return TimedAudio(audio, timings)
        return TimedAudio(self.client.tts(payload, request.params["model"]))

    @property
    def timestamps(self) -> bool:
        """Whether lines get their word timings with the audio (no extra call)."""
        return self._timestamps

    def model_for(self, character: Character) -> str:
        """The trained model id of a persistent clone, cloning it first if charvoice.lock has none."""
        digest = text_sha256(canonical_json(voice_fingerprint(character)))
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

    def _sample_path(self, character: Character, sha: str) -> Path:
        for path in character.voice.samples:
            if file_sha256(path) == sha:
                return path
        raise EngineError(f"{character.file}: a voice sample changed while the build ran; run the build again")

    def reference(self, character: Character, sha: str) -> bytes:
        """An instant clone's sample as sent with each line: prepared once (samples.prepare_reference),
        cut where a sentence ends when it is longer than 30 s (`cut_texts` then holds what it says)."""
        with self._lock:
            data = self._samples.get(sha)
        if data is None:
            path = self._sample_path(character, sha)
            voice = character.voice
            index = list(voice.samples).index(path)
            text = voice.texts[index] if index < len(voice.texts) else ""
            try:
                data, said, note = prepare_reference(
                    path, sha, self.config.state_dir / "references", text, heard_by(self.client)
                )
            except FatalEngineError:  # speech to text met a bad key or no credit: not the sample's fault
                raise
            except CharvoiceError as error:
                raise EngineError(f"{character.file}: {error.format_message()}") from None
            with self._lock:
                self._samples[sha] = data
                if note:
                    self.cut_texts[sha] = said
                    self.cut_notes[sha] = f"{character.file}: sample {self.config.relative(path)} {note}"
        return data

    def _reference_text(self, character: Character, sha: str, texts: list[str], index: int) -> str:
        """What a sample's reference says: its [voice] text (or fewer sentences when the
        reference was cut), else its transcript by speech to text (of the reference as sent)."""
        if not texts:
            return self.transcript(character, sha)
        with self._lock:
            return self.cut_texts.get(sha, texts[index])

    def transcript(self, character: Character, sha: str) -> str:
        """What an instant clone's sample says, when the character file gives no `texts`: from
        speech to text, once per sample ("" when the server has no speech to text)."""
        with self._lock:
            known = self.transcripts.get(sha)
            lock = self._model_locks.setdefault("asr:" + sha, threading.Lock())
        if known is not None:
            return known
        with lock:  # one request per sample, however many lines wait for it
            if sha not in self.transcripts:
                try:
                    heard = str(self.client.asr(self.reference(character, sha))["text"])
                except FishError as error:
                    # Fish Speech has none (404) or, up to v1.5.1, one of another schema (422).
                    if error.status not in (404, 405) and self.fish.server != "fish-speech":
                        raise
                    heard = ""  # a self-hosted server has no speech to text: the sample goes without
                with self._lock:
                    self.transcripts[sha] = " ".join(heard.split())
            return self.transcripts[sha]

    def close(self) -> None:
        self.client.close()
