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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from charvoice.engines.base import canonical_json
from charvoice.engines.fish.client import FishClient, FishError, FishOutage
from charvoice.engines.fish.samples import joined_reference, sample_warnings
from charvoice.engines.fish.settings import fish_settings
from charvoice.errors import CharvoiceError, FatalEngineError, InputError, Problem
from charvoice.fsutil import ProjectLock, atomic_write_text, file_sha256, text_sha256
from charvoice.project.characters import Character, CharacterIndex, load_characters
from charvoice.project.config import ProjectConfig, api_key, find_root, load_config
from charvoice.project.schema import TomlFile

LOCK_NAME = "charvoice.lock"
LOCK_VERSION = 1
LOCK_HEADER = (
    "# charvoice.lock: the Fish Audio voice models cloned from the characters' samples.\n"
    "# Written by `charvoice voices sync` (and `charvoice build`). Commit it: it is what stops\n"
    "# the same samples from being cloned twice.\n\n"
)
# Polling a new model: first after POLL_INTERVAL_S, then 1.5x longer each time up to the max.
POLL_INTERVAL_S = 1.0
POLL_INTERVAL_MAX_S = 10.0

Echo = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


# --- charvoice.lock ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LockEntry:
    """One persistent clone: which model, made from exactly which samples and transcripts."""

    model_id: str
    state: str
    created: str
    server: str
    samples: list[str]  # paths relative to the project root, for the people reading the file
    sample_sha256: list[str]
    text_sha256: list[str]
    enhance_audio_quality: bool
    title: str = ""
    visibility: str = "private"
    description: str = ""
    tags: list[str] = field(default_factory=list)
    cover_sha256: str = ""  # the cover picture of a public model

    @property
    def marker(self) -> str:
        """The tag that finds this model again after a create whose answer was lost. Public
        models do without it: everyone sees their tags (they are found by title and time)."""
        if self.visibility == "public":
            return ""
        return (
            "charvoice-"
            + text_sha256(canonical_json([self.sample_sha256, self.text_sha256, self.enhance_audio_quality]))[:16]
        )

    def server_tags(self) -> list[str]:
        """The tags the model carries on the server: the character's, plus the marker."""
        return [*self.tags, self.marker] if self.marker else list(self.tags)

    def same_voice(self, other: LockEntry) -> bool:
        """Would a model made from `other`'s samples be this model? (file names do not matter)"""
        return (self.sample_sha256, self.text_sha256, self.enhance_audio_quality, self.server) == (
            other.sample_sha256, other.text_sha256, other.enhance_audio_quality, other.server,
        )  # fmt: skip

    def metadata(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "visibility": self.visibility,
            "description": self.description,
            "tags": list(self.tags),
            "cover_sha256": self.cover_sha256,
        }

    @classmethod
    def from_toml(cls, data: Any) -> LockEntry:
        if not isinstance(data, dict):
            raise ValueError("not a table")
        kinds = {
            "model_id": str, "state": str, "created": str, "server": str, "samples": list, "sample_sha256": list,
            "text_sha256": list, "enhance_audio_quality": bool, "title": str, "visibility": str, "description": str, "tags": list,
            "cover_sha256": str,
        }  # fmt: skip
        for key, kind in kinds.items():
            if key in data and not isinstance(data[key], kind):
                raise ValueError(f"{key} must be a {kind.__name__}")
        missing = [key for key in ("model_id", "state", "sample_sha256") if key not in data]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return cls(
            model_id=data["model_id"], state=data["state"], created=data.get("created", ""), server=data.get("server", ""),
            samples=list(data.get("samples", [])), sample_sha256=list(data["sample_sha256"]),
            text_sha256=list(data.get("text_sha256", [])), enhance_audio_quality=data.get("enhance_audio_quality", True),
            title=data.get("title", ""), visibility=data.get("visibility", "private"),
            description=data.get("description", ""), tags=list(data.get("tags", [])), cover_sha256=data.get("cover_sha256", ""),
        )  # fmt: skip


@dataclass(frozen=True)
class LockedTranscript:
    """What an instant clone's sample says, heard once by speech to text (keyed by its sha256)."""

    sample: str  # the path, for people reading the lock
    text: str
    language: str = ""


