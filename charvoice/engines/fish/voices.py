"""Voices as code: characters' samples -> Fish Audio voice models, pinned in charvoice.lock.

For every character with `samples` and `clone = "persistent"`, charvoice.lock records the model
made from them: its id, the sha256 of each sample and transcript, its state and when it was
created. `sync` compares the lock with the samples on disk and calls the API only for what
differs: a new character gets one `POST /model`, changed samples or transcripts get exactly one
new model, and an unchanged project costs no call at all. A new model is polled (bounded) until
it is `trained`; `failed` stops with an error naming the character.

The lock is written (atomically) as soon as a model is created, before it is trained, so a sync
that is interrupted never clones the same samples twice. A file lock (.charvoice/voices.lock)
keeps two processes from cloning at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charvoice.engines.fish.client import FishClient
from charvoice.engines.fish.errors import FishError
from charvoice.engines.fish.lock import LOCK_NAME, LockEntry, VoiceLock  # LOCK_NAME, VoiceLock: pipeline/workspace.py
from charvoice.engines.fish.reference_cut import Hear
from charvoice.engines.fish.references import API_SINCE, ServerReferences
from charvoice.engines.fish.samples import joined_reference, sample_warnings
from charvoice.engines.fish.settings import fish_settings
from charvoice.errors import CharvoiceError, FatalEngineError
from charvoice.fsutil import ProjectLock, file_sha256, text_sha256
from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig

# Polling a new model: first after POLL_INTERVAL_S, then 1.5x longer each time up to the max.
POLL_INTERVAL_S = 1.0
POLL_INTERVAL_MAX_S = 10.0

Echo = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


# --- sync --------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    character: str
    action: str  # unchanged | created | re-cloned | trained (was still training) | restored (on Fish Speech)
    entry: LockEntry
    replaced: LockEntry | None = None  # the model a re-clone superseded
    notes: list[str] = field(default_factory=list)


def is_persistent(character: Character) -> bool:
    return bool(character.voice.samples) and character.voice.clone == "persistent" and not character.voice.scratch


class VoiceSync:
    """Makes the models in charvoice.lock match the characters' samples (thread-safe)."""

    def __init__(self, config: ProjectConfig, client: FishClient, echo: Echo = _quiet, warn: Echo = _quiet) -> None:
        self.config = config
        self.client = client
        self.echo = echo
        self.warn = warn
        # Threads of one build (the thread lock) and other processes (the file lock) clone in turn.
        self._thread_lock = threading.Lock()
        self._file_lock = ProjectLock(config.state_dir / "voices.lock")
        self._checked: set[tuple[Path, str]] = set()  # samples (path, sha256) already checked and warned about
        self.references = ServerReferences(client)  # a Fish Speech server's stored voices
        self.check_references = False  # a build: a pinned reference the server lost is stored again

    def wanted(self, character: Character) -> LockEntry:
        """The lock entry the character's samples call for (no model yet)."""
        voice = character.voice
        try:
            hashes = [file_sha256(path) for path in voice.samples]
            cover = file_sha256(voice.cover_image) if voice.cover_image else ""
        except OSError as exc:
            raise CharvoiceError(f"{character.file}: cannot read {exc.filename}: {exc.strerror}") from None
        return LockEntry(
            model_id="", state="", created="", server=self.client.base_url,
            samples=[self.config.relative(path) for path in voice.samples], sample_sha256=hashes,
            text_sha256=[text_sha256(text) for text in voice.texts], enhance_audio_quality=voice.enhance_audio_quality,
            title=voice.title, visibility=voice.visibility, description=voice.description, tags=list(voice.tags),
            cover_sha256=cover,
        )  # fmt: skip

    def ensure(self, character: Character) -> SyncResult:
        """The character's trained model: from the lock when its samples are unchanged (no API
        call), else cloned now; waits (bounded) for training either way."""
        wanted = self.wanted(character)
        with self._thread_lock, self._file_lock:
            lock = VoiceLock.load(self.config)  # read now: another process may have just synced
            entry = lock.entries.get(character.id)
            replaced = None
            action = "unchanged"
            if entry is not None and entry.same_voice(wanted) and entry.state == "failed":
                raise CharvoiceError(self._failed_message(character, entry.model_id))
            if entry is None or not entry.same_voice(wanted):
                action = "created" if entry is None else "re-cloned"
                replaced = entry
                entry = self._create(character, wanted)
                lock.entries[character.id] = entry
                lock.save()
            elif self.check_references and fish_settings(self.config).server == "fish-speech":
                held = self.references.held()
                if held is not None and entry.model_id not in held:
                    self.warn(
                        f"{character.file}: reference {entry.model_id!r} of {character.name} is missing or empty on "
                        f"{self.client.server_name}; storing it again from the samples"
                    )
                    entry = self._add_reference(character, wanted)
                    action = "restored"
            if entry.state != "trained":
                entry = self._wait_trained(character, entry, lock)
                if action == "unchanged":
                    action = "trained"
        notes = []
        if entry.metadata() != wanted.metadata():
            notes.append(
                f"title, visibility, description or tags in {character.file} differ from the model: "
                f"`charvoice voices update {character.id}` applies them"
            )
        return SyncResult(character.id, action, entry, replaced, notes)

    def sync(
        self, characters: Iterable[Character], *, verify: bool = False, prune: bool = False
    ) -> tuple[list[SyncResult], list[str]]:
        """Every persistent clone in `characters`; returns the results and the problems (each
        naming its character), after trying them all. Bad key or no credit stops at once."""
        results: list[SyncResult] = []
        problems: list[str] = []
        for character in sorted((c for c in characters if is_persistent(c)), key=lambda c: c.id):
            try:
                if verify:
                    self._verify(character)
                result = self.ensure(character)
                if prune and result.replaced is not None and result.replaced.model_id != result.entry.model_id:
                    self._delete_quietly(result.replaced.model_id)
                    result.notes.append(f"deleted the replaced model {result.replaced.model_id}")
                results.append(result)
            except FatalEngineError:
                raise
            except CharvoiceError as error:
                problems.append(error.format_message())
        return results, problems

    @contextmanager
    def locked(self) -> Iterator[VoiceLock]:
        """charvoice.lock, read now and held against other threads and processes."""
        with self._thread_lock, self._file_lock:
            yield VoiceLock.load(self.config)

    def needs_clone(self, character: Character) -> bool:
        """Would `ensure` make a new model (no model in the lock for these samples)?"""
        entry = VoiceLock.load(self.config).entries.get(character.id)
        return entry is None or not entry.same_voice(self.wanted(character))

    def check_samples(self, character: Character) -> None:
        """Warn about samples that may clone badly (once per file); CharvoiceError for one that
        is not audio."""
        for path in character.voice.samples:
            checked = (path, file_sha256(path))
            if checked not in self._checked:
                for note in sample_warnings_for(character, path):
                    self.warn(note)
                self._checked.add(checked)

    def _create(self, character: Character, wanted: LockEntry) -> LockEntry:
        voice = character.voice
        self.check_samples(character)
        if fish_settings(self.config).server == "fish-speech":
            return self._add_reference(character, wanted)
        self.echo(f"{character.name}: cloning a voice model from {len(voice.samples)} sample(s)...")
        cover = (voice.cover_image.name, voice.cover_image.read_bytes()) if voice.cover_image else None
        try:
            model = self.client.create_model(
                title=voice.title, samples=[(path.name, path.read_bytes()) for path in voice.samples], texts=list(voice.texts),
                visibility=voice.visibility, enhance_audio_quality=voice.enhance_audio_quality,
                description=voice.description, tags=list(voice.tags), marker=wanted.marker, cover_image=cover,
            )  # fmt: skip
        except FishError as error:
            if error.status in (404, 405):
                raise CharvoiceError(
                    f"{character.file}: {character.name} asks for a persistent clone (POST /model), but the server at "
                    f'{self.client.base_url} has no /model API (a self-hosted Fish Speech server?). Use clone = "instant" '
                    'to send the samples with every line, or model_id = "<reference folder>" for a voice stored on the server'
                ) from None
            raise CharvoiceError(
                f"{character.file}: cannot create the voice model for {character.name}: {error}"
            ) from None
        model_id = model.get("_id") or model.get("id") if isinstance(model, dict) else None
        if not model_id:
            raise CharvoiceError(
                f"{character.file}: the server created a voice model for {character.name} but sent back no id"
            )
        created = model.get("created_at") or datetime.now(UTC).isoformat(timespec="seconds")
        return replace(wanted, model_id=model_id, state=model.get("state") or "created", created=str(created))

    def _add_reference(self, character: Character, wanted: LockEntry) -> LockEntry:
        """A persistent clone on a self-hosted Fish Speech server: one reference (`POST
        /v1/references/add` takes one audio and its transcript), made from the samples joined,
        under an id that names the samples, so changed samples make a new one."""
        voice = character.voice
        if not voice.texts:
            raise CharvoiceError(
                f"{character.file}: a Fish Speech server stores a reference with its transcript and cannot transcribe one: "
                "add [voice] texts (one per sample)"
            )
        reference_id = (
            f"charvoice-{character.id}-{wanted.marker.removeprefix('charvoice-') or text_sha256(character.id)[:16]}"
        )
        reference_id = re.sub(r"[^a-zA-Z0-9\-_ ]", "-", reference_id)[:255]
        self.echo(
            f"{character.name}: storing a reference voice on {self.client.server_name} from {len(voice.samples)} sample(s)..."
        )
        audio, text, notes = joined_reference(list(voice.samples), list(voice.texts), heard_by(self.client))
        for note in notes:  # what the transcript sent leaves out with the audio it leaves out
            self.warn(f"{character.file}: {note}")
        try:
            self.references.store(reference_id, (f"{reference_id}.wav", audio), text)
        except FishError as error:
            if error.status in (404, 405):
                raise CharvoiceError(
                    f"{character.file}: {self.client.server_name} has no references API (Fish Speech before "
                    f"{API_SINCE}, such as v1.5.1), so {character.name}'s voice cannot be stored there: "
                    "`charvoice build` sends the samples with every line instead"
                ) from None
            raise CharvoiceError(
                f"{character.file}: cannot store the reference voice of {character.name}: {error}"
            ) from None
        created = datetime.now(UTC).isoformat(timespec="seconds")
        return replace(wanted, model_id=reference_id, state="trained", created=created)

    def _wait_trained(self, character: Character, entry: LockEntry, lock: VoiceLock) -> LockEntry:
        timeout = fish_settings(self.config).train_timeout
        deadline = time.monotonic() + timeout
        interval = POLL_INTERVAL_S
        announced = False
        while True:
            try:
                model = self.client.get_model(entry.model_id)
            except FishError as error:
                if error.status == 404:
                    del lock.entries[character.id]
                    lock.save()
                    raise CharvoiceError(
                        f"{character.file}: voice model {entry.model_id} of {character.name} is gone from the "
                        "server; run `charvoice voices sync` to clone it again"
                    ) from None
                raise CharvoiceError(
                    f"{character.file}: cannot read the voice model of {character.name}: {error}"
                ) from None
            state = str(model.get("state", ""))
            if state != entry.state:
                entry = replace(entry, state=state)
                lock.entries[character.id] = entry
                lock.save()
            if state == "trained":
                if announced:
                    self.echo(f"{character.name}: voice model {entry.model_id} is trained")
                return entry
            if state == "failed":
                raise CharvoiceError(self._failed_message(character, entry.model_id))
            if time.monotonic() + interval > deadline:
                raise CharvoiceError(
                    f"{character.file}: the voice model of {character.name} ({entry.model_id}) is not trained yet "
                    f"(state {state or 'unknown'!r} after {timeout:g} s, engine.fish.train_timeout); "
                    "run `charvoice voices sync` again later "
                    f"(it is in {LOCK_NAME}, so it will not be cloned twice)"
                )
            if not announced:
                self.echo(f"{character.name}: waiting for voice model {entry.model_id} to finish training ({state})...")
                announced = True
            time.sleep(interval)
            interval = min(interval * 1.5, POLL_INTERVAL_MAX_S)

    def _failed_message(self, character: Character, model_id: str) -> str:
        return (
            f"{character.file}: the voice model of {character.name} ({model_id}) failed training on the server. "
            "Check its samples (clear speech of one voice, at least 10 s each) and change them, or run "
            f"`charvoice voices delete {character.id}` and sync again to retry the same samples"
        )

    def _verify(self, character: Character) -> None:
        """Forget a locked model the server no longer has, so `ensure` clones it again."""
        with self._thread_lock, self._file_lock:
            lock = VoiceLock.load(self.config)
            entry = lock.entries.get(character.id)
            if entry is None:
                return
            try:
                if fish_settings(self.config).server == "fish-speech":
                    if entry.model_id not in self.client.references_list():
                        raise FishError(f"reference {entry.model_id!r} is not on the server", 404)
                else:
                    self.client.get_model(entry.model_id)
            except FishError as error:
                if error.status != 404:
                    raise CharvoiceError(
                        f"{character.file}: cannot check the voice model of {character.name}: {error}"
                    ) from None
                self.warn(
                    f"{character.file}: voice model {entry.model_id} of {character.name} is gone from the server; cloning it again"
                )
                del lock.entries[character.id]
                lock.save()

    def _delete_quietly(self, model_id: str) -> None:
        try:
            delete_voice(self.config, self.client, model_id)
        except FishError as error:
            if error.status != 404:
                raise CharvoiceError(f"cannot delete the replaced voice model {model_id}: {error}") from None


def delete_voice(config: ProjectConfig, client: FishClient, model_id: str) -> None:
    """A voice model on Fish Audio, or a reference on a self-hosted Fish Speech server."""
    if fish_settings(config).server == "fish-speech":
        client.references_delete(model_id)
    else:
        client.delete_model(model_id)


def _plain(error: Exception) -> str:
    return error.format_message() if isinstance(error, CharvoiceError) else str(error)


def heard_by(client: FishClient) -> Hear:
    """Speech to text with timestamps on `client`'s server: its segments, or None when it has none."""

    def hear(wav: bytes) -> list[dict[str, Any]] | None:
        if client.missing_key:  # the cut is estimated from pauses rather than failing here
            return None
        try:
            segments = client.asr(wav, timestamps=True).get("segments")
        except FishError:  # no such endpoint (self-hosted), or an answer without timestamps
            return None
        return segments if isinstance(segments, list) and segments else None

    return hear


def sample_warnings_for(character: Character, path: Path) -> list[str]:
    try:
        notes = sample_warnings(path)
    except CharvoiceError as error:
        raise CharvoiceError(f"{character.file}: {error.format_message()}") from None
    return [f"{character.file}: sample {path.name} {note}" for note in notes]