@dataclass
class VoiceLock:
    path: Path
    entries: dict[str, LockEntry] = field(default_factory=dict)
    transcripts: dict[str, LockedTranscript] = field(default_factory=dict)

    @classmethod
    def load(cls, config: ProjectConfig) -> VoiceLock:
        path = config.root / LOCK_NAME
        if not path.exists():
            return cls(path)
        problems: list[Problem] = []
        doc = TomlFile.load(path, LOCK_NAME, problems)
        if doc is None:
            raise InputError(problems)
        if doc.data.get("version", LOCK_VERSION) != LOCK_VERSION:
            raise InputError(
                [
                    doc.problem(
                        (),
                        "version",
                        f"lock version {doc.data.get('version')!r} is not supported (this charvoice writes {LOCK_VERSION})",
                    )
                ]
            )
        voices = doc.data.get("voices", {})
        if not isinstance(voices, dict):
            raise InputError([doc.problem((), "voices", "voices must be a table of characters")])
        entries = {}
        for character_id, raw in voices.items():
            try:
                entries[character_id] = LockEntry.from_toml(raw)
            except ValueError as exc:
                problems.append(
                    doc.problem(
                        ("voices", character_id),
                        None,
                        f"voices.{character_id} is not a valid entry ({exc}); delete that table and run `charvoice voices sync`",
                    )
                )
        transcripts: dict[str, LockedTranscript] = {}
        raw_transcripts = doc.data.get("transcripts", {})
        for sha, raw in (raw_transcripts if isinstance(raw_transcripts, dict) else {}).items():
            if not (
                isinstance(raw, dict) and isinstance(raw.get("text"), str) and isinstance(raw.get("sample", ""), str)
            ):
                problems.append(
                    doc.problem(
                        ("transcripts", sha),
                        None,
                        f"transcripts.{sha} must have a text; delete that table to transcribe the sample again",
                    )
                )
                continue
            transcripts[sha] = LockedTranscript(raw.get("sample", ""), raw["text"], str(raw.get("language", "")))
        if problems:
            raise InputError(problems)
        return cls(path, entries, transcripts)

    def save(self) -> None:
        data: dict[str, Any] = {
            "version": LOCK_VERSION,
            "voices": {cid: asdict(entry) for cid, entry in sorted(self.entries.items())},
        }
        if self.transcripts:
            data["transcripts"] = {sha: asdict(item) for sha, item in sorted(self.transcripts.items())}
        atomic_write_text(self.path, LOCK_HEADER + tomli_w.dumps(data))


# --- sync --------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    character: str
    action: str  # unchanged | created | re-cloned | trained (was still training)
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
        audio = joined_reference(list(voice.samples), self.config.state_dir / "references")
        try:
            self.client.references_add(reference_id, (f"{reference_id}.wav", audio), " ".join(voice.texts))
        except FishError as error:
            if error.status != 409:  # 409: already there (an earlier sync whose answer was lost)
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


def sample_warnings_for(character: Character, path: Path) -> list[str]:
    try:
        notes = sample_warnings(path)
    except CharvoiceError as error:
        raise CharvoiceError(f"{character.file}: {error.format_message()}") from None
    return [f"{character.file}: sample {path.name} {note}" for note in notes]


# --- the build's part ----------------------------------------------------------------------------


# --- the `voices` commands -----------------------------------------------------------------------


@dataclass
class VoicesProject:
    """What the voices commands work on: config and characters (no dialogue needed), the client."""

    config: ProjectConfig
    characters: dict[str, Character]
    client: FishClient

    @classmethod
    def open(cls, start: Path | None, *, require_key: bool = True) -> VoicesProject:
        """`require_key=False` (list, show): without a key the server is simply not asked."""
        config = load_config(find_root(start or Path.cwd()))
        characters = load_characters(config)
        return cls(config, characters, FishClient.from_config(config, api_key(), require_key=require_key))

    def server_unavailable(self) -> str:
        """Why the server will not be asked ("" when it will): no key for Fish Audio."""
        return "FISH_API_KEY is not set" if self.client.missing_key else ""

    def local_voices(self, lock: VoiceLock) -> list[dict[str, Any]]:
        """Every character's voice as the project and charvoice.lock describe it (no network)."""
        rows = []
        for character in sorted(self.characters.values(), key=lambda c: c.id):
            voice = character.voice
            if voice.scratch:
                continue
            entry = lock.entries.get(character.id)
            locked = entry if entry is not None and is_persistent(character) else None
            if locked is not None:
                state = (
                    locked.state
                    if locked.same_voice(VoiceSync(self.config, self.client).wanted(character))
                    else "samples changed: sync again"
                )
            elif is_persistent(character):
                state = "not cloned yet"
            else:
                state = "-"
            rows.append({
                "character": character.id, "source": voice.source,
                "id": locked.model_id if locked else voice.model_id, "lock_state": state, "server_state": "unknown",
            })  # fmt: skip
        return rows

    def close(self) -> None:
        self.client.close()

    def sync(self, echo: Echo, warn: Echo, *, verify: bool, prune: bool) -> tuple[list[SyncResult], list[str]]:
        return VoiceSync(self.config, self.client, echo, warn).sync(
            self.characters.values(), verify=verify, prune=prune
        )

    def find(self, name: str) -> Character:
        character = CharacterIndex(self.characters).find(name)
        if character is None:
            raise CharvoiceError(
                f"no character {name!r} in "
                f"{self.config.relative(self.config.characters_dir)}{CharacterIndex(self.characters).suggestion(name)}"
            )
        return character

    def model_of(self, character: Character, lock: VoiceLock) -> str:
        entry = lock.entries.get(character.id)
        if entry is not None:
            return entry.model_id
        if character.voice.model_id:
            return character.voice.model_id
        if is_persistent(character):
            raise CharvoiceError(
                f"{character.file}: {character.name} has no voice model yet: run `charvoice voices sync`"
            )
        raise CharvoiceError(f"{character.file}: {character.name} has no voice model ({character.voice.source} voice)")

    def list_voices(self) -> dict[str, Any]:
        """The characters' voices (local source and lock state) and the account's models (every
        page), each with the character that uses it. Without a key, or with the server out of
        reach, the local part stands alone and the server state is "unknown" (`server_error`)."""
        lock = VoiceLock.load(self.config)
        voices = self.local_voices(lock)
        users = {c.voice.model_id: c.id for c in self.characters.values() if c.voice.model_id}
        users.update({entry.model_id: cid for cid, entry in lock.entries.items()})
        reason = self.server_unavailable()
        if reason:
            return {"voices": voices, "models": [], "not_on_account": [], "server_error": reason}
        try:
            if fish_settings(self.config).server == "fish-speech":  # its references stand for models
                found = [
                    {"_id": rid, "title": rid, "state": "trained", "visibility": "server"}
                    for rid in self.client.references_list()
                ]
            else:
                found = list(self.client.list_models(self_only=True))
            models = [
                {"id": m.get("_id", ""), "title": m.get("title", ""), "state": m.get("state", ""), "visibility": m.get("visibility", ""),
                 "created": m.get("created_at", ""), "character": users.get(m.get("_id", ""), "")}
                for m in found
            ]  # fmt: skip
        except (FishError, FishOutage) as error:  # a bad key or no credit is the user's to fix: exit 2
            return {"voices": voices, "models": [], "not_on_account": [], "server_error": _plain(error)}
        states = {m["id"]: m["state"] for m in models}
        for row in voices:
            if row["id"]:
                row["server_state"] = states.get(row["id"], "not on this account")
        listed = {m["id"] for m in models}
        missing = [
            {"character": cid, "id": model_id}
            for model_id, cid in sorted(users.items(), key=lambda item: item[1])
            if model_id not in listed
        ]
        return {"voices": voices, "models": models, "not_on_account": missing, "server_error": ""}

    def show(self, name: str) -> dict[str, Any]:
        character = self.find(name)
        voice = character.voice
        lock = VoiceLock.load(self.config)
        entry = lock.entries.get(character.id)
        info: dict[str, Any] = {
            "character": character.id, "name": character.name, "file": character.file, "source": voice.source,
            "samples": [{"file": self.config.relative(p), "sha256": file_sha256(p)} for p in voice.samples],
            "texts": list(voice.texts), "lock": asdict(entry) if entry else None, "warnings": [],
        }  # fmt: skip
        for path in voice.samples:
            info["warnings"].extend(sample_warnings_for(character, path))
        if (
            is_persistent(character)
            and entry is not None
            and not entry.same_voice(VoiceSync(self.config, self.client).wanted(character))
        ):
            info["warnings"].append(
                f"the samples changed since model {entry.model_id} was made: `charvoice voices sync` clones them again"
            )
        model_id = entry.model_id if entry else voice.model_id
        if model_id:
            reason = self.server_unavailable()
            if reason:
                info["model"] = {"_id": model_id, "state": "unknown", "error": f"server state unknown: {reason}"}
                return info
            try:
                if fish_settings(self.config).server == "fish-speech":
                    held = model_id in self.client.references_list()
                    model = {
                        "_id": model_id,
                        "title": model_id,
                        "state": "trained" if held else "not on the server",
                        "visibility": "server",
                    }
                else:
                    model = self.client.get_model(model_id)
                info["model"] = {
                    key: model.get(key)
                    for key in (
                        "_id",
                        "title",
                        "state",
                        "visibility",
                        "description",
                        "tags",
                        "created_at",
                        "task_count",
                    )
                }
            except (FishError, FishOutage) as error:
                info["model"] = {"_id": model_id, "state": "unknown", "error": f"server state unknown: {_plain(error)}"}
        return info

    def update(
        self,
        name: str,
        *,
        title: str | None,
        visibility: str | None,
        tags: Sequence[str] | None,
        description: str | None,
    ) -> dict[str, Any]:
        """PATCH the character's model: the given fields, or (none given) the TOML's [voice] metadata."""
        character = self.find(name)
        lock = VoiceLock.load(self.config)
        model_id = self.model_of(character, lock)
        changes: dict[str, Any] = {"title": title, "visibility": visibility, "tags": tags, "description": description}
        changes = {key: value for key, value in changes.items() if value is not None}
        entry = lock.entries.get(character.id)
        ours = entry is not None and entry.model_id == model_id  # a clone charvoice made
        voice = character.voice
        cover = None
        if not changes:
            if not ours:
                raise CharvoiceError(
                    f"{character.file}: {character.name}'s model_id is not a clone charvoice made; say what to "
                    "change (--title, --visibility, --tags, --description)"
                )
            changes = {
                "title": voice.title,
                "visibility": voice.visibility,
                "tags": list(voice.tags),
                "description": voice.description,
            }
            if voice.cover_image is not None:
                cover = (voice.cover_image.name, voice.cover_image.read_bytes())
                changes["cover_sha256"] = file_sha256(voice.cover_image)
        if ours and entry is not None:
            updated = replace(entry, **changes)
            if updated.visibility == "public" and not updated.cover_sha256:
                raise CharvoiceError(
                    f"{character.file}: a public model needs a cover picture: set [voice] cover_image and "
                    f"run `charvoice voices update {character.id}`"
                )
            if "tags" in changes or "visibility" in changes:
                # Tags are replaced as a whole: keep the marker the lost-create recovery looks for.
                changes["tags"] = updated.server_tags()
        sent = {key: value for key, value in changes.items() if key != "cover_sha256"}
        try:
            self.client.update_model(model_id, cover_image=cover, **sent)
        except FishError as error:
            raise CharvoiceError(
                f"{character.file}: cannot update voice model {model_id} of {character.name}: {error}"
            ) from None
        if ours and entry is not None:
            with ProjectLock(self.config.state_dir / "voices.lock"):
                fresh = VoiceLock.load(self.config)  # as it is now: a sync may have pinned another voice meanwhile
                fresh.entries[character.id] = updated
                fresh.save()
        shown = {key: value for key, value in changes.items() if key != "tags"} | (
            {"tags": tags if tags is not None else list(voice.tags)} if "tags" in changes else {}
        )
        return {"character": character.id, "id": model_id, "changed": shown}

    def delete_target(self, name: str) -> tuple[str, str]:
        """(character id, model id) that `delete` would remove; only models charvoice cloned."""
        lock = VoiceLock.load(self.config)
        character = CharacterIndex(self.characters).find(name)
        character_id = character.id if character else name
        entry = lock.entries.get(character_id)
        if entry is None:
            if character is not None and character.voice.model_id:
                raise CharvoiceError(
                    f"{character.file}: {character.name} uses model_id {character.voice.model_id}, which charvoice "
                    "did not clone; delete it on fish.audio if you mean to"
                )
            if character is None:
                self.find(name)  # raises the "no character" error
                raise AssertionError("unreachable")
            raise CharvoiceError(f"{character.file}: {character.name} has no cloned voice model in {LOCK_NAME}")
        return character_id, entry.model_id

    def delete(self, character_id: str, model_id: str) -> None:
        try:
            delete_voice(self.config, self.client, model_id)
        except FishError as error:
            if error.status != 404:  # already gone is what we wanted
                raise CharvoiceError(f"cannot delete voice model {model_id}: {error}") from None
        with ProjectLock(self.config.state_dir / "voices.lock"):
            lock = VoiceLock.load(self.config)
            lock.entries.pop(character_id, None)
            lock.save()
